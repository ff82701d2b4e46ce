"""KMS as RDS and a second account see it: AWS-managed keys, key lookup, RDS's use of keys through grants.

Rules added on top of moto (docs/sources/moto-gaps.md §3, §4, §6):

* Every account/region has an AWS-managed key behind ``alias/aws/rds`` (and the other ``alias/aws/*``
  aliases) with ``KeyManager: AWS`` and the policy AWS gives it: usable only through the service, only by
  that account (``kms:CallerAccount`` + ``kms:ViaService``) [AUR-KEYS], [AUR-ENCSHARE]. It is created on
  first use, as AWS documents for predefined aliases.
* :func:`use_for_service` is what RDS (or Secrets Manager) does before it uses a key on a caller's
  behalf: the key must exist, be enabled, symmetric and in the operation's region, and the caller must be
  allowed ``kms:CreateGrant`` and ``kms:DescribeKey`` on it in RDS's request context
  (``kms:ViaService = rds.<region>.amazonaws.com``, ``kms:GrantIsForAWSResource = true``), by the key
  policy and, where the key policy delegates to the account or the key is another account's, by the
  caller's own IAM policy ("a user must have permissions to call ... kms:CreateGrant, kms:DescribeKey",
  Aurora User Guide, Overview.Encryption.Keys; [KMS-XACCT]). Otherwise RDS answers
  ``KMSKeyNotAccessibleFault``.
* RDS then works through a **grant** for its service principal (:func:`grant_for_service`): ``ListGrants``
  shows it, and a database whose grant is retired or revoked, or whose key is disabled or pending
  deletion, can no longer reach its key (:func:`key_reachable`; see :mod:`.lifecycle`).

The KMS API's own rules (key policies on every call, the lockout check, key states) are in
:mod:`.kms_requests`.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Sequence
from typing import Any

from moto.kms.models import KmsBackend, kms_backends
from moto.kms.utils import RESERVED_ALIASES
from moto.rds.exceptions import KMSKeyNotAccessibleFault

from .caller import Caller
from .iam import caller_context, identity_decision, note
from .policy_eval import (
    ContextValue,
    Decision,
    MalformedPolicyError,
    PolicyTooLargeError,
    Request,
    ResourceDecision,
    evaluate_resource_policy,
    parse_policy,
)

__all__ = [
    "GRANT_ACTIONS",
    "RDS_KEY_ACTIONS",
    "accept_key_arn",
    "authorize_key_use",
    "aws_managed_key_policy",
    "create_key_default_usage",
    "default_rds_key",
    "direct_context",
    "find_key",
    "generate_default_keys",
    "grant_for_service",
    "key_reachable",
    "lazy_private_key",
    "locate",
    "service_context",
    "use_for_service",
]

_log = logging.getLogger("rdsshare.testing")

GRANT_ACTIONS = frozenset({"kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"})
"""Operations for which KMS puts ``kms:GrantIsForAWSResource`` into the request context [KMS-COND]."""

RDS_KEY_ACTIONS = ("kms:CreateGrant", "kms:DescribeKey")
"""What a caller must be allowed on a key RDS uses for it, no more (Aurora User Guide, Overview.Encryption.Keys)."""

#: What RDS's grant for its own service principal allows (what RDS then does with the key itself).
RDS_GRANT_OPERATIONS = [
    "Decrypt",
    "Encrypt",
    "GenerateDataKey",
    "GenerateDataKeyWithoutPlaintext",
    "ReEncryptFrom",
    "ReEncryptTo",
    "CreateGrant",
    "RetireGrant",
    "DescribeKey",
]

# Services whose AWS-managed key is used through a differently named endpoint.
_VIA_SERVICE = {"ebs": "ec2", "elasticfilesystem": "elasticfilesystem", "es": "es"}
_DESCRIPTIONS = {
    "rds": "Default key that protects my RDS database volumes when no other key is defined",
    "secretsmanager": ("Default key that protects my Secrets Manager data when no other key is defined"),
}

_KEY_ARN_RE = re.compile(r"^arn:aws[^:]*:kms:(?P<region>[^:]+):(?P<account>[0-9]{12}):(?P<rest>.+)$")


# ---------------------------------------------------------------------------- AWS-managed keys


def aws_managed_key_policy(account_id: str, region: str, service: str) -> str:
    """The policy AWS attaches to an AWS-managed key such as ``aws/rds`` [AUR-KEYS].

    Any principal of the account may use the key, but only through the service (``kms:ViaService``)
    and only from the owning account (``kms:CallerAccount``); the account may read its metadata.
    """
    via = _VIA_SERVICE.get(service, service)
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Id": f"auto-{service}-2",
            "Statement": [
                {
                    "Sid": (
                        f"Allow access through {service} for all principals in the account that "
                        f"are authorized to use {service}"
                    ),
                    "Effect": "Allow",
                    "Principal": {"AWS": "*"},
                    "Action": [
                        "kms:Encrypt",
                        "kms:Decrypt",
                        "kms:ReEncrypt*",
                        "kms:GenerateDataKey*",
                        "kms:CreateGrant",
                        "kms:ListGrants",
                        "kms:DescribeKey",
                    ],
                    "Resource": "*",
                    "Condition": {
                        "StringEquals": {
                            "kms:CallerAccount": account_id,
                            "kms:ViaService": f"{via}.{region}.amazonaws.com",
                        }
                    },
                },
                {
                    "Sid": "Allow direct access to key metadata to the account",
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"},
                    "Action": ["kms:Describe*", "kms:Get*", "kms:List*", "kms:RevokeGrant"],
                    "Resource": "*",
                },
            ],
        }
    )


def generate_default_keys(original: Callable[..., Any]) -> Callable[..., Any]:
    def _generate_default_keys(self: Any, alias_name: str) -> str | None:
        if alias_name not in RESERVED_ALIASES:
            return None
        service = alias_name.rsplit("/", 1)[-1]
        key = self.create_key(
            None,
            "ENCRYPT_DECRYPT",
            "SYMMETRIC_DEFAULT",
            _DESCRIPTIONS.get(service, f"Default key that protects my {service} data"),
            None,
        )
        key.key_manager = "AWS"
        key.policy = aws_managed_key_policy(str(self.account_id), str(self.region_name), service)
        self.create_alias(key.id, alias_name)
        _log.debug("created AWS-managed key %s for %s", key.arn, alias_name)
        return str(key.id)

    return _generate_default_keys


def create_key_default_usage(original: Callable[..., Any]) -> Callable[..., Any]:
    def create_key(self: Any, policy: Any, key_usage: Any, key_spec: Any, *args: Any, **kwargs: Any) -> Any:
        # KMS defaults KeyUsage to ENCRYPT_DECRYPT; moto stores and reports None.
        return original(self, policy, key_usage or "ENCRYPT_DECRYPT", key_spec, *args, **kwargs)

    return create_key


class _LazyPrivateKey:
    """Stands in for the RSA key moto generates for *every* KMS key, even symmetric ones.

    Generating it costs ~40 ms per key; symmetric keys never use it, so it is made on first use.
    """

    def __init__(self, factory: Callable[[], Any]) -> None:
        self._factory = factory
        self._key: Any = None

    def __getattr__(self, name: str) -> Any:
        if self._key is None:
            self._key = self._factory()
        return getattr(self._key, name)


def lazy_private_key(original: Callable[[str], Any]) -> Callable[[str], Any]:
    def generate_private_key(key_spec: str) -> Any:
        if key_spec in (None, "", "SYMMETRIC_DEFAULT") or str(key_spec).startswith("HMAC_"):
            return _LazyPrivateKey(lambda: original(key_spec))
        return original(key_spec)

    return generate_private_key


def accept_key_arn(original: Callable[..., Any]) -> Callable[..., Any]:
    """moto's ``disable_key`` & co. index ``keys`` with the raw argument; KMS also takes a key ARN."""

    def method(self: Any, key_id: str, *args: Any, **kwargs: Any) -> Any:
        return original(self, self.get_key_id(key_id), *args, **kwargs)

    return method


