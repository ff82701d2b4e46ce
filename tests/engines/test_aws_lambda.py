"""rdsshare as an AWS Lambda durable function, in the SDK's own test runner, against the server-mode
test bed: a share completes with one snapshot, one copy, one cluster and one secret over many short
checks; a copy refused by the quota of concurrent copies is checked again later, not slept on; a
failed share fails the execution with the rdsshare error's class before any write; a malformed
event fails before any AWS call."""

from __future__ import annotations

import json
import sys
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest

if sys.version_info < (3, 11):  # pragma: no cover
    pytest.skip("the AWS durable execution SDK needs Python 3.11+", allow_module_level=True)
pytest.importorskip("aws_durable_execution_sdk_python")
pytest.importorskip("aws_durable_execution_sdk_python_testing")

from aws_durable_execution_sdk_python.lambda_service import InvocationStatus
from aws_durable_execution_sdk_python_testing.runner import DurableFunctionTestRunner

from rdsshare import WaitPolicy
from rdsshare._engine import profile_sessions
from rdsshare.aws_lambda import durable_share_handler
from rdsshare.testing import EmulatedAWS

from ..accounts import SOURCE, TARGET
from ..flow.helpers import mutating_calls
from .worker_main import PROFILES

pytestmark = pytest.mark.aws_lambda
#: no call retries a refusal in place: the check fails and the function is suspended until the next
NO_IN_CALL_RETRY = WaitPolicy(retry_for=timedelta(0))


def _event(aws: EmulatedAWS, cluster: str) -> dict[str, Any]:
    net = aws.create_network(TARGET, f"{cluster}-net")
    return {
        "source": {"account_id": SOURCE},
        "targets": [{"account_id": TARGET}],
        "region": aws.region,
        "arguments": {
            "cluster_id": cluster,
            "run_name": cluster,
            "restore": {
                "cluster_id": f"{cluster}-copy",
                "instance_class": "db.t3.medium",
                "subnet_group": net.subnet_group,
                "security_group_ids": [net.security_group_id],
            },
        },
        "max_wait_seconds": 2,
    }


def _run(event: Any) -> Any:
    handler = durable_share_handler(profile_sessions(PROFILES), wait=NO_IN_CALL_RETRY)
    with DurableFunctionTestRunner(handler=handler, skip_time=True) as runner:
        return runner.run(input=json.dumps(event), execution_timeout=180)


def _made(aws: EmulatedAWS) -> dict[str, int]:
    manual = aws.client(SOURCE, "rds").describe_db_cluster_snapshots(SnapshotType="manual")["DBClusterSnapshots"]
    clusters = aws.client(TARGET, "rds").describe_db_clusters()["DBClusters"]
    secrets = aws.session(TARGET).client("secretsmanager").list_secrets()["SecretList"]
    return {"source snapshots": len(manual), "target clusters": len(clusters), "secrets": len(secrets)}


def test_a_share_completes_over_many_short_checks(profiled_bed: EmulatedAWS) -> None:
    aws = profiled_bed
    aws.create_cluster(SOURCE, "orders")
    event = _event(aws, "orders")
    aws.operation_seconds = 0.3  # every AWS operation takes a moment: the function is suspended meanwhile
    result = _run(event)
    assert result.status is InvocationStatus.SUCCEEDED, result.error
    out = json.loads(result.result)
    assert out["result"]["target_cluster_arn"].endswith(":cluster:orders-copy")
    assert out["result"]["target_kms_key_arn"].split(":")[4] == TARGET
    assert out["advances"] > 3  # the share came back between AWS's operations
    assert _made(aws) == {"source snapshots": 2, "target clusters": 1, "secrets": 1}
    share = result.get_operation_by_name("share")
    assert share.status.value == "SUCCEEDED"
    assert "SecretString" not in result.result
    assert "aws_secret_access_key" not in result.result.lower()


def test_a_copy_refused_by_the_copy_quota_is_checked_again_later(
    profiled_bed: EmulatedAWS, caplog: pytest.LogCaptureFixture
) -> None:
    aws = profiled_bed
    aws.create_cluster(SOURCE, "orders")
    event = _event(aws, "orders")
    aws.inject_fault(
        "rds",
        "CopyDBClusterSnapshot",
        "SnapshotQuotaExceeded",
        message="Cannot copy more than 5 snapshots across regions",
        times=2,
    )
    result = _run(event)
    assert result.status is InvocationStatus.SUCCEEDED, result.error
    assert _made(aws) == {"source snapshots": 2, "target clusters": 1, "secrets": 1}
    assert Counter(c.operation for c in aws.calls)["CopyDBClusterSnapshot"] == 3  # refused twice, then made
    retried = [r.getMessage() for r in caplog.records if r.name == "rdsshare.aws_lambda"]
    assert len(retried) == 2
    assert all("SnapshotQuotaExceeded" in m and "trying again" in m for m in retried)


def test_a_failed_share_fails_the_execution_with_the_typed_error_before_any_write(profiled_bed: EmulatedAWS) -> None:
    aws = profiled_bed
    event = _event(aws, "missing")  # no such cluster
    before = len(mutating_calls(aws))
    result = _run(event)
    assert result.status is InvocationStatus.FAILED
    assert result.error is not None
    assert result.error.type is not None
    assert result.error.type.endswith("InputError")
    assert "preflight" in (result.error.message or "")
    assert "missing" in (result.error.message or "")
    assert mutating_calls(aws)[before:] == []


def test_a_malformed_event_fails_before_any_aws_call(profiled_bed: EmulatedAWS) -> None:
    aws = profiled_bed
    before = len(aws.calls)
    result = _run({"source": {"account_id": "12"}, "targets": [{"account_id": TARGET}], "arguments": {}})
    assert result.status is InvocationStatus.FAILED
    assert result.error is not None
    assert "12-digit account_id" in (result.error.message or "")
    assert aws.calls[before:] == []


def test_a_refusal_that_outlasts_retry_seconds_fails_the_execution_typed(profiled_bed: EmulatedAWS) -> None:
    aws = profiled_bed
    aws.create_cluster(SOURCE, "orders")
    event = {**_event(aws, "orders"), "retry_seconds": 0}
    message = "Cannot copy more than 5 snapshots across regions"
    aws.inject_fault("rds", "CopyDBClusterSnapshot", "SnapshotQuotaExceeded", message=message, times=50)
    result = _run(event)
    assert result.status is InvocationStatus.FAILED
    assert result.error is not None
    assert result.error.type is not None
    assert result.error.type.endswith("QuotaExceededError")
    assert "Cannot copy more than 5" in (result.error.message or "")
    assert Counter(c.operation for c in aws.calls)["CopyDBClusterSnapshot"] == 2  # refused, then refused for good
