"""Checks of each target: its key, the restore (or adoption) and instance ids, groups, the secret key."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .._carry import as_params, describe_settings, instance_restore_settings, restore_settings
from .._instance import local_copy_id, secret_on_restore
from .._kinds import describe_encryption
from .._naming import (
    MANAGED_BY,
    TAG_MANAGED_BY,
    TAG_SOURCE,
    tag_dict,
)
from .._plan import Action
from .._replace import CLUSTER_DB, INSTANCE_DB, replaced_spec
from .._specs import InstanceRestoreSpec
from ._ledger import restored_encryption
from ._parts import TargetParts
from ._swap import decide, plan_swap

__all__ = ["TargetChecks"]


class TargetChecks(TargetParts):
    """One target's restore, as the run will do it."""

    def _target(self, spec: Any, facts: dict[str, Any] | None) -> None:
        if isinstance(spec, InstanceRestoreSpec):
            self._target_instance(spec, facts)
            return
        restorer = self.restorer
        assert restorer is not None
        rep = decide(self, spec, CLUSTER_DB, restorer.find_cluster)
        spec = replaced_spec(spec, self.found.replacements.get(self.tgt) if rep else None, CLUSTER_DB)
        cluster_id = spec.cluster_id.lower()
        # An sse-rds snapshot is restored under the target's key too: the same database whether RDS
        # shares it as it is or the run shares a copy under a customer key instead (see _rekey).
        encrypted = bool(facts and (facts["encrypted"] or facts.get("encryption") == "sse-rds"))
        key = self._planned_key(restorer, spec, encrypted)
        settings = restore_settings((facts or {}).get("settings"), spec)
        self.found.settings[self.tgt] = carried = as_params(settings)
        pulled = self._pulled(key)
        existing = self._restore_step(
            cluster_id,
            lambda: restorer.find_cluster(cluster_id),
            noun="cluster",
            arn_field="DBClusterArn",
            code="DBClusterAlreadyExistsFault",
            source=pulled or self.shared_arn,
            create_reason=("restore from the target's copy, " if pulled else "restore from the shared snapshot, ")
            + (describe_encryption("sse-kms", key.arn) if key else describe_encryption(restored_encryption(facts)))
            + (f"; {describe_settings(settings)}" if settings else ""),
        )
        if spec.instance_class == "db.serverless" and "ServerlessV2ScalingConfiguration" not in carried:
            self._problem(
                "restore",
                "db.serverless instances need the cluster's Serverless v2 scaling, and the source has none",
                "pass serverless_v2_scaling=(min, max) ACUs, or a provisioned instance class",
                account=self.tgt,
                resource=cluster_id,
            )
        self._environment(spec, facts)
        members = self._instances_taken(spec.instance_ids, cluster_id)
        self._target_room(
            clusters=0 if existing else 1,
            instances=sum(1 for i in spec.instance_ids if i not in members),
            cluster_snapshots=1 if pulled else 0,
        )
        group = self._instance_group(spec, facts)
        for instance_id in spec.instance_ids:
            action: Action = "adopt" if instance_id in members else "create"
            self._step(
                "instances", self.tgt, action, instance_id, spec.instance_class + (f"; {group}" if group else "")
            )
        self._groups(
            "parameter-group",
            carried.get("DBClusterParameterGroupName"),
            "DB cluster parameter group",
            lambda name: self.target.rds().describe_db_cluster_parameter_groups(DBClusterParameterGroupName=name),
        )
        self._secret_key(spec)
        if spec.manage_master_user_password:
            has_secret = bool(existing and existing.get("MasterUserSecret"))
            self._step(
                "secret",
                self.tgt,
                "adopt" if has_secret else "create",
                cluster_id,
                "ModifyDBCluster(ManageMasterUserPassword=True)",
            )
        if rep is not None:
            plan_swap(self, rep, CLUSTER_DB)

    def _planned_key(self, restorer: Any, spec: Any, encrypted: bool) -> Any:
        """The key the target's restore will be encrypted with (kept in the findings), or None: a problem."""
        return self._try(
            "target-key",
            self.tgt,
            spec.kms_key_id or "alias/aws/rds",
            "pass an enabled symmetric key of the target account and region",
            lambda: self._target_key(restorer.target_key(spec, source_encrypted=encrypted)),
        )

    def _target_instance(self, spec: InstanceRestoreSpec, facts: dict[str, Any] | None) -> None:
        restorer = self.restorer
        rep = decide(self, spec, INSTANCE_DB, restorer.find_instance)
        spec = replaced_spec(spec, self.found.replacements.get(self.tgt) if rep else None, INSTANCE_DB)
        instance_id = spec.instance_id.lower()
        encrypted = bool(facts and facts["encrypted"])
        key = self._planned_key(restorer, spec, encrypted)
        settings = instance_restore_settings((facts or {}).get("settings"), spec)
        self.found.settings[self.tgt] = carried = as_params(settings)
        if encrypted:
            self._step(
                "target-copy",
                self.tgt,
                "create",
                instance_id,
                "AWS restores a shared encrypted DB snapshot only from a copy under the target's key"
                + (f"; copied from {self.source.region} in one step" if self.decisions and self.decisions.pull else ""),
            )
        existing = self._restore_step(
            instance_id,
            lambda: restorer.find_instance(instance_id),
            noun="DB instance",
            arn_field="DBInstanceArn",
            code="DBInstanceAlreadyExists",
            source=self._restore_source(encrypted),
            create_reason="restore from the target's copy, "
            + (describe_encryption("sse-kms", key.arn) if key else describe_encryption(restored_encryption(facts)))
            + (f"; {describe_settings(settings)}" if settings else ""),
        )
        self._target_room(instances=0 if existing else 1, snapshots=1 if encrypted else 0)
        if spec.manage_master_user_password:
            has_secret = bool(existing and existing.get("MasterUserSecret"))
            how = (
                "RestoreDBInstanceFromDBSnapshot(ManageMasterUserPassword=True)"
                if secret_on_restore(str((facts or {}).get("engine") or ""))
                else "ModifyDBInstance(ManageMasterUserPassword=True) after the restore"
            )
            self._step("secret", self.tgt, "adopt" if has_secret else "create", instance_id, how)
        self._environment(spec, facts)
        self._groups(
            "parameter-group",
            carried.get("DBParameterGroupName"),
            "DB parameter group",
            lambda name: self.target.rds().describe_db_parameter_groups(DBParameterGroupName=name),
        )
        self._secret_key(spec)
        if rep is not None:
            plan_swap(self, rep, INSTANCE_DB)

    def _instances_taken(self, wanted: list[str], cluster_id: str) -> dict[str, dict[str, Any]]:
        """Refuse instance ids another database holds; return those already members of ``cluster_id``."""
        if not wanted:
            return {}
        problems = len(self.problems)
        found = self._try(
            "instances",
            self.tgt,
            ",".join(wanted),
            "check RDS permissions",
            lambda: self.target.rds().describe_db_instances(
                Filters=[{"Name": "db-instance-id", "Values": list(wanted)}]
            )["DBInstances"],
        )
        members: dict[str, dict[str, Any]] = {}
        for instance in found or []:
            ident = str(instance["DBInstanceIdentifier"]).lower()
            if str(instance.get("DBClusterIdentifier") or "").lower() == cluster_id:
                members[ident] = dict(instance)
                continue
            self._problem(
                "instances",
                f"DB instance {ident} already exists outside cluster {cluster_id}",
                "delete or rename that instance, or restore under another cluster id",
                account=self.tgt,
                resource=instance.get("DBInstanceArn"),
                code="DBInstanceAlreadyExists",
            )
        if len(self.problems) == problems:  # read without trouble: the run adopts exactly these
            self.found.members[self.tgt] = members
        return members

    def _restore_source(self, encrypted: bool) -> str | None:
        """What the target's DB instance is restored from: its own copy when encrypted, else the share."""
        if self.shared_arn is None or not encrypted:
            return self.shared_arn
        return f"arn:{self.target.partition}:rds:{self.region}:{self.tgt}:snapshot:{local_copy_id(self.shared_arn)}"

    def _restore_step(
        self,
        ident: str,
        find: Callable[[], Any],
        *,
        noun: str,
        arn_field: str,
        code: str,
        create_reason: str,
        source: str | None,
    ) -> Any:
        """Plan the restore of ``ident``: adopt an earlier rdsshare restore, refuse anyone else's."""
        problems = len(self.problems)
        existing = self._try("restore", self.tgt, ident, "check RDS permissions", find)
        if len(self.problems) == problems:  # the lookup worked: the run starts from its answer
            self.found.restores[(self.tgt, ident.lower())] = existing
        if existing is None:
            self._step("restore", self.tgt, "create", ident, create_reason)
            return None
        tags = tag_dict(existing.get("TagList"))
        if tags.get(TAG_MANAGED_BY) != MANAGED_BY:
            self._problem(
                "restore",
                f"{noun} {ident} already exists and was not restored by rdsshare",
                f"pick another restore id for the {noun}",
                account=self.tgt,
                resource=existing.get(arn_field),
                code=code,
            )
        elif self._ours("restore", self.tgt, f"{noun} {ident}", existing, source=source):
            self._step("restore", self.tgt, "adopt", ident, f"restored by an earlier run from {tags.get(TAG_SOURCE)}")
        return existing
