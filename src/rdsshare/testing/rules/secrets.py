"""Master user passwords managed in Secrets Manager, as RDS does it for the caller.

* RDS generates the password (moto's is the fixed ``P@55w0rd!``) and turns rotation on, every seven days
  by default (Aurora User Guide, rds-secrets-manager); deleting the database deletes its secret (moto).
* Turning management on needs the caller's own permission for what RDS then does in Secrets Manager
  (checked at the request boundary, :mod:`.iam`).
* ``MasterUserSecretKmsKeyId``, in any form, must be a key Secrets Manager may use for the caller
  (``kms:CreateGrant``, ``kms:DescribeKey``, ``kms:Decrypt``, ``kms:GenerateDataKey``; AUR-SM) and is
  reported as the key ARN.
* ``ManageMasterUserPassword=True`` on a database whose password is already managed changes nothing: the
  secret stays, no second one is made. AWS documents no other outcome; this is the bed's decision.
* ``RestoreDBInstanceFromDBSnapshot.ManageMasterUserPassword`` "Applies to RDS for Oracle only" (botocore
  model): for other engines the restored instance gets no secret (terraform-provider-aws #31509).
"""

from __future__ import annotations

import json
import secrets
import string
from collections.abc import Callable
from typing import Any

from .caller import Caller
from .kms import use_for_service

__all__ = [
    "ORACLE_ENGINES",
    "create_secret_with_rotation",
    "generate_secret_string",
    "random_password",
    "resolve_secret_key",
]

ORACLE_ENGINES = ("oracle-ee", "oracle-ee-cdb", "oracle-se2", "oracle-se2-cdb")
ROTATION_DAYS = 7
SECRET_KEY_ACTIONS = ("kms:CreateGrant", "kms:DescribeKey", "kms:Decrypt", "kms:GenerateDataKey")
# Characters of generated master passwords: RDS forbids "/", "@", '"', "'" and spaces.
_PASSWORD_ALPHABET = string.ascii_letters + string.digits + "!#$%&()*+,-.:;<=>?[]^_{|}~"


def random_password(length: int = 28) -> str:
    """A password RDS would accept."""
    return "".join(secrets.choice(_PASSWORD_ALPHABET) for _ in range(length))


def generate_secret_string(self: Any) -> str:
    """``MasterUserSecret._generate_secret_string``: a generated password, as RDS does [AUR-SM]."""
    username = getattr(self.resource, "master_username", None) or "admin"
    return json.dumps({"username": username, "password": random_password()})


def create_secret_with_rotation(original: Callable[..., Any]) -> Callable[..., Any]:
    """``MasterUserSecret._create_secret`` that turns rotation on, every seven days [AUR-SM]."""

    def create(self: Any, kms_key_id: str | None) -> Any:
        secret = original(self, kms_key_id)
        secret.rotation_requested = True
        secret.rotation_enabled = True
        secret.auto_rotate_after_days = ROTATION_DAYS
        return secret

    return create


def resolve_secret_key(kwargs: dict[str, Any], caller: Caller, region: str) -> None:
    """``MasterUserSecretKmsKeyId`` checked for Secrets Manager and passed on as the key ARN."""
    key_ref = kwargs.get("master_user_secret_kms_key_id")
    if not key_ref or not kwargs.get("manage_master_user_password"):
        return
    key = use_for_service(key_ref, caller=caller, region=region, service="secretsmanager", actions=SECRET_KEY_ACTIONS)
    kwargs["master_user_secret_kms_key_id"] = str(key.arn)
