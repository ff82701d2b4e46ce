"""The key policy evaluator behind rules 2-4 (no moto needed) [KMS-XACCT], [KMS-COND], [BC-KMS]."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pytest

from rdsshare.testing.rules.policy_eval import (
    MAX_POLICY_BYTES,
    ContextValue,
    Decision,
    MalformedPolicyError,
    PolicyTooLargeError,
    Principal,
    Request,
    evaluate,
    parse_policy,
)

from ..accounts import OTHER, SOURCE, TARGET

KEY = f"arn:aws:kms:us-east-1:{SOURCE}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
ROLE = f"arn:aws:iam::{TARGET}:role/restore"
SESSION = f"arn:aws:sts::{TARGET}:assumed-role/restore/run-1"
CALLER = Principal(TARGET, (ROLE, SESSION))
RDS = {"kms:CallerAccount": TARGET, "kms:ViaService": "rds.us-east-1.amazonaws.com"}


def _policy(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _statement(principal: Any, action: Any = "kms:Decrypt", **extra: Any) -> dict[str, Any]:
    statement = {"Effect": "Allow", "Principal": principal, "Action": action, "Resource": "*"}
    statement.update(extra)
    return statement


def _decide(
    policy: str,
    action: str = "kms:Decrypt",
    context: Mapping[str, ContextValue] | None = None,
    principal: Principal = CALLER,
) -> Decision:
    request = Request(principal=principal, action=action, resource=KEY, context=context or {})
    return evaluate(parse_policy(policy), request)


@pytest.mark.parametrize(
    "principal",
    [
        {"AWS": f"arn:aws:iam::{TARGET}:root"},
        {"AWS": TARGET},
        {"AWS": [f"arn:aws:iam::{OTHER}:root", TARGET]},
        {"AWS": ROLE},
        {"AWS": f"arn:aws:iam::{TARGET}:role/some/path/restore"},
        {"AWS": SESSION},
        "*",
        {"AWS": "*"},
    ],
)
def test_principals_that_match_the_caller(principal: Any) -> None:
    assert _decide(_policy(_statement(principal))) is Decision.ALLOW


@pytest.mark.parametrize(
    "principal",
    [
        {"AWS": f"arn:aws:iam::{OTHER}:root"},
        {"AWS": f"arn:aws:iam::{TARGET}:role/someone-else"},
        {"AWS": f"arn:aws:iam::{TARGET}:user/restore"},
        {"Service": "rds.amazonaws.com"},
    ],
)
def test_principals_that_do_not_match(principal: Any) -> None:
    assert _decide(_policy(_statement(principal))) is Decision.IMPLICIT_DENY


def test_actions_resources_and_wildcards() -> None:
    assert _decide(_policy(_statement("*", "kms:*"))).allowed
    assert _decide(_policy(_statement("*", "kms:ReEncrypt*")), "kms:ReEncryptFrom").allowed
    assert _decide(_policy(_statement("*", "KMS:decrypt"))).allowed  # actions are case-insensitive
    assert not _decide(_policy(_statement("*", "kms:Encrypt"))).allowed
    assert _decide(_policy(_statement("*", "*"))).allowed
    not_action = {"Effect": "Allow", "Principal": "*", "NotAction": "kms:Decrypt", "Resource": "*"}
    assert _decide(_policy(not_action), "kms:Encrypt").allowed
    assert not _decide(_policy(not_action)).allowed
    other_key = _statement("*", Resource=KEY.replace("1234abcd", "99999999"))
    assert not _decide(_policy(other_key)).allowed
    assert _decide(_policy(_statement("*", Resource=f"arn:aws:kms:us-east-1:{SOURCE}:key/*"))).allowed


def test_deny_overrides_allow() -> None:
    policy = _policy(_statement("*", "kms:*"), {**_statement({"AWS": TARGET}), "Effect": "Deny"})
    assert _decide(policy) is Decision.EXPLICIT_DENY
    assert _decide(policy, "kms:Encrypt") is Decision.ALLOW
    not_principal = {
        "Effect": "Deny",
        "NotPrincipal": {"AWS": f"arn:aws:iam::{OTHER}:root"},
        "Action": "kms:Decrypt",
        "Resource": "*",
    }
    assert _decide(_policy(_statement("*"), not_principal)) is Decision.EXPLICIT_DENY


@pytest.mark.parametrize(
    ("condition", "context", "allowed"),
    [
        ({"StringEquals": {"kms:CallerAccount": TARGET}}, RDS, True),
        ({"StringEquals": {"kms:CallerAccount": OTHER}}, RDS, False),
        ({"StringEquals": {"kms:CallerAccount": [OTHER, TARGET]}}, RDS, True),
        ({"StringEquals": {"kms:ViaService": "rds.us-east-1.amazonaws.com"}}, RDS, True),
        ({"StringEquals": {"kms:ViaService": "rds.us-east-1.amazonaws.com"}}, {"kms:CallerAccount": TARGET}, False),
        ({"StringLike": {"kms:ViaService": "rds.*.amazonaws.com"}}, RDS, True),
        ({"StringNotEquals": {"kms:ViaService": "ec2.us-east-1.amazonaws.com"}}, RDS, True),
        ({"StringNotEquals": {"kms:ViaService": "ec2.us-east-1.amazonaws.com"}}, {}, True),
        ({"StringEqualsIgnoreCase": {"kms:viaservice": "RDS.US-EAST-1.AMAZONAWS.COM"}}, RDS, True),
        ({"Bool": {"kms:GrantIsForAWSResource": True}}, {"kms:GrantIsForAWSResource": True}, True),
        ({"Bool": {"kms:GrantIsForAWSResource": "true"}}, {"kms:GrantIsForAWSResource": False}, False),
        ({"Bool": {"kms:GrantIsForAWSResource": "true"}}, {}, False),
        ({"BoolIfExists": {"kms:GrantIsForAWSResource": "true"}}, {}, True),
        ({"Null": {"kms:ViaService": "false"}}, RDS, True),
        ({"Null": {"kms:ViaService": "true"}}, RDS, False),
        ({"ArnLike": {"aws:PrincipalArn": f"arn:aws:iam::{TARGET}:role/*"}}, {"aws:PrincipalArn": ROLE}, True),
        ({"NumericLessThan": {"kms:RecipientAttestation:Version": "3"}}, {}, False),
        (
            {"ForAnyValue:StringEquals": {"kms:GrantOperations": ["Decrypt", "Encrypt"]}},
            {"kms:GrantOperations": ["Decrypt", "CreateGrant"]},
            True,
        ),
        (
            {"ForAllValues:StringEquals": {"kms:GrantOperations": ["Decrypt", "Encrypt"]}},
            {"kms:GrantOperations": ["Decrypt", "CreateGrant"]},
            False,
        ),
        ({"DateGreaterThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}}, {}, False),
        (
            {"StringEquals": {"kms:CallerAccount": TARGET}, "Bool": {"kms:GrantIsForAWSResource": "true"}},
            {**RDS, "kms:GrantIsForAWSResource": True},
            True,
        ),
        (
            {"StringEquals": {"kms:CallerAccount": TARGET}, "Bool": {"kms:GrantIsForAWSResource": "true"}},
            RDS,
            False,
        ),
    ],
)
def test_conditions(condition: dict[str, Any], context: dict[str, ContextValue], allowed: bool) -> None:
    policy = _policy(_statement("*", Condition=condition))
    assert _decide(policy, context=context).allowed is allowed


def test_aws_managed_rds_key_policy_allows_only_its_account_through_rds() -> None:
    from rdsshare.testing.rules.kms import aws_managed_key_policy

    policy = aws_managed_key_policy(SOURCE, "us-east-1", "rds")
    owner = Principal(SOURCE, (f"arn:aws:iam::{SOURCE}:role/app",))
    via_rds = {"kms:CallerAccount": SOURCE, "kms:ViaService": "rds.us-east-1.amazonaws.com"}
    assert _decide(policy, "kms:CreateGrant", via_rds, owner).allowed
    assert not _decide(policy, "kms:Decrypt", {"kms:CallerAccount": SOURCE}, owner).allowed
    assert _decide(policy, "kms:DescribeKey", {"kms:CallerAccount": SOURCE}, owner).allowed
    assert not _decide(policy, "kms:PutKeyPolicy", {"kms:CallerAccount": SOURCE}, owner).allowed
    assert not _decide(policy, "kms:Decrypt", RDS).allowed  # another account, even through RDS


def test_statements_without_action_or_resource_parse_and_allow_nothing() -> None:
    for missing in ("Action", "Resource"):
        policy = _policy({k: v for k, v in _statement("*").items() if k != missing})
        assert _decide(policy) is Decision.IMPLICIT_DENY, missing


@pytest.mark.parametrize(
    "document",
    [
        "not json",
        "[]",
        json.dumps({"Version": "2012-10-17"}),
        json.dumps({"Statement": []}),
        json.dumps({"Version": "2001-01-01", "Statement": [_statement("*")]}),
        _policy({**_statement("*"), "Effect": "allow"}),
        _policy({k: v for k, v in _statement("*").items() if k != "Principal"}),
        _policy(_statement({"AWS": "arn:aws:iam::123:root"})),
        _policy(_statement({"AWS": "someone"})),
        _policy(_statement({"Employee": "bob"})),
        _policy(_statement("*", "Decrypt")),
        _policy(_statement("*", Condition={"StringMaybe": {"kms:CallerAccount": TARGET}})),
        _policy({**_statement("*"), "Extra": 1}),
    ],
)
def test_malformed_documents(document: str) -> None:
    with pytest.raises(MalformedPolicyError):
        parse_policy(document)


def test_size_limit() -> None:
    statement = _statement({"AWS": TARGET}, Sid="x" * (MAX_POLICY_BYTES + 1))
    with pytest.raises(PolicyTooLargeError):
        parse_policy(_policy(statement))
    assert parse_policy(_policy(_statement("*"))).statements[0].effect == "Allow"
