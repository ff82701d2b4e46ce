"""Run shares on Temporal: a worker, a share started and watched, its result or its typed error.

``pip install 'rdsshare[temporal]'``. Start a worker on each machine that may run shares (its AWS
credentials come from its own profiles or role), then start shares from anywhere that reaches the
Temporal server::

    python examples/temporal_share.py worker --address localhost:7233
    python examples/temporal_share.py start --address localhost:7233 --cluster orders --run-name orders-nightly \\
        --subnet-group app --security-group sg-0123456789abcdef0 --instance-class db.r6g.large
    python examples/temporal_share.py status --address localhost:7233 --run-name orders-nightly

The workflow id is ``rdsshare-<run name>``: starting the same share again while it runs is refused by
Temporal, and a share that failed can be started again under the same id once the cause is fixed
(every step finds what the failed run made).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Mapping
from typing import Any

from temporalio.client import Client

from rdsshare import RdsShareError
from rdsshare.temporal import (
    Account,
    ShareOutcome,
    ShareRequest,
    ShareStatus,
    new_worker,
    profile_sessions,
    share_outcome,
    start_share,
)

#: account id -> the profile this worker's machine has for it
PROFILES = {"111111111111": "rdsshare-source", "222222222222": "rdsshare-target"}
SOURCE, TARGET = "111111111111", "222222222222"


async def run_worker(
    client: Client, *, profiles: Mapping[str, str] = PROFILES, until: asyncio.Event | None = None
) -> None:
    """Run a worker until ``until`` is set (or forever): it advances every share on the task queue."""
    async with new_worker(client, profile_sessions(profiles)):
        await (until or asyncio.Event()).wait()


def share_request(
    *, cluster: str, run_name: str, restore: Mapping[str, Any], region: str | None = None
) -> ShareRequest:
    """One share of ``cluster`` from the source account to the target, restored as ``restore`` says."""
    return ShareRequest(
        source=Account(SOURCE, region),
        targets=(Account(TARGET, region),),
        arguments={"cluster_id": cluster, "run_name": run_name, "restore": dict(restore)},
    )


async def share_and_wait(client: Client, request: ShareRequest) -> ShareOutcome:
    """Start the share and wait for it; a failed share raises its rdsshare error."""
    handle = await start_share(client, request, workflow_id=f"rdsshare-{request.arguments['run_name']}")
    return await share_outcome(handle)


async def status(client: Client, run_name: str) -> ShareStatus:
    """Where a running share stands (phase, advances, the timer it sleeps on)."""
    answer: ShareStatus = await client.get_workflow_handle(f"rdsshare-{run_name}").query(
        "status", result_type=ShareStatus
    )
    return answer


async def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["worker", "start", "status"])
    parser.add_argument("--address", default="localhost:7233")
    parser.add_argument("--cluster")
    parser.add_argument("--run-name", required="worker" not in argv)
    parser.add_argument("--subnet-group")
    parser.add_argument("--security-group", action="append", default=[])
    parser.add_argument("--instance-class", default="db.r6g.large")
    args = parser.parse_args(argv)
    client = await Client.connect(args.address)
    if args.command == "worker":
        await run_worker(client)
        return 0
    if args.command == "status":
        sys.stdout.write(json.dumps((await status(client, args.run_name)).__dict__) + "\n")
        return 0
    restore = {
        "cluster_id": args.cluster,
        "instance_class": args.instance_class,
        "subnet_group": args.subnet_group,
        "security_group_ids": args.security_group,
    }
    try:
        outcome = await share_and_wait(
            client, share_request(cluster=args.cluster, run_name=args.run_name, restore=restore)
        )
    except RdsShareError as exc:
        sys.stderr.write(f"share failed: {exc}\n")  # step, account, resource, AWS code and the fix
        return 1
    sys.stdout.write(
        json.dumps({k: outcome.result[k] for k in ("target_cluster_arn", "master_user_secret_arn")}) + "\n"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main(sys.argv[1:])))
