"""rdsshare on Temporal, against a real Temporal dev server and the server-mode test bed.

A share completes; a worker killed (SIGKILL) in the middle of the copy wait is replaced by another
that finishes the share with one snapshot, one copy, one cluster and one secret; a batch completes
with per-item results; a failure surfaces as the typed rdsshare error; a copy refused by the quota
of concurrent copies is retried by Temporal, not slept on in a worker.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest

pytest.importorskip("temporalio")

from temporalio.client import Client
from temporalio.exceptions import ApplicationError

from rdsshare import AccessDeniedError, InputError, NotFoundError, QuotaExceededError
from rdsshare.temporal import (
    Account,
    BatchRequest,
    ShareOutcome,
    ShareRequest,
    ShareStatus,
    new_worker,
    profile_sessions,
    share_outcome,
    start_batch,
    start_share,
)
from rdsshare.testing import EmulatedAWS

from ..accounts import SOURCE, TARGET
from ..flow.helpers import mutating_calls
from .worker_main import PROFILES, spawn

pytestmark = pytest.mark.temporal
ROOT = Path(__file__).resolve().parents[2]
T = TypeVar("T")
#: one snapshot (and its copy: 2 manual snapshots), one copy, one cluster, one restore, one secret
ONE_OF_EACH = {
    "source snapshots": 2,
    "snapshots taken": 1,
    "copies started": 1,
    "target clusters": 1,
    "restores": 1,
    "secrets": 1,
}


def _run(make: Callable[[], Awaitable[T]]) -> T:
    return asyncio.run(asyncio.wait_for(make(), timeout=240))


def _request(aws: EmulatedAWS, cluster: str, *, run_name: str | None = None, **more: Any) -> ShareRequest:
    net = aws.create_network(TARGET, f"{cluster}-net")
    restore = {
        "cluster_id": f"{cluster}-copy",
        "instance_class": "db.t3.medium",
        "subnet_group": net.subnet_group,
        "security_group_ids": [net.security_group_id],
    }
    return ShareRequest(
        source=Account(SOURCE),
        targets=(Account(TARGET),),
        arguments={"cluster_id": cluster, "run_name": run_name or cluster, "restore": restore},
        max_wait_seconds=2.0,
        heartbeat_timeout_seconds=5.0,
        **more,
    )


def _counts(aws: EmulatedAWS) -> dict[str, int]:
    rds_a, rds_b = aws.client(SOURCE, "rds"), aws.client(TARGET, "rds")
    manual = rds_a.describe_db_cluster_snapshots(SnapshotType="manual")["DBClusterSnapshots"]
    secrets = aws.session(TARGET).client("secretsmanager").list_secrets()["SecretList"]
    calls = Counter(c.operation for c in aws.calls)
    return {
        "source snapshots": len(manual),
        "snapshots taken": calls["CreateDBClusterSnapshot"],
        "copies started": calls["CopyDBClusterSnapshot"],
        "target clusters": len(rds_b.describe_db_clusters()["DBClusters"]),
        "restores": calls["RestoreDBClusterFromSnapshot"],
        "secrets": len(secrets),
    }


def _share_on_a_worker(address: str, request: ShareRequest) -> tuple[ShareOutcome, ShareStatus]:
    """Run one share on a worker in this process: its outcome (or its rdsshare error) and last status."""
    queue = f"q-{uuid.uuid4().hex[:8]}"

    async def go() -> tuple[ShareOutcome, ShareStatus]:
        client = await Client.connect(address)
        async with new_worker(client, profile_sessions(PROFILES), task_queue=queue):
            handle = await start_share(client, request, workflow_id=f"share-{queue}", task_queue=queue)
            outcome = await share_outcome(handle)
            return outcome, await handle.query("status", result_type=ShareStatus)

    return _run(go)


def test_a_share_completes_on_a_worker(temporal_server: str, profiled_bed: EmulatedAWS) -> None:
    aws = profiled_bed
    aws.create_cluster(SOURCE, "orders")
    request = _request(aws, "orders")
    aws.operation_seconds = 0.5  # each AWS operation takes a moment: the workflow waits on timers
    outcome, status = _share_on_a_worker(temporal_server, request)
    result = outcome.result
    assert result["target_cluster_arn"].endswith(":cluster:orders-copy")
    assert result["master_user_secret_arn"]
    assert result["target_kms_key_arn"].split(":")[4] == TARGET  # the target's own key
    assert outcome.advances >= 4
    assert status.phase == "done"
    assert status.advances == outcome.advances
    assert _counts(aws) == ONE_OF_EACH
    assert "SecretString" not in outcome.job
    assert "aws_secret_access_key" not in outcome.job.lower()


def _worker(address: str, queue: str) -> subprocess.Popen[str]:
    return spawn(address, queue, env={**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])})


def test_a_worker_killed_during_the_copy_wait_is_replaced_and_nothing_is_made_twice(
    temporal_server: str, profiled_bed: EmulatedAWS
) -> None:
    aws = profiled_bed
    aws.create_cluster(SOURCE, "orders")
    request = _request(aws, "orders")
    aws.operation_seconds = 0.3
    queue = f"q-{uuid.uuid4().hex[:8]}"
    first = _worker(temporal_server, queue)
    second: subprocess.Popen[str] | None = None
    in_flight: list[str] = []
    try:

        async def go() -> tuple[Any, str, float]:
            nonlocal second
            client = await Client.connect(temporal_server)
            handle = await start_share(client, request, workflow_id=f"share-{queue}", task_queue=queue)
            while True:  # until the copy is under way and the workflow sleeps on its timer
                status = await handle.query("status", result_type=ShareStatus)
                if status.phase in ("snapshot", "key"):
                    aws.operation_seconds = 8.0  # the copy takes a while: the worker dies in the middle of it
                if status.phase == "copy" and status.waiting_seconds > 0:
                    break
                await asyncio.sleep(0.05)
            first.send_signal(signal.SIGKILL)
            first.wait()
            snapshots = aws.client(SOURCE, "rds").describe_db_cluster_snapshots(SnapshotType="manual")
            in_flight.extend(s["Status"] for s in snapshots["DBClusterSnapshots"] if s["Status"] != "available")
            aws.operation_seconds = 0.3
            killed_at = time.monotonic()
            phase_at_kill = status.phase
            second = _worker(temporal_server, queue)
            outcome = await share_outcome(handle)
            return outcome, phase_at_kill, killed_at

        outcome, phase_at_kill, _killed_at = _run(go)
    finally:
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait()
    assert first.returncode == -signal.SIGKILL
    assert phase_at_kill == "copy"
    assert outcome.result["target_cluster_arn"].endswith(":cluster:orders-copy")
    assert _counts(aws) == ONE_OF_EACH


def test_a_batch_completes_with_one_result_per_item(temporal_server: str, profiled_bed: EmulatedAWS) -> None:
    aws = profiled_bed
    names = ["orders", "billing", "users"]
    for name in names:
        aws.create_cluster(SOURCE, name)
    batch = BatchRequest(items=(*tuple(_request(aws, name) for name in names), _request(aws, "missing")))
    queue = f"q-{uuid.uuid4().hex[:8]}"

    async def go() -> Any:
        client = await Client.connect(temporal_server)
        async with new_worker(client, profile_sessions(PROFILES), task_queue=queue):
            handle = await start_batch(client, batch, workflow_id=f"batch-{queue}", task_queue=queue)
            return await handle.result()

    outcome = _run(go)
    assert [item.ok for item in outcome.items] == [True, True, True, False]
    assert not outcome.ok
    for name, item in zip(names, outcome.items, strict=False):
        assert item.workflow_id.endswith(f"-{name}")
        assert item.result is not None
        assert item.result["target_cluster_arn"].endswith(f":cluster:{name}-copy")
    failed = outcome.items[3].error
    assert failed is not None
    assert failed["type"] == "PreflightError"
    assert failed["step"] == "preflight"
    rds_b = aws.client(TARGET, "rds")
    assert sorted(c["DBClusterIdentifier"] for c in rds_b.describe_db_clusters()["DBClusters"]) == sorted(
        f"{n}-copy" for n in names
    )


def test_a_failed_share_raises_its_typed_error_before_any_write(
    temporal_server: str, profiled_bed: EmulatedAWS
) -> None:
    aws = profiled_bed
    request = _request(aws, "missing")  # no such cluster in the source
    before = len(mutating_calls(aws))

    with pytest.raises(InputError) as caught:  # PreflightError, carried as its nearest plain class
        _share_on_a_worker(temporal_server, request)
    error = caught.value
    assert error.step == "preflight"
    assert error.account_id == SOURCE
    assert "missing" in str(error)
    assert isinstance(error.__cause__, Exception)  # chained to Temporal's failure
    assert mutating_calls(aws)[before:] == []
    assert error.manifest is not None
    assert error.manifest.entries == ()


def test_a_failure_after_writes_carries_what_the_share_made(temporal_server: str, profiled_bed: EmulatedAWS) -> None:
    aws = profiled_bed
    aws.create_cluster(SOURCE, "orders")
    request = _request(aws, "orders")
    aws.inject_fault("rds", "RestoreDBClusterFromSnapshot", "AccessDenied", status=403, times=1)

    with pytest.raises(AccessDeniedError) as caught:  # final: not retried
        _share_on_a_worker(temporal_server, request)
    error = caught.value
    assert (error.account_id, error.error_code) == (TARGET, "AccessDenied")
    assert error.manifest is not None
    made = sorted({e.kind for e in error.manifest.entries if e.created})
    assert "cluster-snapshot" in made  # the snapshot and its copy, for rdsshare.cleanup
    assert Counter(c.operation for c in aws.calls)["RestoreDBClusterFromSnapshot"] == 1


def test_a_copy_refused_by_the_quota_is_retried_by_temporal() -> None:
    """The activity raises a retryable failure with a delay; a final quota is not retried."""
    from rdsshare._engine import retry_after

    copies = QuotaExceededError(
        "Cannot copy more than 5 snapshots at a time", step="copy", error_code="SnapshotQuotaExceeded"
    )
    manual = QuotaExceededError(
        "Cannot create more than 100 manual snapshots", step="copy", error_code="SnapshotQuotaExceeded"
    )
    assert retry_after(copies) == 60.0
    assert retry_after(manual) is None
    assert retry_after(NotFoundError("gone", step="restore", error_code="DBClusterSnapshotNotFoundFault")) is None

    from rdsshare.temporal import _activities

    failure = _activities._failure(copies, attempt=1)
    assert isinstance(failure, ApplicationError)
    assert (failure.type, failure.non_retryable) == ("QuotaExceededError", False)
    assert failure.next_retry_delay is not None
    assert failure.next_retry_delay.total_seconds() == 60.0
    assert failure.details[0]["error_code"] == "SnapshotQuotaExceeded"
    final = _activities._failure(manual, attempt=1)
    assert final.non_retryable
    assert final.next_retry_delay is None
    assert json.loads(json.dumps(final.details[0]))["message"].startswith("Cannot create")


def test_importing_rdsshare_pulls_in_neither_engine() -> None:
    code = (
        "import sys, rdsshare\n"
        "from rdsshare import ShareJob, share_cluster_snapshot\n"
        "loaded = [m for m in sys.modules if m.split('.')[0] in ('temporalio', 'aws_durable_execution_sdk_python')]\n"
        "print(loaded)\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
    # ... while each integration does load its engine
    code = "import sys, rdsshare.temporal\nprint('temporalio' in sys.modules)\n"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True"


def test_a_copy_refused_by_the_quota_waits_on_timers_and_then_goes_on(
    temporal_server: str, profiled_bed: EmulatedAWS
) -> None:
    aws = profiled_bed
    aws.create_cluster(SOURCE, "orders")
    request = _request(aws, "orders")
    message = "Cannot copy more than 5 snapshots across regions"
    aws.inject_fault("rds", "CopyDBClusterSnapshot", "SnapshotQuotaExceeded", message=message, times=2)
    outcome, _status = _share_on_a_worker(temporal_server, request)
    assert outcome.result["target_cluster_arn"].endswith(":cluster:orders-copy")
    assert _counts(aws) == {**ONE_OF_EACH, "copies started": 3}  # refused twice, then made: one copy


def test_a_refusal_that_outlasts_retry_seconds_fails_the_share_typed(
    temporal_server: str, profiled_bed: EmulatedAWS
) -> None:
    aws = profiled_bed
    aws.create_cluster(SOURCE, "orders")
    request = dataclasses.replace(_request(aws, "orders"), retry_seconds=1.5)
    message = "Cannot copy more than 5 snapshots across regions"
    aws.inject_fault("rds", "CopyDBClusterSnapshot", "SnapshotQuotaExceeded", message=message, times=50)
    with pytest.raises(QuotaExceededError) as caught:
        _share_on_a_worker(temporal_server, request)
    error = caught.value
    assert (error.step, error.error_code) == ("copy", "SnapshotQuotaExceeded")
    assert error.manifest is not None
    assert any(e.kind == "cluster-snapshot" for e in error.manifest.entries)  # the snapshot it took
    assert 2 <= Counter(c.operation for c in aws.calls)["CopyDBClusterSnapshot"] < 50


def test_continue_as_new_keeps_the_share_and_its_count(temporal_server: str, profiled_bed: EmulatedAWS) -> None:
    aws = profiled_bed
    aws.create_cluster(SOURCE, "orders")
    request = dataclasses.replace(_request(aws, "orders"), advances_per_run=2)
    aws.operation_seconds = 0.5
    outcome, status = _share_on_a_worker(temporal_server, request)
    assert outcome.result["target_cluster_arn"].endswith(":cluster:orders-copy")
    assert outcome.advances >= 4  # over at least two runs
    assert status.advances == outcome.advances
    assert _counts(aws) == ONE_OF_EACH
