"""100 items: the batch's threads and memory stay bounded."""

from __future__ import annotations

import gc
import threading
import tracemalloc

from rdsshare import Event, share_cluster_snapshots
from rdsshare.testing import EmulatedAWS

from ..accounts import SOURCE
from .conftest import sessions

ITEMS = 100
WORKERS = 8
#: tracemalloc peak above the start of the run (everything in the process: rdsshare, botocore,
#: the in-process moto and the test bed's call record). Measured: 4.6 MB for 100 items, about
#: 46 KB per item (its result and manifest, moto's state of one more share, ~7 recorded calls).
#: Leaking one botocore client per item would add ~0.4 MB each (40 MB); a pool that kept a thread,
#: session or response per item would grow the same way. 16 MB is 3.5x the measurement and
#: still well below either failure.
MEMORY_BOUND = 16 * 1024 * 1024


def test_threads_and_memory_stay_bounded_for_100_items(bed: EmulatedAWS) -> None:
    bed.create_cluster(SOURCE, "db", instances=0, encrypted=False)
    rds = bed.client(SOURCE, "rds")
    for i in range(ITEMS):
        rds.create_db_cluster_snapshot(DBClusterIdentifier="db", DBClusterSnapshotIdentifier=f"db-{i}")
    source, target = sessions(bed)
    before = threading.active_count()
    most = before
    events = 0

    def hook(_event: Event) -> None:
        nonlocal most, events
        events += 1
        most = max(most, threading.active_count())

    gc.collect()
    tracemalloc.start()
    try:
        start = tracemalloc.get_traced_memory()[0]
        result = share_cluster_snapshots(
            source=source,
            target=target,
            items=[{"snapshot_id": f"db-{i}"} for i in range(ITEMS)],
            max_workers=WORKERS,
            on_event=hook,
        )
        peak = tracemalloc.get_traced_memory()[1] - start
    finally:
        tracemalloc.stop()

    assert result.ok, [str(i.error) for i in result.failed][:3]
    assert len(result.items) == ITEMS
    assert events >= 2 * ITEMS
    # The pool's workers and nothing else: the hook runs in them, so the count includes them.
    assert most <= before + WORKERS
    # Every worker is gone once the batch returns.
    assert threading.active_count() == before
    assert peak < MEMORY_BOUND, f"peak {peak / 1e6:.1f} MB"
