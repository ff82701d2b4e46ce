"""One run of the share flow: it executes what preflight decided, step by step, and records a manifest."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

from ._copier import CopySlots, SnapshotCopier
from ._errors import (
    NotFoundError,
    ResourceFailedError,
)
from ._events import Emitter, StepFinished, StepSkipped
from ._findings import Findings, Unread
from ._keys import KMS_PROPAGATION_SECONDS, KeyInfo, KeyManager
from ._kinds import CLUSTER, INSTANCE, SnapshotKind
from ._naming import TAG_RUN_TOKEN, copy_id, derived_id, new_run_token, rds_tags, snapshot_name, tag_dict
from ._policy import CmkPolicyBuilder
from ._restore import ClusterRestoreSpec, Restorer
from ._results import ShareResult, TargetResult
from ._session import AccountSession
from ._share import ShareManager
from ._waiting import WaitPolicy, retry_call

if TYPE_CHECKING:
    from mypy_boto3_rds.type_defs import DBClusterTypeDef

    from ._instance import InstanceRestorer, InstanceRestoreSpec
    from ._manifest import Kind, Manifest, ManifestEntry


Snapshot = dict[str, Any]

__all__ = ["Flow"]

_log = logging.getLogger("rdsshare")


class Flow:
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
        from ._preflight import Preflight  # with the checks' modules, loaded by the first run, not the import

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
