"""A share that outlives its process: how soon it goes on after the process dies, and at what cost.

Three ways to survive a crash during the copy wait, each on a fresh server-mode bed where every AWS
operation takes ``operation_seconds`` (the copy longer, so that the crash falls inside it):

* **Temporal**: a worker process (rdsshare.temporal) is killed with SIGKILL while the workflow sleeps
  on its timer in the copy wait; a new worker process starts at once. Measured: from the kill until
  the first advance after it has finished, and the AWS calls in that window.
* **rerun the call** (what a user without an engine does, e.g. a scheduler running the same
  ``share_cluster_snapshot`` again): a new process starts the same share from scratch; it plans again,
  finds the snapshot and the copy under their deterministic names, and is back in the copy wait.
  Measured: from its start until its first advance returns in the copy phase, and its AWS calls.
* **Lambda durable function** (rdsshare.aws_lambda, in the SDK's local runner): no process has to
  survive; each check resumes from the checkpointed job. Measured: AWS calls per check in the copy wait.

Calls exclude STS (identities, made once per process by each side's session).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rdsshare.testing import EmulatedAWS

from .common import REGION, SOURCE, TARGET, server_bed

ROOT = Path(__file__).resolve().parent.parent
PROFILES = {SOURCE: "rdsshare-source", TARGET: "rdsshare-target"}
#: the copy takes this many operations' time, so that the crash and the resume fall inside it
COPY_FACTOR = 10


@dataclass(frozen=True)
class Resume:
    """One way of going on after the process running a share died in its copy wait."""

    way: str
    #: from the kill (Temporal) or the new process's start (rerun) until the share is back in the copy
    #: wait with a step done; None where no process has to survive (Lambda)
    seconds: float | None
    #: AWS calls (STS excluded) of the first step after the resume (Lambda: per check in the copy wait)
    calls: float
    #: what the calls were
    detail: str
    #: snapshots, copies and clusters made in all (1 / 1 / 1 when nothing was made twice)
    made: tuple[int, int, int]


def _env(aws: EmulatedAWS, directory: Path) -> dict[str, str]:
    from rdsshare.testing._emulator import write_profiles

    config, credentials = write_profiles(aws, directory)
    return {
        **os.environ,
        "AWS_CONFIG_FILE": str(config),
        "AWS_SHARED_CREDENTIALS_FILE": str(credentials),
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)]),
    }


def _restore(aws: EmulatedAWS) -> dict[str, Any]:
    net = aws.create_network(TARGET, "orders-net")
    return {
        "cluster_id": "orders-copy",
        "instance_class": "db.t3.medium",
        "subnet_group": net.subnet_group,
        "security_group_ids": [net.security_group_id],
    }


def _made(aws: EmulatedAWS) -> tuple[int, int, int]:
    calls = Counter(c.operation for c in aws.calls)
    return calls["CreateDBClusterSnapshot"], calls["CopyDBClusterSnapshot"], calls["RestoreDBClusterFromSnapshot"]


def _calls(aws: EmulatedAWS, since: int) -> list[str]:
    return [c.operation for c in aws.calls[since:] if c.service != "sts"]


def _detail(ops: list[str]) -> str:
    return ", ".join(f"{op} x{n}" if n > 1 else op for op, n in Counter(ops).most_common())


def temporal(operation_seconds: float) -> Resume:
    """Kill the worker in the copy wait; a new worker process goes on."""
    from temporalio.client import Client
    from temporalio.testing import WorkflowEnvironment

    from rdsshare.temporal import Account, ShareRequest, ShareStatus, share_outcome, start_share

    cli = str(Path(sys.executable).parent / "temporal")
    with server_bed() as aws, tempfile.TemporaryDirectory() as tmp:
        aws.create_cluster(SOURCE, "orders")
        request = ShareRequest(
            source=Account(SOURCE),
            targets=(Account(TARGET),),
            arguments={"cluster_id": "orders", "run_name": "orders", "restore": _restore(aws)},
            max_wait_seconds=2.0,
            heartbeat_timeout_seconds=5.0,
        )
        aws.operation_seconds = operation_seconds
        env = _env(aws, Path(tmp))
        queue = f"bench-{uuid.uuid4().hex[:8]}"

        def worker(address: str) -> subprocess.Popen[str]:
            from tests.engines.worker_main import spawn

            return spawn(address, queue, env=env)

        async def go() -> tuple[float, int, int]:
            server = await WorkflowEnvironment.start_local(dev_server_existing_path=cli, ip="127.0.0.1", ui=False)
            procs: list[subprocess.Popen[str]] = []
            try:
                address = server.client.service_client.config.target_host
                procs.append(worker(address))
                client = await Client.connect(address)
                handle = await start_share(client, request, workflow_id=f"share-{queue}", task_queue=queue)
                while True:
                    status = await handle.query("status", result_type=ShareStatus)
                    if status.phase in ("snapshot", "key"):
                        aws.operation_seconds = COPY_FACTOR * operation_seconds  # the copy: long enough to die in
                    if status.phase == "copy" and status.waiting_seconds > 0:
                        break
                    await asyncio.sleep(0.02)
                procs[0].send_signal(signal.SIGKILL)
                procs[0].wait()
                killed, since, advances = time.monotonic(), len(aws.calls), status.advances
                aws.operation_seconds = operation_seconds
                procs.append(worker(address))
                while (await handle.query("status", result_type=ShareStatus)).advances == advances:
                    await asyncio.sleep(0.02)
                resumed, upto = time.monotonic() - killed, len(aws.calls)
                await share_outcome(handle)
                return resumed, since, upto
            finally:
                for proc in procs:
                    if proc.poll() is None:
                        proc.kill()
                        proc.wait()
                await server.shutdown()

        seconds, since, upto = asyncio.run(go())
        ops = [c.operation for c in aws.calls[since:upto] if c.service != "sts"]
        return Resume("Temporal: a new worker process", seconds, len(ops), _detail(ops), _made(aws))


RERUN = textwrap.dedent(
    """
    import json, sys, time
    from rdsshare import AccountSession, ClusterRestoreSpec, ShareJob
    source = AccountSession.from_profile("rdsshare-source")
    target = AccountSession.from_profile("rdsshare-target")
    job = ShareJob.start(source=source, target=target, cluster_id="orders", run_name="orders",
                         restore=ClusterRestoreSpec(**json.loads(sys.argv[1])))
    step = job.advance()
    while step.phase != "copy" and not step.done:
        step = job.advance()
    print(step.phase, flush=True)  # back in the copy wait: the parent counts, then lets it finish
    sys.stdin.readline()
    while not step.done:
        time.sleep(step.wait_seconds)
        step = job.advance()
    print("done", flush=True)
    """
)


def rerun(operation_seconds: float) -> Resume:
    """The process dies in the copy wait; the same share is started again in a new process."""
    from rdsshare import AccountSession, ClusterRestoreSpec, ShareJob

    with server_bed() as aws, tempfile.TemporaryDirectory() as tmp:
        aws.create_cluster(SOURCE, "orders")
        restore = _restore(aws)
        env = _env(aws, Path(tmp))
        aws.operation_seconds = operation_seconds
        source = AccountSession(aws.session(SOURCE), endpoint_url=aws.endpoint_url)
        target = AccountSession(aws.session(TARGET), endpoint_url=aws.endpoint_url)
        job = ShareJob.start(
            source=source, target=target, cluster_id="orders", run_name="orders", restore=ClusterRestoreSpec(**restore)
        )
        while job.phase != "copy":
            if job.phase in ("snapshot", "key"):
                aws.operation_seconds = COPY_FACTOR * operation_seconds
            step = job.advance()
            if step.phase != "copy":
                time.sleep(step.wait_seconds)
        aws.operation_seconds = operation_seconds
        del job  # the process that ran it is gone
        since, started = len(aws.calls), time.monotonic()
        proc = subprocess.Popen(
            [sys.executable, "-c", RERUN, json.dumps(restore)],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert proc.stdin is not None
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "copy"
        seconds, upto = time.monotonic() - started, len(aws.calls)
        proc.stdin.write("go\n")
        proc.stdin.flush()
        assert proc.stdout.readline().strip() == "done"
        proc.wait()
        ops = [c.operation for c in aws.calls[since:upto] if c.service != "sts"]
        return Resume("rerun the call: a new process, planned again", seconds, len(ops), _detail(ops), _made(aws))


def aws_lambda(operation_seconds: float) -> Resume:
    """The durable function in the SDK's runner: calls per check while the copy runs."""
    from aws_durable_execution_sdk_python_testing.runner import DurableFunctionTestRunner

    import rdsshare.aws_lambda._handler as handler_module
    from rdsshare._engine import profile_sessions

    with server_bed() as aws, tempfile.TemporaryDirectory() as tmp:
        aws.create_cluster(SOURCE, "orders")
        event = {
            "source": {"account_id": SOURCE},
            "targets": [{"account_id": TARGET}],
            "region": REGION,
            "arguments": {"cluster_id": "orders", "run_name": "orders", "restore": _restore(aws)},
            "max_wait_seconds": 2,
        }
        saved = {k: os.environ.get(k) for k in ("AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE")}
        env = _env(aws, Path(tmp))
        os.environ.update({k: env[k] for k in saved})
        checks: list[tuple[str, int]] = []
        names = vars(handler_module)
        real = names["advance_once"]

        def counted(job: Any) -> dict[str, Any]:
            before = len(aws.calls)
            out: dict[str, Any] = real(job)
            checks.append((str(out["phase"]), len([c for c in aws.calls[before:] if c.service != "sts"])))
            return out

        names["advance_once"] = counted
        aws.operation_seconds = operation_seconds
        try:
            handler = handler_module.durable_share_handler(profile_sessions(PROFILES))
            with DurableFunctionTestRunner(handler=handler, skip_time=True) as runner:
                result = runner.run(input=json.dumps(event), execution_timeout=300)
            assert result.status.value == "SUCCEEDED", result.error
        finally:
            names["advance_once"] = real
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
        in_copy = [n for phase, n in checks if phase == "copy"][1:]  # the first made the copy
        per_check = sum(in_copy) / len(in_copy) if in_copy else 0.0
        detail = f"{len(checks)} checks in all, {len(in_copy)} in the copy wait"
        return Resume("Lambda durable function: each check", None, per_check, detail, _made(aws))


