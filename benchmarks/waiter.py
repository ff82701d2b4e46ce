"""Comparison 2, measured: boto3's ``db_cluster_snapshot_available`` waiter (default config) and
rdsshare's wait on the same short operation, side by side on the server-mode test bed."""

from __future__ import annotations

import time
from dataclasses import dataclass

from rdsshare import SnapshotCopier, WaitPolicy
from rdsshare._events import Emitter

from .common import SOURCE, server_bed, sessions


@dataclass(frozen=True)
class WaitRun:
    """One wait for a snapshot that takes ``operation_seconds`` to create."""

    who: str
    operation_seconds: float
    seconds: float
    describes: int

    @property
    def latency(self) -> float:
        """Time from the snapshot being ready to the waiter returning (an upper bound: it also
        counts the create request's round trip)."""
        return self.seconds - self.operation_seconds


def run(operation_seconds: float) -> list[WaitRun]:
    """The waiter, then rdsshare, each on a fresh snapshot of the same cluster."""
    out = []
    with server_bed() as aws:
        aws.create_cluster(SOURCE, "orders", instances=0)
        source, _ = sessions(aws)
        rds = source.rds()
        aws.operation_seconds = operation_seconds
        for who in ("boto3 waiter (Delay 30 s)", "rdsshare (default WaitPolicy)"):
            snapshot_id = "orders-waiter" if who.startswith("boto3") else "orders-rdsshare"
            rds.create_db_cluster_snapshot(DBClusterIdentifier="orders", DBClusterSnapshotIdentifier=snapshot_id)
            start = time.monotonic()
            before = len(aws.calls)
            if who.startswith("boto3"):
                rds.get_waiter("db_cluster_snapshot_available").wait(DBClusterSnapshotIdentifier=snapshot_id)
            else:
                copier = SnapshotCopier(
                    rds, account_id=SOURCE, region=aws.region, emit=Emitter(None), wait=WaitPolicy()
                )
                copier.wait_available(snapshot_id, step="snapshot")
            seconds = time.monotonic() - start
            describes = sum(1 for c in aws.calls[before:] if c.operation == "DescribeDBClusterSnapshots")
            out.append(WaitRun(who, operation_seconds, seconds, describes))
    return out
