"""Snapshots: take one of a cluster or instance, copy one (in-account, cross-account, cross-region).

* A manual snapshot needs its database ``available`` (one that lost its key is not) and room in the
  manual snapshot quota; it is ``creating`` for a while; it has its database's ``StorageEncryptionType``
  and key [BC-RDS], (:mod:`.quotas`, :mod:`.lifecycle`).
* A copy needs the source ``available``; a shared encrypted source, or one in another region, needs a
  ``KmsKeyId`` (docs/sources/aws-rules.md §4, §7); a ``KmsKeyId`` on an unencrypted DB *cluster* snapshot is an error,
  while on a DB snapshot it encrypts the copy [BC-RDS CopyDBClusterSnapshot/CopyDBSnapshot.KmsKeyId]; RDS
  must be able to use both keys for the caller (:mod:`.kms`). The copy is ``sse-kms`` under its key, or
  keeps the source's encryption. At most 5 cluster snapshot copies (20 DB snapshot copies) are in progress
  per destination region [AUR-COPY]. Copies report ``SourceDBClusterSnapshotArn`` (moto does not).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from moto.rds.exceptions import (
    DBClusterNotFoundError,
    DBClusterSnapshotAlreadyExistsError,
    DBSnapshotAlreadyExistsError,
    InvalidParameterValue,
    RDSClientError,
)

from .. import _state
from . import encryption
from .caller import current_caller
from .clusters import cluster_state_error
from .kms import find_key, use_for_service
from .quotas import DB_SNAPSHOT_COPY_CONCURRENCY, check_copy_concurrency, check_quota
from .sharing import snapshot_state_error

__all__ = ["copy_db_cluster_snapshot", "copy_db_snapshot", "create_db_cluster_snapshot", "create_db_snapshot"]


def _inherit(snapshot: Any, source: Any) -> None:
    """A snapshot has its database's (or source snapshot's) encryption type and key."""
    kind = encryption.type_of(source)
    key = find_key(str(source.kms_key_id), "", "") if kind == "sse-kms" and source.kms_key_id else None
    encryption.apply(snapshot, kind, key, region=str(snapshot.region), grant=False)


def create_db_cluster_snapshot(original: Callable[..., Any]) -> Callable[..., Any]:
    def create(
        backend: Any,
        db_cluster_identifier: str,
        db_cluster_snapshot_identifier: str,
        snapshot_type: str = "manual",
        tags: Any = None,
        **extra: Any,
    ) -> Any:
        cluster = backend.clusters.get(str(db_cluster_identifier).lower())
        if cluster is None:
            raise DBClusterNotFoundError(db_cluster_identifier)
        manual = snapshot_type == "manual"
        if manual:
            if str(db_cluster_snapshot_identifier).lower() in backend.cluster_snapshots:
                raise DBClusterSnapshotAlreadyExistsError(db_cluster_snapshot_identifier)
            if cluster.status != "available":
                raise cluster_state_error(cluster)
            check_quota(backend, "ManualClusterSnapshots")
        snapshot = original(backend, db_cluster_identifier, db_cluster_snapshot_identifier, snapshot_type, tags)
        _inherit(snapshot, cluster)
        if manual:
            _state.current().clock.begin(snapshot, "creating")
        return snapshot

    return create


def create_db_snapshot(original: Callable[..., Any]) -> Callable[..., Any]:
    def create(
        backend: Any,
        db_instance_identifier: str,
        db_snapshot_identifier: str,
        snapshot_type: str = "manual",
        tags: Any = None,
        original_created_at: Any = None,
        kms_key_id: str | None = None,
        **extra: Any,
    ) -> Any:
        manual = snapshot_type == "manual"
        database = backend.databases.get(db_instance_identifier)
        if manual:
            if db_snapshot_identifier in backend.database_snapshots:
                raise DBSnapshotAlreadyExistsError(db_snapshot_identifier)
            if database is not None and database.status != "available":
                raise RDSClientError(
                    "InvalidDBInstanceState", f"Instance {db_instance_identifier} is not in available state."
                )
            check_quota(backend, "ManualSnapshots")
        snapshot = original(
            backend,
            db_instance_identifier,
            db_snapshot_identifier,
            snapshot_type,
            tags,
            original_created_at,
            kms_key_id,
        )
        if database is not None:
            _inherit(snapshot, database)
        if manual:
            _state.current().clock.begin(snapshot, "creating")
        return snapshot

    return create


def _copy_key(backend: Any, source: Any, kms_key_id: str | None) -> Any | None:
    """Check both keys of a copy; return the destination key (``None``: the copy keeps the source's)."""
    foreign = source.account_id != backend.account_id
    cross_region = source.region != backend.region_name
    if source.encrypted and not kms_key_id and (foreign or cross_region):
        raise InvalidParameterValue(
            "Must specify new KMS key for cross region encrypted snapshot copy"
            if cross_region
            else f"KmsKeyId must be specified to copy an encrypted snapshot shared from another account ({source.arn})."
        )
    caller = current_caller(backend.account_id, backend.region_name)
    if source.encrypted and source.kms_key_id:
        use_for_service(str(source.kms_key_id), caller=caller, region=str(source.region))
    if kms_key_id:
        return use_for_service(kms_key_id, caller=caller, region=backend.region_name)
    return None


def _finish_copy(snapshot: Any, source: Any, key: Any | None) -> None:
    if key is not None:
        encryption.apply(snapshot, "sse-kms", key, region=str(snapshot.region), grant=False)
    else:
        _inherit(snapshot, source)
    _state.current().clock.begin(snapshot, "copying")


def copy_db_cluster_snapshot(original: Callable[..., Any]) -> Callable[..., Any]:
    def copy(
        backend: Any,
        source_db_cluster_snapshot_identifier: str,
        target_db_cluster_snapshot_identifier: str,
        kms_key_id: str | None = None,
        copy_tags: bool = False,
        tags: Any = None,
        **extra: Any,
    ) -> Any:
        if str(target_db_cluster_snapshot_identifier).lower() in backend.cluster_snapshots:
            raise DBClusterSnapshotAlreadyExistsError(target_db_cluster_snapshot_identifier)
        source = backend.get_db_cluster_snapshot(source_db_cluster_snapshot_identifier)
        if source.status != "available":
            raise snapshot_state_error("cluster", source, "copy")
        if kms_key_id and encryption.type_of(source) == "none":
            # "If you copy an unencrypted DB cluster snapshot and specify a value for the KmsKeyId
            # parameter, an error is returned." [BC-RDS CopyDBClusterSnapshot.KmsKeyId]
            raise InvalidParameterValue(
                f"KmsKeyId can't be specified when copying an unencrypted DB cluster snapshot: {source.arn} "
                "isn't encrypted."
            )
        key = _copy_key(backend, source, kms_key_id)
        check_quota(backend, "ManualClusterSnapshots")
        check_copy_concurrency(backend.cluster_snapshots, _state.current().copy_concurrency_quota)
        snapshot = original(
            backend,
            source_db_cluster_snapshot_identifier,
            target_db_cluster_snapshot_identifier,
            kms_key_id=str(key.arn) if key is not None else None,
            copy_tags=copy_tags,
            tags=tags,
            **extra,
        )
        snapshot.source_db_cluster_snapshot_arn = source.arn
        _finish_copy(snapshot, source, key)
        return snapshot

    return copy


def copy_db_snapshot(original: Callable[..., Any]) -> Callable[..., Any]:
    def copy(
        backend: Any,
        source_db_snapshot_identifier: str,
        target_db_snapshot_identifier: str,
        kms_key_id: str | None = None,
        tags: Any = None,
        copy_tags: bool | None = False,
        **extra: Any,
    ) -> Any:
        if target_db_snapshot_identifier in backend.database_snapshots:
            raise DBSnapshotAlreadyExistsError(target_db_snapshot_identifier)
        source = backend.get_db_snapshot(source_db_snapshot_identifier)
        if source.status != "available":
            raise snapshot_state_error("db", source, "copy")
        key = _copy_key(backend, source, kms_key_id)
        check_quota(backend, "ManualSnapshots")
        check_copy_concurrency(backend.database_snapshots, DB_SNAPSHOT_COPY_CONCURRENCY)
        snapshot = original(
            backend,
            source_db_snapshot_identifier,
            target_db_snapshot_identifier,
            kms_key_id=str(key.arn) if key is not None else None,
            tags=tags,
            copy_tags=copy_tags,
            **extra,
        )
        snapshot.source_db_snapshot_identifier = source.arn
        if source.region != backend.region_name:
            snapshot.source_region = source.region
        _finish_copy(snapshot, source, key)
        return snapshot

    return copy
