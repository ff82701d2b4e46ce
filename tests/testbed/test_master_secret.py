"""Rule 9: managed master user secrets after a restore [AUR-SM], aws-rules.md §6."""

from __future__ import annotations

import json

from rdsshare.testing import EmulatedAWS

from ..accounts import SOURCE, TARGET
from ._helpers import shared_cluster_snapshot, target_key


def _password(aws: EmulatedAWS, account: str, secret_arn: str) -> dict[str, str]:
    value = aws.client(account, "secretsmanager").get_secret_value(SecretId=secret_arn)["SecretString"]
    secret: dict[str, str] = json.loads(value)
    return secret


def test_managed_password_cluster_snapshots_restore_without_a_secret(aws: EmulatedAWS) -> None:
    cluster = aws.create_cluster(SOURCE, "managed", manage_master_user_password=True)
    secret = _password(aws, SOURCE, cluster["MasterUserSecret"]["SecretArn"])
    assert secret["username"] == "dbadmin"
    assert secret["password"] != "P@55w0rd!"
    assert len(secret["password"]) >= 20

    rds = aws.client(SOURCE, "rds")
    rds.create_db_cluster_snapshot(DBClusterIdentifier="managed", DBClusterSnapshotIdentifier="managed-snap")
    restored = rds.restore_db_cluster_from_snapshot(
        DBClusterIdentifier="restored", SnapshotIdentifier="managed-snap", Engine="aurora-mysql"
    )["DBCluster"]
    # RestoreDBClusterFromSnapshot cannot manage the password; the secret stays with the original.
    assert "MasterUserSecret" not in restored
    assert restored["MasterUsername"] == "dbadmin"


def test_modify_after_cross_account_restore_creates_the_secret_in_the_target(aws: EmulatedAWS) -> None:
    shared = shared_cluster_snapshot(aws)
    key = target_key(aws)
    kms = aws.client(TARGET, "kms")
    kms.create_alias(AliasName="alias/db-secrets", TargetKeyId=key)
    rds = aws.client(TARGET, "rds")
    rds.restore_db_cluster_from_snapshot(
        DBClusterIdentifier="restored", SnapshotIdentifier=shared.snapshot_arn, Engine="aurora-mysql", KmsKeyId=key
    )
    modified = rds.modify_db_cluster(
        DBClusterIdentifier="restored",
        ManageMasterUserPassword=True,
        MasterUserSecretKmsKeyId="alias/db-secrets",
        ApplyImmediately=True,
    )["DBCluster"]
    secret = modified["MasterUserSecret"]
    assert secret["SecretArn"].split(":")[4] == TARGET
    assert secret["KmsKeyId"] == key
    value = _password(aws, TARGET, secret["SecretArn"])
    assert value["password"] != "P@55w0rd!"
    described = rds.describe_db_clusters(DBClusterIdentifier="restored")["DBClusters"][0]
    assert described["MasterUserSecret"]["SecretArn"] == secret["SecretArn"]

    # Every managed secret gets its own generated password.
    aws.create_cluster(TARGET, "second", manage_master_user_password=True)
    second = rds.describe_db_clusters(DBClusterIdentifier="second")["DBClusters"][0]
    assert _password(aws, TARGET, second["MasterUserSecret"]["SecretArn"])["password"] != value["password"]


def test_default_secret_key_is_the_aws_managed_secretsmanager_key(aws: EmulatedAWS) -> None:
    cluster = aws.create_cluster(TARGET, "managed", manage_master_user_password=True)
    key = aws.client(TARGET, "kms").describe_key(KeyId=cluster["MasterUserSecret"]["KmsKeyId"])["KeyMetadata"]
    assert key["KeyManager"] == "AWS"
    assert key["Arn"] == cluster["MasterUserSecret"]["KmsKeyId"]
