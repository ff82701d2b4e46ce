"""One watcher per account and region: waits share filtered describes, and keep their own latency bound."""

from __future__ import annotations

import itertools
import time
from typing import Any

import pytest

import rdsshare._flow
from rdsshare import AccountSession, RdsShareError, WaitPolicy, set_testing, share_cluster_snapshots
from rdsshare._copier import SnapshotCopier
from rdsshare._events import Emitter
from rdsshare._waiting import Observation, WaitState, poll_once
from rdsshare._watch import CLUSTER_SNAPSHOTS, VALUES_PER_CALL, Freshness, Watcher, align, freshness, watcher_for
from rdsshare.testing import EmulatedAWS

from ..accounts import SOURCE
from .conftest import sessions

EVER = Freshness(newer_than=0.0, max_age=3600.0)


def _describes(aws: EmulatedAWS) -> int:
    return sum(1 for c in aws.calls if c.operation == "DescribeDBClusterSnapshots")


def _snapshots(aws: EmulatedAWS, count: int) -> list[str]:
    rds = aws.client(SOURCE, "rds")
    aws.create_cluster(SOURCE, "orders", instances=0)
    names = [f"snap-{i:03d}" for i in range(count)]
    for name in names:
        rds.create_db_cluster_snapshot(DBClusterIdentifier="orders", DBClusterSnapshotIdentifier=name)
    aws.finish_pending()
    return names


def _in_progress(aws: EmulatedAWS, count: int) -> list[str]:
    aws.create_cluster(SOURCE, "busy", instances=0)
    aws.finish_pending()
    aws.operation_seconds = 600.0  # still being made while the test runs
    rds = aws.client(SOURCE, "rds")
    names = [f"busy-{i}" for i in range(count)]
    for name in names:
        rds.create_db_cluster_snapshot(DBClusterIdentifier="busy", DBClusterSnapshotIdentifier=name)
    return names


def test_one_describe_answers_every_wait_of_the_account_and_region(bed: EmulatedAWS) -> None:
    names = _in_progress(bed, 5)
    watcher = Watcher(bed.client(SOURCE, "rds"))
    for name in names:  # each wait's first poll asks AWS, and registers its snapshot
        watcher.get(CLUSTER_SNAPSHOTS, [name], Freshness(newer_than=float("inf"), max_age=0.0))
    bed.clear_calls()
    first, fetched = watcher.get(CLUSTER_SNAPSHOTS, [names[0]], Freshness(newer_than=time.time(), max_age=60.0))
    assert _describes(bed) == 1
    for name in names[1:]:
        found, at = watcher.get(CLUSTER_SNAPSHOTS, [name], EVER)
        snap = found[name]
        assert snap is not None
        assert snap["DBClusterSnapshotIdentifier"] == name
        assert at == fetched  # the wait counts it as a poll made then
    assert _describes(bed) == 1
    assert first[names[0]] is not None


def test_an_answer_from_before_the_last_look_or_too_old_is_not_taken(bed: EmulatedAWS) -> None:
    [name] = _snapshots(bed, 1)
    watcher = Watcher(bed.client(SOURCE, "rds"))
    _, fetched = watcher.get(CLUSTER_SNAPSHOTS, [name], EVER)
    bed.clear_calls()
    watcher.get(CLUSTER_SNAPSHOTS, [name], Freshness(newer_than=fetched, max_age=60.0))  # already seen it
    assert _describes(bed) == 1
    time.sleep(0.05)
    watcher.get(CLUSTER_SNAPSHOTS, [name], Freshness(newer_than=0.0, max_age=0.01))  # too old
    assert _describes(bed) == 2


def test_settled_resources_leave_the_describes_and_many_are_split_into_calls(bed: EmulatedAWS) -> None:
    names = _snapshots(bed, VALUES_PER_CALL + 3)
    watcher = Watcher(bed.client(SOURCE, "rds"))
    bed.clear_calls()
    found, _ = watcher.get(CLUSTER_SNAPSHOTS, names, Freshness(newer_than=float("inf"), max_age=0.0))
    assert all(found[n] is not None for n in names)
    assert _describes(bed) == 2  # 103 identifiers, at most 100 per filtered describe
    # All are available: no later describe includes them unless a wait asks again.
    bed.clear_calls()
    watcher.get(CLUSTER_SNAPSHOTS, ["snap-000"], Freshness(newer_than=float("inf"), max_age=0.0))
    assert _describes(bed) == 1
    assert watcher.calls == 3


