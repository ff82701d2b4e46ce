"""RDS rules the test bed adds on top of moto 5.2.5, each citing its source in aws-rules.md.

Every rule patches a moto class (``RDSBackend``, ``RDSResponse``, model classes); the same patches
serve in-process and server mode because ``ThreadedMotoServer`` runs in this Python process.

Rule numbers follow the test bed's brief; the tag in brackets is the source in aws-rules.md.

1. Shared snapshots resolve by ARN for copy, restore, describe and describe-attributes only for
   accounts in the ``restore`` attribute; ``IncludeShared``/``SnapshotType="shared"`` list them as
   ``shared``; an ARN never falls back to a same-named snapshot of the caller [AUR-SHARE], [RDS-SHARE],
   [BC-RDS]. Only the owner may modify the attribute.
2. Encrypted clusters/instances without ``KmsKeyId`` use the real ``aws/rds`` key [AUR-KEYS].
3. Keys of snapshots and ``KmsKeyId`` values are checked by :func:`require_key_for_rds` (key state,
   region, key policy) [AUR-SHARE], [AUR-ENCSHARE], [KMS-XACCT].
4. (KMS lockout check: see ``_kms_rules``.)
5. ``restore`` attribute values: 12-digit ids or ``all`` (never on encrypted snapshots), no duplicates,
   at most 20, manual snapshots only [AUR-SHARE], [BC-RDS ModifyDBClusterSnapshotAttribute].
6. ``KmsKeyId`` accepts key id, key ARN, alias name, alias ARN and is reported as the key ARN [BC-RDS].
7. Copy of an unencrypted cluster snapshot with ``KmsKeyId`` is refused; restore with ``KmsKeyId``
   encrypts under it; existing ids are refused; restores keep the snapshot's engine [BC-RDS].
8. Manual snapshot quota and concurrent copy quota (``SnapshotQuotaExceeded``) [AUR-COPY], aws-rules.md
   §2 Quotas, §4; ``DescribeAccountAttributes`` reports both manual snapshot quotas with their usage
   (``ManualClusterSnapshots``, ``ManualSnapshots``), which moto does not implement [BC-RDS
   DescribeAccountAttributes].
9. Managed master user secrets: random password, no crash on restore, secret in the restoring account
   [AUR-SM], aws-rules.md §6.

Busy resources (aws-rules.md §4, [BC-RDS]): snapshots must be ``available`` to be copied, shared or
restored; clusters must be ``available`` to take instances, be modified or be snapshotted.
"""

from __future__ import annotations

import copy
import inspect
import json
import logging
import re
import secrets
import string
from collections.abc import Callable, Iterable, Iterator, MutableMapping
from typing import Any, Protocol

from moto.rds.exceptions import (
    DBClusterNotFoundError,
    DBClusterSnapshotAlreadyExistsError,
    DBClusterSnapshotNotFoundError,
    DBInstanceAlreadyExists,
    DBSnapshotAlreadyExistsError,
    DBSnapshotNotFoundFault,
    InvalidDBClusterSnapshotStateFault,
    InvalidDBClusterStateFault,
    InvalidParameterCombination,
    InvalidParameterValue,
    RDSClientError,
    SharedSnapshotQuotaExceeded,
)
from moto.rds.models import (
    DBCluster,
    DBClusterSnapshot,
    DBSnapshot,
    MasterUserSecret,
    RDSBackend,
    SnapshotAttributesMixin,
    rds_backends,
)
from moto.rds.responses import RDSResponse
from moto.rds.utils import split_arn

from ._clock import OP_ATTR, Clock
from ._context import Caller, current_caller
from ._kms_rules import (
    RDS_DECRYPT_ACTIONS,
    RDS_ENCRYPT_ACTIONS,
    default_rds_key,
    require_key_for_rds,
)
from ._patching import Patcher

_log = logging.getLogger("rdsshare.testing")

MAX_SHARED_ACCOUNTS = 20
"""Accounts a manual snapshot can be shared with [AUR-SHARE]."""

DB_SNAPSHOT_COPY_CONCURRENCY = 20
"""Concurrent DB (instance) snapshot copies per destination region (aws-rules.md §4, [RDS-COPY])."""

_ACCOUNT_ID = re.compile(r"^\d{12}$")
# Engines a cluster snapshot can be restored as: the same engine, and Aurora MySQL 1 -> aurora-mysql.
_COMPATIBLE_ENGINES = {"aurora": {"aurora", "aurora-mysql"}}
# Characters of generated master passwords: RDS forbids "/", "@", '"', "'" and spaces.
_PASSWORD_ALPHABET = string.ascii_letters + string.digits + "!#$%&()*+,-.:;<=>?[]^_{|}~"


class _Settings(Protocol):
    operation_seconds: float
    manual_snapshot_quota: int
    copy_concurrency_quota: int


# ------------------------------------------------------------------------------------- errors


def _db_snapshot_not_found(identifier: str) -> RDSClientError:
    # AWS's code is DBSnapshotNotFound (botocore shape DBSnapshotNotFoundFault) [BC-RDS].
    return RDSClientError("DBSnapshotNotFound", f"DBSnapshot {identifier} not found.")


