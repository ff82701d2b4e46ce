"""Another region, one step: the target copies the shared snapshot from the source's region itself.

Since 2025-09 ``CopyDBClusterSnapshot`` and ``CopyDBSnapshot`` copy a snapshot shared from another account
and region in one step, under a ``KmsKeyId`` of the destination region (docs/sources/aws-rules-2.md, Copies).
When the plan decided it (``Decisions.pull``), the source shares its snapshot in its own region and each
target pulls one copy into its region under its own key: no source key is needed in the target's region,
and the copy is stored (and paid for) by the target. The target restores from that copy; cleanup deletes it
(``backup_copy=True`` keeps it, as the target's backup).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from ._findings import plain
from ._naming import derived_id, rds_tags, snapshot_name
from ._schedule import Observation

if TYPE_CHECKING:
    from ._copier import SnapshotCopier
    from ._flow import Flow
    from ._keys import KeyManager
    from ._kinds import SnapshotKind
    from ._plan import Plan
    from ._session import AccountSession
    from ._target_steps import TargetSteps

__all__ = ["SourceSides", "follow", "pull", "pulled_from", "pulled_id", "pulled_role", "pulls", "share_at_home"]


def follow(flow: Flow, plan: Plan | None) -> None:
    """Wire ``flow`` to where ``plan`` shares: in the source's own region when the targets pull."""
    if plan is not None and plan.decisions is not None and plan.decisions.pull:
        share_at_home(flow)


class SourceSides(Protocol):
    """The source side's helpers in each region: the flow's, or the plan's (``_preflight._ledger.Ledger``)."""

    source: AccountSession
    share_source: AccountSession
    copier: SnapshotCopier
    share_copier: SnapshotCopier
    home_keys: KeyManager
    keys: KeyManager


def share_at_home(sides: SourceSides) -> None:
    """The targets pull the snapshot (``Decisions.pull``): the source side shares it in its own region,
    and its key work is on the snapshot's own key there."""
    sides.share_source, sides.share_copier, sides.keys = sides.source, sides.copier, sides.home_keys


def pulls(flow: Flow) -> bool:
    """Whether each target copies the shared snapshot from the source's region itself."""
    return flow.cross_region and flow.share_source is flow.source


def pulled_from(flow: Flow) -> str | None:
    """The region the targets copy the shared snapshot from, when it is not theirs."""
    return flow.home_region if pulls(flow) else None


def pulled_id(kind: SnapshotKind, shared_arn: str) -> str:
    """The id of the target's own copy of the shared snapshot (the plan and the run name it alike)."""
    return derived_id(snapshot_name(shared_arn).removeprefix("rdsshare-"), "local", limit=kind.id_limit)


def pulled_role(spec: Any) -> str:
    """The manifest role of the target's pulled copy: kept as its backup, or an intermediate."""
    return "target-backup" if getattr(spec, "backup_copy", False) else "target-copy"


def pull(steps: TargetSteps) -> float | None:
    """The target's own copy of the shared snapshot, pulled from the source's region (None: ready or not needed)."""
    flow, t = steps.flow, steps.t
    if not pulls(flow) or t.get("pulled_ready"):
        return None
    K = flow.kind
    shared = flow.data["shared"]
    shared_arn = K.arn(shared)
    copier = flow.copier_for(steps.session)
    role = pulled_role(steps.spec)
    if "pulled" not in t:
        key = steps._key(True)
        flow.hold_slot(steps.account)
        pulled, outcome = steps._after_key_change(
            lambda: copier.ensure_copy(
                source_snapshot=shared_arn,
                target_id=pulled_id(K, shared_arn),
                kms_key_id=key.arn if key else None,
                tags=rds_tags(run=flow.run_name, source=shared_arn, role=role, token=flow.token),
                source=shared_arn,
                step="target-copy",
                source_region=flow.home_region,
                wait=False,
            ),
            step="target-copy",
            resource=shared_arn,
        )
        t["pulled"], t["pull_outcome"], t["copies"] = plain(pulled), outcome, 1
    pulled = t["pulled"]
    ident = K.ident(pulled)
    if pulled.get("Status") != "available":
        obs, seen = flow.poll(
            f"{steps.account}:target-copy",
            lambda fresh: copier.observe(ident, fresh),
            step="target-copy",
            account=steps.account,
            resource=ident,
        )
        if not isinstance(obs, Observation):
            return obs
        t["pulled"] = pulled = seen
    flow.release_slot(steps.account)
    copier.finished(ident, step="target-copy", outcome=t["pull_outcome"], snap=pulled)
    arn = pulled.get(K.arn_field)
    flow.record(t["pull_outcome"], arn, kind=flow.manifest_kind, role=role, account=steps.account, found=pulled)
    if role == "target-backup":
        t["backup"] = pulled  # the result's backup_snapshot_arn
    t["pulled_ready"] = True
    return None
