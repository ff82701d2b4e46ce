"""The engine examples the docs include: the Temporal one runs a share on the dev server and the bed;
the Lambda one's event is valid and its SAM template deploys the handler the module defines."""

from __future__ import annotations

import asyncio
import importlib.util
import re
import sys
from pathlib import Path
from typing import Any

import pytest

from rdsshare.testing import EmulatedAWS

from ..accounts import SOURCE, TARGET

pytestmark = pytest.mark.temporal
ROOT = Path(__file__).resolve().parents[2]


def test_the_temporal_example_shares_a_cluster(temporal_server: str, profiled_bed: EmulatedAWS) -> None:
    pytest.importorskip("temporalio")
    from temporalio.client import Client

    from examples import temporal_share

    aws = profiled_bed
    aws.create_cluster(SOURCE, "orders", region=aws.region)
    net = aws.create_network(TARGET, "orders-net")
    aws.operation_seconds = 0.2
    restore = {
        "cluster_id": "orders",
        "instance_class": "db.t3.medium",
        "subnet_group": net.subnet_group,
        "security_group_ids": [net.security_group_id],
    }

    async def go() -> Any:
        client = await Client.connect(temporal_server)
        stop = asyncio.Event()
        worker = asyncio.create_task(temporal_share.run_worker(client, until=stop))
        try:
            request = temporal_share.share_request(cluster="orders", run_name="orders-nightly", restore=restore)
            outcome = await temporal_share.share_and_wait(client, request)
            status = await temporal_share.status(client, "orders-nightly")
            return outcome, status
        finally:
            stop.set()
            await worker

    outcome, status = asyncio.run(asyncio.wait_for(go(), timeout=180))
    assert outcome.result["target_cluster_arn"].endswith(":cluster:orders")
    assert status.phase == "done"


@pytest.mark.aws_lambda
def test_the_lambda_example_event_is_valid_and_the_template_deploys_its_handler() -> None:
    if sys.version_info < (3, 11):
        pytest.skip("the AWS durable execution SDK needs Python 3.11+")
    pytest.importorskip("aws_durable_execution_sdk_python")
    from rdsshare.aws_lambda import share_event

    path = ROOT / "examples" / "aws_lambda" / "function.py"
    spec = importlib.util.spec_from_file_location("rdsshare_example_function", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    event = share_event(module.EXAMPLE_EVENT)
    assert (event.source.account_id, [t.account_id for t in event.targets]) == (SOURCE, [TARGET])
    assert event.source.role_arn
    assert event.targets[0].role_arn
    template = (ROOT / "examples" / "aws_lambda" / "template.yaml").read_text()
    handler = re.search(r"Handler: (\w+)\.(\w+)", template)
    assert handler is not None
    assert handler.groups() == (path.stem, "handler")
    assert callable(module.handler)
    assert "AWSLambdaBasicDurableExecutionRolePolicy" in template
    assert "DurableConfig:" in template
