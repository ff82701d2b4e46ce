"""Run rdsshare from a scheduler with a time limit (Lambda + Step Functions, cron, CI).

A share is a job (:class:`rdsshare.ShareJob`): each invocation advances it as far as it goes
without waiting, saves its state (plain JSON, no secrets) and says when to call again. The
scheduler waits that long (a Step Functions ``Wait`` state, a cron interval) and passes the
state back; the next invocation, in any process, continues exactly there: no step is planned,
made or waited for twice, and nothing runs (or is paid for) while AWS copies.
"""

from __future__ import annotations

from typing import Any

from rdsshare import AccountSession, ClusterRestoreSpec, ShareJob


def advance(
    source: AccountSession,
    target: AccountSession,
    *,
    job_state: str | None,
    cluster_id: str,
    restore: ClusterRestoreSpec,
    run_name: str,
) -> dict[str, Any]:
    """One invocation: start the job (``job_state=None``) or continue it, and say what is next."""
    if job_state is None:
        job = ShareJob.start(source=source, target=target, cluster_id=cluster_id, restore=restore, run_name=run_name)
    else:
        job = ShareJob.from_json(job_state, source=source, target=target)
    step = job.advance()
    out: dict[str, Any] = {"job": job.to_json(), "phase": step.phase}
    if not step.done:
        # Never less than 5 s between invocations, never more than 5 minutes.
        return {**out, "status": "in-progress", "wait_seconds": int(min(300, max(5, step.wait_seconds)))}
    result = job.result
    return {
        **out,
        "status": "done",
        "target_cluster_arn": result.target_cluster_arn or "",
        "master_user_secret_arn": result.master_user_secret_arn or "",
    }


def handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    """AWS Lambda entry point. Step Functions loops: invoke, then ``Wait`` ``SecondsPath: $.wait_seconds``,
    until ``status`` is ``done``, passing the output back as the next input."""
    region = event["region"]
    source = AccountSession.from_role(event["source_role_arn"], region=region)
    target = AccountSession.from_role(event["target_role_arn"], region=region)
    outcome = advance(
        source,
        target,
        job_state=event.get("job"),
        cluster_id=event["cluster_id"],
        restore=ClusterRestoreSpec(**event["restore"]),
        # Fixed per migration: names derive from it, so even a lost job state resumes by rerunning.
        run_name=event["run_name"],
    )
    return {**event, **outcome}
