"""Snapshots shared across accounts, as the owner and the target see them.

* A snapshot shared through its ``restore`` attribute resolves by ARN, for copy, restore and describe,
  for the accounts in the attribute; an ARN is looked up in the account and region it names and never
  falls back to a same-named snapshot of the caller (docs/sources/moto-gaps.md §1) [AUR-SHARE], [RDS-SHARE].
* The target's view of a shared snapshot: its ``DBClusterSnapshotIdentifier`` / ``DBSnapshotIdentifier``
  is the snapshot's **ARN**, and a lookup by the owner's plain identifier finds nothing (boto/boto3 #2335;
  terraform-provider-aws #3907; docs/sources/aws-rules-2.md "The target's view").
* An automated snapshot is found by its identifier only with ``SnapshotType="automated"`` ("If this
  identifier is for an automated snapshot, the SnapshotType parameter must also be specified", botocore
  model, ``DescribeDBClusterSnapshots``); otherwise it is not found.
* ``SnapshotType``: ``shared`` lists manual snapshots shared *with this account*, ``public`` those marked
  public (``restore`` = ``all``); without a type, ``IncludeShared`` adds the shared ones and
  ``IncludePublic`` the public ones; neither applies to ``manual``/``automated``, ``IncludePublic`` not to
  ``shared`` and ``IncludeShared`` not to ``public`` (botocore model, ``DescribeDBClusterSnapshots``).
* The ``restore`` attribute: 12-digit ids or ``all`` (never on encrypted snapshots), no duplicates, at
  most 20 accounts, manual snapshots only, only by the owner, only once ``available``
  [AUR-SHARE], [BC-RDS ModifyDBClusterSnapshotAttribute]. A DB snapshot whose option group has permanent
  or persistent options (Oracle Timezone and OLS excepted), or TDE, can't be shared [RDS-SHARE]. An
  ``sse-rds`` snapshot (AWS owned key) is shared as it is unless the bed's ``sse_rds_shareable`` switch is
  off, since no AWS source says which is true (docs/sources/aws-rules-2.md "Aurora's default encryption").
"""

from __future__ import annotations

import copy
import inspect
import re
from collections.abc import Callable, Iterator, MutableMapping
from typing import Any

from moto.core.responses import ActionResult
from moto.rds.exceptions import (
    DBClusterSnapshotNotFoundError,
    InvalidDBClusterSnapshotStateFault,
    InvalidParameterCombination,
    InvalidParameterValue,
    RDSClientError,
    SharedSnapshotQuotaExceeded,
)
from moto.rds.models import DBClusterSnapshot, DBSnapshot, rds_backends
from moto.rds.utils import split_arn

from .. import _state
from .options import unshareable_options

__all__ = [
    "CLUSTER",
    "DB",
    "MAX_SHARED_ACCOUNTS",
    "SnapshotKind",
    "bound",
    "db_snapshot_not_found",
    "describe",
    "describe_response",
    "get_snapshot",
    "modify_attribute",
    "modify_snapshot_attribute",
    "resolve_snapshot",
    "snapshot_state_error",
]

MAX_SHARED_ACCOUNTS = 20
"""Accounts a manual snapshot can be shared with [AUR-SHARE]."""

_ACCOUNT_ID = re.compile(r"^[0-9]{12}$")
_VIEW_ARN = "_rdsshare_view_arn"


def db_snapshot_not_found(identifier: str) -> RDSClientError:
    """AWS's code is DBSnapshotNotFound (botocore shape DBSnapshotNotFoundFault) [BC-RDS]."""
    return RDSClientError("DBSnapshotNotFound", f"DBSnapshot {identifier} not found.")


def snapshot_state_error(kind: str, snapshot: Any, doing: str) -> RDSClientError:
    """A snapshot that is not ``available`` cannot be copied, shared or restored."""
    message = f"Cannot {doing} snapshot {snapshot.arn}: it is {snapshot.status}, but it must be available."
    if kind == "cluster":
        return InvalidDBClusterSnapshotStateFault(message)
    return RDSClientError("InvalidDBSnapshotState", message)


class SnapshotKind:
    """What differs between cluster snapshots and DB (instance) snapshots."""

    def __init__(
        self,
        name: str,
        model: type[Any],
        arn_type: str,
        store: str,
        not_found: Callable[[str], RDSClientError],
        owner_filter: str,
        identifier: str,
    ) -> None:
        self.name = name
        self.model = model
        self.arn_type = arn_type
        self.store = store
        self.not_found = not_found
        self.owner_filter = owner_filter
        self.identifier = identifier
        self.view = _view_class(model, identifier)

    def snapshots(self, backend: Any) -> MutableMapping[str, Any]:
        store: MutableMapping[str, Any] = getattr(backend, self.store)
        return store


def _view_class(model: type[Any], identifier: str) -> type[Any]:
    """``model`` as another account sees it: identifier and ARN are the snapshot's ARN."""
    arn = property(lambda self: vars(self)[_VIEW_ARN])
    view = type(model.__name__, (model,), {identifier: arn, "arn": arn, "resource_id": arn})
    view.__qualname__ = model.__qualname__
    return view


