"""cleanup(): undo what a run made, from its manifest, and nothing else.

Order: unshare, delete rdsshare's intermediate snapshots, remove the target from rdsshare's key
policy statements, schedule deletion of rdsshare's CMK once nothing uses it, and (only when asked)
delete the restored cluster. Everything deleted must be both in the manifest and tagged
``rdsshare:managed-by=rdsshare``; a resource that is already gone counts as done, so cleanup is
idempotent. ``dry_run=True`` reports the same actions without doing them.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import Any, Literal

import attrs
from botocore.exceptions import ClientError

from ._copier import SnapshotCopier
from ._errors import InputError, NotFoundError, error_code, translate_client_error
from ._events import Emitter, EventHook, StepFinished, StepSkipped
from ._kinds import CLUSTER, INSTANCE, SnapshotKind
from ._manifest import Manifest, ManifestEntry
from ._naming import KEY_ALIAS, MANAGED_BY, TAG_MANAGED_BY, TAG_RUN_TOKEN, derived_id, tag_dict
from ._policy import CmkPolicyBuilder
from ._policy_write import key_lock, rewrite_key_policy
from ._session import AccountSession
from ._share import ShareManager
from ._waiting import WaitPolicy

__all__ = ["CleanupAction", "CleanupReport", "cleanup"]

_log = logging.getLogger("rdsshare.cleanup")

Done = Literal["done", "would", "gone", "kept"]


@attrs.frozen(kw_only=True)
class CleanupAction:
    """One thing cleanup did (``done``), would do (``would``), found gone, or kept and why."""

    action: str
    account_id: str
    resource: str
    status: Done
    reason: str = ""


@attrs.frozen(kw_only=True)
class CleanupReport:
    """All actions of a cleanup."""

    dry_run: bool
    actions: tuple[CleanupAction, ...]

    def __str__(self) -> str:
        return "\n".join(f"{a.status:<5} {a.action:<22} {a.resource} {a.reason}".rstrip() for a in self.actions)


def _snapshot_id(arn: str) -> str:
    return arn.rsplit(":", 1)[-1]


def _failed(exc: ClientError, entry: ManifestEntry) -> Exception:
    """What AWS's refusal of a call on the entry's resource raises."""
    return translate_client_error(exc, step="cleanup", account_id=entry.account_id, resource=entry.arn)


class _Cleaner:
    def __init__(
        self,
        manifest: Manifest,
        source: AccountSession,
        targets: dict[str, AccountSession],
        *,
        dry_run: bool,
        emit: Emitter,
        window_days: int,
    ) -> None:
        self.m = manifest
        self.source = source
        self.targets = targets
        self.dry_run = dry_run
        self.emit = emit
        self.window = window_days
        self.actions: list[CleanupAction] = []

    def note(self, action: str, account: str, resource: str, status: Done, reason: str = "") -> None:
        self.actions.append(
            CleanupAction(action=action, account_id=account, resource=resource, status=status, reason=reason)
        )
        if status == "done":
            self.emit(StepFinished(step="cleanup", account_id=account, resource=resource, outcome="updated"))
        elif status in ("kept", "gone"):
            self.emit(StepSkipped(step="cleanup", account_id=account, resource=resource, reason=reason or status))

    @staticmethod
    def other_run(entry: ManifestEntry, tags: Any) -> str | None:
        """Why the resource named in ``entry`` is not the one its run recorded, or None.

        A later run may have made a resource of the same name after this one's was gone: its run
        token differs from the one the manifest recorded. Entries without a token (schema 1, or a
        resource made before tokens) are matched by name and ``rdsshare:managed-by`` alone.
        """
        recorded = entry.detail.get("run_token")
        if not recorded:
            return None
        found = tag_dict(tags).get(TAG_RUN_TOKEN)
        if found == recorded:
            return None
        return f"another run made it (run token {found or 'none'}; this manifest's run recorded {recorded})"

    def session(self, entry: ManifestEntry) -> AccountSession:
        """The session acting in the entry's account and region."""
        base = self.source if entry.account_id == self.m.source_account_id else self.targets.get(entry.account_id)
        if base is None:
            raise InputError(
                f"no session for account {entry.account_id}, which holds {entry.arn}",
                step="cleanup",
                fix="pass that account's session in targets=[...]",
            )
        return base.in_region(entry.region)

    # -- steps ---------------------------------------------------------------------------------
    def unshare(self) -> None:
        for entry in self.m.of("snapshot-share"):
            if entry.detail.get("added") == "false":
                self.note("unshare", entry.account_id, entry.arn, "kept", "it was shared before this run")
                continue
            manager = ShareManager(
                self.session(entry).rds(),
                account_id=self.m.source_account_id,
                emit=self.emit,
                kind=INSTANCE if entry.detail.get("snapshot_kind") == "instance" else CLUSTER,
                step="cleanup",
            )
            snap = _snapshot_id(entry.arn)
            accounts = [entry.detail.get("target_account", self.m.target_account_id)]
            if entry.detail.get("run_token"):
                found = self._find_snapshot(entry, manager.kind)
                if found is None:
                    self.note("unshare", entry.account_id, entry.arn, "gone", "snapshot no longer exists")
                    continue
                reason = self.other_run(entry, found.get("TagList"))
                if reason:
                    self.note("unshare", entry.account_id, entry.arn, "kept", reason)
                    continue
            try:
                present = [a for a in manager.shared_with(snap) if a in accounts]
            except NotFoundError:
                self.note("unshare", entry.account_id, entry.arn, "gone", "snapshot no longer exists")
                continue
            if not present:
                self.note("unshare", entry.account_id, entry.arn, "gone", "not shared any more")
            elif self.dry_run:
                self.note("unshare", entry.account_id, entry.arn, "would", f"remove {', '.join(present)}")
            else:
                manager.unshare(snap, present)
                self.note("unshare", entry.account_id, entry.arn, "done", f"removed {', '.join(present)}")

    def delete_snapshots(self, roles: tuple[str, ...]) -> None:
        for entry in self.m.entries:
            if entry.kind not in ("cluster-snapshot", "db-snapshot") or entry.role not in roles:
                continue
            kind = CLUSTER if entry.kind == "cluster-snapshot" else INSTANCE
            if not entry.managed:
                self.note("delete-snapshot", entry.account_id, entry.arn, "kept", "not created by rdsshare")
                continue
            session = self.session(entry)
            snap = self._find_snapshot(entry, kind)
            if snap is None:
                self.note("delete-snapshot", entry.account_id, entry.arn, "gone")
                continue
            if tag_dict(snap.get("TagList")).get(TAG_MANAGED_BY) != MANAGED_BY:
                self.note(
                    "delete-snapshot", entry.account_id, entry.arn, "kept", "its tags do not say rdsshare made it"
                )
                continue
            reason = self.other_run(entry, snap.get("TagList"))
            if reason:
                self.note("delete-snapshot", entry.account_id, entry.arn, "kept", reason)
                continue
            if self.dry_run:
                self.note("delete-snapshot", entry.account_id, entry.arn, "would")
                continue
            try:
                delete = "delete_db_cluster_snapshot" if kind is CLUSTER else "delete_db_snapshot"
                getattr(session.rds(), delete)(**{kind.id_field: kind.ident(snap)})
            except ClientError as exc:
                if error_code(exc) != kind.not_found:
                    raise _failed(exc, entry) from exc
            self.note("delete-snapshot", entry.account_id, entry.arn, "done")

    def _find_snapshot(self, entry: ManifestEntry, kind: SnapshotKind) -> dict[str, Any] | None:
        copier = SnapshotCopier(
            self.session(entry).rds(),
            account_id=entry.account_id,
            region=entry.region,
            emit=self.emit,
            wait=WaitPolicy(),
            kind=kind,
        )
        found = copier.find(_snapshot_id(entry.arn))
        return dict(found) if found is not None else None

    def revoke_key_grants(self) -> None:
        for entry in self.m.of("key-grant"):
            kms = self.session(entry).kms()
            account = entry.detail.get("target_account", self.m.target_account_id)
            if entry.detail.get("added") == "false" and entry.detail.get("share_key") != "true":
                self.note(
                    "revoke-key-grant", entry.account_id, entry.arn, "kept", "the grant was in place before this run"
                )
                continue
            users = self._shared_under(entry.arn, account, self.session(entry))
            if users:
                # The key serves every run of the account and region: the target keeps its grant while
                # any snapshot under the key is still shared with it, rdsshare's or the user's.
                why = f"{account} still needs it: {', '.join(users[:3])} under this key are shared with it"
                self.note("revoke-key-grant", entry.account_id, entry.arn, "kept", why)
                continue
            with key_lock(entry.account_id, entry.region):
                self._remove_grant(entry, kms, account)

    def _remove_grant(self, entry: ManifestEntry, kms: Any, account: str) -> None:
        """Remove ``account`` from rdsshare's statements in the key's policy, read back until it stands."""
        try:
            current = str(kms.get_key_policy(KeyId=entry.arn, PolicyName="default")["Policy"])
        except ClientError as exc:
            if error_code(exc) not in ("NotFoundException", "KMSInvalidStateException"):
                raise _failed(exc, entry) from exc
            self.note("revoke-key-grant", entry.account_id, entry.arn, "gone", "key gone or pending deletion")
            return
        builder = CmkPolicyBuilder(
            owner_account_id=self.m.source_account_id,
            target_account_ids=(),
            partition=self.source.partition,
            region=entry.region,
        )

        def remove(policy: str) -> dict[str, Any]:
            return builder.remove_targets(policy, [account])

        if remove(current) == json.loads(current):
            why = f"{account} not in rdsshare's statements"
            self.note("revoke-key-grant", entry.account_id, entry.arn, "gone", why)
        elif self.dry_run:
            self.note("revoke-key-grant", entry.account_id, entry.arn, "would", f"remove {account}")
        else:
            rewrite_key_policy(
                kms,
                entry.arn,
                current,
                change=remove,
                check=lambda reduced: builder.check_lockout(reduced, caller_arn=self.source.caller_arn),
                missing=lambda _now: f"{account} not removed",
                step="cleanup",
                account_id=entry.account_id,
                resource=entry.arn,
            )
            self.note("revoke-key-grant", entry.account_id, entry.arn, "done", f"removed {account}")

    def retire_key(self) -> None:
        for entry in self.m.of("kms-key", "share-key"):
            kms = self.session(entry).kms()
            if not entry.managed:
                self.note("schedule-key-deletion", entry.account_id, entry.arn, "kept", "not created by rdsshare")
                continue
            try:
                meta = kms.describe_key(KeyId=entry.arn)["KeyMetadata"]
                tags = kms.list_resource_tags(KeyId=entry.arn).get("Tags", [])
            except ClientError as exc:
                if error_code(exc) == "NotFoundException":
                    self.note("schedule-key-deletion", entry.account_id, entry.arn, "gone")
                    continue
                raise _failed(exc, entry) from exc
            if meta.get("KeyState") == "PendingDeletion":
                self.note("schedule-key-deletion", entry.account_id, entry.arn, "gone", "already pending deletion")
                continue
            if tag_dict(tags).get(TAG_MANAGED_BY) != MANAGED_BY:
                self.note(
                    "schedule-key-deletion", entry.account_id, entry.arn, "kept", "its tags do not say rdsshare made it"
                )
                continue
            users = self._snapshots_using(entry.arn, self.session(entry))
            if users:
                why = f"still encrypts {len(users)} snapshot(s): {', '.join(users[:3])}"
                self.note("schedule-key-deletion", entry.account_id, entry.arn, "kept", why)
                continue
            try:
                aliases = [
                    str(alias["AliasName"])
                    for page in kms.get_paginator("list_aliases").paginate(KeyId=meta["KeyId"])
                    for alias in page.get("Aliases", [])
                ]
            except ClientError as exc:
                raise _failed(exc, entry) from exc
            theirs = [a for a in aliases if a != KEY_ALIAS]
            if theirs:
                why = f"an alias of yours points at it: {theirs[0]}"
                self.note("schedule-key-deletion", entry.account_id, entry.arn, "kept", why)
                continue
            if self.dry_run:
                self.note("schedule-key-deletion", entry.account_id, entry.arn, "would", f"{self.window}-day window")
                continue
            try:
                if KEY_ALIAS in aliases:
                    _delete_alias(kms, KEY_ALIAS)
                _schedule_deletion(kms, entry.arn, self.window)
            except ClientError as exc:
                raise _failed(exc, entry) from exc
            self.note("schedule-key-deletion", entry.account_id, entry.arn, "done", f"{self.window}-day window")

    def _shared_under(self, key_arn: str, account: str, session: AccountSession) -> list[str]:
        """Snapshots under ``key_arn`` still shared with ``account`` once this cleanup is done."""
        unshared = {
            (a.resource, a.reason.removeprefix("remove ").removeprefix("removed "))
            for a in self.actions
            if a.action == "unshare" and a.status in ("done", "would")
        }
        users = []
        for kind in (CLUSTER, INSTANCE):
            manager = ShareManager(session.rds(), account_id=session.account_id, emit=Emitter(None), kind=kind)
            for ident in self._snapshots_using(key_arn, session, kinds=(kind,)):
                arn = f"arn:{session.partition}:rds:{session.region}:{session.account_id}:{kind.arn_type}:{ident}"
                if any(arn == resource and account in removed for resource, removed in unshared):
                    continue
                try:
                    if account in manager.shared_with(ident):
                        users.append(ident)
                except NotFoundError:
                    continue  # deleted meanwhile
        return users

    def _snapshots_using(
        self, key_arn: str, session: AccountSession, *, kinds: tuple[SnapshotKind, ...] = (CLUSTER, INSTANCE)
    ) -> list[str]:
        deleted = {a.resource for a in self.actions if a.action == "delete-snapshot" and a.status in ("done", "would")}
        users = []
        for kind in kinds:
            paginator: Any = session.rds().get_paginator(kind.describe)  # type: ignore[call-overload]
            try:
                for page in paginator.paginate():
                    for snap in page.get(kind.list_field, []):
                        if snap.get("KmsKeyId") == key_arn and kind.arn(snap) not in deleted:
                            users.append(kind.ident(snap))
            except ClientError as exc:
                raise translate_client_error(
                    exc, step="cleanup", account_id=session.account_id, resource=key_arn
                ) from exc
        return users

    def delete_restored(self) -> None:
        for entry in self.m.of("db-instance"):
            if entry.account_id not in self.targets:
                self.note("delete-db-instance", entry.account_id, entry.arn, "kept", "no session for that account")
                continue
            rds = self.session(entry).rds()
            self._delete(
                entry,
                lambda i, rds=rds: rds.delete_db_instance(DBInstanceIdentifier=i, SkipFinalSnapshot=True),
                lambda i, rds=rds: rds.describe_db_instances(DBInstanceIdentifier=i)["DBInstances"][0],
                "DBInstanceNotFound",
            )
        for entry in self.m.of("db-cluster"):
            if entry.account_id not in self.targets:
                self.note("delete-db-cluster", entry.account_id, entry.arn, "kept", "no session for that account")
                continue
            rds = self.session(entry).rds()
            # Fits 63 however long the cluster id; the run token tells apart the final snapshots of
            # clusters that later runs restored under the same id.
            token = entry.detail.get("run_token", "")[:8]
            final = derived_id(_snapshot_id(entry.arn), f"final-{token}" if token else "final")
            self._delete(
                entry,
                lambda c, rds=rds, final=final: rds.delete_db_cluster(
                    DBClusterIdentifier=c, FinalDBSnapshotIdentifier=final
                ),
                lambda c, rds=rds: rds.describe_db_clusters(DBClusterIdentifier=c)["DBClusters"][0],
                "DBClusterNotFoundFault",
            )

    def _delete(self, entry: ManifestEntry, delete: object, describe: object, not_found: str) -> None:
        ident = _snapshot_id(entry.arn)
        action = f"delete-{entry.kind}"
        if not entry.managed:
            self.note(action, entry.account_id, entry.arn, "kept", "not created by rdsshare")
            return
        try:
            found = describe(ident)  # type: ignore[operator]
        except ClientError as exc:
            if error_code(exc) == not_found:
                self.note(action, entry.account_id, entry.arn, "gone")
                return
            raise _failed(exc, entry) from exc
        if tag_dict(found.get("TagList")).get(TAG_MANAGED_BY) != MANAGED_BY:
            self.note(action, entry.account_id, entry.arn, "kept", "its tags do not say rdsshare made it")
            return
        reason = self.other_run(entry, found.get("TagList"))
        if reason:
            self.note(action, entry.account_id, entry.arn, "kept", reason)
            return
        if found.get("DeletionProtection"):
            self.note(action, entry.account_id, entry.arn, "kept", "deletion protection is on")
            return
        if self.dry_run:
            self.note(action, entry.account_id, entry.arn, "would")
            return
        try:
            delete(ident)  # type: ignore[operator]
        except ClientError as exc:
            # After a lost response, botocore's retry meets our own delete: gone, or being deleted.
            if error_code(exc) not in (not_found, *_BUSY_DELETING) or not _deleted(describe, ident, not_found):
                raise _failed(exc, entry) from exc
        self.note(action, entry.account_id, entry.arn, "done")


