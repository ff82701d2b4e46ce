"""The polling schedule: when to look again, and what a wait knows between two looks.

:class:`WaitPolicy` says how often to poll (:meth:`WaitPolicy.next_delay`); :class:`WaitState` is
where one wait stands, as plain values a resumable job saves between two polls, including what
``PercentProgress`` told of the step's end (:meth:`WaitState.note_progress`). The polling itself
is in :mod:`rdsshare._waiting`.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import attrs

__all__ = ["Observation", "WaitPolicy", "WaitState"]


@attrs.frozen(kw_only=True)
class WaitPolicy:
    """How long and how often to wait for AWS.

    ``timeout`` applies to each wait (a snapshot copy, a restore...). The default is generous
    because copies of large snapshots take hours; a wait that times out leaves the AWS
    operation running, and rerunning the same call resumes it.
    """

    #: how long one wait may take before :class:`~rdsshare.WaitTimeoutError`
    timeout: timedelta = timedelta(hours=24)
    #: the shortest pause between two polls; below 1 s so that, with the poll's own round trip,
    #: a short step is noticed less than a second after it finished
    min_interval_seconds: float = attrs.field(default=0.9, validator=attrs.validators.gt(0))
    #: the longest pause between two polls
    max_interval_seconds: float = attrs.field(default=120.0, validator=attrs.validators.gt(0))
    #: the longest pause as a fraction of the time waited so far: bounds the detection latency of a
    #: long step to this fraction of its duration (4.5 % leaves room for the poll's round trip under 5 %)
    elapsed_fraction: float = attrs.field(default=0.045, validator=attrs.validators.gt(0))
    #: random shortening of each pause, as a fraction of it (0.1: up to 10 % shorter), so that
    #: concurrent waits spread their polls; it never lengthens a pause past the latency bound
    jitter: float = attrs.field(default=0.1, validator=[attrs.validators.ge(0), attrs.validators.lt(1)])
    #: predict the end from ``PercentProgress`` (snapshots and copies report it) and poll near it
    #: instead of on the elapsed-time schedule: far fewer polls for long copies. The latency bound
    #: then assumes that PercentProgress rises linearly with time, in even steps; where it does
    #: not (it jumps ahead), a step is still noticed within ``max_interval_seconds``. Progress that
    #: contradicts itself (goes back, or is inconsistent with a linear rise) is ignored for the
    #: rest of the wait. False: never lengthen a pause past the elapsed-time schedule.
    use_progress: bool = True
    #: the longest one call keeps retrying a refusal that waiting cures (5 copies already in flight,
    #: a snapshot or cluster busy with another operation) before it raises it; None: each refusal's
    #: own limit (the copy quota: ``timeout``; a busy resource: 30 minutes). A workflow engine sets
    #: it short and retries the step itself, so that no worker sleeps for long inside one call
    #: (:mod:`rdsshare.temporal`, :mod:`rdsshare.aws_lambda`).
    retry_for: timedelta | None = None

    def retry_seconds(self, default: float) -> float:
        """How long a call may retry a refusal whose own limit is ``default`` seconds (see ``retry_for``)."""
        return default if self.retry_for is None else min(default, self.retry_for.total_seconds())

    def next_delay(self, elapsed: float, percent: int | None, *, end: tuple[float, float] | None = None) -> float:
        """Seconds until the next poll.

        Without ``end``: ``max(min_interval_seconds, elapsed_fraction * elapsed)``, capped at
        ``max_interval_seconds``, and shorter when ``percent`` puts the estimated end sooner (polls at
        the estimate). With ``end`` (``(after, by)``: the step ends after ``after`` and by ``by``
        seconds into the wait, from PercentProgress, see :class:`WaitState`): the first moment at
        which every end in that window is noticed within the latency bound, which may be much later.
        Either way at most ``max_interval_seconds``, and up to ``jitter`` shorter at random (also
        at the minimum interval, so that concurrent waits do not poll in lockstep).
        """
        floor = min(self.min_interval_seconds, self.max_interval_seconds)
        delay = max(self.min_interval_seconds, elapsed * self.elapsed_fraction)
        if end is not None and self.use_progress:
            after, by = end
            start = max(after, elapsed)
            # A poll at ``target`` notices every end in [start, target] within the latency bound,
            # and no end comes after ``by``.
            target = min(by, start + max(self.min_interval_seconds, start * self.elapsed_fraction))
            if target - elapsed > self.max_interval_seconds:
                delay = self.max_interval_seconds
            else:
                # Jitter only the slack after ``start`` (a poll before it would be wasted), and not
                # when the window closes first: a poll at ``by`` finds the step done.
                slack = target - start
                if self.jitter and target < by:
                    slack *= 1 - random.uniform(0, self.jitter)  # noqa: S311 - not crypto
                return max(floor * (1 - self.jitter), start - elapsed + slack)
        elif percent is not None and 0 < percent < 100 and elapsed > 0:
            remaining = elapsed * (100 - percent) / percent  # linear extrapolation
            if remaining < delay:
                # The estimated end comes before the latency budget: poll at the estimate.
                delay = max(floor, remaining)
        delay = min(delay, self.max_interval_seconds)
        if self.jitter:
            delay *= 1 - random.uniform(0, self.jitter)  # noqa: S311 - not crypto
        return delay


@attrs.frozen(kw_only=True)
class Observation:
    """One poll's view of a resource (or of several that wait together)."""

    status: str
    percent: int | None = None
    done: bool = False
    failed: bool = False
    #: when the answer was fetched (``time.time()``), when it is an earlier poll's answer shared by
    #: a watcher (:mod:`rdsshare._watch`): the wait counts it as a poll made then
    seen_at: float | None = None


