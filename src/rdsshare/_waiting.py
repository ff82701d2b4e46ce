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
import time
from collections.abc import Callable, Collection
from typing import TYPE_CHECKING, TypeVar

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
from ._schedule import Observation, WaitPolicy, WaitState

if TYPE_CHECKING:
    import tenacity

__all__ = [
    "Observation",
    "WaitPolicy",
    "WaitState",
    "is_testing",
    "poll_once",
    "retry_call",
    "set_testing",
    "wait_for",
    "wait_seen",
]

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
    late = 0.0
    if obs is not None and obs.seen_at is not None and obs.seen_at < now:
        late, now = now - obs.seen_at, obs.seen_at
    elapsed = max(now - state.started, state.slept - late)
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
    delay = max(0.0, delay - late)  # the pause runs from when the shared answer was fetched
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


def wait_seen(
    observe: Callable[[], tuple[Observation | None, T | None]],
    *,
    step: str,
    account_id: str,
    resource: str,
    emit: Emitter,
    policy: WaitPolicy,
) -> T:
    """:func:`wait_for` over an ``observe()`` that also returns what it saw: the last thing seen, once done."""
    latest: list[T] = []

    def poll() -> Observation | None:
        obs, seen = observe()
        if seen is not None:
            latest[:] = [seen]
        return obs

    wait_for(poll, step=step, account_id=account_id, resource=resource, emit=emit, policy=policy)
    return latest[0]


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
