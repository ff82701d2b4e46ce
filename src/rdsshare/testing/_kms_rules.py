"""KMS as RDS and a second account see it: AWS-managed keys, key policies, the lockout check.

Rules added on top of moto (moto-gaps.md §3, §4, §6):

* Every account/region has an AWS-managed key behind ``alias/aws/rds`` (and the other ``alias/aws/*``
  aliases) with ``KeyManager: AWS`` and the policy AWS gives it: usable only through the service, only by
  that account (``kms:CallerAccount`` + ``kms:ViaService``) [AUR-KEYS], [AUR-ENCSHARE]. It is created on
  first use, as AWS documents for predefined aliases.
* Every KMS call that names a key is checked against the key policy with :mod:`._policy_eval`. For
  another account's key this is the only grant of access [KMS-XACCT]; only the operations KMS supports
  across accounts are allowed (crypto, ``CreateGrant``, ``DescribeKey``, grants, ``GetKeyRotationStatus``,
  ``GetPublicKey``), by key ARN or alias ARN, in the key's region. A refusal is ``AccessDeniedException``.
  This also makes AWS-managed keys unmanageable: their policy allows the account only ``Describe*``,
  ``Get*``, ``List*`` and ``RevokeGrant``.
* ``CreateKey``/``PutKeyPolicy`` validate the policy (``MalformedPolicyDocumentException``,
  ``LimitExceededException`` over 32 KB) and run the lockout safety check: the policy must allow the
  caller ``kms:PutKeyPolicy`` unless ``BypassPolicyLockoutSafetyCheck`` is true [BC-KMS], aws-rules.md §3.
* :func:`require_key_for_rds` is what RDS does before it uses a key on a caller's behalf: the key must
  exist, be enabled, symmetric, in the operation's region, and its policy must allow the caller the
  actions RDS needs, in RDS's request context (``kms:ViaService = rds.<region>.amazonaws.com``,
  ``kms:GrantIsForAWSResource = true`` on grant operations) [AUR-SHARE], [AUR-KEYS], [KMS-COND].
  Otherwise RDS answers ``KMSKeyNotAccessibleFault``.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from moto.core.exceptions import JsonRESTError
from moto.kms import models as kms_models
from moto.kms.models import KmsBackend, kms_backends
from moto.kms.responses import KmsResponse
from moto.kms.utils import RESERVED_ALIASES
from moto.rds.exceptions import KMSKeyNotAccessibleFault

from ._context import Caller, current_caller
from ._patching import Patcher
from ._policy_eval import (
    ContextValue,
    Decision,
    MalformedPolicyError,
    PolicyTooLargeError,
    Request,
    evaluate,
    parse_policy,
)

_log = logging.getLogger("rdsshare.testing")

LOCKOUT_MESSAGE = "The new key policy will not allow you to update the key policy in the future."
"""AWS's message for a policy that fails the lockout safety check [BC-KMS]."""

GRANT_ACTIONS = frozenset({"kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"})
"""Operations for which KMS puts ``kms:GrantIsForAWSResource`` into the request context [KMS-COND]."""

RDS_DECRYPT_ACTIONS = ("kms:CreateGrant", "kms:Decrypt", "kms:DescribeKey")
"""What RDS needs on the key of a snapshot it reads (copy, restore) [AUR-SHARE], [AUR-KEYS]."""

RDS_ENCRYPT_ACTIONS = (
    "kms:CreateGrant",
    "kms:Decrypt",
    "kms:DescribeKey",
    "kms:GenerateDataKey",
)
"""What RDS needs on a key it encrypts new storage with (create, copy/restore ``KmsKeyId``)."""

