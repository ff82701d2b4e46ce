"""share_cluster_snapshot(): the facade. It checks input, wires the worker classes and returns a result."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, overload

from ._events import EventHook
from ._kinds import CLUSTER, INSTANCE, SnapshotKind
from ._request import CleanupMode, CrossRegionCopy
from ._results import ShareResult, TargetResult
from ._session import AccountSession
from ._slots import CopySlots
from ._specs import ClusterRestoreSpec
from ._waiting import WaitPolicy

if TYPE_CHECKING:
    from ._job import ShareJob
    from ._plan import Plan
    from ._specs import InstanceRestoreSpec

Snapshot = dict[str, Any]

__all__ = ["ShareResult", "TargetResult", "share_cluster_snapshot", "share_instance_snapshot"]

_log = logging.getLogger("rdsshare")


@overload
def share_cluster_snapshot(
    *,
    source: AccountSession,
    target: AccountSession | None = ...,
    targets: Sequence[AccountSession] | None = ...,
    cluster_id: str | None = ...,
    snapshot_id: str | None = ...,
    restore: ClusterRestoreSpec | Mapping[str, ClusterRestoreSpec] | None = ...,
    run_name: str | None = ...,
    source_kms_key: str | None = ...,
    key_admin_principals: Sequence[str] = ...,
    on_event: EventHook | None = ...,
    wait: WaitPolicy | None = ...,
    dry_run: Literal[False] = ...,
    cleanup: CleanupMode = ...,
    copy_slots: CopySlots | None = ...,
    cross_region_copy: CrossRegionCopy = ...,
) -> ShareResult: ...


@overload
def share_cluster_snapshot(
    *,
    source: AccountSession,
    target: AccountSession | None = ...,
    targets: Sequence[AccountSession] | None = ...,
    cluster_id: str | None = ...,
    snapshot_id: str | None = ...,
    restore: ClusterRestoreSpec | Mapping[str, ClusterRestoreSpec] | None = ...,
    run_name: str | None = ...,
    source_kms_key: str | None = ...,
    key_admin_principals: Sequence[str] = ...,
    on_event: EventHook | None = ...,
    wait: WaitPolicy | None = ...,
    dry_run: Literal[True],
    cleanup: CleanupMode = ...,
    copy_slots: CopySlots | None = ...,
    cross_region_copy: CrossRegionCopy = ...,
) -> Plan: ...


def share_cluster_snapshot(
    *,
    source: AccountSession,
    target: AccountSession | None = None,
    targets: Sequence[AccountSession] | None = None,
    cluster_id: str | None = None,
    snapshot_id: str | None = None,
    restore: ClusterRestoreSpec | Mapping[str, ClusterRestoreSpec] | None = None,
    run_name: str | None = None,
    source_kms_key: str | None = None,
    key_admin_principals: Sequence[str] = (),
    on_event: EventHook | None = None,
    wait: WaitPolicy | None = None,
    dry_run: bool = False,
    cleanup: CleanupMode = "none",
    copy_slots: CopySlots | None = None,
    cross_region_copy: CrossRegionCopy = "auto",
) -> ShareResult | Plan:
    """Share an Aurora cluster's snapshot with another account and (optionally) restore it there.

    Exactly one of ``cluster_id`` (a manual snapshot is taken) and ``snapshot_id`` (id or ARN
    of an existing manual or automated snapshot in the source account) is required.

    * A snapshot under the AWS-managed ``aws/rds`` key (which cannot be shared) is copied once
      under a source CMK: ``source_kms_key`` if given, else rdsshare's own
      ``alias/rdsshare/share-key``, created on first use. A customer-managed key only gets its
      policy extended; an unencrypted snapshot is shared as is.
    * The snapshot is shared with the target account (never publicly). ``targets=[...]`` (up
      to 20 accounts, all in one region) shares one copy with all of them; ``restore`` is then a
      mapping from target account id to its :class:`ClusterRestoreSpec` (targets without one
      only get the share). When the target's region differs from the source's, the source
      account copies the snapshot into the target region and shares it there, or (one target, a
      snapshot under a customer-managed key) the target copies it into its region under its own
      key in one step: the plan takes the cheaper path and says why; ``cross_region_copy``
      (``"source"`` or ``"target"``) forces one.
    * With ``restore``, the target restores a cluster from the shared snapshot's ARN under a
      key it owns, creates the instances and lets RDS manage the master password in its own
      Secrets Manager.

    Every step is an ensure: names derive from the source and ``run_name`` (default: the target
    account id), so calling again with the same arguments adopts what exists and resumes after
    a crash. Bad input raises :class:`~rdsshare.InputError` before anything is changed.

    ``dry_run=True`` returns a :class:`~rdsshare.Plan` (each step: create / adopt / update /
    skip, and every problem found) using read-only calls only. A real run makes the same checks
    first and raises :class:`~rdsshare.PreflightError` with all problems before any change.
    ``cleanup="intermediates"`` (with ``restore``) unshares and deletes the intermediate
    snapshots once the restored cluster is up; see :func:`rdsshare.cleanup` for later cleanup.
    ``copy_slots`` bounds snapshot copies in flight across concurrent calls that share it
    (at most 5 per account and destination region by default).
    """
    return share_snapshot(
        CLUSTER,
        ClusterRestoreSpec,
        source=source,
        target=target,
        targets=targets,
        source_id=cluster_id,
        snapshot_id=snapshot_id,
        restore=restore,
        run_name=run_name,
        source_kms_key=source_kms_key,
        key_admin_principals=key_admin_principals,
        on_event=on_event,
        wait=wait,
        dry_run=dry_run,
        cleanup=cleanup,
        copy_slots=copy_slots,
        cross_region_copy=cross_region_copy,
    )


@overload
def share_instance_snapshot(
    *,
    source: AccountSession,
    target: AccountSession | None = ...,
    targets: Sequence[AccountSession] | None = ...,
    instance_id: str | None = ...,
    snapshot_id: str | None = ...,
    restore: InstanceRestoreSpec | Mapping[str, InstanceRestoreSpec] | None = ...,
    run_name: str | None = ...,
    source_kms_key: str | None = ...,
    key_admin_principals: Sequence[str] = ...,
    on_event: EventHook | None = ...,
    wait: WaitPolicy | None = ...,
    dry_run: Literal[False] = ...,
    cleanup: CleanupMode = ...,
    copy_slots: CopySlots | None = ...,
    cross_region_copy: CrossRegionCopy = ...,
) -> ShareResult: ...


@overload
def share_instance_snapshot(
    *,
    source: AccountSession,
    target: AccountSession | None = ...,
    targets: Sequence[AccountSession] | None = ...,
    instance_id: str | None = ...,
    snapshot_id: str | None = ...,
    restore: InstanceRestoreSpec | Mapping[str, InstanceRestoreSpec] | None = ...,
    run_name: str | None = ...,
    source_kms_key: str | None = ...,
    key_admin_principals: Sequence[str] = ...,
    on_event: EventHook | None = ...,
    wait: WaitPolicy | None = ...,
    dry_run: Literal[True],
    cleanup: CleanupMode = ...,
    copy_slots: CopySlots | None = ...,
    cross_region_copy: CrossRegionCopy = ...,
) -> Plan: ...


def share_instance_snapshot(
    *,
    source: AccountSession,
    target: AccountSession | None = None,
    targets: Sequence[AccountSession] | None = None,
    instance_id: str | None = None,
    snapshot_id: str | None = None,
    restore: InstanceRestoreSpec | Mapping[str, InstanceRestoreSpec] | None = None,
    run_name: str | None = None,
    source_kms_key: str | None = None,
    key_admin_principals: Sequence[str] = (),
    on_event: EventHook | None = None,
    wait: WaitPolicy | None = None,
    dry_run: bool = False,
    cleanup: CleanupMode = "none",
    copy_slots: CopySlots | None = None,
    cross_region_copy: CrossRegionCopy = "auto",
) -> ShareResult | Plan:
    """Share an RDS DB instance's snapshot with another account and (optionally) restore it there.

    The same flow as :func:`share_cluster_snapshot`, for DB (instance) snapshots: exactly one of
    ``instance_id`` (a manual snapshot is taken) and ``snapshot_id``; a default-key snapshot is
    copied once under a source CMK; the snapshot is shared; with ``restore``
    (:class:`InstanceRestoreSpec`), the target copies it under a key it owns (AWS does not
    restore a shared encrypted DB snapshot directly [RDS-SHARE]) and restores a DB instance
    from that copy with ``ManageMasterUserPassword``. Snapshots whose option group has
    permanent or persistent options (e.g. TDE) cannot be shared, and are refused before any
    change. Returns a :class:`ShareResult` (``target_instance_arn``, ``target_snapshot_arn``),
    or a :class:`Plan` with ``dry_run=True``.
    """
    from ._specs import InstanceRestoreSpec

    return share_snapshot(
        INSTANCE,
        InstanceRestoreSpec,
        source=source,
        target=target,
        targets=targets,
        source_id=instance_id,
        snapshot_id=snapshot_id,
        restore=restore,
        run_name=run_name,
        source_kms_key=source_kms_key,
        key_admin_principals=key_admin_principals,
        on_event=on_event,
        wait=wait,
        dry_run=dry_run,
        cleanup=cleanup,
        copy_slots=copy_slots,
        cross_region_copy=cross_region_copy,
    )


def share_snapshot(
    kind: SnapshotKind,
    spec_type: type[Any],
    *,
    source: AccountSession,
    target: AccountSession | None,
    targets: Sequence[AccountSession] | None,
    source_id: str | None,
    snapshot_id: str | None,
    restore: Any,
    run_name: str | None,
    source_kms_key: str | None,
    key_admin_principals: Sequence[str],
    on_event: EventHook | None,
    wait: WaitPolicy | None,
    dry_run: bool,
    cleanup: CleanupMode,
    copy_slots: CopySlots | None,
    cross_region_copy: CrossRegionCopy = "auto",
) -> ShareResult | Plan:
    """The flow for either kind of snapshot; the public functions only name the kind.

    A :class:`~rdsshare.ShareJob` advanced in a loop, sleeping as long as each call says: the
    blocking call and a job resumed across processes run the same steps.
    """
    from ._request import prepare

    job = prepare(
        kind,
        source=source,
        target=target,
        targets=targets,
        source_id=source_id,
        snapshot_id=snapshot_id,
        restore=restore,
        run_name=run_name,
        source_kms_key=source_kms_key,
        key_admin_principals=key_admin_principals,
        on_event=on_event,
        wait=wait,
        cleanup=cleanup,
        copy_slots=copy_slots,
        cross_region_copy=cross_region_copy,
    )
    if dry_run:
        plan = job.make_plan()
        job.release_reservation()  # a dry run writes nothing
        return plan
    return run_to_end(job)


def run_to_end(job: ShareJob) -> ShareResult:
    """Advance ``job`` until it is done, sleeping between calls as each one asks."""
    from ._waiting import sleep

    while True:
        step = job.advance()
        if step.done:
            return job.result
        sleep(step.wait_seconds)
