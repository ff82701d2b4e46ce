"""A restore that matches its source (issue: today's AWS, item 3).

``RestoreDBClusterFromSnapshot`` alone gives back Standard storage, Extended Support enrolment, no
scaling, no backtrack, no IAM authentication, no log exports, no deletion protection, no tags and the
default parameter group (the test bed does the same; tests/testbed, r15). rdsshare carries each of
these from the source unless the spec sets it, lists each in the plan, and never enrols in Extended
Support without saying so.
"""

from __future__ import annotations

from typing import Any

import attrs
import pytest

from rdsshare import (
    ClusterRestoreSpec,
    InstanceRestoreSpec,
    PreflightError,
    share_cluster_snapshot,
    share_instance_snapshot,
)
from rdsshare._cli._commands import _restore_spec
from rdsshare._cli._parser import build_parser
from rdsshare.testing import EmulatedAWS

from ..accounts import SOURCE, TARGET
from .helpers import restore_spec, sessions

PASSWORD = "password-123"
ENROLLED = "open-source-rds-extended-support"
NOT_ENROLLED = "open-source-rds-extended-support-disabled"


def _source(aws: EmulatedAWS) -> None:
    """An I/O-Optimized Serverless v2 cluster with everything a plain restore would drop."""
    rds = aws.client(SOURCE, "rds")
    rds.create_db_cluster_parameter_group(
        DBClusterParameterGroupName="orders-params", DBParameterGroupFamily="aurora-mysql8.0", Description="source"
    )
    rds.create_db_cluster(
        DBClusterIdentifier="example-db", Engine="aurora-mysql", MasterUsername="admin", MasterUserPassword=PASSWORD,
        StorageEncrypted=True, StorageType="aurora-iopt1", EngineLifecycleSupport=ENROLLED,
        ServerlessV2ScalingConfiguration={"MinCapacity": 0.5, "MaxCapacity": 8}, EnableIAMDatabaseAuthentication=True,
        EnableCloudwatchLogsExports=["audit", "error"], BacktrackWindow=3600, DeletionProtection=True, Port=3307,
        DBClusterParameterGroupName="orders-params", Tags=[{"Key": "team", "Value": "payments"}],
    )  # fmt: skip
    aws.client(TARGET, "rds").create_db_cluster_parameter_group(
        DBClusterParameterGroupName="staging-params", DBParameterGroupFamily="aurora-mysql8.0", Description="target"
    )
    aws.finish_pending()


def _restored(aws: EmulatedAWS) -> dict[str, Any]:
    rds = aws.client(TARGET, "rds")
    return dict(rds.describe_db_clusters(DBClusterIdentifier="example-db-2")["DBClusters"][0])


def _restore_reason(plan: Any) -> str:
    (step,) = [s for s in plan.steps if s.step == "restore"]
    return str(step.reason)


def test_the_restore_carries_what_the_source_had(aws: EmulatedAWS) -> None:
    _source(aws)
    source, target = sessions(aws)
    spec = restore_spec(aws, instance_class="db.serverless", parameter_group_map={"orders-params": "staging-params"})
    plan = share_cluster_snapshot(source=source, target=target, cluster_id="example-db", restore=spec, dry_run=True)
    reason = _restore_reason(plan)
    for shown in (
        "StorageType=aurora-iopt1 (the source's)",
        f"EngineLifecycleSupport={ENROLLED} (the source's)",
        "ServerlessV2ScalingConfiguration=0.5-8.0 ACUs (the source's)",
        "BacktrackWindow=3600 (the source's)",
        "DBClusterParameterGroupName=staging-params (the source's)",
        "Tags=team=payments (the source's)",
    ):
        assert shown in reason, reason
    share_cluster_snapshot(source=source, target=target, cluster_id="example-db", restore=spec)
    back = _restored(aws)
    assert back["StorageType"] == "aurora-iopt1"
    assert back["EngineLifecycleSupport"] == ENROLLED
    assert back["ServerlessV2ScalingConfiguration"] == {"MinCapacity": 0.5, "MaxCapacity": 8.0}
    assert back["IAMDatabaseAuthenticationEnabled"] is True
    assert back["EnabledCloudwatchLogsExports"] == ["audit", "error"]
    assert back["BacktrackWindow"] == 3600
    assert back["DeletionProtection"] is True
    assert back["Port"] == 3307
    assert back["DBClusterParameterGroup"] == "staging-params"
    tags = {t["Key"]: t["Value"] for t in back["TagList"]}
    assert tags["team"] == "payments"
    assert tags["rdsshare:role"] == "restored-cluster"  # rdsshare's own, for the restore
    members = aws.client(TARGET, "rds").describe_db_instances()["DBInstances"]
    assert [m["DBInstanceClass"] for m in members] == ["db.serverless"]


