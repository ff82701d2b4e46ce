"""Snapshot a cluster in one account, restore it in another: a profile for each."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from rdsshare import (
    AccountSession,
    ClusterRestoreSpec,
    ShareResult,
    share_cluster_snapshot,
)


def share(
    source: AccountSession,
    target: AccountSession,
    *,
    cluster_id: str = "example-db",
    subnet_group: str = "example-db-2",
    security_group_ids: Sequence[str] = ("sg-0123456789abcdef0",),
) -> ShareResult:
    """Share ``cluster_id`` and restore it as ``<cluster_id>-2`` in the target."""
    return share_cluster_snapshot(
        source=source,
        target=target,
        cluster_id=cluster_id,  # or snapshot_id="<id or ARN>" to start from one
        restore=ClusterRestoreSpec(
            cluster_id=f"{cluster_id}-2",
            instance_class="db.t3.medium",
            subnet_group=subnet_group,  # a DB subnet group in the target account
            security_group_ids=security_group_ids,  # in the target's VPC
        ),
    )


def main() -> None:
    # rdsshare logs every step to the "rdsshare.events" logger at INFO.
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    source = AccountSession.from_profile("sandbox-1", region="ap-northeast-1")
    target = AccountSession.from_profile("sandbox-2", region="ap-northeast-1")
    result = share(source, target)
    logging.info("restored cluster: %s", result.target_cluster_arn)
    logging.info("master password:  %s", result.master_user_secret_arn)


if __name__ == "__main__":
    main()
