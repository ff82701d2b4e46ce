"""DB instances: create (alone or in a cluster), modify, restore from a DB snapshot, delete.

* Existing identifiers are refused; the ``DBInstances`` quota holds; an instance joins only an
  ``available`` cluster [BC-RDS RestoreDBClusterFromSnapshot] and reaches its storage through the
  cluster's key; a cluster that lost its key takes no instances (:mod:`.lifecycle`).
* A standalone instance's ``EngineVersion`` resolves through the catalog (MariaDB included, which moto
  5.2.5 crashes on); ``StorageEncrypted``/``KmsKeyId`` as for clusters, but unencrypted when not asked.
* ``RestoreDBInstanceFromDBSnapshot``: a shared encrypted snapshot can't be restored directly, copy it
  first [RDS-SHARE]; the snapshot's key must be usable for the caller; ``ManageMasterUserPassword``
  applies to Oracle only (:mod:`.secrets`); the snapshot's engine version must be offered.
* ``EngineLifecycleSupport`` is kept and reported, by default ``open-source-rds-extended-support``; a restore takes
  AWS's defaults, not the source's: storage ``gp3`` (``io1`` with ``Iops``), no Multi-AZ, deletion protection, IAM
  database authentication or log exports, lifecycle enrolled, the default parameter group; the port and IOPS are
  the original's [BC-RDS ``RestoreDBInstanceFromDBSnapshot``: "Default: io1 if the Iops parameter is specified,
  otherwise gp3", "By default, deletion protection isn't enabled", "Default: The same port as the original DB
  instance"]. moto copied them all and dropped the lifecycle.
* Each instance has its own ``DbiResourceId``, "the Region-unique, immutable identifier for the DB instance"
  [BC-RDS ``DBInstance``]; moto gave every instance the same one.
* A rename (``NewDBInstanceIdentifier``) takes effect only with ``ApplyImmediately``, never onto an identifier
  in use, and leaves the instance ``renaming`` until the new name is effective (RDS User Guide,
  USER_RenameInstance: "You cannot use an existing DB instance name when renaming an instance"; "The renamed
  DB instance is not available until the new name becomes effective"). moto renamed at once onto any
  identifier, dropping the instance that had it.
"""

from __future__ import annotations

import copy
import secrets
import string
from collections.abc import Callable
from typing import Any

from moto.rds.exceptions import DBClusterNotFoundError, DBInstanceAlreadyExists, InvalidParameterValue, RDSClientError

from .. import _state
from . import encryption
from .caller import current_caller, current_params
from .clusters import LIFECYCLES, cluster_state_error, rename_to, resolve_version
from .kms import use_for_service
from .lifecycle import KEY_ATTR, OP_ATTR
from .options import ensure_default_group
from .quotas import check_quota
from .secrets import ORACLE_ENGINES, random_password, resolve_secret_key
from .sharing import snapshot_state_error

__all__ = ["create_db_instance", "delete_db_instance", "modify_db_instance", "restore_db_instance_from_db_snapshot"]


def _instance_state_error(database: Any) -> RDSClientError:
    return RDSClientError(
        "InvalidDBInstanceState",
        f"DB instance {database.db_instance_identifier} is {database.status}, but it must be available.",
    )


_RESOURCE_ID_CHARS = string.ascii_uppercase + string.digits


def create_db_instance(original: Callable[..., Any]) -> Callable[..., Any]:
    def create(backend: Any, db_kwargs: Any) -> Any:
        instance_id = str(db_kwargs["db_instance_identifier"]).lower()
        if instance_id in backend.databases:
            raise DBInstanceAlreadyExists()
        region = backend.region_name
        caller = current_caller(backend.account_id, region)
        cluster_id = db_kwargs.get("db_cluster_identifier")
        cluster = None
        if cluster_id:
            cluster = backend.clusters.get(str(cluster_id).lower())
            if cluster is None:
                raise DBClusterNotFoundError(cluster_id)
            if cluster.status != "available":
                raise cluster_state_error(cluster)
        check_quota(backend, "DBInstances")
        kind: encryption.EncryptionType = "none"
        key = None
        if cluster is None:
            engine = str(db_kwargs["engine"])
            db_kwargs["engine_version"] = resolve_version(region, engine, db_kwargs.get("engine_version"))
            kind, key = encryption.choose_for(db_kwargs, caller=caller, region=region)
            if db_kwargs.get("manage_master_user_password"):
                resolve_secret_key(db_kwargs, caller, region)
        lifecycle = str(current_params().get("EngineLifecycleSupport") or LIFECYCLES[0])
        if lifecycle not in LIFECYCLES:
            raise InvalidParameterValue(f"Invalid EngineLifecycleSupport: {lifecycle}")
        database = original(backend, db_kwargs)
        database.dbi_resource_id = "db-" + "".join(secrets.choice(_RESOURCE_ID_CHARS) for _ in range(26))
        if cluster is None:
            database.engine_lifecycle_support = lifecycle
        if cluster is None:
            encryption.apply(database, kind, key, region=region)
            ensure_default_group(backend, database)
        else:
            encryption.share_key(database, cluster)
        _state.current().clock.begin(database, "creating")
        return database

    return create


