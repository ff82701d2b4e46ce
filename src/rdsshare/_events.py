"""Typed progress events.

Every step of a flow reports through one hook, ``on_event(event)``. Events are frozen attrs
objects; new fields are only ever added with defaults, so hooks written today keep working.
They never carry secrets: ids, ARNs, states and numbers only.
"""

from __future__ import annotations

import logging
from typing import Literal, Protocol

import attrs

__all__ = [
    "Event",
    "EventHook",
    "Outcome",
    "Retrying",
    "StepFinished",
    "StepProgress",
    "StepSkipped",
    "StepStarted",
    "as_emitter",
]

_log = logging.getLogger("rdsshare.events")

Outcome = Literal["created", "adopted", "updated", "unchanged"]


@attrs.frozen(kw_only=True)
class Event:
    """Base of all events: which step, in which account, on which resource."""

    #: ``snapshot``, ``source-key``, ``copy``, ``share``, ``restore``, ``instances``, ``secret``...
    step: str
    #: the account the step acts in
    account_id: str
    #: the id or ARN the step acts on
    resource: str

    @property
    def message(self) -> str:
        """A one-line human description."""
        return f"{self.step}: {self.resource}"


@attrs.frozen(kw_only=True)
class StepStarted(Event):
    """A step began acting on a resource."""

    #: what it does, e.g. ``copy snapshot``
    action: str = ""

    @property
    def message(self) -> str:
        return f"{self.step}: {self.action or 'start'} {self.resource}"


@attrs.frozen(kw_only=True)
class StepProgress(Event):
    """A resource is still being worked on by AWS."""

    #: the resource's status as AWS reports it, e.g. ``copying``
    status: str
    #: ``PercentProgress`` where AWS reports it (snapshots), else None
    percent: int | None = None
    #: seconds since the wait began
    elapsed_seconds: float = 0.0

    @property
    def message(self) -> str:
        pct = f" {self.percent}%" if self.percent is not None else ""
        return f"{self.step}: {self.resource} {self.status}{pct} ({self.elapsed_seconds:.0f}s)"


@attrs.frozen(kw_only=True)
class StepFinished(Event):
    """A step is done; ``outcome`` says whether it created, adopted or changed something."""

    #: ``created``, ``adopted`` (made by an earlier run), ``updated`` or ``unchanged``
    outcome: Outcome
    #: the ARN of the resource, when it has one
    arn: str | None = None

    @property
    def message(self) -> str:
        return f"{self.step}: {self.outcome} {self.arn or self.resource}"


@attrs.frozen(kw_only=True)
class StepSkipped(Event):
    """A step was not needed, and why."""

    #: why, e.g. ``snapshot can be shared as it is``
    reason: str

    @property
    def message(self) -> str:
        return f"{self.step}: skipped ({self.reason})"


@attrs.frozen(kw_only=True)
class Retrying(Event):
    """A call failed with a transient condition and will be retried after ``wait_seconds``."""

    #: the attempt that failed (1 for the first call)
    attempt: int
    #: the AWS error code of the failure
    error_code: str
    #: the pause before the next attempt
    wait_seconds: float

    @property
    def message(self) -> str:
        return f"{self.step}: {self.error_code} on {self.resource}, retry {self.attempt} in {self.wait_seconds:.1f}s"


class EventHook(Protocol):
    """Anything callable with one event: ``print``, a list's ``append``, a progress bar."""

    def __call__(self, event: Event, /) -> object: ...


class Emitter:
    """Sends events to the user's hook and to the ``rdsshare.events`` logger."""

    def __init__(self, hook: EventHook | None) -> None:
        self._hook = hook

    def __call__(self, event: Event) -> None:
        _log.info("%s", event.message, extra={"rdsshare_event": event})
        if self._hook is not None:
            self._hook(event)


def as_emitter(on_event: Emitter | EventHook | None) -> Emitter:
    """``on_event`` as an :class:`Emitter`: the step classes take the user's hook (or None) as it is."""
    return on_event if isinstance(on_event, Emitter) else Emitter(on_event)
