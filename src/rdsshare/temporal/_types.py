"""The plain values a share workflow carries in Temporal's history: requests, progress and outcomes.

Nothing here is secret: account ids, regions, resource names and the job's state (ids, ARNs,
states; see :meth:`rdsshare.ShareJob.to_json`). Credentials stay in the worker's environment.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "Account",
    "BatchItemOutcome",
    "BatchOutcome",
    "BatchRequest",
    "JobProgress",
    "JobStep",
    "ShareOutcome",
    "ShareRequest",
    "ShareStatus",
]


@dataclass(frozen=True)
class Account:
    """An account the share acts in, and the region of that side (None: the worker session's own)."""

    account_id: str
    region: str | None = None


@dataclass(frozen=True)
class ShareRequest:
    """One share, as the workflow's input.

    ``arguments`` are :meth:`rdsshare.ShareJob.start`'s keyword arguments as plain values
    (``cluster_id`` or ``snapshot_id``, ``run_name``, ``restore`` as a dict of
    :class:`~rdsshare.ClusterRestoreSpec` fields, or a mapping of target account ids to such dicts,
    ``cleanup``, ``cross_region_copy``...). ``job`` continues a saved job
    (:meth:`rdsshare.ShareJob.to_json`) instead of starting one; continue-as-new uses it too.
    """

    source: Account
    targets: tuple[Account, ...]
    arguments: dict[str, Any] = field(default_factory=dict)
    #: ``"cluster"`` (:func:`rdsshare.share_cluster_snapshot`) or ``"instance"``
    kind: str = "cluster"
    job: str | None = None
    #: the longest durable timer between two advances (a wait's own schedule is usually shorter)
    max_wait_seconds: float = 300.0
    #: attempts of one advance that fails with an error waiting may cure (quotas, busy, throttling)
    max_attempts: int = 20
    #: advances before the workflow continues as new, so that its history stays small
    advances_per_run: int = 200
    #: an advance whose worker has not heartbeaten for this long is given to another worker
    heartbeat_timeout_seconds: float = 60.0


@dataclass(frozen=True)
class JobStep:
    """The advance activity's input: the request and the job's state so far (None: start it)."""

    request: ShareRequest
    job: str | None


@dataclass(frozen=True)
class JobProgress:
    """What one advance did: the job's new state, and when the next advance is useful."""

    job: str
    done: bool
    phase: str
    wait_seconds: float
    #: the share's result as plain values (the fields of :class:`rdsshare.ShareResult`), when done
    result: dict[str, Any] | None = None


@dataclass(frozen=True)
class ShareStatus:
    """What the ``status`` query answers while a share runs."""

    phase: str
    advances: int
    #: seconds of the durable timer the workflow is in (0 while an advance runs)
    waiting_seconds: float
    run_name: str | None


@dataclass(frozen=True)
class ShareOutcome:
    """A finished share: its result (the fields of :class:`rdsshare.ShareResult`) and how it went."""

    result: dict[str, Any]
    advances: int
    #: the job's final state (for :func:`rdsshare.cleanup` with its manifest, or an audit)
    job: str


@dataclass(frozen=True)
class BatchRequest:
    """Several shares, each a child workflow; the batch finishes when every item has."""

    items: tuple[ShareRequest, ...]


@dataclass(frozen=True)
class BatchItemOutcome:
    """One item of a batch: its result, or the typed error it failed with (``RdsShareError.to_dict``)."""

    workflow_id: str
    ok: bool
    result: dict[str, Any] | None = None
    error: dict[str, Any] | None = None


@dataclass(frozen=True)
class BatchOutcome:
    """Every item of a batch, in the order given."""

    items: tuple[BatchItemOutcome, ...]

    @property
    def ok(self) -> bool:
        """Whether every item finished."""
        return all(item.ok for item in self.items)