def modify_db_instance(original: Callable[..., Any]) -> Callable[..., Any]:
    def modify(backend: Any, db_instance_identifier: str, db_kwargs: Any) -> Any:
        database = backend.databases.get(str(db_instance_identifier).lower())
        if database is not None and database.status != "available":
            raise _instance_state_error(database)
        if database is not None and db_kwargs.get("manage_master_user_password"):
            if getattr(database, "manage_master_user_password", False):
                db_kwargs.pop("manage_master_user_password")  # already managed: nothing changes
                db_kwargs.pop("master_user_secret_kms_key_id", None)
            else:
                region = backend.region_name
                caller = current_caller(backend.account_id, region)
                resolve_secret_key(db_kwargs, caller, region)
        renamed = database is not None and rename_to(
            backend.databases, str(db_instance_identifier).lower(), db_kwargs,
            param="new_db_instance_identifier", code="DBInstanceAlreadyExists", noun="DB instance",
        )  # fmt: skip
        result = original(backend, db_instance_identifier, db_kwargs)
        _state.current().clock.begin(result, "renaming" if renamed else "modifying")
        return result

    return modify


def restore_db_instance_from_db_snapshot(original: Callable[..., Any]) -> Callable[..., Any]:
    """moto's body is replaced: the new instance is made by the (patched) ``create_db_instance``."""
    del original

    def restore(backend: Any, from_snapshot_id: str, overrides: Any) -> Any:
        snapshot = backend.describe_db_snapshots(None, from_snapshot_id)[0]
        if str(overrides["db_instance_identifier"]).lower() in backend.databases:
            raise DBInstanceAlreadyExists()
        if snapshot.status != "available":
            raise snapshot_state_error("db", snapshot, "restore from")
        foreign = snapshot.account_id != backend.account_id
        if foreign and snapshot.encrypted:
            raise InvalidParameterValue(
                f"DB snapshot {snapshot.arn} is shared and encrypted; it can't be restored "
                "directly. Copy it, then restore the copy."
            )
        region = backend.region_name
        resolve_version(region, str(snapshot.engine), str(snapshot.engine_version))
        caller = current_caller(backend.account_id, region)
        if snapshot.encrypted and snapshot.kms_key_id:
            use_for_service(str(snapshot.kms_key_id), caller=caller, region=region)
        props = _instance_props(snapshot, overrides, foreign)
        if props.get("manage_master_user_password") and str(snapshot.engine) not in ORACLE_ENGINES:
            props["manage_master_user_password"] = False  # "Applies to RDS for Oracle only"
            props.pop("master_user_secret_kms_key_id", None)
        if not props.get("manage_master_user_password") and not props.get("master_user_password"):
            props["master_user_password"] = random_password()
        return backend.create_db_instance(props)

    return restore


def _instance_props(snapshot: Any, overrides: Any, foreign: bool) -> dict[str, Any]:
    """Properties of an instance restored from ``snapshot``."""
    original = snapshot.database
    props: dict[str, Any] = {}
    skipped = {
        "backend",
        "db_parameter_group_name",
        "vpc_security_group_ids",
        "max_allocated_storage",
        "db_subnet_group",
        "master_user_secret",
        "manage_master_user_password",
        "status",
        "storage_encryption_type",
        OP_ATTR.lstrip("_"),
        KEY_ATTR.lstrip("_"),
    }
    for key, value in vars(original).items():
        name = key[1:] if key.startswith("_") else key
        if name not in skipped:
            props[name] = copy.copy(value)
    props["kms_key_id"] = snapshot.kms_key_id if snapshot.encrypted else None
    props["storage_encrypted"] = bool(snapshot.encrypted)
    if not original.option_group_supplied or foreign:
        props.pop("option_group_name", None)
    if foreign:
        props.pop("db_subnet_group_name", None)
    if "allocated_storage" in overrides and overrides["allocated_storage"] < snapshot.allocated_storage:
        raise InvalidParameterValue("The allocated storage size can't be less than the source snapshot or backup size.")
    # AWS's defaults, not the source's (module doc); IOPS come from the backup, tags from the source
    # instance only when the restore names none.
    props["storage_type"] = "io1" if overrides.get("iops") else "gp3"
    props["multi_az"] = props["deletion_protection"] = props["enable_iam_database_authentication"] = False
    props["enabled_cloudwatch_logs_exports"] = []
    for key, value in overrides.items():
        if value and key != "db_snapshot_identifier":
            props[key] = value
    return props


def delete_db_instance(original: Callable[..., Any]) -> Callable[..., Any]:
    def delete(backend: Any, *args: Any, **kwargs: Any) -> Any:
        database = original(backend, *args, **kwargs)
        if not getattr(database, "db_cluster_identifier", None):
            encryption.release(database)
        return database

    return delete
