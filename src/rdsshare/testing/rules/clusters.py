"""Aurora clusters: create, modify, restore from a snapshot, delete.

* Existing identifiers are refused (moto would replace the cluster); the ``DBClusters`` quota holds
  (:mod:`.quotas`); an omitted or major ``EngineVersion`` resolves through the catalog, an unknown one is
  refused (:mod:`.engines`).
* Encryption follows :mod:`.encryption` (``sse-rds`` by default since 2026-02-18); a ``KmsKeyId`` or the
  default ``aws/rds`` key must be usable by RDS for the caller (:mod:`.kms`).
* Only ``available`` clusters are modified or take instances and snapshots [BC-RDS].
* A rename (``NewDBClusterIdentifier``) takes effect only with ``ApplyImmediately`` (otherwise in the next
  maintenance window), never onto an identifier in use (``DBClusterAlreadyExistsFault``), keeps the cluster's
  instances as its members, and leaves the cluster ``renaming`` for a while [BC-RDS ``ModifyDBCluster``;
  Aurora User Guide, "Renaming an Aurora DB cluster": "You can't use an existing DB cluster name"; "the
  renamed DB cluster isn't available until the new name becomes effective"]. moto renamed at once, onto any
  identifier (silently dropping the cluster that had it), and lost the members.
* Endpoints are ``<cluster>.cluster-<id>.<region>.rds.amazonaws.com`` (and ``cluster-ro-`` for the reader) with
  one ``<id>`` per account and region, so a cluster renamed to a name takes that name's endpoints (Aurora User
  Guide, Aurora.Overview.Endpoints, whose examples of one account all share ``c7tj4example``); moto drew a
  new ``<id>`` for every cluster.
* Aurora storage is ``aurora`` (Standard, the default) or ``aurora-iopt1`` (I/O-Optimized); moto called it
  ``gp2`` and crashed on ``aurora-iopt1``. ``EngineLifecycleSupport`` is kept and reported, by default
  ``open-source-rds-extended-support`` (enrolled in Extended Support) [BC-RDS ``CreateDBCluster``].
* A restore does not take the source's settings: storage ``aurora``, lifecycle enrolled, backtrack 0, no IAM
  database authentication, no log exports, no Serverless v2 scaling, no deletion protection, no tags, the
  engine's default parameter group, unless the request says otherwise; only the port is the original
  cluster's [BC-RDS ``RestoreDBClusterFromSnapshot``: "Default: aurora", "Default: 0", "By default, ...
  isn't enabled", "Default: The same port as the original DB cluster"]. moto copied them all.
* ``RestoreDBClusterFromSnapshot``: the snapshot must be ``available`` and its engine version offered in
  the region; the engine stays the snapshot's; ``KmsKeyId`` encrypts under that key, otherwise the cluster
  keeps the snapshot's key (and so depends on it) [BC-RDS]; placement and parameters come from the
  restoring account; there is no ``ManageMasterUserPassword``, so the cluster keeps the snapshot's
  password and has no secret (docs/sources/aws-rules.md §6). moto crashed restoring a managed-password cluster.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from moto.rds.exceptions import (
    DBClusterNotFoundError,
    InvalidDBClusterStateFault,
    InvalidParameterCombination,
    InvalidParameterValue,
    RDSClientError,
)

from .. import _state
from . import encryption
from .caller import current_caller, current_params
from .engines import UnknownVersionError
from .kms import use_for_service
from .lifecycle import KEY_ATTR, OP_ATTR
from .quotas import check_quota
from .secrets import random_password, resolve_secret_key
from .sharing import snapshot_state_error

__all__ = [
    "cluster_state_error",
    "create_db_cluster",
    "delete_db_cluster",
    "endpoint_id",
    "get_cfg",
    "modify_db_cluster",
    "rename_to",
    "resolve_version",
    "restore_db_cluster_from_snapshot",
]

# Engines a cluster snapshot can be restored as: the same engine, and Aurora MySQL 1 -> aurora-mysql.
_COMPATIBLE_ENGINES = {"aurora": {"aurora", "aurora-mysql"}}


def cluster_state_error(cluster: Any) -> RDSClientError:
    """A cluster that is not ``available`` refuses the request."""
    return InvalidDBClusterStateFault(
        f"DBCluster {cluster.db_cluster_identifier} is in {cluster.status} state "
        "but expected it to be one of available."
    )


def resolve_version(region: str, engine: str, version: str | None) -> str | None:
    """The catalog's version for a create or restore (None for engines the catalog does not know)."""
    catalog = _state.current().catalog
    if engine not in catalog.engines():
        return version
    try:
        return catalog.resolve(region, engine, version)
    except UnknownVersionError as exc:
        raise InvalidParameterCombination(str(exc)) from exc


