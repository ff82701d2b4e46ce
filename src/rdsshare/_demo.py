"""``rdsshare demo``: the whole flow on the emulated two-account AWS, no AWS account needed."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from ._api import share_cluster_snapshot
from ._errors import InputError
from ._events import Emitter, EventHook, StepFinished, StepStarted
from ._results import ShareResult
from ._session import AccountSession
from ._specs import ClusterRestoreSpec

SOURCE_ACCOUNT = "111111111111"
TARGET_ACCOUNT = "222222222222"
REGION = "ap-northeast-1"
SOURCE_CLUSTER = "example-db"
TARGET_CLUSTER = "example-db-2"


def run_demo(
    *,
    on_event: EventHook | None = None,
    operation_seconds: float = 2.0,
    log: Callable[[str], None] = lambda _line: None,
) -> tuple[ShareResult, dict[str, Any]]:
    """Build the seed's two accounts on a local moto server and run the full flow.

    Source: a VPC, subnet group, security group and an encrypted Aurora MySQL cluster
    ``example-db`` with one instance under the default ``aws/rds`` key. Target: its own network.
    The setup is reported as ``setup`` steps through ``on_event``, like the flow's own steps.
    Returns the result and the source CMK's key policy.
    """
    emit = Emitter(on_event)
    emit(StepStarted(step="setup", account_id=SOURCE_ACCOUNT, resource="emulated AWS", action="start moto server"))
    try:
        from .testing import EmulatedAWS
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise InputError(
            f"the demo needs the testing extra ({exc})",
            step="demo",
            fix="pip install 'rdsshare[testing,cli]'",
        ) from exc

    with EmulatedAWS(server=True, region=REGION, operation_seconds=operation_seconds) as aws:
        assert aws.endpoint_url is not None
        emit(StepFinished(step="setup", account_id=SOURCE_ACCOUNT, resource="emulated AWS", outcome="created"))
        log(f"Emulated AWS on {aws.endpoint_url} ({REGION}): source {SOURCE_ACCOUNT}, target {TARGET_ACCOUNT}")
        log(f"Each long-running AWS operation takes {operation_seconds:g}s.\n")
        what = f"{SOURCE_CLUSTER} (aurora-mysql, aws/rds)"
        emit(StepStarted(step="seed", account_id=SOURCE_ACCOUNT, resource=what, action="create VPC and cluster"))
        source_net = aws.create_network(SOURCE_ACCOUNT, SOURCE_CLUSTER)
        cluster = aws.create_cluster(SOURCE_ACCOUNT, SOURCE_CLUSTER, network=source_net, encrypted=True)
        emit(
            StepFinished(
                step="seed", account_id=SOURCE_ACCOUNT, resource=what, outcome="created", arn=cluster["DBClusterArn"]
            )
        )
        what = f"network {TARGET_CLUSTER}"
        emit(StepStarted(step="seed", account_id=TARGET_ACCOUNT, resource=what, action="create VPC"))
        target_net = aws.create_network(TARGET_ACCOUNT, TARGET_CLUSTER)
        emit(StepFinished(step="seed", account_id=TARGET_ACCOUNT, resource=what, outcome="created"))
        source = AccountSession(aws.session(SOURCE_ACCOUNT), endpoint_url=aws.endpoint_url)
        target = AccountSession(aws.session(TARGET_ACCOUNT), endpoint_url=aws.endpoint_url)
        result = share_cluster_snapshot(
            source=source,
            target=target,
            cluster_id=SOURCE_CLUSTER,
            restore=ClusterRestoreSpec(
                cluster_id=TARGET_CLUSTER,
                instance_class="db.t3.medium",
                subnet_group=target_net.subnet_group,
                security_group_ids=(target_net.security_group_id,),
            ),
            on_event=on_event,
        )
        key_policy: dict[str, Any] = {}
        if result.source_kms_key_arn:
            key_policy = json.loads(
                source.kms().get_key_policy(KeyId=result.source_kms_key_arn, PolicyName="default")["Policy"]
            )
        return result, key_policy
