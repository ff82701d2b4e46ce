"""Restorer: bring a shared cluster snapshot up as a running cluster in the target account."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from ._carry import as_params, restore_settings
from ._errors import (
    ConflictError,
    InputError,
    KeyNotAccessibleError,
    error_code,
    not_visible,
    translate_client_error,
)
from ._events import Emitter, EventHook, Outcome, StepFinished, StepSkipped, StepStarted, as_emitter
from ._findings import UNREAD, Unread
from ._keys import KeyInfo, KeyManager
from ._naming import MANAGED_BY, TAG_MANAGED_BY, TAG_SOURCE, check_ours, rds_tags, tag_dict
from ._observe import cluster_observation, instances_observation
from ._secret import BUSY_CODES, BUSY_SECONDS, hand_over_secret
from ._specs import ClusterRestoreSpec
from ._waiting import Observation, WaitPolicy, retry_call, wait_seen
from ._watch import CLUSTERS, INSTANCES, Freshness, Watcher, lookup

if TYPE_CHECKING:
    from mypy_boto3_rds import RDSClient
    from mypy_boto3_rds.type_defs import DBClusterTypeDef

__all__ = ["ClusterRestoreSpec", "Restorer"]  # the spec lives in _specs; imported here for its users

_log = logging.getLogger("rdsshare.restore")


class Restorer:
    """Target-side work: pick the target key, restore the cluster, add instances, hand over the secret."""

    def __init__(
        self,
        rds: RDSClient,
        keys: KeyManager,
        *,
        account_id: str,
        region: str,
        emit: Emitter | EventHook | None = None,
        wait: WaitPolicy | None = None,
        watcher: Watcher | None = None,
    ) -> None:
        self._rds, self._watcher = rds, watcher
        self._keys = keys
        self.account_id = account_id
        self.region = region
        self._emit = as_emitter(emit)
        self._wait = wait or WaitPolicy()

    def _error(self, exc: ClientError, step: str, resource: str) -> Exception:
        return translate_client_error(exc, step=step, account_id=self.account_id, resource=resource)

    # -- key ----------------------------------------------------------------------------------
    def target_key(self, spec: ClusterRestoreSpec, *, source_encrypted: bool) -> KeyInfo | None:
        """The target-owned key for the restored cluster, or None to restore unencrypted."""
        encrypt = source_encrypted or bool(spec.encrypt) or spec.kms_key_id is not None
        if spec.encrypt is False and source_encrypted:
            raise InputError(
                "the source snapshot is encrypted; a restore cannot decrypt it",
                step="input",
                resource=spec.cluster_id,
                fix="leave encrypt unset (or True)",
            )
        if not encrypt:
            return None
        return self._keys.target_key(spec.kms_key_id)

    def secret_key(self, key_id: str) -> KeyInfo:
        """The target-account key for the master secret: it must exist and be an enabled symmetric key."""
        info = self._keys.describe(key_id, step="secret-key")
        self._keys.check_usable(info, step="secret-key", allow_aws_managed=True)
        return info

    # -- cluster ------------------------------------------------------------------------------
    def find_cluster(self, cluster_id: str) -> DBClusterTypeDef | None:
        """The cluster, or None."""
        try:
            clusters = self._rds.describe_db_clusters(DBClusterIdentifier=cluster_id)["DBClusters"]
        except ClientError as exc:
            if error_code(exc) == "DBClusterNotFoundFault":
                return None
            raise self._error(exc, "restore", cluster_id) from exc
        return clusters[0] if clusters else None

    def observe_cluster(
        self, cluster_id: str, *, require_secret: bool = False, fresh: Freshness | None = None
    ) -> tuple[Observation | None, DBClusterTypeDef | None]:
        """One poll of a wait for the cluster: how it stands (None: not visible) and its description.

        With a watcher and ``fresh``, the poll is shared with the other waits of this account and region.
        """
        error = partial(self._error, step="restore", resource=cluster_id)
        [cluster], seen = lookup(self._watcher, CLUSTERS, [cluster_id], fresh, find=self.find_cluster, error=error)
        if cluster is None:
            return None, None
        return cluster_observation(cluster, seen, require_secret=require_secret), cluster

    def wait_cluster(self, cluster_id: str, *, step: str, require_secret: bool = False) -> DBClusterTypeDef:
        """Poll until the cluster is ``available`` (and, if asked, has its master secret)."""
        observe, account = (lambda: self.observe_cluster(cluster_id, require_secret=require_secret)), self.account_id
        return wait_seen(
            observe, step=step, account_id=account, resource=cluster_id, emit=self._emit, policy=self._wait
        )

    def finished(self, step: str, resource: str, outcome: Outcome, arn: str | None = None) -> None:
        """Report that a step on ``resource`` is done (after its wait)."""
        self._emit(StepFinished(step=step, account_id=self.account_id, resource=resource, outcome=outcome, arn=arn))

    def ensure_cluster(
        self,
        spec: ClusterRestoreSpec,
        *,
        snapshot: Mapping[str, Any],
        key: KeyInfo | None,
        run: str,
        token: str | None = None,
        existing: DBClusterTypeDef | Unread | None = UNREAD,
        wait: bool = True,
        settings: Mapping[str, Any] | None = None,
    ) -> tuple[DBClusterTypeDef, Outcome]:
        """Restore ``spec.cluster_id`` from the shared snapshot (by ARN), or adopt an earlier restore.

        ``settings``: the parameters the plan carried over from the source (``rdsshare._carry``).

        ``existing``: what the plan found under that id (None: nothing); described here only when
        the plan did not look (:data:`~rdsshare._findings.UNREAD`). ``wait=False`` returns the
        cluster as restored or found, maybe not available yet (the caller polls it).
        """
        step = "restore"
        snapshot_arn = snapshot["DBClusterSnapshotArn"]
        cluster_id = spec.cluster_id.lower()
        if isinstance(existing, Unread):
            existing = self.find_cluster(cluster_id)
        outcome: Outcome = "adopted"
        made: Any = None  # the cluster as the restore call returned it
        if existing is not None:
            check_ours(
                existing.get("TagList"),
                source=snapshot_arn,
                step=step,
                account_id=self.account_id,
                resource=cluster_id,
            )
            self._check_key(existing, key)
        else:
            # What the plan carried over from the source, or (called without a plan) what the spec sets.
            carried = dict(settings) if settings is not None else as_params(restore_settings(None, spec))
            user_tags = {t["Key"]: t["Value"] for t in carried.pop("Tags", ())} | dict(spec.tags)
            tags = rds_tags(run=run, source=snapshot_arn, role="restored-cluster", extra=user_tags, token=token)
            params: dict[str, Any] = {
                "DBClusterIdentifier": cluster_id,
                "SnapshotIdentifier": snapshot_arn,
                "Engine": snapshot["Engine"],
                "CopyTagsToSnapshot": True,
                "Tags": tags,
                **carried,
            }
            engine_version = spec.engine_version or snapshot.get("EngineVersion")
            if engine_version:
                params["EngineVersion"] = engine_version
            if key is not None:
                params["KmsKeyId"] = key.arn
            if spec.subnet_group:
                params["DBSubnetGroupName"] = spec.subnet_group
            if spec.security_group_ids:
                params["VpcSecurityGroupIds"] = list(spec.security_group_ids)
            self._emit(
                StepStarted(step=step, account_id=self.account_id, resource=cluster_id, action="restore cluster")
            )
            try:
                made = self._rds.restore_db_cluster_from_snapshot(**params).get("DBCluster")
                outcome = "created"
            except ClientError as exc:
                if error_code(exc) in ("DBClusterSnapshotNotFoundFault", "DBSnapshotNotFound"):
                    raise not_visible(
                        snapshot_arn, step=step, account_id=self.account_id, error_code=error_code(exc)
                    ) from exc
                if error_code(exc) != "DBClusterAlreadyExistsFault":
                    raise self._error(exc, step, cluster_id) from exc
                raced = self.find_cluster(cluster_id)
                check_ours(
                    raced.get("TagList") if raced else None,
                    source=snapshot_arn,
                    step=step,
                    account_id=self.account_id,
                    resource=cluster_id,
                )
                made = raced
        if not wait:
            known = existing if existing is not None else made
            stub: Any = {"DBClusterIdentifier": cluster_id, "Status": "creating"}
            return (known or stub), outcome
        if existing is not None and existing.get("Status") == "available":
            cluster = existing  # described moments ago: nothing to wait for
        else:
            cluster = self.wait_cluster(cluster_id, step=step)
        self.finished(step, cluster_id, outcome, cluster.get("DBClusterArn"))
        return cluster, outcome

    def _check_key(self, cluster: DBClusterTypeDef | Mapping[str, Any], key: KeyInfo | None) -> None:
        actual = cluster.get("KmsKeyId")
        if key is not None and actual and actual != key.arn:
            raise KeyNotAccessibleError(
                f"cluster {cluster.get('DBClusterIdentifier')} is encrypted with {actual}, "
                f"not the target key {key.arn}",
                step="restore",
                account_id=self.account_id,
                resource=str(cluster.get("DBClusterArn")),
                fix="this cluster would depend on another key; restore under a new cluster id",
            )

    # -- instances ----------------------------------------------------------------------------
    def ensure_instances(
        self,
        spec: ClusterRestoreSpec,
        *,
        cluster: DBClusterTypeDef,
        run: str,
        new_cluster: bool = False,
        token: str | None = None,
        members: Mapping[str, Mapping[str, Any]] | None = None,
        wait: bool = True,
        parameter_group: str | None = None,
    ) -> tuple[list[str], Outcome]:
        """Create the cluster's DB instances (adopting existing ones), then wait for all of them.

        ``wait=False`` returns no ARNs when the instances are still to be waited for (the caller
        polls them with :meth:`observe_instances`), their ARNs when all were available already.

        ``parameter_group``: the instances' DB parameter group the plan decided (None: the engine's default).
        ``new_cluster=True`` (this run restored it) skips looking for existing instances: a
        restored Aurora cluster has none. ``members``: the wanted instances the plan found in the
        cluster (by id), so that they are not listed again.
        """
        step = "instances"
        cluster_id = cluster["DBClusterIdentifier"]
        wanted = spec.instance_ids
        if not wanted:
            self._emit(
                StepSkipped(step=step, account_id=self.account_id, resource=cluster_id, reason="instance_count=0")
            )
            return [], "unchanged"
        if new_cluster:
            existing: Mapping[str, Any] = {}
        elif members is not None:
            existing = members
        else:
            existing = {i["DBInstanceIdentifier"]: i for i in self._instances(cluster_id)}
        source = tag_dict(cluster.get("TagList")).get(TAG_SOURCE, cluster.get("DBClusterArn", ""))
        created = False
        for instance_id in wanted:
            if instance_id in existing:
                continue
            self._emit(
                StepStarted(step=step, account_id=self.account_id, resource=instance_id, action="create instance")
            )
            params: dict[str, Any] = {
                "DBInstanceIdentifier": instance_id,
                "DBClusterIdentifier": cluster_id,
                "Engine": cluster["Engine"],
                "DBInstanceClass": spec.instance_class,
                "PubliclyAccessible": False,
                "Tags": rds_tags(run=run, source=source, role="restored-instance", extra=spec.tags, token=token),
            }
            if parameter_group or spec.instance_parameter_group:
                params["DBParameterGroupName"] = parameter_group or spec.instance_parameter_group
            try:
                retry_call(
                    lambda params=params: self._rds.create_db_instance(**params),  # type: ignore[misc]
                    retry_codes=BUSY_CODES,
                    step=step,
                    account_id=self.account_id,
                    resource=instance_id,
                    emit=self._emit,
                    max_seconds=self._wait.retry_seconds(BUSY_SECONDS),
                )
                created = True
            except ClientError as exc:
                if error_code(exc) == "DBInstanceAlreadyExists" and self._ours(instance_id, cluster_id):
                    continue  # a retried create whose first response was lost
                if error_code(exc) == "DBInstanceAlreadyExists":
                    raise ConflictError(
                        f"DB instance {instance_id} already exists outside cluster {cluster_id}",
                        step=step,
                        account_id=self.account_id,
                        resource=instance_id,
                        error_code="DBInstanceAlreadyExists",
                        fix="delete or rename that instance, or restore under another cluster id",
                    ) from exc
                raise self._error(exc, step, instance_id) from exc
        outcome: Outcome = "created" if created else "adopted"
        if not created and all(w in existing and existing[w].get("DBInstanceStatus") == "available" for w in wanted):
            arns = [str(existing[w].get("DBInstanceArn", "")) for w in wanted]  # listed moments ago
        elif not wait:
            return [], outcome
        else:
            arns = self.wait_instances(cluster_id, wanted)
        self.finished(step, ", ".join(wanted), outcome)  # the instances, not their cluster
        return arns, outcome

    def _ours(self, instance_id: str, cluster_id: str) -> bool:
        """Whether ``instance_id`` is an rdsshare-made member of ``cluster_id``."""
        found = {i["DBInstanceIdentifier"]: i for i in self._instances(cluster_id)}
        instance = found.get(instance_id)
        return instance is not None and tag_dict(instance.get("TagList")).get(TAG_MANAGED_BY) == MANAGED_BY

    def _instances(self, cluster_id: str) -> list[Any]:
        try:
            return list(
                self._rds.describe_db_instances(Filters=[{"Name": "db-cluster-id", "Values": [cluster_id]}])[
                    "DBInstances"
                ]
            )
        except ClientError as exc:
            raise self._error(exc, "instances", cluster_id) from exc

    def observe_instances(
        self, cluster_id: str, wanted: Sequence[str], fresh: Freshness | None = None
    ) -> tuple[Observation | None, list[str]]:
        """One poll of the wait for the cluster's wanted instances (one describe call): how they stand, their ARNs."""
        if self._watcher is None or fresh is None:
            return instances_observation({i["DBInstanceIdentifier"]: i for i in self._instances(cluster_id)}, wanted)
        error = partial(self._error, step="instances", resource=cluster_id)
        listed, seen = lookup(self._watcher, INSTANCES, wanted, fresh, find=lambda _: None, error=error)
        return instances_observation({w: i for w, i in zip(wanted, listed, strict=True) if i is not None}, wanted, seen)

    def wait_instances(self, cluster_id: str, wanted: list[str]) -> list[str]:
        """Poll all instances of the cluster with one describe call per poll."""
        observe, where = (lambda: self.observe_instances(cluster_id, wanted)), ", ".join(wanted)
        kw = {"account_id": self.account_id, "resource": where}
        return wait_seen(observe, step="instances", emit=self._emit, policy=self._wait, **kw)

    # -- master secret --------------------------------------------------------------------------
    def ensure_master_secret(
        self,
        spec: ClusterRestoreSpec,
        *,
        cluster_id: str,
        cluster: DBClusterTypeDef | Mapping[str, Any] | None = None,
        wait: bool = True,
    ) -> tuple[str | None, Outcome]:
        """Have RDS manage the master password in the target's Secrets Manager.

        ``RestoreDBClusterFromSnapshot`` cannot do it [AUR-SM]; ``ModifyDBCluster`` with
        ``ManageMasterUserPassword`` after the restore does, and Aurora generates a new
        password, so the source's password stops working in the target. ``cluster`` is the
        cluster as the caller last described it (the restore's wait); without it, it is read.
        ``wait=False`` returns ``(None, "created")`` right after the modify: the caller polls the
        cluster (:meth:`observe_cluster` with ``require_secret=True``) for the secret.
        """
        step = "secret"
        if not spec.manage_master_user_password:
            self._emit(
                StepSkipped(
                    step=step,
                    account_id=self.account_id,
                    resource=cluster_id,
                    reason="manage_master_user_password=False",
                )
            )
            return None, "unchanged"
        if cluster is None:
            cluster = self.find_cluster(cluster_id)
        params: dict[str, Any] = {
            "DBClusterIdentifier": cluster_id,
            "ManageMasterUserPassword": True,
            "ApplyImmediately": True,
        }
        if spec.master_user_secret_kms_key_id:
            params["MasterUserSecretKmsKeyId"] = spec.master_user_secret_kms_key_id

        def current() -> str | None:
            return (self.find_cluster(cluster_id) or {}).get("MasterUserSecret", {}).get("SecretArn")

        def wait_secret() -> str:
            return str(self.wait_cluster(cluster_id, step=step, require_secret=True)["MasterUserSecret"]["SecretArn"])

        secret, outcome = hand_over_secret(
            modify=lambda: self._rds.modify_db_cluster(**params),
            current_secret=current,
            wait_for_secret=wait_secret if wait else None,
            known_secret=(cluster or {}).get("MasterUserSecret", {}).get("SecretArn"),
            account_id=self.account_id,
            resource=cluster_id,
            emit=self._emit,
        )
        return secret, outcome
