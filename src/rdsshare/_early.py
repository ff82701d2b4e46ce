"""``cleanup="intermediates"`` during the run: the run's own snapshot goes as soon as its copy is available.

The copy is what is shared and restored from; the snapshot it was made from is not needed once the
copy is available, so it is deleted then, not hours later once the restores are up: a batch then
holds one manual snapshot per item for most of its run instead of two. A rerun whose plan finds the
copy and not the snapshot (:attr:`Decisions.start_gone`) goes on from the copy.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import attrs

from ._errors import RdsShareError
from ._events import StepSkipped
from ._naming import TAG_SOURCE, tag_dict

if TYPE_CHECKING:
    from ._flow import Flow
    from ._plan import Decisions

__all__ = ["drop_start", "start_from_copy"]

_log = logging.getLogger("rdsshare")


def start_from_copy(flow: Flow, decided: Decisions) -> float | None:
    """The plan found this run's copy and not its snapshot, which an earlier run deleted once the copy
    was available: the share goes on from the copy, and the start is what the copy says it came from."""
    K = flow.kind
    if "start" in flow.data:
        return None
    copy = flow.found.snapshot(decided.shared_id)
    tags = tag_dict(copy.get("TagList")) if isinstance(copy, dict) else {}
    flow.data["start"] = {
        K.id_field: decided.start_id,
        K.arn_field: tags.get(TAG_SOURCE),
        "KmsKeyId": decided.snapshot_key,
        "Status": "deleted",
    }
    flow.emit(
        StepSkipped(
            step="snapshot",
            account_id=flow.src,
            resource=decided.start_id,
            reason=f"deleted once its copy {decided.shared_id} was available: the share goes on from the copy",
        )
    )
    return None


def drop_start(flow: Flow) -> None:
    """Delete the run's own snapshot of the cluster, its copy being available (``cleanup="intermediates"``).

    Only a snapshot the run took (or adopted from an earlier run of its own) and that tags and run token
    say is rdsshare's; a failure stops nothing: the snapshot stays for the cleanup at the end, which
    reports it. The manual snapshot it held is returned to the batch's reservation.
    """
    K, data = flow.kind, flow.data
    if flow.state["request"].get("cleanup") != "intermediates" or "start_outcome" not in data or "dropped" in data:
        return
    from ._cleanup import cleanup  # only runs that clean up pay for importing it

    try:
        report = cleanup(
            flow.manifest(),
            source=flow.source,
            target=flow.target,
            targets=flow.targets[1:],
            on_event=flow.emit,
            _scope="source-snapshot",
        )
    except RdsShareError as exc:
        _log.warning("the run's snapshot stays until the cleanup at the end: %s", exc)
        return
    data["dropped"] = [attrs.asdict(action) for action in report.actions]
    if flow.slots is not None and any(a.status == "done" for a in report.actions):
        flow.slots.return_snapshots(flow.src, flow.region, K.quota_name, run=flow.token)
