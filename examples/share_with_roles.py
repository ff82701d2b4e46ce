"""Assume a role in each account (CI, a tools account); credentials refresh."""

from __future__ import annotations

import logging

from rdsshare import AccountSession, ShareResult, share_cluster_snapshot


def sessions_from_roles(
    source_role_arn: str,
    target_role_arn: str,
    *,
    region: str,
    base: AccountSession | None = None,
) -> tuple[AccountSession, AccountSession]:
    """One session per account, each an assumed role.

    ``base`` is the identity that assumes both roles (default: boto3's default
    credentials, e.g. a CI runner's). Copies can take hours; the credentials are
    re-fetched before they expire.
    """
    source = AccountSession.from_role(
        source_role_arn,
        base=base,
        region=region,
        session_name="rdsshare-source",
    )
    target = AccountSession.from_role(
        target_role_arn,
        base=base,
        region=region,
        session_name="rdsshare-target",
    )
    return source, target


def share_only(
    source: AccountSession,
    target: AccountSession,
    cluster_id: str,
) -> ShareResult:
    """Share without restoring (no ``restore``): the target restores it later."""
    return share_cluster_snapshot(source=source, target=target, cluster_id=cluster_id)


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    source, target = sessions_from_roles(
        "arn:aws:iam::111111111111:role/rdsshare-source",
        "arn:aws:iam::222222222222:role/rdsshare-target",
        region="ap-northeast-1",
    )
    result = share_only(source, target, "example-db")
    logging.info("shared: %s", result.shared_snapshot_arn)


if __name__ == "__main__":
    main()
