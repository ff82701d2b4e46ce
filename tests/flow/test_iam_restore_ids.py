"""A target policy scoped to the restore ids (``restore_cluster_ids``) lets exactly those restores run.

For a DB instance snapshot the restore id is the DB instance's own id (``db:<id>``); for a cluster, the
cluster is ``cluster:<id>`` and its instances ``db:<id>-instance-N``. Each flow runs with the target
acting as a role whose only IAM policy is the scoped one, on the bed that enforces identity policies;
the same flow with another restore id is refused.
"""

from __future__ import annotations

from typing import Any

import pytest

from rdsshare import (
    AccessDeniedError,
    AccountSession,
    ClusterRestoreSpec,
    InstanceRestoreSpec,
    required_iam_policy,
    share_cluster_snapshot,
    share_instance_snapshot,
)
from rdsshare.testing import EmulatedAWS

from ..accounts import SOURCE, TARGET


def _sessions(aws: EmulatedAWS, restore_ids: list[str]) -> tuple[AccountSession, AccountSession]:
    def policy(side: Any) -> dict[str, Any]:
        return required_iam_policy(
            side, source_account_id=SOURCE, target_account_id=TARGET, restore_cluster_ids=restore_ids
        )

    return (
        AccountSession(aws.role_session(SOURCE, "rdsshare-source", policy("source")), endpoint_url=aws.endpoint_url),
        AccountSession(aws.role_session(TARGET, "rdsshare-target", policy("target")), endpoint_url=aws.endpoint_url),
    )


def _instance_spec(aws: EmulatedAWS, instance_id: str) -> InstanceRestoreSpec:
    net = aws.create_network(TARGET, f"{instance_id}-net")
    return InstanceRestoreSpec(
        instance_id=instance_id,
        instance_class="db.t3.micro",
        subnet_group=net.subnet_group,
        security_group_ids=[net.security_group_id],
    )


def test_an_instance_restore_runs_under_a_policy_scoped_to_its_id() -> None:
    with EmulatedAWS(region="us-east-1") as aws:
        aws.create_instance(SOURCE, "orders-db", engine="postgres")
        source, target = _sessions(aws, ["orders-db-2"])
        result = share_instance_snapshot(
            source=source, target=target, instance_id="orders-db", restore=_instance_spec(aws, "orders-db-2")
        )
        assert result.target_instance_arn is not None
        assert result.target_instance_arn.endswith(":db:orders-db-2")
        assert result.master_user_secret_arn


def test_an_instance_restore_under_another_id_is_refused() -> None:
    with EmulatedAWS(region="us-east-1") as aws:
        aws.create_instance(SOURCE, "orders-db", engine="postgres")
        source, target = _sessions(aws, ["orders-db-2"])
        with pytest.raises(AccessDeniedError):
            share_instance_snapshot(
                source=source, target=target, instance_id="orders-db", restore=_instance_spec(aws, "elsewhere")
            )


def test_a_cluster_restore_runs_under_a_policy_scoped_to_its_id() -> None:
    with EmulatedAWS(region="us-east-1") as aws:
        aws.create_cluster(SOURCE, "example-db")
        net = aws.create_network(TARGET, "restore")
        spec = ClusterRestoreSpec(
            cluster_id="example-db-2",
            instance_class="db.t3.medium",
            subnet_group=net.subnet_group,
            security_group_ids=[net.security_group_id],
        )
        source, target = _sessions(aws, ["example-db-2"])
        result = share_cluster_snapshot(source=source, target=target, cluster_id="example-db", restore=spec)
        assert result.target_cluster_arn is not None
        assert result.target_cluster_arn.endswith(":cluster:example-db-2")
        assert len(result.instance_arns) == 1
