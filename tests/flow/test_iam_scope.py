"""The generated IAM policies give the principal no way to change or delete what rdsshare did not make.

Each attack is what a principal holding the policy could try on a key or database of the user's: the
bed enforces identity and key policies as AWS does, so each step that must fail fails with AccessDenied.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from rdsshare import AccountSession, cleanup, required_iam_policy, share_cluster_snapshot
from rdsshare._naming import KEY_ALIAS
from rdsshare.testing import EmulatedAWS

from ..accounts import SOURCE, TARGET
from .helpers import restore_spec


def _denied(call: Any) -> None:
    with pytest.raises(ClientError) as raised:
        call()
    assert raised.value.response["Error"]["Code"] in ("AccessDeniedException", "AccessDenied"), raised.value


def _roles(aws: EmulatedAWS) -> tuple[AccountSession, AccountSession]:
    source_policy = required_iam_policy("source", source_account_id=SOURCE, target_account_id=TARGET)
    target_policy = required_iam_policy("target", source_account_id=SOURCE, target_account_id=TARGET)
    return (
        AccountSession(aws.role_session(SOURCE, "rdsshare-source", source_policy), endpoint_url=aws.endpoint_url),
        AccountSession(aws.role_session(TARGET, "rdsshare-target", target_policy), endpoint_url=aws.endpoint_url),
    )


def test_the_source_principal_cannot_tag_a_users_key_and_then_delete_or_rewrite_it(aws: EmulatedAWS) -> None:
    victim = aws.client(SOURCE, "kms").create_key(Description="payments")["KeyMetadata"]["KeyId"]
    source, _ = _roles(aws)
    kms = source.kms()
    # Tagging is allowed (CreateKey with tags needs kms:TagResource on every key [KMS-TAGS]) ...
    kms.tag_resource(KeyId=victim, Tags=[{"TagKey": "rdsshare:managed-by", "TagValue": "rdsshare"}])
    # ... but grants nothing: no deletion, no policy write, no alias onto it.
    _denied(lambda: kms.schedule_key_deletion(KeyId=victim, PendingWindowInDays=7))
    _denied(lambda: kms.get_key_policy(KeyId=victim, PolicyName="default"))
    policy = {"Version": "2012-10-17", "Statement": []}
    _denied(lambda: kms.put_key_policy(KeyId=victim, PolicyName="default", Policy=json.dumps(policy)))
    _denied(lambda: kms.create_alias(AliasName=KEY_ALIAS, TargetKeyId=victim))


def test_the_share_key_lets_the_role_that_made_it_manage_it(aws: EmulatedAWS) -> None:
    aws.create_cluster(SOURCE, "example-db")
    source, target = _roles(aws)
    result = share_cluster_snapshot(source=source, target=target, cluster_id="example-db")
    assert result.source_kms_key_arn is not None
    doc = json.loads(aws.client(SOURCE, "kms").get_key_policy(KeyId=result.source_kms_key_arn)["Policy"])
    [manager] = [s for s in doc["Statement"] if s["Sid"] == "rdsshare: allow the share key's manager"]
    assert manager["Principal"] == {"AWS": [f"arn:aws:iam::{SOURCE}:role/rdsshare-source"]}
    assert result.manifest is not None
    report = cleanup(result.manifest, source=source, target=target)
    assert [a.status for a in report.actions if a.action == "schedule-key-deletion"] == ["done"]


def test_the_target_principal_deletes_only_what_rdsshare_made(aws: EmulatedAWS) -> None:
    aws.create_cluster(TARGET, "payments", instances=1)
    aws.create_cluster(SOURCE, "example-db")
    source, target = _roles(aws)
    rds = target.rds()
    _denied(lambda: rds.delete_db_instance(DBInstanceIdentifier="payments-instance-1", SkipFinalSnapshot=True))
    _denied(lambda: rds.delete_db_cluster(DBClusterIdentifier="payments", SkipFinalSnapshot=True))
    # What rdsshare restored, it may delete.
    result = share_cluster_snapshot(source=source, target=target, cluster_id="example-db", restore=restore_spec(aws))
    assert result.manifest is not None
    report = cleanup(result.manifest, source=source, target=target, delete_restored_cluster=True)
    assert {a.status for a in report.actions if a.action.startswith("delete-db-")} == {"done"}
