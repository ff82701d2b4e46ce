"""The share and batch workflows: the job's state lives in the workflow, waits are durable timers.

A workflow never talks to AWS and never sleeps in a thread: it calls the advance activity, which
does one bounded piece of the job, then sleeps on a Temporal timer for as long as the job says
(``wait_seconds``, at most ``max_wait_seconds``). A worker that dies loses nothing: the next attempt
of the advance, on any worker, starts from the last state the workflow recorded, and every step of
the job finds what an earlier attempt made (deterministic names, tags, run token) before it makes
anything.
"""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, ChildWorkflowError
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from ._activities import ADVANCE
    from ._types import (
        BatchItemOutcome,
        BatchOutcome,
        BatchRequest,
        JobProgress,
        JobStep,
        ShareOutcome,
        ShareRequest,
        ShareStatus,
    )

__all__ = ["BatchWorkflow", "ShareWorkflow", "typed_failure"]

#: one advance does a bounded piece of work (a plan, a few calls); an advance without a heartbeat for
#: ``ShareRequest.heartbeat_timeout_seconds`` lost its worker, and another worker takes the next attempt
ADVANCE_TIMEOUT = timedelta(minutes=15)


def typed_failure(error: BaseException) -> BaseException:
    """The rdsshare failure inside an activity or child workflow error, as the workflow's own failure
    (same ``type`` and details), or ``error`` itself when it carries none."""
    cause = error.__cause__ if isinstance(error, (ActivityError, ChildWorkflowError)) else error
    if isinstance(cause, ApplicationError) and cause.type:
        return ApplicationError(cause.message, *cause.details, type=cause.type, non_retryable=True)
    return error


@workflow.defn(name="rdsshare.Share")
class ShareWorkflow:
    """One share: advance, sleep on a durable timer, advance..., until the job is done."""

    def __init__(self) -> None:
        self._phase = "plan"
        self._advances = 0
        self._waiting = 0.0
        self._run_name: str | None = None

    @workflow.query(name="status")
    def status(self) -> ShareStatus:
        """Where the share stands (phase, advances so far, the timer it is in)."""
        return ShareStatus(
            phase=self._phase, advances=self._advances, waiting_seconds=self._waiting, run_name=self._run_name
        )

    @workflow.run
    async def run(self, request: ShareRequest) -> ShareOutcome:
        job = request.job
        self._advances = request.advances
        self._run_name = request.arguments.get("run_name")
        # Only what no step can know about: a worker that died or lost its heartbeat, an error that is
        # not rdsshare's. A refusal waiting cures comes back as progress (below); a typed error is final.
        retry = RetryPolicy(
            initial_interval=timedelta(seconds=5),
            backoff_coefficient=2.0,
            maximum_interval=timedelta(minutes=5),
            maximum_attempts=request.max_attempts,
            non_retryable_error_types=["TypeError", "KeyError", "ValueError", "AttributeError"],
        )
        refused_since = request.refused_since
        in_this_run = 0
        while True:
            try:
                progress: JobProgress = await workflow.execute_activity(
                    ADVANCE,
                    JobStep(request=dataclasses.replace(request, job=None), job=job),
                    result_type=JobProgress,
                    start_to_close_timeout=ADVANCE_TIMEOUT,
                    heartbeat_timeout=timedelta(seconds=request.heartbeat_timeout_seconds),
                    retry_policy=retry,
                )
            except ActivityError as exc:
                raise typed_failure(exc) from exc
            job, self._phase = progress.job, progress.phase
            self._advances += 1
            in_this_run += 1
            if progress.done:
                assert progress.result is not None
                return ShareOutcome(result=progress.result, advances=self._advances, job=job)
            now = workflow.now().timestamp()
            if progress.error is None:
                refused_since = None
            else:
                refused_since = now if refused_since is None else refused_since
                if now - refused_since > request.retry_seconds:  # waited long enough: the refusal stands
                    error = progress.error
                    raise ApplicationError(
                        str(error.get("message", "")),
                        error,
                        progress.manifest,
                        type=str(error["type"]),
                        non_retryable=True,
                    )
            self._waiting = max(1.0, min(request.max_wait_seconds, progress.wait_seconds))
            await workflow.sleep(self._waiting)
            self._waiting = 0.0
            if in_this_run >= max(1, request.advances_per_run) or workflow.info().is_continue_as_new_suggested():
                workflow.continue_as_new(
                    dataclasses.replace(request, job=job, advances=self._advances, refused_since=refused_since)
                )


@workflow.defn(name="rdsshare.Batch")
class BatchWorkflow:
    """Several shares, one child workflow each, all at once; one item's failure is its own.

    The copies of many items contend for AWS's quota of concurrent copies: an item whose copy is
    refused retries on a durable timer (AWS's ``SnapshotQuotaExceeded`` is the back-pressure), so the
    batch needs no semaphore in any worker.
    """

    @workflow.run
    async def run(self, batch: BatchRequest) -> BatchOutcome:
        parent = workflow.info().workflow_id
        ids = [f"{parent}/{index}-{_label(item)}" for index, item in enumerate(batch.items)]
        # Started together (one round trip for all); cancelling the batch asks each child to stop
        # between two advances rather than killing it in the middle of one.
        handles = await asyncio.gather(
            *(
                workflow.start_child_workflow(
                    ShareWorkflow.run, item, id=child_id, parent_close_policy=ParentClosePolicy.REQUEST_CANCEL
                )
                for child_id, item in zip(ids, batch.items, strict=True)
            )
        )
        settled = await asyncio.gather(*handles, return_exceptions=True)
        items = []
        for child_id, outcome in zip(ids, settled, strict=True):
            if isinstance(outcome, ShareOutcome):
                items.append(BatchItemOutcome(workflow_id=child_id, ok=True, result=outcome.result))
                continue
            failure = typed_failure(outcome) if isinstance(outcome, BaseException) else outcome
            details = failure.details if isinstance(failure, ApplicationError) else ()
            made: Any = None
            if details and isinstance(details[0], dict):
                error, made = dict(details[0]), details[1] if len(details) > 1 else None
            else:
                cause = (failure.__cause__ if isinstance(failure, ChildWorkflowError) else None) or failure
                error = {"type": type(cause).__name__, "message": str(cause)}
            manifest = dict(made) if isinstance(made, dict) else None
            items.append(BatchItemOutcome(workflow_id=child_id, ok=False, error=error, manifest=manifest))
        return BatchOutcome(items=tuple(items))


def _label(item: ShareRequest) -> str:
    args = item.arguments
    return str(args.get("run_name") or args.get("cluster_id") or args.get("instance_id") or "share")
