"""SnapshotCopier: take, copy and wait for DB cluster snapshots and DB snapshots, as ensures."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from ._errors import error_code, translate_client_error
from ._events import Emitter, EventHook, Outcome, StepFinished, StepStarted, as_emitter
from ._findings import UNREAD, Unread
from ._kinds import CLUSTER, SnapshotKind
from ._naming import check_ours, snapshot_name
from ._observe import snapshot_observation
from ._slots import UNLIMITED, CopySlots
from ._waiting import Observation, WaitPolicy, retry_call, wait_seen
from ._watch import CLUSTER_SNAPSHOTS, DB_SNAPSHOTS, Freshness, Watcher, lookup

if TYPE_CHECKING:
    from mypy_boto3_rds import RDSClient

__all__ = ["CopySlots", "SnapshotCopier"]

_log = logging.getLogger("rdsshare.copier")

BUSY_SECONDS = 1800.0


def is_copy_quota(message: str) -> bool:
    """``SnapshotQuotaExceeded`` covers two quotas; only the concurrent-copies one is worth waiting for.

    "Cannot copy more than 5 snapshots ..." -> wait; "Cannot create more than 100 manual
    snapshots" -> fail (docs/sources/aws-rules.md §4).
    """
    text = message.lower()
    return "manual snapshots" not in text and ("copy" in text or "progress" in text)


Snapshot = dict[str, Any]


class SnapshotCopier:
    """Cluster snapshot work in one account: snapshot a cluster, copy a snapshot, wait for both.

    Every method is an ensure: it looks the deterministic identifier up first, adopts what an
    earlier run made (rdsshare tags for the same source), and only then creates.
    """

    def __init__(
        self,
        rds: RDSClient,
        *,
        account_id: str,
        region: str,
        emit: Emitter | EventHook | None = None,
        wait: WaitPolicy | None = None,
        slots: CopySlots | None = None,
        kind: SnapshotKind = CLUSTER,
        watcher: Watcher | None = None,
    ) -> None:
        self._rds, self._watcher, self.kind = rds, watcher, kind
        self.account_id, self.region = account_id, region
        self._emit = as_emitter(emit)
        self._wait = wait or WaitPolicy()
        self._slots = slots or UNLIMITED

    def find_many(self, snapshot_ids: Sequence[str]) -> dict[str, Snapshot | None]:
        """Several of this account's snapshots by identifier, with one describe call.

        Returns every requested id (lower-cased) mapped to its snapshot or None.
        """
        wanted = [i.lower() for i in snapshot_ids]
        out: dict[str, Snapshot | None] = dict.fromkeys(wanted)
        if not wanted:
            return out
        kind = self.kind
        try:
            paginator: Any = self._rds.get_paginator(kind.describe)  # type: ignore[call-overload]
            for page in paginator.paginate(Filters=[{"Name": kind.id_filter, "Values": wanted}]):
                for snap in page.get(kind.list_field, []):
                    ident = str(snap.get(kind.id_field, "")).lower()
                    if ident in out:
                        out[ident] = dict(snap)
        except ClientError as exc:
            raise translate_client_error(
                exc, step="snapshot", account_id=self.account_id, resource=", ".join(wanted)
            ) from exc
        return out

    def find(self, snapshot: str, *, shared: bool = False) -> Snapshot | None:
        """The snapshot named by id or ARN, or None. ``shared=True`` looks at snapshots shared with us."""
        kind = self.kind
        kwargs: dict[str, Any] = {kind.id_field: snapshot}
        if snapshot_name(snapshot).startswith("rds:"):
            # "If this identifier is for an automated snapshot, the SnapshotType parameter must also
            # be specified" (botocore model, DescribeDBClusterSnapshots / DescribeDBSnapshots).
            kwargs["SnapshotType"] = "automated"
        elif shared:
            kwargs["IncludeShared"] = True
        try:
            found = getattr(self._rds, kind.describe)(**kwargs)[kind.list_field]
        except ClientError as exc:
            if error_code(exc) == kind.not_found:
                return None
            raise translate_client_error(exc, step="snapshot", account_id=self.account_id, resource=snapshot) from exc
        wanted = snapshot.lower()
        for snap in found:
            if wanted in (
                str(snap.get(kind.id_field, "")).lower(),
                str(snap.get(kind.arn_field, "")).lower(),
            ):
                return dict(snap)
        return None

    def observe(self, snapshot: str, fresh: Freshness | None = None) -> tuple[Observation | None, Snapshot | None]:
        """One poll of a wait for ``snapshot``: how it stands (None: not visible) and its description.

        With a watcher and ``fresh``, the poll is shared with the other waits of this account and region.
        """
        what = CLUSTER_SNAPSHOTS if self.kind is CLUSTER else DB_SNAPSHOTS
        error = partial(translate_client_error, step="snapshot", account_id=self.account_id, resource=snapshot)
        [snap], seen_at = lookup(self._watcher, what, [snapshot], fresh, find=self.find, error=error)
        return (snapshot_observation(snap, seen_at) if snap is not None else None), snap

    def wait_available(self, snapshot: str, *, step: str) -> Snapshot:
        """Poll until the snapshot is ``available``; progress events carry ``PercentProgress``."""
        observe, account = (lambda: self.observe(snapshot)), self.account_id
        return wait_seen(observe, step=step, account_id=account, resource=snapshot, emit=self._emit, policy=self._wait)

    def finished(self, snapshot_id: str, *, step: str, outcome: Outcome, snap: Snapshot) -> None:
        """Report that ``snapshot_id``'s step is done (after its wait)."""
        self._emit(
            StepFinished(
                step=step,
                account_id=self.account_id,
                resource=snapshot_id,
                outcome=outcome,
                arn=snap.get(self.kind.arn_field),
            )
        )

    def _ensure(
        self,
        snapshot_id: str,
        *,
        source: str,
        step: str,
        action: str,
        create: Callable[[], object],
        existing: Snapshot | Unread | None,
        wait: bool = True,
    ) -> tuple[Snapshot, Outcome]:
        """Adopt ``snapshot_id`` if an earlier run made it, else ``create()`` it; then wait for it.

        ``wait=False`` returns at once with the snapshot as created or found (it may still be
        ``creating``): the caller then polls it (:meth:`observe`) and reports the end (:meth:`finished`).

        ``existing`` is what the plan found under ``snapshot_id`` (None: nothing); only when the
        plan did not look (:data:`UNREAD`) does this describe it. ``AlreadyExists`` from ``create``
        (a concurrent run, or a retry whose first response was lost) is adopted after the same
        ownership check (rdsshare tags for the same ``source``).
        """
        if isinstance(existing, Unread):
            existing = self.find(snapshot_id)
        outcome: Outcome = "adopted"
        snap: Snapshot | None = existing
        if existing is not None:
            check_ours(
                existing.get("TagList"), source=source, step=step, account_id=self.account_id, resource=snapshot_id
            )
        else:
            self._emit(StepStarted(step=step, account_id=self.account_id, resource=snapshot_id, action=action))
            try:
                response = create()
                outcome = "created"
                made = (
                    response.get(self.kind.id_field.removesuffix("Identifier")) if isinstance(response, dict) else None
                )
                snap = dict(made) if made else None
            except ClientError as exc:
                if error_code(exc) != self.kind.already_exists:
                    raise translate_client_error(
                        exc, step=step, account_id=self.account_id, resource=snapshot_id
                    ) from exc
                snap = raced = self.find(snapshot_id)
                check_ours(
                    raced.get("TagList") if raced else None,
                    source=source,
                    step=step,
                    account_id=self.account_id,
                    resource=snapshot_id,
                )
        if not wait:
            # The caller waits (a resumable job polls between its calls) and reports the end.
            return snap or {self.kind.id_field: snapshot_id, "Status": "creating"}, outcome
        if existing is not None and existing.get("Status") == "available":
            snap = existing  # described moments ago: nothing to wait for
        else:
            snap = self.wait_available(snapshot_id, step=step)
        self.finished(snapshot_id, step=step, outcome=outcome, snap=snap)
        return snap, outcome

    def ensure_snapshot(
        self,
        *,
        source_id: str,
        snapshot_id: str,
        tags: Sequence[dict[str, str]],
        source: str,
        step: str = "snapshot",
        existing: Snapshot | Unread | None = UNREAD,
        wait: bool = True,
    ) -> tuple[Snapshot, Outcome]:
        """A manual snapshot ``snapshot_id`` of the cluster (or instance) ``source_id``, available.

        ``existing``: what the plan found under ``snapshot_id`` (see :meth:`_ensure`).
        """

        def create() -> object:
            return retry_call(
                lambda: getattr(self._rds, self.kind.create)(
                    **{self.kind.source_param: source_id, self.kind.id_field: snapshot_id, "Tags": list(tags)}
                ),
                retry_codes=self.kind.busy_codes,
                step=step,
                account_id=self.account_id,
                resource=source_id,
                emit=self._emit,
                max_seconds=self._wait.retry_seconds(BUSY_SECONDS),
            )

        return self._ensure(
            snapshot_id, source=source, step=step, action="create snapshot", create=create, existing=existing, wait=wait
        )

    def ensure_copy(
        self,
        *,
        source_snapshot: str,
        target_id: str,
        kms_key_id: str | None,
        tags: Sequence[dict[str, str]],
        source: str,
        step: str = "copy",
        source_region: str | None = None,
        existing: Snapshot | Unread | None = UNREAD,
        wait: bool = True,
    ) -> tuple[Snapshot, Outcome]:
        """A copy ``target_id`` of ``source_snapshot`` (id or ARN), under ``kms_key_id``, available.

        ``existing``: what the plan found under ``target_id`` (see :meth:`_ensure`).

        Waits and retries while 5 copies are already in flight (the per-region concurrent copy
        quota [AUR-COPY]); fails at once on the 100-manual-snapshots quota.
        """
        params: dict[str, Any] = {
            self.kind.copy_source_param: source_snapshot,
            self.kind.copy_target_param: target_id,
            "Tags": list(tags),
            "CopyTags": False,
        }
        if kms_key_id is not None:
            params["KmsKeyId"] = kms_key_id
        if source_region is not None:
            params["SourceRegion"] = source_region

        def copy_once() -> object:
            return retry_call(
                lambda: getattr(self._rds, self.kind.copy)(**params),
                retry_codes=("SnapshotQuotaExceeded", "SnapshotQuotaExceededFault"),
                message_filter=is_copy_quota,
                step=step,
                account_id=self.account_id,
                resource=target_id,
                emit=self._emit,
                max_seconds=self._wait.retry_seconds(self._wait.timeout.total_seconds()),
                initial_seconds=15.0,
                max_interval_seconds=60.0,
            )

        def create() -> object:
            return retry_call(
                copy_once,
                retry_codes=self.kind.busy_codes,
                step=step,
                account_id=self.account_id,
                resource=source_snapshot,
                emit=self._emit,
                max_seconds=self._wait.retry_seconds(BUSY_SECONDS),
            )

        if not wait:  # the caller holds the copy slot until its own wait ends
            return self._ensure(
                target_id,
                source=source,
                step=step,
                action="copy snapshot",
                create=create,
                existing=existing,
                wait=False,
            )
        with self._slots.hold(self.account_id, self.region):
            return self._ensure(
                target_id, source=source, step=step, action="copy snapshot", create=create, existing=existing
            )
