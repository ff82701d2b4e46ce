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
    #: how long the share may keep being refused by something waiting cures (the copy quota, a busy
    #: resource, throttling) before it fails with that refusal
    retry_seconds: float = 24 * 3600.0
    #: attempts of one advance whose worker failed (a crash, a lost heartbeat, an error that is not
    #: rdsshare's) before the share fails
    max_attempts: int = 20
    #: advances before the workflow continues as new, so that its history stays small (at least 1)
    advances_per_run: int = 200
    #: advances made by the runs before this one (continue-as-new carries the count)
    advances: int = 0
    #: since when (epoch seconds) the share has been refused by something waiting cures, if it is
    #: (continue-as-new carries it, so ``retry_seconds`` holds across runs)
    refused_since: float | None = None
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
    #: a refusal that waiting cures (``RdsShareError.to_dict``): the next advance, after
    #: ``wait_seconds``, tries that piece again from ``job`` (the state after the refusal)
    error: dict[str, Any] | None = None
    #: what the job has made so far, with ``error`` (``Manifest.to_dict``)
    manifest: dict[str, Any] | None = None


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
    #: what a failed item had made (``Manifest.to_dict``), for :func:`rdsshare.cleanup`
    manifest: dict[str, Any] | None = None


@dataclass(frozen=True)
class BatchOutcome:
    """Every item of a batch, in the order given."""

    items: tuple[BatchItemOutcome, ...]

    @property
    def ok(self) -> bool:
        """Whether every item finished."""
        return all(item.ok for item in self.items)
