"""Long-running operations and busy resources [AUR-COPY], [BC-RDS], docs/sources/aws-rules.md §4 and §5."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from botocore.exceptions import ClientError, WaiterError

from rdsshare.testing import EmulatedAWS

from ..accounts import SOURCE
from ._helpers import error_code, poll


def _snapshot_status(aws: EmulatedAWS, snapshot_id: str) -> str:
    rds = aws.client(SOURCE, "rds")
    snapshot = rds.describe_db_cluster_snapshots(DBClusterSnapshotIdentifier=snapshot_id)["DBClusterSnapshots"][0]
    return str(snapshot["Status"])


def test_snapshot_creation_and_copy_take_time(aws: EmulatedAWS) -> None:
    aws.create_cluster(SOURCE, "orders")
    rds = aws.client(SOURCE, "rds")
    aws.operation_seconds = 0.3
    created = rds.create_db_cluster_snapshot(DBClusterIdentifier="orders", DBClusterSnapshotIdentifier="snap")
    assert (created["DBClusterSnapshot"]["Status"], created["DBClusterSnapshot"]["PercentProgress"]) == (
        "creating",
        0,
    )
    seen = poll(lambda: _snapshot_status(aws, "snap"), "available")
    assert seen[0] == "creating"

    copy = rds.copy_db_cluster_snapshot(SourceDBClusterSnapshotIdentifier="snap", TargetDBClusterSnapshotIdentifier="c")
    assert copy["DBClusterSnapshot"]["Status"] == "copying"
    progress: list[int] = []
    while True:
        [current] = rds.describe_db_cluster_snapshots(DBClusterSnapshotIdentifier="c")["DBClusterSnapshots"]
        progress.append(current["PercentProgress"])
        if current["Status"] == "available":
            break
        assert current["Status"] == "copying"
        time.sleep(0.05)
    assert progress == sorted(progress)
    assert progress[-1] == 100
    assert any(0 < p < 100 for p in progress)


def test_clusters_instances_and_modifications_take_time(aws: EmulatedAWS) -> None:
    aws.operation_seconds = 0.3
    rds = aws.client(SOURCE, "rds")
    created = rds.create_db_cluster(
        DBClusterIdentifier="slow", Engine="aurora-mysql", MasterUsername="dbadmin", MasterUserPassword="password1"
    )
    assert created["DBCluster"]["Status"] == "creating"

    def cluster_status() -> str:
        return str(rds.describe_db_clusters(DBClusterIdentifier="slow")["DBClusters"][0]["Status"])

    poll(cluster_status, "available")
    instance = rds.create_db_instance(
        DBInstanceIdentifier="slow-1", DBClusterIdentifier="slow", Engine="aurora-mysql", DBInstanceClass="db.t3.medium"
    )["DBInstance"]
    assert instance["DBInstanceStatus"] == "creating"
    poll(
        lambda: str(rds.describe_db_instances(DBInstanceIdentifier="slow-1")["DBInstances"][0]["DBInstanceStatus"]),
        "available",
    )
    rds.modify_db_cluster(DBClusterIdentifier="slow", BackupRetentionPeriod=7, ApplyImmediately=True)
    assert cluster_status() == "modifying"
    poll(cluster_status, "available")


def test_busy_resources_are_refused(aws: EmulatedAWS) -> None:
    aws.create_cluster(SOURCE, "orders")
    rds = aws.client(SOURCE, "rds")
    aws.operation_seconds = 60
    rds.create_db_cluster_snapshot(DBClusterIdentifier="orders", DBClusterSnapshotIdentifier="busy")
    attempts: dict[str, tuple[Callable[[], object], str]] = {
        "copy": (
            lambda: rds.copy_db_cluster_snapshot(
                SourceDBClusterSnapshotIdentifier="busy", TargetDBClusterSnapshotIdentifier="c"
            ),
            "InvalidDBClusterSnapshotStateFault",
        ),
        "share": (
            lambda: rds.modify_db_cluster_snapshot_attribute(
                DBClusterSnapshotIdentifier="busy", AttributeName="restore", ValuesToAdd=["222222222222"]
            ),
            "InvalidDBClusterSnapshotStateFault",
        ),
        "restore": (
            lambda: rds.restore_db_cluster_from_snapshot(
                DBClusterIdentifier="r", SnapshotIdentifier="busy", Engine="aurora-mysql"
            ),
            "InvalidDBClusterSnapshotStateFault",
        ),
    }
    rds.create_db_cluster(
        DBClusterIdentifier="young", Engine="aurora-mysql", MasterUsername="dbadmin", MasterUserPassword="password1"
    )
    attempts["instance-into-creating-cluster"] = (
        lambda: rds.create_db_instance(
            DBInstanceIdentifier="young-1",
            DBClusterIdentifier="young",
            Engine="aurora-mysql",
            DBInstanceClass="db.t3.medium",
        ),
        "InvalidDBClusterStateFault",
    )
    attempts["modify-creating-cluster"] = (
        lambda: rds.modify_db_cluster(DBClusterIdentifier="young", BackupRetentionPeriod=3, ApplyImmediately=True),
        "InvalidDBClusterStateFault",
    )
    for name, (attempt, code) in attempts.items():
        with pytest.raises(ClientError) as raised:
            attempt()
        assert error_code(raised) == code, name
    aws.finish_pending()
    rds.copy_db_cluster_snapshot(SourceDBClusterSnapshotIdentifier="busy", TargetDBClusterSnapshotIdentifier="c")


def test_busy_db_snapshots_are_refused(aws: EmulatedAWS) -> None:
    rds = aws.client(SOURCE, "rds")
    rds.create_db_instance(
        DBInstanceIdentifier="legacy",
        Engine="mysql",
        DBInstanceClass="db.t3.micro",
        MasterUsername="dbadmin",
        MasterUserPassword="not-a-real-password",
        AllocatedStorage=20,
    )
    aws.operation_seconds = 60
    snapshot = rds.create_db_snapshot(DBInstanceIdentifier="legacy", DBSnapshotIdentifier="busy")["DBSnapshot"]
    assert (snapshot["Status"], snapshot["PercentProgress"]) == ("creating", 0)
    with pytest.raises(ClientError) as raised:
        rds.copy_db_snapshot(SourceDBSnapshotIdentifier="busy", TargetDBSnapshotIdentifier="c")
    assert error_code(raised) == "InvalidDBSnapshotState"
    aws.finish_pending()
    [done] = rds.describe_db_snapshots(DBSnapshotIdentifier="busy")["DBSnapshots"]
    assert (done["Status"], done["PercentProgress"]) == ("available", 100)


def test_finish_pending_and_fail(aws: EmulatedAWS) -> None:
    aws.create_cluster(SOURCE, "orders")
    rds = aws.client(SOURCE, "rds")
    aws.operation_seconds = 3600
    rds.create_db_cluster_snapshot(DBClusterIdentifier="orders", DBClusterSnapshotIdentifier="a")
    rds.create_db_cluster_snapshot(DBClusterIdentifier="orders", DBClusterSnapshotIdentifier="b")
    assert _snapshot_status(aws, "a") == "creating"
    aws.finish_pending()
    assert (_snapshot_status(aws, "a"), _snapshot_status(aws, "b")) == ("available", "available")

    rds.copy_db_cluster_snapshot(SourceDBClusterSnapshotIdentifier="a", TargetDBClusterSnapshotIdentifier="doomed")
    aws.fail(SOURCE, "cluster-snapshot", "doomed")
    assert _snapshot_status(aws, "doomed") == "failed"
    with pytest.raises(WaiterError, match="failure state"):
        rds.get_waiter("db_cluster_snapshot_available").wait(
            DBClusterSnapshotIdentifier="doomed", WaiterConfig={"Delay": 1, "MaxAttempts": 2}
        )
    aws.finish_pending()
    assert _snapshot_status(aws, "doomed") == "failed"

    aws.fail(SOURCE, "cluster", "orders")
    aws.fail(SOURCE, "instance", "orders-1")
    assert rds.describe_db_clusters(DBClusterIdentifier="orders")["DBClusters"][0]["Status"] == "failed"
    instance = rds.describe_db_instances(DBInstanceIdentifier="orders-1")["DBInstances"][0]
    assert instance["DBInstanceStatus"] == "failed"
    with pytest.raises(LookupError):
        aws.fail(SOURCE, "db-snapshot", "missing")
    with pytest.raises(ValueError, match="kind"):
        aws.fail(SOURCE, "volume", "x")  # type: ignore[arg-type]


def test_instant_by_default(aws: EmulatedAWS) -> None:
    cluster = aws.client(SOURCE, "rds").create_db_cluster(
        DBClusterIdentifier="fast", Engine="aurora-mysql", MasterUsername="dbadmin", MasterUserPassword="password1"
    )["DBCluster"]
    assert cluster["Status"] == "available"
    assert aws.operation_seconds == 0
