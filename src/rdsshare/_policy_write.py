"""Change a shared key policy by reference: read it, change it, write it, read it back until the change stands.

KMS has no conditional ``PutKeyPolicy``: another process (another rdsshare run, Terraform, a person) may
write the same key's policy between our read and our write and put its copy over ours, and one of the
two changes is then lost. Every change rdsshare makes to a key policy, the run's grants
(``KeyManager``) and cleanup's removals alike, goes through :func:`rewrite_key_policy`: it reads the
policy back after each write and applies its change again to whatever is there, until the change
stands or :data:`POLICY_WRITE_ATTEMPTS` writes were lost.
"""

from __future__ import annotations

import json
import logging
import random
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

from botocore.exceptions import ClientError

from ._errors import KeyPolicyError, translate_client_error
from ._waiting import sleep

if TYPE_CHECKING:
    from mypy_boto3_kms import KMSClient

__all__ = ["POLICY_WRITE_ATTEMPTS", "key_lock", "rewrite_key_policy"]

_log = logging.getLogger("rdsshare.keys")

#: Writes of a key policy before giving up on a writer that keeps replacing it.
POLICY_WRITE_ATTEMPTS = 5

_KEY_LOCKS: dict[tuple[str, str], threading.RLock] = {}
_KEY_LOCKS_GUARD = threading.Lock()


def key_lock(account_id: str, region: str) -> threading.RLock:
    """One lock per account and region for rdsshare's key work in this process.

    Concurrent shares (a batch) would otherwise each create a share key and race for its alias,
    and their read-modify-write of one key policy could lose a grant.
    """
    with _KEY_LOCKS_GUARD:
        return _KEY_LOCKS.setdefault((account_id, region), threading.RLock())


def _translated(step: str, account_id: str, resource: str) -> Callable[[Callable[[], Any]], Any]:
    def call(fn: Callable[[], Any]) -> Any:
        try:
            return fn()
        except ClientError as exc:
            raise translate_client_error(exc, step=step, account_id=account_id, resource=resource) from exc

    return call


def rewrite_key_policy(
    kms: KMSClient,
    key_id: str,
    current: str,
    *,
    change: Callable[[str], dict[str, Any]],
    check: Callable[[dict[str, Any]], None],
    missing: Callable[[str], str],
    step: str,
    account_id: str,
    resource: str,
    stands: Callable[[str], bool] | None = None,
    call: Callable[[Callable[[], Any]], Any] | None = None,
) -> Literal["unchanged", "updated"]:
    """Apply ``change`` to the key's ``default`` policy, ``current`` as read, until the change stands.

    A changed policy is checked (``check``: the lockout rule), put, and read back; the change stands
    when ``stands`` holds for what is read back (default: ``change`` leaves it as it is). ``call``
    wraps each KMS call (default: AWS errors become rdsshare's). ``unchanged``: nothing had to be
    written. Raises :class:`KeyPolicyError`, naming what ``missing`` says is not in place, when
    another writer replaced the policy after each of :data:`POLICY_WRITE_ATTEMPTS` writes.
    """
    call = call or _translated(step, account_id, resource)

    def put(policy: dict[str, Any]) -> None:
        call(lambda: kms.put_key_policy(KeyId=key_id, PolicyName="default", Policy=json.dumps(policy)))

    for attempt in range(1, POLICY_WRITE_ATTEMPTS + 1):
        changed = change(current)
        if changed == json.loads(current):
            return "unchanged" if attempt == 1 else "updated"
        check(changed)
        put(changed)
        # Read back: a writer that read before our write and wrote after it has put its copy over ours.
        current = str(call(lambda: kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"]))
        if stands(current) if stands is not None else change(current) == json.loads(current):
            return "updated"
        _log.info("key policy of %s changed under us; changing it again (attempt %d)", resource, attempt)
        sleep(random.uniform(0.2, 1.0) * attempt)  # noqa: S311 - spreading writers, not crypto
    raise KeyPolicyError(
        f"another writer keeps replacing the policy of {resource}; {missing(current)}",
        step=step,
        account_id=account_id,
        resource=resource,
        fix="rerun when the other writer (another rdsshare run, Terraform) is done",
    )
