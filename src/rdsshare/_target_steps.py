"""The share's steps in one target account, as a resumable job runs them.

Aurora: restore the cluster from the shared snapshot (or the target's own copy, ``_pull``) under the
target's key, add its instances, hand its password to Secrets Manager, maybe back it up. RDS DB
snapshots: copy the shared snapshot under the target's key, restore from that copy, hand over its
password. A piece that waits returns the seconds until the next call; what it made is in ``targets[account]``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from ._errors import error_from_dict
from ._findings import key_from, key_to, plain
from ._keys import KMS_PROPAGATION_SECONDS
from ._kinds import INSTANCE
from ._naming import derived_id, rds_tags, snapshot_name
from ._pull import pull, pulled_from, pulls
from ._replace import CLUSTER_DB, INSTANCE_DB, Swap, replaced_spec
from ._results import TargetResult
from ._waiting import Observation, retry_call
from ._watch import Freshness

if TYPE_CHECKING:
    from ._flow import Flow
    from ._session import AccountSession

__all__ = ["ClusterTargetSteps", "InstanceTargetSteps", "TargetSteps"]

T = TypeVar("T")


class TargetSteps:
    """One target's steps; :meth:`advance` is called until it returns None (done)."""

    def __init__(self, flow: Flow, session: AccountSession) -> None:
        self.flow = flow
        self.session = session
        self.account = session.account_id
        self.replacement = flow.found.replacements.get(self.account)
        db = INSTANCE_DB if flow.kind is INSTANCE else CLUSTER_DB
        self.spec: Any = replaced_spec(flow.specs.get(self.account), self.replacement, db)
        self.restorer: Any = flow.restorers[self.account]
        targets: dict[str, dict[str, Any]] = flow.state.setdefault("targets", {})
        #: this target's part of the job state (plain values)
        self.t = targets.setdefault(self.account, {})

    def result(self) -> TargetResult:
        """What this target got, once :meth:`advance` returned None."""
        t = self.t
        own_copy = t.get("local") or t.get("pulled") or {}
        return TargetResult(
            target_account_id=self.account,
            target_cluster_arn=t.get("cluster", {}).get("DBClusterArn"),
            target_instance_arn=t.get("instance", {}).get("DBInstanceArn"),
            target_snapshot_arn=own_copy.get(self.flow.kind.arn_field) if t.get("copies") else None,
            target_kms_key_arn=t.get("key_arn"),
            master_user_secret_arn=t.get("secret"),
            instance_arns=tuple(t.get("instances", ())),
            backup_snapshot_arn=t.get("backup", {}).get("DBClusterSnapshotArn"),
            data_copies=int(t.get("copies", 0)),
            replaced_arn=t.get("swap", {}).get("final") or t.get("swap", {}).get("kept"),
            error=str(error_from_dict(t["error"])) if "error" in t else None,
        )

    @staticmethod
    def of(flow: Flow, session: AccountSession) -> TargetSteps:
        """The steps of ``session``'s account for the flow's kind of snapshot."""
        kind = InstanceTargetSteps if flow.kind is INSTANCE else ClusterTargetSteps
        return kind(flow, session)

    def pieces(self) -> list[Callable[[], float | None]]:
        """This target's pieces of work, in order (each returns None when done)."""
        return []

    def advance(self) -> float | None:
        """The next piece of this target's work: None when all is done, else seconds until the next call."""
        if self.spec is None:
            return None
        for piece in self.pieces():
            delay = piece()
            if delay is not None:
                return delay
        return None

    def _swap(self) -> float | None:
        """Refresh in place: take the replaced database's name (``self.replacement``, a ``_replace.Replacement``)."""
        if not self.replacement:
            return None
        return Swap(self.flow, self.session, self.t, self.replacement).advance()

    # -- helpers -------------------------------------------------------------------------------
    def _key(self, encrypted: bool) -> Any:
        t = self.t
        if "key" not in t:
            explicit = self.flow.data.get("explicit", {})
            if self.account in explicit:
                key = key_from(explicit[self.account])
            else:
                key = self.flow.target_key(self.account, self.spec, encrypted=encrypted)
            t["key"] = key_to(key)
        return key_from(t["key"])

    def _after_key_change(self, fn: Callable[[], T], *, step: str, resource: str) -> T:
        """``fn()``, retried while a key policy changed seconds ago is not visible to RDS yet [KMS-EC]."""
        if not self.flow.data.get("policy_changed"):
            return fn()
        return retry_call(
            fn,
            retry_codes=("KMSKeyNotAccessibleFault",),
            step=step,
            account_id=self.account,
            resource=resource,
            emit=self.flow.emit,
            max_seconds=KMS_PROPAGATION_SECONDS,
        )

    def _wait(
        self, name: str, observe: Callable[[Freshness], tuple[Observation | None, Any]], *, step: str, resource: str
    ) -> tuple[float | None, Any]:
        """Poll once: (None and what was seen) when done, else (seconds to the next poll, None)."""
        obs, seen = self.flow.poll(
            f"{self.account}:{name}", observe, step=step, account=self.account, resource=resource
        )
        if isinstance(obs, Observation):
            return None, seen
        return obs, None

    def _hand_over(
        self,
        start: Callable[[], tuple[str | None, Any]],
        observe: Callable[[Freshness], tuple[Observation | None, Any]],
        *,
        resource: str,
        step: str,
    ) -> float | None:
        """The master password handed to the target's Secrets Manager: ``start()`` once, then wait for the secret."""
        t = self.t
        if "secret_outcome" not in t:
            t["secret"], t["secret_outcome"] = start()
        if t["secret"] is None and t["secret_outcome"] == "created":
            delay, seen = self._wait("secret", observe, step=step, resource=resource)
            if delay is not None:
                return delay
            t["secret"] = seen["MasterUserSecret"]["SecretArn"]
            self.restorer.finished("secret", resource, "created", t["secret"])
        self._record(t["secret_outcome"], t["secret"], kind="secret", role="master-user-secret")
        return None

    def _record(self, outcome: str, what: str | None, *, kind: Any, role: str, found: Any = None) -> None:
        self.flow.record(outcome, what, kind=kind, role=role, account=self.account, found=found)