#: What RDS answers a delete of a database that is already being deleted.
_BUSY_DELETING = ("InvalidDBInstanceState", "InvalidDBInstanceStateFault", "InvalidDBClusterStateFault")


def _deleted(describe: object, ident: str, not_found: str) -> bool:
    """Whether the database ``ident`` is gone or being deleted (so our delete was served)."""
    try:
        found = describe(ident)  # type: ignore[operator]
    except ClientError as exc:
        return error_code(exc) == not_found  # any other answer: the delete's own error stands
    return str(found.get("Status") or found.get("DBInstanceStatus") or "") == "deleting"


def _delete_alias(kms: Any, alias: str) -> None:
    try:
        kms.delete_alias(AliasName=alias)
    except ClientError as exc:
        if error_code(exc) != "NotFoundException":  # our delete was served, its answer lost
            raise


def _schedule_deletion(kms: Any, key_arn: str, window: int) -> None:
    try:
        kms.schedule_key_deletion(KeyId=key_arn, PendingWindowInDays=window)
    except ClientError as exc:
        if error_code(exc) != "KMSInvalidStateException":
            raise
        # Already pending deletion: our call was served and its answer lost; anything else stands.
        if kms.describe_key(KeyId=key_arn)["KeyMetadata"].get("KeyState") != "PendingDeletion":
            raise


