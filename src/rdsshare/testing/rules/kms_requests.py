"""The KMS API's own rules, checked at the request boundary (:mod:`.requests`) before moto serves a call.

* **Who** (:func:`authorize`): every call that names a key is checked against the key policy and the
  caller's IAM policy (:func:`.kms.authorize_key_use`). For another account's key only the operations KMS
  supports across accounts are possible (cryptographic operations, ``CreateGrant``, ``DescribeKey``,
  grants, ``GetKeyRotationStatus``, ``GetPublicKey``), by key ARN or alias ARN, in the key's region
  [KMS-XACCT]; the call is then served from the key owner's backend. A refusal is
  ``AccessDeniedException``. This also makes AWS-managed keys unmanageable: their policy allows the account
  only ``Describe*``, ``Get*``, ``List*`` and ``RevokeGrant`` [AUR-KEYS].
* **What** (:func:`validate`): ``CreateKey``/``PutKeyPolicy`` validate the policy
  (``MalformedPolicyDocumentException``; ``LimitExceededException`` over 32 KB), require its principals to
  exist ("The principals in the key policy must exist and be visible to KMS") and run the lockout safety
  check: the policy must allow the caller a later ``kms:PutKeyPolicy`` unless
  ``BypassPolicyLockoutSafetyCheck`` is true [BC-KMS], docs/sources/aws-rules.md §3. ``ScheduleKeyDeletion`` takes a
  ``PendingWindowInDays`` of 7 to 30 [BC-KMS].
* **Key states**: a disabled key refuses cryptographic and grant operations with ``DisabledException``,
  one pending deletion with ``KMSInvalidStateException`` (botocore model; KMS Developer Guide,
  key-state.html).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from moto.kms.models import kms_backends

from .caller import Caller
from .iam import access_denied, caller_context, identity_decision, note, principal_exists, tag_context
from .kms import authorize_key_use, direct_context, find_key, locate
from .policy_eval import (
    ContextValue,
    Decision,
    MalformedPolicyError,
    PolicyTooLargeError,
    Request,
    ResourceDecision,
    evaluate_resource_policy,
    parse_policy,
    principal_arns,
)

__all__ = ["LOCKOUT_MESSAGE", "Verdict", "authorize", "validate"]

LOCKOUT_MESSAGE = "The new key policy will not allow you to update the key policy in the future."
"""AWS's message for a policy that fails the lockout safety check [BC-KMS]."""

Error = tuple[str, str, int]

