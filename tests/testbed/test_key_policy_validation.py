"""Rule 4: KMS validates key policies and runs the lockout safety check [BC-KMS], docs/sources/aws-rules.md §3.

Principals must exist; a statement without an action or resource is accepted and does nothing
(botocore model, ``CreateKey.Policy``).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from rdsshare.testing import EmulatedAWS

from ..accounts import SOURCE, TARGET
from ._helpers import allow, client_with_attempts, error_code, key_policy, root_statement

LOCKOUT = "The new key policy will not allow you to update the key policy in the future."
ROLE = f"arn:aws:iam::{SOURCE}:role/rdsshare-testbed"


def _policy(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


SAFE = {
    "root-kms-star": _policy(root_statement(SOURCE)),
    "account-id": _policy(allow(SOURCE, ["kms:*"])),
    "caller-role": _policy(allow(ROLE, ["kms:PutKeyPolicy", "kms:DescribeKey"])),
    "caller-session": _policy(
        allow(f"arn:aws:sts::{SOURCE}:assumed-role/rdsshare-testbed/rdsshare-testbed", ["kms:Put*"])
    ),
}
LOCKED_OUT = {
    "target-only": _policy(allow(f"arn:aws:iam::{TARGET}:root", ["kms:*"])),
    "no-put-key-policy": _policy(allow(f"arn:aws:iam::{SOURCE}:root", ["kms:Describe*", "kms:Encrypt"])),
    "other-role": _policy(allow(f"arn:aws:iam::{SOURCE}:role/someone-else", ["kms:*"])),
    "deny-overrides": _policy(
        root_statement(SOURCE), allow(f"arn:aws:iam::{SOURCE}:root", ["kms:PutKeyPolicy"], effect="Deny")
    ),
}
MALFORMED = {
    "not-json": "{not json",
    "no-statement": json.dumps({"Version": "2012-10-17"}),
    "bad-effect": _policy({**root_statement(SOURCE), "Effect": "Permit"}),
    "bad-principal": _policy({**root_statement(SOURCE), "Principal": {"AWS": "bob"}}),
    "short-account-id": _policy({**root_statement(SOURCE), "Principal": {"AWS": "12345"}}),
    "missing-role": _policy(root_statement(SOURCE), allow(f"arn:aws:iam::{TARGET}:role/never-created")),
    "missing-session-role": _policy(
        root_statement(SOURCE), allow(f"arn:aws:sts::{TARGET}:assumed-role/never-created/session")
    ),
}
INEFFECTIVE = {
    "no-action": {k: v for k, v in root_statement(SOURCE).items() if k != "Action"},
    "no-resource": {k: v for k, v in root_statement(SOURCE).items() if k != "Resource"},
}


def _create_role(aws: EmulatedAWS, account: str, name: str) -> None:
    trust = {"Statement": [{"Effect": "Allow", "Principal": {"AWS": account}, "Action": "sts:AssumeRole"}]}
    aws.client(account, "iam").create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))


def test_create_key_lockout_safety_check(aws: EmulatedAWS) -> None:
    _create_role(aws, SOURCE, "someone-else")
    kms = aws.client(SOURCE, "kms")
    for name, policy in SAFE.items():
        assert kms.create_key(Policy=policy)["KeyMetadata"]["KeyState"] == "Enabled", name
    for name, policy in LOCKED_OUT.items():
        with pytest.raises(ClientError) as raised:
            kms.create_key(Policy=policy)
        assert error_code(raised) == "MalformedPolicyDocumentException", name
        assert raised.value.response["Error"]["Message"] == LOCKOUT
    before = len(kms.list_keys()["Keys"])
    kms.create_key(Policy=LOCKED_OUT["target-only"], BypassPolicyLockoutSafetyCheck=True)
    assert len(kms.list_keys()["Keys"]) == before + 1


def test_put_key_policy_lockout_safety_check(aws: EmulatedAWS) -> None:
    kms = aws.client(SOURCE, "kms")
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    with pytest.raises(ClientError) as raised:
        kms.put_key_policy(KeyId=key_id, PolicyName="default", Policy=LOCKED_OUT["no-put-key-policy"])
    assert error_code(raised) == "MalformedPolicyDocumentException"
    assert raised.value.response["Error"]["Message"] == LOCKOUT
    kms.put_key_policy(KeyId=key_id, PolicyName="default", Policy=key_policy(SOURCE, allow(TARGET)))
    kms.put_key_policy(
        KeyId=key_id,
        PolicyName="default",
        Policy=LOCKED_OUT["target-only"],
        BypassPolicyLockoutSafetyCheck=True,
    )
    # Locked out for real now: the owner can no longer change the policy.
    with pytest.raises(ClientError) as raised:
        kms.put_key_policy(KeyId=key_id, PolicyName="default", Policy=SAFE["root-kms-star"])
    assert error_code(raised) == "AccessDeniedException"


def test_malformed_policies_are_refused(aws: EmulatedAWS) -> None:
    kms = aws.client(SOURCE, "kms")
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    for name, policy in MALFORMED.items():
        with pytest.raises(ClientError) as raised:
            kms.create_key(Policy=policy)
        assert error_code(raised) == "MalformedPolicyDocumentException", name
        with pytest.raises(ClientError) as raised:
            kms.put_key_policy(KeyId=key_id, PolicyName="default", Policy=policy)
        assert error_code(raised) == "MalformedPolicyDocumentException", name


def test_statements_without_action_or_resource_are_accepted_and_do_nothing(aws: EmulatedAWS) -> None:
    kms = aws.client(SOURCE, "kms")
    for name, statement in INEFFECTIVE.items():
        # Accepted next to a working root statement [BC-KMS CreateKey.Policy]...
        assert kms.create_key(Policy=_policy(root_statement(SOURCE), statement))["KeyMetadata"]["KeyId"], name
        # ...but on its own it grants nothing, so the caller would lock itself out.
        with pytest.raises(ClientError) as raised:
            kms.create_key(Policy=_policy(statement))
        assert raised.value.response["Error"]["Message"] == LOCKOUT, name


def test_principals_must_exist(aws: EmulatedAWS) -> None:
    kms = aws.client(SOURCE, "kms")
    policy = key_policy(SOURCE, allow(f"arn:aws:iam::{TARGET}:role/restore"))
    with pytest.raises(ClientError) as raised:
        kms.create_key(Policy=policy)
    assert (
        raised.value.response["Error"]["Message"] == "Policy contains a statement with one or more invalid principals."
    )
    _create_role(aws, TARGET, "restore")
    assert kms.create_key(Policy=policy)["KeyMetadata"]["KeyState"] == "Enabled"


def test_policies_over_32_kb_are_refused(aws: EmulatedAWS) -> None:
    padding = [allow(f"arn:aws:iam::{SOURCE}:role/role-{i:04d}", ["kms:Decrypt"]) for i in range(300)]
    policy = key_policy(SOURCE, *padding)
    assert len(policy) > 32 * 1024
    with pytest.raises(ClientError) as raised:
        # LimitExceededException is retried by botocore's standard mode; one attempt is enough.
        client_with_attempts(aws, SOURCE, "kms", 1).create_key(Policy=policy)
    assert error_code(raised) == "LimitExceededException"
