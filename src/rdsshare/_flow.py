"""The share's steps on the source side, as a resumable job runs them: snapshot, key, copy, share.

:class:`Flow` wires the step classes for one share and carries out, one piece at a time, what
the plan decided. Its state is :attr:`Flow.state`, plain JSON values the job saves between two
calls (see :mod:`rdsshare._job`); a piece that has to wait for AWS returns the seconds until it
should be called again instead of sleeping. The target side is in :mod:`rdsshare._targets`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs

from ._copier import CopySlots, SnapshotCopier
from ._errors import NotFoundError, ResourceFailedError
from ._events import Emitter, Outcome, StepFinished, StepSkipped
from ._findings import Findings, Unread, plain
from ._keys import KeyInfo, KeyManager
from ._kinds import CLUSTER, INSTANCE, SnapshotKind
from ._naming import TAG_RUN_TOKEN, derived_id, rds_tags, tag_dict
from ._plan import SHARE_KEY
from ._policy import CmkPolicyBuilder
from ._restore import Restorer
from ._session import AccountSession
from ._share import ShareManager
from ._waiting import Observation, WaitPolicy, WaitState, poll_once

if TYPE_CHECKING:
    from ._manifest import Kind, Manifest
    from ._plan import Decisions

Snapshot = dict[str, Any]

__all__ = ["Flow", "key_from", "key_to"]

_log = logging.getLogger("rdsshare")


def key_to(key: KeyInfo | None) -> dict[str, Any] | None:
    """A key as plain values in the job's state."""
    return None if key is None else attrs.asdict(key)


def key_from(value: Mapping[str, Any] | None) -> KeyInfo | None:
    """The key :func:`key_to` wrote."""
    return None if value is None else KeyInfo(**value)


