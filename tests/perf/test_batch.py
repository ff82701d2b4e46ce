"""share_cluster_snapshots(): ordering, per-item errors, validation, serialized events, copy slots."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from rdsshare import (
    BatchItemResult,
    BatchResult,
    ClusterRestoreSpec,
    CopySlots,
    Event,
    InputError,
    RdsShareError,
    StepFinished,
    WaitPolicy,
    set_testing,
    share_cluster_snapshots,
)
from rdsshare.testing import EmulatedAWS

from ..accounts import SOURCE, TARGET
from .conftest import sessions


def _rdsshare_keys(aws: EmulatedAWS) -> list[str]:
    """Customer-managed keys in the source account (only rdsshare creates any here)."""
    kms = aws.client(SOURCE, "kms")
    arns = []
    for entry in kms.list_keys()["Keys"]:
        meta = kms.describe_key(KeyId=entry["KeyId"])["KeyMetadata"]
        if meta.get("KeyManager") == "CUSTOMER":
            arns.append(meta["Arn"])
    return arns


def test_results_keep_item_order_and_one_failure_does_not_stop_the_others(bed: EmulatedAWS) -> None:
    bed.create_cluster(SOURCE, "db-default", instances=0)
    bed.create_cluster(SOURCE, "db-plain", instances=0, encrypted=False)
    bed.client(SOURCE, "rds").create_db_cluster_snapshot(
        DBClusterIdentifier="db-plain", DBClusterSnapshotIdentifier="db-plain-manual"
    )
    source, target = sessions(bed)
    items: list[dict[str, Any]] = [
        {"cluster_id": "db-default"},
        {"cluster_id": "no-such-cluster"},
        {"cluster_id": "db-plain"},
        {"snapshot_id": "db-plain-manual", "run_name": "from-snapshot"},
    ]
    result = share_cluster_snapshots(source=source, target=target, items=items, max_workers=3)

    assert isinstance(result, BatchResult)
    assert [i.index for i in result.items] == [0, 1, 2, 3]
    assert [i.key for i in result.items] == ["db-default", "no-such-cluster", "db-plain", "db-plain-manual"]
    assert not result.ok
    [failed] = result.failed
    assert failed.index == 1
    assert failed.result is None
    assert isinstance(failed.error, RdsShareError)
    assert "no-such-cluster" in str(failed.error)
    assert [i.index for i in result.succeeded] == [0, 2, 3]
    assert all(isinstance(i, BatchItemResult) and i.ok and i.error is None for i in result.succeeded)
    copies = [r.data_copies for r in result.results]
    assert copies == [1, 0, 0]  # default key: one copy; unencrypted: none
    assert result.results[2].source_snapshot_arn.endswith(":db-plain-manual")


def test_restore_items_run_to_a_restored_cluster(bed: EmulatedAWS) -> None:
    bed.create_cluster(SOURCE, "db-a", instances=0)
    bed.create_cluster(SOURCE, "db-b", instances=0, encrypted=False)
    net = bed.create_network(TARGET, "batch-net")
    source, target = sessions(bed)

    def spec(cluster_id: str) -> ClusterRestoreSpec:
        return ClusterRestoreSpec(
            cluster_id=cluster_id,
            instance_class="db.t3.medium",
            subnet_group=net.subnet_group,
            security_group_ids=(net.security_group_id,),
        )

    result = share_cluster_snapshots(
        source=source,
        target=target,
        items=[{"cluster_id": "db-a", "restore": spec("db-a-2")}, {"cluster_id": "db-b", "restore": spec("db-b-2")}],
    )
    assert result.ok, [str(i.error) for i in result.failed]
    assert [r.target_cluster_arn.split(":")[-1] for r in result.results if r.target_cluster_arn] == ["db-a-2", "db-b-2"]


def test_restore_ids_that_differ_only_past_the_cut_get_distinct_instances(bed: EmulatedAWS) -> None:
    # 62-character restore ids: "<id>-instance-1" is cut to 63, and the cut keeps them apart.
    long_a, long_b = "r" * 61 + "a", "r" * 61 + "b"
    bed.create_cluster(SOURCE, "db-a", instances=0, encrypted=False)
    bed.create_cluster(SOURCE, "db-b", instances=0, encrypted=False)
    net = bed.create_network(TARGET, "batch-net")
    source, target = sessions(bed)
    specs = [
        ClusterRestoreSpec(
            cluster_id=cid,
            instance_class="db.t3.medium",
            subnet_group=net.subnet_group,
            security_group_ids=(net.security_group_id,),
        )
        for cid in (long_a, long_b)
    ]
    result = share_cluster_snapshots(
        source=source,
        target=target,
        items=[{"cluster_id": "db-a", "restore": specs[0]}, {"cluster_id": "db-b", "restore": specs[1]}],
    )
    assert result.ok, [str(i.error) for i in result.failed]
    rds = bed.client(TARGET, "rds")
    members = {
        c["DBClusterIdentifier"]: [m["DBInstanceIdentifier"] for m in c["DBClusterMembers"]]
        for c in rds.describe_db_clusters()["DBClusters"]
    }
    assert len(members[long_a]) == len(members[long_b]) == 1
    assert members[long_a] != members[long_b]
    assert all(len(i) <= 63 for ids in members.values() for i in ids)


def test_restores_whose_instance_ids_would_collide_are_refused_before_any_call(bed: EmulatedAWS) -> None:
    # A cut instance id ends with a hash; a user's restore id can spell exactly that id uncut.
    first = ClusterRestoreSpec(cluster_id="a" * 60, instance_class="db.t3.medium")
    [cut] = first.instance_ids
    second = ClusterRestoreSpec(cluster_id=cut.removesuffix("-instance-1"), instance_class="db.t3.medium")
    assert second.instance_ids == [cut]
    source, target = sessions(bed)
    bed.clear_calls()
    with pytest.raises(InputError) as info:
        share_cluster_snapshots(
            source=source,
            target=target,
            items=[{"cluster_id": "db-a", "restore": first}, {"cluster_id": "db-b", "restore": second}],
        )
    assert f"items[1]: instance {cut!r}" in str(info.value)
    assert bed.calls == []


def test_default_key_items_share_one_key(bed: EmulatedAWS) -> None:
    # Every item needs rdsshare's share key, which none has created yet: without the batch's
    # source-key gate, items reaching that step together each create a key and all but one
    # then fail to take the alias.
    clusters = [f"db{i}" for i in range(6)]
    for cluster in clusters:
        bed.create_cluster(SOURCE, cluster, instances=0)
    source, target = sessions(bed)
    result = share_cluster_snapshots(
        source=source, target=target, items=[{"cluster_id": c} for c in clusters], max_workers=6
    )
    assert result.ok, [str(i.error) for i in result.failed]
    keys = {r.source_kms_key_arn for r in result.results}
    assert len(keys) == 1
    assert _rdsshare_keys(bed) == list(keys)


def test_events_reach_the_hook_one_at_a_time(bed: EmulatedAWS) -> None:
    clusters = [f"db{i}" for i in range(4)]
    for cluster in clusters:
        bed.create_cluster(SOURCE, cluster, instances=0, encrypted=False)
    source, target = sessions(bed)
    inside = 0
    most = 0
    events: list[Event] = []
    guard = threading.Lock()

    def hook(event: Event) -> None:
        nonlocal inside, most
        with guard:
            inside += 1
            most = max(most, inside)
        time.sleep(0.002)  # widen the window a concurrent call would fall into
        events.append(event)
        with guard:
            inside -= 1

    result = share_cluster_snapshots(
        source=source, target=target, items=[{"cluster_id": c} for c in clusters], max_workers=4, on_event=hook
    )
    assert result.ok
    assert most == 1
    shared = {e.resource for e in events if isinstance(e, StepFinished) and e.step == "share"}
    assert len(shared) == len(clusters)


def test_a_failing_hook_fails_only_its_item(bed: EmulatedAWS) -> None:
    for cluster in ("db-a", "db-b"):
        bed.create_cluster(SOURCE, cluster, instances=0, encrypted=False)
    source, target = sessions(bed)

    def hook(event: Event) -> None:
        if "db-a" in event.resource and event.step == "share":
            raise RuntimeError("hook broke")

    result = share_cluster_snapshots(
        source=source, target=target, items=[{"cluster_id": "db-a"}, {"cluster_id": "db-b"}], on_event=hook
    )
    assert [i.ok for i in result.items] == [False, True]
    assert isinstance(result.items[0].error, RuntimeError)


def test_empty_batch_does_nothing(bed: EmulatedAWS) -> None:
    source, target = sessions(bed)
    bed.clear_calls()
    result = share_cluster_snapshots(source=source, target=target, items=[])
    assert result == BatchResult(items=())
    assert result.ok
    assert bed.calls == []


def _spec(cluster_id: str) -> ClusterRestoreSpec:
    return ClusterRestoreSpec(cluster_id=cluster_id, instance_class="db.t3.medium")


@pytest.mark.parametrize(
    ("items", "kwargs", "message"),
    [
        pytest.param([{"cluster_id": "a", "colour": "red"}], {}, "unknown key 'colour'", id="unknown-key"),
        pytest.param([{"cluster_id": "a", "dry_run": True}], {}, "argument of the whole batch", id="batch-key"),
        pytest.param([{"restore": None}], {}, "exactly one of cluster_id and snapshot_id", id="missing"),
        pytest.param([{"cluster_id": "a", "snapshot_id": "s"}], {}, "exactly one of", id="both"),
        pytest.param([{"cluster_id": "a"}, {"cluster_id": "A"}], {}, "is also items[0]", id="duplicate-cluster"),
        pytest.param(
            [{"snapshot_id": "s1"}, {"snapshot_id": "arn:aws:rds:us-east-1:111111111111:cluster-snapshot:s1"}],
            {},
            "is also items[0]",
            id="duplicate-snapshot",
        ),
        pytest.param(
            [{"cluster_id": "a", "restore": _spec("x")}, {"cluster_id": "b", "restore": _spec("X")}],
            {},
            "restore.cluster_id 'X' is also the restore of items[0]",
            id="duplicate-restore-target",
        ),
        pytest.param([{"cluster_id": "1-bad"}], {}, "not a valid RDS cluster identifier", id="bad-identifier"),
        pytest.param([{"cluster_id": "a", "restore": "db"}], {}, "restore must be a ClusterRestoreSpec", id="restore"),
        pytest.param([{"cluster_id": "a", "wait": 5}], {}, "wait must be a WaitPolicy", id="wait"),
        pytest.param([{"cluster_id": "a", "run_name": "Bad_Name"}], {}, "run_name 'Bad_Name' is not valid", id="run"),
        pytest.param([{"cluster_id": "a", "cleanup": "all"}], {}, "cleanup must be", id="cleanup"),
        pytest.param([{"cluster_id": "a", "cleanup": "intermediates"}], {}, "needs a restore", id="cleanup-restore"),
        pytest.param([{"cluster_id": "a", "key_admin_principals": "arn"}], {}, "list of ARNs", id="admins"),
        pytest.param(["a"], {}, "items[0] must be a dict", id="not-a-dict"),
        pytest.param("abc", {}, "items must be a list", id="not-a-list"),
        pytest.param([{"cluster_id": "a"}], {"max_workers": 0}, "max_workers must be an integer >= 1", id="workers"),
        pytest.param([{"cluster_id": "a"}], {"copies_in_flight": 0}, "copies_in_flight must be", id="copies"),
    ],
)
def test_bad_items_fail_before_any_call(
    bed: EmulatedAWS, items: Sequence[Mapping[str, Any]], kwargs: dict[str, Any], message: str
) -> None:
    source, target = sessions(bed)
    bed.clear_calls()
    with pytest.raises(InputError) as info:
        share_cluster_snapshots(source=source, target=target, items=items, **kwargs)
    assert message in str(info.value)
    assert info.value.step == "input"
    assert bed.calls == []


def test_all_problems_are_reported_at_once(bed: EmulatedAWS) -> None:
    source, target = sessions(bed)
    with pytest.raises(InputError, match="3 problem") as info:
        share_cluster_snapshots(
            source=source, target=target, items=[{"cluster_id": "a", "x": 1}, {}, {"cluster_id": "a"}]
        )
    text = str(info.value)
    assert "items[0]: unknown key 'x'" in text
    assert "items[1]: pass exactly one" in text
    assert "items[2]: cluster 'a'" in text


def test_sessions_must_be_account_sessions(bed: EmulatedAWS) -> None:
    source, _ = sessions(bed)
    with pytest.raises(InputError, match="target must be an AccountSession"):
        share_cluster_snapshots(source=source, target="222222222222", items=[{"cluster_id": "a"}])  # type: ignore[arg-type]


@pytest.mark.parametrize(("slots", "quota"), [(2, 2), (5, 5)])
def test_copies_in_flight_stay_within_the_slots_and_the_quota(slots: int, quota: int) -> None:
    # Real (short) operations, so copies overlap: 8 items, each snapshot and copy taking 0.3 s.
    with EmulatedAWS(operation_seconds=0.3, copy_concurrency_quota=quota, manual_snapshot_quota=1000) as aws:
        clusters = [f"db{i}" for i in range(8)]
        for cluster in clusters:
            aws.create_cluster(SOURCE, cluster, instances=0)
        source, target = sessions(aws)
        shared = CopySlots(per_region=slots)
        set_testing(False)
        try:
            result = share_cluster_snapshots(
                source=source,
                target=target,
                items=[{"cluster_id": c} for c in clusters],
                max_workers=8,
                copy_slots=shared,
                wait=WaitPolicy(min_interval_seconds=0.05, jitter=0),
            )
        finally:
            set_testing(True)
        assert result.ok, [str(i.error) for i in result.failed]
        assert [r.data_copies for r in result.results] == [1] * 8
        assert shared.peak == {(SOURCE, "us-east-1"): result.peak_copies_in_flight}
        assert 1 <= result.peak_copies_in_flight <= slots
        assert shared.in_flight == {(SOURCE, "us-east-1"): 0}
        assert not [c for c in aws.calls if c.failed_with and c.failed_with.startswith("SnapshotQuotaExceeded")]
        assert sum(1 for c in aws.calls if c.operation == "CopyDBClusterSnapshot") == 8


def test_copy_slots_never_admit_more_than_n() -> None:
    slots = CopySlots(per_region=3)
    inside: dict[str, int] = {"r1": 0, "r2": 0}
    most: dict[str, int] = {"r1": 0, "r2": 0}
    guard = threading.Lock()

    def copy(region: str) -> None:
        with slots.hold("111111111111", region):
            with guard:
                inside[region] += 1
                most[region] = max(most[region], inside[region])
            time.sleep(0.005)
            with guard:
                inside[region] -= 1

    threads = [threading.Thread(target=copy, args=("r1" if i % 2 else "r2",)) for i in range(24)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert max(most.values()) <= 3  # each region has its own 3 slots
    assert slots.peak == {("111111111111", "r1"): most["r1"], ("111111111111", "r2"): most["r2"]}
    assert slots.in_flight == {("111111111111", "r1"): 0, ("111111111111", "r2"): 0}


def test_the_snapshot_quota_is_reserved_for_the_whole_batch() -> None:
    """8 default-key clusters each need a snapshot and a copy; the quota has room for 10: 5 run, 3 stop unwritten.

    Each item's plan used to read the quota on its own, so all 8 passed, and 3 then failed after taking
    their snapshot, leaving it behind. Now the batch's items reserve through their shared copy slots.
    """
    from rdsshare import PreflightError

    with EmulatedAWS(operation_seconds=0.05, manual_snapshot_quota=10) as aws:
        clusters = [f"db{i}" for i in range(8)]
        for cluster in clusters:
            aws.create_cluster(SOURCE, cluster, instances=0)
        source, target = sessions(aws)
        shared = CopySlots()
        result = share_cluster_snapshots(
            source=source, target=target, items=[{"cluster_id": c} for c in clusters], max_workers=8, copy_slots=shared
        )
        assert len(result.succeeded) == 5
        assert len(result.failed) == 3
        for item in result.failed:
            assert isinstance(item.error, PreflightError)
            assert "quota" in str(item.error)
        manual = aws.client(SOURCE, "rds").describe_db_cluster_snapshots(SnapshotType="manual")["DBClusterSnapshots"]
        assert len(manual) == 10  # the 5 items' snapshots and copies: nothing left behind by the 3
        assert not [c for c in aws.calls if c.failed_with and c.failed_with.startswith("SnapshotQuotaExceeded")]
        # A batch's reservations end with it: with the same slots, a later batch reads the quota afresh,
        # so the 10 snapshots made count (the 3 are refused before writing, not halfway) ...
        failed = [i.key for i in result.failed]
        later = share_cluster_snapshots(
            source=source, target=target, items=[{"cluster_id": k} for k in failed], copy_slots=shared
        )
        assert [type(i.error) for i in later.items] == [PreflightError] * 3
        assert not [c for c in aws.calls if c.failed_with and c.failed_with.startswith("SnapshotQuotaExceeded")]
        # ... and room made since (one item's snapshot and copy deleted) is there to use.
        done = result.succeeded[0].result
        assert done is not None
        rds = aws.client(SOURCE, "rds")
        for arn in (done.shared_snapshot_arn, done.source_snapshot_arn):
            rds.delete_db_cluster_snapshot(DBClusterSnapshotIdentifier=arn.split(":")[-1])
        aws.finish_pending()
        again = share_cluster_snapshots(
            source=source, target=target, items=[{"cluster_id": failed[0]}], copy_slots=shared
        )
        assert again.ok, [str(i.error) for i in again.failed]


def test_the_targets_cluster_quota_is_reserved_for_the_whole_batch() -> None:
    """5 restores into a target with room for 3 more clusters: 3 run, 2 stop before writing anything."""
    import attrs

    from rdsshare import PreflightError

    from ..flow.helpers import restore_spec

    with EmulatedAWS(operation_seconds=0.05) as aws:
        clusters = [f"db{i}" for i in range(5)]
        for cluster in clusters:
            aws.create_cluster(SOURCE, cluster, instances=0, encryption="none")
        aws.create_cluster(TARGET, "already-there", instances=0)
        aws.set_quota("DBClusters", 4)
        spec = restore_spec(aws)
        source, target = sessions(aws)
        items = [{"cluster_id": c, "restore": attrs.evolve(spec, cluster_id=f"{c}-copy")} for c in clusters]
        result = share_cluster_snapshots(source=source, target=target, items=items, max_workers=5)
        assert len(result.succeeded) == 3
        assert len(result.failed) == 2
        for item in result.failed:
            assert isinstance(item.error, PreflightError)
            assert "DB clusters" in str(item.error)
        assert not [c for c in aws.calls if c.failed_with == "DBClusterQuotaExceededFault"]
        failed = {i.key for i in result.failed}
        # The refused items wrote nothing: no snapshot of their clusters was taken.
        snapshots = aws.client(SOURCE, "rds").describe_db_cluster_snapshots(SnapshotType="manual")["DBClusterSnapshots"]
        assert not [s for s in snapshots if s["DBClusterIdentifier"] in failed]