class ClusterTargetSteps(TargetSteps):
    """Aurora: restore the cluster under the target's key, add its instances, hand over the password, back up."""

    def pieces(self) -> list[Callable[[], float | None]]:
        return [lambda: pull(self), self._restore, self._instances, self._secret, self._swap, self._backup]

    def _restore(self) -> float | None:
        t, spec = self.t, self.spec
        shared = t.get("pulled") or self.flow.data["shared"]  # the target's own copy, when it pulled one
        if "cluster" not in t:
            key = self._key(bool(shared.get("StorageEncrypted")))
            found = self.flow.found.restore(self.account, spec.cluster_id)
            cluster, outcome = self._after_key_change(
                lambda: self.restorer.ensure_cluster(
                    spec,
                    snapshot=shared,
                    key=key,
                    run=self.flow.run_name,
                    token=self.flow.token,
                    existing=found,
                    wait=False,
                    settings=self.flow.found.settings.get(self.account),
                ),
                step="restore",
                resource=spec.cluster_id,
            )
            t["cluster"], t["outcome"] = plain(cluster), outcome
            t["key_arn"] = cluster.get("KmsKeyId") or (key.arn if key else None)
            self._record(
                outcome, cluster.get("DBClusterArn"), kind="db-cluster", role="restored-cluster", found=cluster
            )
        if t.get("restored"):
            return None
        cluster = t["cluster"]
        cluster_id = cluster["DBClusterIdentifier"]
        if cluster.get("Status") != "available":
            delay, seen = self._wait(
                "restore",
                lambda fresh: self.restorer.observe_cluster(cluster_id, fresh=fresh),
                step="restore",
                resource=cluster_id,
            )
            if delay is not None:
                return delay
            t["cluster"] = cluster = seen
            t["key_arn"] = cluster.get("KmsKeyId") or t["key_arn"]
            self._record(
                t["outcome"], cluster.get("DBClusterArn"), kind="db-cluster", role="restored-cluster", found=cluster
            )
        self.restorer.finished("restore", cluster_id, t["outcome"], cluster.get("DBClusterArn"))
        t["restored"] = True
        return None

    def _instances(self) -> float | None:
        t, spec = self.t, self.spec
        cluster = t["cluster"]
        cluster_id = cluster["DBClusterIdentifier"]
        if "instances" not in t:
            arns, outcome = self.restorer.ensure_instances(
                spec,
                cluster=cluster,
                run=self.flow.run_name,
                new_cluster=t["outcome"] == "created",
                token=self.flow.token,
                members=self.flow.found.members.get(self.account),
                wait=False,
                parameter_group=self.flow.found.instance_groups.get(self.account),
            )
            t["instances"], t["instances_outcome"] = arns, outcome
            t["instances_ready"] = bool(arns) or not spec.instance_ids
        if not t["instances_ready"]:
            wanted = spec.instance_ids
            delay, arns = self._wait(
                "instances",
                lambda fresh: self.restorer.observe_instances(cluster_id, wanted, fresh),
                step="instances",
                resource=", ".join(wanted),  # the instances, not their cluster, which is restored already
            )
            if delay is not None:
                return delay
            t["instances"], t["instances_ready"] = arns, True
            self.restorer.finished("instances", ", ".join(wanted), t["instances_outcome"])
        for arn in t["instances"]:
            self._record(t["instances_outcome"], arn, kind="db-instance", role="restored-instance")
        return None

    def _secret(self) -> float | None:
        t, spec = self.t, self.spec
        cluster = t["cluster"]
        cluster_id = cluster["DBClusterIdentifier"]
        # The restore's wait just described the cluster; adding instances does not change its secret.
        return self._hand_over(
            lambda: self.restorer.ensure_master_secret(spec, cluster_id=cluster_id, cluster=cluster, wait=False),
            lambda fresh: self.restorer.observe_cluster(cluster_id, require_secret=True, fresh=fresh),
            resource=cluster_id,
            step="secret",
        )

    def _backup(self) -> float | None:
        t, spec, flow = self.t, self.spec, self.flow
        if not spec.backup_copy or pulls(flow):  # a pulled copy is the backup already (_pull)
            return None
        shared_arn = flow.data["shared"]["DBClusterSnapshotArn"]
        copier = flow.copier_for(self.session)
        if "backup" not in t:
            key = self._key(True)
            flow.hold_slot(self.account)
            backup, outcome = copier.ensure_copy(
                source_snapshot=shared_arn,
                target_id=derived_id(snapshot_name(shared_arn).removeprefix("rdsshare-"), "backup"),
                kms_key_id=key.arn if key else None,
                tags=rds_tags(run=flow.run_name, source=shared_arn, role="target-backup", token=flow.token),
                source=shared_arn,
                step="backup",
                wait=False,
            )
            t["backup"], t["backup_outcome"] = plain(backup), outcome
        backup = t["backup"]
        if backup.get("Status") != "available":
            ident = backup["DBClusterSnapshotIdentifier"]
            delay, seen = self._wait(
                "backup", lambda fresh: copier.observe(ident, fresh), step="backup", resource=ident
            )
            if delay is not None:
                return delay
            t["backup"] = backup = seen
        flow.release_slot(self.account)
        copier.finished(backup["DBClusterSnapshotIdentifier"], step="backup", outcome=t["backup_outcome"], snap=backup)
        self._record(
            t["backup_outcome"],
            backup.get("DBClusterSnapshotArn"),
            kind="cluster-snapshot",
            role="target-backup",
            found=backup,
        )
        return None


