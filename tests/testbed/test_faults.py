"""Fault injection: real AWS error responses that botocore's retry handler sees (docs/sources/moto-gaps.md §10)."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from rdsshare.testing import EmulatedAWS, Fault

from ..accounts import SOURCE, TARGET
from ._helpers import client_with_attempts, error_code


@pytest.fixture(autouse=True)
def _no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep botocore's retries but not its (random, up to 20 s) backoff sleeps."""
    monkeypatch.setattr("botocore.retries.standard.ExponentialBackoff.delay_amount", lambda self, context: 0.0)


def test_standard_retries_swallow_two_throttles(aws: EmulatedAWS) -> None:
    fault = aws.inject_fault("rds", "DescribeDBClusters", "Throttling", times=2)
    rds = client_with_attempts(aws, SOURCE, "rds", 3)
    aws.clear_calls()
    response = rds.describe_db_clusters()
    assert response["ResponseMetadata"]["RetryAttempts"] == 2
    assert (fault.hits, fault.remaining) == (2, 0)
    assert [c.failed_with for c in aws.calls] == ["Throttling", "Throttling", None]


def test_persistent_throttling_surfaces_as_client_error(aws: EmulatedAWS) -> None:
    fault = aws.inject_fault("rds", "DescribeDBClusters", "Throttling", times=5, message="Rate exceeded")
    with pytest.raises(ClientError) as raised:
        client_with_attempts(aws, SOURCE, "rds", 3).describe_db_clusters()
    assert error_code(raised) == "Throttling"
    assert raised.value.response["Error"]["Message"] == "Rate exceeded"
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert (fault.hits, fault.remaining) == (3, 2)
    aws.clear_faults()
    client_with_attempts(aws, SOURCE, "rds", 1).describe_db_clusters()


def test_internal_failure_is_a_retried_500(aws: EmulatedAWS) -> None:
    aws.inject_fault("rds", "DescribeDBClusters", "InternalFailure", status=500)
    assert client_with_attempts(aws, SOURCE, "rds", 3).describe_db_clusters()["DBClusters"] == []
    aws.inject_fault("rds", "DescribeDBClusters", "InternalFailure", status=500)
    with pytest.raises(ClientError) as raised:
        client_with_attempts(aws, SOURCE, "rds", 1).describe_db_clusters()
    assert error_code(raised) == "InternalFailure"
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500


def test_faulted_call_has_no_side_effect(aws: EmulatedAWS) -> None:
    aws.create_cluster(SOURCE, "orders")
    rds = client_with_attempts(aws, SOURCE, "rds", 1)
    rds.create_db_cluster_snapshot(DBClusterIdentifier="orders", DBClusterSnapshotIdentifier="base")
    aws.inject_fault(
        "rds", "CopyDBClusterSnapshot", "SnapshotQuotaExceeded", message="Cannot copy more than 5 snapshots"
    )
    with pytest.raises(ClientError) as raised:
        rds.copy_db_cluster_snapshot(SourceDBClusterSnapshotIdentifier="base", TargetDBClusterSnapshotIdentifier="c")
    assert error_code(raised) == "SnapshotQuotaExceeded"
    with pytest.raises(ClientError) as raised:
        rds.describe_db_cluster_snapshots(DBClusterSnapshotIdentifier="c")
    assert error_code(raised) == "DBClusterSnapshotNotFoundFault"
    # The fault is used up: the retry goes through and does not hit AlreadyExists.
    rds.copy_db_cluster_snapshot(SourceDBClusterSnapshotIdentifier="base", TargetDBClusterSnapshotIdentifier="c")


def test_json_protocol_faults_for_kms(aws: EmulatedAWS) -> None:
    kms = client_with_attempts(aws, SOURCE, "kms", 1)
    aws.inject_fault("kms", "CreateKey", "ThrottlingException")
    with pytest.raises(ClientError) as raised:
        kms.create_key()
    assert error_code(raised) == "ThrottlingException"
    assert kms.list_keys()["Keys"] == []
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    aws.inject_fault("kms", "DescribeKey", "NotFoundException", message="eventual consistency")
    with pytest.raises(ClientError) as raised:
        kms.describe_key(KeyId=key)
    assert error_code(raised) == "NotFoundException"
    assert kms.describe_key(KeyId=key)["KeyMetadata"]["KeyId"] == key


def test_expired_token_is_not_retried(aws: EmulatedAWS) -> None:
    fault = aws.inject_fault("rds", "DescribeDBClusterSnapshots", "ExpiredToken", times=3)
    with pytest.raises(ClientError) as raised:
        client_with_attempts(aws, TARGET, "rds", 3).describe_db_cluster_snapshots()
    assert error_code(raised) == "ExpiredToken"
    assert fault.hits == 1


def test_faults_can_target_one_account(aws: EmulatedAWS) -> None:
    fault = aws.inject_fault("rds", "DescribeDBClusters", "AccessDenied", status=403, account_id=TARGET)
    client_with_attempts(aws, SOURCE, "rds", 1).describe_db_clusters()
    assert fault.hits == 0
    with pytest.raises(ClientError) as raised:
        client_with_attempts(aws, TARGET, "rds", 1).describe_db_clusters()
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert fault == Fault("rds", "DescribeDBClusters", "AccessDenied", 403, None, TARGET, remaining=0, hits=1)


def test_invalid_times(aws: EmulatedAWS) -> None:
    with pytest.raises(ValueError, match="times"):
        aws.inject_fault("rds", "DescribeDBClusters", "Throttling", times=0)


def test_after_fault_serves_the_call_then_loses_the_response(aws: EmulatedAWS) -> None:
    aws.create_cluster(SOURCE, "example-db", encrypted=False)
    aws.inject_fault("rds", "CreateDBClusterSnapshot", "InternalFailure", status=500, after=True)
    rds = client_with_attempts(aws, SOURCE, "rds", 1)
    with pytest.raises(ClientError) as raised:
        rds.create_db_cluster_snapshot(DBClusterIdentifier="example-db", DBClusterSnapshotIdentifier="s1")
    assert error_code(raised) == "InternalFailure"
    # The side effect happened although the caller saw an error: a retry now finds it.
    snaps = rds.describe_db_cluster_snapshots(DBClusterSnapshotIdentifier="s1")["DBClusterSnapshots"]
    assert [s["DBClusterSnapshotIdentifier"] for s in snaps] == ["s1"]
    with pytest.raises(ClientError) as again:
        rds.create_db_cluster_snapshot(DBClusterIdentifier="example-db", DBClusterSnapshotIdentifier="s1")
    assert error_code(again) == "DBClusterSnapshotAlreadyExistsFault"
