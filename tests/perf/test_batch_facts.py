"""Batch-wide facts: the key reads every item of a batch makes alike are made once while the batch runs.

Each item's plan describes the snapshot's key (``aws/rds``) and rdsshare's share key and reads the
share key's policy. In a batch they are the same for all items: read once, shared, and read again
only after an item changed them. Outside a batch nothing is kept.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter

from rdsshare import CopySlots, share_cluster_snapshot, share_cluster_snapshots
from rdsshare._facts import BatchFacts
from rdsshare.testing import EmulatedAWS

from ..accounts import SOURCE, TARGET
from .conftest import sessions

N = 6


def _kms(aws: EmulatedAWS) -> Counter[str]:
    return Counter(c.operation for c in aws.calls if c.service == "kms" and c.failed_with is None)


def _seed(aws: EmulatedAWS) -> None:
    """N default-key clusters, and the share key in place (an earlier run made it)."""
    for i in range(N):
        aws.create_cluster(SOURCE, f"db{i}", instances=0)
    aws.create_cluster(SOURCE, "first", instances=0)
    source, target = sessions(aws)
    share_cluster_snapshot(source=source, target=target, cluster_id="first")
    aws.clear_calls()


def test_a_batch_reads_the_key_facts_once_where_single_calls_read_them_per_item() -> None:
    with EmulatedAWS(region="us-east-1") as aws:
        _seed(aws)
        source, target = sessions(aws)
        slots = CopySlots()
        result = share_cluster_snapshots(
            source=source, target=target, items=[{"cluster_id": f"db{i}"} for i in range(N)], copy_slots=slots
        )
        assert result.ok, [str(i.error) for i in result.failed]
        # aws/rds and the share key described once, its policy read once, for all N items.
        assert _kms(aws) == Counter({"DescribeKey": 2, "GetKeyPolicy": 1})
        assert slots.facts.shared == 3 * (N - 1)

        # The same calls one by one, with the same slots but no batch open: every item reads them.
        aws.clear_calls()
        for i in range(N):
            share_cluster_snapshot(
                source=source, target=target, cluster_id=f"db{i}", run_name="again", copy_slots=slots
            )
        assert _kms(aws) == Counter({"DescribeKey": 2 * N, "GetKeyPolicy": N})


def test_a_policy_an_item_changes_is_read_again_and_never_written_from_the_shared_copy() -> None:
    """N clusters under one customer key that does not grant the target yet: the items plan from the one
    policy read, the first to write adds the target once (each write starts from a fresh read), and the
    key ends granting it."""
    with EmulatedAWS(region="us-east-1") as aws:
        kms = aws.client(SOURCE, "kms")
        key = kms.create_key()["KeyMetadata"]["KeyId"]
        for i in range(N):
            aws.create_cluster(SOURCE, f"db{i}", instances=0, kms_key_id=key)
        source, target = sessions(aws)
        aws.clear_calls()
        result = share_cluster_snapshots(
            source=source, target=target, items=[{"cluster_id": f"db{i}"} for i in range(N)], max_workers=N
        )
        assert result.ok, [str(i.error) for i in result.failed]
        calls = _kms(aws)
        assert calls["PutKeyPolicy"] == 1
        assert calls["DescribeKey"] == 1
        assert TARGET in json.dumps(json.loads(kms.get_key_policy(KeyId=key, PolicyName="default")["Policy"]))


def test_facts_are_kept_only_while_a_batch_is_open() -> None:
    facts = BatchFacts()
    reads: list[str] = []

    def read() -> dict[str, list[str]]:
        reads.append("x")
        return {"value": ["a"]}

    facts.read(("k",), read)
    facts.read(("k",), read)
    assert len(reads) == 2  # no batch open: every read goes to AWS
    with facts.batch():
        first = facts.read(("k",), read)
        first["value"].append("changed by its reader")
        assert facts.read(("k",), read) == {"value": ["a"]}  # a copy for each reader
        assert len(reads) == 3
        facts.forget("k")
        facts.read(("k",), read)
        assert len(reads) == 4
        assert facts.read(("none",), lambda: None) is None
        assert facts.read(("none",), lambda: "now there") == "now there"  # "not there" is not kept
    facts.read(("k",), read)
    assert len(reads) == 5  # the batch ended: nothing kept


def test_items_asking_at_once_wait_for_the_first_answer() -> None:
    facts = BatchFacts()
    reads = 0
    guard = threading.Lock()

    def slow() -> str:
        nonlocal reads
        with guard:
            reads += 1
        time.sleep(0.05)
        return "policy"

    with facts.batch():
        answers: list[str] = []
        threads = [threading.Thread(target=lambda: answers.append(facts.read(("p",), slow))) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert reads == 1
    assert answers == ["policy"] * 8
