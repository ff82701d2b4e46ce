"""The two kinds of RDS snapshot rdsshare moves: Aurora DB cluster snapshots and RDS DB snapshots.

They have the same life cycle (take, copy, share through the ``restore`` attribute) under
different API names; one descriptor per kind lets the same classes handle both.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import attrs

__all__ = ["CLUSTER", "INSTANCE", "EncryptionType", "SnapshotKind", "describe_encryption", "encryption_type"]

EncryptionType = Literal["none", "sse-rds", "sse-kms"]


def encryption_type(resource: Mapping[str, Any], encrypted_field: str = "StorageEncrypted") -> EncryptionType:
    """``StorageEncryptionType`` of a cluster, instance or snapshot as RDS describes it.

    Since 2026-02-18 new Aurora clusters are encrypted with an AWS owned key: ``sse-rds`` with
    ``StorageEncrypted`` false (botocore model, ``DBCluster.StorageEncryptionType``), so the boolean
    alone calls them unencrypted. Answers from before the field existed fall back to the boolean.
    """
    found = resource.get("StorageEncryptionType")
    if found in ("none", "sse-rds", "sse-kms"):
        return found  # type: ignore[no-any-return]
    return "sse-kms" if resource.get(encrypted_field) else "none"


def describe_encryption(kind: EncryptionType, key: str | None = None) -> str:
    """How a plan or event says it: ``under <key>``, ``with an AWS owned key (sse-rds)``, ``unencrypted``."""
    if kind == "sse-kms":
        return f"under {key}" if key else "under a KMS key"
    if kind == "sse-rds":
        return "with an AWS owned key (sse-rds)"
    return "unencrypted"


@attrs.frozen(kw_only=True, eq=False, repr=False)
class SnapshotKind:
    """API names and fields for one kind of snapshot (two instances, compared by identity)."""

    def __repr__(self) -> str:
        return f"SnapshotKind({self.name})"

    name: Literal["cluster", "instance"]
    noun: str
    id_field: str
    arn_field: str
    list_field: str
    encrypted_field: str
    source_field: str  # the cluster/instance a snapshot was taken of
    source_param: str  # CreateDB*Snapshot's parameter naming it
    describe: str
    create: str
    copy: str
    copy_source_param: str
    copy_target_param: str
    describe_attributes: str
    attributes_result: str
    attributes_field: str
    modify_attribute: str
    not_found: str
    already_exists: str
    busy_codes: tuple[str, ...]
    arn_type: str
    identifier_kind: str
    id_filter: str  # the describe filter on snapshot identifiers (takes several values)
    quota_name: str  # DescribeAccountAttributes' name of the manual snapshot quota
    id_limit: int  # the longest identifier RDS accepts for this kind of snapshot

    def ident(self, snap: Mapping[str, Any]) -> str:
        """The snapshot's identifier."""
        return str(snap[self.id_field])

    def arn(self, snap: Mapping[str, Any]) -> str:
        """The snapshot's ARN."""
        return str(snap[self.arn_field])

    def encrypted(self, snap: Mapping[str, Any]) -> bool:
        """Whether the snapshot is encrypted under a KMS key (``sse-kms``): what key work is about."""
        return encryption_type(snap, self.encrypted_field) == "sse-kms"


CLUSTER = SnapshotKind(
    name="cluster",
    noun="DB cluster snapshot",
    id_field="DBClusterSnapshotIdentifier",
    arn_field="DBClusterSnapshotArn",
    list_field="DBClusterSnapshots",
    encrypted_field="StorageEncrypted",
    source_field="DBClusterIdentifier",
    source_param="DBClusterIdentifier",
    describe="describe_db_cluster_snapshots",
    create="create_db_cluster_snapshot",
    copy="copy_db_cluster_snapshot",
    copy_source_param="SourceDBClusterSnapshotIdentifier",
    copy_target_param="TargetDBClusterSnapshotIdentifier",
    describe_attributes="describe_db_cluster_snapshot_attributes",
    attributes_result="DBClusterSnapshotAttributesResult",
    attributes_field="DBClusterSnapshotAttributes",
    modify_attribute="modify_db_cluster_snapshot_attribute",
    not_found="DBClusterSnapshotNotFoundFault",
    already_exists="DBClusterSnapshotAlreadyExistsFault",
    busy_codes=("InvalidDBClusterSnapshotStateFault", "InvalidDBClusterStateFault"),
    arn_type="cluster-snapshot",
    identifier_kind="cluster-snapshot",
    id_filter="db-cluster-snapshot-id",
    quota_name="ManualClusterSnapshots",
    id_limit=63,
)

INSTANCE = SnapshotKind(
    name="instance",
    noun="DB snapshot",
    id_field="DBSnapshotIdentifier",
    arn_field="DBSnapshotArn",
    list_field="DBSnapshots",
    encrypted_field="Encrypted",
    source_field="DBInstanceIdentifier",
    source_param="DBInstanceIdentifier",
    describe="describe_db_snapshots",
    create="create_db_snapshot",
    copy="copy_db_snapshot",
    copy_source_param="SourceDBSnapshotIdentifier",
    copy_target_param="TargetDBSnapshotIdentifier",
    describe_attributes="describe_db_snapshot_attributes",
    attributes_result="DBSnapshotAttributesResult",
    attributes_field="DBSnapshotAttributes",
    modify_attribute="modify_db_snapshot_attribute",
    not_found="DBSnapshotNotFound",
    already_exists="DBSnapshotAlreadyExists",
    busy_codes=("InvalidDBSnapshotState", "InvalidDBSnapshotStateFault", "InvalidDBInstanceState"),
    arn_type="snapshot",
    identifier_kind="snapshot",
    id_filter="db-snapshot-id",
    quota_name="ManualSnapshots",
    id_limit=255,
)
