"""Plain moto 5.2.5 (``mock_aws``, no test bed) gets each rule wrong: the rules are necessary.

Each test shows moto accepting what AWS refuses, or refusing what AWS accepts (docs/sources/moto-gaps.md). They
also prove the test bed removed its patches: they run after test bed tests in the same process.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from ..accounts import SOURCE, TARGET
from ._helpers import error_code
from .conftest import Clients

PASSWORD = "password-1"


def _cluster_snapshot(rds: Any, cluster_id: str = "orders", **kwargs: Any) -> str:
    rds.create_db_cluster(
        DBClusterIdentifier=cluster_id,
        Engine="aurora-mysql",
        MasterUsername="dbadmin",
        **({"MasterUserPassword": PASSWORD} if "ManageMasterUserPassword" not in kwargs else {}),
        **kwargs,
    )
    return str(
        rds.create_db_cluster_snapshot(
            DBClusterIdentifier=cluster_id, DBClusterSnapshotIdentifier=f"{cluster_id}-snap"
        )["DBClusterSnapshot"]["DBClusterSnapshotArn"]
    )


def test_rule1_moto_cannot_resolve_shared_snapshots(plain: Clients) -> None:
    source, target = plain(SOURCE, "rds"), plain(TARGET, "rds")
    arn = _cluster_snapshot(source)
    source.modify_db_cluster_snapshot_attribute(
        DBClusterSnapshotIdentifier="orders-snap", AttributeName="restore", ValuesToAdd=[TARGET]
    )
    with pytest.raises(ClientError) as raised:  # AWS: the copy works
        target.copy_db_cluster_snapshot(SourceDBClusterSnapshotIdentifier=arn, TargetDBClusterSnapshotIdentifier="c")
    assert error_code(raised) == "DBClusterSnapshotNotFoundFault"
    [listed] = target.describe_db_cluster_snapshots(SnapshotType="shared")["DBClusterSnapshots"]
    assert listed["SnapshotType"] == "manual"  # AWS: "shared"


def test_rule2_moto_has_no_real_default_key(plain: Clients) -> None:
    rds = plain(SOURCE, "rds")
    cluster = rds.create_db_cluster(
        DBClusterIdentifier="orders",
        Engine="aurora-mysql",
        MasterUsername="dbadmin",
        MasterUserPassword=PASSWORD,
        StorageEncrypted=True,
    )["DBCluster"]
    assert cluster["KmsKeyId"] == "default_kms_key_id"  # AWS: the ARN of aws/rds
    key = plain(SOURCE, "kms").describe_key(KeyId="alias/aws/rds")["KeyMetadata"]
    assert key["KeyManager"] == "CUSTOMER"  # AWS: "AWS"


def test_rule3_moto_ignores_key_policies_across_accounts(plain: Clients) -> None:
    kms_source = plain(SOURCE, "kms")
    no_grant = json.dumps(
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
    key = kms_source.create_key(Policy=no_grant)["KeyMetadata"]["Arn"]
    rds = plain(TARGET, "rds")
    rds.create_db_cluster(
        DBClusterIdentifier="b", Engine="aurora-mysql", MasterUsername="dbadmin", MasterUserPassword=PASSWORD
    )
    rds.create_db_cluster_snapshot(DBClusterIdentifier="b", DBClusterSnapshotIdentifier="b-snap")
    # AWS: KMSKeyNotAccessibleFault, the policy does not allow TARGET.
    copy = rds.copy_db_cluster_snapshot(
        SourceDBClusterSnapshotIdentifier="b-snap", TargetDBClusterSnapshotIdentifier="c", KmsKeyId=key
    )
    assert copy["DBClusterSnapshot"]["KmsKeyId"] == key
    with pytest.raises(KeyError):  # AWS: AccessDeniedException (HTTP 400); moto crashes
        plain(TARGET, "kms").create_grant(
            KeyId=key, GranteePrincipal=f"arn:aws:iam::{TARGET}:root", Operations=["Decrypt"]
        )


def test_rule4_moto_has_no_lockout_check(plain: Clients) -> None:
    kms = plain(SOURCE, "kms")
    locked = json.dumps(
        {
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{TARGET}:root"},
                    "Action": "kms:*",
                    "Resource": "*",
                }
            ]
        }
    )
    kms.create_key(Policy=locked)  # AWS: MalformedPolicyDocumentException
    kms.create_key(Policy="not json")  # AWS: MalformedPolicyDocumentException


def test_rule5_moto_accepts_bad_restore_values(plain: Clients) -> None:
    rds = plain(SOURCE, "rds")
    _cluster_snapshot(rds, StorageEncrypted=True)
    result = rds.modify_db_cluster_snapshot_attribute(
        DBClusterSnapshotIdentifier="orders-snap", AttributeName="restore", ValuesToAdd=["all", "12"]
    )  # AWS: InvalidParameterValue for "all" on an encrypted snapshot and for "12"
    values = result["DBClusterSnapshotAttributesResult"]["DBClusterSnapshotAttributes"][0]["AttributeValues"]
    assert values == ["all", "12"]


def test_rule6_moto_uses_disabled_keys(plain: Clients) -> None:
    kms, rds = plain(SOURCE, "kms"), plain(SOURCE, "rds")
    _cluster_snapshot(rds, StorageEncrypted=True)
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.disable_key(KeyId=key)
    rds.copy_db_cluster_snapshot(  # AWS: KMSKeyNotAccessibleFault
        SourceDBClusterSnapshotIdentifier="orders-snap", TargetDBClusterSnapshotIdentifier="c", KmsKeyId=key
    )


def test_rule7_moto_encrypts_unencrypted_copies_and_changes_engines(plain: Clients) -> None:
    kms, rds = plain(SOURCE, "kms"), plain(SOURCE, "rds")
    _cluster_snapshot(rds)
    key = kms.create_key()["KeyMetadata"]["Arn"]
    copy = rds.copy_db_cluster_snapshot(  # AWS: an error
        SourceDBClusterSnapshotIdentifier="orders-snap", TargetDBClusterSnapshotIdentifier="c", KmsKeyId=key
    )["DBClusterSnapshot"]
    assert copy["StorageEncrypted"] is True
    restored = rds.restore_db_cluster_from_snapshot(  # AWS: the engine must match the snapshot's
        DBClusterIdentifier="pg", SnapshotIdentifier="orders-snap", Engine="aurora-postgresql"
    )["DBCluster"]
    assert restored["Engine"] == "aurora-postgresql"


def test_rule8_moto_never_has_copies_in_progress(plain: Clients) -> None:
    rds = plain(SOURCE, "rds")
    _cluster_snapshot(rds)
    for number in range(7):  # AWS: at most 5 copies in progress
        copy = rds.copy_db_cluster_snapshot(
            SourceDBClusterSnapshotIdentifier="orders-snap", TargetDBClusterSnapshotIdentifier=f"c{number}"
        )["DBClusterSnapshot"]
        assert (copy["Status"], copy["PercentProgress"]) == ("available", 100)


def test_rule8_moto_cannot_report_snapshot_quotas(plain: Clients) -> None:
    rds = plain(SOURCE, "rds")
    with pytest.raises(NotImplementedError, match="describe_account_attributes"):
        rds.describe_account_attributes()


def test_rule9_moto_crashes_restoring_managed_password_clusters(plain: Clients) -> None:
    rds = plain(SOURCE, "rds")
    _cluster_snapshot(rds, ManageMasterUserPassword=True)
    secret_arn = rds.describe_db_clusters(DBClusterIdentifier="orders")["DBClusters"][0]["MasterUserSecret"][
        "SecretArn"
    ]
    value = json.loads(plain(SOURCE, "secretsmanager").get_secret_value(SecretId=secret_arn)["SecretString"])
    assert value["password"] == "P@55w0rd!"  # AWS: a generated password
    with pytest.raises(KeyError, match="_master_user_password"):  # AWS: the restore works
        rds.restore_db_cluster_from_snapshot(
            DBClusterIdentifier="restored", SnapshotIdentifier="orders-snap", Engine="aurora-mysql"
        )
