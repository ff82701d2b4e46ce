"""Explicit waiting: polling with progress events and a deadline, and bounded retries.

boto3's RDS waiters poll every 30 s and give up after 60 attempts (about 30 minutes); copies
under a new key can take hours [AUR-COPY]. rdsshare polls itself instead, until a deadline (24 h
by default). Without a prediction it polls fast at first, then at most every
``max_interval_seconds``, each pause at most ``max(min_interval_seconds, elapsed_fraction x time
waited so far)``, so a step is noticed within ``max(0.9 s, 4.5 % of its duration)`` plus one poll's
round trip. Snapshots and copies report ``PercentProgress``: :meth:`WaitState.note_progress`
narrows the window in which the step ends and :meth:`WaitPolicy.next_delay` polls at the first
moment that notices every end in it within the same bound, which for long copies is a small
fraction of the polls (docs/performance.md has the numbers). Jitter shortens pauses so that
concurrent waits spread their polls.

tenacity is used in one place, :func:`retry_call`, for what botocore cannot know: KMS
propagation right after a key policy change, resources that are busy for a while, and the
5-concurrent-copies quota. botocore's standard retry mode handles throttling and 5xx.

:func:`set_testing` makes every wait and retry sleep zero seconds, for fast tests.
"""

from __future__ import annotations

import logging
import math
import random
import time
from collections.abc import Callable, Collection, Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any, TypeVar

import attrs
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    EndpointConnectionError,
    ReadTimeoutError,
)
from botocore.exceptions import ConnectionError as BotoConnectionError

from ._errors import NotFoundError, RdsShareError, ResourceFailedError, WaitTimeoutError, error_code
from ._events import Emitter, Retrying, StepProgress

if TYPE_CHECKING:
    import tenacity

__all__ = ["WaitPolicy", "WaitState", "is_testing", "poll_once", "retry_call", "set_testing", "wait_for"]

_log = logging.getLogger("rdsshare.waiting")
T = TypeVar("T")

_TESTING = False


class _TestingSwitch:
    """What :func:`set_testing` returns: used in a ``with`` block, it puts the earlier setting back."""

    def __init__(self, previous: bool) -> None:
        self._previous = previous

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc_info: object) -> None:
        global _TESTING
        _TESTING = self._previous


def set_testing(enabled: bool = True) -> _TestingSwitch:
    """Make all rdsshare waits and retries instant (no sleeping). For tests only.

    Call it to switch, or use it as a context manager to switch for a block only::

        with rdsshare.set_testing():
            share_cluster_snapshot(...)   # waits are instant here
    """
    global _TESTING
    previous, _TESTING = _TESTING, enabled
    return _TestingSwitch(previous)


def is_testing() -> bool:
    """Whether :func:`set_testing` is on."""
    return _TESTING


def sleep(seconds: float) -> None:
    """``time.sleep`` unless :func:`set_testing` is on."""
    if not _TESTING and seconds > 0:
        time.sleep(seconds)


_sleep = sleep

#: Codes botocore's standard mode treats as throttling, plus 5xx-style internal errors.
TRANSIENT_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "RequestThrottled",
        "PriorRequestNotComplete",
        "InternalFailure",
        "InternalError",
        "ServiceUnavailable",
        "KMSInternalException",
        "DependencyTimeoutException",
    }
)


def is_transient(exc: BaseException) -> bool:
    """Whether a failed call may succeed when repeated: throttling, 5xx, a dropped connection."""
    if isinstance(exc, ClientError):
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        return error_code(exc) in TRANSIENT_CODES or int(status or 0) >= 500
    return isinstance(exc, BotoCoreError) and isinstance(
        exc, (BotoConnectionError, EndpointConnectionError, ConnectionClosedError, ReadTimeoutError)
    )


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


def poll_once(
    poll: Callable[[], Observation | None],
    state: WaitState,
    *,
    now: float,
    step: str,
    account_id: str,
    resource: str,
    emit: Emitter,
    policy: WaitPolicy,
    not_found_polls: int = 5,
) -> Observation | float:
    """One poll of a wait: the observation once it is done, else the seconds to pause before the next.

    Raises as :func:`wait_for` does (a failed resource, one that disappeared, the deadline). Throttling
    and 5xx answers that outlasted botocore's retries only lengthen the pause. ``state`` is updated.
    """
    timeout = policy.timeout.total_seconds()
    try:
        obs = poll()
    except Exception as exc:
        # botocore gave up on throttling or a 5xx: keep polling within this wait's deadline,
        # backing off, instead of failing a run whose AWS operation is still going on.
        if not _transient_poll_error(exc):
            raise
        state.failures += 1
        elapsed = max(now - state.started, state.slept)
        if elapsed >= timeout:
            raise _timed_out(
                resource, policy, step, account_id, f": the last polls failed with {_code_of(exc)}"
            ) from exc
        delay = min(
            policy.max_interval_seconds,
            max(policy.min_interval_seconds, 2.0 ** min(state.failures, 8)),
            timeout - elapsed,
        )
        emit(
            Retrying(
                step=step,
                account_id=account_id,
                resource=resource,
                attempt=state.failures,
                error_code=_code_of(exc),
                wait_seconds=delay,
            )
        )
        state.slept += delay
        return delay
    state.failures = 0
    elapsed = max(now - state.started, state.slept)
    if obs is None:
        state.missing += 1
        if state.missing >= not_found_polls:
            raise NotFoundError(
                f"{resource} disappeared while waiting for it",
                step=step,
                account_id=account_id,
                resource=resource,
            )
    else:
        state.missing = 0
        if obs.failed:
            raise ResourceFailedError(
                f"{resource} went into state {obs.status!r}",
                step=step,
                account_id=account_id,
                resource=resource,
                fix="look at the RDS events of this resource; delete it and rerun",
            )
        if obs.done:
            return obs
        changed = (obs.status, obs.percent) != (state.last_status, state.last_percent)
        state.note_progress(elapsed, obs.percent)
        if changed:
            emit(
                StepProgress(
                    step=step,
                    account_id=account_id,
                    resource=resource,
                    status=obs.status,
                    percent=obs.percent,
                    elapsed_seconds=elapsed,
                )
            )
            state.last_status = obs.status
    if elapsed >= timeout:
        raise _timed_out(resource, policy, step, account_id)
    end = state.predicted_end if obs else None
    delay = min(policy.next_delay(elapsed, obs.percent if obs else None, end=end), timeout - elapsed)
    state.slept += delay
    return delay


