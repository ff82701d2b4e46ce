"""Test your own automation offline, against rdsshare's emulated two-account AWS.

Install ``rdsshare[testing]``. The test bed is moto plus the AWS rules moto
lacks (cross-account snapshots, the AWS-managed ``aws/rds`` key, key policies,
quotas, in-progress states), so code that would fail on AWS fails here too.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from rdsshare import AccountSession, RdsShareError, ShareResult, share_cluster_snapshot
from rdsshare.testing import EmulatedAWS

SOURCE = "111111111111"
TARGET = "222222222222"
CHANGES = ("Create", "Copy", "Modify", "Put")


def copy_to_staging(source: AccountSession, target: AccountSession) -> ShareResult:
    """The code under test: your automation, here a one-liner around rdsshare."""
    return share_cluster_snapshot(
        source=source,
        target=target,
        cluster_id="example-db",
        run_name="staging",
    )


@pytest.fixture
def aws() -> Iterator[EmulatedAWS]:
    # In-process; EmulatedAWS(server=True) runs a local moto server instead.
    with EmulatedAWS(region="us-east-1") as bed:
        bed.create_cluster(SOURCE, "example-db")  # encrypted with aws/rds
        yield bed


def sessions(aws: EmulatedAWS) -> tuple[AccountSession, AccountSession]:
    return (
        AccountSession(aws.session(SOURCE), endpoint_url=aws.endpoint_url),
        AccountSession(aws.session(TARGET), endpoint_url=aws.endpoint_url),
    )


def test_target_sees_the_shared_snapshot(aws: EmulatedAWS) -> None:
    result = copy_to_staging(*sessions(aws))
    rds = aws.client(TARGET, "rds")
    shared = rds.describe_db_cluster_snapshots(SnapshotType="shared")
    arns = [s["DBClusterSnapshotArn"] for s in shared["DBClusterSnapshots"]]
    assert arns == [result.shared_snapshot_arn]
    assert result.data_copies == 1  # re-encrypted once, under a source CMK


def test_second_run_changes_nothing(aws: EmulatedAWS) -> None:
    copy_to_staging(*sessions(aws))
    aws.clear_calls()
    again = copy_to_staging(*sessions(aws))
    assert again.created == ()
    assert [c.operation for c in aws.calls if c.operation.startswith(CHANGES)] == []


def test_survives_throttling(aws: EmulatedAWS) -> None:
    # The next call fails the way AWS fails it; botocore's retries absorb it.
    aws.inject_fault("rds", "ModifyDBClusterSnapshotAttribute", "Throttling")
    assert copy_to_staging(*sessions(aws)).shared_snapshot_arn


def test_refuses_to_touch_a_snapshot_it_did_not_make(aws: EmulatedAWS) -> None:
    # Someone else's snapshot, with the name rdsshare would use for this run.
    aws.client(SOURCE, "rds").create_db_cluster_snapshot(
        DBClusterIdentifier="example-db",
        DBClusterSnapshotIdentifier="rdsshare-example-db-staging",
    )
    aws.clear_calls()
    with pytest.raises(RdsShareError, match="not created by rdsshare"):
        copy_to_staging(*sessions(aws))
    assert [c.operation for c in aws.calls if c.operation.startswith(CHANGES)] == []
