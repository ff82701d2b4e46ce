"""What the rules of an active test bed share: its settings, clock, catalog, organizations, record.

Only one :class:`~rdsshare.testing.EmulatedAWS` is active at a time (its rules are patches of moto's
classes), so the rules reach its state through :func:`current` instead of closures.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .rules.engines import Catalog
    from .rules.lifecycle import Clock
    from .rules.requests import Recorder

__all__ = ["DEFAULT_QUOTAS", "BedState", "activate", "current", "deactivate"]

#: ``DescribeAccountAttributes`` quota names with AWS's default values (botocore model lists the
#: names; defaults from the Aurora User Guide, CHAP_Limits: 40 DB instances, 40 DB clusters, 100 manual
#: snapshots per region ...). The bed enforces the ones marked in :data:`ENFORCED_QUOTAS`.
DEFAULT_QUOTAS: dict[str, int] = {
    "AllocatedStorage": 100_000,
    "AuthorizationsPerDBSecurityGroup": 20,
    "CustomEndpointsPerDBCluster": 5,
    "DBClusterParameterGroups": 50,
    "DBClusterRoles": 5,
    "DBClusters": 40,
    "DBInstanceRoles": 5,
    "DBInstances": 40,
    "DBParameterGroups": 50,
    "DBSecurityGroups": 25,
    "DBSubnetGroups": 50,
    "EventSubscriptions": 20,
    "ManualClusterSnapshots": 100,
    "ManualSnapshots": 100,
    "OptionGroups": 20,
    "ReadReplicasPerMaster": 15,
    "ReservedDBInstances": 40,
    "SubnetsPerDBSubnetGroup": 20,
}

#: Quotas the bed enforces: those a share-and-restore can run into.
ENFORCED_QUOTAS = frozenset({"DBClusters", "DBInstances", "ManualClusterSnapshots", "ManualSnapshots"})


@dataclass
class BedState:
    """Settings and shared machinery of the active bed."""

    clock: Clock
    catalog: Catalog
    recorder: Recorder
    quotas: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_QUOTAS))
    copy_concurrency_quota: int = 5
    #: whether a snapshot encrypted with an AWS owned key (``sse-rds``) can be shared as it is
    sse_rds_shareable: bool = True
    #: account id -> organization id, for ``aws:PrincipalOrgID``
    organizations: dict[str, str] = field(default_factory=dict)


_active: BedState | None = None


def activate(state: BedState) -> None:
    """Make ``state`` the state the rules see."""
    global _active
    _active = state


def deactivate() -> None:
    """No bed is active any more."""
    global _active
    _active = None


def current() -> BedState:
    """The active bed's state."""
    if _active is None:
        raise RuntimeError("no EmulatedAWS is active")
    return _active
