"""Rule 7: copy and restore semantics [BC-RDS CopyDBClusterSnapshot, RestoreDBClusterFromSnapshot]."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from rdsshare.testing import EmulatedAWS

from ..accounts import SOURCE, TARGET
from ._helpers import error_code, shared_cluster_snapshot, target_key


@pytest.fixture
def plain(aws: EmulatedAWS) -> EmulatedAWS:
    """SOURCE has an unencrypted cluster ``plain`` and its manual snapshot ``plain-snap``."""
    aws.create_cluster(SOURCE, "plain", encrypted=False)
    aws.client(SOURCE, "rds").create_db_cluster_snapshot(
        DBClusterIdentifier="plain", DBClusterSnapshotIdentifier="plain-snap"
    )
    return aws


def test_unencrypted_cluster_snapshot_copy_refuses_kms_key(plain: EmulatedAWS) -> None:
    """AWS: "If you copy an unencrypted DB cluster snapshot and specify a value for the KmsKeyId
    parameter, an error is returned." The test bed answers InvalidParameterValue."""
    rds = plain.client(SOURCE, "rds")
    key = plain.client(SOURCE, "kms").create_key()["KeyMetadata"]["Arn"]
    with pytest.raises(ClientError) as raised:
        rds.copy_db_cluster_snapshot(
            SourceDBClusterSnapshotIdentifier="plain-snap", TargetDBClusterSnapshotIdentifier="enc", KmsKeyId=key
        )
    assert error_code(raised) == "InvalidParameterValue"
    copy = rds.copy_db_cluster_snapshot(
        SourceDBClusterSnapshotIdentifier="plain-snap", TargetDBClusterSnapshotIdentifier="still-plain"
    )["DBClusterSnapshot"]
    assert copy["StorageEncrypted"] is False
    assert "KmsKeyId" not in copy


def test_restore_encrypts_under_kms_key_id_or_keeps_the_snapshot_key(plain: EmulatedAWS) -> None:
    rds = plain.client(SOURCE, "rds")
    key = plain.client(SOURCE, "kms").create_key()["KeyMetadata"]["Arn"]
    encrypted = rds.restore_db_cluster_from_snapshot(
        DBClusterIdentifier="now-encrypted", SnapshotIdentifier="plain-snap", Engine="aurora-mysql", KmsKeyId=key
    )["DBCluster"]
    assert (encrypted["StorageEncrypted"], encrypted["KmsKeyId"]) == (True, key)
    unencrypted = rds.restore_db_cluster_from_snapshot(
        DBClusterIdentifier="still-plain", SnapshotIdentifier="plain-snap", Engine="aurora-mysql"
    )["DBCluster"]
    assert unencrypted["StorageEncrypted"] is False

    rds.create_db_cluster_snapshot(DBClusterIdentifier="now-encrypted", DBClusterSnapshotIdentifier="enc-snap")
    kept = rds.restore_db_cluster_from_snapshot(
        DBClusterIdentifier="kept", SnapshotIdentifier="enc-snap", Engine="aurora-mysql"
    )["DBCluster"]
    assert kept["KmsKeyId"] == key


def test_existing_identifiers_are_refused(plain: EmulatedAWS) -> None:
    rds = plain.client(SOURCE, "rds")
    with pytest.raises(ClientError) as raised:
        rds.restore_db_cluster_from_snapshot(
            DBClusterIdentifier="plain", SnapshotIdentifier="plain-snap", Engine="aurora-mysql"
        )
    assert error_code(raised) == "DBClusterAlreadyExistsFault"
    with pytest.raises(ClientError) as raised:
        rds.create_db_cluster(
            DBClusterIdentifier="plain", Engine="aurora-mysql", MasterUsername="x", MasterUserPassword="password1"
        )
    assert error_code(raised) == "DBClusterAlreadyExistsFault"
    with pytest.raises(ClientError) as raised:
        rds.create_db_instance(
            DBInstanceIdentifier="plain-1",
            DBClusterIdentifier="plain",
            Engine="aurora-mysql",
            DBInstanceClass="db.t3.medium",
        )
    assert error_code(raised) == "DBInstanceAlreadyExists"
    # The original cluster is untouched.
    [cluster] = rds.describe_db_clusters(DBClusterIdentifier="plain")["DBClusters"]
    assert cluster["StorageEncrypted"] is False
    assert [m["DBInstanceIdentifier"] for m in cluster["DBClusterMembers"]] == ["plain-1"]


def test_restore_keeps_the_snapshot_engine(plain: EmulatedAWS) -> None:
    rds = plain.client(SOURCE, "rds")
    with pytest.raises(ClientError) as raised:
        rds.restore_db_cluster_from_snapshot(
            DBClusterIdentifier="pg", SnapshotIdentifier="plain-snap", Engine="aurora-postgresql"
        )
    assert error_code(raised) == "InvalidParameterCombination"
    restored = rds.restore_db_cluster_from_snapshot(
        DBClusterIdentifier="same", SnapshotIdentifier="plain-snap", Engine="aurora-mysql"
    )["DBCluster"]
    assert restored["Engine"] == "aurora-mysql"


def test_shared_encrypted_copy_needs_a_kms_key(aws: EmulatedAWS) -> None:
    shared = shared_cluster_snapshot(aws)
    rds = aws.client(TARGET, "rds")
    with pytest.raises(ClientError) as raised:
        rds.copy_db_cluster_snapshot(
            SourceDBClusterSnapshotIdentifier=shared.snapshot_arn, TargetDBClusterSnapshotIdentifier="no-key"
        )
    assert error_code(raised) == "InvalidParameterValue"
    copy = rds.copy_db_cluster_snapshot(
        SourceDBClusterSnapshotIdentifier=shared.snapshot_arn,
        TargetDBClusterSnapshotIdentifier="with-key",
        KmsKeyId=target_key(aws),
    )["DBClusterSnapshot"]
    assert copy["KmsKeyId"].split(":")[4] == TARGET


