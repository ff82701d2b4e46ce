"""CmkPolicyBuilder: the key policy that lets other accounts use a snapshot's CMK.

The statements follow AWS's documentation for sharing encrypted snapshots [AUR-SHARE],
[RDS-SHARE], [KMS-XACCT]:

* ``Enable IAM User Permissions``: the key owner's account root gets ``kms:*``. This is the
  default policy of keys created through the API [KMS-DEF] and what keeps the key manageable;
  without it KMS refuses the policy with ``MalformedPolicyDocumentException: The new key policy
  will not allow you to update the key policy in the future`` [BC-KMS].
* ``rdsshare: allow use of the key``: each target account root may Encrypt/Decrypt/
  ReEncrypt*/GenerateDataKey*/DescribeKey.
* ``rdsshare: allow attachment of persistent resources``: each target account root may
  CreateGrant/ListGrants/RevokeGrant, only for AWS resources (``kms:GrantIsForAWSResource``),
  which is what RDS needs to copy or restore the snapshot and nothing more.

The builder never writes a ``"Principal": "*"`` without a condition, merges into an existing
policy without dropping or duplicating statements, and checks locally, before anything is
sent, that the caller keeps ``kms:PutKeyPolicy``.
"""

from __future__ import annotations

import copy
import fnmatch
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs

from ._errors import InputError, KeyPolicyError
from ._validation import validate_account_id

__all__ = ["CmkPolicyBuilder", "allows_put_key_policy", "principal_arns"]

ROOT_SID = "Enable IAM User Permissions"
ADMIN_SID = "rdsshare: allow key administration"
USE_SID = "rdsshare: allow use of the key"
GRANT_SID = "rdsshare: allow attachment of persistent resources"

USE_ACTIONS = (
    "kms:Decrypt",
    "kms:DescribeKey",
    "kms:Encrypt",
    "kms:GenerateDataKey*",
    "kms:ReEncrypt*",
)
GRANT_ACTIONS = ("kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant")
ADMIN_ACTIONS = (
    "kms:CancelKeyDeletion",
    "kms:Create*",
    "kms:Delete*",
    "kms:Describe*",
    "kms:Disable*",
    "kms:Enable*",
    "kms:Get*",
    "kms:List*",
    "kms:Put*",
    "kms:Revoke*",
    "kms:ScheduleKeyDeletion",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:Update*",
)
MAX_POLICY_BYTES = 32 * 1024

_PRINCIPAL_ARN = re.compile(r"^arn:aws[a-z-]*:(iam|sts)::\d{12}:[\w+=,.@/-]+$")


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, list):
        return value
    return [value]


def _root(account_id: str, partition: str) -> str:
    return f"arn:{partition}:iam::{account_id}:root"


def _normalize_principal(value: str, partition: str) -> str:
    return _root(value, partition) if re.fullmatch(r"\d{12}", value) else value


def principal_arns(statement: Mapping[str, Any], partition: str = "aws") -> list[str]:
    """The AWS principals of a statement, account ids normalized to root ARNs."""
    principal = statement.get("Principal")
    if principal == "*":
        return ["*"]
    if not isinstance(principal, Mapping):
        return []
    return [_normalize_principal(str(p), partition) for p in _as_list(principal.get("AWS"))]


def _action_matches(patterns: Iterable[str], action: str) -> bool:
    return any(fnmatch.fnmatchcase(action.lower(), str(p).lower()) for p in patterns)


def _role_arn_of(caller_arn: str) -> str:
    """``arn:aws:sts::A:assumed-role/R/S`` -> ``arn:aws:iam::A:role/R``; others unchanged."""
    match = re.fullmatch(r"arn:([a-z-]+):sts::(\d{12}):assumed-role/([^/]+)/.+", caller_arn)
    if match:
        partition, account, role = match.groups()
        return f"arn:{partition}:iam::{account}:role/{role}"
    return caller_arn


def allows_put_key_policy(policy: Mapping[str, Any], *, caller_arn: str) -> bool:
    """Whether ``policy`` keeps ``caller_arn`` able to call ``kms:PutKeyPolicy`` later.

    This is KMS's lockout safety check [BC-KMS]: an Allow for the caller's account root
    (which delegates to IAM), for the caller itself, or for its role, and no Deny.
    """
    partition = caller_arn.split(":")[1] if caller_arn.startswith("arn:") else "aws"
    account = caller_arn.split(":")[4] if caller_arn.startswith("arn:") else ""
    me = {_root(account, partition), caller_arn, _role_arn_of(caller_arn)}
    allowed = False
    for statement in _as_list(policy.get("Statement")):
        if not isinstance(statement, Mapping):
            continue
        if not _action_matches(_as_list(statement.get("Action")), "kms:PutKeyPolicy"):
            continue
        principals = set(principal_arns(statement, partition))
        hits = bool(principals & me) or ("*" in principals)
        if not hits:
            continue
        if statement.get("Effect") == "Deny":
            return False
        if statement.get("Effect") == "Allow" and "Condition" not in statement:
            allowed = True
    return allowed


