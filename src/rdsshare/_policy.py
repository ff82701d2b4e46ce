"""CmkPolicyBuilder: the key policy that lets other accounts use a snapshot's CMK.

The statements follow AWS's documentation for sharing encrypted snapshots [AUR-SHARE],
[RDS-SHARE], [KMS-XACCT]:

* ``Enable IAM User Permissions``: the key owner's account root gets ``kms:*``. This is the
  default policy of keys created through the API [KMS-DEF] and what keeps the key manageable;
  without it KMS refuses the policy with ``MalformedPolicyDocumentException: The new key policy
  will not allow you to update the key policy in the future`` [BC-KMS].
* ``rdsshare: allow use of the key``: each target account root may Encrypt/Decrypt/
  ReEncrypt*/GenerateDataKey*/DescribeKey, **only through RDS** (``kms:ViaService`` =
  ``rds.<region>.amazonaws.com``): the target can copy and restore the snapshot but not use the
  key directly [KMS-COND].
* ``rdsshare: allow attachment of persistent resources``: each target account root may
  CreateGrant/ListGrants/RevokeGrant, only for AWS resources (``kms:GrantIsForAWSResource``),
  which is what RDS needs to copy or restore the snapshot and nothing more.

Merging goes by what a statement allows, never by its ``Sid``: a target is added only to a statement
that allows exactly rdsshare's actions, on ``*``, to account roots only, under exactly rdsshare's
conditions (another ``Allow``, a ``Deny``, a broader statement or one with other conditions is left
alone and rdsshare adds its own). Removing a target likewise touches only such statements. The builder
never writes an ``Allow`` to an open principal (``"*"`` or ``{"AWS": "*"}``, conditioned or not) or an
``Allow`` with ``NotPrincipal``, whoever wrote the statement, and checks locally, before anything is
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
from ._validation import strings, validate_account_id

__all__ = ["CmkPolicyBuilder", "allows_put_key_policy", "principal_arns"]

ROOT_SID = "Enable IAM User Permissions"
ADMIN_SID = "rdsshare: allow key administration"
MANAGER_SID = "rdsshare: allow the share key's manager"
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
#: What rdsshare does to its own share key. Granted here, to the principal that created the key, and
#: not in IAM: an IAM grant can only be scoped by tags or aliases, which the same principal can set on
#: any key (tagging at CreateKey needs kms:TagResource on every key [KMS-TAGS]).
MANAGER_ACTIONS = (
    "kms:CreateAlias",
    "kms:DeleteAlias",
    "kms:GetKeyPolicy",
    "kms:PutKeyPolicy",
    "kms:ScheduleKeyDeletion",
)
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

#: Why each statement rdsshare writes is there, by Sid: the docs' permissions page prints these.
REASONS: dict[str, str] = {
    ROOT_SID: "The source account's root gets `kms:*`, which delegates the key to the account's IAM policies. "
    "It is the whole default policy of a key created through the API [KMS-DEF] and keeps the key manageable: "
    "KMS refuses a policy that would stop the caller from changing it later [BC-KMS], [KMS-LOCKOUT].",
    ADMIN_SID: "The roles you name as key administrators (`key_admin_principals=`, `--admin`).",
    MANAGER_SID: "On rdsshare's share key only: the role that created it may write its policy, name or unname "
    "it and schedule its deletion. This is not in IAM, where it could only be scoped by tags or aliases that "
    "the same role can put on any key [KMS-TAGS].",
    USE_SID: "The target accounts may use the key to decrypt the shared snapshot and re-encrypt it during their "
    "restore [AUR-SHARE], [RDS-SHARE], only through RDS (`kms:ViaService`, [KMS-COND]): never directly.",
    GRANT_SID: "`CreateGrant`, `ListGrants`, `RevokeGrant` only for AWS resources (`kms:GrantIsForAWSResource`): "
    "what RDS needs to restore from the snapshot. Without it the restore fails with `KMSKeyNotAccessibleFault`.",
}

_PRINCIPAL_ARN = re.compile(r"^arn:aws[a-z-]*:(iam|sts)::[0-9]{12}:[\w+=,.@/-]+$")


def _via_rds_region(condition: object) -> str | None:
    """The region a ``kms:ViaService``-only condition limits use to RDS in (``*``: any), else None."""
    if not isinstance(condition, Mapping) or len(condition) != 1:
        return None
    ((operator, block),) = condition.items()
    if not isinstance(block, Mapping) or list(block) != ["kms:ViaService"]:
        return None
    value = block["kms:ViaService"]
    if operator == "StringLike" and value == "rds.*.amazonaws.com":
        return "*"
    match = re.fullmatch(r"rds\.([a-z0-9-]+)\.amazonaws\.com", str(value))
    return match.group(1) if operator == "StringEquals" and match else None


def _legacy_shapes() -> list[dict[str, Any]]:
    """rdsshare 0.1's use statement, without the RDS-only condition: cleanup may still remove targets from it."""
    return [{"Effect": "Allow", "Action": list(USE_ACTIONS), "Resource": "*"}]


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, list):
        return value
    return [value]


