"""RDS requests AWS refuses for their parameters alone (or with a look at what exists), before moto serves them.

* Identifiers (:mod:`.identifiers`).
* Managed master passwords: ``MasterUserPassword`` can't be given with ``ManageMasterUserPassword``
  turned on; rotating a managed password needs ``ApplyImmediately`` (botocore model, ``CreateDBCluster``,
  ``ModifyDBCluster``, ``CreateDBInstance``, ``ModifyDBInstance``).
* Deletes: a final snapshot must be named unless it is skipped, and not both (botocore model,
  ``DeleteDBCluster``/``DeleteDBInstance`` ``SkipFinalSnapshot``, ``FinalDBSnapshotIdentifier``).
* ``DescribeDBClusterSnapshots``: ``DBClusterSnapshotIdentifier`` "can't be used in conjunction with the
  DBClusterIdentifier parameter" (botocore model; likewise for DB snapshots).
* Tagging calls name an existing cluster, instance or snapshot (their ``errors`` in the botocore model).
* Aurora Serverless v2: a ``db.serverless`` instance needs its cluster's
  ``ServerlessV2ScalingConfiguration`` first ("InvalidDBClusterStateFault: Set the Serverless v2 scaling
  configuration on the parent DB cluster before creating a Serverless v2 DB instance",
  terraform-aws-rds-aurora #537); ``MinCapacity`` is 0 to 256 and ``MaxCapacity`` 1 to 256, no less
  than ``MinCapacity`` (botocore model, ``ServerlessV2ScalingConfiguration``).
* ``DescribeDBParameterGroups`` naming a group that does not exist fails with ``DBParameterGroupNotFound``
  (botocore model, its ``errors``: ``DBParameterGroupNotFoundFault``); moto answers an empty list.
  ``default.*`` names are left to moto (AWS has a default group per family; moto lists those it made).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from moto.rds.models import rds_backends

from .identifiers import check_identifiers

__all__ = ["validate"]

Error = tuple[str, str, int]

_PASSWORD_OPERATIONS = frozenset({"CreateDBCluster", "ModifyDBCluster", "CreateDBInstance", "ModifyDBInstance"})
SERVERLESS_CLASS = "db.serverless"
SERVERLESS_MESSAGE = (
    "Set the Serverless v2 scaling configuration on the parent DB cluster before creating a Serverless v2 DB instance."
)


def _combination(message: str) -> Error:
    return "InvalidParameterCombination", message, 400


def _scaling(config: object) -> Error | None:
    if not isinstance(config, Mapping):
        return None
    low, high = config.get("MinCapacity"), config.get("MaxCapacity")
    if low is not None and not 0 <= float(low) <= 256:
        return "InvalidParameterValue", f"MinCapacity {low} is outside 0 to 256.", 400
    if high is not None and not 1 <= float(high) <= 256:
        return "InvalidParameterValue", f"MaxCapacity {high} is outside 1 to 256.", 400
    if low is not None and high is not None and float(low) > float(high):
        return _combination("MaxCapacity must be greater than or equal to MinCapacity.")
    return None


def _serverless(params: Mapping[str, Any], account: str, region: str) -> Error | None:
    if params.get("DBInstanceClass") != SERVERLESS_CLASS or not params.get("DBClusterIdentifier"):
        return None
    cluster = rds_backends[account][region].clusters.get(str(params["DBClusterIdentifier"]).lower())
    if cluster is not None and not getattr(cluster, "serverless_v2_scaling_configuration", None):
        return "InvalidDBClusterStateFault", SERVERLESS_MESSAGE, 400
    return None


_TAGGED_TYPES = {
    "cluster": ("clusters", "DBClusterNotFoundFault"),
    "db": ("databases", "DBInstanceNotFound"),
    "cluster-snapshot": ("cluster_snapshots", "DBClusterSnapshotNotFoundFault"),
    "snapshot": ("database_snapshots", "DBSnapshotNotFound"),
}


_EXCLUSIVE = (
    ("DescribeDBClusterSnapshots", "DBClusterSnapshotIdentifier", "DBClusterIdentifier"),
    ("DescribeDBSnapshots", "DBSnapshotIdentifier", "DBInstanceIdentifier"),
)


def _final_snapshot(operation: str, params: Mapping[str, Any]) -> Error | None:
    if operation not in ("DeleteDBCluster", "DeleteDBInstance"):
        return None
    skip, final = bool(params.get("SkipFinalSnapshot")), params.get("FinalDBSnapshotIdentifier")
    if skip and final:
        return _combination("FinalDBSnapshotIdentifier can't be specified when SkipFinalSnapshot is enabled.")
    if not skip and not final:
        return _combination("FinalDBSnapshotIdentifier is required unless SkipFinalSnapshot is enabled.")
    return None


def _tagged_resource(params: Mapping[str, Any], account: str, region: str) -> Error | None:
    """ListTagsForResource/AddTagsToResource/RemoveTagsFromResource on a resource that does not exist."""
    parts = str(params.get("ResourceName") or "").split(":")
    if len(parts) < 7 or parts[5] not in _TAGGED_TYPES:
        return None
    store, code = _TAGGED_TYPES[parts[5]]
    name = ":".join(parts[6:]).lower()
    if name not in getattr(rds_backends[parts[4]][parts[3]], store):
        return code, f"{parts[5]} {name} not found.", 404
    return None


def _parameter_group(params: Mapping[str, Any], account: str, region: str) -> Error | None:
    name = params.get("DBParameterGroupName")
    if not name or str(name).startswith("default."):
        return None
    if str(name).lower() not in {k.lower() for k in rds_backends[account][region].db_parameter_groups}:
        return "DBParameterGroupNotFound", f"DBParameterGroup not found: {name}", 404
    return None


def validate(operation: str, params: Mapping[str, Any], account: str, region: str) -> Error | None:
    """The refusal of an RDS call AWS would not accept, or None."""
    error = check_identifiers(operation, params) or _final_snapshot(operation, params)
    if error is not None:
        return error
    if operation in ("ListTagsForResource", "AddTagsToResource", "RemoveTagsFromResource"):
        return _tagged_resource(params, account, region)
    for op, snapshot, owner in _EXCLUSIVE:
        if operation == op and params.get(snapshot) and params.get(owner):
            return _combination(f"{snapshot} can't be used together with {owner}.")
    if operation in _PASSWORD_OPERATIONS:
        if params.get("ManageMasterUserPassword") and params.get("MasterUserPassword"):
            return _combination("You can't specify MasterUserPassword when ManageMasterUserPassword is turned on.")
        if params.get("RotateMasterUserPassword") and not params.get("ApplyImmediately"):
            return _combination("You must apply the change immediately when rotating the master user password.")
    if operation in ("CreateDBCluster", "ModifyDBCluster", "RestoreDBClusterFromSnapshot"):
        error = _scaling(params.get("ServerlessV2ScalingConfiguration"))
        if error is not None:
            return error
    if operation == "CreateDBInstance":
        return _serverless(params, account, region)
    if operation == "DescribeDBParameterGroups":
        return _parameter_group(params, account, region)
    return None
