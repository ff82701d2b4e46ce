"""A restore that matches its source: the settings the plan carries over, and why each one.

``RestoreDBClusterFromSnapshot`` does not take the source cluster's settings: an I/O-Optimized source
comes back on Standard storage (``StorageType`` "Default: aurora"), an old major version is enrolled in
paid Extended Support (``EngineLifecycleSupport`` defaults to ``open-source-rds-extended-support``), a
Serverless v2 cluster loses its scaling, backtrack is 0, IAM database authentication, log exports,
deletion protection and tags are off, and the parameter group is the engine's default [BC-RDS]
(docs/sources/aws-rules-2.md, "Restore parameters that change the result"). The plan reads the source
(the cluster, or the snapshot when the share starts from one), carries each of these unless the
:class:`~rdsshare.ClusterRestoreSpec` sets it, and lists every one with where it came from; the run
passes exactly those parameters.

Extended Support is never chosen silently: a source enrolled in it stays enrolled (the plan says so);
when the source's setting is unknown the restore asks for ``open-source-rds-extended-support-disabled``
(on a major version past standard support RDS then upgrades the engine instead of charging), unless
the spec says otherwise.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from ._naming import TAG_MANAGED_BY

__all__ = [
    "RestoreSetting",
    "as_params",
    "describe_settings",
    "instance_restore_settings",
    "instance_source_settings",
    "restore_settings",
    "source_settings",
]

#: the RestoreDBClusterFromSnapshot parameter of each setting the source may carry, and its name in
#: DescribeDBClusters (or DescribeDBClusterSnapshots)
_FROM_SOURCE = {
    "StorageType": "StorageType",
    "ServerlessV2ScalingConfiguration": "ServerlessV2ScalingConfiguration",
    "EngineLifecycleSupport": "EngineLifecycleSupport",
    "Port": "Port",
    "EnableIAMDatabaseAuthentication": "IAMDatabaseAuthenticationEnabled",
    "EnableCloudwatchLogsExports": "EnabledCloudwatchLogsExports",
    "BacktrackWindow": "BacktrackWindow",
    "DeletionProtection": "DeletionProtection",
}
#: the same for ``RestoreDBInstanceFromDBSnapshot`` and ``DescribeDBInstances`` (or ``DescribeDBSnapshots``):
#: storage "Default: io1 if the Iops parameter is specified, otherwise gp3", no Multi-AZ, deletion
#: protection, IAM authentication or log exports, Extended Support enrolled; the port and the IOPS are
#: the original's already [BC-RDS]
_FROM_INSTANCE = {
    "StorageType": "StorageType",
    "MultiAZ": "MultiAZ",
    "EngineLifecycleSupport": "EngineLifecycleSupport",
    "EnableIAMDatabaseAuthentication": "IAMDatabaseAuthenticationEnabled",
    "EnableCloudwatchLogsExports": "EnabledCloudwatchLogsExports",
    "DeletionProtection": "DeletionProtection",
}
NOT_ENROLLED = "open-source-rds-extended-support-disabled"


@attrs.frozen(kw_only=True)
class RestoreSetting:
    """One parameter of the restore, its value, and where the value came from."""

    #: the ``RestoreDBClusterFromSnapshot`` parameter
    param: str
    value: Any
    #: ``"source"`` (carried over), ``"spec"`` (the user's), or ``"rdsshare"`` (chosen, see the module doc)
    origin: str


def source_settings(described: Mapping[str, Any] | None) -> dict[str, Any]:
    """What a restore may carry of the source, from its ``DescribeDBClusters`` (or snapshot) answer.

    Tags are the user's only: never rdsshare's own (``rdsshare:``) nor AWS's (``aws:``).
    """
    if not described:
        return {}
    out = _read(described, _FROM_SOURCE)
    group = described.get("DBClusterParameterGroup")
    if group:
        out["DBClusterParameterGroupName"] = group
    return _with_tags(out, described)


def instance_source_settings(described: Mapping[str, Any] | None) -> dict[str, Any]:
    """What a DB instance restore may carry of the source, from ``DescribeDBInstances`` (or a DB snapshot)."""
    if not described:
        return {}
    out = _read(described, {**_FROM_INSTANCE, "Iops": "Iops", "StorageThroughput": "StorageThroughput"})
    groups = described.get("DBParameterGroups") or ()
    if groups and groups[0].get("DBParameterGroupName"):
        out["DBParameterGroupName"] = groups[0]["DBParameterGroupName"]
    return _with_tags(out, described)


def _read(described: Mapping[str, Any], fields: Mapping[str, str]) -> dict[str, Any]:
    return {p: described[f] for p, f in fields.items() if described.get(f) not in (None, "", [])}


def _with_tags(out: dict[str, Any], described: Mapping[str, Any]) -> dict[str, Any]:
    tags = [
        {"Key": str(t["Key"]), "Value": str(t.get("Value", ""))}
        for t in described.get("TagList") or ()
        if not str(t["Key"]).startswith((TAG_MANAGED_BY.split(":")[0] + ":", "aws:"))
    ]
    if tags:
        out["Tags"] = tags
    return out


def instance_restore_settings(source: Mapping[str, Any] | None, spec: Any) -> tuple[RestoreSetting, ...]:
    """:func:`restore_settings` for a DB instance restore (``InstanceRestoreSpec``)."""
    mine: dict[str, Any] = {
        "StorageType": spec.storage_type,
        "MultiAZ": spec.multi_az,
        "EngineLifecycleSupport": spec.engine_lifecycle_support,
        "Port": spec.port,
        "EnableIAMDatabaseAuthentication": spec.iam_database_authentication,
        "EnableCloudwatchLogsExports": None if spec.log_exports is None else list(spec.log_exports),
        "DeletionProtection": spec.deletion_protection,
        "DBParameterGroupName": spec.parameter_group,
    }
    settings = _merge(source, mine, spec, group="DBParameterGroupName")
    # io1, io2 and gp3 need their IOPS named [BC-RDS StorageType]: the source's, for the storage it gets.
    storage = next((s.value for s in settings if s.param == "StorageType"), None)
    provisioned = [
        RestoreSetting(param=p, value=(source or {})[p], origin="source")
        for p in ("Iops", "StorageThroughput")
        if storage in ("io1", "io2", "gp3") and (source or {}).get(p) and (p == "Iops" or storage == "gp3")
    ]
    return (*settings, *provisioned)


def restore_settings(source: Mapping[str, Any] | None, spec: Any) -> tuple[RestoreSetting, ...]:
    """The restore's settings for ``spec``: each the spec's if it sets it, else the source's, in the
    order of :data:`_FROM_SOURCE`; tags are returned apart (the restore merges them with rdsshare's)."""
    mine: dict[str, Any] = {
        "StorageType": spec.storage_type,
        "ServerlessV2ScalingConfiguration": None
        if spec.serverless_v2_scaling is None
        else {"MinCapacity": spec.serverless_v2_scaling[0], "MaxCapacity": spec.serverless_v2_scaling[1]},
        "EngineLifecycleSupport": spec.engine_lifecycle_support,
        "Port": spec.port,
        "EnableIAMDatabaseAuthentication": spec.iam_database_authentication,
        "EnableCloudwatchLogsExports": None if spec.log_exports is None else list(spec.log_exports),
        "BacktrackWindow": spec.backtrack_window,
        "DeletionProtection": spec.deletion_protection,
        "DBClusterParameterGroupName": spec.cluster_parameter_group,
    }
    return _merge(source, mine, spec, group="DBClusterParameterGroupName")


def _merge(
    source: Mapping[str, Any] | None, mine: Mapping[str, Any], spec: Any, *, group: str
) -> tuple[RestoreSetting, ...]:
    src = dict(source or {})
    name = src.get(group)
    src[group] = (
        spec.parameter_group_map.get(name) if name else None
    )  # by the user's mapping only (names are per account)
    out: list[RestoreSetting] = []
    for param, value in mine.items():
        if value is not None:
            out.append(RestoreSetting(param=param, value=value, origin="spec"))
        elif src.get(param) is not None:
            out.append(RestoreSetting(param=param, value=src[param], origin="source"))
        elif param == "EngineLifecycleSupport":
            out.append(RestoreSetting(param=param, value=NOT_ENROLLED, origin="rdsshare"))
    if spec.copy_tags and src.get("Tags"):
        out.append(RestoreSetting(param="Tags", value=list(src["Tags"]), origin="source"))
    return tuple(out)


def describe_settings(settings: tuple[RestoreSetting, ...]) -> str:
    """The settings as the plan shows them: ``storage aurora-iopt1 (the source's), ...``."""
    whence = {"source": "the source's", "spec": "yours", "rdsshare": "the source's is unknown: not enrolled"}
    parts = []
    for s in settings:
        value = s.value
        if s.param == "ServerlessV2ScalingConfiguration":
            value = f"{value['MinCapacity']}-{value['MaxCapacity']} ACUs"
        elif s.param == "Tags":
            value = ", ".join(f"{t['Key']}={t['Value']}" for t in value)
        elif isinstance(value, list):
            value = ", ".join(map(str, value)) or "none"
        parts.append(f"{s.param}={value} ({whence[s.origin]})")
    return "; ".join(parts)


def as_params(settings: tuple[RestoreSetting, ...]) -> dict[str, Any]:
    """The settings as ``RestoreDBClusterFromSnapshot`` parameters (what the plan keeps for the run)."""
    return {s.param: s.value for s in settings}
