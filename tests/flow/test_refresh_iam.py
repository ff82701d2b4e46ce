"""A refresh in place under the generated IAM policies (``required_iam_policy(..., replace=True)``).

The target acts as a role whose only policy is the generated one, scoped to the restore id; the test bed
enforces it with the resources of the Service Authorization Reference. Each action of the ``RefreshInPlace``
statement is needed: without it, a refresh (of a cluster or of a DB instance) is refused.
"""

from __future__ import annotations

from typing import Any

import pytest

from rdsshare import (
    AccountSession,
    ClusterRestoreSpec,
    InstanceRestoreSpec,
    RdsShareError,
    required_iam_policy,
    share_cluster_snapshot,
    share_instance_snapshot,
)
from rdsshare.testing import EmulatedAWS

from ..accounts import SOURCE, TARGET

CLUSTER, INSTANCE = "example-db-2", "orders-db-2"
#: the actions a DB instance refresh shows are needed (a first cluster refresh deletes instances named
#: ``<id>-instance-*``, which cleanup's statement covers too); a cluster refresh shows the others
BY_INSTANCE = (
    "rds:RestoreDBInstanceFromDBSnapshot",
    "rds:CreateDBSnapshot",
    "rds:ModifyDBInstance",
    "rds:DeleteDBInstance",
)


def _policy(side: str, ident: str, without: str | None = None) -> dict[str, Any]:
    policy = required_iam_policy(
        side,  # type: ignore[arg-type]
        source_account_id=SOURCE,
        target_account_id=TARGET,
        restore_cluster_ids=[ident] if side == "target" else (),
        replace=True,
    )
    for statement in policy["Statement"]:
        if statement["Sid"] == "RefreshInPlace" and without:
            statement["Action"] = [a for a in statement["Action"] if a != without]
    return policy


def _sessions(aws: EmulatedAWS, ident: str, without: str | None) -> tuple[AccountSession, AccountSession]:
    source = aws.role_session(SOURCE, "rdsshare-source", _policy("source", ident))
    target = aws.role_session(TARGET, "rdsshare-target", _policy("target", ident, without))
    return AccountSession(source, endpoint_url=aws.endpoint_url), AccountSession(target, endpoint_url=aws.endpoint_url)


def _refresh_cluster(aws: EmulatedAWS, without: str | None) -> None:
    aws.create_cluster(SOURCE, "example-db")
    net = aws.create_network(TARGET, "restore")
    spec = ClusterRestoreSpec(
        cluster_id=CLUSTER, instance_class="db.t3.medium", subnet_group=net.subnet_group,
        security_group_ids=[net.security_group_id], replace=True,
    )  # fmt: skip
    first = _sessions(aws, CLUSTER, None)
    share_cluster_snapshot(source=first[0], target=first[1], cluster_id="example-db", restore=spec)
    source, target = _sessions(aws, CLUSTER, without)
    share_cluster_snapshot(source=source, target=target, cluster_id="example-db", restore=spec)


def _refresh_instance(aws: EmulatedAWS, without: str | None) -> None:
    aws.create_instance(SOURCE, "orders-db", engine="postgres")
    net = aws.create_network(TARGET, "restore")
    spec = InstanceRestoreSpec(
        instance_id=INSTANCE, instance_class="db.t3.micro", subnet_group=net.subnet_group,
        security_group_ids=[net.security_group_id], replace=True,
    )  # fmt: skip
    first = _sessions(aws, INSTANCE, None)
    share_instance_snapshot(source=first[0], target=first[1], instance_id="orders-db", restore=spec)
    source, target = _sessions(aws, INSTANCE, without)
    share_instance_snapshot(source=source, target=target, instance_id="orders-db", restore=spec)


def test_a_cluster_and_an_instance_refresh_work_under_the_generated_policies() -> None:
    with EmulatedAWS() as aws:
        _refresh_cluster(aws, None)
        names = [c["DBClusterIdentifier"] for c in aws.client(TARGET, "rds").describe_db_clusters()["DBClusters"]]
        assert names == [CLUSTER]
    with EmulatedAWS() as aws:
        _refresh_instance(aws, None)
        ids = [i["DBInstanceIdentifier"] for i in aws.client(TARGET, "rds").describe_db_instances()["DBInstances"]]
        assert ids == [INSTANCE]


ACTIONS = [
    a
    for s in required_iam_policy("target", source_account_id=SOURCE, target_account_id=TARGET, replace=True)[
        "Statement"
    ]
    if s["Sid"] == "RefreshInPlace"
    for a in s["Action"]
]


@pytest.mark.parametrize("action", ACTIONS)
def test_each_action_of_the_refresh_statement_is_needed(action: str) -> None:
    refresh = _refresh_instance if action in BY_INSTANCE else _refresh_cluster
    with EmulatedAWS() as aws, pytest.raises(RdsShareError) as refused:
        refresh(aws, action)
    assert "AccessDenied" in str(refused.value) or "not authorized" in str(refused.value), refused.value
