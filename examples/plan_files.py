"""Review a plan, save it, and apply exactly it later (as with Terraform's plan files).

The plan file holds the request (ids, names, the restore spec) and every decision; it holds no
secret. ``apply`` plans again with read-only calls and refuses, before any change, when a decision
differs from the reviewed one, listing what changed.
"""

from __future__ import annotations

import logging
from pathlib import Path

from rdsshare import (
    AccountSession,
    ClusterRestoreSpec,
    Plan,
    PlanChangedError,
    ShareResult,
    share_cluster_snapshot,
)

log = logging.getLogger("migration")


def save_plan(
    source: AccountSession, target: AccountSession, *, cluster_id: str, restore: ClusterRestoreSpec, path: Path
) -> Plan:
    """Plan (read-only), show it for review, and save it."""
    plan = share_cluster_snapshot(source=source, target=target, cluster_id=cluster_id, restore=restore, dry_run=True)
    log.info("%s", plan)  # the steps, and every problem: for the reviewer
    path.write_text(plan.to_json(), encoding="utf-8")
    return plan


def apply_saved(path: Path, source: AccountSession, target: AccountSession) -> ShareResult | None:
    """Run the reviewed plan; None if the world changed since it was reviewed (nothing was changed)."""
    plan = Plan.from_json(path.read_text(encoding="utf-8"))
    try:
        return plan.apply(source=source, target=target)
    except PlanChangedError as changed:
        for line in changed.changes:
            log.warning("changed since the review: %s", line)
        return None