def cleanup(
    manifest: Manifest,
    *,
    source: AccountSession,
    target: AccountSession,
    targets: Sequence[AccountSession] = (),
    dry_run: bool = False,
    delete_restored_cluster: bool = False,
    key_pending_window_days: int = 30,
    on_event: EventHook | None = None,
    _scope: Literal["all", "intermediates", "source-snapshot"] = "all",
) -> CleanupReport:
    """Remove what the run in ``manifest`` created and no longer needs.

    Unshares the snapshot, deletes rdsshare's intermediate snapshot copies, removes the target
    from rdsshare's key policy statements, schedules deletion of a CMK rdsshare created (after
    ``key_pending_window_days``, 7-30) once no snapshot uses it, and, with
    ``delete_restored_cluster=True``, deletes the restored instances and cluster (with a final
    snapshot; never with deletion protection on). Nothing the user owns is deleted.
    """
    if not isinstance(manifest, Manifest):
        raise InputError(
            f"manifest must be a Manifest, got {type(manifest).__name__}",
            step="cleanup",
            fix="Manifest.read(path) or result.manifest",
        )
    if not 7 <= key_pending_window_days <= 30:
        raise InputError(
            "key_pending_window_days must be 7-30 (the KMS range)", step="cleanup", fix="pass a value from 7 to 30"
        )
    manifest_targets = set(manifest.target_account_ids or (manifest.target_account_id,))
    given = {t.account_id: t for t in (target, *targets)}
    if source.account_id != manifest.source_account_id or not set(given) <= manifest_targets:
        raise InputError(
            f"the sessions ({source.account_id} -> {', '.join(given)}) are not the manifest's accounts "
            f"({manifest.source_account_id} -> {', '.join(sorted(manifest_targets))})",
            step="cleanup",
            fix="pass the sessions of the run that wrote the manifest",
        )
    cleaner = _Cleaner(
        manifest, source, given, dry_run=dry_run, emit=Emitter(on_event), window_days=key_pending_window_days
    )
    if _scope == "source-snapshot":  # its copy is available: the run's own snapshot alone can go
        cleaner.delete_snapshots(("source-snapshot",))
        return CleanupReport(dry_run=dry_run, actions=tuple(cleaner.actions))
    cleaner.unshare()
    cleaner.delete_snapshots(("source-snapshot", "shareable-copy", "target-copy"))
    cleaner.revoke_key_grants()
    cleaner.retire_key()
    if delete_restored_cluster and _scope == "all":
        cleaner.delete_restored()
    return CleanupReport(dry_run=dry_run, actions=tuple(cleaner.actions))
