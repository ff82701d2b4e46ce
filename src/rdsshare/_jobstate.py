"""A job's state as JSON: its format, its phases, reading it back, and the result it ends with."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs

from ._errors import InputError, RdsShareError
from ._naming import new_run_token
from ._results import ShareResult, TargetResult
from ._target_steps import TargetSteps

if TYPE_CHECKING:
    from ._cleanup import CleanupReport
    from ._events import Emitter
    from ._flow import Flow
    from ._kinds import SnapshotKind
    from ._session import AccountSession

__all__ = ["JOB_FORMAT", "JOB_VERSION", "PHASES", "advance_all", "build_result", "new_state", "read_state"]

JOB_FORMAT = "rdsshare-job"
#: Version 1: request, run token, plan, findings, per-step data, waits, manifest entries.
JOB_VERSION = 1

#: the job's phases, in order
PHASES = ("plan", "snapshot", "key", "copy", "share", "targets", "cleanup", "done")


def new_state(
    kind: SnapshotKind,
    *,
    source_account_id: str,
    region: str,
    run_name: str,
    request: Mapping[str, Any],
) -> dict[str, Any]:
    """The state of a job not started yet (the facade's input checks passed)."""
    return {
        "format": JOB_FORMAT,
        "version": JOB_VERSION,
        "kind": kind.name,
        "source_account_id": source_account_id,
        "region": region,
        "run_name": run_name,
        "run_token": new_run_token(),
        "request": dict(request),
        "phase": "plan",
    }


def read_state(text: str | bytes) -> dict[str, Any]:
    """The state in ``text`` (what :meth:`ShareJob.to_json` wrote); :class:`~rdsshare.InputError` if it is not one."""
    try:
        state = json.loads(text)
    except ValueError as exc:
        raise InputError(f"not a job file: {exc}", step="input", fix="pass what ShareJob.to_json() wrote") from exc
    if not isinstance(state, dict) or state.get("format") != JOB_FORMAT:
        raise InputError("not an rdsshare job", step="input", fix="pass what ShareJob.to_json() wrote")
    if state.get("version") != JOB_VERSION:
        raise InputError(
            f"job version {state.get('version')!r} is not one this rdsshare reads ({JOB_VERSION})",
            step="input",
            fix="advance it with the rdsshare version that started it",
        )
    return state


def build_result(flow: Flow, sessions: Sequence[AccountSession], *, report: CleanupReport | None) -> ShareResult:
    """What a finished job produced, from its state."""

    K = flow.kind
    data = flow.data
    per_target: list[TargetResult] = [TargetSteps.of(flow, s).result() for s in sessions]
    first = per_target[0]
    key = data.get("copy_key") or data.get("key")
    if report is None and "cleanup_report" in data:
        from ._cleanup import CleanupAction, CleanupReport

        saved = data["cleanup_report"]
        report = CleanupReport(dry_run=saved["dry_run"], actions=tuple(CleanupAction(**a) for a in saved["actions"]))
    return ShareResult(
        run_name=flow.run_name,
        region=flow.region,
        source_account_id=flow.src,
        target_account_id=flow.tgt,
        source_snapshot_arn=K.arn(data["start"]),
        shared_snapshot_arn=K.arn(data["shared"]),
        source_kms_key_arn=key["arn"] if key else None,
        data_copies=int(data.get("copies", 0)) + max(t.data_copies for t in per_target),
        target_cluster_arn=first.target_cluster_arn,
        target_instance_arn=first.target_instance_arn,
        target_snapshot_arn=first.target_snapshot_arn,
        target_kms_key_arn=first.target_kms_key_arn,
        master_user_secret_arn=first.master_user_secret_arn,
        instance_arns=first.instance_arns,
        backup_snapshot_arn=first.backup_snapshot_arn,
        targets=tuple(per_target),
        created=tuple(flow.state.get("created", ())),
        adopted=tuple(flow.state.get("adopted", ())),
        manifest=flow.manifest(),
        cleanup_report=report,
    )


def advance_all(
    flow: Flow,
    sessions: Sequence[AccountSession],
    failures: dict[str, RdsShareError],
    *,
    result: Callable[[], ShareResult],
) -> float | None:
    """One piece of work for every target still going: they proceed side by side, each in its own account.

    All targets (at most 20, AWS's share limit) go at once: each restores in its own account, so no AWS
    quota is shared between them, and a round makes one poll per target still waiting. A target that
    fails stops only itself (``failures`` keeps its error in this process; the state keeps it too); once
    the others have settled, the first failure is raised (with ``.result``, what every target got), and
    the next call tries the failed targets again.
    """
    from ._errors import error_from_dict

    states: dict[str, dict[str, Any]] = flow.state.setdefault("targets", {})
    delays: list[float] = []
    for session in sessions:
        account = session.account_id
        t = states.setdefault(account, {})
        if t.get("done") or "error" in t:
            continue
        try:
            delay = TargetSteps.of(flow, session).advance()
        except RdsShareError as exc:
            t["error"] = exc.to_dict()
            failures[account] = exc
            continue
        if delay is None:
            t["done"] = True
        else:
            delays.append(delay)
    if delays:
        return min(delays)
    failed = [s.account_id for s in sessions if "error" in states.get(s.account_id, {})]
    if not failed:
        return None
    error = failures.get(failed[0]) or error_from_dict(states[failed[0]]["error"])
    error.result = result()  # type: ignore[attr-defined]
    for account in failed:  # the next call tries them again
        states[account].pop("error")
    raise error


def clean_intermediates(flow: Flow, sessions: Sequence[AccountSession], emit: Emitter) -> CleanupReport | None:
    """``cleanup="intermediates"``: unshare and delete the intermediate snapshots once the restores are up."""
    if flow.state["request"].get("cleanup") != "intermediates":
        return None
    from ._cleanup import cleanup as run_cleanup  # only runs that clean up pay for importing it

    report = run_cleanup(
        flow.manifest(),
        source=flow.source,
        target=sessions[0],
        targets=sessions[1:],
        on_event=emit,
        _scope="intermediates",
    )
    # The run's own snapshot went as soon as its copy was available: say so, not "gone".
    early = {a["resource"]: a for a in flow.data.get("dropped", ()) if a["status"] == "done"}
    if early:
        from ._cleanup import CleanupAction

        why = "deleted as soon as its copy was available"
        actions = [
            CleanupAction(**{**early[a.resource], "reason": why}) if a.resource in early and a.status == "gone" else a
            for a in report.actions
        ]
        report = attrs.evolve(report, actions=tuple(actions))
    flow.state.setdefault("data", {})["cleanup_report"] = attrs.asdict(report)
    return report
