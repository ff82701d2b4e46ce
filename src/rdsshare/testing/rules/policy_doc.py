"""Policy documents as KMS and IAM accept them: validation and the parsed form.

:func:`parse_policy` validates a key policy (``kind="resource"``) the way KMS does before it
accepts one (``CreateKey``/``PutKeyPolicy``), or an IAM identity policy (``kind="identity"``), and
raises :class:`MalformedPolicyError` or :class:`PolicyTooLargeError` otherwise [BC-KMS],
docs/sources/aws-rules.md §3. :mod:`.policy_eval` evaluates the result.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

__all__ = [
    "MAX_POLICY_BYTES",
    "MalformedPolicyError",
    "Policy",
    "PolicyError",
    "PolicyKind",
    "PolicyTooLargeError",
    "Statement",
    "parse_policy",
    "principal_arns",
    "scalar",
]

MAX_POLICY_BYTES = 32 * 1024
"""Key policies are limited to 32 KB (KMS developer guide, resource-limits.html; docs/sources/aws-rules.md §3)."""

PolicyKind = Literal["resource", "identity"]

_ACCOUNT_RE = re.compile(r"^[0-9]{12}$")
_AWS_PRINCIPAL_RE = re.compile(
    r"^arn:aws(?:-[a-z]+)*:(?:iam::[0-9]{12}:(?:root|user/.+|role/.+|federated-user/.+)"
    r"|sts::[0-9]{12}:(?:assumed-role/[^/]+/.+|federated-user/.+))$"
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


class PolicyError(ValueError):
    """Base class for policy documents KMS (or IAM) would not accept."""


class MalformedPolicyError(PolicyError):
    """The document is not a valid policy (KMS: ``MalformedPolicyDocumentException``)."""


class PolicyTooLargeError(PolicyError):
    """The document exceeds 32 KB (KMS: ``LimitExceededException``)."""


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

    @property
    def effective(self) -> bool:
        """False for a statement without an action or resource element: KMS accepts it, it does nothing."""
        has_action = self.actions is not None or self.not_actions is not None
        has_resource = self.resources is not None or self.not_resources is not None
        return has_action and has_resource


@dataclass(frozen=True)
class Policy:
    """A validated policy."""

    statements: tuple[Statement, ...]
    text: str


def parse_policy(text: str, *, kind: PolicyKind = "resource") -> Policy:
    """Validate a policy document and return it parsed.

    ``kind="resource"`` (a key policy): raises :class:`PolicyTooLargeError` over 32 KB and
    :class:`MalformedPolicyError` for anything KMS rejects as malformed: not JSON, no ``Statement``,
    a bad ``Effect``, a statement without a principal, principals that are not ``"*"``, 12-digit
    account ids or IAM/STS ARNs, unknown condition operators [BC-KMS], docs/sources/aws-rules.md §3. A statement
    without ``Action`` or ``Resource`` is accepted and has no effect [BC-KMS CreateKey.Policy].

    ``kind="identity"`` (an IAM policy): no ``Principal``; ``Action`` and ``Resource`` required.
    """
    size = len(text.encode("utf-8"))
    if kind == "resource" and size > MAX_POLICY_BYTES:
        raise PolicyTooLargeError(f"Policy document is {size} bytes; the limit is {MAX_POLICY_BYTES}.")
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise MalformedPolicyError("The policy is not valid JSON.") from exc
    if not isinstance(document, dict):
        raise MalformedPolicyError("The policy must be a JSON object.")
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
    return Policy(statements=tuple(_parse_statement(s, kind) for s in raw_statements), text=text)


def principal_arns(policy: Policy) -> list[str]:
    """Every IAM/STS ARN named as a principal (not ``"*"``, not bare account ids or roots)."""
    out: list[str] = []
    for statement in policy.statements:
        for entry in (*(statement.principals or ()), *(statement.not_principals or ())):
            value = entry[4:] if entry.startswith("aws:") else ""
            if value.startswith("arn:") and not value.endswith(":root"):
                out.append(value)
    return out


# --------------------------------------------------------------------------------------- parsing


def _parse_statement(raw: object, kind: PolicyKind) -> Statement:
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
    has_principal = "Principal" in raw or "NotPrincipal" in raw
    if kind == "identity":
        if has_principal:
            raise MalformedPolicyError("Policy document should not specify a principal.")
    elif ("Principal" in raw) == ("NotPrincipal" in raw):
        raise MalformedPolicyError("Policy statement must contain exactly one of Principal or NotPrincipal.")
    if "Action" in raw and "NotAction" in raw:
        raise MalformedPolicyError("Policy statement must contain only one of Action or NotAction.")
    if "Resource" in raw and "NotResource" in raw:
        raise MalformedPolicyError("Policy statement must contain only one of Resource or NotResource.")
    if kind == "identity" and not ("Action" in raw or "NotAction" in raw):
        raise MalformedPolicyError("Policy statement must contain actions.")
    if kind == "identity" and not ("Resource" in raw or "NotResource" in raw):
        raise MalformedPolicyError("Policy statement must contain resources.")
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
            parsed.append((operator, key, tuple(scalar(v) for v in values)))
    return tuple(parsed)


def scalar(value: str | bool | int | float) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _base_operator(operator: str) -> str:
    base = operator.split(":", 1)[1] if operator.startswith(("ForAnyValue:", "ForAllValues:")) else operator
    return base.removesuffix("IfExists") if base != "IfExists" else base