class Flow:
    """The steps of one share, wired to the sessions; the job (:class:`rdsshare.ShareJob`) drives them."""

    def __init__(
        self,
        *,
        source: AccountSession,
        targets: Sequence[AccountSession],
        run: str,
        token: str,
        emit: Emitter,
        wait: WaitPolicy,
        specs: Mapping[str, Any],
        state: dict[str, Any],
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
        self.token = token
        self.emit = emit
        self.wait = wait
        self.src = source.account_id
        self.tgt = target.account_id
        #: the job's state: plain values only, saved between two calls
        self.state = state
        #: what preflight read (the job restores it from its state in another process)
        self.found = Findings()
        # The snapshot is shared, and restored, in the target's region. When that differs from
        # the source's, the source account copies it there first (one cross-region copy inside
        # one account, which AWS fully supports [AUR-COPY]); the target then restores in-region.
        self.home_region = source.region
        self.region = target.region
        self.cross_region = self.home_region != self.region
        self.share_source = source.in_region(self.region)
        self.copier = SnapshotCopier(
            source.rds(), account_id=self.src, region=self.home_region, emit=emit, wait=wait, kind=kind
        )
        self.share_copier = SnapshotCopier(
            self.share_source.rds(), account_id=self.src, region=self.region, emit=emit, wait=wait, kind=kind
        )
        self.home_keys = self._keys(source, self.home_region)
        self.keys = self._keys(self.share_source, self.region)
        self.restorers: dict[str, Any] = {}
        for session in self.targets:
            tkeys = self._keys(session, self.region)
            if kind is INSTANCE:
                from ._instance import InstanceRestorer

                self.restorers[session.account_id] = InstanceRestorer(
                    session.rds(),
                    tkeys,
                    account_id=session.account_id,
                    region=self.region,
                    emit=emit,
                    wait=wait,
                    copier=self.target_copier(session),
                )
            else:
                self.restorers[session.account_id] = Restorer(
                    session.rds(), tkeys, account_id=session.account_id, region=self.region, emit=emit, wait=wait
                )
        #: copy slots this process holds for the job (a slot is held from a copy's start to its end)
        self.held: list[tuple[str, str]] = []

    def _keys(self, session: AccountSession, region: str) -> KeyManager:
        return KeyManager(
            session.kms(),
            account_id=session.account_id,
            region=region,
            caller_arn=session.caller_arn,
            emit=self.emit,
            partition=session.partition,
        )

    def target_copier(self, session: AccountSession) -> SnapshotCopier:
        """Snapshot work in a target account, in the share's region."""
        return SnapshotCopier(
            session.rds(),
            account_id=session.account_id,
            region=self.region,
            emit=self.emit,
            wait=self.wait,
            slots=self.slots,
            kind=self.kind,
        )

    def preflight(self) -> Any:
        """The checks, wired to this flow's step classes (loaded with the first run, not the import)."""
        from ._preflight import Preflight

        checks = Preflight(
            source=self.source,
            target=self.target,
            run=self.run_name,
            home_keys=self.home_keys,
            keys=self.keys,
            copier=self.copier,
            share_copier=self.share_copier,
            restorer=self.restorers[self.tgt],
            kind=self.kind,
        )
        self.found = checks.found
        return checks

    @property
    def data(self) -> dict[str, Any]:
        """What the steps so far decided and made (snapshots, keys, copies), as plain values."""
        data: dict[str, Any] = self.state.setdefault("data", {})
        return data

    # -- the manifest ------------------------------------------------------------------------
    def record(
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
        """Note a resource for the manifest (once: a step resumed after a wait does not add it again).

        ``found``: the resource as described, whose run token (the run that made it: this one, or
        the earlier run it adopted it from) cleanup will match.
        """
        if what is None:
            return
        entries: list[dict[str, Any]] = self.state.setdefault("entries", [])
        detail = dict(detail or {})
        token = tag_dict((found or {}).get("TagList")).get(TAG_RUN_TOKEN)
        if token is None and outcome == "created":
            token = self.token
        if token is not None:
            detail.setdefault("run_token", token)
        entry = {
            "kind": kind,
            "role": role,
            "account_id": account,
            "region": region or self.region,
            "arn": what,
            "managed": managed,
            "created": outcome == "created",
            "detail": detail,
        }
        if entry in entries:
            return
        entries.append(entry)
        if outcome in ("created", "adopted"):
            made: list[str] = self.state.setdefault(outcome, [])
            if what not in made:
                made.append(what)

    def record_grant(self, key: KeyInfo, *, share_key: bool = False) -> None:
        """Note the target grants on ``key``.

        Cleanup removes a grant on the user's key only if this run added it (never one found in
        place, e.g. Terraform's). On rdsshare's share key every run's grant is shared: the last
        run that needs it removes it, whoever added it.
        """
        added = self.keys.added.get(key.arn, set())
        for account in self.tgts:
            self.record(
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

    def manifest(self) -> Manifest:
        """Everything this run created, adopted or changed so far."""
        from ._manifest import Manifest, ManifestEntry

        entries = [ManifestEntry(**e) for e in self.state.get("entries", [])]
        recorded = {e.arn for e in entries}
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
            entries=(*entries, *unnamed),
            run_token=self.token,
        )

    # -- waiting without blocking --------------------------------------------------------------
    def poll(
        self,
        name: str,
        observe: Callable[[], tuple[Observation | None, Any]],
        *,
        step: str,
        account: str,
        resource: str,
    ) -> tuple[Observation | float, Any]:
        """One poll of the wait ``name``: (the observation when done, else seconds until the next; what was seen)."""
        waits: dict[str, Any] = self.state.setdefault("waits", {})
        now = time.time()
        ws = WaitState.from_dict(waits[name]) if name in waits else WaitState(started=now)
        seen: list[Any] = [None]

        def once() -> Observation | None:
            obs, seen[0] = observe()
            return obs

        outcome = poll_once(
            once, ws, now=now, step=step, account_id=account, resource=resource, emit=self.emit, policy=self.wait
        )
        if isinstance(outcome, Observation):
            waits.pop(name, None)
        else:
            waits[name] = ws.to_dict()
        return outcome, plain(seen[0])

    # -- source snapshot -----------------------------------------------------------------------
    def snapshot(self, *, cluster_id: str | None, snapshot_id: str | None) -> float | None:
        """The snapshot the share starts from, available. None when done, else seconds to wait."""
        K = self.kind
        data = self.data
        if "start" not in data:
            # Explicit target keys are resolved first: a wrong key fails before any copy.
            explicit: dict[str, Any] = {}
            for account, spec in self.specs.items():
                if spec.kms_key_id is not None or getattr(spec, "encrypt", None):
                    explicit[account] = key_to(self.target_key(account, spec, encrypted=True))
            data["explicit"] = explicit
            if cluster_id is not None:
                cluster_arn = self._source_arn(cluster_id)
                snap_id = derived_id(cluster_id, self.run_name, limit=K.id_limit)
                snap, outcome = self.copier.ensure_snapshot(
                    source_id=cluster_id,
                    snapshot_id=snap_id,
                    tags=rds_tags(run=self.run_name, source=cluster_arn, role="source-snapshot", token=self.token),
                    source=cluster_arn,
                    existing=self.found.snapshot(snap_id),
                    wait=False,
                )
                data["start_outcome"] = outcome
            else:
                assert snapshot_id is not None
                snap = self._existing_snapshot(snapshot_id)
            data["start"] = plain(snap)
            self._record_start()
        start = data["start"]
        if start.get("Status") != "available":
            ident = K.ident(start)
            obs, seen = self.poll(
                "snapshot", lambda: self.copier.observe(ident), step="snapshot", account=self.src, resource=ident
            )
            if not isinstance(obs, Observation):
                return obs
            data["start"] = start = seen
            self._record_start()
        if cluster_id is not None:
            self.copier.finished(K.ident(start), step="snapshot", outcome=data["start_outcome"], snap=start)
        else:
            self.emit(
                StepSkipped(
                    step="snapshot",
                    account_id=self.src,
                    resource=str(snapshot_id),
                    reason="starting from an existing snapshot",
                )
            )
        return None

    def _record_start(self) -> None:
        data = self.data
        if "start_outcome" in data:
            start = data["start"]
            self.record(
                data["start_outcome"],
                start.get(self.kind.arn_field),
                kind=self.manifest_kind,
                role="source-snapshot",
                account=self.src,
                region=self.home_region,
                found=start,
            )

    def _source_arn(self, source_id: str) -> str:
        if self.found.source_arn is not None:  # preflight described it
            return self.found.source_arn
        rds = self.source.rds()
        if self.kind.name == "cluster":
            return str(rds.describe_db_clusters(DBClusterIdentifier=source_id)["DBClusters"][0]["DBClusterArn"])
        return str(rds.describe_db_instances(DBInstanceIdentifier=source_id)["DBInstances"][0]["DBInstanceArn"])

    def _existing_snapshot(self, snapshot_id: str) -> Snapshot:
        read = self.found.snapshot(snapshot_id)  # preflight looked it up
        found = self.copier.find(snapshot_id) if isinstance(read, Unread) else read
        if found is None:
            raise NotFoundError(
                f"{self.kind.noun} {snapshot_id} not found",
                step="snapshot",
                account_id=self.src,
                resource=snapshot_id,
                error_code=self.kind.not_found,
                fix="check the id/ARN and the source session's account and region",
            )
        if found.get("Status") in ("failed", "error"):
            raise ResourceFailedError(
                f"snapshot {snapshot_id} is {found.get('Status')}",
                step="snapshot",
                account_id=self.src,
                resource=snapshot_id,
                fix="take a new snapshot",
            )
        return found

    def target_key(self, account: str, spec: Any, *, encrypted: bool) -> KeyInfo | None:
        """The key ``account``'s restore is encrypted with: the one the plan decided on."""
        if account in self.found.target_keys:
            return self.found.target_keys[account]
        return self.restorers[account].target_key(spec, source_encrypted=encrypted)  # type: ignore[no-any-return]

    # -- key -----------------------------------------------------------------------------------
    def key(self, decided: Decisions, *, admins: tuple[str, ...]) -> None:
        """The source key work the plan decided: grants on a CMK, or rdsshare's share key to copy under."""
        K = self.kind
        data = self.data
        start = data["start"]
        key = (
            self._source_key(start["KmsKeyId"], self.home_keys)
            if decided.snapshot_key and start.get("KmsKeyId")
            else None
        )
        copy_key: KeyInfo | None = None
        policy_changed = False
        if decided.grant_key == SHARE_KEY:
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
                look_for_orphans=bool(self.state.get("resuming")) or "start_outcome" not in data,
            )
            policy_changed = outcome in ("created", "updated")
            self.record(outcome, copy_key.arn, kind="kms-key", role="share-key", account=self.src)
            self.record_grant(copy_key, share_key=True)
            if outcome == "created":  # an adopted key's policy check already reported the step
                self.emit(
                    StepFinished(
                        step="source-key", account_id=self.src, resource=copy_key.arn, outcome=outcome, arn=copy_key.arn
                    )
                )
        elif decided.grant_key is not None:
            # The user's CMK (the one given, or the snapshot's own): extend its policy for the targets.
            given = decided.grant_key != decided.snapshot_key
            grant = self._source_key(decided.grant_key, self.keys if given else self.home_keys)
            self.keys.check_usable(grant, step="source-key")
            builder = CmkPolicyBuilder(
                owner_account_id=self.src,
                target_account_ids=self.tgts,
                admin_principals=admins,
                partition=self.source.partition,
                region=self.region,
            )
            policy = self.found.policies.get(grant.key_id)
            policy_changed = self.keys.ensure_grants(grant, builder=builder, policy=policy) == "updated"
            self.record_grant(grant)
            if decided.copy_key is not None:
                copy_key = grant
        else:
            self.emit(
                StepSkipped(
                    step="source-key", account_id=self.src, resource=K.ident(start), reason="snapshot is not encrypted"
                )
            )
        data["key"] = key_to(key)
        data["copy_key"] = key_to(copy_key)
        data["policy_changed"] = policy_changed

    def _source_key(self, key: str, keys: KeyManager) -> KeyInfo:
        known = self.found.keys.get(key)
        return known if known is not None else keys.describe(key, step="source-key")

    # -- copy ----------------------------------------------------------------------------------
    def copy(self, decided: Decisions) -> float | None:
        """The snapshot to share, as the plan decided: the start itself, or a copy of it (under the
        CMK, in the target region)."""
        K = self.kind
        data = self.data
        start = data["start"]
        copy_key = key_from(data["copy_key"])
        if "shared" not in data:
            if not decided.copy:
                self.emit(
                    StepSkipped(
                        step="copy",
                        account_id=self.src,
                        resource=K.ident(start),
                        reason="snapshot can be shared as it is",
                    )
                )
                data["shared"], data["copies"] = start, 0
                return None
            target_id = decided.shared_id
            self.hold_slot(self.src)
            shared, outcome = self.share_copier.ensure_copy(
                source_snapshot=K.arn(start),
                target_id=target_id,
                kms_key_id=copy_key.arn if copy_key is not None else None,
                tags=rds_tags(run=self.run_name, source=K.arn(start), role="shareable-copy", token=self.token),
                source=K.arn(start),
                source_region=self.home_region if self.cross_region else None,
                existing=self.found.snapshot(target_id),
                wait=False,
            )
            data["shared"], data["copy_outcome"], data["copies"] = plain(shared), outcome, 1
            self._record_copy()
        if "copy_outcome" not in data:  # shared as it is
            return None
        shared = data["shared"]
        if shared.get("Status") != "available":
            ident = K.ident(shared)
            obs, seen = self.poll(
                "copy", lambda: self.share_copier.observe(ident), step="copy", account=self.src, resource=ident
            )
            if not isinstance(obs, Observation):
                return obs
            data["shared"] = shared = seen
            self._record_copy()
        self.release_slot(self.src)
        self.share_copier.finished(K.ident(shared), step="copy", outcome=data["copy_outcome"], snap=shared)
        return None

    def _record_copy(self) -> None:
        shared = self.data["shared"]
        self.record(
            self.data["copy_outcome"],
            shared.get(self.kind.arn_field),
            kind=self.manifest_kind,
            role="shareable-copy",
            account=self.src,
            found=shared,
        )

    def hold_slot(self, account: str) -> None:
        """Take a copy slot of ``account`` for this job (once; the copy's end gives it back)."""
        if self.slots is not None and (account, self.region) not in self.held:
            self.slots.acquire(account, self.region)
            self.held.append((account, self.region))

    def release_slot(self, account: str) -> None:
        """Give back the copy slot :meth:`hold_slot` took."""
        if self.slots is not None and (account, self.region) in self.held:
            self.held.remove((account, self.region))
            self.slots.release(account, self.region)

    def release_slots(self) -> None:
        """Give back every slot this process holds for the job (it failed, or stops here)."""
        while self.held:
            account, region = self.held.pop()
            assert self.slots is not None
            self.slots.release(account, region)

    # -- share ---------------------------------------------------------------------------------
    def share(self) -> None:
        """Share the snapshot with every target (adding to who had it already)."""
        K = self.kind
        shared = self.data["shared"]
        shared_id = K.ident(shared)
        made = K.arn(shared) in self.state.get("created", [])
        # A snapshot this run made is shared with nobody yet; otherwise preflight read the attribute.
        current = [] if made else self.found.shared_with.get(shared_id.lower())
        manager = ShareManager(self.share_source.rds(), account_id=self.src, emit=self.emit, kind=K)
        if current is None:  # not read by preflight (the snapshot appeared since): who had it before us
            current = manager.shared_with(shared_id)
        manager.share(shared_id, self.tgts, current=current)
        for account in self.tgts:
            # Cleanup unshares only what this run shared: never a share the user had made before.
            self.record(
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

    def outcome_of(self, name: str) -> Outcome:
        """An outcome the state recorded under ``name``."""
        value: Outcome = self.data[name]
        return value
