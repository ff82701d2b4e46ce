"""share_cluster_snapshot(): the facade. It checks input, wires the worker classes and returns a result."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, overload

from ._copier import CopySlots
from ._errors import InputError
from ._events import EventHook
from ._kinds import CLUSTER, INSTANCE, SnapshotKind
from ._policy import CmkPolicyBuilder
from ._restore import ClusterRestoreSpec
from ._results import ShareResult, TargetResult
from ._session import AccountSession
from ._share import MAX_SHARED_ACCOUNTS
from ._validation import check_run_name, validate_identifier
from ._waiting import WaitPolicy

if TYPE_CHECKING:
    from ._instance import InstanceRestoreSpec
    from ._job import ShareJob
    from ._plan import Plan

Snapshot = dict[str, Any]

__all__ = ["ShareResult", "TargetResult", "share_cluster_snapshot", "share_instance_snapshot"]

_log = logging.getLogger("rdsshare")

CleanupMode = Literal["none", "intermediates"]


def _check_sessions(source: object, *targets: object) -> None:
    for name, value in (("source", source), *(("target", t) for t in targets)):
        if not isinstance(value, AccountSession):
            raise InputError(
                f"{name} must be an AccountSession, got {type(value).__name__}",
                step="input",
                fix="wrap it: AccountSession(boto3.Session(...)) or AccountSession.from_profile(...)",
            )


def _target_sessions(target: object, targets: object) -> list[AccountSession]:
    """The target sessions, from exactly one of ``target`` and ``targets`` (at most 20)."""
    if (target is None) == (targets is None):
        raise InputError(
            "pass exactly one of target and targets",
            step="input",
            fix="target=AccountSession(...) for one account, targets=[...] for several",
        )
    if target is not None:
        return [target]  # type: ignore[list-item]  # checked by _check_sessions
    if isinstance(targets, AccountSession) or not isinstance(targets, Sequence) or not targets:
        raise InputError("targets must be a non-empty list of AccountSession", step="input", fix="targets=[a, b]")
    if len(targets) > MAX_SHARED_ACCOUNTS:
        raise InputError(
            f"{len(targets)} targets; a snapshot can be shared with at most {MAX_SHARED_ACCOUNTS} accounts",
            step="input",
            fix="split the targets over several runs",
        )
    return list(targets)


def _restore_specs(restore: object, *, multi: bool, spec_type: type[Any]) -> Callable[[list[str]], dict[str, Any]]:
    """Validate ``restore`` now; map it onto the target account ids once they are known."""
    if restore is None:
        return lambda _accounts: {}
    name = spec_type.__name__
    if isinstance(restore, spec_type):
        if multi:
            raise InputError(
                f"with targets=[...], restore must map target account ids to {name}",
                step="input",
                fix=f"restore={{'222222222222': {name}(...)}}",
            )
        return lambda accounts: {accounts[0]: restore}
    if isinstance(restore, Mapping):
        for account, spec in restore.items():
            if not isinstance(account, str) or not re.fullmatch(r"[0-9]{12}", account):
                raise InputError(
                    f"restore must be a {name}, or a mapping of target account ids to one; "
                    f"{account!r} is not a 12-digit account id",
                    step="input",
                    fix=f"restore={name}(...) for one target; {{'<account id>': {name}(...)}} for several",
                )
            if not isinstance(spec, spec_type):
                raise InputError(
                    f"restore[{account!r}] must be a {name}, got {type(spec).__name__}",
                    step="input",
                    fix=f"restore={{'<account id>': {name}(...)}}",
                )

        def by_account(accounts: list[str]) -> dict[str, Any]:
            unknown = sorted(set(restore) - set(accounts))
            if unknown:
                raise InputError(
                    f"restore names accounts that are not targets: {unknown}",
                    step="input",
                    fix="use the target sessions' account ids as keys",
                )
            return {a: restore[a] for a in accounts if a in restore}

        return by_account
    raise InputError(
        f"restore must be a {name}, got {type(restore).__name__}",
        step="input",
        fix=f"restore={name}(...)",
    )


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
      account copies the snapshot into the target region and shares it there.
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
    from ._instance import InstanceRestoreSpec

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
) -> ShareResult | Plan:
    """The flow for either kind of snapshot; the public functions only name the kind.

    A :class:`~rdsshare.ShareJob` advanced in a loop, sleeping as long as each call says: the
    blocking call and a job resumed across processes run the same steps.
    """
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
    )
    if dry_run:
        return job.make_plan()
    return run_to_end(job)


def run_to_end(job: ShareJob) -> ShareResult:
    """Advance ``job`` until it is done, sleeping between calls as each one asks."""
    from ._waiting import sleep

    while True:
        step = job.advance()
        if step.done:
            return job.result
        sleep(step.wait_seconds)


def prepare(
    kind: SnapshotKind,
    *,
    source: AccountSession,
    target: AccountSession | None = None,
    targets: Sequence[AccountSession] | None = None,
    source_id: str | None = None,
    cluster_id: str | None = None,
    instance_id: str | None = None,
    snapshot_id: str | None = None,
    restore: Any = None,
    run_name: str | None = None,
    source_kms_key: str | None = None,
    key_admin_principals: Sequence[str] = (),
    on_event: EventHook | None = None,
    wait: WaitPolicy | None = None,
    cleanup: CleanupMode = "none",
    copy_slots: CopySlots | None = None,
) -> ShareJob:
    """Check the input of a share (nothing is called that changes anything) and make its job."""
    from ._job import ShareJob
    from ._jobstate import new_state
    from ._planfile import spec_to_dict, spec_type

    # -- input: nothing has been called yet ---------------------------------------------------
    other = instance_id if kind is CLUSTER else cluster_id
    if other is not None:
        raise InputError(
            f"a {kind.noun} share takes {kind.name}_id, not {'instance' if kind is CLUSTER else 'cluster'}_id",
            step="input",
            fix=f"pass {kind.name}_id=...",
        )
    if source_id is None:
        source_id = cluster_id if kind is CLUSTER else instance_id
    sessions = _target_sessions(target, targets)
    _check_sessions(source, *sessions)
    arg = f"{kind.name}_id"
    if (source_id is None) == (snapshot_id is None):
        raise InputError(
            f"pass exactly one of {arg} and snapshot_id",
            step="input",
            fix=f"{arg}='my-db' takes a new snapshot; snapshot_id='<id or ARN>' starts from an existing one",
        )
    if source_id is not None:
        source_id = validate_identifier(source_id, kind.name, argument=arg)
    if snapshot_id is not None and not isinstance(snapshot_id, str):
        raise InputError(
            f"snapshot_id must be a string, got {type(snapshot_id).__name__}",
            step="input",
            fix="pass the snapshot id or ARN as a string",
        )
    arn_pattern = re.compile(rf"arn:(aws[a-z-]*):rds:([a-z0-9-]+):([0-9]{{12}}):{kind.arn_type}:(.+)")
    if snapshot_id is not None and not arn_pattern.fullmatch(snapshot_id) and not snapshot_id.startswith("rds:"):
        validate_identifier(snapshot_id, kind.identifier_kind, argument="snapshot_id")
    specs_by_position = _restore_specs(restore, multi=targets is not None, spec_type=spec_type(kind))
    check_run_name(run_name)
    if cleanup not in ("none", "intermediates"):
        raise InputError(
            f"cleanup must be 'none' or 'intermediates', not {cleanup!r}",
            step="input",
            fix="use cleanup='intermediates', or rdsshare.cleanup(result.manifest, ...) for everything",
        )
    if cleanup == "intermediates" and not restore:
        raise InputError(
            "cleanup='intermediates' needs restore=...: without a restore the shared snapshot is the result",
            step="input",
            fix="pass restore, or clean up later with rdsshare.cleanup(result.manifest, ...)",
        )

    # -- identities (read-only) ---------------------------------------------------------------
    src = source.account_id
    accounts = [t.account_id for t in sessions]
    if src in accounts:
        raise InputError(
            f"source and target are the same account ({src})",
            step="input",
            account_id=src,
            fix="use sessions (profiles or roles) of two different accounts",
        )
    if len(set(accounts)) != len(accounts):
        raise InputError(
            f"the targets repeat an account: {accounts}", step="input", fix="list each target account once"
        )
    if len({t.region for t in sessions}) > 1:
        raise InputError(
            f"the targets are in different regions: {sorted({t.region for t in sessions})}",
            step="input",
            fix="share with the targets of each region in a separate call",
        )
    specs = specs_by_position(accounts)
    tgt = accounts[0]
    m = arn_pattern.fullmatch(snapshot_id) if snapshot_id is not None else None
    if m is not None and (m.group(3) != src or m.group(2) != source.region):
        raise InputError(
            f"snapshot {snapshot_id} is not in the source account {src} / region {source.region}",
            step="input",
            resource=snapshot_id,
            fix="pass a snapshot of the source session's account and region",
        )
    for admin in key_admin_principals:
        CmkPolicyBuilder(owner_account_id=src, target_account_ids=(), admin_principals=(admin,))
    request = {
        f"{kind.name}_id": source_id,
        "snapshot_id": snapshot_id,
        "run_name": run_name,
        "source_kms_key": source_kms_key,
        "key_admin_principals": list(key_admin_principals),
        "target_account_ids": accounts,
        "restore": {account: spec_to_dict(spec) for account, spec in specs.items()},
        "cleanup": cleanup,
    }
    state = new_state(kind, source_account_id=src, region=sessions[0].region, run_name=run_name or tgt, request=request)
    return ShareJob(state, source=source, targets=sessions, on_event=on_event, wait=wait, copy_slots=copy_slots)