def test_a_describe_error_reaches_the_wait_as_a_typed_error(bed: EmulatedAWS) -> None:
    [name] = _snapshots(bed, 1)
    session = AccountSession(bed.session(SOURCE), endpoint_url=bed.endpoint_url)
    copier = SnapshotCopier(session.rds(), account_id=SOURCE, region="us-east-1", watcher=watcher_for(session))
    bed.inject_fault("rds", "DescribeDBClusterSnapshots", "AccessDenied", times=1)
    with pytest.raises(RdsShareError) as raised:
        copier.observe(name, EVER)
    assert (raised.value.error_code, raised.value.step, raised.value.resource) == ("AccessDenied", "snapshot", name)
    obs, snap = copier.observe(name, EVER)
    assert obs is not None
    assert obs.done
    assert obs.seen_at is not None
    assert snap is not None


def test_watcher_is_one_per_session_object(bed: EmulatedAWS) -> None:
    source, target = sessions(bed)
    assert watcher_for(source) is watcher_for(source)
    assert watcher_for(source) is not watcher_for(target)
    assert watcher_for(source.in_region("eu-west-1")) is not watcher_for(source)


def test_a_shared_answer_counts_as_a_poll_made_when_it_was_fetched() -> None:
    policy = WaitPolicy(jitter=0)
    state = WaitState(started=1000.0)
    emit = Emitter(None)

    def poll(seen_at: float) -> Any:
        return lambda: Observation(status="creating", seen_at=seen_at)

    # Polled alone at 1100 s: the pause is 4.5 % of 100 s.
    alone = poll_once(
        poll(1100.0),
        WaitState(started=1000.0),
        now=1100.0,
        step="s",
        account_id="1",
        resource="r",
        emit=emit,
        policy=policy,
    )
    # The same answer, fetched at 1100 s by another wait and taken at 1103 s: the next poll is due
    # at the same moment, 3 s sooner from now.
    shared = poll_once(
        poll(1100.0), state, now=1103.0, step="s", account_id="1", resource="r", emit=emit, policy=policy
    )
    assert isinstance(alone, float)
    assert isinstance(shared, float)
    assert shared == pytest.approx(alone - 3.0)
    assert state.last_poll == pytest.approx(100.0)
    fresh = freshness(state, policy, now=1105.0)
    assert fresh.newer_than == pytest.approx(1100.0)
    assert 0 < fresh.max_age <= policy.max_interval_seconds / 4


def test_waits_with_pauses_in_the_same_octave_wake_together() -> None:
    now = 1_000_000.3
    wakes = sorted({round(now + align(now, delay), 9) for delay in (8.1, 9.0, 11.5, 14.0, 15.9)})
    assert len(wakes) <= 3  # pauses of 8 .. 16 s wake at instants 4 s apart
    assert all(later - earlier == pytest.approx(4.0) for earlier, later in itertools.pairwise(wakes))
    for delay in (0.05, 0.81, 0.9, 7.0, 120.0):
        assert delay / 2 <= align(now, delay) <= delay  # never later, at most half sooner


def _batch(aws: EmulatedAWS, count: int, *, alone: bool, monkeypatch: pytest.MonkeyPatch) -> tuple[int, bool]:
    if alone:
        # Every wait describes its own snapshot on its own schedule, as before watchers.
        monkeypatch.setattr(rdsshare._flow, "watcher_for", lambda session: None)
        monkeypatch.setattr(rdsshare._flow, "wake_together", lambda state, now, delay, account="": delay)
    names = [f"db{i:02d}-1" for i in range(count)]
    rds = aws.client(SOURCE, "rds")
    for i, name in enumerate(names):
        aws.create_cluster(SOURCE, f"db{i:02d}", instances=0)
        rds.create_db_cluster_snapshot(DBClusterIdentifier=f"db{i:02d}", DBClusterSnapshotIdentifier=name)
    aws.finish_pending()
    source, target = sessions(aws)
    aws.operation_seconds = 3.0
    aws.clear_calls()
    result = share_cluster_snapshots(
        source=source,
        target=target,
        items=[{"snapshot_id": name, "run_name": "w"} for name in names],
        copies_in_flight=count,
        # Without PercentProgress, as clusters and instances, and as the long middle of an hours-long copy.
        wait=WaitPolicy(min_interval_seconds=0.2, use_progress=False),
    )
    return _describes(aws), result.ok


def test_the_waits_of_a_batch_share_their_polls() -> None:
    counts: dict[bool, int] = {}
    with set_testing(False):  # real pauses: sharing depends on when the waits wake
        for alone in (False, True):
            with (
                pytest.MonkeyPatch.context() as patch,
                EmulatedAWS(region="us-east-1", copy_concurrency_quota=10) as aws,
            ):
                counts[alone], ok = _batch(aws, 10, alone=alone, monkeypatch=patch)
                assert ok
    # 10 copies of 3 s at once: alone, each wait polls for itself; shared, one describe per
    # wake-up of the account serves every wait due then.
    assert counts[False] <= 0.8 * counts[True], counts
