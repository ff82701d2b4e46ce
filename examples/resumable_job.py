"""Run rdsshare from a scheduler with a time limit (Lambda + Step Functions, CI).

Each invocation makes the same call with a short wait. If AWS is still working
when the wait ends, the job reports "in-progress" and the scheduler calls again
later: deterministic names and tags make the next call adopt everything the
earlier ones started, and carry on.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from rdsshare import (
    AccountSession,
    ClusterRestoreSpec,
    WaitPolicy,
    WaitTimeoutError,
    share_cluster_snapshot,
)

#: Lambda stops a function after 15 minutes; leave room for the calls themselves.
JOB_WAIT = WaitPolicy(timeout=timedelta(minutes=10), max_interval_seconds=30)


def run_once(
    source: AccountSession,
    target: AccountSession,
    *,
    cluster_id: str,
    restore: ClusterRestoreSpec,
    run_name: str,
    wait: WaitPolicy = JOB_WAIT,
) -> dict[str, str]:
    """One bounded attempt: ``{"status": "done"}`` or ``{"status": "in-progress"}``."""
    try:
        result = share_cluster_snapshot(
            source=source,
            target=target,
            cluster_id=cluster_id,
            restore=restore,
            run_name=run_name,
            wait=wait,
        )
    except WaitTimeoutError as waiting:
        return {
            "status": "in-progress",
            "step": waiting.step or "",
            "resource": waiting.resource or "",
        }
    return {
        "status": "done",
        "target_cluster_arn": result.target_cluster_arn or "",
        "master_user_secret_arn": result.master_user_secret_arn or "",
    }


def handler(event: dict[str, Any], context: object) -> dict[str, str]:
    """AWS Lambda entry point; Step Functions calls it until ``status`` is ``done``."""
    region = event["region"]
    source = AccountSession.from_role(event["source_role_arn"], region=region)
    target = AccountSession.from_role(event["target_role_arn"], region=region)
    return run_once(
        source,
        target,
        cluster_id=event["cluster_id"],
        restore=ClusterRestoreSpec(**event["restore"]),
        # Fixed per migration, so that every invocation continues the same run.
        run_name=event["run_name"],
    )
