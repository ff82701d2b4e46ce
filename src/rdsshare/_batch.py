"""share_cluster_snapshots(): share many clusters at once, a bounded number at a time.

Each item is one :func:`~rdsshare.share_cluster_snapshot` call (its per-cluster keyword
arguments); the calls run on a thread pool of ``max_workers`` threads. They share one
:class:`~rdsshare.CopySlots`, so at most ``copies_in_flight`` snapshot copies are in flight per
account and destination region (Aurora allows 5 [AUR-COPY]): the others queue in the process
instead of failing with ``SnapshotQuotaExceeded``. An item that fails does not stop the others;
every item gets a :class:`BatchItemResult`, in the order given.

The ``on_event`` hook is called under a lock, one event at a time. The key work (finding or
creating rdsshare's share key, merging grants into a key policy) is serialized per account and
region by :class:`~rdsshare.KeyManager` itself, so items never create two share keys or lose a
grant to a concurrent policy update.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_all
from typing import Any

import attrs

from ._api import share_cluster_snapshot
from ._errors import InputError, RdsShareError
from ._events import Event, EventHook
from ._results import ShareResult
from ._session import AccountSession
from ._slots import CopySlots
from ._specs import ClusterRestoreSpec
from ._validation import check_run_name, validate_identifier
from ._waiting import WaitPolicy

__all__ = ["BatchItemResult", "BatchResult", "share_cluster_snapshots"]

_log = logging.getLogger("rdsshare.batch")

#: The keyword arguments of share_cluster_snapshot() an item may set.
ITEM_KEYS = frozenset(
    {
        "cluster_id",
        "snapshot_id",
        "restore",
        "run_name",
        "source_kms_key",
        "key_admin_principals",
        "wait",
        "cleanup",
        "cross_region_copy",
    }
)
#: Arguments that belong to the whole batch, not to an item.
_BATCH_KEYS = frozenset({"source", "target", "targets", "on_event", "copy_slots", "dry_run"})


@attrs.frozen(kw_only=True)
class BatchItemResult:
    """The outcome of one item: its :class:`~rdsshare.ShareResult`, or the exception it raised."""

    #: the item's position in ``items``
    index: int
    #: the item's ``cluster_id`` or ``snapshot_id``, as given
    key: str
    #: what the share produced, when it succeeded
    result: ShareResult | None = None
    #: what it raised (usually an :class:`~rdsshare.RdsShareError`), when it failed
    error: Exception | None = None

    @property
    def ok(self) -> bool:
        """True when the item succeeded."""
        return self.error is None


@attrs.frozen(kw_only=True)
class BatchResult:
    """Every item's outcome, in the order of ``items``."""

    items: tuple[BatchItemResult, ...]
    #: the most snapshot copies that were in flight at once in one account and region
    peak_copies_in_flight: int = 0

    @property
    def ok(self) -> bool:
        """True when every item succeeded."""
        return all(item.ok for item in self.items)

    @property
    def succeeded(self) -> tuple[BatchItemResult, ...]:
        """The items that succeeded, in order."""
        return tuple(item for item in self.items if item.ok)

    @property
    def failed(self) -> tuple[BatchItemResult, ...]:
        """The items that failed, in order."""
        return tuple(item for item in self.items if not item.ok)

    @property
    def results(self) -> tuple[ShareResult, ...]:
        """The :class:`~rdsshare.ShareResult` of every item that succeeded, in order."""
        return tuple(item.result for item in self.items if item.result is not None)


class _Cancelled(RdsShareError):
    """The batch was interrupted; raised inside a worker at its next event."""


class _Hooks:
    """The per-item event hooks: the serialized user hook, and cancellation."""

    def __init__(self, on_event: EventHook | None) -> None:
        self._on_event = on_event
        self._event_lock = threading.Lock()
        self.stop = threading.Event()

    def for_item(self) -> Callable[[Event], None]:
        """A hook for one item's flow."""

        def hook(event: Event) -> None:
            if self.stop.is_set():
                raise _Cancelled("the batch was interrupted", step=event.step, fix="rerun the batch to resume")
            if self._on_event is not None:
                with self._event_lock:
                    self._on_event(event)

        return hook


