"""Aurora's default encryption since 2026-02-18, and ``StorageEncryptionType`` everywhere (docs/sources/aws-rules-2.md).

"All new database clusters created on or after February 18, 2026 ... are encrypted at rest", by default
with an AWS owned key (Aurora User Guide, Overview.Encryption). ``StorageEncryptionType``: ``none``,
``sse-rds`` (AWS owned key; ``StorageEncrypted`` is false), ``sse-kms`` (botocore model).
No AWS source says whether an ``sse-rds`` snapshot can be shared as it is: the bed has a switch.
"""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from rdsshare.testing import EmulatedAWS

from ..accounts import SOURCE, TARGET
from ._helpers import error_code, target_key

PASSWORD = "password-123"


def _cluster(aws: EmulatedAWS, cluster_id: str, **params: object) -> dict[str, object]:
    rds = aws.client(SOURCE, "rds")
    rds.create_db_cluster(
        DBClusterIdentifier=cluster_id,
        Engine="aurora-postgresql",
        MasterUsername="admin",
        MasterUserPassword=PASSWORD,
        **params,  # type: ignore[arg-type]
    )
    aws.finish_pending()
    return dict(rds.describe_db_clusters(DBClusterIdentifier=cluster_id)["DBClusters"][0])


def test_a_new_cluster_is_encrypted_with_an_aws_owned_key_unless_asked_otherwise(aws: EmulatedAWS) -> None:
    default = _cluster(aws, "plain")
    assert (default["StorageEncryptionType"], default["StorageEncrypted"]) == ("sse-rds", False)
    assert "KmsKeyId" not in default
    off = _cluster(aws, "asked-off", StorageEncrypted=False)  # AWS encrypts new clusters anyway
    assert off["StorageEncryptionType"] == "sse-rds"
    on = _cluster(aws, "asked-on", StorageEncrypted=True)
    assert (on["StorageEncryptionType"], on["StorageEncrypted"]) == ("sse-kms", True)
    key = aws.client(SOURCE, "kms").describe_key(KeyId="alias/aws/rds")["KeyMetadata"]["Arn"]
    assert on["KmsKeyId"] == key
    cmk = aws.client(SOURCE, "kms").create_key()["KeyMetadata"]["Arn"]
    assert _cluster(aws, "with-key", KmsKeyId=cmk)["StorageEncryptionType"] == "sse-kms"


def test_snapshots_copies_and_instances_report_the_encryption_type(aws: EmulatedAWS) -> None:
    aws.create_cluster(SOURCE, "owned", encryption="sse-rds")
    aws.create_cluster(SOURCE, "legacy", encryption="none", instances=0)
    rds = aws.client(SOURCE, "rds")
    rds.create_db_cluster_snapshot(DBClusterIdentifier="owned", DBClusterSnapshotIdentifier="owned-1")
    rds.create_db_cluster_snapshot(DBClusterIdentifier="legacy", DBClusterSnapshotIdentifier="legacy-1")
    snapshots = {
        s["DBClusterSnapshotIdentifier"]: (s["StorageEncryptionType"], s["StorageEncrypted"])
        for s in rds.describe_db_cluster_snapshots(SnapshotType="manual")["DBClusterSnapshots"]
    }
    assert snapshots == {"owned-1": ("sse-rds", False), "legacy-1": ("none", False)}
    [instance] = rds.describe_db_instances(DBInstanceIdentifier="owned-1")["DBInstances"]
    assert instance["StorageEncryptionType"] == "sse-rds"
    # Re-keying an sse-rds snapshot with one copy gives an sse-kms copy; an unencrypted one refuses a key.
    cmk = aws.client(SOURCE, "kms").create_key()["KeyMetadata"]["Arn"]
    copy = rds.copy_db_cluster_snapshot(
        SourceDBClusterSnapshotIdentifier="owned-1", TargetDBClusterSnapshotIdentifier="owned-cmk", KmsKeyId=cmk
    )["DBClusterSnapshot"]
    assert (copy["StorageEncryptionType"], copy["KmsKeyId"]) == ("sse-kms", cmk)
    with pytest.raises(ClientError) as raised:
        rds.copy_db_cluster_snapshot(
            SourceDBClusterSnapshotIdentifier="legacy-1", TargetDBClusterSnapshotIdentifier="legacy-cmk", KmsKeyId=cmk
        )
    assert error_code(raised) == "InvalidParameterValue"
    # An RDS instance outside Aurora is still unencrypted unless asked.
    assert aws.create_instance(SOURCE, "single", encrypted=False)["StorageEncryptionType"] == "none"


def _owned_snapshot(aws: EmulatedAWS) -> None:
    aws.create_cluster(SOURCE, "owned", encryption="sse-rds", instances=0)
    aws.client(SOURCE, "rds").create_db_cluster_snapshot(
        DBClusterIdentifier="owned", DBClusterSnapshotIdentifier="owned-1"
    )


def _share(aws: EmulatedAWS) -> object:
    return aws.client(SOURCE, "rds").modify_db_cluster_snapshot_attribute(
        DBClusterSnapshotIdentifier="owned-1", AttributeName="restore", ValuesToAdd=[TARGET]
    )


def test_an_sse_rds_snapshot_is_shared_as_it_is_by_default(aws: EmulatedAWS) -> None:
    assert aws.sse_rds_shareable
    _owned_snapshot(aws)
    _share(aws)
    arn = f"arn:aws:rds:us-east-1:{SOURCE}:cluster-snapshot:owned-1"
    target = aws.client(TARGET, "rds")
    restored = target.restore_db_cluster_from_snapshot(
        DBClusterIdentifier="received", SnapshotIdentifier=arn, Engine="aurora-mysql", KmsKeyId=target_key(aws)
    )["DBCluster"]
    assert restored["StorageEncryptionType"] == "sse-kms"
    plain = target.restore_db_cluster_from_snapshot(
        DBClusterIdentifier="received-2", SnapshotIdentifier=arn, Engine="aurora-mysql"
    )["DBCluster"]
    assert plain["StorageEncryptionType"] == "sse-rds"


def test_an_sse_rds_snapshot_is_refused_when_the_switch_says_aws_does(aws: EmulatedAWS) -> None:
    aws.sse_rds_shareable = False
    _owned_snapshot(aws)
    with pytest.raises(ClientError) as raised:
        _share(aws)
    assert error_code(raised) == "InvalidParameterValue"
    assert "AWS owned key" in raised.value.response["Error"]["Message"]
    # The way out AWS always allows: re-key with one copy under a customer managed key, share that.
    rds = aws.client(SOURCE, "rds")
    cmk = aws.client(SOURCE, "kms").create_key()["KeyMetadata"]["Arn"]
    rds.copy_db_cluster_snapshot(
        SourceDBClusterSnapshotIdentifier="owned-1", TargetDBClusterSnapshotIdentifier="owned-cmk", KmsKeyId=cmk
    )
    rds.modify_db_cluster_snapshot_attribute(
        DBClusterSnapshotIdentifier="owned-cmk", AttributeName="restore", ValuesToAdd=[TARGET]
    )
