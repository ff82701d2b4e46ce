"""``rdsshare demo``: the whole flow on the emulated two-account AWS, no AWS account needed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ._api import ShareResult, share_cluster_snapshot
from ._events import EventHook
from ._restore import ClusterRestoreSpec
from ._session import AccountSession

SOURCE_ACCOUNT = "111111111111"
TARGET_ACCOUNT = "222222222222"
REGION = "ap-northeast-1"


def run_demo(
    *,
    on_event: EventHook | None = None,
    operation_seconds: float = 2.0,
    log: Callable[[str], None] = lambda _line: None,
) -> tuple[ShareResult, dict[str, Any]]:
    """Build the seed's two accounts on a local moto server and run the full flow.

    Source: a VPC, subnet group, security group and an encrypted Aurora MySQL cluster
    ``example-db`` with one instance under the default ``aws/rds`` key. Target: its own network.
    Returns the result and the source CMK's key policy.
    """
    try:
        from .testing import EmulatedAWS
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise SystemExit("the demo needs the testing extra: pip install 'rdsshare[testing]'") from exc

    with EmulatedAWS(server=True, region=REGION, operation_seconds=operation_seconds) as aws:
        log(f"Emulated AWS on {aws.endpoint_url}: source {SOURCE_ACCOUNT}, target {TARGET_ACCOUNT}, {REGION}")
        source_net = aws.create_network(SOURCE_ACCOUNT, "example-db")
        aws.create_cluster(SOURCE_ACCOUNT, "example-db", network=source_net, encrypted=True)
        target_net = aws.create_network(TARGET_ACCOUNT, "example-db-2")
        log("Source cluster example-db (aurora-mysql, encrypted with aws/rds) is available; starting the flow.\n")
        source = AccountSession(aws.session(SOURCE_ACCOUNT), endpoint_url=aws.endpoint_url)
        target = AccountSession(aws.session(TARGET_ACCOUNT), endpoint_url=aws.endpoint_url)
        result = share_cluster_snapshot(
            source=source,
            target=target,
            cluster_id="example-db",
            restore=ClusterRestoreSpec(
                cluster_id="example-db-2",
                instance_class="db.t3.medium",
                subnet_group=target_net.subnet_group,
                security_group_ids=(target_net.security_group_id,),
            ),
            on_event=on_event,
        )
        key_policy: dict[str, Any] = {}
        if result.source_kms_key_arn:
            import json

            key_policy = json.loads(
                source.kms().get_key_policy(KeyId=result.source_kms_key_arn, PolicyName="default")["Policy"]
            )
        return result, key_policy
