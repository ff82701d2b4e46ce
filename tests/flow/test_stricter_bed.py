"""Library paths that passed on the old test bed and would fail on AWS, fixed; each test fails on the old code.

* A restored DB instance (not Oracle) gets no managed secret from the restore: "Applies to RDS for Oracle
  only" (botocore model, RestoreDBInstanceFromDBSnapshot.ManageMasterUserPassword). The old code asked the
  restore for it and then waited for a secret that never came.
* Derived identifiers longer than 63 characters (long cluster ids, long run names, automated snapshot
  names) are refused by AWS.
* An sse-rds source (every new Aurora cluster since 2026-02-18) was planned as "not encrypted".
"""

from __future__ import annotations

from rdsshare import InstanceRestoreSpec, share_cluster_snapshot, share_instance_snapshot
from rdsshare.testing import EmulatedAWS

from ..accounts import SOURCE, TARGET
from .helpers import restore_spec, sessions


def _instance_spec(aws: EmulatedAWS, instance_class: str = "db.t3.micro") -> InstanceRestoreSpec:
    net = aws.create_network(TARGET, "restore")
    return InstanceRestoreSpec(
        instance_id="orders-db-2",
        instance_class=instance_class,
        subnet_group=net.subnet_group,
        security_group_ids=[net.security_group_id],
    )


def _target_calls(aws: EmulatedAWS) -> list[str]:
    return [c.operation for c in aws.calls if c.account_id == TARGET and c.failed_with is None]


def test_a_restored_postgres_instance_gets_its_secret_from_a_modify(aws: EmulatedAWS) -> None:
    aws.create_instance(SOURCE, "orders-db", engine="postgres")
    source, target = sessions(aws)
    spec = _instance_spec(aws)
    plan = share_instance_snapshot(source=source, target=target, instance_id="orders-db", restore=spec, dry_run=True)
    [secret_step] = [s for s in plan.steps if s.step == "secret"]
    assert (secret_step.action, secret_step.reason) == (
        "create",
        "ModifyDBInstance(ManageMasterUserPassword=True) after the restore",
    )
    aws.clear_calls()
    result = share_instance_snapshot(source=source, target=target, instance_id="orders-db", restore=spec)
    assert result.master_user_secret_arn
    assert result.master_user_secret_arn.split(":")[4] == TARGET
    assert "ModifyDBInstance" in _target_calls(aws)
    instance = aws.client(TARGET, "rds").describe_db_instances(DBInstanceIdentifier="orders-db-2")["DBInstances"][0]
    assert instance["MasterUserSecret"]["SecretArn"] == result.master_user_secret_arn
    # A rerun adopts the one secret; it makes no second one.
    again = share_instance_snapshot(source=source, target=target, instance_id="orders-db", restore=spec)
    assert again.master_user_secret_arn == result.master_user_secret_arn
    assert len(aws.client(TARGET, "secretsmanager").list_secrets()["SecretList"]) == 1


def test_a_restored_oracle_instance_gets_its_secret_from_the_restore(aws: EmulatedAWS) -> None:
    aws.create_instance(SOURCE, "orders-db", engine="oracle-se2", instance_class="db.m5.large")
    source, target = sessions(aws)
    aws.clear_calls()
    result = share_instance_snapshot(
        source=source, target=target, instance_id="orders-db", restore=_instance_spec(aws, "db.m5.large")
    )
    assert result.master_user_secret_arn
    assert "ModifyDBInstance" not in _target_calls(aws)


def test_long_cluster_ids_and_run_names_make_names_aws_accepts(aws: EmulatedAWS) -> None:
    cluster_id = "orders-analytics-warehouse-for-the-finance-team-in-eu-west-one2"  # 63 characters
    assert len(cluster_id) == 63
    aws.create_cluster(SOURCE, cluster_id)
    source, target = sessions(aws)
    run = "nightly-refresh-of-staging-2026-12-01-v2"  # 40 characters
    result = share_cluster_snapshot(source=source, target=target, cluster_id=cluster_id, run_name=run)
    for arn in (result.source_snapshot_arn, result.shared_snapshot_arn):
        name = arn.rsplit(":", 1)[-1]
        assert len(name) <= 63, name
        assert name.startswith("rdsshare-orders-analytics")
    assert result.data_copies == 1


def test_an_sse_rds_source_is_not_planned_as_unencrypted(aws: EmulatedAWS) -> None:
    aws.create_cluster(SOURCE, "example-db", encryption="sse-rds")
    source, target = sessions(aws)
    plan = share_cluster_snapshot(
        source=source, target=target, cluster_id="example-db", restore=restore_spec(aws), dry_run=True
    )
    text = str(plan)
    assert "not encrypted" not in text, text
    assert "unencrypted" not in text, text
    [key_step] = [s for s in plan.steps if s.step == "source-key" and not s.reason.startswith("only if")]
    assert "AWS owned key (sse-rds)" in key_step.reason
    [restore_step] = [s for s in plan.steps if s.step == "restore"]
    # Restored under the target's key (the same database whichever way RDS treats the share).
    assert f"under arn:aws:kms:us-east-1:{TARGET}:key/" in restore_step.reason