def test_cross_region_copy_needs_a_key_in_the_destination_region(aws: EmulatedAWS) -> None:
    """[BC-RDS CopyDBClusterSnapshot.KmsKeyId], docs/sources/aws-rules.md §7; the message is AWS's (§4)."""
    aws.create_cluster(SOURCE, "west", region="eu-west-1")
    arn = aws.client(SOURCE, "rds", "eu-west-1").create_db_cluster_snapshot(
        DBClusterIdentifier="west", DBClusterSnapshotIdentifier="west-snap"
    )["DBClusterSnapshot"]["DBClusterSnapshotArn"]
    east = aws.client(SOURCE, "rds")
    with pytest.raises(ClientError) as raised:
        east.copy_db_cluster_snapshot(
            SourceDBClusterSnapshotIdentifier=arn, TargetDBClusterSnapshotIdentifier="east", SourceRegion="eu-west-1"
        )
    assert error_code(raised) == "InvalidParameterValue"
    assert "cross region" in raised.value.response["Error"]["Message"]
    west_key = aws.client(SOURCE, "kms", "eu-west-1").create_key()["KeyMetadata"]["Arn"]
    with pytest.raises(ClientError) as raised:
        east.copy_db_cluster_snapshot(
            SourceDBClusterSnapshotIdentifier=arn,
            TargetDBClusterSnapshotIdentifier="east",
            KmsKeyId=west_key,
            SourceRegion="eu-west-1",
        )
    assert error_code(raised) == "KMSKeyNotAccessibleFault"
    east_key = aws.client(SOURCE, "kms").create_key()["KeyMetadata"]["Arn"]
    copy = east.copy_db_cluster_snapshot(
        SourceDBClusterSnapshotIdentifier=arn,
        TargetDBClusterSnapshotIdentifier="east",
        KmsKeyId=east_key,
        SourceRegion="eu-west-1",
    )["DBClusterSnapshot"]
    assert (copy["KmsKeyId"], copy["SourceDBClusterSnapshotArn"]) == (east_key, arn)
    assert copy["DBClusterSnapshotArn"].split(":")[3] == "us-east-1"


def test_a_target_copies_a_shared_snapshot_across_account_and_region_in_one_step(aws: EmulatedAWS) -> None:
    """docs/sources/aws-rules-2.md, Copies: one step across account and region (What's New 2025-09), with a
    ``KmsKeyId`` of the destination region; 5 cluster snapshot copies in progress per destination region."""
    shared = shared_cluster_snapshot(aws)
    west = aws.client(TARGET, "rds", "us-west-2")
    west_key = aws.client(TARGET, "kms", "us-west-2").create_key()["KeyMetadata"]["Arn"]
    with pytest.raises(ClientError) as no_key:
        west.copy_db_cluster_snapshot(
            SourceDBClusterSnapshotIdentifier=shared.snapshot_arn, TargetDBClusterSnapshotIdentifier="c",
            SourceRegion="us-east-1",
        )  # fmt: skip
    assert error_code(no_key) == "InvalidParameterValue"
    with pytest.raises(ClientError) as east_key:  # a key of another region than the copy's
        west.copy_db_cluster_snapshot(
            SourceDBClusterSnapshotIdentifier=shared.snapshot_arn, TargetDBClusterSnapshotIdentifier="c",
            SourceRegion="us-east-1", KmsKeyId=target_key(aws),
        )  # fmt: skip
    assert error_code(east_key) == "KMSKeyNotAccessibleFault"
    aws.operation_seconds = 60  # the copies stay in progress
    for n in range(5):
        copy = west.copy_db_cluster_snapshot(
            SourceDBClusterSnapshotIdentifier=shared.snapshot_arn, TargetDBClusterSnapshotIdentifier=f"c{n}",
            KmsKeyId=west_key, SourceRegion="us-east-1",
        )["DBClusterSnapshot"]  # fmt: skip
        assert copy["KmsKeyId"] == west_key
        assert copy["SourceDBClusterSnapshotArn"] == shared.snapshot_arn
    with pytest.raises(ClientError) as quota:
        west.copy_db_cluster_snapshot(
            SourceDBClusterSnapshotIdentifier=shared.snapshot_arn, TargetDBClusterSnapshotIdentifier="c5",
            KmsKeyId=west_key, SourceRegion="us-east-1",
        )  # fmt: skip
    assert error_code(quota) == "SnapshotQuotaExceeded"
    aws.finish_pending()
    rds = aws.client(SOURCE, "rds")
    rds.modify_db_cluster_snapshot_attribute(
        DBClusterSnapshotIdentifier=shared.snapshot_id, AttributeName="restore", ValuesToRemove=[TARGET]
    )
    with pytest.raises(ClientError) as unshared:  # only a shared snapshot can be copied by another account
        west.copy_db_cluster_snapshot(
            SourceDBClusterSnapshotIdentifier=shared.snapshot_arn, TargetDBClusterSnapshotIdentifier="c6",
            KmsKeyId=west_key, SourceRegion="us-east-1",
        )  # fmt: skip
    assert error_code(unshared) == "DBClusterSnapshotNotFoundFault"
