"""The record of every call the emulated AWS served."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from rdsshare.testing import EmulatedAWS, RecordedCall

from ..accounts import SOURCE, TARGET


def test_calls_are_recorded_with_account_region_and_outcome(aws: EmulatedAWS) -> None:
    aws.client(SOURCE, "rds").describe_db_clusters()
    aws.client(TARGET, "kms", "eu-west-1").list_keys()
    with pytest.raises(ClientError):
        aws.client(TARGET, "rds").describe_db_clusters(DBClusterIdentifier="missing")
    role = "assumed-role/rdsshare-testbed/rdsshare-testbed"
    assert aws.calls == [
        RecordedCall(
            SOURCE, "us-east-1", "rds", "DescribeDBClusters", None, ("rds:DescribeDBClusters",),
            f"arn:aws:sts::{SOURCE}:{role}",
        ),
        RecordedCall(TARGET, "eu-west-1", "kms", "ListKeys", None, ("kms:ListKeys",), f"arn:aws:sts::{TARGET}:{role}"),
        RecordedCall(
            TARGET, "us-east-1", "rds", "DescribeDBClusters", "DBClusterNotFoundFault",
            ("rds:DescribeDBClusters",), f"arn:aws:sts::{TARGET}:{role}",
        ),
    ]  # fmt: skip
    # The test bed's own AssumeRole calls (behind aws.session) are not part of the record.
    assert all(c.service != "sts" for c in aws.calls)
    aws.clear_calls()
    assert aws.calls == []


def test_no_mutating_call_assertion(aws: EmulatedAWS) -> None:
    """How other tests prove a dry run changed nothing."""
    aws.create_cluster(SOURCE, "orders")
    aws.clear_calls()
    rds = aws.client(SOURCE, "rds")
    rds.describe_db_clusters(DBClusterIdentifier="orders")
    rds.describe_db_cluster_snapshots(DBClusterIdentifier="orders")
    assert [c.operation for c in aws.calls if not c.operation.startswith("Describe")] == []
    rds.create_db_cluster_snapshot(DBClusterIdentifier="orders", DBClusterSnapshotIdentifier="s")
    assert [c.operation for c in aws.calls if not c.operation.startswith("Describe")] == ["CreateDBClusterSnapshot"]


def test_calls_made_with_own_sts_clients_are_recorded(aws: EmulatedAWS) -> None:
    sts = aws.client(TARGET, "sts")
    identity = sts.get_caller_identity()
    assert identity["Account"] == TARGET
    assert identity["Arn"] == f"arn:aws:sts::{TARGET}:assumed-role/rdsshare-testbed/rdsshare-testbed"
    # GetCallerIdentity needs no IAM permission, so no action is recorded as authorized.
    assert aws.calls == [RecordedCall(TARGET, "us-east-1", "sts", "GetCallerIdentity", None, (), identity["Arn"])]