CLUSTER = SnapshotKind(
    "cluster",
    DBClusterSnapshot,
    "cluster-snapshot",
    "cluster_snapshots",
    DBClusterSnapshotNotFoundError,
    "db-cluster-id",
    "db_cluster_snapshot_identifier",
)
DB = SnapshotKind(
    "db",
    DBSnapshot,
    "snapshot",
    "database_snapshots",
    db_snapshot_not_found,
    "db-instance-id",
    "db_snapshot_identifier",
)


def _shared_with(snapshot: Any, account_id: str) -> bool:
    """Shared with ``account_id`` by name in the ``restore`` attribute [AUR-SHARE]."""
    return snapshot.snapshot_type == "manual" and account_id in list(snapshot.attributes.get("restore", []))


def _public(snapshot: Any) -> bool:
    return snapshot.snapshot_type == "manual" and "all" in list(snapshot.attributes.get("restore", []))


def _visible_to(snapshot: Any, account_id: str) -> bool:
    """Copyable and restorable by ``account_id``: shared with it, or public (never when encrypted)."""
    return _shared_with(snapshot, account_id) or (_public(snapshot) and not snapshot.encrypted)


def _view(snapshot: Any, snapshot_type: str) -> Any:
    """The snapshot as another account sees it (``SnapshotType`` ``shared`` or ``public``)."""
    kind = CLUSTER if isinstance(snapshot, DBClusterSnapshot) else DB
    view = copy.copy(snapshot)
    vars(view)[_VIEW_ARN] = snapshot.arn
    vars(view)["snapshot_type"] = snapshot_type
    view.__class__ = kind.view
    return view


def resolve_snapshot(backend: Any, identifier: str, kind: SnapshotKind, *, any_region: bool) -> Any:
    """Find a snapshot by identifier (the caller's own) or ARN (own, shared with the caller, or public).

    Describe and restore are regional (``any_region=False``); copy takes a source ARN from another region
    [BC-RDS]. Another account's snapshot is returned as the owner's object (callers that hand it out to
    the target use :func:`_view`).
    """
    if not identifier.startswith("arn:"):
        snapshot = kind.snapshots(backend).get(identifier.lower())
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
    snapshot = kind.snapshots(owner).get(name.lower())
    if snapshot is None:
        raise kind.not_found(identifier)
    if account_id != backend.account_id and not _visible_to(snapshot, backend.account_id):
        raise kind.not_found(identifier)
    return snapshot


def _others(backend: Any, kind: SnapshotKind, keep: Callable[[Any], bool]) -> Iterator[Any]:
    """Snapshots of other accounts in the caller's region for which ``keep`` holds."""
    for container in list(rds_backends.values()):
        for other in list(container.values()):
            if other.account_id == backend.account_id or other.region_name != backend.region_name:
                continue
            yield from (s for s in list(kind.snapshots(other).values()) if keep(s))