@attrs.define(kw_only=True)
class WaitState:
    """Where one wait stands, as plain values: a resumable job keeps it between two polls.

    ``started`` is on the clock the polls are timed with (``time.time()`` for a job, which another
    process may continue); ``slept`` sums the pauses asked for, the clock of instant (testing) mode.
    """

    started: float
    slept: float = 0.0
    missing: int = 0
    failures: int = 0
    last_status: str | None = None
    last_percent: int | None = None
    #: seconds into the wait of the last poll that saw the resource
    last_poll: float | None = None
    #: what PercentProgress says of the end, in seconds into the wait: after ``end_after``, by
    #: ``end_by`` (None: nothing known yet); see :meth:`note_progress`
    end_after: float = 0.0
    end_by: float | None = None
    #: the greatest common divisor of the percentages seen: the step PercentProgress rises by
    percent_step: int = 0
    #: False once PercentProgress contradicted a linear rise: the rest of the wait ignores it
    progress_trusted: bool = True

    def note_progress(self, elapsed: float, percent: int | None) -> None:
        """Narrow the window in which the step ends, from one poll's PercentProgress.

        Assumes PercentProgress rises linearly with time and is reported in even steps (rounded
        down): ``p`` at ``t`` seconds puts the end by ``100 t / p`` and after ``100 t / (p + step)``;
        a value that changed since the previous poll at ``t0`` puts it after ``100 t0 / p``. A value
        that goes back, or a window that closes, means the assumption does not hold for this step.
        """
        previous, self.last_percent = self.last_percent, percent
        last_poll, self.last_poll = self.last_poll, elapsed
        if not self.progress_trusted or percent is None or not 0 < percent < 100 or elapsed <= 0:
            return
        if previous is not None and percent < previous:
            self._distrust()
            return
        self.percent_step = math.gcd(self.percent_step, percent)
        end_by = 100 * elapsed / percent
        end_after = 100 * elapsed / (percent + self.percent_step)
        if previous is not None and percent > previous and last_poll is not None:
            end_after = max(end_after, 100 * last_poll / percent)
        if self.end_by is not None and elapsed < self.end_by:
            end_by, end_after = min(end_by, self.end_by), max(end_after, self.end_after)
        if end_after > end_by:
            self._distrust()
            return
        self.end_after, self.end_by = end_after, end_by

    def _distrust(self) -> None:
        self.progress_trusted, self.end_after, self.end_by = False, 0.0, None

    @property
    def predicted_end(self) -> tuple[float, float] | None:
        """``(after, by)`` from PercentProgress, while it is trusted."""
        return (self.end_after, self.end_by) if self.progress_trusted and self.end_by is not None else None

    def to_dict(self) -> dict[str, float | int | str | None]:
        """As JSON-able values (see :meth:`from_dict`)."""
        return attrs.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> WaitState:
        """Read :meth:`to_dict`'s values back."""
        return cls(**{f.name: data[f.name] for f in attrs.fields(cls) if f.name in data})
