"""share_cluster_snapshot(): the facade. It checks input, wires the worker classes and returns a result."""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, cast, overload

import attrs

from ._copier import CopySlots, SnapshotCopier
from ._errors import (
    InputError,
    NotFoundError,
    PlanChangedError,
    PreflightError,
    RdsShareError,
    ResourceFailedError,
)
from ._events import Emitter, EventHook, StepFinished, StepSkipped
from ._findings import Findings, Unread
from ._keys import KMS_PROPAGATION_SECONDS, KeyInfo, KeyManager
from ._kinds import CLUSTER, INSTANCE, SnapshotKind
from ._naming import TAG_RUN_TOKEN, copy_id, derived_id, new_run_token, rds_tags, snapshot_name, tag_dict
from ._policy import CmkPolicyBuilder
from ._restore import ClusterRestoreSpec, Restorer
from ._session import AccountSession
from ._share import MAX_SHARED_ACCOUNTS, ShareManager
from ._validation import check_run_name, validate_identifier
from ._waiting import WaitPolicy, retry_call

if TYPE_CHECKING:
    from mypy_boto3_rds.type_defs import DBClusterTypeDef

    from ._cleanup import CleanupReport
    from ._instance import InstanceRestorer, InstanceRestoreSpec
    from ._manifest import Kind, Manifest, ManifestEntry
    from ._plan import Plan

Snapshot = dict[str, Any]

__all__ = ["ShareResult", "TargetResult", "share_cluster_snapshot", "share_instance_snapshot"]

_log = logging.getLogger("rdsshare")

CleanupMode = Literal["none", "intermediates"]


@attrs.frozen(kw_only=True)
class TargetResult:
    """What one target account got (its restore, when a restore spec was given for it)."""

    target_account_id: str
    target_cluster_arn: str | None = None
    target_kms_key_arn: str | None = None
    master_user_secret_arn: str | None = None
    instance_arns: tuple[str, ...] = ()
    backup_snapshot_arn: str | None = None
    #: DB snapshots: the restored DB instance
    target_instance_arn: str | None = None
    #: DB snapshots: the target's own copy of the shared snapshot (under its key) it restored from
    target_snapshot_arn: str | None = None
    #: data copies made in this target account (DB snapshots: 1 when encrypted)
    data_copies: int = 0