def default_rds_key(account_id: str, region: str) -> Any:
    """The account's AWS-managed ``aws/rds`` key in ``region``, created on first use."""
    backend = kms_backends[account_id][region]
    return backend.keys[backend.any_id_to_key_id("alias/aws/rds")]


# ------------------------------------------------------------------------------ key resolution


def locate(key_ref: str, account_id: str, region: str) -> tuple[str, str]:
    """The (account, region) a key reference points into: ARNs carry both, ids/aliases are local."""
    match = _KEY_ARN_RE.match(key_ref)
    if match:
        return match.group("account"), match.group("region")
    return account_id, region


def find_key(key_ref: str, account_id: str, region: str) -> Any | None:
    """Resolve a key id, key ARN, alias name or alias ARN to moto's ``Key``, or ``None``."""
    key_account, key_region = locate(key_ref, account_id, region)
    try:
        backend: KmsBackend = kms_backends[key_account][key_region]
    except KeyError:  # not an account or region id (moto's literal "default_kms_key_id", say)
        return None
    try:
        key_id = backend.any_id_to_key_id(key_ref)
    except Exception:  # moto raises KeyError/NotFound for unknown aliases
        return None
    if key_id is None:
        return None
    return backend.keys.get(key_id)


# ------------------------------------------------------------------------------- authorization


def direct_context(caller: Caller, action: str) -> dict[str, ContextValue]:
    """Request context of a KMS call the caller makes itself."""
    context: dict[str, ContextValue] = {"kms:CallerAccount": caller.account_id, **caller_context(caller)}
    if action in GRANT_ACTIONS:
        context["kms:GrantIsForAWSResource"] = False
    return context


