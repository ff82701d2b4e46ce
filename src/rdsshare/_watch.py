"""One watcher per account and region: the waits of many shares poll AWS together.

A batch (or several shares that use the same :class:`~rdsshare.AccountSession`) waits for many
snapshots, copies, clusters and instances in one account and region at once. Polled one by one,
the describe calls grow with the number of resources (400 describes for 100 copies). The
:class:`Watcher` of a session answers every wait's poll from one filtered describe of everything
in flight of that kind (``Filters`` on the identifiers, up to :data:`VALUES_PER_CALL` per call), and
a wait whose resource was described by another wait's poll since its own last look takes that
answer instead of calling (:class:`Freshness`). The wait then counts the answer as a poll made
when it was fetched (``Observation.seen_at``), so each wait's latency bound holds as if it had
polled alone, and the describe calls grow with time, not with the number of resources.

The watcher belongs to the session object (:func:`watcher_for`): it lives in one process, and a
job continued in another process polls through that process's watcher.
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs
from botocore.exceptions import ClientError

if TYPE_CHECKING:
    from ._schedule import WaitPolicy, WaitState
    from ._session import AccountSession

__all__ = ["Freshness", "Watched", "Watcher", "align", "freshness", "lookup", "wake_together", "watcher_for"]

#: Identifiers per filtered describe call. AWS documents no limit on a filter's values for
#: these describes; 100 keeps each request small (and a page of 100 records is the default).
VALUES_PER_CALL = 100
#: An identifier no wait asked about for this long is no longer described.
FORGET_SECONDS = 300.0
#: Statuses after which no wait polls a resource any more (it is dropped from the describes).
SETTLED = frozenset(
    {"available", "failed", "error", "incompatible-restore", "incompatible-parameters", "deleted", "deleting"}
)


@attrs.frozen
class Watched:
    """A kind of resource the watcher can describe many of with one call."""

    name: str
    #: the client method, with a paginator of the same name
    describe: str
    #: the ``Filters`` name that takes identifiers
    filter: str
    list_field: str
    id_field: str
    status_field: str = "Status"


CLUSTER_SNAPSHOTS = Watched(
    "cluster-snapshot",
    "describe_db_cluster_snapshots",
    "db-cluster-snapshot-id",
    "DBClusterSnapshots",
    "DBClusterSnapshotIdentifier",
)
DB_SNAPSHOTS = Watched("db-snapshot", "describe_db_snapshots", "db-snapshot-id", "DBSnapshots", "DBSnapshotIdentifier")
CLUSTERS = Watched("cluster", "describe_db_clusters", "db-cluster-id", "DBClusters", "DBClusterIdentifier")
INSTANCES = Watched(
    "instance", "describe_db_instances", "db-instance-id", "DBInstances", "DBInstanceIdentifier", "DBInstanceStatus"
)


@attrs.frozen
class Freshness:
    """Which earlier answer a poll may take instead of calling AWS.

    An answer fetched after ``newer_than`` (the wait's previous look, ``time.time()``) and at most
    ``max_age`` seconds ago: it is as if the wait had polled when it was fetched.
    """

    newer_than: float
    max_age: float


#: the first poll of a wait always asks AWS (the resource may have been created a moment ago)
FIRST_POLL = Freshness(newer_than=float("inf"), max_age=0.0)


#: this process's seed for the phases of the wake-up grids (so that two processes do not poll in lockstep)
_SEED = random.random()  # noqa: S311 - not crypto
_PHASES: dict[str, float] = {}
#: (account, watcher) -> how many resources its waits were waiting for at its last describe
_IN_FLIGHT: dict[tuple[str, int], int] = {}


def _others_in_flight(account: str) -> bool:
    """Whether ``account``'s waits were waiting for more than one resource at their last describe."""
    return sum(n for (acct, _), n in list(_IN_FLIGHT.items()) if acct == account) > 1


def _phase(account: str) -> float:
    """The phase of ``account``'s grid in this process: its own, so that accounts do not poll in lockstep."""
    found = _PHASES.get(account)
    if found is None:
        found = _PHASES[account] = random.Random(f"{_SEED}:{account}").random()  # noqa: S311 - not crypto
    return found


def align(now: float, delay: float, account: str = "") -> float:
    """``delay`` shortened (by at most half) so that the wait wakes on ``account``'s grid.

    The waits of one account whose pauses are within a factor of two of each other wake at the same
    instants (multiples of half the power of two at or below the pause, shifted by the account's random
    phase in this process): the first to wake describes for all, the others take its answer.
    """
    if delay <= 0:
        return delay
    period = 2.0 ** math.floor(math.log2(delay)) / 2  # at most half the pause: the wake is on the grid
    offset = _phase(account) * period
    wake = math.floor((now + delay - offset) / period) * period + offset
    return wake - now


def wake_together(state: WaitState, now: float, delay: float, account: str = "") -> float:
    """The pause of the wait at ``state`` after a poll at ``now``, aligned with the other waits of ``account``
    (:func:`align`) when there are others, unless it aims at the end PercentProgress predicts (a poll before
    it would be wasted)."""
    if state.predicted_end is not None and now + delay >= state.started + state.end_after:
        return delay
    if not _others_in_flight(account):  # alone in its account: nothing to share, keep the full pause
        return delay
    aligned = align(now, delay, account)
    state.slept -= delay - aligned  # the instant-mode clock counts the pause taken
    return aligned


def freshness(state: WaitState, policy: WaitPolicy, now: float) -> Freshness:
    """Which earlier answer the next poll of the wait at ``state`` may take (``now``: ``time.time()``).

    One fetched since the wait's last look (so its pauses between looks stay what its schedule
    allows) and at most half its pause ago (an older one would only bring its next poll
    forward), and not before the earliest end PercentProgress predicts (that one says nothing new).
    """
    if state.last_poll is None:
        return FIRST_POLL
    elapsed = max(now - state.started, 0.0)
    pause = min(max(policy.min_interval_seconds, elapsed * policy.elapsed_fraction), policy.max_interval_seconds)
    after = state.started + state.end_after if state.predicted_end is not None else 0.0
    return Freshness(newer_than=max(state.started + state.last_poll, after), max_age=pause / 2)


class Watcher:
    """Describes, for one RDS client (one account and region), everything its waits are waiting for."""

    def __init__(self, rds: Any, account_id: str = "") -> None:
        self._rds = rds
        self.account_id = account_id
        self._lock = threading.Lock()
        self._fetching: dict[str, threading.Lock] = {}
        #: (kind, id) -> when a wait last asked about it
        self._asked: dict[tuple[str, str], float] = {}
        #: (kind, id) -> (its description or None, when it was fetched)
        self._seen: dict[tuple[str, str], tuple[dict[str, Any] | None, float]] = {}
        #: describe calls made (for benchmarks and tests)
        self.calls = 0

    def get(
        self, what: Watched, idents: Sequence[str], fresh: Freshness
    ) -> tuple[dict[str, dict[str, Any] | None], float]:
        """The description (None: not visible) of each of ``idents`` and when it was fetched.

        Answers from the last describe when every identifier's answer is fresh enough, else
        describes every identifier any wait of this kind asked about lately, in one call per
        :data:`VALUES_PER_CALL`. A ``ClientError`` of the describe is raised to the caller.
        """
        wanted = [i.lower() for i in idents]
        now = time.time()
        with self._lock:
            for ident in wanted:
                self._asked[(what.name, ident)] = now
            cached = self._cached(what, wanted, fresh, now)
            fetch_lock = self._fetching.setdefault(what.name, threading.Lock())
        if cached is not None:
            return cached
        with fetch_lock:
            with self._lock:  # another wait may have described them while this one queued
                cached = self._cached(what, wanted, fresh, time.time())
                if cached is not None:
                    return cached
                batch = sorted(
                    {i for (name, i), at in self._asked.items() if name == what.name and now - at < FORGET_SECONDS}
                )
            fetched = time.time()
            found = self._describe(what, batch)
            with self._lock:
                for ident in batch:
                    description = found.get(ident)
                    self._seen[(what.name, ident)] = (description, fetched)
                    if description is not None and str(description.get(what.status_field, "")) in SETTLED:
                        self._asked.pop((what.name, ident), None)
                if self._asked:
                    _IN_FLIGHT[(self.account_id, id(self))] = len(self._asked)
                else:
                    _IN_FLIGHT.pop((self.account_id, id(self)), None)
                return {i: self._seen[(what.name, i)][0] for i in wanted}, fetched

    def _cached(
        self, what: Watched, wanted: Iterable[str], fresh: Freshness, now: float
    ) -> tuple[dict[str, dict[str, Any] | None], float] | None:
        answers: dict[str, dict[str, Any] | None] = {}
        oldest = now
        for ident in wanted:
            hit = self._seen.get((what.name, ident))
            if hit is None or hit[1] <= fresh.newer_than or now - hit[1] > fresh.max_age:
                return None
            answers[ident] = hit[0]
            oldest = min(oldest, hit[1])
        return answers, oldest

    def _describe(self, what: Watched, idents: Sequence[str]) -> Mapping[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        paginator = self._rds.get_paginator(what.describe)
        for start in range(0, len(idents), VALUES_PER_CALL):
            chunk = list(idents[start : start + VALUES_PER_CALL])
            for page in paginator.paginate(Filters=[{"Name": what.filter, "Values": chunk}]):
                self.calls += 1
                for item in page.get(what.list_field, []):
                    found[str(item.get(what.id_field, "")).lower()] = dict(item)
        return found


_WATCHERS_LOCK = threading.Lock()
#: The attribute of an AccountSession holding its watcher: the watcher lives as long as the session
#: (a registry keyed by sessions would keep every session alive: its clients' retry hooks are the
#: session's bound methods, so the watcher's client refers back to it).
_ATTRIBUTE = "_rdsshare_watcher"


def watcher_for(session: AccountSession) -> Watcher:
    """The watcher of ``session``'s account and region (one per session object, made on first use)."""
    with _WATCHERS_LOCK:
        found = getattr(session, _ATTRIBUTE, None)
        if not isinstance(found, Watcher):
            found = Watcher(session.rds(), session.account_id)
            setattr(session, _ATTRIBUTE, found)
        return found


def lookup(
    watcher: Watcher | None,
    what: Watched,
    idents: Sequence[str],
    fresh: Freshness | None,
    *,
    find: Callable[[str], Any],
    error: Callable[[ClientError], Exception],
) -> tuple[list[Any], float | None]:
    """The descriptions of ``idents`` (None: not visible) and when the watcher fetched them.

    Without a watcher or ``fresh``, or for an ARN or an automated snapshot's ``rds:`` name (which a
    filter may not match), each is ``find(ident)`` (its own call, its own errors) and the time None.
    The watcher's ``ClientError`` is raised as ``error(exc)``.
    """
    if watcher is None or fresh is None or any(":" in ident for ident in idents):
        return [find(ident) for ident in idents], None
    try:
        found, seen_at = watcher.get(what, idents, fresh)
    except ClientError as exc:
        raise error(exc) from exc
    return [found[ident.lower()] for ident in idents], seen_at