def test_what_the_spec_sets_wins_and_the_plan_says_so(aws: EmulatedAWS) -> None:
    _source(aws)
    source, target = sessions(aws)
    spec = restore_spec(
        aws,
        storage_type="aurora",
        engine_lifecycle_support=NOT_ENROLLED,
        deletion_protection=False,
        iam_database_authentication=False,
        log_exports=(),
        backtrack_window=0,
        copy_tags=False,
    )
    plan = share_cluster_snapshot(source=source, target=target, cluster_id="example-db", restore=spec, dry_run=True)
    assert "StorageType=aurora (yours)" in _restore_reason(plan)
    assert "Tags=" not in _restore_reason(plan)
    share_cluster_snapshot(source=source, target=target, cluster_id="example-db", restore=spec)
    back = _restored(aws)
    assert back["StorageType"] == "aurora"
    assert back["EngineLifecycleSupport"] == NOT_ENROLLED
    assert back["DeletionProtection"] is False
    assert back["IAMDatabaseAuthenticationEnabled"] is False
    assert not back.get("EnabledCloudwatchLogsExports")
    assert back["BacktrackWindow"] == 0
    assert "team" not in {t["Key"] for t in back["TagList"]}
    assert back["DBClusterParameterGroup"] != "staging-params"  # not mapped: the engine's default


def test_an_unknown_lifecycle_is_not_enrolled_and_the_plan_says_why(aws: EmulatedAWS) -> None:
    """From an existing snapshot the source cluster's lifecycle is unknown: not enrolled, never silently."""
    aws.create_cluster(SOURCE, "example-db")
    rds = aws.client(SOURCE, "rds")
    rds.create_db_cluster_snapshot(DBClusterIdentifier="example-db", DBClusterSnapshotIdentifier="nightly")
    aws.finish_pending()
    source, target = sessions(aws)
    spec = restore_spec(aws)
    plan = share_cluster_snapshot(source=source, target=target, snapshot_id="nightly", restore=spec, dry_run=True)
    assert f"EngineLifecycleSupport={NOT_ENROLLED} (the source's is unknown: not enrolled)" in _restore_reason(plan)
    share_cluster_snapshot(source=source, target=target, snapshot_id="nightly", restore=spec)
    assert _restored(aws)["EngineLifecycleSupport"] == NOT_ENROLLED


def test_serverless_instances_without_scaling_are_refused_before_any_write(aws: EmulatedAWS) -> None:
    aws.create_cluster(SOURCE, "example-db")
    source, target = sessions(aws)
    spec = restore_spec(aws, instance_class="db.serverless")
    aws.clear_calls()
    with pytest.raises(PreflightError, match="Serverless v2 scaling"):
        share_cluster_snapshot(
            source=source,
            target=target,
            cluster_id="example-db",
            restore=spec,
        )
    assert not [c for c in aws.calls if c.operation.startswith(("Create", "Copy", "Restore", "Modify", "Put"))]


