"""Parts of each target's checks: the quotas, the groups, the keys of its secret, where it restores from."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .._kinds import describe_encryption
from .._pull import pulled_id
from ._environment import EnvironmentChecks

__all__ = ["TargetParts"]


class TargetParts(EnvironmentChecks):
    """What :class:`~rdsshare._preflight._target.TargetChecks` checks of a target besides its restore."""

    def _target_room(
        self, *, clusters: int = 0, instances: int = 0, snapshots: int = 0, cluster_snapshots: int = 0
    ) -> None:
        """Room in the target's quotas for what its restore creates (a batch reserves it for all its items)."""
        fix = "delete what the account no longer needs, or raise the quota in Service Quotas"
        for needed, name, noun, code in (
            (clusters, "DBClusters", "DB clusters", "DBClusterQuotaExceededFault"),
            (instances, "DBInstances", "DB instances", "InstanceQuotaExceeded"),
            (snapshots, "ManualSnapshots", "manual DB snapshots", "SnapshotQuotaExceeded"),
            (cluster_snapshots, "ManualClusterSnapshots", "manual DB cluster snapshots", "SnapshotQuotaExceeded"),
        ):
            self._room(needed, session=self.target, name=name, noun=noun, fix=fix, code=code)

    def _pulled(self, key: Any) -> str | None:
        """The ARN of the target's own copy when it pulls the snapshot from the source's region (``_pull``)."""
        if self.decisions is None or not self.decisions.pull or self.shared_arn is None:
            return None
        ident = pulled_id(self.kind, self.shared_arn)
        self._step(
            "target-copy",
            self.tgt,
            "create",
            ident,
            f"copy {self.shared_arn} from {self.source.region} into {self.region} "
            + (describe_encryption("sse-kms", key.arn) if key else "under the target's key")
            + ", in one step across account and region (or adopt an earlier run's)",
        )
        return f"arn:{self.target.partition}:rds:{self.region}:{self.tgt}:{self.kind.arn_type}:{ident}"

    def _instance_group(self, spec: Any, facts: dict[str, Any] | None) -> str:
        """The DB parameter group of the cluster's instances: the spec's, or the source writer's through
        ``parameter_group_map`` (one more read, only with a map); how the plan shows it ('' for the default)."""
        group, origin = spec.instance_parameter_group, "yours"
        writer = (facts or {}).get("writer")
        if group is None and spec.parameter_group_map and writer and spec.instance_ids:
            found = self._try(
                "parameter-group",
                self.src,
                writer,
                "allow rds:DescribeDBInstances on the source",
                lambda: self.source.rds().describe_db_instances(DBInstanceIdentifier=writer)["DBInstances"],
            )
            names = [g.get("DBParameterGroupName") for i in found or () for g in i.get("DBParameterGroups", ())[:1]]
            group, origin = (spec.parameter_group_map.get(names[0]) if names else None), "the source's"
        if not group:
            return ""
        self.found.instance_groups[self.tgt] = group
        self._groups(
            "parameter-group",
            group,
            "DB parameter group",
            lambda name: self.target.rds().describe_db_parameter_groups(DBParameterGroupName=name),
        )
        return f"DBParameterGroupName={group} ({origin})"

    def _groups(self, check: str, name: str | None, noun: str, describe: Callable[[str], Any]) -> None:
        """A named group of the target account exists (the restore names it after the copy and the share)."""
        if name:
            self._try(
                check,
                self.tgt,
                name,
                f"create the {noun} {name} in the target account and region",
                lambda: describe(name),
            )

    def _secret_key(self, spec: Any) -> None:
        """The key for the master secret exists in the target and can encrypt."""
        key_id = spec.master_user_secret_kms_key_id
        if key_id and spec.manage_master_user_password:
            restorer = self.restorer
            self._try(
                "secret-key",
                self.tgt,
                key_id,
                "pass an enabled symmetric key of the target account and region",
                lambda: restorer.secret_key(key_id),
            )
