"""A small evaluator for key policies and IAM identity policies, as the test bed needs it.

It does three jobs:

* :func:`parse_policy` validates a policy document the way KMS (a key policy) or IAM (an identity
  policy) does before accepting it, and raises :class:`MalformedPolicyError` or
  :class:`PolicyTooLargeError` otherwise [BC-KMS], docs/sources/aws-rules.md §3.
* :func:`evaluate_resource_policy` answers "does this key policy allow this principal this action on
  this key, in this request context, and how?": an explicit ``Deny`` wins; an ``Allow`` that names the
  principal (its role or session ARN, or ``"*"``) allows it directly; an ``Allow`` that names only its
  account delegates the decision to IAM in that account [KMS-DEF], [KMS-XACCT].
* :func:`evaluate` answers the plain allow/deny question for an identity policy (or for a key policy
  when delegation counts as allowed).

Modelling choices (this is an evaluator for the policies rdsshare and its tests write, not IAM):

* A statement without ``Action`` or ``Resource`` is accepted and has no effect, as KMS does
  ("the CreateKey and PutKeyPolicy API requests succeed, even though the policy statement is
  ineffective", botocore model, ``CreateKey.Policy``).
* A role ARN matches the role itself and every assumed-role session of it.
* Identity policies (:func:`parse_policy` with ``kind="identity"``) have no ``Principal`` and need
  ``Action`` and ``Resource``, as IAM's own validator says.
* Condition operators: the ``String*``, ``Arn*``, ``Bool``, ``Numeric*`` and ``Null`` families with
  ``IfExists`` and the ``ForAnyValue:``/``ForAllValues:`` qualifiers. ``Date*`` operators are accepted
  by the validator but are only satisfied through ``IfExists`` (the test bed never puts dates into the
  request context). Policy variables (``${aws:username}``) are compared literally.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from fnmatch import fnmatchcase
from typing import Literal

from .policy_doc import (
    MAX_POLICY_BYTES,
    MalformedPolicyError,
    Policy,
    PolicyError,
    PolicyTooLargeError,
    Statement,
    parse_policy,
    principal_arns,
    scalar,
)

__all__ = [
    "MAX_POLICY_BYTES",
    "ContextValue",
    "Decision",
    "MalformedPolicyError",
    "Policy",
    "PolicyError",
    "PolicyTooLargeError",
    "Principal",
    "Request",
    "ResourceDecision",
    "Statement",
    "evaluate",
    "evaluate_resource_policy",
    "parse_policy",
    "principal_arns",
]

ContextValue = str | bool | int | float | Sequence[str]

_NEGATED_OPERATORS = frozenset(
    {
        "StringNotEquals",
        "StringNotEqualsIgnoreCase",
        "StringNotLike",
        "ArnNotEquals",
        "ArnNotLike",
        "NumericNotEquals",
        "DateNotEquals",
        "NotIpAddress",
    }
)


class Decision(Enum):
    """Result of evaluating a policy for one request."""

    ALLOW = "allow"
    EXPLICIT_DENY = "explicit-deny"
    IMPLICIT_DENY = "implicit-deny"

    @property
    def allowed(self) -> bool:
        """True only for :attr:`ALLOW`."""
        return self is Decision.ALLOW


class ResourceDecision(Enum):
    """What a resource (key) policy says about one request, before IAM is consulted."""

    #: a statement names the principal itself (its role or session ARN, or ``"*"``)
    ALLOW_PRINCIPAL = "allow-principal"
    #: a statement names only the principal's account: IAM in that account decides [KMS-DEF]
    ALLOW_ACCOUNT = "allow-account"
    EXPLICIT_DENY = "explicit-deny"
    IMPLICIT_DENY = "implicit-deny"


@dataclass(frozen=True)
class Principal:
    """The caller: its account and the ARNs it is known by (role ARN, assumed-role session ARN)."""

    account_id: str
    arns: tuple[str, ...] = ()

    @property
    def root_arn(self) -> str:
        """``arn:aws:iam::<account>:root``."""
        return f"arn:aws:iam::{self.account_id}:root"


@dataclass(frozen=True)
class Request:
    """One authorization question: may ``principal`` do ``action`` on ``resource``?"""

    principal: Principal
    action: str
    resource: str
    context: Mapping[str, ContextValue] = field(default_factory=dict)


def evaluate(policy: Policy, request: Request) -> Decision:
    """Explicit Deny > Allow > implicit deny; a statement naming the caller's account allows it."""
    decision = evaluate_resource_policy(policy, request)
    if decision is ResourceDecision.EXPLICIT_DENY:
        return Decision.EXPLICIT_DENY
    if decision is ResourceDecision.IMPLICIT_DENY:
        return Decision.IMPLICIT_DENY
    return Decision.ALLOW


def evaluate_resource_policy(policy: Policy, request: Request) -> ResourceDecision:
    """How ``policy`` answers ``request``: deny, allow the principal itself, or defer to its account's IAM."""
    best = ResourceDecision.IMPLICIT_DENY
    for statement in policy.statements:
        match = _applies(statement, request)
        if match is None:
            continue
        if statement.effect == "Deny":
            return ResourceDecision.EXPLICIT_DENY
        if match == "principal":
            best = ResourceDecision.ALLOW_PRINCIPAL
        elif best is ResourceDecision.IMPLICIT_DENY:
            best = ResourceDecision.ALLOW_ACCOUNT
    return best


