"""Rule 8: snapshot quotas, told apart by their message [AUR-COPY], docs/sources/aws-rules.md §2 Quotas and §4."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from botocore.exceptions import ClientError

from rdsshare.testing import EmulatedAWS

from ..accounts import SOURCE, TARGET
from ._helpers import error_code


def test_manual_snapshot_quota_counts_only_manual_snapshots(aws: EmulatedAWS) -> None:
    aws.manual_snapshot_quota = 2
    aws.create_cluster(SOURCE, "orders")
    rds = aws.client(SOURCE, "rds")
    assert len(rds.describe_db_cluster_snapshots(SnapshotType="automated")["DBClusterSnapshots"]) == 1
    rds.create_db_cluster_snapshot(DBClusterIdentifier="orders", DBClusterSnapshotIdentifier="m1")
    rds.copy_db_cluster_snapshot(SourceDBClusterSnapshotIdentifier="m1", TargetDBClusterSnapshotIdentifier="m2")
    attempts: list[Callable[[], object]] = [
        lambda: rds.create_db_cluster_snapshot(DBClusterIdentifier="orders", DBClusterSnapshotIdentifier="m3"),
        lambda: rds.copy_db_cluster_snapshot(
            SourceDBClusterSnapshotIdentifier="m1", TargetDBClusterSnapshotIdentifier="m3"
        ),
    ]
    for attempt in attempts:
        with pytest.raises(ClientError) as raised:
            attempt()
        assert error_code(raised) == "SnapshotQuotaExceeded"
        assert raised.value.response["Error"]["Message"] == "Cannot create more than 2 manual snapshots"
    # The quota is per account, and deleting a snapshot frees a slot.
    aws.create_cluster(TARGET, "other")
    aws.client(TARGET, "rds").create_db_cluster_snapshot(DBClusterIdentifier="other", DBClusterSnapshotIdentifier="t1")
    rds.delete_db_cluster_snapshot(DBClusterSnapshotIdentifier="m2")
    rds.create_db_cluster_snapshot(DBClusterIdentifier="orders", DBClusterSnapshotIdentifier="m3")


MANUAL = ("ManualClusterSnapshots", "ManualSnapshots")


def _quotas(aws: EmulatedAWS, account: str, names: tuple[str, ...] = MANUAL) -> dict[str, tuple[int, int]]:
    answer = aws.client(account, "rds").describe_account_attributes()["AccountQuotas"]
    return {q["AccountQuotaName"]: (q["Used"], q["Max"]) for q in answer if q["AccountQuotaName"] in names}


def test_account_attributes_report_manual_snapshot_usage_and_quota(aws: EmulatedAWS) -> None:
    aws.manual_snapshot_quota = 250  # a raised quota: preflight must not assume the default 100
    aws.create_cluster(SOURCE, "orders")
    rds = aws.client(SOURCE, "rds")
    rds.create_db_instance(
        DBInstanceIdentifier="single",
        Engine="mysql",
        DBInstanceClass="db.t3.micro",
        MasterUsername="admin",
        MasterUserPassword="password-1",
        AllocatedStorage=20,
    )
    aws.finish_pending()
    assert _quotas(aws, SOURCE) == {"ManualClusterSnapshots": (0, 250), "ManualSnapshots": (0, 250)}
    rds.create_db_cluster_snapshot(DBClusterIdentifier="orders", DBClusterSnapshotIdentifier="m1")
    rds.copy_db_cluster_snapshot(SourceDBClusterSnapshotIdentifier="m1", TargetDBClusterSnapshotIdentifier="m2")
    rds.create_db_snapshot(DBInstanceIdentifier="single", DBSnapshotIdentifier="d1")
    # Automated snapshots do not count; other accounts and regions have their own usage.
    assert _quotas(aws, SOURCE) == {"ManualClusterSnapshots": (2, 250), "ManualSnapshots": (1, 250)}
    assert _quotas(aws, TARGET)["ManualClusterSnapshots"] == (0, 250)
    rds.delete_db_cluster_snapshot(DBClusterSnapshotIdentifier="m2")
    assert _quotas(aws, SOURCE)["ManualClusterSnapshots"] == (1, 250)


def test_concurrent_copy_quota(aws: EmulatedAWS) -> None:
    aws.create_cluster(SOURCE, "orders")
    rds = aws.client(SOURCE, "rds")
    rds.create_db_cluster_snapshot(DBClusterIdentifier="orders", DBClusterSnapshotIdentifier="base")
    aws.operation_seconds = 60
    for number in range(5):
        copy = rds.copy_db_cluster_snapshot(
            SourceDBClusterSnapshotIdentifier="base", TargetDBClusterSnapshotIdentifier=f"copy-{number}"
        )["DBClusterSnapshot"]
        assert copy["Status"] == "copying"
    with pytest.raises(ClientError) as raised:
        rds.copy_db_cluster_snapshot(SourceDBClusterSnapshotIdentifier="base", TargetDBClusterSnapshotIdentifier="x")
    assert error_code(raised) == "SnapshotQuotaExceeded"
    assert raised.value.response["Error"]["Message"] == "Cannot copy more than 5 snapshots across regions"
    # Other accounts have their own quota; finished copies free the slots.
    aws.create_cluster(TARGET, "other")
    aws.client(TARGET, "rds").create_db_cluster_snapshot(DBClusterIdentifier="other", DBClusterSnapshotIdentifier="t")
    aws.finish_pending()
    aws.client(TARGET, "rds").copy_db_cluster_snapshot(
        SourceDBClusterSnapshotIdentifier="t", TargetDBClusterSnapshotIdentifier="t-copy"
    )
    rds.copy_db_cluster_snapshot(SourceDBClusterSnapshotIdentifier="base", TargetDBClusterSnapshotIdentifier="x")


def test_quotas_are_configurable(aws: EmulatedAWS) -> None:
    aws.copy_concurrency_quota = 1
    aws.create_cluster(SOURCE, "orders")
    rds = aws.client(SOURCE, "rds")
    rds.create_db_cluster_snapshot(DBClusterIdentifier="orders", DBClusterSnapshotIdentifier="base")
    aws.operation_seconds = 60
    rds.copy_db_cluster_snapshot(SourceDBClusterSnapshotIdentifier="base", TargetDBClusterSnapshotIdentifier="c1")
    with pytest.raises(ClientError) as raised:
        rds.copy_db_cluster_snapshot(SourceDBClusterSnapshotIdentifier="base", TargetDBClusterSnapshotIdentifier="c2")
    assert raised.value.response["Error"]["Message"] == "Cannot copy more than 1 snapshots across regions"


def test_constructor_quotas() -> None:
    with EmulatedAWS(manual_snapshot_quota=1, copy_concurrency_quota=2) as aws:
        assert (aws.manual_snapshot_quota, aws.copy_concurrency_quota) == (1, 2)
        aws.create_cluster(SOURCE, "orders")
        rds = aws.client(SOURCE, "rds")
        rds.create_db_cluster_snapshot(DBClusterIdentifier="orders", DBClusterSnapshotIdentifier="only")
        with pytest.raises(ClientError) as raised:
            rds.create_db_cluster_snapshot(DBClusterIdentifier="orders", DBClusterSnapshotIdentifier="two")
        assert raised.value.response["Error"]["Message"] == "Cannot create more than 1 manual snapshots"


def test_account_attributes_list_every_quota_aws_names(aws: EmulatedAWS) -> None:
    """The 18 ``AccountQuotaName`` values of the botocore model's documentation, with AWS's defaults."""
    answer = aws.client(SOURCE, "rds").describe_account_attributes()["AccountQuotas"]
    names = {q["AccountQuotaName"]: q["Max"] for q in answer}
    assert len(names) == 18
    assert names["DBClusters"] == 40
    assert names["DBInstances"] == 40
    assert names["ManualClusterSnapshots"] == 100


def test_cluster_and_instance_quotas_are_enforced(aws: EmulatedAWS) -> None:
    aws.set_quota("DBClusters", 1)
    aws.set_quota("DBInstances", 1)
    aws.create_cluster(SOURCE, "orders", instances=1)
    rds = aws.client(SOURCE, "rds")
    rds.create_db_cluster_snapshot(DBClusterIdentifier="orders", DBClusterSnapshotIdentifier="snap")
    with pytest.raises(ClientError) as raised:
        rds.restore_db_cluster_from_snapshot(
            DBClusterIdentifier="second", SnapshotIdentifier="snap", Engine="aurora-mysql"
        )
    assert error_code(raised) == "DBClusterQuotaExceededFault"
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    with pytest.raises(ClientError) as raised:
        rds.create_db_instance(
            DBInstanceIdentifier="orders-2", DBClusterIdentifier="orders", Engine="aurora-mysql",
            DBInstanceClass="db.r6g.large",
        )  # fmt: skip
    assert error_code(raised) == "InstanceQuotaExceeded"
    assert _quotas(aws, SOURCE, ("DBClusters", "DBInstances")) == {"DBClusters": (1, 1), "DBInstances": (1, 1)}
    # Another account has its own count.
    aws.create_cluster(TARGET, "orders", instances=1)
    with pytest.raises(ValueError, match="unknown quota"):
        aws.set_quota("Clusters", 3)