@attrs.frozen(kw_only=True)
class ShareResult:
    """What a share produced. ARNs are as AWS reports them."""

    #: the run name the resource names derive from (default: the target account id)
    run_name: str
    region: str
    source_account_id: str
    target_account_id: str
    #: the snapshot the flow started from (taken from the cluster, or the one given)
    source_snapshot_arn: str
    #: the snapshot shared with the target (a CMK copy of the source, or the source itself)
    shared_snapshot_arn: str
    #: the key of the shared snapshot (a source-account CMK), None when unencrypted
    source_kms_key_arn: str | None
    #: data copies the flow needed on the critical path: 1 for a default-key (``aws/rds``) or
    #: automated source snapshot, else 0
    data_copies: int
    #: the restored cluster in the target account (None without ``restore``)
    target_cluster_arn: str | None = None
    #: the target-owned key of the restored cluster (never the source's)
    target_kms_key_arn: str | None = None
    #: the secret in the target's Secrets Manager that holds the new master password
    master_user_secret_arn: str | None = None
    #: the restored cluster's DB instances, writer first
    instance_arns: tuple[str, ...] = ()
    #: the target's own copy of the snapshot, with ``ClusterRestoreSpec(backup_copy=True)``
    backup_snapshot_arn: str | None = None
    #: what this call created (ids or ARNs)
    created: tuple[str, ...] = ()
    #: what this call found from an earlier run and adopted (ids or ARNs)
    adopted: tuple[str, ...] = ()
    #: DB snapshots: the restored DB instance (first target)
    target_instance_arn: str | None = None
    #: DB snapshots: the first target's own copy of the shared snapshot
    target_snapshot_arn: str | None = None
    #: one entry per target account, in the order given (the top-level target fields are the first's)
    targets: tuple[TargetResult, ...] = ()
    #: every resource the run created, adopted or changed (for :func:`rdsshare.cleanup`)
    manifest: Manifest | None = None
    #: what ``cleanup="intermediates"`` did
    cleanup_report: CleanupReport | None = None

    def write_manifest(self, path: str | os.PathLike[str]) -> None:
        """Write the run manifest as JSON."""
        if self.manifest is None:
            raise InputError("this result has no manifest", step="manifest", fix="use the result of a real run")
        self.manifest.write(path)


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
    expected: Plan | None = None,
) -> ShareResult | Plan:
    """The flow for either kind of snapshot; the public functions only name the kind.

    ``expected``: a reviewed plan (:meth:`Plan.apply`): the run goes ahead only if the plan made
    now, before any write, decides the same.
    """
    # -- input: nothing has been called yet ---------------------------------------------------
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
    specs_by_position = _restore_specs(restore, multi=targets is not None, spec_type=spec_type)
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
    emit = Emitter(on_event)
    wait = wait or WaitPolicy()

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
    run = run_name or tgt
    flow = _Flow(
        source=source, targets=sessions, run=run, emit=emit, wait=wait, specs=specs, slots=copy_slots, kind=kind
    )
    plan = flow.preflight.check(
        cluster_id=source_id,
        snapshot_id=snapshot_id,
        restore=specs.get(tgt),
        source_kms_key=source_kms_key,
        admins=tuple(key_admin_principals),
        more_targets=[(t, flow.restorers[t.account_id], specs.get(t.account_id)) for t in sessions[1:]],
    )
    from ._planfile import changes, spec_to_dict

    plan = attrs.evolve(
        plan,
        kind=kind.name,
        request={
            f"{kind.name}_id": source_id,
            "snapshot_id": snapshot_id,
            "run_name": run_name,
            "source_kms_key": source_kms_key,
            "key_admin_principals": list(key_admin_principals),
            "target_account_ids": accounts,
            "restore": {account: spec_to_dict(spec) for account, spec in specs.items()},
            "cleanup": cleanup,
        },
    )
    if dry_run:
        return plan
    if expected is not None:
        changed = changes(expected, plan)
        if changed:
            raise PlanChangedError(changed)
    if not plan.ok:
        raise PreflightError(plan)
    try:
        result = flow.run(
            cluster_id=source_id,
            snapshot_id=snapshot_id,
            source_kms_key=source_kms_key,
            key_admin_principals=tuple(key_admin_principals),
        )
    except (RdsShareError, KeyboardInterrupt) as exc:
        # What was made so far, so that a failed run can be cleaned up (or resumed and then cleaned up).
        exc.manifest = flow.manifest()  # type: ignore[union-attr]  # KeyboardInterrupt gets it too
        raise
    if cleanup == "intermediates":
        assert result.manifest is not None
        from ._cleanup import cleanup as run_cleanup  # only runs that clean up pay for importing it

        report = run_cleanup(
            result.manifest,
            source=source,
            target=sessions[0],
            targets=sessions[1:],
            on_event=on_event,
            _scope="intermediates",
        )
        result = attrs.evolve(result, cleanup_report=report)
    return result


