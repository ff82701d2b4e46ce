"""CopySlots: what the runs of one process share of an account's capacity, per account and region.

Aurora allows 5 concurrent cluster snapshot copies per destination region [AUR-COPY], and an account
holds a limited number of manual snapshots (100 by default). Runs that share one :class:`CopySlots`
(a batch, or calls given the same ``copy_slots=``) queue their copies instead of failing with
``SnapshotQuotaExceeded``, and reserve their manual snapshots before their first write, so that no
run passes a quota check that only another one fits.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator

from ._facts import BatchFacts

__all__ = ["UNLIMITED", "CopySlots"]


class CopySlots:
    """Bounds the snapshot copies one process keeps in flight per (account, destination region).

    Aurora allows 5 concurrent cluster snapshot copies per destination region [AUR-COPY]; a
    batch queues its copies here instead of hitting ``SnapshotQuotaExceeded``. A slot is held
    from the copy request until the copy is available.
    """

    def __init__(self, per_region: int | None = 5) -> None:
        self.per_region = per_region
        self._lock = threading.Lock()
        self._semaphores: dict[tuple[str, str], threading.BoundedSemaphore] = {}
        self.in_flight: dict[tuple[str, str], int] = {}
        self.peak: dict[tuple[str, str], int] = {}
        # The manual snapshot quota, per (account, region, quota name): (used, max) as first read, and
        # what each run that shares these slots has reserved of it since.
        self._quota: dict[tuple[str, str, str], tuple[int, int]] = {}
        self._reserved: dict[tuple[str, str, str], dict[str, int]] = {}
        #: the facts every run of a batch on these slots reads alike (keys, the share key's policy)
        self.facts = BatchFacts()

    def reserve_snapshots(
        self, account_id: str, region: str, quota: str, needed: int, *, run: str, read: Callable[[], tuple[int, int]]
    ) -> tuple[int, int, int]:
        """Reserve ``needed`` manual snapshots for ``run`` in the quota ``quota``, for all runs sharing these slots.

        The quota and its usage are read once (``read()``); every later run counts what the runs before it
        reserved, so that concurrent runs of a batch cannot all pass a check that only one of them fits.
        Returns ``(used, reserved by the others, max)``; the reservation is made only when it fits.
        """
        key = (account_id, region, quota)
        with self._lock:
            if key not in self._quota or not self._reserved.get(key):  # no run holds room: read afresh
                self._quota[key] = read()
            used, limit = self._quota[key]
            taken = self._reserved.setdefault(key, {})
            others = sum(n for r, n in taken.items() if r != run)
            if used + others + needed <= limit:
                taken[run] = needed
            return used, others, limit

    def release_snapshots(self, run: str, *, made: bool = False) -> None:
        """End what ``run`` reserved: it was a dry run or its plan stopped it (``made=False``), or it wrote
        (``made=True``: its snapshots now count as used until the quota is read again).

        The quota is read afresh at the next reservation once no run holds one, so that deletions are seen.
        """
        with self._lock:
            for key, taken in self._reserved.items():
                needed = taken.pop(run, None)
                if needed is not None and made and key in self._quota:
                    used, limit = self._quota[key]
                    self._quota[key] = (used + needed, limit)

    def return_snapshots(self, account_id: str, region: str, quota: str, *, run: str, count: int = 1) -> None:
        """``run`` deleted ``count`` of the manual snapshots it reserved in ``quota`` (its own snapshot, once
        its copy was available): the runs that reserve after it have that much more room."""
        with self._lock:
            taken = self._reserved.get((account_id, region, quota), {})
            if run in taken:
                taken[run] = max(0, taken[run] - count)

    @contextlib.contextmanager
    def hold(self, account_id: str, region: str) -> Iterator[None]:
        """Hold one copy slot of ``account_id`` in ``region`` for the duration of the block."""
        self.acquire(account_id, region)
        try:
            yield
        finally:
            self.release(account_id, region)

    def acquire(self, account_id: str, region: str) -> None:
        """Take one copy slot, waiting for one to be free (a job holds it across its polls)."""
        if self.per_region is None:
            return
        key = (account_id, region)
        with self._lock:
            semaphore = self._semaphores.setdefault(key, threading.BoundedSemaphore(self.per_region))
        semaphore.acquire()
        with self._lock:
            self.in_flight[key] = self.in_flight.get(key, 0) + 1
            self.peak[key] = max(self.peak.get(key, 0), self.in_flight[key])

    def release(self, account_id: str, region: str) -> None:
        """Give back a slot taken with :meth:`acquire`."""
        if self.per_region is None:
            return
        key = (account_id, region)
        with self._lock:
            self.in_flight[key] -= 1
            semaphore = self._semaphores[key]
        semaphore.release()


UNLIMITED = CopySlots(per_region=None)