def create_db_cluster(original: Callable[..., Any]) -> Callable[..., Any]:
    def create(backend: Any, kwargs: Any) -> Any:
        cluster_id = str(kwargs["db_cluster_identifier"]).lower()
        if cluster_id in backend.clusters:
            raise RDSClientError("DBClusterAlreadyExistsFault", "DB Cluster already exists")
        check_quota(backend, "DBClusters")
        region = backend.region_name
        caller = current_caller(backend.account_id, region)
        kwargs["engine_version"] = resolve_version(region, str(kwargs["engine"]), kwargs.get("engine_version"))
        kind, key = encryption.choose_for(kwargs, caller=caller, region=region)
        if kwargs.get("manage_master_user_password"):
            resolve_secret_key(kwargs, caller, region)
        storage, lifecycle = _storage_and_lifecycle(kwargs)
        cluster = original(backend, kwargs)
        if storage is not None:
            cluster.storage_type = storage
        cluster.engine_lifecycle_support = lifecycle
        cluster.url_identifier = endpoint_id(backend.account_id, region)
        encryption.apply(cluster, kind, key, region=region)
        _state.current().clock.begin(cluster, "creating")
        return cluster

    return create


def endpoint_id(account_id: str, region: str) -> str:
    """The ``cluster-<id>`` part of an account's cluster endpoints in a region (see the module doc)."""
    return hashlib.sha256(f"{account_id}:{region}".encode()).hexdigest()[:12]


AURORA_STORAGE = ("aurora", "aurora-iopt1")
LIFECYCLES = ("open-source-rds-extended-support", "open-source-rds-extended-support-disabled")


def _storage_and_lifecycle(kwargs: Any) -> tuple[str | None, str]:
    """An Aurora cluster's storage type (None for other engines) and engine lifecycle, checked."""
    params = current_params()
    lifecycle = str(kwargs.get("engine_lifecycle_support") or params.get("EngineLifecycleSupport") or LIFECYCLES[0])
    if lifecycle not in LIFECYCLES:
        raise InvalidParameterValue(f"Invalid EngineLifecycleSupport: {lifecycle}")
    if not str(kwargs.get("engine", "")).startswith("aurora"):
        return None, lifecycle
    storage = str(kwargs.get("storage_type") or params.get("StorageType") or "aurora")
    if storage not in AURORA_STORAGE:
        raise InvalidParameterValue(f"Invalid storage type for Aurora: {storage}; use aurora or aurora-iopt1")
    kwargs["storage_type"] = "gp2"  # what moto's own storage table knows; set right after
    return storage, lifecycle


def modify_db_cluster(original: Callable[..., Any]) -> Callable[..., Any]:
    def modify(backend: Any, kwargs: Any) -> Any:
        cluster_id = kwargs["db_cluster_identifier"]
        cluster = backend.clusters.get(cluster_id)
        if cluster is None:
            raise DBClusterNotFoundError(cluster_id)
        if cluster.status != "available":
            raise cluster_state_error(cluster)
        if kwargs.get("master_user_secret_kms_key_id"):
            if not kwargs.get("manage_master_user_password"):
                raise InvalidParameterCombination(
                    "MasterUserSecretKmsKeyId can only be set when turning on ManageMasterUserPassword."
                )
            if cluster.manage_master_user_password:
                raise InvalidParameterCombination("The KMS key of a managed master user secret can't be changed.")
        if kwargs.get("manage_master_user_password") and cluster.manage_master_user_password:
            kwargs.pop("manage_master_user_password")  # already managed: nothing changes (module doc)
        renamed = rename_to(
            backend.clusters, cluster_id, kwargs,
            param="new_db_cluster_identifier", code="DBClusterAlreadyExistsFault", noun="DB cluster",
        )  # fmt: skip
        region = backend.region_name
        caller = current_caller(backend.account_id, region)
        if kwargs.get("manage_master_user_password"):
            resolve_secret_key(kwargs, caller, region)
        result = original(backend, kwargs)
        current = backend.clusters.get(renamed or cluster_id, cluster)
        if renamed:
            for database in backend.databases.values():  # its instances stay its members
                if getattr(database, "db_cluster_identifier", None) == cluster_id:
                    database.db_cluster_identifier = renamed
        _state.current().clock.begin(current, "renaming" if renamed else "modifying")
        result.status = current.status
        return result

    return modify


def rename_to(store: Any, ident: str, kwargs: Any, *, param: str, code: str, noun: str) -> str | None:
    """The identifier a modify renames ``ident`` to now (None: no rename now; see the module doc).

    ``store`` holds the databases of that kind by identifier; ``param`` is moto's name of the new identifier.
    """
    new_id = kwargs.pop(param, None)
    if not new_id or str(new_id).lower() == ident:
        return None
    new_id = str(new_id).lower()
    if new_id in store:
        raise RDSClientError(code, f"{noun} {new_id} already exists")
    if str(kwargs.get("apply_immediately", "false")).lower() != "true":
        return None  # pending until the next maintenance window
    kwargs[param] = new_id
    return new_id