@pytest.mark.parametrize(
    ("flags", "wanted"),
    [
        (
            [],
            {"storage_type": None, "deletion_protection": None, "copy_tags": True, "iam_database_authentication": None},
        ),
        (
            ["--storage-type", "aurora-iopt1", "--no-deletion-protection", "--no-copy-tags", "--iam-auth"],
            {"storage_type": "aurora-iopt1", "deletion_protection": False, "copy_tags": False},
        ),
        (
            ["--serverless-v2", "0.5,16", "--log-exports", "audit,error", "--backtrack-window", "600"],
            {"serverless_v2_scaling": (0.5, 16.0), "log_exports": ("audit", "error"), "backtrack_window": 600},
        ),
        (
            ["--engine-lifecycle-support", NOT_ENROLLED, "--parameter-group-map", "a=b"],
            {"engine_lifecycle_support": NOT_ENROLLED, "parameter_group_map": {"a": "b"}},
        ),
    ],
)
def test_every_carried_setting_has_a_cli_override(flags: list[str], wanted: dict[str, Any]) -> None:
    args = build_parser().parse_args(
        [
            "share",
            "--source-profile",
            "a",
            "--target-profile",
            "b",
            "--cluster",
            "db",
            "--restore-cluster",
            "db2",
            *flags,
        ]
    )
    spec = _restore_spec(args)
    assert isinstance(spec, ClusterRestoreSpec)
    assert {name: getattr(spec, name) for name in wanted} == wanted


def _source_instance(aws: EmulatedAWS) -> None:
    """A DB instance with what a plain RestoreDBInstanceFromDBSnapshot would drop (tests/testbed, r20)."""
    rds = aws.client(SOURCE, "rds")
    rds.create_db_parameter_group(
        DBParameterGroupName="orders-pg", DBParameterGroupFamily="postgres16", Description="s"
    )
    rds.create_db_instance(
        DBInstanceIdentifier="orders-db", Engine="postgres", EngineVersion="16", DBInstanceClass="db.t3.micro",
        MasterUsername="admin", MasterUserPassword=PASSWORD, AllocatedStorage=100, StorageEncrypted=True,
        StorageType="io2", Iops=3000, MultiAZ=True, DeletionProtection=True, EnableIAMDatabaseAuthentication=True,
        EnableCloudwatchLogsExports=["postgresql"], EngineLifecycleSupport=NOT_ENROLLED,
        DBParameterGroupName="orders-pg", Tags=[{"Key": "team", "Value": "payments"}],
    )  # fmt: skip
    aws.client(TARGET, "rds").create_db_parameter_group(
        DBParameterGroupName="staging-pg", DBParameterGroupFamily="postgres16", Description="t"
    )
    aws.finish_pending()


def _instance_spec(aws: EmulatedAWS, **extra: Any) -> InstanceRestoreSpec:
    net = aws.create_network(TARGET, "orders-db-2")
    return InstanceRestoreSpec(
        instance_id="orders-db-2", instance_class="db.t3.micro", subnet_group=net.subnet_group,
        security_group_ids=[net.security_group_id], **extra,
    )  # fmt: skip


def test_an_instance_restore_carries_what_the_source_had(aws: EmulatedAWS) -> None:
    _source_instance(aws)
    source, target = sessions(aws)
    spec = _instance_spec(aws, parameter_group_map={"orders-pg": "staging-pg"})
    plan = share_instance_snapshot(source=source, target=target, instance_id="orders-db", restore=spec, dry_run=True)
    assert plan.ok, str(plan)
    reason = _restore_reason(plan)
    for shown in (
        "StorageType=io2 (the source's)",
        "MultiAZ=True (the source's)",
        f"EngineLifecycleSupport={NOT_ENROLLED} (the source's)",
        "DBParameterGroupName=staging-pg (the source's)",
        "Iops=3000 (the source's)",
        "Tags=team=payments (the source's)",
    ):
        assert shown in reason, reason
    share_instance_snapshot(source=source, target=target, instance_id="orders-db", restore=spec)
    back = aws.client(TARGET, "rds").describe_db_instances(DBInstanceIdentifier="orders-db-2")["DBInstances"][0]
    assert (back["StorageType"], back["Iops"]) == ("io2", 3000)
    assert back["MultiAZ"] is True
    assert back["DeletionProtection"] is True
    assert back["IAMDatabaseAuthenticationEnabled"] is True
    assert back["EnabledCloudwatchLogsExports"] == ["postgresql"]
    assert back["EngineLifecycleSupport"] == NOT_ENROLLED
    assert back["DBParameterGroups"][0]["DBParameterGroupName"] == "staging-pg"
    tags = {t["Key"]: t["Value"] for t in back["TagList"]}
    assert tags["team"] == "payments"
    assert tags["rdsshare:role"] == "restored-instance"