def _problems(items: object, max_workers: object, copies_in_flight: object) -> list[str]:
    """Everything wrong with the batch's arguments, before any call."""
    problems: list[str] = []
    for name, value in (("max_workers", max_workers), ("copies_in_flight", copies_in_flight)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            problems.append(f"{name} must be an integer >= 1, got {value!r}")
    if isinstance(items, (str, bytes, Mapping)) or not isinstance(items, Sequence):
        problems.append(f"items must be a list of dicts, got {type(items).__name__}")
        return problems
    sources: dict[tuple[str, str, str | None], int] = {}
    restores: dict[str, int] = {}
    instances: dict[str, int] = {}
    for index, item in enumerate(items):
        where = f"items[{index}]"
        if not isinstance(item, Mapping):
            problems.append(f"{where} must be a dict of share_cluster_snapshot() arguments, got {type(item).__name__}")
            continue
        for name in item:
            if name in _BATCH_KEYS:
                problems.append(f"{where}: {name!r} is an argument of the whole batch, not of an item")
            elif name not in ITEM_KEYS:
                problems.append(f"{where}: unknown key {name!r} (allowed: {', '.join(sorted(ITEM_KEYS))})")
        cluster_id, snapshot_id = item.get("cluster_id"), item.get("snapshot_id")
        if (cluster_id is None) == (snapshot_id is None):
            problems.append(f"{where}: pass exactly one of cluster_id and snapshot_id")
            continue
        run_name = item.get("run_name")
        try:
            check_run_name(run_name)
        except InputError as exc:
            problems.append(f"{where}: {exc.message}")
            continue
        if cluster_id is not None:
            try:
                source = ("cluster", validate_identifier(cluster_id, "cluster", argument="cluster_id"), run_name)
            except InputError as exc:
                problems.append(f"{where}: {exc.message}")
                continue
        elif not isinstance(snapshot_id, str) or not snapshot_id:
            problems.append(f"{where}: snapshot_id must be a non-empty string, got {snapshot_id!r}")
            continue
        else:
            source = ("snapshot", snapshot_id.rsplit(":cluster-snapshot:", 1)[-1].lower(), run_name)
        if source in sources:
            problems.append(
                f"{where}: {source[0]} {source[1]!r} (run_name {run_name!r}) is also items[{sources[source]}]"
            )
        else:
            sources[source] = index
        restore = item.get("restore")
        if restore is not None:
            if not isinstance(restore, ClusterRestoreSpec):
                problems.append(f"{where}: restore must be a ClusterRestoreSpec, got {type(restore).__name__}")
            elif restore.cluster_id.lower() in restores:
                problems.append(
                    f"{where}: restore.cluster_id {restore.cluster_id!r} is also the restore of "
                    f"items[{restores[restore.cluster_id.lower()]}]"
                )
            else:
                restores[restore.cluster_id.lower()] = index
                for instance_id in restore.instance_ids:
                    if instance_id in instances:
                        problems.append(
                            f"{where}: instance {instance_id!r} of restore {restore.cluster_id!r} is also an "
                            f"instance of items[{instances[instance_id]}]'s restore"
                        )
                    instances.setdefault(instance_id, index)
        cleanup = item.get("cleanup", "none")
        if cleanup not in ("none", "intermediates"):
            problems.append(f"{where}: cleanup must be 'none' or 'intermediates', not {cleanup!r}")
        elif cleanup == "intermediates" and restore is None:
            problems.append(f"{where}: cleanup='intermediates' needs a restore")
        if item.get("cross_region_copy", "auto") not in ("auto", "source", "target"):
            problems.append(f"{where}: cross_region_copy must be 'auto', 'source' or 'target'")
        item_wait = item.get("wait")
        if item_wait is not None and not isinstance(item_wait, WaitPolicy):
            problems.append(f"{where}: wait must be a WaitPolicy, got {type(item_wait).__name__}")
        admins = item.get("key_admin_principals", ())
        if isinstance(admins, str) or not isinstance(admins, Sequence):
            problems.append(f"{where}: key_admin_principals must be a list of ARNs, got {type(admins).__name__}")
    return problems


def _warm_up(source: AccountSession, target: AccountSession) -> None:
    """Resolve both identities and make the clients once, here, instead of in every thread."""
    _ = source.caller_arn, target.caller_arn
    source.rds()
    source.kms()
    target.rds()
    target.kms()


def share_cluster_snapshots(
    *,
    source: AccountSession,
    target: AccountSession,
    items: Sequence[Mapping[str, Any]],
    max_workers: int = 10,
    copies_in_flight: int = 5,
    on_event: EventHook | None = None,
    wait: WaitPolicy | None = None,
    copy_slots: CopySlots | None = None,
) -> BatchResult:
    """Share many clusters (or snapshots) from ``source`` with ``target``, concurrently.

    Each item holds the per-cluster keyword arguments of :func:`~rdsshare.share_cluster_snapshot`:
    ``cluster_id`` or ``snapshot_id``, and optionally ``restore``, ``run_name``,
    ``source_kms_key``, ``key_admin_principals``, ``wait`` and ``cleanup``::

        spec = ClusterRestoreSpec(cluster_id="orders", instance_class="db.r6g.large")
        result = share_cluster_snapshots(
            source=source,
            target=target,
            items=[
                {"cluster_id": "orders", "restore": spec},
                {"cluster_id": "billing"},
            ],
        )
        for item in result.failed:
            print(item.key, item.error)

    At most ``max_workers`` items run at once, and at most ``copies_in_flight`` snapshot copies
    are in flight per account and destination region (``copy_slots`` shares a
    :class:`~rdsshare.CopySlots` with other batches or calls instead). An item that fails does
    not stop the others: its :class:`BatchItemResult` carries the exception. Events of all items
    go to ``on_event``, one at a time. ``wait`` is the default :class:`~rdsshare.WaitPolicy` of the
    items.

    The items are checked before anything runs: unknown keys, a missing or double
    ``cluster_id``/``snapshot_id``, the same source twice (with the same ``run_name``) or the same
    restore target twice raise :class:`~rdsshare.InputError` listing every problem. Like a single
    call, rerunning the same batch adopts what earlier runs made.
    """
    for name, value in (("source", source), ("target", target)):
        if not isinstance(value, AccountSession):
            raise InputError(
                f"{name} must be an AccountSession, got {type(value).__name__}",
                step="input",
                fix="wrap it: AccountSession(boto3.Session(...)) or AccountSession.from_profile(...)",
            )
    problems = _problems(items, max_workers, copies_in_flight)
    if wait is not None and not isinstance(wait, WaitPolicy):
        problems.append(f"wait must be a WaitPolicy, got {type(wait).__name__}")
    if copy_slots is not None and not isinstance(copy_slots, CopySlots):
        problems.append(f"copy_slots must be a CopySlots, got {type(copy_slots).__name__}")
    if problems:
        raise InputError(
            f"{len(problems)} problem(s) in the batch: " + "; ".join(problems),
            step="input",
            fix="each item is a dict of share_cluster_snapshot() arguments with cluster_id or snapshot_id",
        )
    if not items:
        return BatchResult(items=())
    slots = copy_slots if copy_slots is not None else CopySlots(per_region=copies_in_flight)
    hooks = _Hooks(on_event)
    _warm_up(source, target)

    def run(index: int, item: Mapping[str, Any]) -> BatchItemResult:
        key = str(item.get("cluster_id") or item.get("snapshot_id"))
        hook = hooks.for_item()
        kwargs = dict(item)
        kwargs.setdefault("wait", wait)
        try:
            result = share_cluster_snapshot(
                source=source, target=target, on_event=hook, copy_slots=slots, dry_run=False, **kwargs
            )
        except Exception as exc:
            _log.info("batch item %d (%s) failed: %s", index, key, exc)
            return BatchItemResult(index=index, key=key, error=exc)
        return BatchItemResult(index=index, key=key, result=result)

    pool = ThreadPoolExecutor(max_workers=min(max_workers, len(items)), thread_name_prefix="rdsshare-batch")
    futures: list[Future[BatchItemResult]] = []
    try:
        with slots.facts.batch():  # the key facts every item reads alike are read once while it runs
            futures = [pool.submit(run, index, item) for index, item in enumerate(items)]
            wait_all(futures)
    except BaseException:
        # Interrupted (Ctrl-C): drop the queued items; running ones stop at their next event.
        hooks.stop.set()
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    return BatchResult(
        items=tuple(future.result() for future in futures),
        peak_copies_in_flight=max(slots.peak.values(), default=0),
    )
