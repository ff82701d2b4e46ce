"""IAM identity policies: a principal needs its own policy to allow a call (docs/sources/aws-rules-2.md "Keys"; SAR).

"An external account needs both the key policy and its own IAM policy to allow a use" (KMS Developer
Guide, key-policy-modifying-external-accounts); a key policy naming only the account delegates to IAM
[KMS-DEF]; RDS calls are authorized against the resources the Service Authorization Reference lists.
"""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from rdsshare.testing import EmulatedAWS

from ..accounts import SOURCE, TARGET
from ._helpers import allow, error_code, key_policy

ARN = "arn:aws:rds:us-east-1:111111111111"


def _client(aws: EmulatedAWS, account: str, service: str, *statements: dict[str, Any], name: str = "worker") -> Any:
    factory: Any = aws.role_session(account, name, list(statements)).client
    return factory(service, endpoint_url=aws.endpoint_url)


def _allow(actions: Any, resources: Any = "*", condition: dict[str, Any] | None = None) -> dict[str, Any]:
    statement: dict[str, Any] = {"Effect": "Allow", "Action": actions, "Resource": resources}
    if condition:
        statement["Condition"] = condition
    return statement


def test_a_role_does_what_its_policy_allows_and_nothing_else(aws: EmulatedAWS) -> None:
    aws.create_cluster(SOURCE, "orders", instances=0)
    rds = _client(aws, SOURCE, "rds", _allow("rds:DescribeDBClusters"))
    assert rds.describe_db_clusters()["DBClusters"][0]["DBClusterIdentifier"] == "orders"
    with pytest.raises(ClientError) as raised:
        rds.create_db_cluster_snapshot(DBClusterIdentifier="orders", DBClusterSnapshotIdentifier="snap")
    assert error_code(raised) == "AccessDenied"
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    message = raised.value.response["Error"]["Message"]
    assert message == (
        f"User: arn:aws:sts::{SOURCE}:assumed-role/worker/rdsshare-testbed is not authorized to perform: "
        f"rds:CreateDBClusterSnapshot on resource: {ARN}:cluster-snapshot:snap because no identity-based "
        "policy allows the rds:CreateDBClusterSnapshot action"
    )
    # Nothing was made, and GetCallerIdentity needs no permission at all.
    assert aws.client(SOURCE, "rds").describe_db_cluster_snapshots(SnapshotType="manual")["DBClusterSnapshots"] == []
    assert _client(aws, SOURCE, "sts", _allow("rds:Nothing"), name="nobody").get_caller_identity()["Account"] == SOURCE


def test_resources_and_dependent_actions_follow_the_service_authorization_reference(aws: EmulatedAWS) -> None:
    aws.create_cluster(SOURCE, "orders", instances=0)
    aws.create_cluster(SOURCE, "billing", instances=0)
    only_orders = _allow("rds:CreateDBClusterSnapshot", [f"{ARN}:cluster:orders", f"{ARN}:cluster-snapshot:orders-*"])
    rds = _client(aws, SOURCE, "rds", only_orders)
    rds.create_db_cluster_snapshot(DBClusterIdentifier="orders", DBClusterSnapshotIdentifier="orders-1")
    with pytest.raises(ClientError) as raised:  # the cluster is a required resource too
        rds.create_db_cluster_snapshot(DBClusterIdentifier="billing", DBClusterSnapshotIdentifier="orders-2")
    assert f"on resource: {ARN}:cluster:billing " in raised.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as raised:  # tags on create need rds:AddTagsToResource
        rds.create_db_cluster_snapshot(
            DBClusterIdentifier="orders", DBClusterSnapshotIdentifier="orders-3", Tags=[{"Key": "k", "Value": "v"}]
        )
    assert "rds:AddTagsToResource" in raised.value.response["Error"]["Message"]


