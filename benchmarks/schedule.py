"""Comparison 2, analytically: rdsshare's polling schedule against boto3's waiter for any duration.

``wait_for`` runs for real, with instant sleeps (``set_testing``) and a clock that advances by the
pauses the policy chooses; the resource becomes available ``duration`` seconds after the wait began.
boto3's RDS waiters describe at once and then every 30 s (``Delay`` 30, ``MaxAttempts`` 60), so they
make ``1 + ceil(T / 30)`` calls and notice the end ``30 * ceil(T / 30) - T`` seconds late (and give
up after 30 minutes, which the comparison ignores).
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import attrs

from rdsshare import WaitPolicy, set_testing
from rdsshare._events import Emitter
from rdsshare._waiting import Observation, wait_for

Progress = Callable[[float, float], "int | None"]

WAITER_DELAY = 30.0


def no_progress(_now: float, _duration: float) -> int | None:
    """Clusters and instances report no PercentProgress."""
    return None


def coarse_progress(now: float, duration: float) -> int | None:
    """A PercentProgress that rises in steps of 10 (0, 10 .. 90 %): what an even but coarse report does."""
    return max(0, min(90, int(now / duration * 10) * 10))


def linear_progress(now: float, duration: float) -> int | None:
    """The test bed's PercentProgress: the whole percentage of the time elapsed."""
    return min(99, int(now / duration * 100))


def jumping_progress(now: float, duration: float) -> int | None:
    """A PercentProgress that lies: it rises at half the pace, and the step ends at 50 %."""
    return min(99, int(now / duration * 50))


def simulate(policy: WaitPolicy, duration: float, progress: Progress, seed: int = 0) -> tuple[int, float]:
    """(describe calls, detection latency in seconds) of one wait."""
    random.seed(seed)
    now = 0.0
    calls = 0

    @attrs.frozen(kw_only=True)
    class FakeClockPolicy(WaitPolicy):
        def next_delay(self, elapsed: float, percent: int | None, *, end: tuple[float, float] | None = None) -> float:
            nonlocal now
            delay = policy.next_delay(elapsed, percent, end=end)
            now += delay
            return delay

    def poll() -> Observation:
        nonlocal calls
        calls += 1
        if now >= duration:
            return Observation(status="available", done=True)
        return Observation(status="busy", percent=progress(now, duration))

    fake = FakeClockPolicy(**attrs.asdict(policy, recurse=False))
    set_testing(True)
    try:
        wait_for(poll, step="copy", account_id="1", resource="s", emit=Emitter(None), policy=fake, clock=lambda: 0.0)
    finally:
        set_testing(False)
    return calls, now - duration


def waiter(duration: float, delay: float = WAITER_DELAY) -> tuple[int, float]:
    """(calls, latency) of boto3's waiter at its defaults (or any fixed poll every ``delay`` seconds)."""
    polls = math.ceil(duration / delay)
    return 1 + polls, polls * delay - duration


#: A fixed poll every 5 minutes: what a cron job or a hand-written loop that is gentle on the API does.
FIVE_MINUTES = 300.0


def fewest_calls(duration: float, max_interval: float = math.inf) -> int:
    """The fewest describes any schedule needs to notice every duration within max(1 s, 5 %)."""
    t, calls = 0.0, 1
    while t < duration:
        t = max(t + 1.0, min(t / 0.95, t + max_interval))
        calls += 1
    return calls


def goal(duration: float) -> float:
    """The latency goal: max(1 s, 5 % of the step's duration)."""
    return max(1.0, 0.05 * duration)


@dataclass(frozen=True)
class Measure:
    """One schedule over 25 durations in T .. 1.1 T: mean calls, worst latency, worst share of the goal,
    and in how many of the 25 it made more calls than the waiter for the same duration."""

    calls: float
    latency: float
    of_goal: float
    over_waiter: int


@dataclass(frozen=True)
class Row:
    """One duration T: boto3's waiter, and rdsshare's default policy under each kind of PercentProgress."""

    duration: float
    waiter: Measure
    #: a fixed poll every 5 minutes
    every_five: Measure
    fewest: int
    #: clusters, instances: no PercentProgress
    plain: Measure
    #: snapshots and copies, PercentProgress rising evenly in whole percents (the test bed's)
    progress: Measure
    #: PercentProgress rising evenly in steps of 10
    coarse: Measure
    #: PercentProgress that rises at half the pace, the step ending at 50 %
    jumping: Measure


DURATIONS = (5.0, 30.0, 60.0, 300.0, 600.0, 1800.0, 3600.0, 7200.0, 4 * 3600.0, 12 * 3600.0, 23 * 3600.0)


def _measure(runs: list[tuple[float, int, float]]) -> Measure:
    return Measure(
        calls=sum(c for _, c, _ in runs) / len(runs),
        latency=max(lat for _, _, lat in runs),
        of_goal=max(lat / goal(t) for t, _, lat in runs),
        over_waiter=sum(1 for t, c, _ in runs if c > waiter(t)[0]),
    )


def table(durations: tuple[float, ...] = DURATIONS, samples: int = 25) -> list[Row]:
    """One row per duration."""
    default = WaitPolicy(timeout=timedelta(hours=48))
    rows = []
    for duration in durations:
        spread = [duration * (1 + 0.1 * i / samples) for i in range(samples)]

        def runs(progress: Progress, spread: list[float] = spread) -> Measure:
            return _measure([(t, *simulate(default, t, progress, seed=i)) for i, t in enumerate(spread)])

        rows.append(
            Row(
                duration=duration,
                waiter=_measure([(t, *waiter(t)) for t in spread]),
                every_five=_measure([(t, *waiter(t, FIVE_MINUTES)) for t in spread]),
                fewest=fewest_calls(duration, default.max_interval_seconds),
                plain=runs(no_progress),
                progress=runs(linear_progress),
                coarse=runs(coarse_progress),
                jumping=runs(jumping_progress),
            )
        )
    return rows


def break_even() -> tuple[float, float]:
    """The shortest durations from which (any latency-bound schedule, the default policy) make no
    more calls than the waiter, checked every 30 s up to 3 h."""
    default = WaitPolicy(jitter=0, timeout=timedelta(hours=48))
    steps = range(30, 3 * 3600, 30)
    lower = next(t for t in steps if all(fewest_calls(u) <= waiter(u)[0] for u in range(t, 3 * 3600, 30)))
    ours = next(
        t for t in steps if all(simulate(default, u, no_progress)[0] <= waiter(u)[0] for u in range(t, 3 * 3600, 30))
    )
    return float(lower), float(ours)