def run_all(operation_seconds: float) -> list[Resume]:
    return [temporal(operation_seconds), rerun(operation_seconds), aws_lambda(operation_seconds)]


def section(results: list[Resume], operation_seconds: float) -> list[str]:
    """The Performance page's section on engines."""
    lines = [
        "## Resuming after a crash: workflow engines",
        "",
        f"A process running a share dies in the copy wait (operations of {operation_seconds:g} s, the copy "
        f"{COPY_FACTOR * operation_seconds:g} s). Temporal's new worker continues from the state the workflow holds; a "
        "rerun of the same call plans again and finds what the first run made by its deterministic names; a "
        "Lambda durable function needs no surviving process at all. `benchmarks/engines.py` measures it.",
        "",
        "| way | time to go on | AWS calls of the first step after it | what they were "
        "| snapshot / copy / restore made |",
        "|---|---|---|---|---|",
    ]
    for r in results:
        seconds = f"{r.seconds:.1f} s" if r.seconds is not None else "no process to replace"
        calls = f"{r.calls:.1f} per check" if r.seconds is None else f"{r.calls:.0f}"
        lines.append(f"| {r.way} | {seconds} | {calls} | {r.detail} | {' / '.join(map(str, r.made))} |")
    lines += [
        "",
        "Temporal's time includes starting the new worker process (importing Python, boto3 and temporalio) and "
        "the rest of the workflow's durable timer (at most `max_wait_seconds`, 2 s here); on a fleet, a worker "
        "already running picks the share up without that start. The rerun's time is its process start plus the "
        "whole plan again; its calls are the preflight's reads plus adopting the snapshot and the copy.",
        "",
    ]
    return lines


def summary_row(results: list[Resume]) -> str:
    """The summary table's row: nothing made twice, the resumed step no dearer than a poll."""
    temporal_run, rerun_run, lambda_run = results
    ok = all(r.made == (1, 1, 1) for r in results) and temporal_run.calls <= 2 and lambda_run.calls <= 2
    return (
        "| a process dies in the copy wait: going on with Temporal (new worker) / a Lambda durable function "
        "| nothing made twice; the first step after it no dearer than a poll (at most 2 calls) "
        f"| Temporal {temporal_run.seconds or 0:.1f} s, {temporal_run.calls:.0f} call(s); Lambda "
        f"{lambda_run.calls:.1f} calls per check "
        f"| rerun the call {rerun_run.seconds or 0:.1f} s, {rerun_run.calls:.0f} calls | {_yes(ok)} |"
    )


def _yes(ok: bool) -> str:
    return "yes" if ok else "**no**"