def _cluster_snapshot_not_found(identifier: str) -> RDSClientError:
    return DBClusterSnapshotNotFoundError(identifier)


def _snapshot_state_error(kind: str, snapshot: Any, doing: str) -> RDSClientError:
    message = f"Cannot {doing} snapshot {snapshot.arn}: it is {snapshot.status}, but it must be available."
    if kind == "cluster":
        return InvalidDBClusterSnapshotStateFault(message)
    return RDSClientError("InvalidDBSnapshotState", message)


def _manual_count(store: Any) -> int:
    return sum(1 for s in list(store.values()) if s.snapshot_type == "manual")


def _cluster_state_error(cluster: Any) -> RDSClientError:
    return InvalidDBClusterStateFault(
        f"DBCluster {cluster.db_cluster_identifier} is in {cluster.status} state "
        "but expected it to be one of available."
    )


def _manual_quota_error(quota: int) -> RDSClientError:
    # Wording users match on to tell a fatal quota from a retryable one (aws-rules.md §4).
    return RDSClientError("SnapshotQuotaExceeded", f"Cannot create more than {quota} manual snapshots")


def _copy_quota_error(quota: int) -> RDSClientError:
    return RDSClientError("SnapshotQuotaExceeded", f"Cannot copy more than {quota} snapshots across regions")


# --------------------------------------------------------------------------- snapshot lookup


class _Kind:
    """What differs between cluster snapshots and DB (instance) snapshots."""

    def __init__(
        self,
        name: str,
        model: type[Any],
        arn_type: str,
        store: str,
        not_found: Callable[[str], RDSClientError],
        owner_filter: str,
    ) -> None:
        self.name = name
        self.owner_filter = owner_filter
        self.model = model
        self.arn_type = arn_type
        self.store = store
        self.not_found = not_found

    def snapshots(self, backend: Any) -> MutableMapping[str, Any]:
        store: MutableMapping[str, Any] = getattr(backend, self.store)
        return store


CLUSTER = _Kind(
    "cluster", DBClusterSnapshot, "cluster-snapshot", "cluster_snapshots", _cluster_snapshot_not_found, "db-cluster-id"
)
DB = _Kind("db", DBSnapshot, "snapshot", "database_snapshots", _db_snapshot_not_found, "db-instance-id")


def _visible_to(snapshot: Any, account_id: str) -> bool:
    """Shared with ``account_id`` via the ``restore`` attribute [AUR-SHARE]."""
    if snapshot.snapshot_type != "manual":
        return False
    restore = list(snapshot.attributes.get("restore", []))
    return account_id in restore or ("all" in restore and not snapshot.encrypted)


def _shared_view(snapshot: Any) -> Any:
    """The snapshot as another account sees it: same object data, ``SnapshotType: shared``."""
    view = copy.copy(snapshot)
    vars(view)["snapshot_type"] = "shared"
    return view


def resolve_snapshot(backend: Any, identifier: str, kind: _Kind, *, any_region: bool) -> Any:
    """Find a snapshot by identifier (caller's own) or ARN (own or shared with the caller).

    An ARN is looked up in the account and region it names and nowhere else, so a snapshot of another
    account never resolves to a same-named snapshot of the caller (moto-gaps.md §1). Describe and
    restore are regional (``any_region=False``); copy takes a source ARN from another region [BC-RDS].
    """
    if not identifier.startswith("arn:"):
        snapshot = kind.snapshots(backend).get(identifier)
        if snapshot is None:
            raise kind.not_found(identifier)
        return snapshot
    try:
        region, account_id, resource_type, name = split_arn(identifier)
        owner = rds_backends[account_id][region]
    except (ValueError, KeyError) as exc:
        raise kind.not_found(identifier) from exc
    if resource_type != kind.arn_type or (not any_region and region != backend.region_name):
        raise kind.not_found(identifier)
    snapshot = kind.snapshots(owner).get(name)
    if snapshot is None:
        raise kind.not_found(identifier)
    if account_id != backend.account_id and not _visible_to(snapshot, backend.account_id):
        raise kind.not_found(identifier)
    return snapshot


def _shared_with(backend: Any, kind: _Kind) -> Iterator[Any]:
    """Snapshots of other accounts in the caller's region shared with the caller."""
    for container in list(rds_backends.values()):
        for other in list(container.values()):
            if other.account_id == backend.account_id or other.region_name != backend.region_name:
                continue
            for snapshot in list(kind.snapshots(other).values()):
                if _visible_to(snapshot, backend.account_id):
                    yield snapshot


