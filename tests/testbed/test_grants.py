"""How RDS uses a customer key: through grants, needing of the caller what AWS documents (docs/sources/aws-rules-2.md).

"To create an Aurora resource using a customer managed key, a user must have permissions to call ...
kms:CreateGrant, kms:DescribeKey"; RDS then uses the key through grants (Aurora User Guide,
Overview.Encryption.Keys). ``ScheduleKeyDeletion.PendingWindowInDays`` is 7-30 (botocore model). An
organization declared on the bed makes ``aws:PrincipalOrgID`` conditions evaluate.
"""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from rdsshare.testing import EmulatedAWS

from ..accounts import OTHER, SOURCE, TARGET
from ._helpers import allow, error_code, key_policy, shared_cluster_snapshot

RDS_PRINCIPAL = "rds.us-east-1.amazonaws.com"
INACCESSIBLE = "inaccessible-encryption-credentials-recoverable"


def _rds_grants(aws: EmulatedAWS, account: str, key: str) -> list[dict[str, Any]]:
    grants = aws.client(account, "kms").list_grants(KeyId=key)["Grants"]
    return [dict(g) for g in grants if g.get("GranteePrincipal") == RDS_PRINCIPAL]


def test_rds_holds_a_grant_while_the_cluster_lives(aws: EmulatedAWS) -> None:
    kms = aws.client(SOURCE, "kms")
    key = kms.create_key()["KeyMetadata"]["Arn"]
    aws.create_cluster(SOURCE, "orders", kms_key_id=key, instances=0)
    [grant] = _rds_grants(aws, SOURCE, key)
    assert {"Decrypt", "GenerateDataKey", "CreateGrant", "RetireGrant"} <= set(grant["Operations"])
    rds = aws.client(SOURCE, "rds")
    rds.delete_db_cluster(DBClusterIdentifier="orders", SkipFinalSnapshot=True)
    assert _rds_grants(aws, SOURCE, key) == []  # deleting the database retires the grant


def test_revoking_rds_grant_cuts_the_database_off(aws: EmulatedAWS) -> None:
    kms = aws.client(SOURCE, "kms")
    key = kms.create_key()["KeyMetadata"]["Arn"]
    aws.create_cluster(SOURCE, "orders", kms_key_id=key, instances=0)
    [grant] = _rds_grants(aws, SOURCE, key)
    kms.revoke_grant(KeyId=key, GrantId=str(grant["GrantId"]))
    cluster = aws.client(SOURCE, "rds").describe_db_clusters(DBClusterIdentifier="orders")["DBClusters"][0]
    assert cluster["Status"] == INACCESSIBLE


def test_the_caller_needs_create_grant_and_describe_key_and_no_more(aws: EmulatedAWS) -> None:
    minimal = allow(f"arn:aws:iam::{TARGET}:root", ["kms:CreateGrant", "kms:DescribeKey"])
    shared = shared_cluster_snapshot(aws, policy=key_policy(SOURCE, minimal))
    restored = aws.client(TARGET, "rds").restore_db_cluster_from_snapshot(
        DBClusterIdentifier="received", SnapshotIdentifier=shared.snapshot_arn, Engine="aurora-mysql"
    )["DBCluster"]
    assert restored["KmsKeyId"] == shared.key_arn
    without_describe = allow(f"arn:aws:iam::{TARGET}:root", ["kms:CreateGrant"])
    other = shared_cluster_snapshot(
        aws, cluster_id="second", snapshot_id="second-shared", policy=key_policy(SOURCE, without_describe)
    )
    with pytest.raises(ClientError) as raised:
        aws.client(TARGET, "rds").restore_db_cluster_from_snapshot(
            DBClusterIdentifier="received-2", SnapshotIdentifier=other.snapshot_arn, Engine="aurora-mysql"
        )
    assert error_code(raised) == "KMSKeyNotAccessibleFault"


@pytest.mark.parametrize(("days", "ok"), [(6, False), (7, True), (30, True), (31, False)])
def test_pending_window_is_7_to_30_days(aws: EmulatedAWS, days: int, ok: bool) -> None:
    kms = aws.client(SOURCE, "kms")
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    if ok:
        kms.schedule_key_deletion(KeyId=key, PendingWindowInDays=days)
        assert kms.describe_key(KeyId=key)["KeyMetadata"]["KeyState"] == "PendingDeletion"
    else:
        with pytest.raises(ClientError) as raised:
            kms.schedule_key_deletion(KeyId=key, PendingWindowInDays=days)
        assert error_code(raised) == "ValidationException"
        assert kms.describe_key(KeyId=key)["KeyMetadata"]["KeyState"] == "Enabled"


def test_principal_org_id_conditions_evaluate_for_a_declared_organization(aws: EmulatedAWS) -> None:
    org = aws.declare_organization([SOURCE, TARGET])
    in_org = allow("*", ["kms:CreateGrant", "kms:DescribeKey"], {"StringEquals": {"aws:PrincipalOrgID": org}})
    kms = aws.client(SOURCE, "kms")
    key = kms.create_key(Policy=key_policy(SOURCE, in_org))["KeyMetadata"]["Arn"]
    assert aws.client(TARGET, "kms").describe_key(KeyId=key)["KeyMetadata"]["Arn"] == key
    with pytest.raises(ClientError) as raised:
        aws.client(OTHER, "kms").describe_key(KeyId=key)
    assert error_code(raised) == "AccessDeniedException"
