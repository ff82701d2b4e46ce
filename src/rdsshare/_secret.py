"""Hand a restored database's master password to the target's Secrets Manager, once.

Neither ``RestoreDBClusterFromSnapshot`` (it has no such parameter) nor, for engines other than RDS for
Oracle, ``RestoreDBInstanceFromDBSnapshot`` ("Constraints: Applies to RDS for Oracle only") gives the
restored database a managed secret (botocore model; terraform-provider-aws #31509). A modify after the
restore does: ``ModifyDBCluster``/``ModifyDBInstance`` with ``ManageMasterUserPassword=True`` and
``ApplyImmediately``, and RDS generates a new password, so the source's stops working in the target
[AUR-SM].

The modify is not idempotent (a blind retry of one whose response was lost would hand the password over
twice), so botocore does not retry it (the restorers switch its retries off) and this looks for the
secret before trying again.
"""

from __future__ import annotations

from collections.abc import Callable

from botocore.exceptions import BotoCoreError, ClientError

from ._errors import translate_client_error
from ._events import Emitter, Outcome, StepFinished, StepStarted
from ._waiting import is_transient, retry_call, sleep

__all__ = ["BUSY_CODES", "BUSY_SECONDS", "NON_IDEMPOTENT_ATTEMPTS", "hand_over_secret"]

BUSY_CODES = ("InvalidDBClusterStateFault", "InvalidDBInstanceStateFault", "InvalidDBInstanceState")
BUSY_SECONDS = 3600.0
NON_IDEMPOTENT_ATTEMPTS = 5


def hand_over_secret(
    *,
    modify: Callable[[], object],
    current_secret: Callable[[], str | None],
    wait_for_secret: Callable[[], str] | None,
    known_secret: str | None,
    account_id: str,
    resource: str,
    emit: Emitter,
) -> tuple[str | None, Outcome]:
    """Adopt the database's managed secret, or turn management on and wait for the secret.

    ``known_secret`` is the secret as the caller last described the database (None: none then);
    ``current_secret`` reads it now; ``modify`` makes the one ``Modify*`` call; ``wait_for_secret``
    polls until the database is available with its secret and returns the secret's ARN; without it
    (a resumable job polls between its calls) this returns ``(None, "created")`` right after the modify.
    """
    step = "secret"
    if known_secret:
        emit(StepFinished(step=step, account_id=account_id, resource=resource, outcome="adopted", arn=known_secret))
        return known_secret, "adopted"
    emit(StepStarted(step=step, account_id=account_id, resource=resource, action="manage master password"))

    def modify_once() -> None:
        for attempt in range(1, NON_IDEMPOTENT_ATTEMPTS + 1):
            try:
                modify()
                return
            except (ClientError, BotoCoreError) as exc:
                if not is_transient(exc) or attempt == NON_IDEMPOTENT_ATTEMPTS:
                    raise
                sleep(float(attempt))
                if current_secret():
                    return

    try:
        retry_call(
            modify_once,
            retry_codes=BUSY_CODES,
            step=step,
            account_id=account_id,
            resource=resource,
            emit=emit,
            max_seconds=BUSY_SECONDS,
        )
    except ClientError as exc:
        if not current_secret():
            raise translate_client_error(exc, step=step, account_id=account_id, resource=resource) from exc
    if wait_for_secret is None:
        return None, "created"
    secret = wait_for_secret()
    emit(StepFinished(step=step, account_id=account_id, resource=resource, outcome="created", arn=secret))
    return secret, "created"