def _bound(original: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> list[Any]:
    """The arguments of a call to ``original`` in signature order (callers mix positions/keywords)."""
    bound = inspect.signature(original).bind(*args, **kwargs)
    bound.apply_defaults()
    return list(bound.arguments.values())


def _describe_factory(kind: _Kind) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``describe_db_cluster_snapshots``/``describe_db_snapshots`` with shared snapshots (rule 1)."""

    def factory(original: Callable[..., Any]) -> Callable[..., Any]:
        def describe(*args: Any, include_shared: bool = False, **kwargs: Any) -> list[Any]:
            backend, owner_identifier, snapshot_identifier, snapshot_type, filters = _bound(original, args, kwargs)
            if snapshot_identifier and snapshot_identifier.startswith("arn:"):
                snapshot = resolve_snapshot(backend, snapshot_identifier, kind, any_region=False)
                own = snapshot.account_id == backend.account_id
                if snapshot_type == "shared" and own:
                    raise kind.not_found(snapshot_identifier)
                return [snapshot if own else _shared_view(snapshot)]
            shared = [_shared_view(s) for s in _shared_with(backend, kind)]
            if snapshot_type == "shared":
                if snapshot_identifier:
                    shared = [s for s in shared if s.resource_id == snapshot_identifier.lower()]
                return _filtered(backend, shared, filters, kind, owner_identifier)
            result: list[Any] = list(original(backend, owner_identifier, snapshot_identifier, snapshot_type, filters))
            if include_shared and snapshot_type is None and not snapshot_identifier:
                result.extend(_filtered(backend, shared, filters, kind, owner_identifier))
            return result

        return describe

    return factory


def _filtered(backend: Any, snapshots: list[Any], filters: Any, kind: _Kind, owner_identifier: str | None) -> list[Any]:
    """Apply describe filters (and the cluster/instance identifier) to shared snapshots."""
    filters = {k: v for k, v in (filters or {}).items() if k != "snapshot-type"}
    if owner_identifier:
        filters[kind.owner_filter] = [owner_identifier]
    if not filters:
        return snapshots
    keyed = {s.arn: s for s in snapshots}
    return list(backend._filter_resources(keyed, filters, kind.model).values())


def _describe_response_factory(
    kind: _Kind,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """RDSResponse describe methods that pass ``IncludeShared`` through to the backend."""
    from moto.core.responses import ActionResult

    identifier_param = "DBClusterSnapshotIdentifier" if kind is CLUSTER else "DBSnapshotIdentifier"
    owner_param = "DBClusterIdentifier" if kind is CLUSTER else "DBInstanceIdentifier"
    result_key = "DBClusterSnapshots" if kind is CLUSTER else "DBSnapshots"
    backend_method = "describe_db_cluster_snapshots" if kind is CLUSTER else "describe_db_snapshots"

    def factory(original: Callable[..., Any]) -> Callable[..., Any]:
        del original

        def describe(self: Any) -> Any:
            filters = self.params.get("Filters", [])
            snapshots = getattr(self.backend, backend_method)(
                self.params.get(owner_param),
                self.params.get(identifier_param),
                self.params.get("SnapshotType"),
                {f["Name"]: f["Values"] for f in filters},
                include_shared=bool(self.params.get("IncludeShared")),
            )
            return ActionResult({result_key: snapshots})

        return describe

    return factory


# ------------------------------------------------------------------------------ the rules


class RdsRules:
    """Installs the RDS patches; holds what they share (settings, clock, original methods)."""

    def __init__(self, settings: _Settings, clock: Clock) -> None:
        self.settings = settings
        self.clock = clock
        self._original_create_db_cluster: Callable[..., Any] | None = None

    def install(self, patcher: Patcher) -> None:
        """Patch moto's RDS classes."""
        # moto's own snapshot limit counts automated snapshots too; the test bed's quota replaces it.
        patcher.set(RDSBackend, "SNAPSHOT_QUOTA", property(lambda self: 10**9))
        patcher.set(DBSnapshotNotFoundFault, "__init__", _db_snapshot_not_found_init)
        patcher.set(RDSBackend, "get_snapshot", _get_snapshot)
        patcher.wrap(RDSBackend, "describe_db_cluster_snapshots", _describe_factory(CLUSTER))
        patcher.wrap(RDSBackend, "describe_db_snapshots", _describe_factory(DB))
        patcher.wrap(RDSResponse, "describe_db_cluster_snapshots", _describe_response_factory(CLUSTER))
        patcher.wrap(RDSResponse, "describe_db_snapshots", _describe_response_factory(DB))
        patcher.set(SnapshotAttributesMixin, "modify_attribute", _modify_attribute)
        patcher.wrap(
            RDSBackend,
            "modify_db_cluster_snapshot_attribute",
            _modify_snapshot_attribute_factory(CLUSTER),
        )
        patcher.wrap(RDSBackend, "modify_db_snapshot_attribute", _modify_snapshot_attribute_factory(DB))
        self._original_create_db_cluster = patcher.wrap(RDSBackend, "create_db_cluster", self._create_db_cluster)
        patcher.wrap(RDSBackend, "create_db_instance", self._create_db_instance)
        patcher.wrap(RDSBackend, "modify_db_cluster", self._modify_db_cluster)
        patcher.wrap(RDSBackend, "create_db_cluster_snapshot", self._create_db_cluster_snapshot)
        patcher.wrap(RDSBackend, "create_db_snapshot", self._create_db_snapshot)
        patcher.wrap(RDSBackend, "copy_db_cluster_snapshot", self._copy_db_cluster_snapshot)
        patcher.wrap(RDSBackend, "copy_db_snapshot", self._copy_db_snapshot)
        patcher.set(RDSBackend, "restore_db_cluster_from_snapshot", self._restore_cluster())
        patcher.set(RDSBackend, "restore_db_instance_from_db_snapshot", self._restore_instance())
        patcher.set(RDSResponse, "describe_account_attributes", self._describe_account_attributes())
        patcher.set(DBCluster, "get_cfg", _get_cfg)
        patcher.set(MasterUserSecret, "_generate_secret_string", _generate_secret_string)

    # ---------------------------------------------------------------------- clusters, instances

    def _create_db_cluster(self, original: Callable[..., Any]) -> Callable[..., Any]:
        rules = self

        def create_db_cluster(backend: Any, kwargs: Any) -> Any:
            """Rules 2, 6, 7: existing ids, the real default key, validated ``KmsKeyId``."""
            cluster_id = kwargs["db_cluster_identifier"]
            if cluster_id in backend.clusters:
                raise RDSClientError("DBClusterAlreadyExistsFault", "DB Cluster already exists")
            caller = current_caller(backend.account_id, backend.region_name)
            key_ref = kwargs.get("kms_key_id")
            if key_ref or kwargs.get("storage_encrypted"):
                # No KmsKeyId: the account's AWS-managed aws/rds key [BC-RDS CreateDBCluster].
                ref = key_ref or default_rds_key(backend.account_id, backend.region_name).arn
                kwargs["kms_key_id"] = require_key_for_rds(
                    ref, caller=caller, region=backend.region_name, actions=RDS_ENCRYPT_ACTIONS
                )
                kwargs["storage_encrypted"] = True
            _resolve_secret_key(backend, kwargs, caller)
            cluster = original(backend, kwargs)
            _normalise_cluster_key(cluster)
            rules.clock.begin(cluster, "creating")
            return cluster

        return create_db_cluster

    def _create_db_instance(self, original: Callable[..., Any]) -> Callable[..., Any]:
        rules = self

        def create_db_instance(backend: Any, db_kwargs: Any) -> Any:
            """Instances join only ``available`` clusters [BC-RDS RestoreDBClusterFromSnapshot]."""
            if db_kwargs["db_instance_identifier"] in backend.databases:
                raise DBInstanceAlreadyExists()
            cluster_id = db_kwargs.get("db_cluster_identifier")
            caller = current_caller(backend.account_id, backend.region_name)
            if cluster_id:
                cluster = backend.clusters.get(cluster_id)
                if cluster is not None and cluster.status != "available":
                    raise _cluster_state_error(cluster)
            elif db_kwargs.get("kms_key_id") or db_kwargs.get("storage_encrypted"):
                ref = db_kwargs.get("kms_key_id") or default_rds_key(backend.account_id, backend.region_name).arn
                db_kwargs["kms_key_id"] = require_key_for_rds(
                    ref, caller=caller, region=backend.region_name, actions=RDS_ENCRYPT_ACTIONS
                )
                db_kwargs["storage_encrypted"] = True
            if not cluster_id:
                _resolve_secret_key(backend, db_kwargs, caller)
            database = original(backend, db_kwargs)
            rules.clock.begin(database, "creating")
            return database

        return create_db_instance

    def _modify_db_cluster(self, original: Callable[..., Any]) -> Callable[..., Any]:
        rules = self

        def modify_db_cluster(backend: Any, kwargs: Any) -> Any:
            """Only ``available`` clusters can be modified; secret key checked (rules 6, 9)."""
            cluster_id = kwargs["db_cluster_identifier"]
            cluster = backend.clusters.get(cluster_id)
            if cluster is None:
                raise DBClusterNotFoundError(cluster_id)
            if cluster.status != "available":
                raise _cluster_state_error(cluster)
            if kwargs.get("master_user_secret_kms_key_id"):
                if not kwargs.get("manage_master_user_password"):
                    raise InvalidParameterCombination(
                        "MasterUserSecretKmsKeyId can only be set when turning on ManageMasterUserPassword."
                    )
                if cluster.manage_master_user_password:
                    raise InvalidParameterCombination("The KMS key of a managed master user secret can't be changed.")
            caller = current_caller(backend.account_id, backend.region_name)
            _resolve_secret_key(backend, kwargs, caller)
            result = original(backend, kwargs)
            new_id = kwargs.get("db_cluster_identifier") or cluster_id
            current = backend.clusters.get(new_id, cluster)
            rules.clock.begin(current, "modifying")
            result.status = current.status
            return result

        return modify_db_cluster

    # -------------------------------------------------------------------------------- snapshots

    def _create_db_cluster_snapshot(self, original: Callable[..., Any]) -> Callable[..., Any]:
        rules = self

        def create_db_cluster_snapshot(
            backend: Any,
            db_cluster_identifier: str,
            db_cluster_snapshot_identifier: str,
            snapshot_type: str = "manual",
            tags: Any = None,
            **extra: Any,
        ) -> Any:
            """Manual snapshot quota (rule 8), cluster must be available, ``creating`` progress."""
            manual = snapshot_type == "manual"
            if manual:
                if db_cluster_snapshot_identifier in backend.cluster_snapshots:
                    raise DBClusterSnapshotAlreadyExistsError(db_cluster_snapshot_identifier)
                cluster = backend.clusters.get(db_cluster_identifier)
                if cluster is not None and cluster.status != "available":
                    raise _cluster_state_error(cluster)
                rules._check_manual_quota(backend.cluster_snapshots)
            snapshot = original(backend, db_cluster_identifier, db_cluster_snapshot_identifier, snapshot_type, tags)
            if manual:
                rules.clock.begin(snapshot, "creating")
            return snapshot

        return create_db_cluster_snapshot

    def _create_db_snapshot(self, original: Callable[..., Any]) -> Callable[..., Any]:
        rules = self

        def create_db_snapshot(
            backend: Any,
            db_instance_identifier: str,
            db_snapshot_identifier: str,
            snapshot_type: str = "manual",
            tags: Any = None,
            original_created_at: Any = None,
            kms_key_id: str | None = None,
            **extra: Any,
        ) -> Any:
            """Manual snapshot quota (rule 8), instance must be available, ``creating`` progress."""
            manual = snapshot_type == "manual"
            if manual:
                if db_snapshot_identifier in backend.database_snapshots:
                    raise DBSnapshotAlreadyExistsError(db_snapshot_identifier)
                database = backend.databases.get(db_instance_identifier)
                if database is not None and database.status != "available":
                    raise RDSClientError(
                        "InvalidDBInstanceState",
                        f"Instance {db_instance_identifier} is not in available state.",
                    )
                rules._check_manual_quota(backend.database_snapshots)
            snapshot = original(
                backend,
                db_instance_identifier,
                db_snapshot_identifier,
                snapshot_type,
                tags,
                original_created_at,
                kms_key_id,
            )
            if manual:
                rules.clock.begin(snapshot, "creating")
            return snapshot

        return create_db_snapshot

    def _copy_db_cluster_snapshot(self, original: Callable[..., Any]) -> Callable[..., Any]:
        rules = self

        def copy_db_cluster_snapshot(
            backend: Any,
            source_db_cluster_snapshot_identifier: str,
            target_db_cluster_snapshot_identifier: str,
            kms_key_id: str | None = None,
            copy_tags: bool = False,
            tags: Any = None,
            **extra: Any,
        ) -> Any:
            """Rules 1, 3, 6, 7, 8 and busy snapshots for ``CopyDBClusterSnapshot``."""
            if target_db_cluster_snapshot_identifier in backend.cluster_snapshots:
                raise DBClusterSnapshotAlreadyExistsError(target_db_cluster_snapshot_identifier)
            source = backend.get_db_cluster_snapshot(source_db_cluster_snapshot_identifier)
            if source.status != "available":
                raise _snapshot_state_error("cluster", source, "copy")
            if kms_key_id and not source.encrypted:
                # [BC-RDS CopyDBClusterSnapshot.KmsKeyId]: "If you copy an unencrypted DB cluster
                # snapshot and specify a value for the KmsKeyId parameter, an error is returned."
                raise InvalidParameterValue(
                    "KmsKeyId can't be specified when copying an unencrypted DB cluster snapshot: "
                    f"{source.arn} isn't encrypted."
                )
            dest = rules._copy_keys(backend, source, kms_key_id)
            rules._check_manual_quota(backend.cluster_snapshots)
            rules._check_copy_concurrency(backend.cluster_snapshots, rules.settings.copy_concurrency_quota)
            snapshot = original(
                backend,
                source_db_cluster_snapshot_identifier,
                target_db_cluster_snapshot_identifier,
                kms_key_id=dest,
                copy_tags=copy_tags,
                tags=tags,
                **extra,
            )
            snapshot.source_db_cluster_snapshot_arn = source.arn
            rules.clock.begin(snapshot, "copying")
            return snapshot

        return copy_db_cluster_snapshot

    def _copy_db_snapshot(self, original: Callable[..., Any]) -> Callable[..., Any]:
        rules = self

        def copy_db_snapshot(
            backend: Any,
            source_db_snapshot_identifier: str,
            target_db_snapshot_identifier: str,
            kms_key_id: str | None = None,
            tags: Any = None,
            copy_tags: bool | None = False,
            **extra: Any,
        ) -> Any:
            """Rules 1, 3, 6, 8 and busy snapshots for ``CopyDBSnapshot``.

            Unlike cluster snapshots, ``KmsKeyId`` on an unencrypted DB snapshot encrypts the copy
            [BC-RDS CopyDBSnapshot.KmsKeyId].
            """
            if target_db_snapshot_identifier in backend.database_snapshots:
                raise DBSnapshotAlreadyExistsError(target_db_snapshot_identifier)
            source = backend.get_db_snapshot(source_db_snapshot_identifier)
            if source.status != "available":
                raise _snapshot_state_error("db", source, "copy")
            dest = rules._copy_keys(backend, source, kms_key_id)
            rules._check_manual_quota(backend.database_snapshots)
            rules._check_copy_concurrency(backend.database_snapshots, DB_SNAPSHOT_COPY_CONCURRENCY)
            snapshot = original(
                backend,
                source_db_snapshot_identifier,
                target_db_snapshot_identifier,
                kms_key_id=dest,
                tags=tags,
                copy_tags=copy_tags,
                **extra,
            )
            snapshot.source_db_snapshot_identifier = source.arn
            if source.region != backend.region_name:
                snapshot.source_region = source.region
            rules.clock.begin(snapshot, "copying")
            return snapshot

        return copy_db_snapshot

    def _copy_keys(self, backend: Any, source: Any, kms_key_id: str | None) -> str | None:
        """Check both keys of a copy; return the destination key ARN (``None``: keep source key)."""
        foreign = source.account_id != backend.account_id
        cross_region = source.region != backend.region_name
        if source.encrypted and not kms_key_id and (foreign or cross_region):
            # [BC-RDS Copy*Snapshot.KmsKeyId]: a shared encrypted snapshot, or a copy to another
            # region, must name the key for the copy (aws-rules.md §4, §7).
            raise InvalidParameterValue(
                "Must specify new KMS key for cross region encrypted snapshot copy"
                if cross_region
                else "KmsKeyId must be specified to copy an encrypted snapshot shared from "
                f"another account ({source.arn})."
            )
        caller = current_caller(backend.account_id, backend.region_name)
        dest: str | None = None
        if kms_key_id:
            dest_actions = list(RDS_ENCRYPT_ACTIONS)
            if source.encrypted:
                dest_actions.append("kms:ReEncryptTo")
            dest = require_key_for_rds(kms_key_id, caller=caller, region=backend.region_name, actions=dest_actions)
        if source.encrypted and source.kms_key_id:
            source_actions = list(RDS_DECRYPT_ACTIONS)
            if dest is not None and dest != source.kms_key_id:
                source_actions.append("kms:ReEncryptFrom")
            require_key_for_rds(source.kms_key_id, caller=caller, region=source.region, actions=source_actions)
        return dest

    def _describe_account_attributes(self) -> Callable[..., Any]:
        """Rule 8: the account's manual snapshot quotas with their usage in the region.

        Only the two quotas rdsshare reads; AWS lists ~17 (DBInstances, DBClusters, ...).
        """
        from moto.core.responses import ActionResult

        rules = self

        def describe_account_attributes(response: Any) -> Any:
            backend = response.backend
            quota = rules.settings.manual_snapshot_quota
            quotas = [
                {"AccountQuotaName": name, "Used": _manual_count(kind.snapshots(backend)), "Max": quota}
                for name, kind in (("ManualClusterSnapshots", CLUSTER), ("ManualSnapshots", DB))
            ]
            return ActionResult({"AccountQuotas": quotas})

        return describe_account_attributes

    def _check_manual_quota(self, store: Any) -> None:
        quota = self.settings.manual_snapshot_quota
        if _manual_count(store) >= quota:
            raise _manual_quota_error(quota)

    @staticmethod
    def _check_copy_concurrency(store: Any, quota: int) -> None:
        if sum(1 for s in list(store.values()) if s.status == "copying") >= quota:
            raise _copy_quota_error(quota)

    # ---------------------------------------------------------------------------------- restores

    def _restore_cluster(self) -> Callable[..., Any]:
        rules = self

        def restore_db_cluster_from_snapshot(backend: Any, from_snapshot_id: str, overrides: Any) -> Any:
            """``RestoreDBClusterFromSnapshot`` with rules 1, 3, 6, 7, 9 and busy snapshots."""
            snapshot = backend.describe_db_cluster_snapshots(None, from_snapshot_id)[0]
            cluster_id = overrides["db_cluster_identifier"]
            if cluster_id in backend.clusters:
                raise RDSClientError("DBClusterAlreadyExistsFault", "DB Cluster already exists")
            if snapshot.status != "available":
                raise _snapshot_state_error("cluster", snapshot, "restore from")
            engine = overrides.get("engine")
            if engine and engine not in _COMPATIBLE_ENGINES.get(snapshot.engine, {snapshot.engine}):
                raise InvalidParameterCombination(
                    f"The engine {engine} isn't compatible with the engine {snapshot.engine} of "
                    f"DB cluster snapshot {snapshot.arn}."
                )
            caller = current_caller(backend.account_id, backend.region_name)
            dest = rules._restore_keys(backend, snapshot, overrides.get("kms_key_id"), caller)
            cfg = snapshot.cluster.get_cfg()
            # Placement and parameters come from the restoring account, not the snapshot's owner.
            for key in (
                "db_subnet_group_name",
                "vpc_security_group_ids",
                "availability_zones",
                "global_cluster_identifier",
                "replication_source_identifier",
            ):
                cfg[key] = None
            cfg["deletion_protection"] = False
            # RestoreDBClusterFromSnapshot has no ManageMasterUserPassword [AUR-SM]: the restored
            # cluster keeps the snapshot's password and has no managed secret (aws-rules.md §6).
            cfg["manage_master_user_password"] = False
            cfg.pop("master_user_secret", None)
            cfg.pop("master_user_secret_kms_key_id", None)
            if not cfg.get("master_user_password"):
                cfg["master_user_password"] = _random_password()
            cfg["kms_key_id"] = dest or (snapshot.kms_key_id if snapshot.encrypted else None)
            cfg["storage_encrypted"] = bool(dest) or bool(snapshot.encrypted)
            for key, value in overrides.items():
                if value and key not in ("kms_key_id", "snapshot_identifier"):
                    cfg[key] = value
            assert rules._original_create_db_cluster is not None
            cluster = rules._original_create_db_cluster(backend, cfg)
            _normalise_cluster_key(cluster)
            rules.clock.begin(cluster, "creating")
            return cluster

        return restore_db_cluster_from_snapshot

    def _restore_keys(self, backend: Any, snapshot: Any, kms_key_id: str | None, caller: Caller) -> str | None:
        """Restore with ``KmsKeyId`` encrypts under it; the snapshot's key must be readable [BC-RDS]."""
        region = backend.region_name
        dest: str | None = None
        if kms_key_id:
            actions = list(RDS_ENCRYPT_ACTIONS)
            if snapshot.encrypted:
                actions.append("kms:ReEncryptTo")
            dest = require_key_for_rds(kms_key_id, caller=caller, region=region, actions=actions)
        if snapshot.encrypted and snapshot.kms_key_id:
            actions = list(RDS_DECRYPT_ACTIONS)
            if dest is not None and dest != snapshot.kms_key_id:
                actions.append("kms:ReEncryptFrom")
            require_key_for_rds(snapshot.kms_key_id, caller=caller, region=region, actions=actions)
        return dest

    def _restore_instance(self) -> Callable[..., Any]:
        def restore_db_instance_from_db_snapshot(backend: Any, from_snapshot_id: str, overrides: Any) -> Any:
            """``RestoreDBInstanceFromDBSnapshot`` with rules 1, 3 and busy snapshots.

            A shared snapshot is named by ARN and never by a same-named snapshot of the caller; a
            snapshot that is both shared and encrypted can't be restored directly [RDS-SHARE].
            """
            snapshot = backend.describe_db_snapshots(None, from_snapshot_id)[0]
            if overrides["db_instance_identifier"] in backend.databases:
                raise DBInstanceAlreadyExists()
            if snapshot.status != "available":
                raise _snapshot_state_error("db", snapshot, "restore from")
            foreign = snapshot.account_id != backend.account_id
            if foreign and snapshot.encrypted:
                raise InvalidParameterValue(
                    f"DB snapshot {snapshot.arn} is shared and encrypted; it can't be restored "
                    "directly. Copy it, then restore the copy."
                )
            caller = current_caller(backend.account_id, backend.region_name)
            if snapshot.encrypted and snapshot.kms_key_id:
                require_key_for_rds(
                    snapshot.kms_key_id,
                    caller=caller,
                    region=backend.region_name,
                    actions=RDS_DECRYPT_ACTIONS,
                )
            return backend.create_db_instance(_instance_props(snapshot, overrides, foreign))

        return restore_db_instance_from_db_snapshot


# ---------------------------------------------------------------------------------- helpers


def _get_snapshot(backend: Any, identifier: str, resource_type: Any, not_found_exception: Any) -> Any:
    """``RDSBackend.get_snapshot`` (used by copies): ARNs resolve across accounts and regions."""
    del not_found_exception
    kind = CLUSTER if resource_type is DBClusterSnapshot else DB
    return resolve_snapshot(backend, identifier, kind, any_region=True)


def _db_snapshot_not_found_init(self: Any, snapshot_identifier: str) -> None:
    RDSClientError.__init__(self, "DBSnapshotNotFound", f"DBSnapshot {snapshot_identifier} not found.")


def _modify_attribute(
    self: Any,
    attribute_name: str,
    values_to_add: list[str] | None,
    values_to_remove: list[str] | None,
) -> None:
    """Rule 5: valid account ids, no ``all`` on encrypted snapshots, no duplicates, at most 20.

    [AUR-SHARE], [RDS-SHARE], [BC-RDS ModifyDBClusterSnapshotAttribute], aws-rules.md §2.
    """
    add = list(values_to_add or [])
    remove = list(values_to_remove or [])
    if attribute_name not in self.ALLOWED_ATTRIBUTE_NAMES:
        raise InvalidParameterValue(f"Invalid snapshot attribute {attribute_name}")
    for value in add:
        if value != "all" and not _ACCOUNT_ID.match(value):
            raise InvalidParameterValue(
                f"Invalid value {value!r} for the restore attribute: specify 12-digit AWS account IDs or all."
            )
    if "all" in add and self.encrypted:
        raise InvalidParameterValue(
            "Encrypted snapshots can't be shared with all accounts (restore=all); "
            "share them with specific AWS account IDs."
        )
    common = set(add).intersection(remove)
    if common:
        raise InvalidParameterCombination(
            f"A value may not appear in both the add list and remove list. {sorted(common)}"
        )
    current = list(self.attributes[attribute_name])
    updated = current + [v for v in dict.fromkeys(add) if v not in current]
    updated = [v for v in updated if v not in remove]
    if sum(1 for v in updated if v != "all") > MAX_SHARED_ACCOUNTS:
        raise SharedSnapshotQuotaExceeded()
    self.attributes[attribute_name] = updated


def _modify_snapshot_attribute_factory(
    kind: _Kind,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def factory(original: Callable[..., Any]) -> Callable[..., Any]:
        def modify(*args: Any, **kwargs: Any) -> Any:
            """Only the owner shares a snapshot, and only once it is ``available`` (rules 1, 5)."""
            backend, identifier, attribute_name, to_add, to_remove = _bound(original, args, kwargs)
            snapshot = resolve_snapshot(backend, identifier, kind, any_region=False)
            if snapshot.account_id != backend.account_id:
                raise kind.not_found(identifier)
            if snapshot.snapshot_type == "manual" and snapshot.status != "available":
                raise _snapshot_state_error(kind.name, snapshot, "share")
            name = snapshot.resource_id if identifier.startswith("arn:") else identifier
            return original(backend, name, attribute_name, to_add, to_remove)

        return modify

    return factory


def _normalise_cluster_key(cluster: Any) -> None:
    """moto reports ``default_kms_key_id`` for unencrypted clusters; AWS reports no key."""
    if not cluster.storage_encrypted:
        cluster.kms_key_id = None


def _resolve_secret_key(backend: Any, kwargs: Any, caller: Caller) -> None:
    """``MasterUserSecretKmsKeyId`` in any form is checked and passed on as the key ARN (rule 6).

    Secrets Manager uses the key for the caller (``kms:ViaService = secretsmanager...``) [AUR-SM].
    """
    key_ref = kwargs.get("master_user_secret_kms_key_id")
    if not key_ref or not kwargs.get("manage_master_user_password"):
        return
    kwargs["master_user_secret_kms_key_id"] = require_key_for_rds(
        key_ref,
        caller=caller,
        region=backend.region_name,
        actions=("kms:DescribeKey", "kms:Decrypt", "kms:GenerateDataKey"),
        service="secretsmanager",
    )


def _get_cfg(self: Any) -> dict[str, Any]:
    """``DBCluster.get_cfg`` without moto's ``KeyError: '_master_user_password'`` (rule 9)."""
    cfg: dict[str, Any] = dict(vars(self))
    cfg.pop("backend", None)
    cfg.pop(OP_ATTR, None)
    cfg["master_user_password"] = cfg.pop("_master_user_password", None)
    cfg["enable_http_endpoint"] = cfg.pop("_enable_http_endpoint", None)
    cfg["vpc_security_group_ids"] = cfg.pop("_vpc_security_group_ids", None)
    return cfg


def _random_password(length: int = 28) -> str:
    return "".join(secrets.choice(_PASSWORD_ALPHABET) for _ in range(length))


def _generate_secret_string(self: Any) -> str:
    """A generated password, as RDS does, instead of moto's fixed ``P@55w0rd!`` [AUR-SM]."""
    username = getattr(self.resource, "master_username", None) or "admin"
    return json.dumps({"username": username, "password": _random_password()})


def _instance_props(snapshot: Any, overrides: Any, foreign: bool) -> dict[str, Any]:
    """Properties of an instance restored from ``snapshot`` (after moto's own restore logic)."""
    original = snapshot.database
    props: dict[str, Any] = {}
    skipped = {
        "backend",
        "db_parameter_group_name",
        "vpc_security_group_ids",
        "max_allocated_storage",
        "db_subnet_group",
        "master_user_secret",
        "status",
        OP_ATTR.lstrip("_"),
    }
    for key, value in vars(original).items():
        name = key[1:] if key.startswith("_") else key
        if name not in skipped:
            props[name] = copy.copy(value)
    props["kms_key_id"] = snapshot.kms_key_id
    props["storage_encrypted"] = bool(snapshot.encrypted)
    props["manage_master_user_password"] = False
    if not props.get("master_user_password"):
        props["master_user_password"] = _random_password()
    if not original.option_group_supplied or foreign:
        props.pop("option_group_name", None)
    if foreign:
        props.pop("db_subnet_group_name", None)
    if "allocated_storage" in overrides and overrides["allocated_storage"] < snapshot.allocated_storage:
        raise InvalidParameterValue("The allocated storage size can't be less than the source snapshot or backup size.")
    for key, value in overrides.items():
        if value and key != "db_snapshot_identifier":
            props[key] = value
    return props


def iter_patched_classes() -> Iterable[type[Any]]:
    """The moto classes whose attributes the RDS rules change (for tests of clean restoration)."""
    return (
        RDSBackend,
        RDSResponse,
        DBCluster,
        DBClusterSnapshot,
        DBSnapshot,
        SnapshotAttributesMixin,
        MasterUserSecret,
        DBSnapshotNotFoundFault,
    )
