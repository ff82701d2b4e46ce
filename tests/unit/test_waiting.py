"""wait_for / retry_call / WaitPolicy on a fake clock: no real sleeping, no AWS."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from rdsshare import ResourceFailedError, StepProgress, WaitPolicy, WaitTimeoutError, set_testing
from rdsshare._errors import NotFoundError
from rdsshare._events import Emitter, Event, Retrying
from rdsshare._waiting import Observation, WaitState, retry_call, wait_for


@pytest.fixture(autouse=True)
def _instant() -> Iterator[None]:
    set_testing(True)
    yield
    set_testing(False)


def _client_error(code: str, message: str = "") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, "Op")


def test_wait_reports_progress_and_returns_when_done() -> None:
    events: list[Event] = []
    states = iter(
        [Observation(status="creating", percent=p) for p in (0, 40, 40, 90)]
        + [Observation(status="available", done=True)]
    )
    obs = wait_for(
        lambda: next(states),
        step="copy",
        account_id="1",
        resource="snap",
        emit=Emitter(events.append),
        policy=WaitPolicy(),
    )
    assert obs.done
    progress = [e for e in events if isinstance(e, StepProgress)]
    # Repeated identical observations are not re-reported.
    assert [e.percent for e in progress] == [0, 40, 90]


def test_wait_fails_on_failed_state() -> None:
    with pytest.raises(ResourceFailedError, match="'failed'"):
        wait_for(
            lambda: Observation(status="failed", failed=True),
            step="copy",
            account_id="1",
            resource="s",
            emit=Emitter(None),
            policy=WaitPolicy(),
        )


def test_wait_times_out_on_virtual_clock() -> None:
    polls = 0

    def poll() -> Observation:
        nonlocal polls
        polls += 1
        return Observation(status="copying", percent=1)

    policy = WaitPolicy(timeout=timedelta(hours=2))
    with pytest.raises(WaitTimeoutError, match="rerun the same call"):
        wait_for(poll, step="copy", account_id="1", resource="s", emit=Emitter(None), policy=policy)
    # Polls grow with the elapsed time: a 2-hour wait costs fewer polls than a 30-second waiter (240).
    assert 50 < polls < 240


def test_wait_missing_resource_is_an_error_after_a_few_polls() -> None:
    with pytest.raises(NotFoundError, match="disappeared"):
        wait_for(lambda: None, step="copy", account_id="1", resource="s", emit=Emitter(None), policy=WaitPolicy())


@pytest.mark.parametrize(("elapsed", "percent"), [(0.0, None), (10.0, None), (600.0, 50), (7200.0, None), (3600.0, 99)])
def test_next_delay_is_bounded(elapsed: float, percent: int | None) -> None:
    policy = WaitPolicy(jitter=0)
    delay = policy.next_delay(elapsed, percent)
    assert policy.min_interval_seconds <= delay <= policy.max_interval_seconds
    # Detection latency stays within max(1 s, 5% of the elapsed time).
    assert delay <= max(1.0, 0.05 * elapsed)


def test_next_delay_shrinks_near_the_end() -> None:
    policy = WaitPolicy(jitter=0)
    assert policy.next_delay(400.0, 99) < policy.next_delay(400.0, 10)


def test_retry_call_retries_listed_codes_and_emits() -> None:
    events: list[Event] = []
    calls = iter([_client_error("InvalidDBClusterStateFault"), _client_error("InvalidDBClusterStateFault"), "ok"])

    def fn() -> Any:
        value = next(calls)
        if isinstance(value, Exception):
            raise value
        return value

    out = retry_call(
        fn,
        retry_codes=("InvalidDBClusterStateFault",),
        step="restore",
        account_id="2",
        resource="c",
        emit=Emitter(events.append),
        max_seconds=60,
    )
    assert out == "ok"
    assert [e.attempt for e in events if isinstance(e, Retrying)] == [1, 2]


def test_retry_call_does_not_retry_other_codes_or_filtered_messages() -> None:
    def quota() -> None:
        raise _client_error("SnapshotQuotaExceeded", "Cannot create more than 100 manual snapshots")

    with pytest.raises(ClientError):
        retry_call(
            quota,
            retry_codes=("SnapshotQuotaExceeded",),
            message_filter=lambda m: "manual" not in m,
            step="copy",
            account_id="1",
            resource="s",
            emit=Emitter(None),
            max_seconds=60,
        )


def test_retry_call_gives_up_after_max_seconds() -> None:
    attempts = 0

    def busy() -> None:
        nonlocal attempts
        attempts += 1
        raise _client_error("InvalidDBClusterStateFault")

    with pytest.raises(ClientError):
        retry_call(
            busy,
            retry_codes=("InvalidDBClusterStateFault",),
            step="x",
            account_id="1",
            resource="r",
            emit=Emitter(None),
            max_seconds=120,
            max_interval_seconds=30,
        )
    assert 3 <= attempts <= 20


def _flaky(failures: list[BaseException], then: Observation) -> Any:
    def poll() -> Observation:
        if failures:
            raise failures.pop(0)
        return then

    return poll


def test_a_poll_botocore_gave_up_on_is_retried_within_the_deadline() -> None:
    events: list[Event] = []
    errors: list[BaseException] = [
        _client_error("Throttling"),
        _client_error("Throttling"),
        _client_error("InternalError"),
    ]
    obs = wait_for(
        _flaky(errors, Observation(status="available", done=True)),
        step="copy",
        account_id="1",
        resource="snap",
        emit=Emitter(events.append),
        policy=WaitPolicy(timeout=timedelta(minutes=5)),
    )
    assert obs.done
    retries = [e for e in events if isinstance(e, Retrying)]
    assert [(r.attempt, r.error_code) for r in retries] == [(1, "Throttling"), (2, "Throttling"), (3, "InternalError")]
    assert [r.wait_seconds for r in retries] == [2.0, 4.0, 8.0]  # backs off


def test_a_poll_that_keeps_failing_transiently_ends_at_the_deadline() -> None:
    def poll() -> Observation:
        raise _client_error("Throttling")

    with pytest.raises(WaitTimeoutError, match="the last polls failed with Throttling") as info:
        wait_for(
            poll,
            step="copy",
            account_id="1",
            resource="snap",
            emit=Emitter(lambda _: None),
            policy=WaitPolicy(timeout=timedelta(seconds=60)),
        )
    assert isinstance(info.value.__cause__, ClientError)


def test_a_poll_failing_for_good_is_not_retried() -> None:
    errors: list[BaseException] = [_client_error("AccessDenied")]
    with pytest.raises(ClientError, match="AccessDenied"):
        wait_for(
            _flaky(errors, Observation(status="available", done=True)),
            step="copy",
            account_id="1",
            resource="snap",
            emit=Emitter(lambda _: None),
            policy=WaitPolicy(),
        )


def test_set_testing_as_a_context_manager_puts_the_earlier_setting_back() -> None:
    from rdsshare._waiting import is_testing

    set_testing(False)
    with set_testing():
        assert is_testing()
        with set_testing(False):
            assert not is_testing()
        assert is_testing()
    assert not is_testing()
    set_testing(True)  # as the module's fixture expects


def test_percent_progress_narrows_the_window_in_which_the_step_ends() -> None:
    state = WaitState(started=0.0)
    state.note_progress(0.0, 0)
    assert state.predicted_end is None  # 0 % says nothing yet
    state.note_progress(10.0, 10)
    # 10 % after 10 s, steps of 10 seen so far: the end comes after 50 s and by 100 s.
    assert state.predicted_end == pytest.approx((50.0, 100.0))
    state.note_progress(60.0, 61)
    # The step is now 1 %; 61 % first seen between 10 s and 60 s: after 60 * 100 / 62, by 60 * 100 / 61.
    assert state.predicted_end == pytest.approx((100 * 60 / 62, 100 * 60 / 61))
    round_trip = WaitState.from_dict(state.to_dict())
    assert round_trip.predicted_end == state.predicted_end
    assert WaitState.from_dict({"started": 1.0}).predicted_end is None  # a job saved before 0.3 loads


@pytest.mark.parametrize("later", [(20.0, 5), (20.0, 90)])
def test_percent_progress_that_contradicts_a_linear_rise_is_ignored(later: tuple[float, int]) -> None:
    state = WaitState(started=0.0)
    state.note_progress(10.0, 10)
    state.note_progress(*later)  # went back, or jumped past what a linear rise allows
    assert state.predicted_end is None
    state.note_progress(30.0, 95)
    assert state.predicted_end is None  # for the rest of the wait
