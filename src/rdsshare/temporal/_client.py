"""Running the workflows: a worker, starting a share or a batch, and its result as rdsshare types."""

from __future__ import annotations

import concurrent.futures
from collections.abc import Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from temporalio.client import Client, WorkflowFailureError, WorkflowHandle
from temporalio.exceptions import ApplicationError
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from .._engine import SessionFor, profile_sessions, role_sessions
from .._errors import RdsShareError, error_from_dict
from ._activities import ShareActivities
from ._types import BatchOutcome, BatchRequest, ShareOutcome, ShareRequest
from ._workflows import BatchWorkflow, ShareWorkflow

if TYPE_CHECKING:
    from .._schedule import WaitPolicy

__all__ = [
    "TASK_QUEUE",
    "new_worker",
    "profile_sessions",
    "rdsshare_error",
    "role_sessions",
    "share_outcome",
    "start_batch",
    "start_share",
]

#: the task queue rdsshare's workers poll unless told otherwise
TASK_QUEUE = "rdsshare"


def new_worker(
    client: Client,
    sessions: SessionFor,
    *,
    task_queue: str = TASK_QUEUE,
    max_concurrent_advances: int = 8,
    max_advances_per_second: float | None = None,
    wait: WaitPolicy | None = None,
    sticky_timeout: timedelta = timedelta(seconds=2),
) -> Worker:
    """A worker that runs rdsshare's workflows and its advance activity.

    ``sessions`` makes each account's session from this worker's environment.
    ``max_concurrent_advances`` bounds the advances this worker runs at once (its thread pool);
    ``max_advances_per_second`` is Temporal's rate limit for the whole task queue, across every
    worker (``max_task_queue_activities_per_second``): the knob for AWS's API rate limits when many
    workers run many shares. ``sticky_timeout``: how long a workflow task waits for the worker that
    ran the share last before any worker takes it (Temporal's default is 10 s; a share's workflow is
    small, so replaying it elsewhere is cheap, and a killed worker is replaced sooner). Run it with
    ``async with worker:`` or ``await worker.run()``.
    """
    activities = ShareActivities(sessions, wait=wait)
    executor = concurrent.futures.ThreadPoolExecutor(max_workers=max_concurrent_advances, thread_name_prefix="rdsshare")
    # rdsshare's modules are deterministic to import: take them from outside the sandbox (with boto3,
    # which the activities use), not re-import them for every workflow run.
    restrictions = SandboxRestrictions.default.with_passthrough_modules("rdsshare", "boto3", "botocore", "attrs")
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[ShareWorkflow, BatchWorkflow],
        activities=[activities.advance],
        activity_executor=executor,
        max_concurrent_activities=max_concurrent_advances,
        max_task_queue_activities_per_second=max_advances_per_second,
        workflow_runner=SandboxedWorkflowRunner(restrictions=restrictions),
        sticky_queue_schedule_to_start_timeout=sticky_timeout,
    )


async def start_share(
    client: Client, request: ShareRequest, *, workflow_id: str, task_queue: str = TASK_QUEUE
) -> WorkflowHandle[ShareWorkflow, ShareOutcome]:
    """Start one share; the workflow id is the share's name in Temporal (starting it again while it
    runs is refused by Temporal, so one share cannot run twice)."""
    return await client.start_workflow(ShareWorkflow.run, request, id=workflow_id, task_queue=task_queue)


async def start_batch(
    client: Client, batch: BatchRequest, *, workflow_id: str, task_queue: str = TASK_QUEUE
) -> WorkflowHandle[BatchWorkflow, BatchOutcome]:
    """Start a batch: one child workflow per item (ids ``<workflow_id>/<index>-<run name>``)."""
    return await client.start_workflow(BatchWorkflow.run, batch, id=workflow_id, task_queue=task_queue)


async def share_outcome(handle: WorkflowHandle[Any, ShareOutcome]) -> ShareOutcome:
    """Wait for a share's workflow; a share that failed raises its rdsshare error (its class, step,
    account, resource, AWS code and fix), chained to Temporal's failure."""
    try:
        return await handle.result()
    except WorkflowFailureError as exc:
        raise rdsshare_error(exc) from exc


def rdsshare_error(exc: WorkflowFailureError) -> RdsShareError:
    """The rdsshare error a failed workflow carries, with ``.manifest``: what the share had made (for
    :func:`rdsshare.cleanup`); an :class:`~rdsshare.RdsShareError` naming the workflow's failure when
    it carries none."""
    cause: BaseException | None = exc.cause
    while cause is not None and not (isinstance(cause, ApplicationError) and cause.details):
        cause = cause.__cause__
    if isinstance(cause, ApplicationError) and isinstance(cause.details[0], Mapping):
        error = error_from_dict(cause.details[0])
        if len(cause.details) > 1 and isinstance(cause.details[1], Mapping):
            from .._manifest import Manifest

            error.manifest = Manifest.from_dict(cause.details[1])  # what the share made before it failed
        return error
    return RdsShareError(str(exc.cause or exc), step="workflow", fix="see the workflow's history in Temporal")
