"""Plan files, as Terraform has them: review a plan, save it, apply exactly it later.

``share_cluster_snapshot(..., dry_run=True)`` returns a :class:`~rdsshare.Plan` that also records
the request it was made for (ids, names, restore specs: never a secret). ``plan.to_json()`` saves
it, ``Plan.from_json()`` reads it back, and ``plan.apply(source=..., target=...)`` runs that same
request: it plans again with read-only calls and refuses, before any write, when a decision the
reviewed plan showed has changed (the snapshot, a key, the target's state), saying what changed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs

from ._errors import InputError

if TYPE_CHECKING:
    from ._events import EventHook
    from ._kinds import SnapshotKind
    from ._plan import Plan
    from ._results import ShareResult
    from ._session import AccountSession
    from ._slots import CopySlots
    from ._waiting import WaitPolicy

__all__ = ["PLAN_FORMAT", "PLAN_VERSION", "apply_plan", "changes", "plan_from_json", "plan_to_json", "spec_to_dict"]

PLAN_FORMAT = "rdsshare-plan"
#: Version 1: run name, accounts, region, kind, the request, steps and problems.
PLAN_VERSION = 1


def spec_to_dict(spec: Any) -> dict[str, Any] | None:
    """A restore spec as plain JSON values (None stays None)."""
    if spec is None:
        return None
    plain: dict[str, Any] = json.loads(json.dumps(attrs.asdict(spec)))
    return plain


def spec_type(kind: SnapshotKind) -> type[Any]:
    """The restore spec class of a kind of snapshot."""
    from ._specs import ClusterRestoreSpec, InstanceRestoreSpec

    return InstanceRestoreSpec if kind.name == "instance" else ClusterRestoreSpec


def plan_to_json(plan: Plan) -> str:
    """``plan`` as versioned JSON (sorted keys, two-space indent)."""
    return json.dumps(plan_document(plan), indent=2, sort_keys=True) + "\n"


def plan_document(plan: Plan) -> dict[str, Any]:
    """``plan`` as the plain values of a plan file."""
    return {
        "format": PLAN_FORMAT,
        "version": PLAN_VERSION,
        "run_name": plan.run_name,
        "kind": plan.kind,
        "source_account_id": plan.source_account_id,
        "target_account_id": plan.target_account_id,
        "region": plan.region,
        "request": dict(plan.request),
        "steps": [attrs.asdict(s) for s in plan.steps],
        "problems": [attrs.asdict(p) for p in plan.problems],
        "decisions": None if plan.decisions is None else attrs.asdict(plan.decisions),
    }


def plan_from_json(text: str | bytes) -> Plan:
    """The :class:`~rdsshare.Plan` in ``text``; :class:`~rdsshare.InputError` if it is not one."""
    from ._plan import Decisions, Plan, PlanStep, Problem

    try:
        document = json.loads(text)
    except ValueError as exc:
        raise InputError(
            f"not a plan file: {exc}", step="input", fix="pass a file 'rdsshare share --dry-run --out' wrote"
        ) from exc
    if not isinstance(document, Mapping) or document.get("format") != PLAN_FORMAT:
        raise InputError(
            "not an rdsshare plan file", step="input", fix="pass a file 'rdsshare share --dry-run --out' wrote"
        )
    if document.get("version") != PLAN_VERSION:
        raise InputError(
            f"plan file version {document.get('version')!r} is not one this rdsshare reads ({PLAN_VERSION})",
            step="input",
            fix="plan again with this version of rdsshare",
        )
    try:
        return Plan(
            run_name=document["run_name"],
            kind=document["kind"],
            source_account_id=document["source_account_id"],
            target_account_id=document["target_account_id"],
            region=document["region"],
            request=document["request"],
            steps=tuple(PlanStep(**s) for s in document["steps"]),
            problems=tuple(Problem(**p) for p in document["problems"]),
            decisions=Decisions.from_dict(document["decisions"]) if document.get("decisions") else None,
        )
    except (KeyError, TypeError) as exc:
        raise InputError(
            f"plan file is incomplete: {exc}", step="input", fix="plan again and save the new file"
        ) from exc


def changes(reviewed: Plan, now: Plan) -> list[str]:
    """What differs between the reviewed plan and the one made at apply time, one line each."""
    out: list[str] = []
    for label, a, b in (
        ("source account", reviewed.source_account_id, now.source_account_id),
        ("target account", reviewed.target_account_id, now.target_account_id),
        ("region", reviewed.region, now.region),
    ):
        if a != b:
            out.append(f"{label}: planned {a}, now {b}")
    before = {(s.step, s.account_id, s.resource): s for s in reviewed.steps}
    after = {(s.step, s.account_id, s.resource): s for s in now.steps}
    for key, step in before.items():
        later = after.get(key)
        if later is None:
            out.append(f"{step.step} {step.resource}: planned to {step.action} ({step.reason}), now not a step")
        elif (later.action, later.reason) != (step.action, step.reason):
            out.append(
                f"{step.step} {step.resource}: planned to {step.action} ({step.reason}), "
                f"now {later.action} ({later.reason})"
            )
    for key, step in after.items():
        if key not in before:
            out.append(f"{step.step} {step.resource}: now {step.action} ({step.reason}), not in the plan")
    out += [f"new problem: {p}" for p in now.problems if p not in reviewed.problems]
    if reviewed.decisions is not None and now.decisions != reviewed.decisions and not out:
        out.append(f"decisions: planned {reviewed.decisions}, now {now.decisions}")
    return out


def request_arguments(
    plan: Plan, *, target: AccountSession | None, targets: Sequence[AccountSession] | None
) -> tuple[str, dict[str, Any]]:
    """The kind and the share's keyword arguments that ``plan`` was made for."""
    if not plan.ok:
        raise InputError(
            f"the plan has {len(plan.problems)} problem(s); a real run would not start",
            step="apply",
            fix="fix them, plan again and apply the new plan",
        )
    request = plan.request
    if not request:
        raise InputError(
            "this plan records no request (it was not made by a dry run of this rdsshare)",
            step="apply",
            fix="plan again with share_cluster_snapshot(..., dry_run=True) or rdsshare share --dry-run --out",
        )
    from ._kinds import CLUSTER, INSTANCE

    kind = INSTANCE if plan.kind == "instance" else CLUSTER
    make = spec_type(kind)
    specs = {account: make(**spec) for account, spec in dict(request.get("restore") or {}).items() if spec}
    planned_targets = list(request.get("target_account_ids") or [plan.target_account_id])
    if targets is None and target is not None and len(planned_targets) == 1:
        restore: Any = specs.get(planned_targets[0])
    else:
        restore = specs or None
    return kind.name, {
        f"{kind.name}_id": request.get(f"{kind.name}_id"),
        "snapshot_id": request.get("snapshot_id"),
        "restore": restore,
        "run_name": request.get("run_name"),
        "source_kms_key": request.get("source_kms_key"),
        "key_admin_principals": tuple(request.get("key_admin_principals") or ()),
        "cleanup": request.get("cleanup", "none"),
        "cross_region_copy": request.get("cross_region_copy", "auto"),
    }


def apply_plan(
    plan: Plan,
    *,
    source: AccountSession,
    target: AccountSession | None,
    targets: Sequence[AccountSession] | None,
    on_event: EventHook | None,
    wait: WaitPolicy | None,
    copy_slots: CopySlots | None,
) -> ShareResult:
    """:meth:`Plan.apply`: the plan's request, run only if a fresh plan decides the same."""
    from ._api import run_to_end
    from ._job import ShareJob

    job = ShareJob.from_plan(
        plan, source=source, target=target, targets=targets, on_event=on_event, wait=wait, copy_slots=copy_slots
    )
    return run_to_end(job)
