"""Managed master user secrets [AUR-SM].

Sources: docs/sources/aws-rules.md §6, docs/sources/aws-rules-2.md "Managed master passwords".
"""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from rdsshare.testing import EmulatedAWS

from ..accounts import SOURCE, TARGET
from ._helpers import error_code, shared_cluster_snapshot, target_key


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


def _instance_snapshot(aws: EmulatedAWS, engine: str, **instance: object) -> str:
    aws.create_instance(SOURCE, f"{engine}-db", engine=engine, encrypted=False, **instance)  # type: ignore[arg-type]
    rds = aws.client(SOURCE, "rds")
    rds.create_db_snapshot(DBInstanceIdentifier=f"{engine}-db", DBSnapshotIdentifier=f"{engine}-snap")
    return f"{engine}-snap"


def test_instance_restores_manage_the_password_for_oracle_only(aws: EmulatedAWS) -> None:
    """``RestoreDBInstanceFromDBSnapshot.ManageMasterUserPassword``: "Applies to RDS for Oracle only"."""
    rds = aws.client(SOURCE, "rds")
    postgres = _instance_snapshot(aws, "postgres")
    restored = rds.restore_db_instance_from_db_snapshot(
        DBInstanceIdentifier="pg-restored", DBSnapshotIdentifier=postgres, ManageMasterUserPassword=True
    )["DBInstance"]
    assert "MasterUserSecret" not in restored  # terraform-provider-aws #31509
    oracle = _instance_snapshot(aws, "oracle-se2", instance_class="db.m5.large")
    restored = rds.restore_db_instance_from_db_snapshot(
        DBInstanceIdentifier="ora-restored", DBSnapshotIdentifier=oracle, ManageMasterUserPassword=True
    )["DBInstance"]
    assert restored["MasterUserSecret"]["SecretArn"]
    # For the others, a modify after the restore hands the password over (PR #33699).
    aws.finish_pending()
    modified = rds.modify_db_instance(
        DBInstanceIdentifier="pg-restored", ManageMasterUserPassword=True, ApplyImmediately=True
    )["DBInstance"]
    assert modified["MasterUserSecret"]["SecretArn"]


def test_managed_secrets_rotate_every_seven_days(aws: EmulatedAWS) -> None:
    cluster = aws.create_cluster(SOURCE, "managed", manage_master_user_password=True)
    secret = aws.client(SOURCE, "secretsmanager").describe_secret(SecretId=cluster["MasterUserSecret"]["SecretArn"])
    assert secret["RotationEnabled"] is True
    assert secret["RotationRules"]["AutomaticallyAfterDays"] == 7


def test_a_password_and_a_managed_password_exclude_each_other(aws: EmulatedAWS) -> None:
    aws.create_cluster(SOURCE, "orders", instances=0)
    with pytest.raises(ClientError) as raised:
        aws.client(SOURCE, "rds").modify_db_cluster(
            DBClusterIdentifier="orders", ManageMasterUserPassword=True, MasterUserPassword="another-password-1",
            ApplyImmediately=True,
        )  # fmt: skip
    assert error_code(raised) == "InvalidParameterCombination"


def test_turning_management_on_again_keeps_the_one_secret(aws: EmulatedAWS) -> None:
    """The bed's decision (no AWS source says otherwise): a repeat changes nothing, no second secret."""
    cluster = aws.create_cluster(SOURCE, "managed", manage_master_user_password=True)
    first = cluster["MasterUserSecret"]["SecretArn"]
    again = aws.client(SOURCE, "rds").modify_db_cluster(
        DBClusterIdentifier="managed", ManageMasterUserPassword=True, ApplyImmediately=True
    )["DBCluster"]
    assert again["MasterUserSecret"]["SecretArn"] == first
    secrets = aws.client(SOURCE, "secretsmanager").list_secrets()["SecretList"]
    assert [s["ARN"] for s in secrets] == [first]