def _strings(values: Iterable[str]) -> tuple[str, ...]:
    if isinstance(values, str):
        raise InputError(
            f"expected a list of strings, got the string {values!r}",
            step="input",
            fix=f"wrap it in a list: [{values!r}]",
        )
    return tuple(values)


@attrs.frozen(kw_only=True)
class CmkPolicyBuilder:
    """Builds or merges the key policy of a CMK that target accounts may use.

    >>> builder = CmkPolicyBuilder(owner_account_id="111111111111",
    ...                            target_account_ids=["222222222222"])
    >>> sorted(s["Sid"] for s in builder.build()["Statement"])  # doctest: +NORMALIZE_WHITESPACE
    ['Enable IAM User Permissions', 'rdsshare: allow attachment of persistent resources',
     'rdsshare: allow use of the key']
    """

    owner_account_id: str = attrs.field(validator=lambda _i, _a, v: validate_account_id(v, "owner"))
    target_account_ids: tuple[str, ...] = attrs.field(converter=_strings)
    admin_principals: tuple[str, ...] = attrs.field(default=(), converter=_strings)
    partition: str = "aws"

    @target_account_ids.validator
    def _check_targets(self, _attr: attrs.Attribute[tuple[str, ...]], value: tuple[str, ...]) -> None:
        for account in value:
            validate_account_id(account, "target")
            if account == self.owner_account_id:
                raise InputError(
                    f"target account {account} is the key owner's own account",
                    step="source-key",
                    resource=account,
                    fix="share with a different account",
                )

    @admin_principals.validator
    def _check_admins(self, _attr: attrs.Attribute[tuple[str, ...]], value: tuple[str, ...]) -> None:
        for arn in value:
            if arn == "*" or not _PRINCIPAL_ARN.fullmatch(arn):
                raise InputError(
                    f"admin principal {arn!r} is not an IAM principal ARN",
                    step="source-key",
                    fix="pass role or user ARNs such as arn:aws:iam::111111111111:role/KeyAdmin",
                )

    # -- statements -------------------------------------------------------------------------
    def _targets(self) -> list[str]:
        return sorted({_root(a, self.partition) for a in self.target_account_ids})

    def statements(self) -> list[dict[str, Any]]:
        """The statements this builder contributes (root first)."""
        out: list[dict[str, Any]] = [
            {
                "Sid": ROOT_SID,
                "Effect": "Allow",
                "Principal": {"AWS": _root(self.owner_account_id, self.partition)},
                "Action": "kms:*",
                "Resource": "*",
            }
        ]
        if self.admin_principals:
            out.append(
                {
                    "Sid": ADMIN_SID,
                    "Effect": "Allow",
                    "Principal": {"AWS": sorted(set(self.admin_principals))},
                    "Action": list(ADMIN_ACTIONS),
                    "Resource": "*",
                }
            )
        targets = self._targets()
        if targets:
            out.append(
                {
                    "Sid": USE_SID,
                    "Effect": "Allow",
                    "Principal": {"AWS": targets},
                    "Action": list(USE_ACTIONS),
                    "Resource": "*",
                }
            )
            out.append(
                {
                    "Sid": GRANT_SID,
                    "Effect": "Allow",
                    "Principal": {"AWS": targets},
                    "Action": list(GRANT_ACTIONS),
                    "Resource": "*",
                    "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}},
                }
            )
        return out

    def build(self) -> dict[str, Any]:
        """A complete new key policy as a dict."""
        policy = {
            "Version": "2012-10-17",
            "Id": "rdsshare-key-policy",
            "Statement": self.statements(),
        }
        self._check_output(policy)
        return policy

    def to_json(self, policy: Mapping[str, Any] | None = None, *, indent: int | None = 2) -> str:
        """``policy`` (default: :meth:`build`) as JSON, ready for Terraform's ``aws_kms_key_policy``."""
        return json.dumps(policy if policy is not None else self.build(), indent=indent)

    # -- merge ------------------------------------------------------------------------------
    def merge(self, existing: Mapping[str, Any] | str | None) -> dict[str, Any]:
        """Merge this builder's grants into ``existing``.

        Keeps every existing statement; adds the target accounts to rdsshare's statements
        (creating them when absent) without duplicates; adds the root statement only when the
        existing policy does not already keep the owner able to manage the key. Merging twice
        gives the same result as merging once.
        """
        if existing is None:
            return self.build()
        doc = self._parse(existing)
        statements: list[dict[str, Any]] = [dict(s) for s in doc["Statement"]]
        owner_root = _root(self.owner_account_id, self.partition)
        for new in self.statements():
            if new["Sid"] == ROOT_SID and allows_put_key_policy({"Statement": statements}, caller_arn=owner_root):
                continue
            if any(self._same(new, old) for old in statements):
                continue
            same_sid = [s for s in statements if s.get("Sid") == new["Sid"]]
            if same_sid and new["Sid"] in (USE_SID, GRANT_SID, ADMIN_SID):
                target = same_sid[0]
                merged = sorted(set(principal_arns(target, self.partition)) | set(principal_arns(new, self.partition)))
                target["Principal"] = {"AWS": merged}
                continue
            if same_sid:
                new = {**new, "Sid": f"{new['Sid']} (rdsshare)"}
            statements.append(new)
        out = {**doc, "Statement": statements}
        self._check_output(out)
        return out

    def remove_targets(self, existing: Mapping[str, Any] | str, account_ids: Sequence[str]) -> dict[str, Any]:
        """``existing`` without the given accounts in rdsshare's statements (for unsharing/cleanup).

        rdsshare statements left with no principal are dropped; other statements are untouched.
        """
        doc = self._parse(existing)
        drop = {_root(a, self.partition) for a in account_ids}
        statements: list[dict[str, Any]] = []
        for statement in doc["Statement"]:
            if statement.get("Sid") in (USE_SID, GRANT_SID):
                left = [p for p in principal_arns(statement, self.partition) if p not in drop]
                if not left:
                    continue
                statement = {**statement, "Principal": {"AWS": left}}
            statements.append(statement)
        return {**doc, "Statement": statements}

    def grants_targets(self, existing: Mapping[str, Any] | str) -> bool:
        """Whether ``existing`` already grants every target what RDS needs."""
        return self.merge(existing) == self._parse(existing)

    # -- checks -----------------------------------------------------------------------------
    def check_lockout(self, policy: Mapping[str, Any], *, caller_arn: str) -> None:
        """Raise :class:`KeyPolicyError` unless ``caller_arn`` keeps ``kms:PutKeyPolicy``."""
        if not allows_put_key_policy(policy, caller_arn=caller_arn):
            raise KeyPolicyError(
                "The new key policy will not allow you to update the key policy in the future",
                step="source-key",
                account_id=self.owner_account_id,
                resource=caller_arn,
                error_code="MalformedPolicyDocumentException",
                fix="keep the account-root statement (kms:*) or grant the caller kms:PutKeyPolicy",
            )

    def _same(self, a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
        def norm(s: Mapping[str, Any]) -> tuple[Any, ...]:
            return (
                s.get("Effect"),
                tuple(sorted(principal_arns(s, self.partition))),
                tuple(sorted(str(x) for x in _as_list(s.get("Action")))),
                tuple(sorted(str(x) for x in _as_list(s.get("Resource")))),
                json.dumps(s.get("Condition"), sort_keys=True),
            )

        return norm(a) == norm(b)

    def _parse(self, existing: Mapping[str, Any] | str) -> dict[str, Any]:
        try:
            doc = json.loads(existing) if isinstance(existing, str) else copy.deepcopy(dict(existing))
        except json.JSONDecodeError as exc:
            raise KeyPolicyError(f"the existing key policy is not JSON: {exc}", step="source-key") from exc
        if not isinstance(doc, dict) or not isinstance(doc.get("Statement"), list | dict):
            raise KeyPolicyError("the existing key policy has no Statement list", step="source-key")
        doc["Statement"] = _as_list(doc["Statement"])
        return doc

    def _check_output(self, policy: Mapping[str, Any]) -> None:
        for statement in policy["Statement"]:
            if "*" in principal_arns(statement, self.partition) and "Condition" not in statement:
                raise KeyPolicyError(
                    'the key policy has a statement with an unconditioned "Principal": "*"; '
                    "rdsshare will not write such a policy",
                    step="source-key",
                    account_id=self.owner_account_id,
                    resource=str(statement.get("Sid", "")),
                    fix="remove or condition that statement (e.g. kms:CallerAccount) first",
                )
        size = len(json.dumps(policy).encode())
        if size > MAX_POLICY_BYTES:
            raise KeyPolicyError(
                f"the key policy would be {size} bytes; KMS allows {MAX_POLICY_BYTES}",
                step="source-key",
                account_id=self.owner_account_id,
                error_code="LimitExceededException",
            )