def _root(account_id: str, partition: str) -> str:
    return f"arn:{partition}:iam::{account_id}:root"


def _normalize_principal(value: str, partition: str) -> str:
    return _root(value, partition) if re.fullmatch(r"[0-9]{12}", value) else value


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
    match = re.fullmatch(r"arn:([a-z-]+):sts::([0-9]{12}):assumed-role/([^/]+)/.+", caller_arn)
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
    target_account_ids: tuple[str, ...] = attrs.field(converter=strings)
    admin_principals: tuple[str, ...] = attrs.field(default=(), converter=strings)
    #: principals that manage rdsshare's own share key (the role that creates it): see MANAGER_ACTIONS
    managers: tuple[str, ...] = attrs.field(default=(), converter=strings)
    partition: str = "aws"
    #: the key's region, for the ``kms:ViaService`` condition (None: any region's RDS)
    region: str | None = None

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

    @managers.validator
    @admin_principals.validator
    def _check_admins(self, _attr: attrs.Attribute[tuple[str, ...]], value: tuple[str, ...]) -> None:
        for arn in value:
            if arn == "*" or not _PRINCIPAL_ARN.fullmatch(arn):
                raise InputError(
                    f"admin principal {arn!r} is not an IAM principal ARN",
                    step="source-key",
                    fix="pass role or user ARNs such as arn:aws:iam::111111111111:role/KeyAdmin",
                )
            account = arn.split(":")[4]
            if account != self.owner_account_id:
                # Administering the key from another account would hand that account the power to
                # rewrite or delete a key the source's snapshots depend on.
                raise InputError(
                    f"key admin principal {arn} is in account {account}, not the key's account {self.owner_account_id}",
                    step="input",
                    resource=arn,
                    fix=f"name roles or users of account {self.owner_account_id} as key administrators",
                )

    # -- statements -------------------------------------------------------------------------
    def _targets(self) -> list[str]:
        return sorted({_root(a, self.partition) for a in self.target_account_ids})

    def _via_rds(self) -> dict[str, Any]:
        if self.region:
            return {"StringEquals": {"kms:ViaService": f"rds.{self.region}.amazonaws.com"}}
        return {"StringLike": {"kms:ViaService": "rds.*.amazonaws.com"}}

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
        if self.managers:
            out.append(
                {
                    "Sid": MANAGER_SID,
                    "Effect": "Allow",
                    "Principal": {"AWS": sorted({_role_arn_of(m) for m in self.managers})},
                    "Action": list(MANAGER_ACTIONS),
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
                    "Condition": self._via_rds(),
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

        Keeps every existing statement; adds the target accounts to a statement that allows exactly
        what rdsshare's does (same actions, resource, conditions, account-root principals only), or
        adds rdsshare's statement when there is none; adds the root statement only when the existing
        policy does not already keep the owner able to manage the key. Merging twice gives the same
        result as merging once.
        """
        if existing is None:
            return self.build()
        doc = self._parse(existing)
        self._check_output(doc)
        statements: list[dict[str, Any]] = [dict(s) for s in doc["Statement"]]
        owner_root = _root(self.owner_account_id, self.partition)
        for new in self.statements():
            if new["Sid"] == ROOT_SID and allows_put_key_policy({"Statement": statements}, caller_arn=owner_root):
                continue
            if new["Sid"] == ROOT_SID:
                statements.append(self._unique_sid(new, statements))
                continue
            same = [s for s in statements if self._same_grant(new, s)]
            if same:
                wanted = set(principal_arns(new, self.partition))
                have = set(principal_arns(same[0], self.partition))
                if not wanted <= have:
                    same[0]["Principal"] = {"AWS": sorted(have | wanted)}
                continue
            statements.append(self._unique_sid(new, statements))
        out = {**doc, "Statement": statements}
        self._check_output(out)
        return out

    def remove_targets(self, existing: Mapping[str, Any] | str, account_ids: Sequence[str]) -> dict[str, Any]:
        """``existing`` without the given accounts in statements that grant what rdsshare grants.

        Only statements of rdsshare's shape lose principals (a user's statements are never edited);
        one left with no principal is dropped.
        """
        doc = self._parse(existing)
        drop = {_root(a, self.partition) for a in account_ids}
        ours = attrs.evolve(self, target_account_ids=tuple(account_ids)).statements()
        shapes = [s for s in ours if s["Sid"] in (USE_SID, GRANT_SID)] + _legacy_shapes()
        statements: list[dict[str, Any]] = []
        for statement in doc["Statement"]:
            if any(self._same_grant(shape, statement) for shape in shapes):
                left = [p for p in principal_arns(statement, self.partition) if p not in drop]
                if not left:
                    continue
                statement = {**statement, "Principal": {"AWS": left}}
            statements.append(statement)
        return {**doc, "Statement": statements}

    def grants(self, existing: Mapping[str, Any] | str) -> set[str]:
        """The target accounts ``existing`` grants everything rdsshare's statements grant."""
        doc = self._parse(existing)
        granted: set[str] | None = None
        for new in self.statements():
            if new["Sid"] not in (USE_SID, GRANT_SID):
                continue
            roots: set[str] = set()
            for statement in doc["Statement"]:
                if self._same_grant(new, statement):
                    roots |= set(principal_arns(statement, self.partition))
            granted = roots if granted is None else granted & roots
        accounts = {r.split(":")[4] for r in granted or set() if r.endswith(":root")}
        return accounts & set(self.target_account_ids)

    def grants_targets(self, existing: Mapping[str, Any] | str) -> bool:
        """Whether ``existing`` already grants every target what RDS needs."""
        return self.grants(existing) == set(self.target_account_ids)

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

    def _same_grant(self, ours: Mapping[str, Any], theirs: Mapping[str, Any]) -> bool:
        """Whether ``theirs`` allows exactly what ``ours`` allows, to named AWS principals (account roots
        only, for a target grant)."""
        principal = theirs.get("Principal")
        if theirs.get("Effect") != "Allow" or "NotPrincipal" in theirs or not isinstance(principal, Mapping):
            return False
        if set(principal) != {"AWS"}:
            return False
        theirs_arns = principal_arns(theirs, self.partition)
        ours_are_roots = all(r.endswith(":root") for r in principal_arns(ours, self.partition))
        if not theirs_arns or "*" in theirs_arns:
            return False
        if ours_are_roots and not all(r.endswith(":root") for r in theirs_arns):
            return False  # target grants go to account roots only

        def norm(s: Mapping[str, Any]) -> tuple[Any, ...]:
            return (
                tuple(sorted(str(x) for x in _as_list(s.get("Action")))),
                tuple(sorted(str(x) for x in _as_list(s.get("Resource")))),
            )

        if norm(ours) != norm(theirs):
            return False
        mine, their = ours.get("Condition"), theirs.get("Condition")
        if json.dumps(mine, sort_keys=True) == json.dumps(their, sort_keys=True):
            return True
        # "Through RDS in any region" (rdsshare policy key without --region) covers this region's RDS.
        return _via_rds_region(mine) is not None and _via_rds_region(their) == "*"

    @staticmethod
    def _unique_sid(statement: dict[str, Any], statements: list[dict[str, Any]]) -> dict[str, Any]:
        taken = {s.get("Sid") for s in statements}
        sid, number = statement["Sid"], 2
        while sid in taken:
            sid = f"{statement['Sid']} ({number})"
            number += 1
        return {**statement, "Sid": sid}

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
            if not isinstance(statement, Mapping) or statement.get("Effect") != "Allow":
                continue
            open_principal = statement.get("Principal") == "*" or "*" in principal_arns(statement, self.partition)
            if open_principal or "NotPrincipal" in statement:
                raise KeyPolicyError(
                    'the key policy has an Allow statement for an open principal ("*" or NotPrincipal); '
                    "rdsshare will not write such a policy",
                    step="source-key",
                    account_id=self.owner_account_id,
                    resource=str(statement.get("Sid", "")),
                    fix="name the principals in that statement (accounts or roles) first",
                )
        size = len(json.dumps(policy).encode())
        if size > MAX_POLICY_BYTES:
            raise KeyPolicyError(
                f"the key policy would be {size} bytes; KMS allows {MAX_POLICY_BYTES}",
                step="source-key",
                account_id=self.owner_account_id,
                error_code="LimitExceededException",
            )