class InstanceTargetSteps(TargetSteps):
    """RDS DB snapshots: copy into the target under its key, restore an instance from it, hand over the password."""

    def pieces(self) -> list[Callable[[], float | None]]:
        return [self._local_copy, self._restore_instance, self._instance_secret, self._swap]

    def _local_copy(self) -> float | None:
        """DB snapshots: copy into the target under its key, then restore from that copy [RDS-SHARE]."""
        t, flow = self.t, self.flow
        shared = flow.data["shared"]
        encrypted = INSTANCE.encrypted(shared)
        key = self._key(encrypted)
        if t.get("key_arn") is None:
            t["key_arn"] = key.arn if key else None
        if not encrypted:
            t.setdefault("local", shared)
            return None
        copier = flow.copier_for(self.session)
        if "local" not in t:
            flow.hold_slot(self.account)
            local, outcome = self._after_key_change(
                lambda: self.restorer.ensure_local_copy(
                    shared, key, run=flow.run_name, token=flow.token, wait=False, source_region=pulled_from(flow)
                ),
                step="target-copy",
                resource=INSTANCE.arn(shared),
            )
            t["local"], t["copy_outcome"], t["copies"] = plain(local), outcome, 1
            self._record(outcome, local.get("DBSnapshotArn"), kind="db-snapshot", role="target-copy", found=local)
        local = t["local"]
        if t.get("copied"):
            return None
        ident = INSTANCE.ident(local)
        if local.get("Status") != "available":
            delay, seen = self._wait(
                "target-copy", lambda fresh: copier.observe(ident, fresh), step="target-copy", resource=ident
            )
            if delay is not None:
                return delay
            t["local"] = local = seen
            self._record(
                t["copy_outcome"], local.get("DBSnapshotArn"), kind="db-snapshot", role="target-copy", found=local
            )
        flow.release_slot(self.account)
        copier.finished(ident, step="target-copy", outcome=t["copy_outcome"], snap=local)
        t["copied"] = True
        return None

    def _restore_instance(self) -> float | None:
        from ._instance import secret_on_restore
        from ._observe import instance_observation

        t, spec, flow = self.t, self.spec, self.flow
        local = t["local"]
        require_secret = spec.manage_master_user_password and secret_on_restore(str(local.get("Engine", "")))
        if "instance" not in t:
            instance, outcome = self.restorer.ensure_instance(
                spec,
                snapshot=local,
                run=flow.run_name,
                token=flow.token,
                existing=flow.found.restore(self.account, spec.instance_id),
                wait=False,
                settings=flow.found.settings.get(self.account),
            )
            t["instance"], t["outcome"] = plain(instance), outcome
            self._record(
                outcome, instance.get("DBInstanceArn"), kind="db-instance", role="restored-instance", found=instance
            )
        if t.get("restored"):
            return None
        instance = t["instance"]
        instance_id = instance["DBInstanceIdentifier"]
        if not instance_observation(instance, require_secret=require_secret).done:
            delay, seen = self._wait(
                "restore",
                lambda fresh: self.restorer.observe_instance(instance_id, require_secret=require_secret, fresh=fresh),
                step="restore",
                resource=instance_id,
            )
            if delay is not None:
                return delay
            t["instance"] = instance = seen
            self._record(
                t["outcome"],
                instance.get("DBInstanceArn"),
                kind="db-instance",
                role="restored-instance",
                found=instance,
            )
        t["key_arn"] = instance.get("KmsKeyId") or t.get("key_arn")
        self.restorer.finished("restore", instance_id, t["outcome"], instance.get("DBInstanceArn"))
        t["restored"] = True
        return None

    def _instance_secret(self) -> float | None:
        t, spec = self.t, self.spec
        instance = t["instance"]
        instance_id = instance["DBInstanceIdentifier"]
        return self._hand_over(
            lambda: self.restorer.ensure_master_secret(spec, instance=instance, wait=False),
            lambda fresh: self.restorer.observe_instance(instance_id, require_secret=True, fresh=fresh),
            resource=instance_id,
            step="restore",  # the instance's wait, as the blocking path reports it
        )
