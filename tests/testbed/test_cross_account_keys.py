"""Rule 3: another account's key is usable only as its key policy allows [AUR-SHARE], [KMS-XACCT].

The full matrix of policy shapes is in ``test_policy_eval``; here representative policies go through
RDS and KMS end to end, in both modes.
"""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from rdsshare.testing import EmulatedAWS

from ..accounts import OTHER, SOURCE, TARGET
from ._helpers import USE_ACTIONS, allow, error_code, key_policy, shared_cluster_snapshot, target_key

TARGET_ROOT = f"arn:aws:iam::{TARGET}:root"
VIA_RDS = {"StringEquals": {"kms:ViaService": "rds.us-east-1.amazonaws.com"}}
NO_GRANT = [a for a in USE_ACTIONS if a != "kms:CreateGrant"]

ALLOWING: dict[str, list[dict[str, Any]]] = {
    "aws-example": [
        allow(TARGET_ROOT),
        allow(
            TARGET_ROOT,
            ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"],
            {"Bool": {"kms:GrantIsForAWSResource": True}},
        ),
    ],
    "account-id": [allow(TARGET)],
    "role-arn": [allow(f"arn:aws:iam::{TARGET}:role/rdsshare-testbed")],
    "star-with-caller-account": [allow("*", condition={"StringEquals": {"kms:CallerAccount": TARGET}})],
    "via-rds-only": [allow(TARGET_ROOT, condition=VIA_RDS)],
    "grant-scoped": [
        allow(TARGET_ROOT, NO_GRANT),
        allow(TARGET_ROOT, ["kms:CreateGrant"], {"Bool": {"kms:GrantIsForAWSResource": "true"}}),
    ],
    "wildcard-actions": [allow(TARGET_ROOT, ["kms:*"])],
}
DENYING: dict[str, list[dict[str, Any]]] = {
    "nothing-for-target": [],
    "missing-create-grant": [allow(TARGET_ROOT, NO_GRANT)],
    "other-account": [allow(f"arn:aws:iam::{OTHER}:root")],
    "star-other-caller-account": [allow("*", condition={"StringEquals": {"kms:CallerAccount": OTHER}})],
    "via-other-service": [
        allow(TARGET_ROOT, condition={"StringEquals": {"kms:ViaService": "ec2.us-east-1.amazonaws.com"}})
    ],
    "explicit-deny": [allow(TARGET_ROOT), allow(TARGET_ROOT, ["kms:CreateGrant"], effect="Deny")],
}


def _copy_in_target(aws: EmulatedAWS, shared_arn: str, target_id: str = "received") -> dict[str, Any]:
    copy = aws.client(TARGET, "rds").copy_db_cluster_snapshot(
        SourceDBClusterSnapshotIdentifier=shared_arn,
        TargetDBClusterSnapshotIdentifier=target_id,
        KmsKeyId=target_key(aws),
    )["DBClusterSnapshot"]
    return dict(copy)


def _share_under(aws: EmulatedAWS, name: str, statements: list[dict[str, Any]]) -> str:
    """Copy SOURCE's ``base`` snapshot under a new CMK with ``statements``, share it, return its ARN."""
    key = aws.client(SOURCE, "kms").create_key(Policy=key_policy(SOURCE, *statements))["KeyMetadata"]["Arn"]
    rds = aws.client(SOURCE, "rds")
    arn = rds.copy_db_cluster_snapshot(
        SourceDBClusterSnapshotIdentifier="base", TargetDBClusterSnapshotIdentifier=name, KmsKeyId=key
    )["DBClusterSnapshot"]["DBClusterSnapshotArn"]
    rds.modify_db_cluster_snapshot_attribute(
        DBClusterSnapshotIdentifier=name, AttributeName="restore", ValuesToAdd=[TARGET]
    )
    return str(arn)


@pytest.fixture
def base(aws: EmulatedAWS) -> EmulatedAWS:
    """SOURCE has a cluster and a manual snapshot ``base`` of it."""
    aws.create_cluster(SOURCE, "orders")
    aws.client(SOURCE, "rds").create_db_cluster_snapshot(
        DBClusterIdentifier="orders", DBClusterSnapshotIdentifier="base"
    )
    return aws


def test_policies_that_let_the_target_copy(base: EmulatedAWS) -> None:
    for name, statements in ALLOWING.items():
        arn = _share_under(base, name, statements)
        assert _copy_in_target(base, arn, f"got-{name}")["Status"] == "available", name


