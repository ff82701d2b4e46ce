"""Concurrent runs and writers: shared things stay right when two runs or processes act at once.

The bed's ``interleave`` puts another client's call between two of the library's (a second process
writing the key policy between this run's read and write, or between its write and its read-back).
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from rdsshare import (
    AccountSession,
    CmkPolicyBuilder,
    KeyPolicyError,
    Manifest,
    cleanup,
    set_testing,
    share_cluster_snapshot,
)
from rdsshare._naming import KEY_ALIAS
from rdsshare.testing import EmulatedAWS

from ..accounts import OTHER, SOURCE, TARGET
from .helpers import mutating_calls, restore_spec, sessions

FOURTH = "444444444444"


@pytest.fixture(autouse=True)
def _instant() -> Iterator[None]:
    set_testing(True)  # the writers' backoff does not sleep
    yield
    set_testing(False)


def _key(aws: EmulatedAWS) -> str:
    return str(aws.client(SOURCE, "kms").describe_key(KeyId=KEY_ALIAS)["KeyMetadata"]["Arn"])


def _policy(aws: EmulatedAWS) -> dict[str, Any]:
    kms = aws.client(SOURCE, "kms")  # GetKeyPolicy takes a key id or ARN, not an alias [BC-KMS]
    return dict(json.loads(kms.get_key_policy(KeyId=_key(aws), PolicyName="default")["Policy"]))


def _granted(aws: EmulatedAWS) -> set[str]:
    builder = CmkPolicyBuilder(owner_account_id=SOURCE, target_account_ids=[TARGET, OTHER, FOURTH], region="us-east-1")
    return builder.grants(_policy(aws))


def _session(aws: EmulatedAWS, account: str) -> AccountSession:
    return AccountSession(aws.session(account), endpoint_url=aws.endpoint_url)


def _other_writer(aws: EmulatedAWS, account: str) -> tuple[Any, Any]:
    """A second process granting ``account``: it read the policy before our write and writes after it."""
    seen: dict[str, Any] = {}
    kms = aws.client(SOURCE, "kms")

    def read() -> None:
        seen["policy"] = _policy(aws)

    def write() -> None:
        builder = CmkPolicyBuilder(owner_account_id=SOURCE, target_account_ids=[account], region="us-east-1")
        merged = builder.merge(seen["policy"])
        kms.put_key_policy(KeyId=_key(aws), PolicyName="default", Policy=json.dumps(merged))

    return read, write


def test_two_writers_adding_different_targets_both_end_granted(aws: EmulatedAWS) -> None:
    aws.create_cluster(SOURCE, "orders")
    aws.create_cluster(SOURCE, "billing")
    source, target = sessions(aws)
    share_cluster_snapshot(source=source, target=target, cluster_id="orders")  # the share key, granting TARGET
    read, write = _other_writer(aws, FOURTH)
    aws.interleave("kms", "PutKeyPolicy", read, account_id=SOURCE, before=True)
    lost = aws.interleave("kms", "PutKeyPolicy", write, account_id=SOURCE)  # puts its stale copy over ours
    result = share_cluster_snapshot(source=source, target=_session(aws, OTHER), cluster_id="billing")
    assert lost.hits == 1
    assert _granted(aws) == {TARGET, OTHER, FOURTH}
    assert result.shared_snapshot_arn


def test_a_target_whose_grant_never_sticks_is_never_reported_as_shared(aws: EmulatedAWS) -> None:
    aws.create_cluster(SOURCE, "orders")
    aws.create_cluster(SOURCE, "billing")
    source, target = sessions(aws)
    share_cluster_snapshot(source=source, target=target, cluster_id="orders")
    before, key = _policy(aws), _key(aws)

    def undo() -> None:  # another writer keeps putting back the policy it read before
        aws.client(SOURCE, "kms").put_key_policy(KeyId=key, PolicyName="default", Policy=json.dumps(before))

    aws.interleave("kms", "PutKeyPolicy", undo, account_id=SOURCE, times=50)
    aws.clear_calls()
    with pytest.raises(KeyPolicyError, match="grant"):
        share_cluster_snapshot(source=source, target=_session(aws, OTHER), cluster_id="billing")
    assert "rds:ModifyDBClusterSnapshotAttribute" not in mutating_calls(aws)
    assert OTHER not in _granted(aws)


def _shared_twice(aws: EmulatedAWS) -> Manifest:
    """``billing`` shared with OTHER, then ``orders`` with TARGET, both under the share key: the manifest of
    ``orders``, whose cleanup removes TARGET from the key (no snapshot under it is shared with TARGET any more)
    and keeps the key (billing's copy is under it)."""
    aws.create_cluster(SOURCE, "billing")
    aws.create_cluster(SOURCE, "orders")
    source, target = sessions(aws)
    share_cluster_snapshot(source=source, target=_session(aws, OTHER), cluster_id="billing")
    result = share_cluster_snapshot(source=source, target=target, cluster_id="orders")
    assert result.manifest is not None
    assert _granted(aws) == {TARGET, OTHER}
    return result.manifest


def test_cleanup_removes_the_target_even_when_another_writer_puts_its_copy_back(aws: EmulatedAWS) -> None:
    manifest = _shared_twice(aws)
    read, write = _other_writer(aws, FOURTH)  # read before cleanup's write, still granting TARGET
    aws.interleave("kms", "PutKeyPolicy", read, account_id=SOURCE, before=True)
    lost = aws.interleave("kms", "PutKeyPolicy", write, account_id=SOURCE)  # puts its stale copy over cleanup's
    source, target = sessions(aws)
    report = cleanup(manifest, source=source, target=target)
    assert lost.hits == 1
    assert _granted(aws) == {OTHER, FOURTH}  # cleanup read back, removed TARGET again, kept the other's grant
    assert [(a.status, a.reason) for a in report.actions if a.action == "revoke-key-grant"] == [
        ("done", f"removed {TARGET}")
    ]


def test_cleanup_whose_removal_never_sticks_says_so(aws: EmulatedAWS) -> None:
    manifest = _shared_twice(aws)
    before, key = _policy(aws), _key(aws)

    def undo() -> None:  # another writer keeps putting back the policy it read before
        aws.client(SOURCE, "kms").put_key_policy(KeyId=key, PolicyName="default", Policy=json.dumps(before))

    aws.interleave("kms", "PutKeyPolicy", undo, account_id=SOURCE, times=50)
    source, target = sessions(aws)
    with pytest.raises(KeyPolicyError, match=f"{TARGET} not removed"):
        cleanup(manifest, source=source, target=target)
    assert TARGET in _granted(aws)


def test_two_runs_of_the_same_share_at_once_make_everything_once(aws: EmulatedAWS) -> None:
    aws.create_cluster(SOURCE, "example-db")
    spec = restore_spec(aws)
    results: list[Any] = []
    errors: list[BaseException] = []

    def run() -> None:
        source, target = sessions(aws)
        try:
            results.append(share_cluster_snapshot(source=source, target=target, cluster_id="example-db", restore=spec))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert len(results) == 2
    made = Counter(c for c in mutating_calls(aws) if c.split(":")[1].startswith(("Create", "Copy", "Restore")))
    src_rds, tgt_rds = aws.client(SOURCE, "rds"), aws.client(TARGET, "rds")
    manual = src_rds.describe_db_cluster_snapshots(SnapshotType="manual")["DBClusterSnapshots"]
    assert len(manual) == 2, manual  # one snapshot, one copy under the share key
    assert len(tgt_rds.describe_db_clusters()["DBClusters"]) == 1
    instances = tgt_rds.describe_db_instances()["DBInstances"]
    assert len(instances) == len(spec.instance_ids), made
    secrets = aws.client(TARGET, "secretsmanager").list_secrets()["SecretList"]
    assert len(secrets) == 1, [s["Name"] for s in secrets]
    assert results[0].master_user_secret_arn == results[1].master_user_secret_arn
    assert results[0].target_cluster_arn == results[1].target_cluster_arn