# Operations KMS allows on another account's key [KMS-XACCT].
CROSS_ACCOUNT_OPERATIONS = frozenset(
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
# Operations a disabled key or one pending deletion refuses (key-state.html).
_NEEDS_ENABLED = frozenset(
    {
        "CreateGrant",
        "Decrypt",
        "Encrypt",
        "GenerateDataKey",
        "GenerateDataKeyWithoutPlaintext",
        "GenerateDataKeyPair",
        "GenerateDataKeyPairWithoutPlaintext",
        "GenerateMac",
        "ReEncrypt",
        "Sign",
        "Verify",
        "VerifyMac",
    }
)

# KMS operations that name a key, and the request parameter that names it.
_KEY_PARAMETER = {
    **dict.fromkeys(CROSS_ACCOUNT_OPERATIONS - {"ReEncrypt"}, "KeyId"),
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
    "PutKeyPolicy": "KeyId",
    "ReplicateKey": "KeyId",
    "RotateKeyOnDemand": "KeyId",
    "ScheduleKeyDeletion": "KeyId",
    "TagResource": "KeyId",
    "UntagResource": "KeyId",
    "UpdateKeyDescription": "KeyId",
    "CreateAlias": "TargetKeyId",
    "UpdateAlias": "TargetKeyId",
    "DeleteAlias": "AliasName",
}
_IAM_ACTION = {"ReEncrypt": "kms:ReEncryptTo"}
_ALIAS_OPERATIONS = frozenset({"CreateAlias", "UpdateAlias", "DeleteAlias"})


@dataclass(frozen=True)
class Verdict:
    """A KMS call's authorization: refused (``denial``), or served, perhaps from another account."""

    denial: Error | None = None
    serve_as: str | None = None


def _error(code: str, message: str) -> Error:
    return code, message, 400


def _not_found(key_ref: str) -> Error:
    return _error("NotFoundException", f"Key '{key_ref}' does not exist")


def _resource_tags(key: Any) -> dict[str, ContextValue]:
    """``aws:ResourceTag/<key>`` of a KMS key."""
    try:
        tags = kms_backends[str(key.account_id)][str(key.region)].list_resource_tags(key.id)["Tags"]
    except Exception:  # moto keeps no tags for some keys (AWS-managed ones)
        tags = []
    return {f"aws:ResourceTag/{t['TagKey']}": str(t["TagValue"]) for t in tags}


def _key_state_error(key: Any, operation: str) -> Error | None:
    state = str(key.key_state)
    if operation in _NEEDS_ENABLED:
        if state == "Disabled":
            return _error("DisabledException", f"{key.arn} is disabled.")
        if state == "PendingDeletion":
            return _error("KMSInvalidStateException", f"{key.arn} is pending deletion.")
    if operation in ("CreateAlias", "UpdateAlias", "EnableKey", "ScheduleKeyDeletion") and state == "PendingDeletion":
        return _error("KMSInvalidStateException", f"{key.arn} is pending deletion.")
    if operation == "CancelKeyDeletion" and state != "PendingDeletion":
        return _error("KMSInvalidStateException", f"{key.arn} is not pending deletion.")
    return None


def authorize(caller: Caller, operation: str, params: Mapping[str, Any], region: str) -> Verdict:
    """Key policy, IAM policy and key state of one KMS call (see the module doc)."""
    account = caller.account_id
    action = _IAM_ACTION.get(operation, f"kms:{operation}")
    context: dict[str, ContextValue] = {**direct_context(caller, action), **tag_context(params.get("Tags"))}
    parameter = _KEY_PARAMETER.get(operation)
    key_ref = params.get(parameter) if parameter else None
    if not isinstance(key_ref, str) or not key_ref:
        resource = "*"
        decision = identity_decision(caller, action, resource, context)
        if decision.allowed and operation == "CreateKey" and params.get("Tags"):
            action = "kms:TagResource"  # tagging at create needs kms:TagResource too (KMS guide, create-keys.html)
            resource = f"arn:aws:kms:{region}:{account}:key/new-key"
            decision = identity_decision(caller, action, resource, context)
        if not decision.allowed:
            return Verdict(denial=access_denied("kms", caller, action, resource, decision))
        note(caller, f"kms:{operation}")
        if action != f"kms:{operation}":
            note(caller, action)
        return Verdict()
    key_account, key_region = locate(key_ref, account, region)
    foreign = key_account != account
    if foreign and (operation not in CROSS_ACCOUNT_OPERATIONS or key_region != region):
        return Verdict(denial=_not_found(key_ref))
    key = find_key(key_ref, account, region) if key_region == region else None
    if key is None:  # moto answers some of these with a KeyError (HTTP 500)
        return Verdict(denial=_not_found(key_ref))
    if operation in _ALIAS_OPERATIONS:
        alias = str(params.get("AliasName") or "")
        alias_arn = alias if alias.startswith("arn:") else f"arn:aws:kms:{region}:{account}:{alias}"
        decision = identity_decision(caller, action, alias_arn, context)
        if not decision.allowed:
            return Verdict(denial=access_denied("kms", caller, action, alias_arn, decision))
        note(caller, action)
    context.update(_resource_tags(key))
    decision, policy = authorize_key_use(key, caller, action, context)
    if not decision.allowed:
        return Verdict(denial=access_denied("kms", caller, action, str(key.arn), decision, policy=policy or ""))
    state_error = _key_state_error(key, operation)
    if state_error is not None:
        return Verdict(denial=state_error)
    return Verdict(serve_as=key_account if foreign else None)


# ------------------------------------------------------------------------------------ validation


def _check_policy(text: str, caller: Caller, resource: str, bypass: bool) -> Error | None:
    """Malformed/size validation, existing principals and the lockout check for CreateKey/PutKeyPolicy."""
    try:
        policy = parse_policy(text)
    except PolicyTooLargeError as exc:
        return _error("LimitExceededException", str(exc))
    except MalformedPolicyError as exc:
        return _error("MalformedPolicyDocumentException", str(exc))
    missing = [arn for arn in principal_arns(policy) if not principal_exists(arn)]
    if missing:
        return _error(
            "MalformedPolicyDocumentException", "Policy contains a statement with one or more invalid principals."
        )
    if bypass:
        return None
    action = "kms:PutKeyPolicy"
    context = {**direct_context(caller, action), **caller_context(caller)}
    request = Request(principal=caller.principal, action=action, resource=resource, context=context)
    decision = evaluate_resource_policy(policy, request)
    if decision is ResourceDecision.ALLOW_PRINCIPAL:
        return None
    # The account is named: the caller's own IAM policy must then allow it too (aws-samples
    # rds-snapshot-export-to-s3-pipeline #8: the same error when the key policy allows it but IAM does not).
    if decision is ResourceDecision.ALLOW_ACCOUNT and identity_decision(caller, action, resource, context) is (
        Decision.ALLOW
    ):
        return None
    return _error("MalformedPolicyDocumentException", LOCKOUT_MESSAGE)


def validate(caller: Caller, operation: str, params: Mapping[str, Any], region: str) -> Error | None:
    """The refusal of a KMS call whose parameters KMS would not accept, or None."""
    if operation == "CreateKey" and params.get("Policy") is not None:
        resource = f"arn:aws:kms:{region}:{caller.account_id}:key/new-key"
        return _check_policy(
            str(params["Policy"]), caller, resource, bool(params.get("BypassPolicyLockoutSafetyCheck"))
        )
    if operation == "PutKeyPolicy":
        key = find_key(str(params.get("KeyId") or ""), caller.account_id, region)
        if key is None:
            return None  # moto answers NotFoundException
        return _check_policy(
            str(params.get("Policy") or ""), caller, str(key.arn), bool(params.get("BypassPolicyLockoutSafetyCheck"))
        )
    if operation in ("CreateAlias", "UpdateAlias") and str(params.get("AliasName") or "").startswith("alias/aws/"):
        # "The alias name cannot begin with alias/aws/. The alias/aws/ prefix is reserved for Amazon Web
        # Services managed keys." (botocore model, CreateAlias.AliasName)
        return _error("NotAuthorizedException", "Cannot create an alias with the reserved prefix alias/aws/.")
    if operation == "ScheduleKeyDeletion" and "PendingWindowInDays" in params:
        days = params["PendingWindowInDays"]
        if not isinstance(days, int) or not 7 <= days <= 30:
            return _error(
                "ValidationException",
                f"1 validation error detected: Value '{days}' at 'pendingWindowInDays' failed to satisfy "
                "constraint: Member must have value between 7 and 30, inclusive",
            )
    return None
