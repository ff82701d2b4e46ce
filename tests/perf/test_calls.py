"""API calls per flow, polls excluded: each check is asked once, and a rerun only reads.

The reference is the call sequence of docs/performance.md (section 3): the identities, the checks
that preflight must make before any change (#4), and the changes themselves. A call beyond it
(a second read of something preflight already read, a read-back after a change whose answer says
it all) fails these tests.
"""

from __future__ import annotations

from collections import Counter
from typing import Literal

import pytest

from rdsshare import Event, StepFinished, StepStarted, share_cluster_snapshot
from rdsshare.testing import EmulatedAWS

from ..accounts import SOURCE, TARGET
from ..flow.helpers import restore_spec
from .conftest import sessions

Kind = Literal["default key", "CMK", "unencrypted"]
WAIT_STEPS = ("snapshot", "copy", "restore", "instances", "secret")

_IDENTITIES = ["S sts:GetCallerIdentity", "T sts:GetCallerIdentity"]
# What preflight must ask before any change: source cluster, this run's snapshot and copy (one
# filtered describe), the snapshot quota, the target's restore id and instance ids, its cluster and
# instance quotas, engine version, instance class, subnet group and security groups.
_CHECKS = [
    "S rds:DescribeDBClusters",
    "S rds:DescribeDBClusterSnapshots",
    "T rds:DescribeDBClusters",
    "T rds:DescribeDBInstances",  # one filtered describe: the instance ids are free (or the cluster's own)
    "T rds:DescribeAccountAttributes",  # room for the cluster and its instances (one read, both quotas)
    "T rds:DescribeDBEngineVersions",
    "T rds:DescribeOrderableDBInstanceOptions",
    "T rds:DescribeDBSubnetGroups",
    "T ec2:DescribeSecurityGroups",
]
_TARGET_CHANGES = ["T rds:RestoreDBClusterFromSnapshot", "T rds:CreateDBInstance", "T rds:ModifyDBCluster"]
FIRST_RUN: dict[Kind, list[str]] = {
    "default key": [
        *_IDENTITIES,
        *_CHECKS,
        "S rds:DescribeAccountAttributes",
        "S kms:DescribeKey",  # the cluster's key: aws/rds
        "S kms:DescribeKey",  # alias/rdsshare/share-key: not yet
        "S kms:DescribeKey",  # again right before creating it, under the key lock: another run may have made it
        "S iam:GetRole",  # the role (with its path) that the new key's policy lets manage it
        "T kms:DescribeKey",  # the target's key
        "S rds:CreateDBClusterSnapshot",
        "S kms:CreateKey",
        "S kms:CreateAlias",
        "S rds:CopyDBClusterSnapshot",
        "S rds:ModifyDBClusterSnapshotAttribute",
        *_TARGET_CHANGES,
    ],
    "CMK": [
        *_IDENTITIES,
        *_CHECKS,
        "S rds:DescribeAccountAttributes",
        "S kms:DescribeKey",
        "S kms:GetKeyPolicy",  # preflight: does it grant the target?
        "T kms:DescribeKey",
        "S rds:CreateDBClusterSnapshot",
        "S kms:GetKeyPolicy",  # read again right before the write: the user's key policy is never
        "S kms:PutKeyPolicy",  # written from a stale copy
        "S kms:GetKeyPolicy",  # read back: another writer may have put its own copy over ours
        "S rds:ModifyDBClusterSnapshotAttribute",
        *_TARGET_CHANGES,
    ],
    "unencrypted": [
        *_IDENTITIES,
        *_CHECKS,
        "S rds:DescribeAccountAttributes",
        "S rds:CreateDBClusterSnapshot",
        "S rds:ModifyDBClusterSnapshotAttribute",
        *_TARGET_CHANGES,
    ],
}


class _Polls:
    """Marks which recorded calls are polls: the describes inside a wait step."""

    def __init__(self, aws: EmulatedAWS) -> None:
        self.aws = aws
        self.windows: list[tuple[int, int]] = []
        self._open: dict[str, int] = {}

    def __call__(self, event: Event) -> None:
        if event.step not in WAIT_STEPS:
            return
        if isinstance(event, StepStarted):
            self._open.setdefault(event.step, len(self.aws.calls))
        elif isinstance(event, StepFinished) and event.step in self._open:
            self.windows.append((self._open.pop(event.step), len(self.aws.calls)))

    def non_poll_calls(self) -> Counter[str]:
        out: Counter[str] = Counter()
        for index, call in enumerate(self.aws.calls):
            poll = call.operation.startswith("Describe") and any(a <= index < b for a, b in self.windows)
            if not poll:
                out[f"{'S' if call.account_id == SOURCE else 'T'} {call.service}:{call.operation}"] += 1
        return out


def _seed(aws: EmulatedAWS, kind: Kind) -> None:
    key = None
    if kind == "CMK":
        key = aws.client(SOURCE, "kms").create_key(Description="team key")["KeyMetadata"]["Arn"]
    aws.create_cluster(SOURCE, "example-db", encrypted=kind != "unencrypted", kms_key_id=key)


@pytest.mark.parametrize("kind", list(FIRST_RUN))
def test_first_run_makes_each_call_of_the_reference_sequence_once(bed: EmulatedAWS, kind: Kind) -> None:
    _seed(bed, kind)
    spec = restore_spec(bed)
    source, target = sessions(bed)
    bed.clear_calls()
    polls = _Polls(bed)
    share_cluster_snapshot(source=source, target=target, cluster_id="example-db", restore=spec, on_event=polls)
    assert polls.non_poll_calls() == Counter(FIRST_RUN[kind])


@pytest.mark.parametrize("kind", list(FIRST_RUN))
def test_a_rerun_reads_each_thing_once_and_changes_nothing(bed: EmulatedAWS, kind: Kind) -> None:
    _seed(bed, kind)
    spec = restore_spec(bed)
    source, target = sessions(bed)
    share_cluster_snapshot(source=source, target=target, cluster_id="example-db", restore=spec)
    bed.clear_calls()
    again = share_cluster_snapshot(source=source, target=target, cluster_id="example-db", restore=spec)
    assert again.created == ()
    calls = Counter(f"{c.account_id} {c.service}:{c.operation}" for c in bed.calls)
    assert all(not c.operation.startswith(("Create", "Copy", "Modify", "Restore", "Put")) for c in bed.calls)
    # Every resource is read once: the key reads are the cluster's key and (default key) the alias.
    repeated = {call: n for call, n in calls.items() if n > 1 and "kms:DescribeKey" not in call}
    assert repeated == {}
    assert calls[f"{SOURCE} kms:DescribeKey"] == (2 if kind == "default key" else 1 if kind == "CMK" else 0)
    assert calls[f"{TARGET} kms:DescribeKey"] == (0 if kind == "unencrypted" else 1)