def bound(original: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> list[Any]:
    """The arguments of a call to ``original`` in signature order (callers mix positions/keywords)."""
    signature = inspect.signature(original).bind(*args, **kwargs)
    signature.apply_defaults()
    return list(signature.arguments.values())


def describe(kind: SnapshotKind) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``describe_db_cluster_snapshots``/``describe_db_snapshots`` with shared and public snapshots."""

    def factory(original: Callable[..., Any]) -> Callable[..., Any]:
        def describe_snapshots(
            *args: Any, include_shared: bool = False, include_public: bool = False, api: bool = False, **kwargs: Any
        ) -> list[Any]:
            """``api=True``: a DescribeDB*Snapshots request (not moto's own lookups), whose identifier
            rules apply (an automated snapshot needs ``SnapshotType``)."""
            backend, owner_identifier, snapshot_identifier, snapshot_type, filters = bound(original, args, kwargs)
            if snapshot_identifier and snapshot_identifier.startswith("arn:"):
                snapshot = resolve_snapshot(backend, snapshot_identifier, kind, any_region=False)
                own = snapshot.account_id == backend.account_id
                if snapshot_type == "shared" and own:
                    raise kind.not_found(snapshot_identifier)
                if own:
                    return _named(kind, [snapshot], snapshot_identifier, snapshot_type) if api else [snapshot]
                return [_view(snapshot, "shared" if _shared_with(snapshot, backend.account_id) else "public")]
            account = backend.account_id
            shared = [_view(s, "shared") for s in _others(backend, kind, lambda s: _shared_with(s, account))]
            public = [_view(s, "public") for s in _others(backend, kind, _public)]
            if snapshot_type in ("shared", "public"):
                found = shared if snapshot_type == "shared" else public
                if snapshot_identifier:  # a plain identifier never names another account's snapshot
                    return []
                return _filtered(backend, found, filters, kind, owner_identifier)
            result: list[Any] = list(original(backend, owner_identifier, snapshot_identifier, snapshot_type, filters))
            if snapshot_identifier and api:
                result = _named(kind, result, snapshot_identifier, snapshot_type)
            if snapshot_type is None and not snapshot_identifier:
                if include_shared:
                    result.extend(_filtered(backend, shared, filters, kind, owner_identifier))
                if include_public:
                    result.extend(_filtered(backend, public, filters, kind, owner_identifier))
            return result

        return describe_snapshots

    return factory


def _named(kind: SnapshotKind, found: list[Any], identifier: str, snapshot_type: str | None) -> list[Any]:
    """A lookup by identifier: an automated snapshot needs ``SnapshotType="automated"``."""
    kept = [s for s in found if s.snapshot_type != "automated" or snapshot_type == "automated"]
    if found and not kept:
        raise kind.not_found(identifier)
    return kept


def _filtered(
    backend: Any, snapshots: list[Any], filters: Any, kind: SnapshotKind, owner_identifier: str | None
) -> list[Any]:
    """Apply describe filters (and the cluster/instance identifier) to other accounts' snapshots."""
    filters = {k: v for k, v in (filters or {}).items() if k != "snapshot-type"}
    if owner_identifier:
        filters[kind.owner_filter] = [owner_identifier]
    if not filters:
        return snapshots
    keyed = {s.arn: s for s in snapshots}
    return list(backend._filter_resources(keyed, filters, kind.model).values())


def describe_response(kind: SnapshotKind) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """RDSResponse describe methods that pass ``IncludeShared``/``IncludePublic`` to the backend."""
    identifier_param = "DBClusterSnapshotIdentifier" if kind is CLUSTER else "DBSnapshotIdentifier"
    owner_param = "DBClusterIdentifier" if kind is CLUSTER else "DBInstanceIdentifier"
    result_key = "DBClusterSnapshots" if kind is CLUSTER else "DBSnapshots"
    backend_method = "describe_db_cluster_snapshots" if kind is CLUSTER else "describe_db_snapshots"

    def factory(original: Callable[..., Any]) -> Callable[..., Any]:
        del original

        def describe_snapshots(self: Any) -> Any:
            filters = self.params.get("Filters", [])
            snapshots = getattr(self.backend, backend_method)(
                self.params.get(owner_param),
                self.params.get(identifier_param),
                self.params.get("SnapshotType"),
                {f["Name"]: f["Values"] for f in filters},
                include_shared=bool(self.params.get("IncludeShared")),
                include_public=bool(self.params.get("IncludePublic")),
                api=True,
            )
            return ActionResult({result_key: snapshots})

        return describe_snapshots

    return factory


def get_snapshot(backend: Any, identifier: str, resource_type: Any, not_found_exception: Any) -> Any:
    """``RDSBackend.get_snapshot`` (used by copies): ARNs resolve across accounts and regions."""
    del not_found_exception
    kind = CLUSTER if resource_type is DBClusterSnapshot else DB
    return resolve_snapshot(backend, identifier, kind, any_region=True)


def modify_attribute(
    self: Any,
    attribute_name: str,
    values_to_add: list[str] | None,
    values_to_remove: list[str] | None,
) -> None:
    """``SnapshotAttributesMixin.modify_attribute``: the ``restore`` attribute's values (module doc)."""
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


def _share_refusal(backend: Any, snapshot: Any, kind: SnapshotKind) -> str | None:
    """Why ``snapshot`` can't be shared at all, or None."""
    if getattr(snapshot, "storage_encryption_type", None) == "sse-rds" and not _state.current().sse_rds_shareable:
        return (
            f"The snapshot {snapshot.arn} is encrypted with an AWS owned key and can't be shared. "
            "Copy it with a KmsKeyId of a customer managed key and share the copy."
        )
    if kind is DB:
        database = getattr(snapshot, "database", None)
        group_name = getattr(database, "option_group_name", None)
        group = backend.option_groups.get(group_name) if group_name else None
        bad = unshareable_options(group, str(snapshot.engine)) if group is not None else []
        if bad:
            return (
                f"The snapshot {snapshot.arn} can't be shared: its option group {group_name} has permanent or "
                f"persistent options or TDE ({', '.join(bad)})."
            )
    return None


def modify_snapshot_attribute(kind: SnapshotKind) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Only the owner shares a snapshot, only once it is ``available``, and never an unshareable one."""

    def factory(original: Callable[..., Any]) -> Callable[..., Any]:
        def modify(*args: Any, **kwargs: Any) -> Any:
            backend, identifier, attribute_name, to_add, to_remove = bound(original, args, kwargs)
            snapshot = resolve_snapshot(backend, identifier, kind, any_region=False)
            if snapshot.account_id != backend.account_id:
                raise kind.not_found(identifier)
            if snapshot.snapshot_type == "manual" and snapshot.status != "available":
                raise snapshot_state_error(kind.name, snapshot, "share")
            if to_add:
                refusal = _share_refusal(backend, snapshot, kind)
                if refusal is not None:
                    raise InvalidParameterValue(refusal)
            name = snapshot.resource_id if identifier.startswith("arn:") else identifier
            return original(backend, name, attribute_name, to_add, to_remove)

        return modify

    return factory
