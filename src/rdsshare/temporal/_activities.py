"""The activity that advances a share: one bounded piece of the job per call, heartbeating meanwhile."""

from __future__ import annotations

import contextvars
import logging
import threading
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from .._engine import ENGINE_WAIT, SessionFor, advance_once, job_of, retry_after
from .._errors import RdsShareError
from ._types import JobProgress, JobStep

if TYPE_CHECKING:
    from .._events import Event
    from .._schedule import WaitPolicy
    from .._session import AccountSession

__all__ = ["ADVANCE", "ShareActivities"]

_log = logging.getLogger("rdsshare.temporal")

#: the advance activity's name, as workflows call it
ADVANCE = "rdsshare.advance"
#: how often a running advance heartbeats at most (and at least three times per heartbeat timeout)
HEARTBEAT_SECONDS = 10.0


class ShareActivities:
    """The activities a worker runs. ``sessions`` makes each account's session from the worker's own
    environment (profiles, roles: see :func:`rdsshare.temporal.profile_sessions`); credentials never
    pass through the workflow or its history.

    Register :attr:`advance` with a worker that has an ``activity_executor`` (a thread pool): each
    advance is one synchronous, bounded call of :meth:`rdsshare.ShareJob.advance`.
    """

    def __init__(self, sessions: SessionFor, *, wait: WaitPolicy | None = None) -> None:
        self._sessions_for = sessions
        self._wait = wait or ENGINE_WAIT
        self._lock = threading.Lock()
        self._sessions: dict[tuple[str, str | None], AccountSession] = {}

    def session(self, account_id: str, region: str | None) -> AccountSession:
        """The worker's session of ``account_id`` in ``region``, made once per worker (and shared by
        every share it runs, so that their waits share polls)."""
        with self._lock:
            key = (account_id, region)
            if key not in self._sessions:
                self._sessions[key] = self._sessions_for(account_id, region)
            return self._sessions[key]

    @activity.defn(name=ADVANCE)
    def advance(self, step: JobStep) -> JobProgress:
        """Start the job (``step.job`` is None) or continue it, and advance it once."""
        request = step.request
        info = activity.info()
        stop = threading.Event()
        every = min(HEARTBEAT_SECONDS, (info.heartbeat_timeout or timedelta(seconds=60)).total_seconds() / 3)
        beat = threading.Thread(
            target=contextvars.copy_context().run,
            args=(_heartbeat, stop, every),
            name="rdsshare-heartbeat",
            daemon=True,
        )
        beat.start()
        try:
            source = self.session(request.source.account_id, request.source.region)
            targets = [self.session(t.account_id, t.region) for t in request.targets]
            job = job_of(
                kind=request.kind,
                source=source,
                targets=targets,
                arguments=request.arguments,
                job=step.job,
                on_event=_log_event,
                wait=self._wait,
            )
            out = advance_once(job)
        except RdsShareError as exc:
            raise _failure(exc, attempt=info.attempt) from exc
        finally:
            stop.set()
        if out["error"] is not None:
            error = out["error"]
            code = error.get("error_code") or error["type"]
            _log.warning("advance: %s (%s); trying again in %.0f s", error["message"], code, out["wait_seconds"])
            if out["error"]["type"] == "CredentialsExpiredError":
                self.forget_sessions()  # the next advance makes new ones from the worker's environment
        return JobProgress(**out)

    def forget_sessions(self) -> None:
        """Drop the sessions made so far (their credentials expired and could not refresh)."""
        with self._lock:
            self._sessions.clear()


def _heartbeat(stop: threading.Event, every: float) -> None:
    while not stop.wait(every):
        try:
            if activity.is_cancelled():
                return
            activity.heartbeat()
        except Exception as exc:  # a missed heartbeat must not end the beat: the next one may get through
            _log.warning("heartbeat failed: %s", exc)


def _log_event(event: Event) -> None:
    _log.info("%s", event)


def _failure(exc: RdsShareError, *, attempt: int) -> ApplicationError:
    """The activity's failure: typed (``type`` is the rdsshare class, details its fields), retried
    after a pause when waiting cures it, else final."""
    delay = retry_after(exc)
    details: dict[str, Any] = dict(exc.to_dict())
    # what the job had made when it failed, for rdsshare.cleanup (the error's .manifest on the client)
    made = exc.manifest.to_dict() if exc.manifest is not None else None
    if delay is not None:
        _log.warning("advance attempt %d: %s; trying again in %.0f s", attempt, exc, delay)
    return ApplicationError(
        str(exc),
        details,
        made,
        type=type(exc).__name__,
        non_retryable=delay is None,
        next_retry_delay=timedelta(seconds=delay) if delay is not None else None,
    )
