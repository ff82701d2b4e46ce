"""Account quotas: what ``DescribeAccountAttributes`` reports, and the ones a share and restore can hit.

``DescribeAccountAttributes.AccountQuotas`` lists the 18 quota names of the botocore model with their
``Used`` count and ``Max`` (defaults: 40 DB clusters, 40 DB instances, 100 manual cluster snapshots and
100 manual DB snapshots per region, adjustable; Aurora User Guide, CHAP_Limits). moto implements none.

Enforced, with the error code the botocore model gives: ``DBClusters`` (``DBClusterQuotaExceededFault``,
HTTP 403), ``DBInstances`` (``InstanceQuotaExceeded``), ``ManualClusterSnapshots`` and
``ManualSnapshots`` (``SnapshotQuotaExceeded``, "Cannot create more than N manual snapshots"), and
at most ``copy_concurrency_quota`` (5) cluster snapshot copies in progress per destination region
("Cannot copy more than 5 snapshots across regions"), 20 for DB snapshots [AUR-COPY], docs/sources/aws-rules.md §4.
"""

from __future__ import annotations

from typing import Any

from moto.core.responses import ActionResult
from moto.rds.exceptions import RDSClientError

from .. import _state

__all__ = [
    "DB_SNAPSHOT_COPY_CONCURRENCY",
    "check_copy_concurrency",
    "check_quota",
    "describe_account_attributes",
    "used",
]

DB_SNAPSHOT_COPY_CONCURRENCY = 20
"""Concurrent DB (instance) snapshot copies per destination region (docs/sources/aws-rules.md §4, [RDS-COPY])."""


def _manual(store: Any) -> int:
    return sum(1 for s in list(store.values()) if s.snapshot_type == "manual")


def used(backend: Any, name: str) -> int:
    """How much of quota ``name`` the account uses in ``backend``'s region."""
    counts = {
        "DBClusters": lambda: len(backend.clusters),
        "DBInstances": lambda: len(backend.databases),
        "ManualClusterSnapshots": lambda: _manual(backend.cluster_snapshots),
        "ManualSnapshots": lambda: _manual(backend.database_snapshots),
        "DBSubnetGroups": lambda: len(backend.subnet_groups),
        "OptionGroups": lambda: sum(1 for n in backend.option_groups if not str(n).startswith("default:")),
        "DBParameterGroups": lambda: len(backend.db_parameter_groups),
        "DBClusterParameterGroups": lambda: len(backend.db_cluster_parameter_groups),
        "EventSubscriptions": lambda: len(backend.event_subscriptions),
        "AllocatedStorage": lambda: sum(
            int(getattr(d, "allocated_storage", 0) or 0) for d in backend.databases.values()
        ),
    }
    count = counts.get(name)
    return int(count()) if count is not None else 0


def describe_account_attributes(response: Any) -> Any:
    """``RDSResponse.describe_account_attributes``: every quota with its usage."""
    quotas = _state.current().quotas
    return ActionResult(
        {
            "AccountQuotas": [
                {"AccountQuotaName": name, "Used": used(response.backend, name), "Max": limit}
                for name, limit in sorted(quotas.items())
            ]
        }
    )


def check_quota(backend: Any, name: str, adding: int = 1) -> None:
    """Raise AWS's quota error when ``adding`` more would exceed quota ``name``."""
    limit = _state.current().quotas[name]
    if used(backend, name) + adding <= limit:
        return
    if name == "DBClusters":
        raise RDSClientError(
            "DBClusterQuotaExceededFault",
            "The user attempted to create a new DB cluster and the user has already reached the maximum "
            f"allowed DB cluster quota ({limit}).",
        )
    if name == "DBInstances":
        raise RDSClientError("InstanceQuotaExceeded", f"Cannot create more than {limit} DB instances.")
    # Wording users match on to tell a fatal quota from a retryable one (docs/sources/aws-rules.md §4).
    raise RDSClientError("SnapshotQuotaExceeded", f"Cannot create more than {limit} manual snapshots")


def check_copy_concurrency(store: Any, limit: int) -> None:
    """At most ``limit`` copies in progress into this account and region."""
    if sum(1 for s in list(store.values()) if s.status == "copying") >= limit:
        raise RDSClientError("SnapshotQuotaExceeded", f"Cannot copy more than {limit} snapshots across regions")
