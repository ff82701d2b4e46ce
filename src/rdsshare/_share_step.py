"""The share step: add the targets to the shared snapshot's ``restore`` attribute, as the plan decided."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._errors import RdsShareError
from ._events import StepSkipped
from ._share import ShareManager

if TYPE_CHECKING:
    from ._flow import Flow
    from ._plan import Decisions

__all__ = ["REFUSALS", "share"]

#: the codes of RDS refusing a share for what the snapshot is (an AWS owned key, say)
REFUSALS = frozenset({"InvalidParameterValue", "InvalidParameterCombination"})


def share(flow: Flow, decided: Decisions) -> bool:
    """Share the snapshot with every target (adding to who had it already).

    False when RDS refused to share an ``sse-rds`` snapshot as it is and the plan has a path for
    that (``decided.if_refused``): the run then takes it, from the key step on.
    """
    K = flow.kind
    shared = flow.data["shared"]
    shared_id = K.ident(shared)
    made = K.arn(shared) in flow.state.get("created", [])
    # A snapshot this run made is shared with nobody yet; otherwise preflight read the attribute.
    current = [] if made else flow.found.shared_with.get(shared_id.lower())
    manager = ShareManager(flow.share_source.rds(), account_id=flow.src, emit=flow.emit, kind=K)
    if current is None:  # not read by preflight (the snapshot appeared since): who had it before us
        current = manager.shared_with(shared_id)
    try:
        manager.share(shared_id, flow.tgts, current=current)
    except RdsShareError as exc:
        if decided.if_refused is None or exc.error_code not in REFUSALS:
            raise
        reason = f"RDS refused to share it as it is ({exc.error_code}): one copy under a customer key instead"
        flow.emit(StepSkipped(step="share", account_id=flow.src, resource=shared_id, reason=reason))
        for stale in ("shared", "copies", "copy_key"):
            flow.data.pop(stale, None)
        return False
    for account in flow.tgts:
        # Cleanup unshares only what this run shared: never a share the user had made before.
        flow.record(
            "updated",
            K.arn(shared),
            kind="snapshot-share",
            role="share",
            account=flow.src,
            managed=False,
            region=flow.share_source.region,
            detail={
                "target_account": account,
                "snapshot_kind": K.name,
                "added": str(account not in current).lower(),
            },
            found=shared,
        )
    return True
