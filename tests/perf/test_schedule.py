"""The polling schedule on a fake clock: detection latency and describe calls against boto3's waiters.

``wait_for`` runs for real with instant sleeps (``set_testing``); the clock it reads advances by the
pauses the policy chooses, so each case is deterministic (jitter is seeded) and takes no time.
A resource becomes available ``duration`` seconds after the wait starts. The simulation is the
one ``benchmarks/schedule.py`` uses for the Performance page, so the page and these bounds agree.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import timedelta

import pytest
from benchmarks.schedule import (
    Progress,
    coarse_progress,
    fewest_calls,
    jumping_progress,
    linear_progress,
    no_progress,
    simulate,
)

from rdsshare import WaitPolicy, set_testing

MINUTE = 60.0
HOUR = 3600.0
DURATIONS = [5.0, 7.3, 12.0, 30.0, 61.0, 5 * MINUTE, 17 * MINUTE, 45 * MINUTE, HOUR, 2 * HOUR, 5.5 * HOUR, 12 * HOUR]


@pytest.fixture(autouse=True)
def _instant() -> Iterator[None]:
    set_testing(True)
    yield
    set_testing(False)


def waiter_calls(duration: float, delay: float = 30.0) -> int:
    """boto3's waiter: a describe at once, then one every ``delay`` seconds until it sees the resource ready."""
    return 1 + math.ceil(duration / delay)


@pytest.mark.parametrize("progress", [no_progress, coarse_progress, linear_progress])
@pytest.mark.parametrize("duration", DURATIONS)
def test_latency_stays_within_one_second_or_five_percent(duration: float, progress: Progress) -> None:
    policy = WaitPolicy(timeout=timedelta(hours=48))
    for seed in range(5):
        _, latency = simulate(policy, duration, progress, seed)
        assert 0 <= latency < max(1.0, 0.05 * duration)
        # The design bound leaves room for the poll's own round trip inside the goal.
        assert latency <= max(policy.min_interval_seconds, policy.elapsed_fraction * duration)


@pytest.mark.parametrize("duration", DURATIONS)
def test_calls_are_close_to_the_fewest_possible_for_that_latency(duration: float) -> None:
    policy = WaitPolicy(jitter=0, timeout=timedelta(hours=48))
    calls, _ = simulate(policy, duration, no_progress)
    # 0.9 s / 4.5 % instead of 1 s / 5 % (the round-trip margin) costs up to ~11 % more polls.
    assert calls <= math.ceil(1.15 * fewest_calls(duration, policy.max_interval_seconds))


@pytest.mark.parametrize("duration", [2 * HOUR, 5.5 * HOUR, 12 * HOUR, 23 * HOUR])
def test_long_waits_make_fewer_calls_than_the_waiter(duration: float) -> None:
    policy = WaitPolicy(timeout=timedelta(hours=48))
    for progress in (no_progress, coarse_progress):
        calls, _ = simulate(policy, duration, progress)
        assert calls < waiter_calls(duration)
    if duration >= 5 * HOUR:
        # Once the pause reaches the max interval (after ~45 min), one poll per 120 s against
        # the waiter's one per 30 s.
        assert calls < waiter_calls(duration) / 2


@pytest.mark.parametrize("duration", [5.0, 30.0, 5 * MINUTE, 30 * MINUTE])
def test_short_waits_need_more_calls_than_the_waiter(duration: float) -> None:
    # The price of the latency goal: no schedule notices every duration within max(1 s, 5 %) with
    # the waiter's 1 + ceil(T / 30) calls, until about an hour.
    assert fewest_calls(duration) > waiter_calls(duration)
    calls, _ = simulate(WaitPolicy(jitter=0), duration, no_progress)
    assert calls >= fewest_calls(duration)


def test_fewest_calls_break_even_with_the_waiter_near_an_hour() -> None:
    even = next(t for t in range(30, 3 * 3600, 30) if fewest_calls(t) <= waiter_calls(t))
    assert 40 * MINUTE <= even <= 75 * MINUTE


