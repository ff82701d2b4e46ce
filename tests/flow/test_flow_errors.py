"""Error paths: bad input fails before any change; AWS refusals become typed errors."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from rdsshare import (
    AccountSession,
    ClusterRestoreSpec,
    Event,
    InputError,
    NotFoundError,
    PreflightError,
    RdsShareError,
    StepFinished,
    share_cluster_snapshot,
)
from rdsshare.testing import EmulatedAWS

from ..accounts import SOURCE, TARGET
from .helpers import mutating_calls, restore_spec, sessions


def test_same_account_fails_before_any_change(aws: EmulatedAWS) -> None:
    aws.create_cluster(SOURCE, "example-db")
    source, _ = sessions(aws)
    other = AccountSession(aws.session(SOURCE), endpoint_url=aws.endpoint_url)
    aws.clear_calls()
    with pytest.raises(InputError, match="same account"):
        share_cluster_snapshot(source=source, target=other, cluster_id="example-db")
    assert mutating_calls(aws) == []


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({}, "exactly one of cluster_id and snapshot_id"),
        ({"cluster_id": "example-db", "snapshot_id": "s"}, "exactly one"),
        ({"cluster_id": "1bad"}, "not a valid RDS cluster identifier"),
        ({"cluster_id": "bad--name"}, "not a valid RDS cluster identifier"),
        ({"snapshot_id": "snap_shot"}, "not a valid RDS cluster-snapshot identifier"),
        ({"cluster_id": "example-db", "run_name": "Bad Run"}, "run_name"),
        ({"cluster_id": "example-db", "restore": {"cluster_id": "x"}}, "ClusterRestoreSpec"),
        ({"cluster_id": "example-db", "key_admin_principals": ["*"]}, "not an IAM principal ARN"),
        (
            {"snapshot_id": "arn:aws:rds:us-east-1:333333333333:cluster-snapshot:x"},
            "not in the source account",
        ),
    ],
)
def test_bad_input_fails_before_any_change(aws: EmulatedAWS, kwargs: dict[str, Any], match: str) -> None:
    aws.create_cluster(SOURCE, "example-db")
    source, target = sessions(aws)
    aws.clear_calls()
    with pytest.raises(InputError, match=match):
        share_cluster_snapshot(source=source, target=target, **kwargs)
    assert mutating_calls(aws) == []


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"cluster_id": "Bad_Id", "instance_class": "db.t3.medium"}, "restore.cluster_id"),
        ({"cluster_id": "ok", "instance_class": "t3.medium"}, "instance class"),
        ({"cluster_id": "ok", "instance_class": "db.t3.medium", "security_group_ids": ["default"]}, "security group"),
        ({"cluster_id": "ok", "instance_class": "db.t3.medium", "port": 80}, "port"),
        ({"cluster_id": "ok", "instance_class": "db.t3.medium", "instance_count": 17}, "instance_count"),
        (
            {"cluster_id": "ok", "instance_class": "db.t3.medium", "security_group_ids": "sg-12345678"},
            "list of strings",
        ),
    ],
)
def test_restore_spec_validates(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(InputError, match=match):
        ClusterRestoreSpec(**kwargs)


def test_not_sessions_is_input_error() -> None:
    with pytest.raises(InputError, match="AccountSession"):
        share_cluster_snapshot(source=boto3.Session(), target=None, cluster_id="x")  # type: ignore[call-overload]


def test_unknown_cluster_is_not_found_before_any_change(aws: EmulatedAWS) -> None:
    source, target = sessions(aws)
    aws.clear_calls()
    with pytest.raises(PreflightError) as info:
        share_cluster_snapshot(source=source, target=target, cluster_id="nope")
    assert info.value.error_code == "DBClusterNotFoundFault"
    assert info.value.account_id == SOURCE
    assert "nope" in str(info.value)
    assert mutating_calls(aws) == []


def test_unknown_snapshot_is_not_found(aws: EmulatedAWS) -> None:
    source, target = sessions(aws)
    with pytest.raises(PreflightError, match="missing not found"):
        share_cluster_snapshot(source=source, target=target, snapshot_id="missing")
    assert mutating_calls(aws) == []


def test_restore_id_taken_by_unrelated_cluster_fails_before_any_change(aws: EmulatedAWS) -> None:
    aws.create_cluster(SOURCE, "example-db")
    aws.create_cluster(TARGET, "example-db-2")
    source, target = sessions(aws)
    spec = restore_spec(aws)
    aws.clear_calls()
    with pytest.raises(PreflightError, match="not restored by rdsshare"):
        share_cluster_snapshot(source=source, target=target, cluster_id="example-db", restore=spec)
    assert mutating_calls(aws) == []


def test_missing_subnet_group_fails_before_any_change(aws: EmulatedAWS) -> None:
    aws.create_cluster(SOURCE, "example-db")
    source, target = sessions(aws)
    aws.clear_calls()
    with pytest.raises(PreflightError) as info:
        share_cluster_snapshot(
            source=source,
            target=target,
            cluster_id="example-db",
            restore=ClusterRestoreSpec(cluster_id="x", instance_class="db.t3.medium", subnet_group="nope"),
        )
    assert info.value.account_id == TARGET
    assert "subnet group" in str(info.value)
    assert mutating_calls(aws) == []


def test_unknown_security_group_fails_before_any_change(aws: EmulatedAWS) -> None:
    aws.create_cluster(SOURCE, "example-db")
    source, target = sessions(aws)
    aws.clear_calls()
    with pytest.raises(RdsShareError) as info:
        share_cluster_snapshot(
            source=source,
            target=target,
            cluster_id="example-db",
            restore=ClusterRestoreSpec(
                cluster_id="x", instance_class="db.t3.medium", security_group_ids=["sg-0123456789abcdef0"]
            ),
        )
    assert info.value.account_id == TARGET
    assert mutating_calls(aws) == []


def test_aws_managed_source_key_is_refused(aws: EmulatedAWS) -> None:
    aws.create_cluster(SOURCE, "example-db")
    source, target = sessions(aws)
    with pytest.raises(PreflightError, match="AWS-managed"):
        share_cluster_snapshot(source=source, target=target, cluster_id="example-db", source_kms_key="alias/aws/rds")


def test_disabled_source_cmk_is_refused(aws: EmulatedAWS) -> None:
    kms = aws.client(SOURCE, "kms")
    key = kms.create_key()["KeyMetadata"]
    kms.disable_key(KeyId=key["KeyId"])
    aws.create_cluster(SOURCE, "example-db")
    source, target = sessions(aws)
    with pytest.raises(PreflightError, match="Disabled"):
        share_cluster_snapshot(source=source, target=target, cluster_id="example-db", source_kms_key=key["Arn"])


def test_snapshot_name_taken_by_user_snapshot_is_a_conflict(aws: EmulatedAWS) -> None:
    aws.create_cluster(SOURCE, "example-db")
    rds = aws.client(SOURCE, "rds")
    # A snapshot with rdsshare's deterministic name that rdsshare did not make.
    rds.create_db_cluster_snapshot(
        DBClusterIdentifier="example-db", DBClusterSnapshotIdentifier=f"rdsshare-example-db-{TARGET}"
    )
    source, target = sessions(aws)
    with pytest.raises(PreflightError, match="not created by rdsshare"):
        share_cluster_snapshot(source=source, target=target, cluster_id="example-db")


def test_failed_source_snapshot(aws: EmulatedAWS) -> None:
    aws.create_cluster(SOURCE, "example-db")
    aws.client(SOURCE, "rds").create_db_cluster_snapshot(
        DBClusterIdentifier="example-db", DBClusterSnapshotIdentifier="broken"
    )
    aws.fail(SOURCE, "cluster-snapshot", "broken")
    source, target = sessions(aws)
    with pytest.raises(RdsShareError, match="failed"):
        share_cluster_snapshot(source=source, target=target, snapshot_id="broken")


def test_a_target_that_cannot_see_the_shared_snapshot_is_told_why(aws: EmulatedAWS) -> None:
    """Someone unshares the copy between the share and the restore: the restore by ARN names the cause."""
    aws.create_cluster(SOURCE, "example-db")
    spec = restore_spec(aws)
    source, target = sessions(aws)

    def unshare(event: Event) -> None:
        if isinstance(event, StepFinished) and event.step == "share":
            attribute = event.resource
            aws.client(SOURCE, "rds").modify_db_cluster_snapshot_attribute(
                DBClusterSnapshotIdentifier=attribute, AttributeName="restore", ValuesToRemove=[TARGET]
            )

    with pytest.raises(NotFoundError) as info:
        share_cluster_snapshot(source=source, target=target, cluster_id="example-db", restore=spec, on_event=unshare)
    error = info.value
    assert (error.step, error.account_id, error.error_code) == ("restore", TARGET, "DBClusterSnapshotNotFoundFault")
    assert f"the target account {TARGET} cannot see arn:" in error.message
    assert "shared with the target" in str(error)
    assert isinstance(error.__cause__, ClientError)