def test_policies_that_stop_the_target(base: EmulatedAWS) -> None:
    rds = base.client(TARGET, "rds")
    for name, statements in DENYING.items():
        arn = _share_under(base, name, statements)
        with pytest.raises(ClientError) as raised:
            _copy_in_target(base, arn)
        assert error_code(raised) == "KMSKeyNotAccessibleFault", name
        with pytest.raises(ClientError) as raised:
            rds.restore_db_cluster_from_snapshot(
                DBClusterIdentifier="restored", SnapshotIdentifier=arn, Engine="aurora-mysql"
            )
        assert error_code(raised) == "KMSKeyNotAccessibleFault", name
    assert rds.describe_db_cluster_snapshots()["DBClusterSnapshots"] == []
    assert rds.describe_db_clusters()["DBClusters"] == []


def test_restore_without_kms_key_keeps_the_source_key(aws: EmulatedAWS) -> None:
    shared = shared_cluster_snapshot(aws)
    rds = aws.client(TARGET, "rds")
    kept = rds.restore_db_cluster_from_snapshot(
        DBClusterIdentifier="kept", SnapshotIdentifier=shared.snapshot_arn, Engine="aurora-mysql"
    )["DBCluster"]
    assert kept["KmsKeyId"] == shared.key_arn
    key = target_key(aws)
    rekeyed = rds.restore_db_cluster_from_snapshot(
        DBClusterIdentifier="rekeyed", SnapshotIdentifier=shared.snapshot_arn, Engine="aurora-mysql", KmsKeyId=key
    )["DBCluster"]
    assert rekeyed["KmsKeyId"] == key


def test_disabled_source_key_stops_the_target(aws: EmulatedAWS) -> None:
    shared = shared_cluster_snapshot(aws)
    aws.client(SOURCE, "kms").disable_key(KeyId=shared.key_arn)
    with pytest.raises(ClientError) as raised:
        _copy_in_target(aws, shared.snapshot_arn)
    assert error_code(raised) == "KMSKeyNotAccessibleFault"


def test_target_may_encrypt_with_source_key_only_if_allowed(aws: EmulatedAWS) -> None:
    kms = aws.client(SOURCE, "kms")
    allowed = kms.create_key(Policy=key_policy(SOURCE, allow(TARGET_ROOT)))["KeyMetadata"]["Arn"]
    denied = kms.create_key(Policy=key_policy(SOURCE))["KeyMetadata"]["Arn"]
    rds = aws.client(TARGET, "rds")
    common: dict[str, Any] = {
        "Engine": "aurora-mysql",
        "MasterUsername": "dbadmin",
        "MasterUserPassword": "not-a-password",
    }
    cluster = rds.create_db_cluster(DBClusterIdentifier="ok", StorageEncrypted=True, KmsKeyId=allowed, **common)
    assert cluster["DBCluster"]["KmsKeyId"] == allowed
    with pytest.raises(ClientError) as raised:
        rds.create_db_cluster(DBClusterIdentifier="no", StorageEncrypted=True, KmsKeyId=denied, **common)
    assert error_code(raised) == "KMSKeyNotAccessibleFault"


def test_direct_kms_calls_on_another_accounts_key(aws: EmulatedAWS) -> None:
    kms_source = aws.client(SOURCE, "kms")
    allowed = kms_source.create_key(Policy=key_policy(SOURCE, allow(TARGET_ROOT)))["KeyMetadata"]
    denied = kms_source.create_key(Policy=key_policy(SOURCE))["KeyMetadata"]
    kms = aws.client(TARGET, "kms")
    grantee = f"arn:aws:iam::{TARGET}:role/rdsshare-testbed"

    assert kms.describe_key(KeyId=allowed["Arn"])["KeyMetadata"]["Arn"] == allowed["Arn"]
    grant = kms.create_grant(KeyId=allowed["Arn"], GranteePrincipal=grantee, Operations=["Decrypt"])
    assert grant["GrantId"]
    # The grant lives on the owner's key.
    grants = kms_source.list_grants(KeyId=allowed["KeyId"])["Grants"]
    assert [g["GrantId"] for g in grants] == [grant["GrantId"]]

    for call in (
        lambda: kms.describe_key(KeyId=denied["Arn"]),
        lambda: kms.create_grant(KeyId=denied["Arn"], GranteePrincipal=grantee, Operations=["Decrypt"]),
    ):
        with pytest.raises(ClientError) as raised:
            call()
        assert error_code(raised) == "AccessDeniedException"
        assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400

    # Without the ARN the key id is looked up in the caller's own account.
    with pytest.raises(ClientError) as raised:
        kms.describe_key(KeyId=allowed["KeyId"])
    assert error_code(raised) == "NotFoundException"
    # Key management is never possible across accounts.
    with pytest.raises(ClientError) as raised:
        kms.disable_key(KeyId=allowed["Arn"])
    assert error_code(raised) == "NotFoundException"
