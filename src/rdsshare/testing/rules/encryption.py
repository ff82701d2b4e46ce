"""How RDS encrypts what it creates: ``StorageEncryptionType``, the key, and RDS's grant on it.

* ``StorageEncryptionType`` on clusters, instances and snapshots is ``none``, ``sse-rds`` (an AWS owned
  key) or ``sse-kms`` (a customer managed or AWS managed key); with ``sse-rds``, ``StorageEncrypted`` is
  **false** and there is no ``KmsKeyId`` (botocore model, ``DBCluster.StorageEncryptionType``).
* Since 2026-02-18 a new Aurora cluster is encrypted at rest whatever ``StorageEncrypted`` says: with
  ``KmsKeyId`` under that key, with ``StorageEncrypted=true`` under the account's ``aws/rds`` key, and
  otherwise with an AWS owned key (``sse-rds``) ("All new database clusters created on or after February
  18, 2026 ... are encrypted at rest", Aurora User Guide, Overview.Encryption). A restored Aurora cluster
  is a new cluster: restoring an unencrypted snapshot gives ``sse-rds`` (the bed's reading of that
  sentence). RDS DB instances (not Aurora) stay unencrypted unless asked.
* A database under a KMS key holds a grant RDS made on it (:func:`.kms.grant_for_service`); deleting the
  database retires it.
"""

from __future__ import annotations

from typing import Any, Literal

from .caller import Caller
from .kms import default_rds_key, find_key, grant_for_service, use_for_service
from .lifecycle import KEY_ATTR, hold_key

__all__ = [
    "AURORA_ENGINES",
    "EncryptionType",
    "apply",
    "choose",
    "choose_for",
    "release",
    "share_key",
    "type_of",
]

EncryptionType = Literal["none", "sse-rds", "sse-kms"]
AURORA_ENGINES = frozenset({"aurora-mysql", "aurora-postgresql", "aurora"})


def choose(
    *,
    engine: str,
    kms_key_id: str | None,
    storage_encrypted: bool | None,
    caller: Caller,
    region: str,
) -> tuple[EncryptionType, Any | None]:
    """The encryption of a new database: its type and moto's ``Key`` (checked for the caller)."""
    if kms_key_id:
        return "sse-kms", use_for_service(kms_key_id, caller=caller, region=region)
    if storage_encrypted:
        default = default_rds_key(caller.account_id, region)
        return "sse-kms", use_for_service(str(default.arn), caller=caller, region=region)
    return ("sse-rds" if engine in AURORA_ENGINES else "none"), None


def choose_for(kwargs: Any, *, caller: Caller, region: str) -> tuple[EncryptionType, Any | None]:
    """:func:`choose` for a create's moto kwargs, which it then points at the chosen key."""
    kind, key = choose(
        engine=str(kwargs["engine"]),
        kms_key_id=kwargs.get("kms_key_id"),
        storage_encrypted=kwargs.get("storage_encrypted"),
        caller=caller,
        region=region,
    )
    kwargs["kms_key_id"] = str(key.arn) if key is not None else None
    kwargs["storage_encrypted"] = key is not None
    return kind, key


def type_of(obj: Any) -> EncryptionType:
    """The encryption type of a moto database or snapshot (``none`` for objects made before the bed)."""
    found = vars(obj).get("storage_encryption_type")
    if found in ("none", "sse-rds", "sse-kms"):
        return found  # type: ignore[no-any-return]
    encrypted = bool(getattr(obj, "storage_encrypted", False) or getattr(obj, "encrypted", False))
    return "sse-kms" if encrypted else "none"


def apply(obj: Any, kind: EncryptionType, key: Any | None, *, region: str, grant: bool = True) -> None:
    """Record ``kind`` (and ``key``) on a moto object; a database also gets RDS's grant on the key."""
    vars(obj)["storage_encryption_type"] = kind
    if kind == "sse-kms" and key is not None:
        obj.kms_key_id = str(key.arn)
        _set_encrypted(obj, True)
        if grant:
            key_arn, grant_id = grant_for_service(key, service="rds", region=region, resource_arn=str(obj.arn))
            hold_key(obj, key_arn, grant_id)
        return
    obj.kms_key_id = None
    _set_encrypted(obj, False)


def _set_encrypted(obj: Any, value: bool) -> None:
    if hasattr(type(obj), "storage_encrypted") and isinstance(type(obj).storage_encrypted, property):
        try:
            obj.storage_encrypted = value
        except AttributeError:
            vars(obj)["storage_encrypted"] = value
    else:
        vars(obj)["storage_encrypted"] = value
    if "encrypted" in vars(obj):
        obj.encrypted = value


def share_key(obj: Any, source: Any) -> None:
    """``obj`` (an instance of a cluster) reaches its storage through ``source``'s key and grant."""
    held = vars(source).get(KEY_ATTR)
    if held is not None:
        hold_key(obj, *held)
    vars(obj)["storage_encryption_type"] = type_of(source)


def release(obj: Any) -> None:
    """Retire RDS's grant of a deleted database; the answer to the delete says ``deleting``."""
    held: tuple[str, str | None] | None = vars(obj).pop(KEY_ATTR, None)
    obj.status = "deleting"
    if held is None or held[1] is None:
        return
    key = find_key(held[0], "", "")
    if key is not None:
        key.grants.pop(held[1], None)