def service_context(caller: Caller, action: str, service: str, region: str) -> dict[str, ContextValue]:
    """Request context of a KMS call a service (RDS, Secrets Manager) makes for the caller."""
    context = direct_context(caller, action)
    context["kms:ViaService"] = f"{service}.{region}.amazonaws.com"
    context["aws:ViaAWSService"] = True
    if action in GRANT_ACTIONS:
        context["kms:GrantIsForAWSResource"] = True
    return context


def _key_policy_decision(key: Any, request: Request) -> ResourceDecision:
    """The key policy's answer. A policy moto stored without validation that does not parse allows nothing."""
    try:
        policy = parse_policy(str(key.policy))
    except (MalformedPolicyError, PolicyTooLargeError):
        return ResourceDecision.IMPLICIT_DENY
    return evaluate_resource_policy(policy, request)


def _granted(key: Any, caller: Caller, action: str) -> bool:
    """A grant on ``key`` lets the caller (its role, session or account) do ``action``."""
    operation = action.split(":", 1)[1]
    names = {*caller.arns, caller.account_id, f"arn:aws:iam::{caller.account_id}:root"}
    return any(
        grant.grantee_principal in names and operation in grant.operations for grant in list(key.grants.values())
    )


def authorize_key_use(
    key: Any, caller: Caller, action: str, context: dict[str, ContextValue]
) -> tuple[Decision, str | None]:
    """Whether ``caller`` may do ``action`` on ``key``, and which policy refused it if not.

    Same account: a key policy statement naming the principal allows it; one naming only the account
    defers to the caller's IAM policy [KMS-DEF]. Another account's key: the key policy and the caller's
    IAM policy must both allow it [KMS-XACCT]. An explicit deny in either wins. A grant for the caller
    allows the operations it lists.
    """
    request = Request(principal=caller.principal, action=action, resource=str(key.arn), context=context)
    key_decision = _key_policy_decision(key, request)
    if key_decision is ResourceDecision.EXPLICIT_DENY:
        return Decision.EXPLICIT_DENY, "resource-based"
    iam_decision = identity_decision(caller, action, str(key.arn), context)
    if iam_decision is Decision.EXPLICIT_DENY:
        return Decision.EXPLICIT_DENY, "identity-based"
    if _granted(key, caller, action):
        return Decision.ALLOW, None
    same_account = str(key.account_id) == caller.account_id
    if key_decision is ResourceDecision.IMPLICIT_DENY:
        return Decision.IMPLICIT_DENY, "resource-based"
    if same_account and key_decision is ResourceDecision.ALLOW_PRINCIPAL:
        return Decision.ALLOW, None
    if iam_decision is Decision.ALLOW:
        note(caller, action)  # the caller's own policy was needed
        return Decision.ALLOW, None
    return Decision.IMPLICIT_DENY, "identity-based"


# ---------------------------------------------------------------------------- RDS's use of keys


def use_for_service(
    key_ref: str,
    *,
    caller: Caller,
    region: str,
    service: str = "rds",
    actions: Sequence[str] = RDS_KEY_ACTIONS,
) -> Any:
    """Check that ``service`` may use ``key_ref`` for ``caller`` in ``region``; return moto's ``Key``.

    Raises ``KMSKeyNotAccessibleFault`` with RDS's message otherwise: unknown key, key in another region,
    disabled or pending deletion, asymmetric, or not allowed ``kms:CreateGrant``/``kms:DescribeKey`` by
    the key policy and the caller's IAM policy in the service's request context.
    """
    key = find_key(key_ref, caller.account_id, region)
    if key is None or str(key.region) != region:
        raise KMSKeyNotAccessibleFault(key_ref)
    if key.key_state != "Enabled" or not key.enabled:
        raise KMSKeyNotAccessibleFault(key_ref)
    if (key.key_usage or "ENCRYPT_DECRYPT") != "ENCRYPT_DECRYPT" or key.key_spec != "SYMMETRIC_DEFAULT":
        raise KMSKeyNotAccessibleFault(key_ref)
    for action in actions:
        decision, _ = authorize_key_use(key, caller, action, service_context(caller, action, service, region))
        if not decision.allowed:
            _log.debug("%s denied %s on %s for %s", service, action, key.arn, caller.arn)
            raise KMSKeyNotAccessibleFault(key_ref)
    return key


def grant_for_service(key: Any, *, service: str, region: str, resource_arn: str) -> tuple[str, str]:
    """The grant RDS creates on ``key`` for its service principal; returns (key ARN, grant id)."""
    principal = f"{service}.{region}.amazonaws.com"
    grant = key.add_grant(
        name=resource_arn.rsplit(":", 1)[-1][:256],
        grantee_principal=principal,
        operations=list(RDS_GRANT_OPERATIONS),
        constraints={},
        retiring_principal=principal,
    )
    return str(key.arn), str(grant.id)


def key_reachable(key_arn: str, grant_id: str | None) -> bool:
    """Whether RDS can still use ``key_arn``: the key exists and is enabled, and RDS's grant stands."""
    key = find_key(key_arn, "", "")
    if key is None or key.key_state != "Enabled":
        return False
    return grant_id is None or grant_id in key.grants