def wait_for(
    poll: Callable[[], Observation | None],
    *,
    step: str,
    account_id: str,
    resource: str,
    emit: Emitter,
    policy: WaitPolicy,
    clock: Callable[[], float] = time.monotonic,
    not_found_polls: int = 5,
) -> Observation:
    """Poll until ``poll()`` reports done, a failure, or the deadline (:func:`poll_once` in a loop).

    ``poll`` returns ``None`` while the resource is not visible yet (eventual consistency);
    after ``not_found_polls`` such polls in a row it is an error.
    """
    state = WaitState(started=clock())
    while True:
        outcome = poll_once(
            poll,
            state,
            now=clock(),
            step=step,
            account_id=account_id,
            resource=resource,
            emit=emit,
            policy=policy,
            not_found_polls=not_found_polls,
        )
        if isinstance(outcome, Observation):
            return outcome
        _sleep(outcome)


def _timed_out(resource: str, policy: WaitPolicy, step: str, account_id: str, detail: str = "") -> WaitTimeoutError:
    return WaitTimeoutError(
        f"{resource} not ready after {policy.timeout}{detail}",
        step=step,
        account_id=account_id,
        resource=resource,
        fix="the AWS operation continues; rerun the same call to resume waiting",
    )


def _transient_poll_error(exc: BaseException) -> bool:
    if isinstance(exc, RdsShareError):  # translated by the step that polled
        return exc.error_code in TRANSIENT_CODES or is_transient(exc.__cause__ or exc)
    return is_transient(exc)


def _code_of(exc: BaseException) -> str:
    if isinstance(exc, ClientError):
        return error_code(exc) or type(exc).__name__
    if isinstance(exc, RdsShareError):
        return exc.error_code or type(exc).__name__
    return type(exc).__name__


def retry_call(
    fn: Callable[[], T],
    *,
    retry_codes: Collection[str],
    step: str,
    account_id: str,
    resource: str,
    emit: Emitter,
    max_seconds: float,
    initial_seconds: float = 1.0,
    max_interval_seconds: float = 30.0,
    message_filter: Callable[[str], bool] | None = None,
) -> T:
    """Call ``fn``; retry while it fails with one of ``retry_codes``, for at most ``max_seconds``.

    ``message_filter`` narrows a code by its message (``SnapshotQuotaExceeded`` means "wait"
    for the concurrent-copies limit but "stop" for the manual-snapshot quota). The last error
    is re-raised unchanged.
    """
    import tenacity  # here, not at the top: ``import rdsshare`` stays light (docs/performance.md)

    def retryable(exc: BaseException) -> bool:
        if isinstance(exc, RdsShareError):  # already translated by the step it came from
            return exc.error_code in retry_codes and (message_filter is None or message_filter(exc.message))
        if not isinstance(exc, ClientError) or error_code(exc) not in retry_codes:
            return False
        if message_filter is None:
            return True
        return message_filter(str(exc.response.get("Error", {}).get("Message", "")))

    def before_sleep(state: tenacity.RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, ClientError):
            code = error_code(exc)
        elif isinstance(exc, RdsShareError):
            code = exc.error_code or type(exc).__name__
        else:
            code = type(exc).__name__
        wait = state.next_action.sleep if state.next_action else 0.0
        emit(
            Retrying(
                step=step,
                account_id=account_id,
                resource=resource,
                attempt=state.attempt_number,
                error_code=code,
                wait_seconds=wait,
            )
        )

    retrying = tenacity.Retrying(
        retry=tenacity.retry_if_exception(retryable),
        wait=tenacity.wait_exponential(multiplier=initial_seconds, max=max_interval_seconds)
        + tenacity.wait_random(0, initial_seconds),
        # idle_for sums the planned sleeps, so the bound also holds in instant (testing) mode.
        stop=lambda state: state.idle_for >= max_seconds,
        sleep=_sleep,
        before_sleep=before_sleep,
        reraise=True,
    )
    return retrying(fn)
