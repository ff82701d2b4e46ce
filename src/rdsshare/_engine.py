"""What the workflow-engine integrations share (:mod:`rdsshare.temporal`, :mod:`rdsshare.aws_lambda`).

An engine carries a share as plain values: the request (the keyword arguments of
:meth:`ShareJob.start`, restore specs as dicts), the job's state (:meth:`ShareJob.to_json`, no
secrets), and, when a step fails, the error as :meth:`RdsShareError.to_dict`. This module turns those
into a job and back, advances it once, and says which failures waiting cures (the engine then retries
with its own durable timers) and which are final (the engine fails the share with the typed error).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import attrs

from ._errors import CredentialsExpiredError, InputError, QuotaExceededError, RdsShareError
from ._schedule import WaitPolicy

if TYPE_CHECKING:
    from ._job import ShareJob
    from ._results import ShareResult
    from ._session import AccountSession

__all__ = [
    "ENGINE_WAIT",
    "SessionFor",
    "advance_once",
    "job_of",
    "profile_sessions",
    "result_to_dict",
    "retry_after",
    "role_sessions",
]

#: (account id, region or None) -> the session of that account, made by the worker from its own
#: environment (a profile, a role): credentials never travel with the request or the job.
SessionFor = Callable[[str, "str | None"], "AccountSession"]

#: An engine's wait policy: a call refused by something waiting cures (the copy quota, a busy
#: resource) is not retried inside it; the engine tries the step again on a durable timer, so no
#: worker thread sleeps on a refusal.
ENGINE_WAIT = WaitPolicy(retry_for=timedelta(0))


_ACCOUNT = re.compile(r"[0-9]{12}")
#: the share's own arguments of ShareJob.start (rdsshare._request.prepare), as an engine passes them
_REQUEST_ARGUMENTS = frozenset(
    {
        "source_id",
        "cluster_id",
        "instance_id",
        "snapshot_id",
        "restore",
        "run_name",
        "source_kms_key",
        "key_admin_principals",
        "cleanup",
        "cross_region_copy",
    }
)


def _busy_codes() -> frozenset[str]:
    """The codes of a resource busy with another operation, and of throttling: the ones the steps
    themselves retry (the kinds' busy codes, the secret hand-over's, botocore's transient ones)."""
    from ._kinds import CLUSTER, INSTANCE
    from ._secret import BUSY_CODES
    from ._waiting import TRANSIENT_CODES

    return frozenset(CLUSTER.busy_codes) | frozenset(INSTANCE.busy_codes) | frozenset(BUSY_CODES) | TRANSIENT_CODES


def _spec(kind: str, values: Any) -> Any:
    from ._kinds import CLUSTER, INSTANCE
    from ._planfile import spec_type

    if values is None:
        return None
    if not isinstance(values, Mapping):
        raise InputError(
            f"restore must be a mapping of restore spec fields, got {type(values).__name__}",
            step="input",
            fix="restore={'cluster_id': 'orders', 'instance_class': 'db.r6g.large', 'subnet_group': 'app'}",
        )
    spec = spec_type(INSTANCE if kind == "instance" else CLUSTER)
    try:
        return spec(**values)
    except TypeError as exc:  # a missing or unknown field
        raise InputError(
            f"restore: {exc}".replace(f"{spec.__name__}.__init__()", spec.__name__),
            step="input",
            fix=f"give the fields of {spec.__name__} (see its docs)",
        ) from exc


def job_arguments(kind: str, arguments: Mapping[str, Any]) -> dict[str, Any]:
    """:meth:`ShareJob.start`'s keyword arguments from plain values: ``restore`` is a dict of spec
    fields (one target) or a mapping of target account ids to such dicts (several)."""
    out = dict(arguments)
    restore = out.get("restore")
    if isinstance(restore, Mapping) and restore and all(_ACCOUNT.fullmatch(str(k)) for k in restore):
        out["restore"] = {str(k): _spec(kind, v) for k, v in restore.items()}
    elif restore is not None:
        out["restore"] = _spec(kind, restore)
    for name in ("on_event", "wait", "copy_slots", "source", "target", "targets", "kind"):
        if name in out:
            raise InputError(
                f"{name!r} is not a request argument here: the worker provides it",
                step="input",
                fix=f"remove {name!r} from the request's arguments",
            )
    unknown = sorted(set(out) - _REQUEST_ARGUMENTS)
    if unknown:
        raise InputError(
            f"unknown request argument(s): {', '.join(unknown)}",
            step="input",
            fix=f"use the arguments of ShareJob.start: {', '.join(sorted(_REQUEST_ARGUMENTS))}",
        )
    return out


def job_of(
    *,
    kind: str,
    source: AccountSession,
    targets: Sequence[AccountSession],
    arguments: Mapping[str, Any],
    job: str | None,
    on_event: Any = None,
    wait: WaitPolicy | None = None,
) -> ShareJob:
    """The job a request describes: continued from ``job`` (its saved state) or started afresh."""
    from ._job import ShareJob

    process: dict[str, Any] = {"on_event": on_event, "wait": wait or ENGINE_WAIT}
    if job is not None:
        return ShareJob.from_json(job, source=source, targets=list(targets), **process)
    many = {"targets": list(targets)} if len(targets) > 1 else {"target": targets[0]}
    return ShareJob.start(source=source, kind=kind, **many, **process, **job_arguments(kind, arguments))


def advance_once(job: ShareJob) -> dict[str, Any]:
    """Advance ``job`` once: its new state, whether it is done, its phase, the pause until the next
    advance and, when done, its result as plain values.

    A failure that waiting cures (:func:`retry_after`) does not raise: the answer carries the job's
    state as it stands after the failure (the piece that failed is tried again by the next advance,
    and so is a target whose failure this advance reported), the error (``error``, as
    :meth:`RdsShareError.to_dict`), what the job has made so far (``manifest``) and the pause before
    trying again. Any other rdsshare failure raises; so does anything that is not rdsshare's.
    """
    try:
        step = job.advance()
    except RdsShareError as exc:
        delay = retry_after(exc)
        if delay is None:
            raise
        return {
            "job": _compact(job.to_json()),
            "done": False,
            "phase": job.phase,
            "wait_seconds": delay,
            "result": None,
            "error": exc.to_dict(),
            "manifest": exc.manifest.to_dict() if exc.manifest is not None else None,
        }
    out: dict[str, Any] = {
        "job": _compact(job.to_json()),
        "done": step.done,
        "phase": step.phase,
        "wait_seconds": float(step.wait_seconds),
        "result": result_to_dict(job.result) if step.done else None,
        "error": None,
        "manifest": None,
    }
    return out


def _compact(text: str) -> str:
    """The job's state without indentation: an engine stores it with every step."""
    return json.dumps(json.loads(text), separators=(",", ":"), sort_keys=True)


def result_to_dict(result: ShareResult) -> dict[str, Any]:
    """A :class:`ShareResult` as plain JSON values (its manifest included, as :meth:`Manifest.to_dict`)."""

    def keep(field: attrs.Attribute[Any], _value: Any) -> bool:
        return field.name not in ("manifest", "cleanup_report")

    out: dict[str, Any] = json.loads(json.dumps(attrs.asdict(result, filter=keep)))
    out["manifest"] = result.manifest.to_dict() if result.manifest is not None else None
    return out


def retry_after(exc: BaseException) -> float | None:
    """Seconds after which the step that raised ``exc`` is worth trying again, or None when trying
    again cannot help (bad input, a missing grant, a quota that waiting does not free...).

    Waiting cures: 5 copies already in flight (``SnapshotQuotaExceeded`` about copies; the
    100-manual-snapshots quota is final), a resource busy with another operation, throttling, and
    expired credentials (the worker's session makes new ones). Anything that is not an rdsshare
    error (a dropped connection, a worker that died) is the engine's to retry.
    """
    if not isinstance(exc, RdsShareError):
        return 5.0
    if isinstance(exc, CredentialsExpiredError):
        return 5.0
    if isinstance(exc, QuotaExceededError):
        from ._copier import is_copy_quota

        copy_codes = ("SnapshotQuotaExceeded", "SnapshotQuotaExceededFault")
        return 60.0 if exc.error_code in copy_codes and is_copy_quota(exc.message) else None
    if exc.error_code in _busy_codes():
        return 30.0
    return None


def profile_sessions(profiles: Mapping[str, str]) -> SessionFor:
    """Sessions from named AWS profiles of the worker's machine (or the function's package):
    ``{account id: profile name}``."""
    from ._session import AccountSession

    def make(account_id: str, region: str | None) -> AccountSession:
        return AccountSession.from_profile(_known(profiles, account_id), region=region)

    return make


def role_sessions(roles: Mapping[str, str], *, base: AccountSession | None = None) -> SessionFor:
    """Sessions that assume a role per account (``{account id: role ARN}``) from the worker's own
    credentials (``base``: from this session instead); they refresh themselves."""
    from ._session import AccountSession

    def make(account_id: str, region: str | None) -> AccountSession:
        extra: dict[str, Any] = {"base": base} if base is not None else {}
        return AccountSession.from_role(_known(roles, account_id), region=region, **extra)

    return make


def _known(by_account: Mapping[str, str], account_id: str) -> str:
    if account_id not in by_account:
        raise InputError(
            f"this worker has no credentials for account {account_id}",
            step="session",
            account_id=account_id,
            fix="add the account to the worker's sessions (profile_sessions / role_sessions)",
        )
    return by_account[account_id]