class _Flow:
    """One run of the cluster flow; the facade builds it after the input checks."""

    def __init__(
        self,
        *,
        source: AccountSession,
        targets: Sequence[AccountSession],
        run: str,
        emit: Emitter,
        wait: WaitPolicy,
        specs: Mapping[str, Any],
        slots: CopySlots | None = None,
        kind: SnapshotKind = CLUSTER,
    ) -> None:
        target = targets[0]
        self.kind = kind
        self.manifest_kind: Kind = "cluster-snapshot" if kind.name == "cluster" else "db-snapshot"
        self.slots = slots
        self.source = source
        self.target = target
        self.targets = list(targets)
        self.tgts = [t.account_id for t in targets]
        self.specs = dict(specs)
        self.run_name = run
        #: tagged on everything this run creates; recorded in the manifest for cleanup to match
        self.token = new_run_token()
        self.emit = emit
        self.wait = wait
        self.src = source.account_id
        self.tgt = target.account_id
        # The snapshot is shared, and restored, in the target's region. When that differs from
        # the source's, the source account copies it there first (one cross-region copy inside
        # one account, which AWS fully supports [AUR-COPY]); the target then restores in-region.
        self.home_region = source.region
        self.region = target.region
        self.cross_region = self.home_region != self.region
        self.share_source = source.in_region(self.region)
        self.from_cluster = True
        self.created: list[str] = []
        self.adopted: list[str] = []
        self.entries: list[ManifestEntry] = []
        self.copier = SnapshotCopier(
            source.rds(), account_id=self.src, region=self.home_region, emit=emit, wait=wait, kind=kind
        )
        self.share_copier = SnapshotCopier(
            self.share_source.rds(),
            account_id=self.src,
            region=self.region,
            emit=emit,
            wait=wait,
            slots=slots,
            kind=kind,
        )
        self.home_keys = KeyManager(
            source.kms(),
            account_id=self.src,
            region=self.home_region,
            caller_arn=source.caller_arn,
            emit=emit,
            partition=source.partition,
        )
        self.keys = KeyManager(
            self.share_source.kms(),
            account_id=self.src,
            region=self.region,
            caller_arn=source.caller_arn,
            emit=emit,
            partition=source.partition,
        )
        self.restorers: dict[str, Any] = {}
        for session in self.targets:
            tkeys = KeyManager(
                session.kms(),
                account_id=session.account_id,
                region=self.region,
                caller_arn=session.caller_arn,
                emit=emit,
                partition=session.partition,
            )
            if kind is INSTANCE:
                tcopier = SnapshotCopier(
                    session.rds(),
                    account_id=session.account_id,
                    region=self.region,
                    emit=emit,
                    wait=wait,
                    slots=slots,
                    kind=INSTANCE,
                )
                from ._instance import InstanceRestorer

                self.restorers[session.account_id] = InstanceRestorer(
                    session.rds(),
                    tkeys,
                    account_id=session.account_id,
                    region=self.region,
                    emit=emit,
                    wait=wait,
                    copier=tcopier,
                )
            else:
                self.restorers[session.account_id] = Restorer(
                    session.rds(), tkeys, account_id=session.account_id, region=self.region, emit=emit, wait=wait
                )
        from ._plan import Preflight  # with the checks' modules, loaded by the first run, not the import

        self.preflight = Preflight(
            source=source,
            target=target,
            run=run,
            home_keys=self.home_keys,
            keys=self.keys,
            copier=self.copier,
            share_copier=self.share_copier,
            restorer=self.restorers[self.tgt],
            kind=kind,
        )

    def _record(
        self,
        outcome: str,
        what: str | None,
        *,
        kind: Kind,
        role: str,
        account: str,
        managed: bool = True,
        detail: dict[str, str] | None = None,
        region: str | None = None,
        found: Mapping[str, Any] | None = None,
    ) -> None:
        """Note a resource for the manifest. ``found``: the resource as described, whose run token
        (the run that made it: this one, or the earlier run it adopted it from) cleanup will match."""
        if what is None:
            return
        from ._manifest import ManifestEntry  # loaded by the first run, not by the import

        if outcome == "created":
            self.created.append(what)
        elif outcome == "adopted":
            self.adopted.append(what)
        detail = dict(detail or {})
        token = tag_dict((found or {}).get("TagList")).get(TAG_RUN_TOKEN)
        if token is None and what in self.created:
            token = self.token
        if token is not None:
            detail.setdefault("run_token", token)
        self.entries.append(
            ManifestEntry(
                kind=kind,
                role=role,
                account_id=account,
                region=region or self.region,
                arn=what,
                managed=managed,
                created=outcome == "created",
                detail=detail,
            )
        )

    def _record_grant(self, key: KeyInfo, *, share_key: bool = False) -> None:
        # Cleanup removes a grant on the user's key only if this run added it (never one found in
        # place, e.g. Terraform's). On rdsshare's share key every run's grant is shared: the last
        # run that needs it removes it, whoever added it.
        added = self.keys.added.get(key.arn, set())
        for account in self.tgts:
            self._record(
                "updated",
                key.arn,
                kind="key-grant",
                role="target-grant",
                account=self.src,
                managed=False,
                detail={
                    "target_account": account,
                    "added": str(account in added).lower(),
                    "share_key": str(share_key).lower(),
                },
            )

    def run(
        self,
        *,
        cluster_id: str | None,
        snapshot_id: str | None,
        source_kms_key: str | None,
        key_admin_principals: tuple[str, ...],
    ) -> ShareResult:
        K = self.kind
        # Explicit target keys are resolved first: a wrong key fails before any copy.
        explicit: dict[str, KeyInfo | None] = {}
        for account, spec in self.specs.items():
            if spec.kms_key_id is not None or getattr(spec, "encrypt", None):
                explicit[account] = self._target_key(account, spec, encrypted=True)
        self.from_cluster = cluster_id is not None
        start = self._source_snapshot(cluster_id=cluster_id, snapshot_id=snapshot_id)
        shared, key, copies, policy_changed = self._shareable(start, source_kms_key, key_admin_principals)
        shared_id = K.ident(shared)
        # A snapshot this run made is shared with nobody yet; otherwise preflight read the attribute.
        current = [] if K.arn(shared) in self.created else self.found.shared_with.get(shared_id.lower())
        manager = ShareManager(self.share_source.rds(), account_id=self.src, emit=self.emit, kind=K)
        if current is None:  # not read by preflight (the snapshot appeared since): who had it before us
            current = manager.shared_with(shared_id)
        manager.share(shared_id, self.tgts, current=current)
        for account in self.tgts:
            # Cleanup unshares only what this run shared: never a share the user had made before.
            self._record(
                "updated",
                K.arn(shared),
                kind="snapshot-share",
                role="share",
                account=self.src,
                managed=False,
                detail={
                    "target_account": account,
                    "snapshot_kind": K.name,
                    "added": str(account not in current).lower(),
                },
                found=shared,
            )
        per_target: list[TargetResult] = []
        for session in self.targets:
            account = session.account_id
            wanted = self.specs.get(account)
            if wanted is None:
                per_target.append(TargetResult(target_account_id=account))
                continue
            restore_one = self._restore_instance if K is INSTANCE else self._restore
            per_target.append(restore_one(session, wanted, shared, explicit.get(account), policy_changed))
        first = per_target[0]
        return ShareResult(
            run_name=self.run_name,
            region=self.region,
            source_account_id=self.src,
            target_account_id=self.tgt,
            source_snapshot_arn=K.arn(start),
            shared_snapshot_arn=K.arn(shared),
            source_kms_key_arn=key.arn if key else None,
            data_copies=copies + max(t.data_copies for t in per_target),
            target_cluster_arn=first.target_cluster_arn,
            target_instance_arn=first.target_instance_arn,
            target_snapshot_arn=first.target_snapshot_arn,
            target_kms_key_arn=first.target_kms_key_arn,
            master_user_secret_arn=first.master_user_secret_arn,
            instance_arns=first.instance_arns,
            backup_snapshot_arn=first.backup_snapshot_arn,
            targets=tuple(per_target),
            created=tuple(self.created),
            adopted=tuple(self.adopted),
            manifest=self.manifest(),
        )

    # -- what the plan read, or a read of the run's own when it did not ---------------------------
    @property
    def found(self) -> Findings:
        """What preflight read; the steps below start from it."""
        return self.preflight.found

    def _source_key(self, key: str, keys: KeyManager) -> KeyInfo:
        known = self.found.keys.get(key)
        return known if known is not None else keys.describe(key, step="source-key")

    def _target_key(self, account: str, spec: Any, *, encrypted: bool) -> KeyInfo | None:
        if account in self.found.target_keys:  # the key the plan decided on
            return self.found.target_keys[account]
        restorer: Restorer | InstanceRestorer = self.restorers[account]
        return restorer.target_key(spec, source_encrypted=encrypted)

    # -- steps ----------------------------------------------------------------------------------
    def _source_arn(self, source_id: str) -> str:
        if self.found.source_arn is not None:  # preflight described it
            return self.found.source_arn
        rds = self.source.rds()
        if self.kind.name == "cluster":
            return str(rds.describe_db_clusters(DBClusterIdentifier=source_id)["DBClusters"][0]["DBClusterArn"])
        return str(rds.describe_db_instances(DBInstanceIdentifier=source_id)["DBInstances"][0]["DBInstanceArn"])

    def _source_snapshot(self, *, cluster_id: str | None, snapshot_id: str | None) -> Snapshot:
        K = self.kind
        if cluster_id is not None:
            cluster_arn = self._source_arn(cluster_id)
            snap_id = derived_id(cluster_id, self.run_name, limit=K.id_limit)
            snap, outcome = self.copier.ensure_snapshot(
                source_id=cluster_id,
                snapshot_id=snap_id,
                tags=rds_tags(run=self.run_name, source=cluster_arn, role="source-snapshot", token=self.token),
                source=cluster_arn,
                existing=self.found.snapshot(snap_id),
            )
            self._record(
                outcome,
                snap.get(K.arn_field),
                kind=self.manifest_kind,
                role="source-snapshot",
                account=self.src,
                region=self.home_region,
                found=snap,
            )
            return snap
        assert snapshot_id is not None
        read = self.found.snapshot(snapshot_id)  # preflight looked it up
        found = self.copier.find(snapshot_id) if isinstance(read, Unread) else read
        if found is None:
            raise NotFoundError(
                f"cluster snapshot {snapshot_id} not found",
                step="snapshot",
                account_id=self.src,
                resource=snapshot_id,
                error_code=K.not_found,
                fix="check the id/ARN and the source session's account and region",
            )
        status = found.get("Status")
        if status != "available":
            if status in ("failed", "error"):
                raise ResourceFailedError(
                    f"snapshot {snapshot_id} is {status}",
                    step="snapshot",
                    account_id=self.src,
                    resource=snapshot_id,
                    fix="take a new snapshot",
                )
            found = self.copier.wait_available(K.ident(found), step="snapshot")
        self.emit(
            StepSkipped(
                step="snapshot",
                account_id=self.src,
                resource=snapshot_id,
                reason="starting from an existing snapshot",
            )
        )
        return found

    def _shareable(
        self,
        start: Snapshot,
        source_kms_key: str | None,
        admins: tuple[str, ...],
    ) -> tuple[Snapshot, KeyInfo | None, int, bool]:
        """The snapshot to share, its key, the data copies it took, and whether a key policy changed."""
        K = self.kind
        start_id = K.ident(start)
        automated = start.get("SnapshotType") != "manual"
        encrypted = K.encrypted(start)
        key = self._source_key(start["KmsKeyId"], self.home_keys) if encrypted and start.get("KmsKeyId") else None
        builder = CmkPolicyBuilder(
            owner_account_id=self.src,
            target_account_ids=self.tgts,
            admin_principals=admins,
            partition=self.source.partition,
            region=self.region,
        )
        copy_key: KeyInfo | None = None
        policy_changed = False
        # A key in another region cannot encrypt the copy there: cross-region needs the CMK too.
        if key is not None and (key.aws_managed or source_kms_key is not None or self.cross_region):
            if source_kms_key is not None:
                copy_key = self._source_key(source_kms_key, self.keys)
                self.keys.check_usable(copy_key, step="source-key")
                policy_changed = (
                    self.keys.ensure_grants(copy_key, builder=builder, policy=self.found.policies.get(copy_key.key_id))
                    == "updated"
                )
                self._record_grant(copy_key)
                if copy_key.arn == key.arn:
                    copy_key = None  # already under the requested CMK: no copy
            else:
                copy_key, outcome = self.keys.ensure_share_key(
                    target_account_ids=self.tgts,
                    admin_principals=admins,
                    managers=self.found.key_managers,
                    found=self.found.share_key,
                    policies=self.found.policies,
                    tags=rds_tags(run=self.run_name, source=self.src, role="share-key"),
                    # A key made by a run that crashed before naming it: from a cluster, such a
                    # run had taken its snapshot first, so only a resumed run can find one. From
                    # an existing snapshot nothing tells, so look.
                    look_for_orphans=self.preflight.resuming or not self.from_cluster,
                )
                policy_changed = outcome in ("created", "updated")
                self._record(outcome, copy_key.arn, kind="kms-key", role="share-key", account=self.src)
                self._record_grant(copy_key, share_key=True)
                if outcome == "created":  # an adopted key's policy check already reported the step
                    self.emit(
                        StepFinished(
                            step="source-key",
                            account_id=self.src,
                            resource=copy_key.arn,
                            outcome=outcome,
                            arn=copy_key.arn,
                        )
                    )
        elif key is not None:
            self.keys.check_usable(key, step="source-key")
            policy_changed = (
                self.keys.ensure_grants(key, builder=builder, policy=self.found.policies.get(key.key_id)) == "updated"
            )
            self._record_grant(key)
        else:
            self.emit(
                StepSkipped(
                    step="source-key",
                    account_id=self.src,
                    resource=start_id,
                    reason="snapshot is not encrypted",
                )
            )

        if copy_key is None and not automated and not self.cross_region:
            self.emit(
                StepSkipped(
                    step="copy",
                    account_id=self.src,
                    resource=start_id,
                    reason="snapshot can be shared as it is",
                )
            )
            return start, key, 0, policy_changed
        suffix = "cmk" if copy_key is not None else ("copy" if self.cross_region else "manual")
        target_id = copy_id(start_id, self.run_name, suffix, limit=K.id_limit)
        shared, outcome = self.share_copier.ensure_copy(
            source_snapshot=K.arn(start),
            target_id=target_id,
            kms_key_id=copy_key.arn if copy_key is not None else None,
            tags=rds_tags(run=self.run_name, source=K.arn(start), role="shareable-copy", token=self.token),
            source=K.arn(start),
            source_region=self.home_region if self.cross_region else None,
            existing=self.found.snapshot(target_id),
        )
        self._record(
            outcome,
            shared.get(K.arn_field),
            kind=self.manifest_kind,
            role="shareable-copy",
            account=self.src,
            found=shared,
        )
        return shared, (copy_key or key), 1, policy_changed

    def manifest(self) -> Manifest:
        """Everything this run created, adopted or changed so far."""
        from ._manifest import Manifest, ManifestEntry

        recorded = {e.arn for e in self.entries}
        # A share key created moments before the run failed (say, CreateAlias was refused) and not
        # yet recorded by its step: cleanup retires it, the next run adopts it.
        unnamed = tuple(
            ManifestEntry(
                kind="kms-key",
                role="share-key",
                account_id=self.src,
                region=self.region,
                arn=key.arn,
                managed=True,
                created=True,
                detail={"alias": "none"},
            )
            for key in self.keys.created
            if key.arn not in recorded
        )
        return Manifest(
            run_name=self.run_name,
            region=self.region,
            source_account_id=self.src,
            target_account_id=self.tgt,
            target_account_ids=tuple(self.tgts),
            entries=(*self.entries, *unnamed),
            run_token=self.token,
        )

    def _restore(
        self,
        session: AccountSession,
        restore: ClusterRestoreSpec,
        shared: Snapshot,
        target_key: KeyInfo | None,
        policy_changed: bool,
    ) -> TargetResult:
        tgt = session.account_id
        restorer = self.restorers[tgt]
        encrypted = bool(shared.get("StorageEncrypted"))
        if target_key is None:
            target_key = self._target_key(tgt, restore, encrypted=encrypted)

        def do_restore() -> Any:
            return restorer.ensure_cluster(
                restore,
                snapshot=shared,
                key=target_key,
                run=self.run_name,
                token=self.token,
                existing=cast("DBClusterTypeDef | Unread | None", self.found.restore(tgt, restore.cluster_id)),
            )

        # A key policy changed seconds ago may not be visible to RDS yet [KMS-EC].
        if policy_changed:
            cluster, outcome = retry_call(
                do_restore,
                retry_codes=("KMSKeyNotAccessibleFault",),
                step="restore",
                account_id=tgt,
                resource=restore.cluster_id,
                emit=self.emit,
                max_seconds=KMS_PROPAGATION_SECONDS,
            )
        else:
            cluster, outcome = do_restore()
        self._record(
            outcome, cluster.get("DBClusterArn"), kind="db-cluster", role="restored-cluster", account=tgt, found=cluster
        )
        instance_arns, inst_outcome = restorer.ensure_instances(
            restore,
            cluster=cluster,
            run=self.run_name,
            new_cluster=outcome == "created",
            token=self.token,
            members=self.found.members.get(tgt),
        )
        for arn in instance_arns:
            self._record(inst_outcome, arn, kind="db-instance", role="restored-instance", account=tgt)
        # The restore's wait just described the cluster; adding instances does not change its secret.
        secret, secret_outcome = restorer.ensure_master_secret(
            restore, cluster_id=cluster["DBClusterIdentifier"], cluster=cluster
        )
        self._record(secret_outcome, secret, kind="secret", role="master-user-secret", account=tgt)
        backup_arn = None
        if restore.backup_copy:
            tcopier = SnapshotCopier(
                session.rds(),
                account_id=tgt,
                region=self.region,
                emit=self.emit,
                wait=self.wait,
                slots=self.slots,
            )
            backup, b_outcome = tcopier.ensure_copy(
                source_snapshot=shared["DBClusterSnapshotArn"],
                target_id=derived_id(snapshot_name(shared["DBClusterSnapshotArn"]).removeprefix("rdsshare-"), "backup"),
                kms_key_id=target_key.arn if target_key else None,
                tags=rds_tags(
                    run=self.run_name, source=shared["DBClusterSnapshotArn"], role="target-backup", token=self.token
                ),
                source=shared["DBClusterSnapshotArn"],
                step="backup",
            )
            backup_arn = backup.get("DBClusterSnapshotArn")
            self._record(
                b_outcome, backup_arn, kind="cluster-snapshot", role="target-backup", account=tgt, found=backup
            )
        return TargetResult(
            target_account_id=tgt,
            target_cluster_arn=cluster.get("DBClusterArn"),
            target_kms_key_arn=cluster.get("KmsKeyId") or (target_key.arn if target_key else None),
            master_user_secret_arn=secret,
            instance_arns=tuple(instance_arns),
            backup_snapshot_arn=backup_arn,
        )

    def _restore_instance(
        self,
        session: AccountSession,
        spec: InstanceRestoreSpec,
        shared: Snapshot,
        target_key: KeyInfo | None,
        policy_changed: bool,
    ) -> TargetResult:
        """DB snapshots: copy into the target under its key, then restore from that copy [RDS-SHARE]."""
        tgt = session.account_id
        restorer: InstanceRestorer = self.restorers[tgt]
        shared_arn = INSTANCE.arn(shared)
        encrypted = INSTANCE.encrypted(shared)
        if target_key is None:
            target_key = self._target_key(tgt, spec, encrypted=encrypted)
        local: Snapshot = dict(shared)
        copies = 0
        if encrypted:

            def copy() -> tuple[Snapshot, Any]:
                return restorer.ensure_local_copy(shared, target_key, run=self.run_name, token=self.token)

            if policy_changed:  # a key policy changed seconds ago may not be visible to RDS yet [KMS-EC]
                local, outcome = retry_call(
                    copy,
                    retry_codes=("KMSKeyNotAccessibleFault",),
                    step="target-copy",
                    account_id=tgt,
                    resource=shared_arn,
                    emit=self.emit,
                    max_seconds=KMS_PROPAGATION_SECONDS,
                )
            else:
                local, outcome = copy()
            copies = 1
            self._record(outcome, INSTANCE.arn(local), kind="db-snapshot", role="target-copy", account=tgt, found=local)
        instance, outcome = restorer.ensure_instance(
            spec,
            snapshot=local,
            run=self.run_name,
            token=self.token,
            existing=self.found.restore(tgt, spec.instance_id),
        )
        self._record(
            outcome,
            instance.get("DBInstanceArn"),
            kind="db-instance",
            role="restored-instance",
            account=tgt,
            found=instance,
        )
        secret, secret_outcome = restorer.ensure_master_secret(spec, instance=instance)
        self._record(secret_outcome, secret, kind="secret", role="master-user-secret", account=tgt)
        return TargetResult(
            target_account_id=tgt,
            target_instance_arn=instance.get("DBInstanceArn"),
            target_snapshot_arn=INSTANCE.arn(local) if copies else None,
            target_kms_key_arn=instance.get("KmsKeyId") or (target_key.arn if target_key else None),
            master_user_secret_arn=secret,
            data_copies=copies,
        )
