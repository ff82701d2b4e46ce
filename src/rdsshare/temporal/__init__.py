"""rdsshare on Temporal: a share (or a batch of them) as a workflow that outlives any one process.

``pip install 'rdsshare[temporal]'``. A worker runs :class:`ShareWorkflow` and its one activity,
which advances the share's :class:`~rdsshare.ShareJob` by a bounded piece of work; the job's state
(no secrets) lives in the workflow, and waits are durable timers, so a worker can die in the middle of
a copy and another one finishes the share, with nothing made twice. See the docs' "Workflow engines"
page::

    from temporalio.client import Client
    from rdsshare.temporal import Account, ShareRequest, new_worker, profile_sessions, share_outcome, start_share

    client = await Client.connect("localhost:7233")
    sessions = profile_sessions({"111111111111": "source", "222222222222": "target"})
    async with new_worker(client, sessions):
        handle = await start_share(client, ShareRequest(
            source=Account("111111111111"), targets=(Account("222222222222"),),
            arguments={"cluster_id": "orders", "run_name": "orders-nightly",
                       "restore": {"cluster_id": "orders", "instance_class": "db.r6g.large",
                                   "subnet_group": "app", "security_group_ids": ["sg-0123456789abcdef0"]}},
        ), workflow_id="share-orders-nightly")
        outcome = await share_outcome(handle)  # raises the share's rdsshare error if it failed
"""

from __future__ import annotations

try:
    import temporalio  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised without the extra installed
    raise ImportError("rdsshare.temporal needs the temporal extra: pip install 'rdsshare[temporal]'") from exc

from ._activities import ADVANCE, ShareActivities
from ._client import (
    TASK_QUEUE,
    new_worker,
    profile_sessions,
    rdsshare_error,
    role_sessions,
    share_outcome,
    start_batch,
    start_share,
)
from ._types import (
    Account,
    BatchItemOutcome,
    BatchOutcome,
    BatchRequest,
    JobProgress,
    JobStep,
    ShareOutcome,
    ShareRequest,
    ShareStatus,
)
from ._workflows import BatchWorkflow, ShareWorkflow

__all__ = [
    "ADVANCE",
    "TASK_QUEUE",
    "Account",
    "BatchItemOutcome",
    "BatchOutcome",
    "BatchRequest",
    "BatchWorkflow",
    "JobProgress",
    "JobStep",
    "ShareActivities",
    "ShareOutcome",
    "ShareRequest",
    "ShareStatus",
    "ShareWorkflow",
    "new_worker",
    "profile_sessions",
    "rdsshare_error",
    "role_sessions",
    "share_outcome",
    "start_batch",
    "start_share",
]
