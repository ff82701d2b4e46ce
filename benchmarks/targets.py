"""Comparison 5: one share with a restore in each of N target accounts, against one target.

Every AWS operation on the server-mode test bed takes ``operation_seconds``. A user without
rdsshare's side-by-side targets makes one call per target, one after another: N times the one-target
time (the baseline column, measured as the one-target run times N). The target for N = 20 is at most
1.5 x the one-target time.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from rdsshare import AccountSession, ClusterRestoreSpec, share_cluster_snapshot

from .common import SOURCE, server_bed

#: target accounts: 222222222222, 222222222223, ...
FIRST_TARGET = 222222222222


@dataclass(frozen=True)
class TargetsRun:
    """One share restored in ``targets`` accounts."""

    targets: int
    operation_seconds: float
    seconds: float
    calls: int


def run(targets: int, operation_seconds: float) -> TargetsRun:
    """One share of a fresh cluster with a restore (one instance, a managed secret) in each target."""
    with server_bed() as aws:
        aws.create_cluster(SOURCE, "orders", instances=1)
        accounts = [str(FIRST_TARGET + i) for i in range(targets)]
        restore = {}
        for account in accounts:
            net = aws.create_network(account, "orders-net")
            restore[account] = ClusterRestoreSpec(
                cluster_id="orders-2",
                instance_class="db.t3.medium",
                subnet_group=net.subnet_group,
                security_group_ids=(net.security_group_id,),
            )
        source = AccountSession(aws.session(SOURCE), endpoint_url=aws.endpoint_url)
        sessions = [AccountSession(aws.session(a), endpoint_url=aws.endpoint_url) for a in accounts]
        aws.operation_seconds = operation_seconds
        aws.clear_calls()
        start = time.monotonic()
        result = share_cluster_snapshot(source=source, targets=sessions, cluster_id="orders", restore=restore)
        seconds = time.monotonic() - start
        assert all(t.master_user_secret_arn for t in result.targets)
        return TargetsRun(targets, operation_seconds, seconds, len(aws.calls))


def run_all(operation_seconds: float, counts: tuple[int, ...] = (1, 5, 20)) -> list[TargetsRun]:
    """One run per number of targets, in one process, one after another."""
    return [run(n, operation_seconds) for n in counts]