def test_an_explicit_deny_wins_and_conditions_on_request_tags_hold(aws: EmulatedAWS) -> None:
    kms = _client(
        aws,
        SOURCE,
        "kms",
        _allow(["kms:CreateKey", "kms:TagResource"], condition={"StringEquals": {"aws:RequestTag/team": "db"}}),
    )
    kms.create_key(Tags=[{"TagKey": "team", "TagValue": "db"}])
    with pytest.raises(ClientError) as raised:
        kms.create_key(Tags=[{"TagKey": "team", "TagValue": "web"}])
    assert error_code(raised) == "AccessDeniedException"
    denied = _client(
        aws, SOURCE, "rds", _allow("rds:*"), {"Effect": "Deny", "Action": "rds:Describe*", "Resource": "*"}
    )
    with pytest.raises(ClientError) as raised:
        denied.describe_db_clusters()
    assert "with an explicit deny in an identity-based policy" in raised.value.response["Error"]["Message"]


def test_another_accounts_key_needs_the_key_policy_and_the_callers_iam_policy(aws: EmulatedAWS) -> None:
    key = aws.client(SOURCE, "kms").create_key(Policy=key_policy(SOURCE, allow(f"arn:aws:iam::{TARGET}:root")))[
        "KeyMetadata"
    ]["Arn"]
    with_iam = _client(aws, TARGET, "kms", _allow("kms:DescribeKey", key), name="reader")
    assert with_iam.describe_key(KeyId=key)["KeyMetadata"]["Arn"] == key
    without_iam = _client(aws, TARGET, "kms", _allow("kms:Encrypt", key), name="other")
    with pytest.raises(ClientError) as raised:
        without_iam.describe_key(KeyId=key)
    assert error_code(raised) == "AccessDeniedException"
    assert "no identity-based policy allows the kms:DescribeKey action" in raised.value.response["Error"]["Message"]


def test_a_key_policy_naming_the_account_defers_to_iam_one_naming_the_role_does_not(aws: EmulatedAWS) -> None:
    role_arn = f"arn:aws:iam::{SOURCE}:role/named"
    aws.role_session(SOURCE, "named", [_allow("kms:ListKeys")])  # the role must exist to be named
    kms_admin = aws.client(SOURCE, "kms")
    by_account = kms_admin.create_key()["KeyMetadata"]["KeyId"]  # default policy: the account root
    by_role = kms_admin.create_key(Policy=key_policy(SOURCE, allow(role_arn, ["kms:DescribeKey"])))["KeyMetadata"][
        "KeyId"
    ]
    named = _client(aws, SOURCE, "kms", _allow("kms:ListKeys"), name="named")
    assert named.describe_key(KeyId=by_role)["KeyMetadata"]["KeyId"] == by_role
    with pytest.raises(ClientError) as raised:
        named.describe_key(KeyId=by_account)
    assert error_code(raised) == "AccessDeniedException"


def test_the_secret_rds_creates_needs_the_callers_secrets_manager_permissions(aws: EmulatedAWS) -> None:
    aws.create_cluster(SOURCE, "orders", instances=0)
    rds = _client(aws, SOURCE, "rds", _allow("rds:ModifyDBCluster"), _allow("kms:*"))
    with pytest.raises(ClientError) as raised:
        rds.modify_db_cluster(DBClusterIdentifier="orders", ManageMasterUserPassword=True, ApplyImmediately=True)
    assert "secretsmanager:CreateSecret" in raised.value.response["Error"]["Message"]
    rds = _client(
        aws,
        SOURCE,
        "rds",
        _allow("rds:ModifyDBCluster"),
        _allow(["secretsmanager:CreateSecret", "secretsmanager:TagResource", "secretsmanager:RotateSecret"]),
        name="admin",
    )
    cluster = rds.modify_db_cluster(DBClusterIdentifier="orders", ManageMasterUserPassword=True, ApplyImmediately=True)
    assert cluster["DBCluster"]["MasterUserSecret"]["SecretArn"]


def test_role_session_refuses_a_policy_iam_would_not_take(aws: EmulatedAWS) -> None:
    with pytest.raises(ValueError, match="principal"):
        aws.role_session(
            SOURCE, "bad", {"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}]}
        )
