"""Rule 6: key forms, key state and key region in RDS calls [BC-RDS], [AUR-COPY], docs/sources/aws-rules.md §4."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from rdsshare.testing import EmulatedAWS

from ..accounts import SOURCE
from ._helpers import error_code

CLUSTER_ARGS: dict[str, Any] = {
    "Engine": "aurora-mysql",
    "MasterUsername": "dbadmin",
    "MasterUserPassword": "not-a-password",
}


@pytest.fixture
def snapshot(aws: EmulatedAWS) -> EmulatedAWS:
    """SOURCE has a cluster and a manual snapshot ``base``."""
    aws.create_cluster(SOURCE, "orders")
    aws.client(SOURCE, "rds").create_db_cluster_snapshot(
        DBClusterIdentifier="orders", DBClusterSnapshotIdentifier="base"
    )
    return aws


def _key_forms(aws: EmulatedAWS) -> tuple[str, dict[str, str]]:
    kms = aws.client(SOURCE, "kms")
    key = kms.create_key(Description="forms")["KeyMetadata"]
    kms.create_alias(AliasName="alias/forms", TargetKeyId=key["KeyId"])
    return key["Arn"], {
        "key-id": key["KeyId"],
        "key-arn": key["Arn"],
        "alias-name": "alias/forms",
        "alias-arn": f"arn:aws:kms:us-east-1:{SOURCE}:alias/forms",
    }


def test_every_key_form_is_accepted_and_reported_as_the_key_arn(snapshot: EmulatedAWS) -> None:
    arn, forms = _key_forms(snapshot)
    rds = snapshot.client(SOURCE, "rds")
    for name, key in forms.items():
        copy = rds.copy_db_cluster_snapshot(
            SourceDBClusterSnapshotIdentifier="base", TargetDBClusterSnapshotIdentifier=f"copy-{name}", KmsKeyId=key
        )["DBClusterSnapshot"]
        assert copy["KmsKeyId"] == arn, name
        restored = rds.restore_db_cluster_from_snapshot(
            DBClusterIdentifier=f"restore-{name}", SnapshotIdentifier="base", Engine="aurora-mysql", KmsKeyId=key
        )["DBCluster"]
        assert restored["KmsKeyId"] == arn, name
        created = rds.create_db_cluster(
            DBClusterIdentifier=f"create-{name}", StorageEncrypted=True, KmsKeyId=key, **CLUSTER_ARGS
        )["DBCluster"]
        assert created["KmsKeyId"] == arn, name
        described = rds.describe_db_clusters(DBClusterIdentifier=f"create-{name}")["DBClusters"][0]
        assert described["KmsKeyId"] == arn, name


def _unusable_keys(aws: EmulatedAWS) -> dict[str, str]:
    kms = aws.client(SOURCE, "kms")
    disabled = kms.create_key()["KeyMetadata"]["Arn"]
    kms.disable_key(KeyId=disabled)
    pending = kms.create_key()["KeyMetadata"]["Arn"]
    kms.schedule_key_deletion(KeyId=pending, PendingWindowInDays=7)
    asymmetric = kms.create_key(KeySpec="RSA_2048", KeyUsage="ENCRYPT_DECRYPT")["KeyMetadata"]["Arn"]
    other_region = aws.client(SOURCE, "kms", "eu-west-1").create_key()["KeyMetadata"]["Arn"]
    return {
        "disabled": disabled,
        "pending-deletion": pending,
        "asymmetric": asymmetric,
        "other-region": other_region,
        "unknown": f"arn:aws:kms:us-east-1:{SOURCE}:key/00000000-0000-0000-0000-000000000000",
        "unknown-alias": "alias/does-not-exist",
    }


def test_unusable_keys_are_refused(snapshot: EmulatedAWS) -> None:
    rds = snapshot.client(SOURCE, "rds")
    calls: dict[str, Callable[[str], Any]] = {
        "copy": lambda key: rds.copy_db_cluster_snapshot(
            SourceDBClusterSnapshotIdentifier="base", TargetDBClusterSnapshotIdentifier="copy", KmsKeyId=key
        ),
        "restore": lambda key: rds.restore_db_cluster_from_snapshot(
            DBClusterIdentifier="restored", SnapshotIdentifier="base", Engine="aurora-mysql", KmsKeyId=key
        ),
        "create": lambda key: rds.create_db_cluster(
            DBClusterIdentifier="created", StorageEncrypted=True, KmsKeyId=key, **CLUSTER_ARGS
        ),
    }
    for key_name, key in _unusable_keys(snapshot).items():
        for call_name, call in calls.items():
            with pytest.raises(ClientError) as raised:
                call(key)
            assert error_code(raised) == "KMSKeyNotAccessibleFault", (key_name, call_name)
    identifiers = [s["DBClusterSnapshotIdentifier"] for s in rds.describe_db_cluster_snapshots()["DBClusterSnapshots"]]
    assert "copy" not in identifiers
    assert [c["DBClusterIdentifier"] for c in rds.describe_db_clusters()["DBClusters"]] == ["orders"]


def test_snapshot_under_a_disabled_key_cannot_be_copied(snapshot: EmulatedAWS) -> None:
    kms = snapshot.client(SOURCE, "kms")
    rds = snapshot.client(SOURCE, "rds")
    key = kms.create_key()["KeyMetadata"]["Arn"]
    rds.copy_db_cluster_snapshot(
        SourceDBClusterSnapshotIdentifier="base", TargetDBClusterSnapshotIdentifier="under-cmk", KmsKeyId=key
    )
    kms.disable_key(KeyId=key)
    with pytest.raises(ClientError) as raised:
        rds.copy_db_cluster_snapshot(
            SourceDBClusterSnapshotIdentifier="under-cmk", TargetDBClusterSnapshotIdentifier="again"
        )
    assert error_code(raised) == "KMSKeyNotAccessibleFault"
    kms.enable_key(KeyId=key)
    rds.copy_db_cluster_snapshot(
        SourceDBClusterSnapshotIdentifier="under-cmk", TargetDBClusterSnapshotIdentifier="again"
    )