# Operations KMS allows on another account's key [KMS-XACCT].
_CROSS_ACCOUNT_OPERATIONS = frozenset(
    {
        "CreateGrant",
        "Decrypt",
        "DescribeKey",
        "Encrypt",
        "GenerateDataKey",
        "GenerateDataKeyWithoutPlaintext",
        "GenerateDataKeyPair",
        "GenerateDataKeyPairWithoutPlaintext",
        "GenerateMac",
        "GetKeyRotationStatus",
        "GetPublicKey",
        "ListGrants",
        "ReEncrypt",
        "RetireGrant",
        "RevokeGrant",
        "Sign",
        "Verify",
        "VerifyMac",
    }
)

# KMS operations that name a key, and the request parameter that names it.
_KEY_PARAMETER = {
    **dict.fromkeys(_CROSS_ACCOUNT_OPERATIONS - {"ReEncrypt"}, "KeyId"),
    "ReEncrypt": "DestinationKeyId",
    "CancelKeyDeletion": "KeyId",
    "DisableKey": "KeyId",
    "DisableKeyRotation": "KeyId",
    "EnableKey": "KeyId",
    "EnableKeyRotation": "KeyId",
    "GetKeyPolicy": "KeyId",
    "ListKeyPolicies": "KeyId",
    "ListKeyRotations": "KeyId",
    "ListResourceTags": "KeyId",
    "ReplicateKey": "KeyId",
    "RotateKeyOnDemand": "KeyId",
    "ScheduleKeyDeletion": "KeyId",
    "TagResource": "KeyId",
    "UntagResource": "KeyId",
    "UpdateKeyDescription": "KeyId",
    "CreateAlias": "TargetKeyId",
    "UpdateAlias": "TargetKeyId",
}
_IAM_ACTION = {"ReEncrypt": "kms:ReEncryptTo"}

# Services whose AWS-managed key is used through a differently named endpoint.
_VIA_SERVICE = {"ebs": "ec2", "elasticfilesystem": "elasticfilesystem", "es": "es"}
_DESCRIPTIONS = {
    "rds": "Default key that protects my RDS database volumes when no other key is defined",
    "secretsmanager": ("Default key that protects my Secrets Manager data when no other key is defined"),
}

_KEY_ARN_RE = re.compile(r"^arn:aws[^:]*:kms:(?P<region>[^:]+):(?P<account>\d{12}):(?P<rest>.+)$")


class KmsApiError(JsonRESTError):
    """A KMS error response (JSON protocol, HTTP 400)."""

    code = 400

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(error_type, message)


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


def _generate_default_keys_factory(original: Callable[..., Any]) -> Callable[..., Any]:
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


def _backend_create_key_factory(original: Callable[..., Any]) -> Callable[..., Any]:
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


def _lazy_private_key_factory(original: Callable[[str], Any]) -> Callable[[str], Any]:
    def generate_private_key(key_spec: str) -> Any:
        if key_spec in (None, "", "SYMMETRIC_DEFAULT") or str(key_spec).startswith("HMAC_"):
            return _LazyPrivateKey(lambda: original(key_spec))
        return original(key_spec)

    return generate_private_key


def _accept_key_arn_factory(original: Callable[..., Any]) -> Callable[..., Any]:
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
    backend: KmsBackend = kms_backends[key_account][key_region]
    try:
        key_id = backend.any_id_to_key_id(key_ref)
    except Exception:  # moto raises KeyError/NotFound for unknown aliases
        return None
    if key_id is None:
        return None
    return backend.keys.get(key_id)


# ------------------------------------------------------------------------------- authorization


def _principal_arn(caller: Caller) -> str:
    return caller.arns[0] if caller.arns else f"arn:aws:iam::{caller.account_id}:root"


def direct_context(caller: Caller, action: str) -> dict[str, ContextValue]:
    """Request context of a KMS call the caller makes itself."""
    context: dict[str, ContextValue] = {
        "kms:CallerAccount": caller.account_id,
        "aws:PrincipalAccount": caller.account_id,
        "aws:PrincipalArn": _principal_arn(caller),
    }
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


