"""Keys that go away: KMS refuses them, databases under them become inaccessible (docs/sources/aws-rules-2.md "Keys").

KMS refuses a disabled key (``DisabledException``) and one pending deletion (``KMSInvalidStateException``)
(botocore model). "When Aurora can't use a DB's key, the DB moves to
inaccessible-encryption-credentials-recoverable" (Aurora User Guide, Overview.Encryption.Keys). This is what
restoring under a target-owned key is for: the source deleting its key must not break the target.
"""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from rdsshare.testing import EmulatedAWS

from ..accounts import SOURCE, TARGET
from ._helpers import error_code, shared_cluster_snapshot, target_key

INACCESSIBLE = "inaccessible-encryption-credentials-recoverable"


def _status(aws: EmulatedAWS, account: str, cluster_id: str) -> str:
    return str(
        aws.client(account, "rds").describe_db_clusters(DBClusterIdentifier=cluster_id)["DBClusters"][0]["Status"]
    )


def test_kms_refuses_disabled_keys_and_keys_pending_deletion(aws: EmulatedAWS) -> None:
    kms = aws.client(SOURCE, "kms")
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.disable_key(KeyId=key)
    for call in (
        lambda: kms.encrypt(KeyId=key, Plaintext=b"x"),
        lambda: kms.generate_data_key(KeyId=key, KeySpec="AES_256"),
        lambda: kms.create_grant(KeyId=key, GranteePrincipal=f"arn:aws:iam::{TARGET}:root", Operations=["Decrypt"]),
    ):
        with pytest.raises(ClientError) as raised:
            call()
        assert error_code(raised) == "DisabledException"
    assert kms.describe_key(KeyId=key)["KeyMetadata"]["KeyState"] == "Disabled"  # still describable
    kms.enable_key(KeyId=key)
    kms.schedule_key_deletion(KeyId=key, PendingWindowInDays=7)
    with pytest.raises(ClientError) as raised:
        kms.encrypt(KeyId=key, Plaintext=b"x")
    assert error_code(raised) == "KMSInvalidStateException"
    with pytest.raises(ClientError) as raised:
        kms.enable_key(KeyId=key)
    assert error_code(raised) == "KMSInvalidStateException"
    kms.cancel_key_deletion(KeyId=key)
    assert kms.describe_key(KeyId=key)["KeyMetadata"]["KeyState"] == "Disabled"


def test_a_cluster_whose_key_is_disabled_is_inaccessible_until_it_is_enabled(aws: EmulatedAWS) -> None:
    kms = aws.client(SOURCE, "kms")
    key = kms.create_key()["KeyMetadata"]["Arn"]
    aws.create_cluster(SOURCE, "orders", kms_key_id=key, instances=1)
    rds = aws.client(SOURCE, "rds")
    kms.disable_key(KeyId=key)
    assert _status(aws, SOURCE, "orders") == INACCESSIBLE
    [instance] = rds.describe_db_instances(DBInstanceIdentifier="orders-1")["DBInstances"]
    assert instance["DBInstanceStatus"] == INACCESSIBLE
    with pytest.raises(ClientError) as raised:
        rds.create_db_cluster_snapshot(DBClusterIdentifier="orders", DBClusterSnapshotIdentifier="too-late")
    assert error_code(raised) == "InvalidDBClusterStateFault"
    with pytest.raises(ClientError) as raised:
        rds.create_db_instance(
            DBInstanceIdentifier="orders-2", DBClusterIdentifier="orders", Engine="aurora-mysql",
            DBInstanceClass="db.r6g.large",
        )  # fmt: skip
    assert error_code(raised) == "InvalidDBClusterStateFault"
    kms.enable_key(KeyId=key)
    assert _status(aws, SOURCE, "orders") == "available"


def test_a_target_owned_restore_survives_the_source_deleting_its_key(aws: EmulatedAWS) -> None:
    shared = shared_cluster_snapshot(aws)
    rds = aws.client(TARGET, "rds")
    own_key = target_key(aws)
    rds.restore_db_cluster_from_snapshot(
        DBClusterIdentifier="independent", SnapshotIdentifier=shared.snapshot_arn, Engine="aurora-mysql",
        KmsKeyId=own_key,
    )  # fmt: skip
    rds.restore_db_cluster_from_snapshot(
        DBClusterIdentifier="dependent", SnapshotIdentifier=shared.snapshot_arn, Engine="aurora-mysql"
    )
    assert rds.describe_db_clusters(DBClusterIdentifier="dependent")["DBClusters"][0]["KmsKeyId"] == shared.key_arn
    aws.client(SOURCE, "kms").schedule_key_deletion(KeyId=shared.key_arn, PendingWindowInDays=7)
    # The cluster restored without KmsKeyId kept the source's key and lost it with the source's key.
    assert _status(aws, TARGET, "dependent") == INACCESSIBLE
    # The one under the target's own key goes on: new instances, new snapshots.
    assert _status(aws, TARGET, "independent") == "available"
    rds.create_db_instance(
        DBInstanceIdentifier="independent-1", DBClusterIdentifier="independent", Engine="aurora-mysql",
        DBInstanceClass="db.r6g.large",
    )  # fmt: skip
    aws.finish_pending()
    rds.create_db_cluster_snapshot(DBClusterIdentifier="independent", DBClusterSnapshotIdentifier="after")
    aws.finish_pending()
    snapshot = rds.describe_db_cluster_snapshots(DBClusterSnapshotIdentifier="after")["DBClusterSnapshots"][0]
    assert (snapshot["Status"], snapshot["KmsKeyId"]) == ("available", own_key)