def restore_db_cluster_from_snapshot(original: Callable[..., Any]) -> Callable[..., Any]:
    """``RDSBackend.restore_db_cluster_from_snapshot`` (see the module doc); moto's body is replaced.

    The new cluster is made by the (patched) ``create_db_cluster``, so it gets the same encryption,
    grant, quota and progress rules as any other.
    """
    del original

    def restore(backend: Any, from_snapshot_id: str, overrides: Any) -> Any:
        snapshot = backend.describe_db_cluster_snapshots(None, from_snapshot_id)[0]
        cluster_id = str(overrides["db_cluster_identifier"]).lower()
        if cluster_id in backend.clusters:
            raise RDSClientError("DBClusterAlreadyExistsFault", "DB Cluster already exists")
        if snapshot.status != "available":
            raise snapshot_state_error("cluster", snapshot, "restore from")
        engine = overrides.get("engine") or snapshot.engine
        if engine not in _COMPATIBLE_ENGINES.get(snapshot.engine, {snapshot.engine}):
            raise InvalidParameterCombination(
                f"The engine {engine} isn't compatible with the engine {snapshot.engine} of "
                f"DB cluster snapshot {snapshot.arn}."
            )
        region = backend.region_name
        version = resolve_version(
            region, str(snapshot.engine), overrides.get("engine_version") or snapshot.engine_version
        )
        caller = current_caller(backend.account_id, region)
        key = _restore_key(snapshot, overrides.get("kms_key_id"), caller, region)
        cfg = snapshot.cluster.get_cfg()
        # Placement and parameters come from the restoring account, not the snapshot's owner.
        for name in (
            "db_subnet_group_name",
            "vpc_security_group_ids",
            "availability_zones",
            "global_cluster_identifier",
            "replication_source_identifier",
            "serverless_v2_scaling_configuration",
        ):
            cfg[name] = None
        cfg["deletion_protection"] = False
        for name in ("storage_type", "engine_lifecycle_support", "enabled_cloudwatch_logs_exports", "tags"):
            cfg[name] = None  # AWS's defaults, not the source's (module doc)
        cfg["backtrack_window"] = 0
        cfg["iam_database_authentication_enabled"] = False
        cfg["db_cluster_parameter_group_name"] = None
        cfg["manage_master_user_password"] = False
        cfg.pop("master_user_secret", None)
        cfg.pop("master_user_secret_kms_key_id", None)
        cfg.pop("storage_encryption_type", None)
        if not cfg.get("master_user_password"):
            cfg["master_user_password"] = random_password()
        for name, value in overrides.items():
            if value and name not in ("kms_key_id", "snapshot_identifier"):
                cfg[name] = value
        cfg["engine_version"] = version
        cfg["kms_key_id"] = str(key.arn) if key is not None else None
        cfg["storage_encrypted"] = key is not None
        return backend.create_db_cluster(cfg)

    return restore


def _restore_key(snapshot: Any, kms_key_id: str | None, caller: Any, region: str) -> Any | None:
    """The restored cluster's key; RDS must be able to read the snapshot's key for the caller."""
    source = None
    if encryption.type_of(snapshot) == "sse-kms" and snapshot.kms_key_id:
        source = use_for_service(str(snapshot.kms_key_id), caller=caller, region=region)
    if kms_key_id:
        return use_for_service(kms_key_id, caller=caller, region=region)
    return source


def delete_db_cluster(original: Callable[..., Any]) -> Callable[..., Any]:
    """Deleting a cluster also removes its automated snapshots, unless ``DeleteAutomatedBackups`` is
    false: "The default is to remove automated backups immediately after the DB cluster is deleted"
    [BC-RDS]. moto kept them, so a cluster restored later under the same id collided with its
    predecessor's ``rds:<id>-<minute>`` snapshot."""

    def delete(backend: Any, cluster_identifier: str, snapshot_name: str | None = None) -> Any:
        cluster = original(backend, cluster_identifier, snapshot_name)
        encryption.release(cluster)
        keep = str(current_params().get("DeleteAutomatedBackups", "true")).lower() == "false"
        if not keep:
            for name, snap in list(backend.cluster_snapshots.items()):
                if snap.snapshot_type == "automated" and snap.db_cluster_identifier == cluster_identifier:
                    del backend.cluster_snapshots[name]
        return cluster

    return delete


def get_cfg(self: Any) -> dict[str, Any]:
    """``DBCluster.get_cfg`` without moto's ``KeyError: '_master_user_password'``."""
    cfg: dict[str, Any] = dict(vars(self))
    cfg.pop("backend", None)
    cfg.pop(OP_ATTR, None)
    cfg.pop(KEY_ATTR, None)
    cfg["master_user_password"] = cfg.pop("_master_user_password", None)
    cfg["enable_http_endpoint"] = cfg.pop("_enable_http_endpoint", None)
    cfg["vpc_security_group_ids"] = cfg.pop("_vpc_security_group_ids", None)
    return cfg