def decide(key: Any, caller: Caller, action: str, context: Mapping[str, ContextValue]) -> Decision:
    """Evaluate ``key``'s policy for ``caller`` doing ``action``.

    A policy moto stored without validation (keys created before the test bed was active) that does
    not parse counts as allowing nothing.
    """
    try:
        policy = parse_policy(str(key.policy))
    except (MalformedPolicyError, PolicyTooLargeError):
        return Decision.IMPLICIT_DENY
    request = Request(principal=caller.principal, action=action, resource=str(key.arn), context=context)
    return evaluate(policy, request)


def require_key_for_rds(
    key_ref: str,
    *,
    caller: Caller,
    region: str,
    actions: Iterable[str],
    service: str = "rds",
) -> str:
    """Check that RDS (or ``service``) may use ``key_ref`` for ``caller`` in ``region``.

    Returns the key ARN; raises ``KMSKeyNotAccessibleFault`` with RDS's message otherwise: unknown key,
    key in another region, disabled/pending deletion, asymmetric, or not allowed by its key policy
    (rules 3 and 6 of the test bed; [AUR-SHARE], [AUR-ENCSHARE], [AUR-COPY], aws-rules.md §4).
    """
    key = find_key(key_ref, caller.account_id, region)
    if key is None or str(key.region) != region:
        raise KMSKeyNotAccessibleFault(key_ref)
    if key.key_state != "Enabled" or not key.enabled:
        raise KMSKeyNotAccessibleFault(key_ref)
    if (key.key_usage or "ENCRYPT_DECRYPT") != "ENCRYPT_DECRYPT" or key.key_spec != "SYMMETRIC_DEFAULT":
        raise KMSKeyNotAccessibleFault(key_ref)
    for action in actions:
        context = service_context(caller, action, service, region)
        if not decide(key, caller, action, context).allowed:
            _log.debug("%s denied %s on %s for %s", service, action, key.arn, caller.arn)
            raise KMSKeyNotAccessibleFault(key_ref)
    return str(key.arn)


def _access_denied(caller: Caller, action: str, key_arn: str, decision: Decision) -> KmsApiError:
    reason = (
        "with an explicit deny in a resource-based policy"
        if decision is Decision.EXPLICIT_DENY
        else f"because no resource-based policy allows the {action} action"
    )
    return KmsApiError(
        "AccessDeniedException",
        f"User: {caller.arn} is not authorized to perform: {action} on resource: {key_arn} {reason}",
    )


def _not_found(key_ref: str) -> KmsApiError:
    return KmsApiError("NotFoundException", f"Key '{key_ref}' does not exist")


# -------------------------------------------------------------------------------- KMS API rules


def _params(response: Any) -> dict[str, Any]:
    try:
        params = json.loads(response.body or "{}")
    except ValueError:
        return {}
    return params if isinstance(params, dict) else {}


def _validate_new_policy(text: str, caller: Caller, resource: str, bypass: bool) -> None:
    """Malformed/size validation and the lockout safety check for CreateKey/PutKeyPolicy."""
    try:
        policy = parse_policy(text)
    except PolicyTooLargeError as exc:
        raise KmsApiError("LimitExceededException", str(exc)) from exc
    except MalformedPolicyError as exc:
        raise KmsApiError("MalformedPolicyDocumentException", str(exc)) from exc
    if bypass:
        return
    action = "kms:PutKeyPolicy"
    request = Request(
        principal=caller.principal,
        action=action,
        resource=resource,
        context=direct_context(caller, action),
    )
    if not evaluate(policy, request).allowed:
        raise KmsApiError("MalformedPolicyDocumentException", LOCKOUT_MESSAGE)


