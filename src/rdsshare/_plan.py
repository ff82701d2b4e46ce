"""The plan: the steps a run would take and every problem, as preflight (:mod:`rdsshare._preflight`) found them.

``share_cluster_snapshot(..., dry_run=True)`` returns the :class:`Plan`; a real run builds the
same plan first and stops with :class:`PreflightError` before any change when it has problems.
A plan can be saved and applied later (:meth:`Plan.to_json`, :meth:`Plan.apply`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

import attrs

from ._errors import PreflightError

if TYPE_CHECKING:
    from ._events import EventHook
    from ._results import ShareResult
    from ._session import AccountSession
    from ._slots import CopySlots
    from ._waiting import WaitPolicy

__all__ = ["SHARE_KEY", "Action", "Decisions", "Plan", "PlanStep", "PreflightError", "Problem"]

Action = Literal["create", "adopt", "update", "skip", "delete"]

#: in :class:`Decisions`, rdsshare's own share key (``alias/rdsshare/share-key``), made on first use
SHARE_KEY = "share-key"


@attrs.frozen(kw_only=True)
class Decisions:
    """What the plan decided about the source side; the run carries it out and decides nothing again."""

    #: the snapshot the share starts from (taken by the run, or the one given)
    start_id: str
    #: the snapshot's own KMS key (ARN as the snapshot names it), None when it has none (unencrypted, sse-rds)
    snapshot_key: str | None = None
    #: the key whose policy gets the targets' grants: a key ARN or id, :data:`SHARE_KEY`, or None
    grant_key: str | None = None
    #: whether the start is copied before it is shared (a default key, an automated snapshot, another region)
    copy: bool = False
    #: the key the copy is made under (a key ARN or id, :data:`SHARE_KEY`), None to keep the snapshot's
    copy_key: str | None = None
    #: the snapshot shared with the targets: the start, or the copy
    shared_id: str = ""
    #: what the run does instead if RDS refuses to share the start as it is: an ``sse-rds`` snapshot
    #: (AWS owned key), which no AWS document says RDS shares; then one copy under a customer key
    if_refused: Decisions | None = None
    #: the run's own snapshot of the cluster was deleted once its copy was available
    #: (``cleanup="intermediates"``): a rerun goes on from that copy instead of snapshotting again
    start_gone: bool = False
    #: another region: the snapshot is shared in the source's region and each target copies it into its own
    #: region under its own key, in one step across account and region; False: the source copies it there
    pull: bool = False

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> Decisions:
        """Read ``attrs.asdict(decisions)`` back (a plan file)."""
        fields = dict(data)
        fallback = fields.pop("if_refused", None)
        return cls(**fields, if_refused=cls.from_dict(fallback) if isinstance(fallback, dict) else None)  # type: ignore[arg-type]


@attrs.frozen(kw_only=True)
class PlanStep:
    """What a step would do, and why."""

    step: str
    account_id: str
    action: Action
    resource: str
    reason: str

    def __str__(self) -> str:
        return f"{self.step:<11} {self.action:<7} {self.resource}  ({self.reason})"


@attrs.frozen(kw_only=True)
class Problem:
    """A check that failed: what is wrong and how to fix it."""

    check: str
    message: str
    fix: str
    account_id: str | None = None
    resource: str | None = None
    error_code: str | None = None

    def __str__(self) -> str:
        where = f" [{self.account_id}]" if self.account_id else ""
        return f"{self.check}{where}: {self.message.rstrip('.')}. Fix: {self.fix}"


@attrs.frozen(kw_only=True)
class Plan:
    """The outcome of a dry run: the steps a real run would take and every problem found."""

    run_name: str
    source_account_id: str
    target_account_id: str
    region: str
    steps: tuple[PlanStep, ...]
    problems: tuple[Problem, ...]
    #: ``"cluster"`` (Aurora cluster snapshots) or ``"instance"`` (RDS DB snapshots)
    kind: str = "cluster"
    #: what the plan was made for (ids, names, restore specs as plain values; never a secret):
    #: :meth:`apply` runs exactly this
    request: Mapping[str, Any] = attrs.field(factory=dict)
    #: the source-side decisions the run carries out (None when the checks could not get that far)
    decisions: Decisions | None = None

    def to_json(self) -> str:
        """The plan as a versioned JSON document (a plan file): see :meth:`from_json` and :meth:`apply`."""
        from ._planfile import plan_to_json

        return plan_to_json(self)

    @classmethod
    def from_json(cls, text: str | bytes) -> Plan:
        """The plan saved by :meth:`to_json`; :class:`~rdsshare.InputError` if ``text`` is not one."""
        from ._planfile import plan_from_json

        return plan_from_json(text)

    def apply(
        self,
        *,
        source: AccountSession,
        target: AccountSession | None = None,
        targets: Sequence[AccountSession] | None = None,
        on_event: EventHook | None = None,
        wait: WaitPolicy | None = None,
        copy_slots: CopySlots | None = None,
    ) -> ShareResult:
        """Run the reviewed plan with these sessions (of the plan's accounts).

        Plans again first, with read-only calls, and raises :class:`~rdsshare.PlanChangedError`
        before any write if a decision differs from this plan's (the snapshot, a key, what exists
        in the target), listing what changed. A plan with problems is refused.
        """
        from ._planfile import apply_plan

        return apply_plan(
            self, source=source, target=target, targets=targets, on_event=on_event, wait=wait, copy_slots=copy_slots
        )

    @property
    def ok(self) -> bool:
        """True when a real run would start (no problems)."""
        return not self.problems

    @property
    def data_copies(self) -> int:
        """Snapshot copies the run would create on the critical path: the source's, then one target's (as
        ``ShareResult.data_copies`` counts them)."""
        source = sum(1 for s in self.steps if s.step == "copy" and s.action == "create")
        per_target = Counter(s.account_id for s in self.steps if s.step == "target-copy" and s.action == "create")
        return source + max(per_target.values(), default=0)

    def __str__(self) -> str:
        lines = [
            f"Plan for run {self.run_name!r}: {self.source_account_id} -> {self.target_account_id} ({self.region})"
        ]
        lines += [f"  {s}" for s in self.steps]
        if self.problems:
            lines.append(f"{len(self.problems)} problem(s):")
            lines += [f"  - {p}" for p in self.problems]
        return "\n".join(lines)
