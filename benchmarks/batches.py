"""Batches of 1, 10, 50 and 100 snapshots against the quota-bound ideal, with their calls, memory and threads.

Each item starts from an existing manual snapshot under the default ``aws/rds`` key, so its one long
step is the copy under the share key (``restore=None``). Aurora allows 5 concurrent copies per
account and region, so no schedule can finish N copies of T seconds sooner than ``ceil(N / 5) x T``
(the quota-bound ideal). Each size runs twice on a fresh server-mode bed: with the watchers rdsshare
uses (the waits of one account and region share filtered describes), and with every wait polling
its own resource alone (what rdsshare did before, and what a loop of boto3 waiters does).
"""

from __future__ import annotations

import contextlib
import math
import resource
import threading
import time
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import rdsshare._flow
import rdsshare._watch
from rdsshare import WaitPolicy, share_cluster_snapshots
from rdsshare._watch import Freshness, Watched, Watcher

from .common import seed_snapshots, server_bed, sessions

SIZES = (1, 10, 50, 100)
COPIES_IN_FLIGHT = 5
#: Polling fast enough that the detection latency stays small next to T (see batch.py).
POLICY = WaitPolicy(min_interval_seconds=0.2)


class _Alone(Watcher):
    """A watcher that shares nothing: each poll describes its own resources, as before watchers."""

    def get(
        self, what: Watched, idents: Sequence[str], fresh: Freshness
    ) -> tuple[dict[str, dict[str, Any] | None], float]:
        fetched = time.time()
        found = self._describe(what, [i.lower() for i in idents])
        return {i.lower(): found.get(i.lower()) for i in idents}, fetched


@dataclass(frozen=True)
class BatchesRun:
    """One batch size, one polling mode."""

    items: int
    shared: bool
    operation_seconds: float
    seconds: float
    polls: int
    calls: Mapping[str, int]
    peak_threads: int
    peak_rss_mib: float
    ok: bool

    @property
    def ideal_seconds(self) -> float:
        return math.ceil(self.items / COPIES_IN_FLIGHT) * self.operation_seconds

    @property
    def other_calls_per_item(self) -> float:
        """API calls per item besides the waits' polls."""
        return (sum(self.calls.values()) - self.polls) / self.items


@contextlib.contextmanager
def _thread_peak() -> Iterator[list[int]]:
    peak = [threading.active_count()]
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(0.05):
            peak[0] = max(peak[0], threading.active_count())

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        yield peak
    finally:
        stop.set()
        sampler.join()
        peak[0] -= 1  # the sampler itself


def run(items: int, operation_seconds: float, *, shared: bool) -> BatchesRun:
    """One batch of ``items`` copies on a fresh bed."""
    watchers: list[Watcher] = []
    original = rdsshare._watch.watcher_for

    def counted(session: Any) -> Watcher:
        found = original(session) if shared else _alone(session)
        if found not in watchers:
            watchers.append(found)
        return found

    alone: dict[int, Watcher] = {}

    def _alone(session: Any) -> Watcher:
        return alone.setdefault(id(session), _Alone(session.rds()))

    with server_bed(manual_snapshot_quota=3 * items + 10) as aws:
        aws.set_quota("DBClusters", items + 10)  # room for the benchmark's own clusters
        names = seed_snapshots(aws, items, width=3)
        source, target = sessions(aws)
        aws.operation_seconds = operation_seconds
        aws.clear_calls()
        setattr(rdsshare._flow, "watcher_for", counted)  # noqa: B010 - the baseline polls alone
        if not shared:
            setattr(rdsshare._flow, "wake_together", lambda state, now, delay, account="": delay)  # noqa: B010
        try:
            with _thread_peak() as threads:
                start = time.monotonic()
                result = share_cluster_snapshots(
                    source=source,
                    target=target,
                    items=[{"snapshot_id": name, "run_name": "batch"} for name in names],
                    copies_in_flight=COPIES_IN_FLIGHT,
                    wait=POLICY,
                )
                seconds = time.monotonic() - start
        finally:
            setattr(rdsshare._flow, "watcher_for", original)  # noqa: B010
            setattr(rdsshare._flow, "wake_together", rdsshare._watch.wake_together)  # noqa: B010
        calls = Counter(c.operation for c in aws.calls)
        return BatchesRun(
            items=items,
            shared=shared,
            operation_seconds=operation_seconds,
            seconds=seconds,
            polls=sum(w.calls for w in watchers),
            calls=dict(calls),
            peak_threads=threads[0],
            peak_rss_mib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            ok=result.ok and all(r.data_copies == 1 for r in result.results),
        )


def run_all(operation_seconds: float, sizes: Sequence[int] = SIZES) -> list[BatchesRun]:
    """Every size, shared polls then polls alone."""
    return [run(n, operation_seconds, shared=shared) for n in sizes for shared in (False, True)]


if __name__ == "__main__":
    for r in run_all(1.0, (10,)):
        print(r.items, r.shared, f"{r.seconds:.1f}s ideal {r.ideal_seconds:.0f}s polls {r.polls}", r.ok)
        print(f"  other calls/item {r.other_calls_per_item:.1f} threads {r.peak_threads} rss {r.peak_rss_mib:.0f}")
        print(" ", sorted(r.calls.items()))
