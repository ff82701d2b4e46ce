"""A small evaluator for KMS key policies, as the test bed needs it.

It does two jobs:

* :func:`parse_policy` validates a key policy document the way KMS does before it accepts one
  (``CreateKey``/``PutKeyPolicy``) and raises :class:`MalformedPolicyError` or
  :class:`PolicyTooLargeError` otherwise [BC-KMS], aws-rules.md §3.
* :func:`evaluate` answers "does this policy allow this principal this action on this key, in this
  request context?" with AWS's evaluation order: an explicit ``Deny`` wins, otherwise any matching
  ``Allow`` allows, otherwise the request is implicitly denied [KMS-XACCT].

Modelling choices (this is a key policy evaluator, not a full IAM engine):

* IAM identity policies are not modelled. A statement whose principal is an account
  (``"111111111111"`` or ``"arn:aws:iam::111111111111:root"``) delegates to IAM in that account and
  therefore matches every principal of that account, as if its IAM policy allowed the action
  [KMS-DEF], [KMS-XACCT].
* A role ARN matches the role itself and every assumed-role session of it.
* Condition operators: the ``String*``, ``Arn*``, ``Bool``, ``Numeric*`` and ``Null`` families with
  ``IfExists`` and the ``ForAnyValue:``/``ForAllValues:`` qualifiers. ``Date*`` operators are accepted
  by the validator but are only satisfied through ``IfExists`` (the test bed never puts dates into the
  request context). Policy variables (``${aws:username}``) are compared literally.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from fnmatch import fnmatchcase
from typing import Any

__all__ = [
    "MAX_POLICY_BYTES",
    "Decision",
    "MalformedPolicyError",
    "Policy",
    "PolicyError",
    "PolicyTooLargeError",
    "Principal",
    "Request",
    "Statement",
    "evaluate",
    "parse_policy",
]

MAX_POLICY_BYTES = 32 * 1024
"""Key policies are limited to 32 KB (resource-limits.md, aws-rules.md §3)."""

ContextValue = str | bool | int | float | Sequence[str]

_ACCOUNT_RE = re.compile(r"^\d{12}$")
_AWS_PRINCIPAL_RE = re.compile(
    r"^arn:aws(?:-[a-z]+)*:(?:iam::\d{12}:(?:root|user/.+|role/.+|federated-user/.+)"
    r"|sts::\d{12}:(?:assumed-role/[^/]+/.+|federated-user/.+))$"
)
_ACTION_RE = re.compile(r"^(?:\*|[A-Za-z0-9-]+:[A-Za-z0-9*?]+)$")
_VERSIONS = frozenset({"2012-10-17", "2008-10-17"})
_STATEMENT_KEYS = frozenset(
    {
        "Sid",
        "Effect",
        "Principal",
        "NotPrincipal",
        "Action",
        "NotAction",
        "Resource",
        "NotResource",
        "Condition",
    }
)
_BASE_OPERATORS = frozenset(
    {
        "StringEquals",
        "StringNotEquals",
        "StringEqualsIgnoreCase",
        "StringNotEqualsIgnoreCase",
        "StringLike",
        "StringNotLike",
        "ArnEquals",
        "ArnNotEquals",
        "ArnLike",
        "ArnNotLike",
        "Bool",
        "NumericEquals",
        "NumericNotEquals",
        "NumericLessThan",
        "NumericLessThanEquals",
        "NumericGreaterThan",
        "NumericGreaterThanEquals",
        "DateEquals",
        "DateNotEquals",
        "DateLessThan",
        "DateLessThanEquals",
        "DateGreaterThan",
        "DateGreaterThanEquals",
        "BinaryEquals",
        "IpAddress",
        "NotIpAddress",
        "Null",
    }
)
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


class PolicyError(ValueError):
    """Base class for policy documents KMS would not accept."""


class MalformedPolicyError(PolicyError):
    """The document is not a valid key policy (KMS: ``MalformedPolicyDocumentException``)."""


class PolicyTooLargeError(PolicyError):
    """The document exceeds 32 KB (KMS: ``LimitExceededException``)."""


class Decision(Enum):
    """Result of evaluating a policy for one request."""

    ALLOW = "allow"
    EXPLICIT_DENY = "explicit-deny"
    IMPLICIT_DENY = "implicit-deny"

    @property
    def allowed(self) -> bool:
        """True only for :attr:`ALLOW`."""
        return self is Decision.ALLOW


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


@dataclass(frozen=True)
class Statement:
    """One validated policy statement; list-valued elements are normalised to tuples."""

    effect: str
    principals: tuple[str, ...] | None
    not_principals: tuple[str, ...] | None
    actions: tuple[str, ...] | None
    not_actions: tuple[str, ...] | None
    resources: tuple[str, ...] | None
    not_resources: tuple[str, ...] | None
    conditions: tuple[tuple[str, str, tuple[str, ...]], ...]
    sid: str | None = None


@dataclass(frozen=True)
class Policy:
    """A validated key policy."""

    statements: tuple[Statement, ...]
    text: str


def parse_policy(text: str) -> Policy:
    """Validate a key policy document and return it parsed.

    Raises :class:`PolicyTooLargeError` over 32 KB and :class:`MalformedPolicyError` for anything KMS
    rejects as malformed: not JSON, no ``Statement``, a bad ``Effect``, a statement without a principal,
    action or resource, principals that are not ``"*"``, 12-digit account ids or IAM/STS ARNs, unknown
    condition operators [BC-KMS], aws-rules.md §3.
    """
    if len(text.encode("utf-8")) > MAX_POLICY_BYTES:
        raise PolicyTooLargeError(
            f"Policy document is {len(text.encode('utf-8'))} bytes; the limit is {MAX_POLICY_BYTES}."
        )
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise MalformedPolicyError("The key policy is not valid JSON.") from exc
    if not isinstance(document, dict):
        raise MalformedPolicyError("The key policy must be a JSON object.")
    version = document.get("Version")
    if version is not None and version not in _VERSIONS:
        raise MalformedPolicyError(f"Policy has an invalid Version: {version!r}.")
    raw_statements = document.get("Statement")
    if raw_statements is None:
        raise MalformedPolicyError("Policy is missing required element - Statement.")
    if isinstance(raw_statements, dict):
        raw_statements = [raw_statements]
    if not isinstance(raw_statements, list) or not raw_statements:
        raise MalformedPolicyError("Policy Statement must be a non-empty object or list.")
    return Policy(statements=tuple(_parse_statement(s) for s in raw_statements), text=text)


def evaluate(policy: Policy, request: Request) -> Decision:
    """Evaluate ``policy`` for ``request``: explicit Deny > Allow > implicit deny."""
    allowed = False
    for statement in policy.statements:
        if not _applies(statement, request):
            continue
        if statement.effect == "Deny":
            return Decision.EXPLICIT_DENY
        allowed = True
    return Decision.ALLOW if allowed else Decision.IMPLICIT_DENY


# --------------------------------------------------------------------------------------- parsing


def _parse_statement(raw: object) -> Statement:
    if not isinstance(raw, dict):
        raise MalformedPolicyError("Each policy statement must be a JSON object.")
    unknown = set(raw) - _STATEMENT_KEYS
    if unknown:
        raise MalformedPolicyError(f"Policy statement has unknown elements: {sorted(unknown)}.")
    effect = raw.get("Effect")
    if effect not in ("Allow", "Deny"):
        raise MalformedPolicyError(f"Policy statement has an invalid Effect: {effect!r}.")
    sid = raw.get("Sid")
    if sid is not None and not isinstance(sid, str):
        raise MalformedPolicyError("Sid must be a string.")
    if ("Principal" in raw) == ("NotPrincipal" in raw):
        raise MalformedPolicyError("Policy statement must contain exactly one of Principal or NotPrincipal.")
    if ("Action" in raw) == ("NotAction" in raw):
        raise MalformedPolicyError("Policy statement must contain exactly one of Action or NotAction.")
    if ("Resource" in raw) == ("NotResource" in raw):
        raise MalformedPolicyError("Policy statement must contain exactly one of Resource or NotResource.")
    actions = _string_list(raw, "Action")
    not_actions = _string_list(raw, "NotAction")
    for action in (actions or ()) + (not_actions or ()):
        if not _ACTION_RE.match(action):
            raise MalformedPolicyError(f"Policy statement has an invalid action: {action!r}.")
    return Statement(
        effect=effect,
        principals=_principals(raw.get("Principal")) if "Principal" in raw else None,
        not_principals=_principals(raw.get("NotPrincipal")) if "NotPrincipal" in raw else None,
        actions=actions,
        not_actions=not_actions,
        resources=_string_list(raw, "Resource"),
        not_resources=_string_list(raw, "NotResource"),
        conditions=_conditions(raw.get("Condition")),
        sid=sid,
    )


def _string_list(raw: Mapping[str, Any], key: str) -> tuple[str, ...] | None:
    if key not in raw:
        return None
    value = raw[key]
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise MalformedPolicyError(f"{key} must be a string or a non-empty list of strings.")


def _principals(value: object) -> tuple[str, ...]:
    """Normalise a Principal element to a tuple of ``"*"``, ``"aws:<arn-or-id>"``, ``"svc:<name>"``."""
    invalid = MalformedPolicyError("Policy contains a statement with one or more invalid principals.")
    if value == "*":
        return ("*",)
    if not isinstance(value, dict) or not value:
        raise invalid
    normalised: list[str] = []
    for kind, entries in value.items():
        items = [entries] if isinstance(entries, str) else entries
        if not isinstance(items, list) or not items or not all(isinstance(i, str) for i in items):
            raise invalid
        for item in items:
            if kind == "AWS":
                if item != "*" and not _ACCOUNT_RE.match(item) and not _AWS_PRINCIPAL_RE.match(item):
                    raise invalid
                normalised.append("*" if item == "*" else f"aws:{item}")
            elif kind in ("Service", "Federated", "CanonicalUser"):
                normalised.append(f"{kind.lower()}:{item}")
            else:
                raise invalid
    return tuple(normalised)


def _conditions(value: object) -> tuple[tuple[str, str, tuple[str, ...]], ...]:
    if value is None:
        return ()
    if not isinstance(value, dict):
        raise MalformedPolicyError("Condition must be a JSON object.")
    parsed: list[tuple[str, str, tuple[str, ...]]] = []
    for operator, block in value.items():
        if _base_operator(operator) not in _BASE_OPERATORS:
            raise MalformedPolicyError(f"Policy has an unknown condition operator: {operator!r}.")
        if not isinstance(block, dict) or not block:
            raise MalformedPolicyError(f"Condition block {operator!r} must be a non-empty object.")
        for key, raw_values in block.items():
            values = raw_values if isinstance(raw_values, list) else [raw_values]
            if not values or not all(isinstance(v, str | bool | int | float) for v in values):
                raise MalformedPolicyError(f"Condition values for {key!r} must be scalars.")
            parsed.append((operator, key, tuple(_scalar(v) for v in values)))
    return tuple(parsed)


def _scalar(value: str | bool | int | float) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _base_operator(operator: str) -> str:
    base = operator.split(":", 1)[1] if operator.startswith(("ForAnyValue:", "ForAllValues:")) else operator
    return base.removesuffix("IfExists") if base != "IfExists" else base


# ------------------------------------------------------------------------------------ evaluation


def _applies(statement: Statement, request: Request) -> bool:
    if statement.principals is not None:
        if not any(_principal_matches(p, request.principal) for p in statement.principals):
            return False
    elif statement.not_principals is not None and any(
        _principal_matches(p, request.principal) for p in statement.not_principals
    ):
        return False
    if statement.actions is not None:
        if not any(_wildcard(a, request.action, ignore_case=True) for a in statement.actions):
            return False
    elif statement.not_actions is not None and any(
        _wildcard(a, request.action, ignore_case=True) for a in statement.not_actions
    ):
        return False
    if statement.resources is not None:
        if not any(_wildcard(r, request.resource) for r in statement.resources):
            return False
    elif statement.not_resources is not None and any(_wildcard(r, request.resource) for r in statement.not_resources):
        return False
    context = {key.lower(): value for key, value in request.context.items()}
    return all(_condition_holds(op, key, values, context) for op, key, values in statement.conditions)


def _principal_matches(entry: str, principal: Principal) -> bool:
    if entry == "*":
        return True
    if not entry.startswith("aws:"):
        return False  # service/federated principals never describe an account's caller
    value = entry[4:]
    if value in (principal.account_id, principal.root_arn):
        return True
    for arn in principal.arns:
        if value == arn:
            return True
        # A role ARN (possibly with a path) also covers the role's assumed-role sessions.
        role = _role_name_from_session(arn)
        if (
            role is not None
            and value.startswith(f"arn:aws:iam::{principal.account_id}:role/")
            and value.rsplit("/", 1)[-1] == role
        ):
            return True
    return False


def _role_name_from_session(arn: str) -> str | None:
    match = re.match(r"^arn:aws[^:]*:sts::\d{12}:assumed-role/([^/]+)/", arn)
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
        return [_scalar(value)]
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
