"""The batch figure: 20 snapshot copies of T seconds each, 5 in flight, against one after another.

Each item starts from an existing manual snapshot under the default ``aws/rds`` key, so its only
long step is the copy under the share key (restore=None isolates it). The test bed allows 5
concurrent copies per account and region, like Aurora; ``copies_in_flight=5`` keeps rdsshare at
that. Ideal: ``ceil(20 / 5) x T`` in parallel against ``20 x T`` one after another.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from rdsshare import WaitPolicy, share_cluster_snapshot, share_cluster_snapshots

from .common import seed_snapshots, server_bed, sessions

ITEMS = 20
COPIES_IN_FLIGHT = 5
#: Polling fast enough that the detection latency (at most max(0.2 s, 4.5 % of T)) stays small
#: next to T; the defaults (0.9 s) would add up to ~1 s per round of copies.
POLICY = WaitPolicy(min_interval_seconds=0.2)


@dataclass(frozen=True)
class BatchRun:
    """The batch and the sequential baseline on the same snapshots."""

    operation_seconds: float
    items: int
    copies_in_flight: int
    batch_seconds: float
    sequential_seconds: float | None
    peak_copies_in_flight: int
    quota_errors: int
    ok: bool

    @property
    def ideal_seconds(self) -> float:
        return math.ceil(self.items / self.copies_in_flight) * self.operation_seconds

    @property
    def goal_seconds(self) -> float:
        return 1.3 * self.ideal_seconds


def run(operation_seconds: float, *, sequential: bool = True) -> BatchRun:
    """Run the batch (run_name ``batch``), then the same items one by one (run_name ``sequential``)."""
    with server_bed() as aws:
        seed_snapshots(aws, ITEMS)
        source, target = sessions(aws)
        aws.operation_seconds = operation_seconds
        aws.clear_calls()
        start = time.monotonic()
        result = share_cluster_snapshots(
            source=source,
            target=target,
            items=[{"snapshot_id": f"db{i:02d}-1", "run_name": "batch"} for i in range(ITEMS)],
            max_workers=ITEMS,
            copies_in_flight=COPIES_IN_FLIGHT,
            wait=POLICY,
        )
        batch_seconds = time.monotonic() - start
        ok = result.ok and all(r.data_copies == 1 for r in result.results)
        sequential_seconds = None
        if sequential:
            start = time.monotonic()
            for i in range(ITEMS):
                share_cluster_snapshot(
                    source=source, target=target, snapshot_id=f"db{i:02d}-1", run_name="sequential", wait=POLICY
                )
            sequential_seconds = time.monotonic() - start
        quota_errors = sum(1 for c in aws.calls if (c.failed_with or "").startswith("SnapshotQuotaExceeded"))
        return BatchRun(
            operation_seconds=operation_seconds,
            items=ITEMS,
            copies_in_flight=COPIES_IN_FLIGHT,
            batch_seconds=batch_seconds,
            sequential_seconds=sequential_seconds,
            peak_copies_in_flight=result.peak_copies_in_flight,
            quota_errors=quota_errors,
            ok=ok,
        )