def test_without_a_prediction_no_pause_is_longer_than_the_elapsed_schedule() -> None:
    policy = WaitPolicy()
    for elapsed in (0.0, 0.5, 3.0, 19.0, 20.0, 100.0, 1000.0, 5000.0, 50000.0):
        budget = min(max(policy.min_interval_seconds, policy.elapsed_fraction * elapsed), policy.max_interval_seconds)
        for percent in (None, 0, 1, 10, 50, 90, 99, 100):
            for _ in range(20):
                delay = policy.next_delay(elapsed, percent)
                assert policy.min_interval_seconds * (1 - policy.jitter) <= delay <= budget + 1e-9


def test_jitter_only_shortens_and_spreads_polls_at_the_minimum_interval_too() -> None:
    policy = WaitPolicy(jitter=0.1)
    for elapsed in (1000.0, 0.0):  # on the elapsed schedule, and at the 0.9 s floor
        nominal = WaitPolicy(jitter=0).next_delay(elapsed, None)
        delays = {policy.next_delay(elapsed, None) for _ in range(200)}
        assert len(delays) > 100  # spread out: concurrent waits do not poll in lockstep
        assert all(0.9 * nominal - 1e-9 <= d <= nominal for d in delays)


def test_polls_at_the_estimated_end_when_it_is_near() -> None:
    policy = WaitPolicy(jitter=0)
    # 400 s waited, 99 %: about 4 s left, sooner than the 18 s budget.
    assert policy.next_delay(400.0, 99) == pytest.approx(400.0 / 99)
    assert policy.next_delay(400.0, 99) < policy.next_delay(400.0, 10)


def test_max_interval_bounds_every_pause() -> None:
    policy = WaitPolicy(max_interval_seconds=45.0)
    for elapsed in (10.0, 1e3, 1e4, 1e5):
        for percent in (None, 1, 50):
            assert policy.next_delay(elapsed, percent) <= 45.0
            assert policy.next_delay(elapsed, percent, end=(elapsed * 50, elapsed * 60)) <= 45.0


#: 1 min .. 24 h in steps of 7 %, off the 30-s grid of the waiter
STEP_LENGTHS = [MINUTE * 1.07**i + 0.37 for i in range(int(math.log(24 * 60) / math.log(1.07)) + 1)]


def test_with_percent_progress_no_more_calls_than_the_waiter_from_one_minute_to_a_day() -> None:
    policy = WaitPolicy(timeout=timedelta(hours=48))
    assert STEP_LENGTHS[-1] > 23 * HOUR
    for duration in STEP_LENGTHS:
        for seed in range(3):
            calls, latency = simulate(policy, duration, linear_progress, seed)
            assert calls <= waiter_calls(duration), duration
            assert latency <= max(policy.min_interval_seconds, policy.elapsed_fraction * duration), duration


@pytest.mark.parametrize("duration", [5 * MINUTE, 17 * MINUTE, HOUR, 5.5 * HOUR])
def test_percent_progress_saves_calls_and_can_be_switched_off(duration: float) -> None:
    trusting = WaitPolicy(timeout=timedelta(hours=48))
    plain = WaitPolicy(timeout=timedelta(hours=48), use_progress=False)
    calls_trusting, latency = simulate(trusting, duration, linear_progress)
    calls_plain, _ = simulate(plain, duration, linear_progress)
    calls_without, _ = simulate(trusting, duration, no_progress)
    assert calls_trusting < calls_plain
    assert calls_plain == calls_without  # switched off, PercentProgress buys nothing
    assert latency < max(1.0, 0.05 * duration)


@pytest.mark.parametrize("duration", [30.0, 5 * MINUTE, HOUR, 5.5 * HOUR])
def test_percent_progress_that_lies_costs_latency_bounded_by_the_max_interval(duration: float) -> None:
    policy = WaitPolicy(timeout=timedelta(hours=48))
    for seed in range(3):
        _, latency = simulate(policy, duration, jumping_progress, seed)
        assert latency <= policy.max_interval_seconds
        _, latency = simulate(WaitPolicy(timeout=timedelta(hours=48), use_progress=False), duration, jumping_progress)
        assert latency <= max(policy.min_interval_seconds, policy.elapsed_fraction * duration)