def _guard_factory(operation: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Wrap a ``KmsResponse`` method so the key it names is authorized by its key policy."""
    parameter = _KEY_PARAMETER[operation]
    action = _IAM_ACTION.get(operation, f"kms:{operation}")

    def factory(original: Callable[..., Any]) -> Callable[..., Any]:
        def guarded(self: Any) -> Any:
            key_ref = _params(self).get(parameter)
            if not isinstance(key_ref, str) or not key_ref:
                return original(self)
            own_account = str(self.current_account)
            region = str(self.region)
            caller = current_caller(own_account, region)
            key_account, key_region = locate(key_ref, own_account, region)
            if key_account == own_account:
                key = find_key(key_ref, own_account, region) if key_region == region else None
                if key is not None:
                    decision = decide(key, caller, action, direct_context(caller, action))
                    if not decision.allowed:
                        raise _access_denied(caller, action, str(key.arn), decision)
                return original(self)
            # Another account's key [KMS-XACCT]: only some operations, by ARN, in the key's region.
            if operation not in _CROSS_ACCOUNT_OPERATIONS or key_region != region:
                raise _not_found(key_ref)
            key = find_key(key_ref, own_account, region)
            if key is None:
                raise _not_found(key_ref)
            decision = decide(key, caller, action, direct_context(caller, action))
            if not decision.allowed:
                raise _access_denied(caller, action, str(key.arn), decision)
            self.current_account = key_account  # serve the call from the key owner's backend
            try:
                return original(self)
            finally:
                self.current_account = own_account

        return guarded

    return factory


def _create_key_factory(original: Callable[..., Any]) -> Callable[..., Any]:
    def create_key(self: Any) -> Any:
        params = _params(self)
        text = params.get("Policy")
        if text is not None:
            account, region = str(self.current_account), str(self.region)
            caller = current_caller(account, region)
            _validate_new_policy(
                str(text),
                caller,
                resource=f"arn:aws:kms:{region}:{account}:key/new",
                bypass=bool(params.get("BypassPolicyLockoutSafetyCheck")),
            )
        return original(self)

    return create_key


def _put_key_policy_factory(original: Callable[..., Any]) -> Callable[..., Any]:
    def put_key_policy(self: Any) -> Any:
        params = _params(self)
        account, region = str(self.current_account), str(self.region)
        caller = current_caller(account, region)
        key_ref = str(params.get("KeyId") or "")
        key = (
            find_key(key_ref, account, region)
            if locate(key_ref, account, region)
            == (
                account,
                region,
            )
            else None
        )
        if key is None:
            raise _not_found(key_ref)
        decision = decide(key, caller, "kms:PutKeyPolicy", direct_context(caller, "kms:PutKeyPolicy"))
        if not decision.allowed:
            raise _access_denied(caller, "kms:PutKeyPolicy", str(key.arn), decision)
        _validate_new_policy(
            str(params.get("Policy") or ""),
            caller,
            resource=str(key.arn),
            bypass=bool(params.get("BypassPolicyLockoutSafetyCheck")),
        )
        return original(self)

    return put_key_policy


def install(patcher: Patcher) -> None:
    """Install the KMS rules."""
    patcher.wrap(KmsBackend, "_generate_default_keys", _generate_default_keys_factory)
    patcher.wrap(KmsBackend, "create_key", _backend_create_key_factory)
    patcher.wrap(kms_models, "generate_private_key", _lazy_private_key_factory)
    for method in ("disable_key", "enable_key", "cancel_key_deletion", "schedule_key_deletion"):
        patcher.wrap(KmsBackend, method, _accept_key_arn_factory)
    # moto's own check denies on any matching Deny regardless of principal and conditions; the
    # policy evaluation in the guards below replaces it.
    patcher.set(KmsResponse, "_validate_key_policy", lambda self, key_id, action: None)
    patcher.wrap(KmsResponse, "create_key", _create_key_factory)
    patcher.wrap(KmsResponse, "put_key_policy", _put_key_policy_factory)
    for operation in sorted(_KEY_PARAMETER):
        method = _snake(operation)
        if operation == "PutKeyPolicy" or not hasattr(KmsResponse, method):
            continue
        patcher.wrap(KmsResponse, method, _guard_factory(operation))


def _snake(operation: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", operation).lower()
