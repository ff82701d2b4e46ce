"""Comparisons 1-3: data copies, detection latency and API calls of one full flow per source kind.

Each flow runs ``share_cluster_snapshot(..., restore=...)`` from a cluster on the server-mode test
bed, where every AWS operation (snapshot, copy, restore, instance, modify) takes
``operation_seconds``. The event timeline splits the recorded calls into steps.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from typing import Literal

from rdsshare import ClusterRestoreSpec, ShareResult, share_cluster_snapshot
from rdsshare.testing import RecordedCall

from .common import SOURCE, TARGET, Timeline, Wait, server_bed, sessions

Kind = Literal["default key", "CMK", "unencrypted"]
KINDS: tuple[Kind, ...] = ("default key", "CMK", "unencrypted")

#: Data copies of the hand procedure: copy in the source under a shareable key, share, copy in the
#: target, restore from that copy (AWSSupport-ShareRDSSnapshot re-encrypts every snapshot).
HAND_COPIES: dict[Kind, int] = {"default key": 2, "CMK": 2, "unencrypted": 2}
#: What rdsshare should need on the critical path.
GOAL_COPIES: dict[Kind, int] = {"default key": 1, "CMK": 0, "unencrypted": 0}

# The shortest call sequence of a first run (no share key yet), restore with one instance and a
# managed master secret, polls excluded; docs/performance.md justifies each call.
_IDENTITY = [("source", "sts:GetCallerIdentity"), ("target", "sts:GetCallerIdentity")]
_TARGET_SIDE = [
    ("target", "rds:RestoreDBClusterFromSnapshot"),
    ("target", "rds:CreateDBInstance"),
    ("target", "rds:ModifyDBCluster"),
]
SHORTEST: dict[Kind, list[tuple[str, str]]] = {
    "default key": [
        *_IDENTITY,
        ("source", "rds:CreateDBClusterSnapshot"),
        ("source", "kms:DescribeKey"),  # the snapshot's key: AWS-managed?
        ("source", "kms:DescribeKey"),  # alias/rdsshare/share-key: reuse the share key?
        ("source", "kms:CreateKey"),
        ("source", "kms:CreateAlias"),
        ("source", "rds:CopyDBClusterSnapshot"),
        ("source", "rds:ModifyDBClusterSnapshotAttribute"),
        *_TARGET_SIDE,
    ],
    "CMK": [
        *_IDENTITY,
        ("source", "rds:CreateDBClusterSnapshot"),
        ("source", "kms:DescribeKey"),
        ("source", "kms:GetKeyPolicy"),
        ("source", "kms:PutKeyPolicy"),
        ("source", "rds:ModifyDBClusterSnapshotAttribute"),
        *_TARGET_SIDE,
    ],
    "unencrypted": [
        *_IDENTITY,
        ("source", "rds:CreateDBClusterSnapshot"),
        ("source", "rds:ModifyDBClusterSnapshotAttribute"),
        *_TARGET_SIDE,
    ],
}

#: The read-only checks issue #4 requires a real run to make before any change, one call each
#: (docs/performance.md, section 3, says why each is there).
PREFLIGHT: list[tuple[str, str]] = [
    ("source", "rds:DescribeDBClusters"),
    ("source", "rds:DescribeDBClusterSnapshots"),
    ("source", "rds:DescribeAccountAttributes"),
    ("target", "rds:DescribeDBClusters"),
    ("target", "rds:DescribeAccountAttributes"),
    ("target", "rds:DescribeDBEngineVersions"),
    ("target", "rds:DescribeOrderableDBInstanceOptions"),
    ("target", "rds:DescribeDBSubnetGroups"),
    ("target", "ec2:DescribeSecurityGroups"),
]
#: The shortest sequence that also keeps #4's promise: every check before the first change.
CHECKED: dict[Kind, list[tuple[str, str]]] = {kind: [*PREFLIGHT, *calls] for kind, calls in SHORTEST.items()}


@dataclass(frozen=True)
class FlowRun:
    """One measured flow."""

    kind: Kind
    operation_seconds: float
    seconds: float
    result: ShareResult
    calls: tuple[RecordedCall, ...]
    waits: tuple[Wait, ...]

    @property
    def copies(self) -> int:
        return sum(1 for c in self.calls if c.operation == "CopyDBClusterSnapshot" and c.failed_with is None)

    @property
    def polls(self) -> int:
        return sum(w.polls for w in self.waits)

    def non_poll_calls(self) -> Counter[tuple[str, str]]:
        """Every call but the waits' describes, as (account role, service:operation)."""
        poll_ids = {id(c) for w in self.waits for c in w.calls if c.operation.startswith("Describe")}
        return Counter(
            ("source" if c.account_id == SOURCE else "target", f"{c.service}:{c.operation}")
            for c in self.calls
            if id(c) not in poll_ids
        )


def run_flow(kind: Kind, operation_seconds: float) -> FlowRun:
    """One share + restore of a fresh cluster of ``kind``."""
    with server_bed() as aws:
        key = None
        if kind == "CMK":
            key = aws.client(SOURCE, "kms").create_key(Description="team key")["KeyMetadata"]["Arn"]
        aws.create_cluster(SOURCE, "orders", encrypted=kind != "unencrypted", kms_key_id=key, instances=1)
        net = aws.create_network(TARGET, "orders-net")
        spec = ClusterRestoreSpec(
            cluster_id="orders-2",
            instance_class="db.t3.medium",
            subnet_group=net.subnet_group,
            security_group_ids=(net.security_group_id,),
        )
        source, target = sessions(aws)
        aws.operation_seconds = operation_seconds
        aws.clear_calls()
        timeline = Timeline(aws)
        start = time.monotonic()
        result = share_cluster_snapshot(
            source=source, target=target, cluster_id="orders", restore=spec, on_event=timeline
        )
        seconds = time.monotonic() - start
        return FlowRun(
            kind=kind,
            operation_seconds=operation_seconds,
            seconds=seconds,
            result=result,
            calls=tuple(aws.calls),
            waits=tuple(timeline.waits()),
        )


def run_all(operation_seconds: float) -> list[FlowRun]:
    """One flow per source kind."""
    return [run_flow(kind, operation_seconds) for kind in KINDS]