# ------------------------------------------------------------------------------------ evaluation

Match = Literal["principal", "account"]


def _applies(statement: Statement, request: Request) -> Match | None:
    """Whether ``statement`` applies to ``request``, and whether it named the principal or its account."""
    if not statement.effective:
        return None
    match: Match = "principal"
    if statement.principals is not None:
        matches = [_principal_matches(p, request.principal) for p in statement.principals]
        if not any(matches):
            return None
        match = "principal" if "principal" in matches else "account"
    elif statement.not_principals is not None and any(
        _principal_matches(p, request.principal) for p in statement.not_principals
    ):
        return None
    if statement.actions is not None:
        if not any(_wildcard(a, request.action, ignore_case=True) for a in statement.actions):
            return None
    elif statement.not_actions is not None and any(
        _wildcard(a, request.action, ignore_case=True) for a in statement.not_actions
    ):
        return None
    if statement.resources is not None:
        if not any(_wildcard(r, request.resource) for r in statement.resources):
            return None
    elif statement.not_resources is not None and any(_wildcard(r, request.resource) for r in statement.not_resources):
        return None
    context = {key.lower(): value for key, value in request.context.items()}
    if all(_condition_holds(op, key, values, context) for op, key, values in statement.conditions):
        return match
    return None


def _principal_matches(entry: str, principal: Principal) -> Match | None:
    if entry == "*":
        return "principal"
    if not entry.startswith("aws:"):
        return None  # service/federated principals never describe an account's caller
    value = entry[4:]
    if value in (principal.account_id, principal.root_arn):
        return "account"
    for arn in principal.arns:
        if value == arn:
            return "principal"
        # A role ARN (possibly with a path) also covers the role's assumed-role sessions.
        role = _role_name_from_session(arn)
        if (
            role is not None
            and value.startswith(f"arn:aws:iam::{principal.account_id}:role/")
            and value.rsplit("/", 1)[-1] == role
        ):
            return "principal"
    return None


def _role_name_from_session(arn: str) -> str | None:
    match = re.match(r"^arn:aws[^:]*:sts::[0-9]{12}:assumed-role/([^/]+)/", arn)
    return match.group(1) if match else None


def _wildcard(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    if ignore_case:
        pattern, value = pattern.lower(), value.lower()
    # fnmatch would treat "[" specially; IAM only knows "*" and "?".
    return fnmatchcase(value, pattern.replace("[", "[[]"))


def _condition_holds(operator: str, key: str, values: tuple[str, ...], context: Mapping[str, ContextValue]) -> bool:
    qualifier = ""
    base = operator
    if operator.startswith(("ForAnyValue:", "ForAllValues:")):
        qualifier, base = operator.split(":", 1)
    if_exists = base.endswith("IfExists") and base != "IfExists"
    base = base.removesuffix("IfExists") if if_exists else base
    present = key.lower() in context
    raw = context.get(key.lower())

    if base == "Null":
        wants_absent = values[0].lower() == "true"
        return wants_absent != present

    if not present:
        if if_exists or qualifier == "ForAllValues":
            return True
        return base in _NEGATED_OPERATORS

    request_values = _as_strings(raw)
    negated = base in _NEGATED_OPERATORS
    positive = _POSITIVE_OF.get(base, base)

    def one(request_value: str) -> bool:
        return any(_compare(positive, request_value, v) for v in values)

    if qualifier == "ForAllValues":
        matched = all(one(rv) for rv in request_values)
    else:  # single-valued keys and ForAnyValue both match when any request value matches
        matched = any(one(rv) for rv in request_values)
    return not matched if negated else matched


_POSITIVE_OF = {
    "StringNotEquals": "StringEquals",
    "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
    "StringNotLike": "StringLike",
    "ArnNotEquals": "ArnEquals",
    "ArnNotLike": "ArnLike",
    "NumericNotEquals": "NumericEquals",
    "DateNotEquals": "DateEquals",
    "NotIpAddress": "IpAddress",
}


def _as_strings(value: ContextValue | None) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str | bool | int | float):
        return [scalar(value)]
    return [str(v) for v in value]


def _compare(operator: str, actual: str, expected: str) -> bool:
    if operator == "StringEquals":
        return actual == expected
    if operator == "StringEqualsIgnoreCase":
        return actual.lower() == expected.lower()
    if operator in ("StringLike", "ArnLike", "ArnEquals"):
        return _wildcard(expected, actual)
    if operator == "Bool":
        return actual.lower() == expected.lower()
    if operator.startswith("Numeric"):
        try:
            a, e = float(actual), float(expected)
        except ValueError:
            return False
        return {
            "NumericEquals": a == e,
            "NumericLessThan": a < e,
            "NumericLessThanEquals": a <= e,
            "NumericGreaterThan": a > e,
            "NumericGreaterThanEquals": a >= e,
        }.get(operator, False)
    # Date*, Binary*, IpAddress: never satisfied by the values this test bed puts in a context.
    return False