def test_an_instance_restore_takes_what_the_spec_sets(aws: EmulatedAWS) -> None:
    _source_instance(aws)
    source, target = sessions(aws)
    spec = _instance_spec(
        aws, storage_type="gp3", multi_az=False, deletion_protection=False, iam_database_authentication=False,
        log_exports=(), engine_lifecycle_support=ENROLLED, copy_tags=False,
    )  # fmt: skip
    plan = share_instance_snapshot(source=source, target=target, instance_id="orders-db", restore=spec, dry_run=True)
    assert "StorageType=gp3 (yours)" in _restore_reason(plan)
    assert "DBParameterGroupName" not in _restore_reason(plan)  # the source's group, not mapped: not carried
    share_instance_snapshot(source=source, target=target, instance_id="orders-db", restore=spec)
    back = aws.client(TARGET, "rds").describe_db_instances(DBInstanceIdentifier="orders-db-2")["DBInstances"][0]
    assert back["StorageType"] == "gp3"
    assert back["MultiAZ"] is False
    assert back["DeletionProtection"] is False
    assert back["IAMDatabaseAuthenticationEnabled"] is False
    assert back["EngineLifecycleSupport"] == ENROLLED
    assert "team" not in {t["Key"] for t in back["TagList"]}


def test_the_clusters_instances_get_the_source_writers_parameter_group_by_map(aws: EmulatedAWS) -> None:
    aws.create_cluster(SOURCE, "example-db", engine="aurora-postgresql")
    rds = aws.client(SOURCE, "rds")
    rds.create_db_parameter_group(
        DBParameterGroupName="writer-pg", DBParameterGroupFamily="aurora-postgresql16", Description="source"
    )
    [writer] = rds.describe_db_instances(Filters=[{"Name": "db-cluster-id", "Values": ["example-db"]}])["DBInstances"]
    rds.modify_db_instance(
        DBInstanceIdentifier=writer["DBInstanceIdentifier"], DBParameterGroupName="writer-pg", ApplyImmediately=True
    )
    aws.client(TARGET, "rds").create_db_parameter_group(
        DBParameterGroupName="staging-instances", DBParameterGroupFamily="aurora-postgresql16", Description="target"
    )
    aws.finish_pending()
    source, target = sessions(aws)
    spec = restore_spec(aws, parameter_group_map={"writer-pg": "staging-instances"}, instance_count=2)
    plan = share_cluster_snapshot(source=source, target=target, cluster_id="example-db", restore=spec, dry_run=True)
    steps = [s.reason for s in plan.steps if s.step == "instances"]
    assert steps == ["db.t3.medium; DBParameterGroupName=staging-instances (the source's)"] * 2
    share_cluster_snapshot(source=source, target=target, cluster_id="example-db", restore=spec)
    members = aws.client(TARGET, "rds").describe_db_instances(
        Filters=[{"Name": "db-cluster-id", "Values": ["example-db-2"]}]
    )["DBInstances"]
    assert [m["DBParameterGroups"][0]["DBParameterGroupName"] for m in members] == ["staging-instances"] * 2
    # Without a map nothing of the source's is read or carried; a group of the spec's wins.
    yours = attrs.evolve(spec, cluster_id="example-db-3", parameter_group_map={}, instance_parameter_group="nope")
    plan = share_cluster_snapshot(source=source, target=target, cluster_id="example-db", restore=yours, dry_run=True)
    assert not plan.ok
    assert any("nope" in p.message or "nope" in (p.resource or "") for p in plan.problems)
