"""Rule 2: the AWS-managed default key ``aws/rds`` [AUR-KEYS], [AUR-ENCSHARE], [KMS-DEF]."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from botocore.exceptions import ClientError

from rdsshare.testing import EmulatedAWS

from ..accounts import SOURCE, TARGET
from ._helpers import error_code, target_key


def test_default_key_exists_on_first_use_and_is_aws_managed(aws: EmulatedAWS) -> None:
    kms = aws.client(SOURCE, "kms")
    metadata = kms.describe_key(KeyId="alias/aws/rds")["KeyMetadata"]
    assert metadata["KeyManager"] == "AWS"
    assert metadata["Arn"] == f"arn:aws:kms:us-east-1:{SOURCE}:key/{metadata['KeyId']}"
    assert metadata["KeyState"] == "Enabled"
    policy = json.loads(kms.get_key_policy(KeyId=metadata["KeyId"], PolicyName="default")["Policy"])
    [via_rds] = [s for s in policy["Statement"] if "Condition" in s]
    assert via_rds["Condition"]["StringEquals"] == {
        "kms:CallerAccount": SOURCE,
        "kms:ViaService": "rds.us-east-1.amazonaws.com",
    }
    # The same key every time, and a different one in every account.
    assert kms.describe_key(KeyId="alias/aws/rds")["KeyMetadata"]["Arn"] == metadata["Arn"]
    other = aws.client(TARGET, "kms").describe_key(KeyId="alias/aws/rds")["KeyMetadata"]
    assert other["Arn"] != metadata["Arn"]


def test_encrypted_resources_without_key_use_the_default_key(aws: EmulatedAWS) -> None:
    cluster = aws.create_cluster(SOURCE, "orders")
    default_arn = aws.client(SOURCE, "kms").describe_key(KeyId="alias/aws/rds")["KeyMetadata"]["Arn"]
    assert cluster["StorageEncrypted"] is True
    assert cluster["KmsKeyId"] == default_arn
    rds = aws.client(SOURCE, "rds")
    snapshot = rds.create_db_cluster_snapshot(DBClusterIdentifier="orders", DBClusterSnapshotIdentifier="orders-snap")[
        "DBClusterSnapshot"
    ]
    assert snapshot["KmsKeyId"] == default_arn
    instance = rds.create_db_instance(
        DBInstanceIdentifier="standalone",
        Engine="postgres",
        DBInstanceClass="db.t3.micro",
        MasterUsername="dbadmin",
        MasterUserPassword="not-a-real-password",
        AllocatedStorage=20,
        StorageEncrypted=True,
    )["DBInstance"]
    assert instance["KmsKeyId"] == default_arn

    plain = aws.create_cluster(SOURCE, "plain", encrypted=False)
    assert plain["StorageEncrypted"] is False
    assert "KmsKeyId" not in plain


def test_aws_managed_key_cannot_be_managed_or_used_directly(aws: EmulatedAWS) -> None:
    kms = aws.client(SOURCE, "kms")
    key_id = kms.describe_key(KeyId="alias/aws/rds")["KeyMetadata"]["KeyId"]
    policy = json.dumps(
        {
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{SOURCE}:root"},
                    "Action": "kms:*",
                    "Resource": "*",
                }
            ]
        }
    )
    attempts: dict[str, Callable[[], object]] = {
        "PutKeyPolicy": lambda: kms.put_key_policy(KeyId=key_id, PolicyName="default", Policy=policy),
        "ScheduleKeyDeletion": lambda: kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7),
        "DisableKey": lambda: kms.disable_key(KeyId=key_id),
        # Only RDS may use it: a direct Encrypt has no kms:ViaService.
        "Encrypt": lambda: kms.encrypt(KeyId="alias/aws/rds", Plaintext=b"secret"),
    }
    for name, attempt in attempts.items():
        with pytest.raises(ClientError) as raised:
            attempt()
        assert error_code(raised) == "AccessDeniedException", name
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "Enabled"


def test_shared_default_key_snapshot_fails_in_the_target(aws: EmulatedAWS) -> None:
    """AWS accepts the share, then the target's copy or restore fails (aurora-snapshot-tool #26)."""
    aws.create_cluster(SOURCE, "orders")
    source = aws.client(SOURCE, "rds")
    arn = source.create_db_cluster_snapshot(DBClusterIdentifier="orders", DBClusterSnapshotIdentifier="orders-snap")[
        "DBClusterSnapshot"
    ]["DBClusterSnapshotArn"]
    source.modify_db_cluster_snapshot_attribute(
        DBClusterSnapshotIdentifier="orders-snap", AttributeName="restore", ValuesToAdd=[TARGET]
    )
    target = aws.client(TARGET, "rds")
    assert target.describe_db_cluster_snapshots(SnapshotType="shared")["DBClusterSnapshots"]
    with pytest.raises(ClientError) as raised:
        target.copy_db_cluster_snapshot(
            SourceDBClusterSnapshotIdentifier=arn,
            TargetDBClusterSnapshotIdentifier="received",
            KmsKeyId=target_key(aws),
        )
    assert error_code(raised) == "KMSKeyNotAccessibleFault"
    with pytest.raises(ClientError) as raised:
        target.restore_db_cluster_from_snapshot(
            DBClusterIdentifier="restored", SnapshotIdentifier=arn, Engine="aurora-mysql"
        )
    assert error_code(raised) == "KMSKeyNotAccessibleFault"
    assert target.describe_db_cluster_snapshots()["DBClusterSnapshots"] == []
