"""A share as a resumable job: :meth:`ShareJob.advance` does the next piece of work and says when to call again.

The job's state is plain JSON (:meth:`ShareJob.to_json`): the request, the plan and what the plan
read, what each step decided and made, where each wait stands, and the manifest so far. Nothing in
it is secret (ids, ARNs, states). Another process continues the job from that JSON with its own
sessions (:meth:`ShareJob.from_json`); :func:`~rdsshare.share_cluster_snapshot` is a loop of
``advance()`` and sleeps. No workflow engine is assumed: a scheduler, a queue or an engine calls
``advance()`` again after ``wait_seconds``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import attrs

from ._errors import InputError, PlanChangedError, PreflightError, RdsShareError
from ._events import Emitter, EventHook
from ._findings import Findings
from ._jobstate import PHASES
from ._kinds import CLUSTER, INSTANCE, SnapshotKind
from ._results import ShareResult
from ._share_step import share
from ._waiting import WaitPolicy

if TYPE_CHECKING:
    from ._cleanup import CleanupReport
    from ._flow import Flow
    from ._manifest import Manifest
    from ._plan import Decisions, Plan
    from ._session import AccountSession
    from ._slots import CopySlots
    from ._source_steps import SourceSteps

__all__ = ["Advance", "ShareJob"]

_log = logging.getLogger("rdsshare")


@attrs.frozen(kw_only=True)
class Advance:
    """What one :meth:`ShareJob.advance` call did: finished, or call again after ``wait_seconds``."""

    #: True when the job has finished (:attr:`ShareJob.result` is set)
    done: bool
    #: the phase the job is in now (``plan``, ``snapshot``, ``key``, ``copy``, ``share``, ``targets``,
    #: ``cleanup``, ``done``)
    phase: str
    #: seconds until the next call is useful (0 when done)
    wait_seconds: float = 0.0


class ShareJob:
    """One share (snapshot, key, copy, share, restores) as a job that can be advanced, saved and resumed.

    Build one with :meth:`ShareJob.start` (the arguments of :func:`~rdsshare.share_cluster_snapshot`)
    or :meth:`from_plan`; continue one with :meth:`from_json`. Sessions, the event hook and the wait
    policy belong to the process that advances it and are never saved.
    """

    def __init__(
        self,
        state: dict[str, Any],
        *,
        source: AccountSession,
        targets: Sequence[AccountSession],
        on_event: EventHook | None = None,
        wait: WaitPolicy | None = None,
        copy_slots: CopySlots | None = None,
    ) -> None:
        self.state = state
        self._source = source
        self._targets = list(targets)
        self._emit = Emitter(on_event)
        self._wait = wait or WaitPolicy()
        self._slots = copy_slots
        self._flow: Flow | None = None
        self._plan: Plan | None = None
        self._report: CleanupReport | None = None
        #: the targets that failed in this process, by account (their errors are also in the state)
        self._failures: dict[str, RdsShareError] = {}
        planned = list(state["request"]["target_account_ids"])
        given = [t.account_id for t in self._targets]
        if given != planned or source.account_id != state["source_account_id"]:
            raise InputError(
                f"this job is for {state['source_account_id']} -> {planned}, "
                f"the sessions are {source.account_id} -> {given}",
                step="input",
                fix="pass sessions of the job's accounts, targets in the job's order",
            )

    # -- making and saving ---------------------------------------------------------------------
    @classmethod
    def start(
        cls,
        *,
        source: AccountSession,
        target: AccountSession | None = None,
        targets: Sequence[AccountSession] | None = None,
        kind: str = "cluster",
        on_event: EventHook | None = None,
        wait: WaitPolicy | None = None,
        copy_slots: CopySlots | None = None,
        **request: Any,
    ) -> ShareJob:
        """A new job for the share :func:`~rdsshare.share_cluster_snapshot` (``kind="cluster"``) or
        :func:`~rdsshare.share_instance_snapshot` (``kind="instance"``) would make with these arguments.

        The input is checked here (:class:`~rdsshare.InputError`, before any AWS call that changes
        anything); the first :meth:`advance` plans, and stops with :class:`~rdsshare.PreflightError`
        if the plan has problems.
        """
        from ._request import prepare

        if kind not in ("cluster", "instance"):
            raise InputError(f"kind must be 'cluster' or 'instance', not {kind!r}", step="input", fix="kind='cluster'")
        return prepare(
            INSTANCE if kind == "instance" else CLUSTER,
            source=source,
            target=target,
            targets=targets,
            on_event=on_event,
            wait=wait,
            copy_slots=copy_slots,
            **request,
        )

    @classmethod
    def from_plan(
        cls,
        plan: Plan,
        *,
        source: AccountSession,
        target: AccountSession | None = None,
        targets: Sequence[AccountSession] | None = None,
        on_event: EventHook | None = None,
        wait: WaitPolicy | None = None,
        copy_slots: CopySlots | None = None,
    ) -> ShareJob:
        """A job that runs a reviewed plan: its first :meth:`advance` plans again and raises
        :class:`~rdsshare.PlanChangedError`, before any write, if a decision changed."""
        from ._planfile import request_arguments

        kind, arguments = request_arguments(plan, target=target, targets=targets)
        process: dict[str, Any] = {"on_event": on_event, "wait": wait, "copy_slots": copy_slots}
        job = cls.start(source=source, target=target, targets=targets, kind=kind, **process, **arguments)
        job.state["expected"] = json.loads(plan.to_json())
        return job

    def to_json(self) -> str:
        """The job's state as JSON (no secrets): :meth:`from_json` continues it, in any process."""
        if self._flow is not None:
            self.state["found"] = self._flow.found.to_dict()
        return json.dumps(self.state, indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_json(
        cls,
        text: str | bytes,
        *,
        source: AccountSession,
        target: AccountSession | None = None,
        targets: Sequence[AccountSession] | None = None,
        on_event: EventHook | None = None,
        wait: WaitPolicy | None = None,
        copy_slots: CopySlots | None = None,
    ) -> ShareJob:
        """The job :meth:`to_json` saved, to be advanced with these sessions (of the job's accounts)."""
        from ._jobstate import read_state

        state = read_state(text)
        sessions = [target] if target is not None else list(targets or ())
        return cls(state, source=source, targets=sessions, on_event=on_event, wait=wait, copy_slots=copy_slots)

    # -- where it stands -----------------------------------------------------------------------
    @property
    def phase(self) -> str:
        """The phase the job is in (see :class:`Advance`)."""
        return str(self.state["phase"])

    @property
    def done(self) -> bool:
        """Whether the job has finished."""
        return self.phase == "done"

    @property
    def run_name(self) -> str:
        """The run name the resource names derive from."""
        return str(self.state["run_name"])

    @property
    def plan(self) -> Plan | None:
        """The plan the job runs (None before the first :meth:`advance`)."""
        if self._plan is None and "plan" in self.state.get("data", {}):
            from ._planfile import plan_from_json

            self._plan = plan_from_json(json.dumps(self.state["data"]["plan"]))
        return self._plan

    def manifest(self) -> Manifest:
        """What the job created, adopted or changed so far (for :func:`rdsshare.cleanup`)."""
        return self.flow.manifest()

    @property
    def result(self) -> ShareResult:
        """What the share produced; :class:`~rdsshare.InputError` before the job is done."""
        if not self.done:
            raise InputError(
                f"the job is not done (phase {self.phase})", step="job", fix="call advance() until it returns done"
            )
        return self._result()

    # -- doing ---------------------------------------------------------------------------------
    @property
    def flow(self) -> Flow:
        """The steps, wired to this process's sessions (built on first use)."""
        if self._flow is None:
            from ._flow import Flow  # the run's code loads with the first job, not with ``import rdsshare``
            from ._pull import follow

            self._flow = Flow(
                source=self._source,
                targets=self._targets,
                run=self.run_name,
                token=str(self.state["run_token"]),
                emit=self._emit,
                wait=self._wait,
                specs=self.specs(),
                state=self.state,
                slots=self._slots,
                kind=self.kind,
            )
            if "found" in self.state:
                self._flow.found = Findings.from_dict(self.state["found"])
            follow(self._flow, self.plan)  # where the plan decided to share
        return self._flow

    @property
    def kind(self) -> SnapshotKind:
        """Which kind of snapshot the job shares."""
        return INSTANCE if self.state["kind"] == "instance" else CLUSTER

    def specs(self) -> dict[str, Any]:
        """The restore spec of each target that has one, from the request."""
        from ._planfile import spec_type

        kind = spec_type(self.kind)
        return {account: kind(**spec) for account, spec in (self.state["request"].get("restore") or {}).items() if spec}

    def make_plan(self) -> Plan:
        """Plan with read-only calls (a dry run); the job's first :meth:`advance` starts with this."""
        from ._planfile import plan_document
        from ._pull import follow

        request = self.state["request"]
        flow = self.flow
        specs = flow.specs
        tgt = flow.tgt
        checks = flow.preflight()
        plan: Plan = checks.check(
            cluster_id=request.get(f"{self.kind.name}_id"),
            snapshot_id=request.get("snapshot_id"),
            restore=specs.get(tgt),
            source_kms_key=request.get("source_kms_key"),
            admins=tuple(request.get("key_admin_principals") or ()),
            cross_region_copy=str(request.get("cross_region_copy") or "auto"),
            more_targets=[(t, flow.restorers[t.account_id], specs.get(t.account_id)) for t in self._targets[1:]],
        )
        plan = attrs.evolve(plan, kind=self.kind.name, request={k: v for k, v in request.items() if k != "source"})
        self.state["resuming"] = checks.resuming
        self.state.setdefault("data", {})["plan"] = plan_document(plan)
        self._plan = plan
        follow(flow, plan)
        return plan

    def advance(self) -> Advance:
        """Do the next piece of work without sleeping; return when the job should be called again.

        A failure raises the step's :class:`~rdsshare.RdsShareError` (with ``.manifest``, what the job
        made so far); the job stays where it failed, and a later :meth:`advance` tries that piece again.
        """
        try:
            return self._advance()
        except (RdsShareError, KeyboardInterrupt) as exc:
            # What was made so far, so that a failed run can be cleaned up (or resumed and then cleaned up).
            exc.manifest = self.flow.manifest()  # type: ignore[union-attr]  # KeyboardInterrupt gets it too
            if self._flow is not None:
                self._flow.release_slots()
            self.release_reservation(made=self.phase != "plan")
            raise

    def _advance(self) -> Advance:
        request = self.state["request"]
        while not self.done:
            phase = self.phase
            delay: float | None = None
            if phase == "plan":
                self._planned(self.make_plan())
            elif phase == "snapshot":
                delay = _source_side(self.flow).snapshot(self._decisions(), request)
            elif phase == "key":
                _source_side(self.flow).key(self._decisions(), admins=tuple(request.get("key_admin_principals") or ()))
            elif phase == "copy":
                delay = _source_side(self.flow).copy(self._decisions())
            elif phase == "share" and not share(self.flow, self._decisions()):
                self.state["data"]["refused"], self.state["phase"] = True, "key"  # RDS refused: the plan's other path
                continue
            elif phase == "targets":
                delay = self._advance_targets()
            elif phase == "cleanup":
                self._cleanup()
            if delay is not None:
                return Advance(done=False, phase=phase, wait_seconds=delay)
            self.state["phase"] = PHASES[PHASES.index(phase) + 1]
        self.release_reservation(made=True)
        return Advance(done=True, phase="done")

    def _decisions(self) -> Decisions:
        plan = self.plan
        if plan is None or plan.decisions is None:  # a plan without problems always decided
            raise InputError("the job's plan has no decisions", step="job", fix="start a new job")
        refused = self.state.get("data", {}).get("refused") and plan.decisions.if_refused
        return refused or plan.decisions

    def release_reservation(self, *, made: bool = False) -> None:
        """End the manual snapshots this job's plan reserved in the copy slots (``made``: it wrote some)."""
        if self._slots is not None:
            self._slots.release_snapshots(str(self.state["run_token"]), made=made)

    def _planned(self, plan: Plan) -> None:
        expected = self.state.get("expected")
        if expected is not None:
            from ._planfile import changes, plan_from_json

            changed = changes(plan_from_json(json.dumps(expected)), plan)
            if changed:
                self.release_reservation()
                raise PlanChangedError(changed)
        if not plan.ok:
            self.release_reservation()  # it writes nothing: the quota it would have used is free again
            raise PreflightError(plan)

    def _advance_targets(self) -> float | None:
        from ._jobstate import advance_all

        return advance_all(self.flow, self._targets, self._failures, result=self._result)

    def _cleanup(self) -> None:
        from ._jobstate import clean_intermediates

        self._report = clean_intermediates(self.flow, self._targets, self._emit) or self._report

    def _result(self) -> ShareResult:
        from ._jobstate import build_result

        return build_result(self.flow, self._targets, report=self._report)


def _source_side(flow: Flow) -> SourceSteps:
    from ._source_steps import SourceSteps  # loaded with the first run, not the import

    return SourceSteps(flow)
