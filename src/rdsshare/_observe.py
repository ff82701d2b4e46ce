"""What one poll sees: a snapshot, a cluster, a DB instance or a cluster's instances as a wait observation."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ._waiting import Observation

__all__ = [
    "CLUSTER_FAILED",
    "INSTANCE_FAILED",
    "SNAPSHOT_FAILED",
    "cluster_observation",
    "instance_observation",
    "instances_observation",
    "snapshot_observation",
]

SNAPSHOT_FAILED = frozenset({"failed", "error", "incompatible-restore", "incompatible-parameters"})
CLUSTER_FAILED = frozenset(
    {
        "failed",
        "inaccessible-encryption-credentials",
        "inaccessible-encryption-credentials-recoverable",
        "incompatible-network",
        "incompatible-parameters",
        "incompatible-restore",
    }
)
INSTANCE_FAILED = CLUSTER_FAILED | {"storage-full", "restore-error"}


def snapshot_observation(snap: Mapping[str, Any], seen_at: float | None = None) -> Observation:
    """A snapshot as a wait observation."""
    status = str(snap.get("Status", "unknown"))
    percent = snap.get("PercentProgress")
    return Observation(
        status=status,
        percent=int(percent) if percent is not None else None,
        done=status == "available",
        failed=status in SNAPSHOT_FAILED,
        seen_at=seen_at,
    )


def cluster_observation(
    cluster: Mapping[str, Any], seen_at: float | None = None, *, require_secret: bool = False
) -> Observation:
    """A cluster as a wait observation (not done before it has its master secret, if asked)."""
    status = str(cluster.get("Status", "unknown"))
    if status == "available" and require_secret and not cluster.get("MasterUserSecret", {}).get("SecretArn"):
        return Observation(status="creating-secret", seen_at=seen_at)
    return Observation(status=status, done=status == "available", failed=status in CLUSTER_FAILED, seen_at=seen_at)


def instance_observation(
    instance: Mapping[str, Any], *, require_secret: bool, seen_at: float | None = None
) -> Observation:
    """A DB instance as a wait observation."""
    status = str(instance.get("DBInstanceStatus", "unknown"))
    done = status == "available"
    if done and require_secret and not instance.get("MasterUserSecret", {}).get("SecretArn"):
        return Observation(status="creating-secret", seen_at=seen_at)
    return Observation(status=status, done=done, failed=status in INSTANCE_FAILED, seen_at=seen_at)


def instances_observation(
    found: Mapping[str, Mapping[str, Any]], wanted: Sequence[str], seen_at: float | None = None
) -> tuple[Observation | None, list[str]]:
    """A cluster's ``wanted`` instances (``found`` by identifier) as one observation, and their ARNs."""
    if any(w not in found for w in wanted):
        return None, []
    states = {w: str(found[w].get("DBInstanceStatus", "unknown")) for w in wanted}
    arns = [str(found[w].get("DBInstanceArn", "")) for w in wanted]
    bad = [s for s in states.values() if s in INSTANCE_FAILED]
    ready = sum(1 for s in states.values() if s == "available")
    status = bad[0] if bad else ("available" if ready == len(wanted) else f"{ready}/{len(wanted)} available")
    return Observation(status=status, done=ready == len(wanted), failed=bool(bad), seen_at=seen_at), arns
