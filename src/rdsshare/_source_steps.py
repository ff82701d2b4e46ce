"""The share's steps in the source account, as a resumable job runs them: snapshot, key, copy, share.

Each piece that waits for AWS returns the seconds until it should be called again; what it decided
and made is in the job's state (``data``). The key and copy steps carry out the plan's
:class:`~rdsshare.Decisions`; they decide nothing of their own.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ._early import drop_start, start_from_copy
from ._errors import NotFoundError, ResourceFailedError
from ._events import StepFinished, StepSkipped
from ._findings import Unread, key_from, key_to, plain
from ._keys import KeyInfo, KeyManager
from ._kinds import encryption_type
from ._naming import derived_id, rds_tags
from ._plan import SHARE_KEY
from ._policy import CmkPolicyBuilder
from ._waiting import Observation

if TYPE_CHECKING:
    from ._copier import SnapshotCopier
    from ._flow import Flow
    from ._plan import Decisions

Snapshot = dict[str, Any]

__all__ = ["SourceSteps"]


class SourceSteps:
    """The source account's steps of one share, on the flow's step classes and state."""

    def __init__(self, flow: Flow) -> None:
        self.flow = flow

    # -- source snapshot -----------------------------------------------------------------------
    def snapshot(self, decided: Decisions, request: dict[str, Any]) -> float | None:
        """The snapshot the share starts from, available. None when done, else seconds to wait."""
        K, data = self.flow.kind, self.flow.data
        cluster_id, snapshot_id = request.get(f"{K.name}_id"), request.get("snapshot_id")
        if decided.start_gone:  # an earlier run deleted it once its copy was available
            return start_from_copy(self.flow, decided)
        if "start" not in data:
            # Explicit target keys are resolved first: a wrong key fails before any copy.
            explicit: dict[str, Any] = {}
            for account, spec in self.flow.specs.items():
                if spec.kms_key_id is not None or getattr(spec, "encrypt", None):
                    explicit[account] = key_to(self.flow.target_key(account, spec, encrypted=True))
            data["explicit"] = explicit
            if cluster_id is not None:
                cluster_arn = self._source_arn(cluster_id)
                snap_id = derived_id(cluster_id, self.flow.run_name, limit=K.id_limit)
                snap, outcome = self.flow.copier.ensure_snapshot(
                    source_id=cluster_id,
                    snapshot_id=snap_id,
                    tags=rds_tags(
                        run=self.flow.run_name, source=cluster_arn, role="source-snapshot", token=self.flow.token
                    ),
                    source=cluster_arn,
                    existing=self.flow.found.snapshot(snap_id),
                    wait=False,
                )
                data["start_outcome"] = outcome
            else:
                assert snapshot_id is not None
                snap = self._existing_snapshot(snapshot_id)
            data["start"] = plain(snap)
            self._record_start()
        delay = self._until_available("start", self.flow.copier, step="snapshot", record=self._record_start)
        if delay is not None:
            return delay
        start = data["start"]
        if cluster_id is not None:
            self.flow.copier.finished(K.ident(start), step="snapshot", outcome=data["start_outcome"], snap=start)
        else:
            self.flow.emit(
                StepSkipped(
                    step="snapshot",
                    account_id=self.flow.src,
                    resource=str(snapshot_id),
                    reason="starting from an existing snapshot",
                )
            )
        return None

    def _until_available(
        self, key: str, copier: SnapshotCopier, *, step: str, record: Callable[[], None]
    ) -> float | None:
        """One poll of the snapshot in ``data[key]`` (unless it is available): None once it is, else the
        seconds until the next poll. What the poll saw replaces ``data[key]`` and is recorded again."""
        data = self.flow.data
        if data[key].get("Status") == "available":
            return None
        ident = self.flow.kind.ident(data[key])
        obs, seen = self.flow.poll(
            step, lambda fresh: copier.observe(ident, fresh), step=step, account=self.flow.src, resource=ident
        )
        if not isinstance(obs, Observation):
            return obs
        data[key] = seen
        record()
        return None

    def _record_start(self) -> None:
        data = self.flow.data
        if "start_outcome" in data:
            start = data["start"]
            self.flow.record(
                data["start_outcome"],
                start.get(self.flow.kind.arn_field),
                kind=self.flow.manifest_kind,
                role="source-snapshot",
                account=self.flow.src,
                region=self.flow.home_region,
                found=start,
            )

    def _source_arn(self, source_id: str) -> str:
        if self.flow.found.source_arn is not None:  # preflight described it
            return self.flow.found.source_arn
        rds = self.flow.source.rds()
        if self.flow.kind.name == "cluster":
            return str(rds.describe_db_clusters(DBClusterIdentifier=source_id)["DBClusters"][0]["DBClusterArn"])
        return str(rds.describe_db_instances(DBInstanceIdentifier=source_id)["DBInstances"][0]["DBInstanceArn"])

    def _existing_snapshot(self, snapshot_id: str) -> Snapshot:
        read = self.flow.found.snapshot(snapshot_id)  # preflight looked it up
        found = self.flow.copier.find(snapshot_id) if isinstance(read, Unread) else read
        if found is None:
            raise NotFoundError(
                f"{self.flow.kind.noun} {snapshot_id} not found",
                step="snapshot",
                account_id=self.flow.src,
                resource=snapshot_id,
                error_code=self.flow.kind.not_found,
                fix="check the id/ARN and the source session's account and region",
            )
        if found.get("Status") in ("failed", "error"):
            raise ResourceFailedError(
                f"snapshot {snapshot_id} is {found.get('Status')}",
                step="snapshot",
                account_id=self.flow.src,
                resource=snapshot_id,
                fix="take a new snapshot",
            )
        return found

    # -- key -----------------------------------------------------------------------------------
    def key(self, decided: Decisions, *, admins: tuple[str, ...]) -> None:
        """The source key work the plan decided: grants on a CMK, or rdsshare's share key to copy under."""
        K, data = self.flow.kind, self.flow.data
        start = data["start"]
        has_key = decided.snapshot_key and start.get("KmsKeyId")
        key = self._source_key(start["KmsKeyId"], self.flow.home_keys) if has_key else None
        copy_key: KeyInfo | None = None
        policy_changed = False
        if decided.grant_key == SHARE_KEY:
            copy_key, outcome = self.flow.keys.ensure_share_key(
                target_account_ids=self.flow.tgts,
                admin_principals=admins,
                managers=self.flow.found.key_managers,
                found=self.flow.found.share_key,
                policies=self.flow.found.policies,
                tags=rds_tags(run=self.flow.run_name, source=self.flow.src, role="share-key"),
                # A key made by a run that crashed before naming it: from a cluster, such a
                # run had taken its snapshot first, so only a resumed run can find one. From
                # an existing snapshot nothing tells, so look.
                look_for_orphans=bool(self.flow.state.get("resuming")) or "start_outcome" not in data,
            )
            policy_changed = outcome in ("created", "updated")
            self.flow.record(outcome, copy_key.arn, kind="kms-key", role="share-key", account=self.flow.src)
            self.flow.record_grant(copy_key, share_key=True)
            if outcome == "created":  # an adopted key's policy check already reported the step
                self.flow.emit(
                    StepFinished(
                        step="source-key",
                        account_id=self.flow.src,
                        resource=copy_key.arn,
                        outcome=outcome,
                        arn=copy_key.arn,
                    )
                )
        elif decided.grant_key is not None:
            # The user's CMK (the one given, or the snapshot's own): extend its policy for the targets.
            given = decided.grant_key != decided.snapshot_key
            grant = self._source_key(decided.grant_key, self.flow.keys if given else self.flow.home_keys)
            self.flow.keys.check_usable(grant, step="source-key")
            builder = CmkPolicyBuilder(
                owner_account_id=self.flow.src,
                target_account_ids=self.flow.tgts,
                admin_principals=admins,
                partition=self.flow.source.partition,
                region=self.flow.share_source.region,  # the source's own when the targets pull it
            )
            policy = self.flow.found.policies.get(grant.key_id)
            policy_changed = self.flow.keys.ensure_grants(grant, builder=builder, policy=policy) == "updated"
            self.flow.record_grant(grant)
            if decided.copy_key is not None:
                copy_key = grant
        else:
            self.flow.emit(
                StepSkipped(
                    step="source-key",
                    account_id=self.flow.src,
                    resource=K.ident(start),
                    reason="snapshot is encrypted with an AWS owned key (sse-rds): no customer key to extend"
                    if encryption_type(start, K.encrypted_field) == "sse-rds"
                    else "snapshot is not encrypted",
                )
            )
        data["key"] = key_to(key)
        data["copy_key"] = key_to(copy_key)
        data["policy_changed"] = policy_changed
        if policy_changed and self.flow.slots is not None:  # the next items of a batch read the policy afresh
            self.flow.slots.facts.forget("policy", self.flow.src)

    def _source_key(self, key: str, keys: KeyManager) -> KeyInfo:
        known = self.flow.found.keys.get(key)
        return known if known is not None else keys.describe(key, step="source-key")

    # -- copy ----------------------------------------------------------------------------------
    def copy(self, decided: Decisions) -> float | None:
        """The snapshot to share, as the plan decided: the start itself, or a copy of it (under the
        CMK, in the target region)."""
        K = self.flow.kind
        data = self.flow.data
        start = data["start"]
        copy_key = key_from(data["copy_key"])
        if "shared" not in data:
            if not decided.copy:
                self.flow.emit(
                    StepSkipped(
                        step="copy",
                        account_id=self.flow.src,
                        resource=K.ident(start),
                        reason="snapshot can be shared as it is",
                    )
                )
                data["shared"], data["copies"] = start, 0
                return None
            target_id = decided.shared_id
            self.flow.hold_slot(self.flow.src)
            shared, outcome = self.flow.share_copier.ensure_copy(
                source_snapshot=K.arn(start),
                target_id=target_id,
                kms_key_id=copy_key.arn if copy_key is not None else None,
                tags=rds_tags(
                    run=self.flow.run_name, source=K.arn(start), role="shareable-copy", token=self.flow.token
                ),
                source=K.arn(start),
                source_region=self.flow.home_region if self.flow.cross_region else None,
                existing=self.flow.found.snapshot(target_id),
                wait=False,
            )
            data["shared"], data["copy_outcome"], data["copies"] = plain(shared), outcome, 1
            self._record_copy()
        if "copy_outcome" not in data:  # shared as it is
            return None
        delay = self._until_available("shared", self.flow.share_copier, step="copy", record=self._record_copy)
        if delay is not None:
            return delay
        shared = data["shared"]
        self.flow.release_slot(self.flow.src)
        self.flow.share_copier.finished(K.ident(shared), step="copy", outcome=data["copy_outcome"], snap=shared)
        drop_start(self.flow)
        return None

    def _record_copy(self) -> None:
        shared = self.flow.data["shared"]
        self.flow.record(
            self.flow.data["copy_outcome"],
            shared.get(self.flow.kind.arn_field),
            kind=self.flow.manifest_kind,
            role="shareable-copy",
            account=self.flow.src,
            found=shared,
        )
