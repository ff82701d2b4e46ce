"""Long-running operations: snapshots that take time to copy, clusters that take time to create.

moto finishes everything instantly (docs/sources/moto-gaps.md §9). AWS does not: a snapshot copy is ``copying`` for
minutes to hours with a rising ``PercentProgress`` [AUR-COPY], a restored cluster is ``creating`` until
it is ``available`` [BC-RDS RestoreDBClusterFromSnapshot], and clients poll (docs/sources/aws-rules.md §5 Waiters).

A database (cluster or instance) whose key RDS can no longer reach (the key disabled or pending deletion,
or RDS's grant on it retired or revoked) reports ``inaccessible-encryption-credentials-recoverable`` and
refuses new instances and snapshots ("When Aurora can't use a DB's key, the DB moves to
inaccessible-encryption-credentials-recoverable", Aurora User Guide, Overview.Encryption.Keys); it is
``available`` again once the key is. This is what shows a restored database does not depend on the
source account's key.

The clock is lazy. Starting an operation stores an :class:`Operation` (start time, duration, busy and
final status) on the moto model object. ``status`` and ``percent_progress`` of the patched moto classes
are properties that consult it on every read, so a describe call, a waiter, or a busy-state check of
the test bed's rules all see the same, current state, in-process and in server mode alike.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

from .kms import key_reachable

OP_ATTR = "_rdsshare_operation"
"""Name of the instance attribute holding an object's in-progress :class:`Operation`."""

KEY_ATTR = "_rdsshare_key"
"""Name of the instance attribute holding (key ARN, RDS's grant id) of an encrypted database."""

INACCESSIBLE = "inaccessible-encryption-credentials-recoverable"
"""The state of a database whose key RDS cannot reach (Aurora User Guide, Overview.Encryption.Keys)."""


class _Settings(Protocol):
    operation_seconds: float


@dataclass
class Operation:
    """One in-progress operation on one moto object."""

    busy_status: str
    final_status: str
    started: float
    duration: float
    done: bool = field(default=False)

    def finished(self) -> bool:
        """True once the duration has passed or :meth:`Clock.finish_pending` ended it."""
        return self.done or time.monotonic() - self.started >= self.duration

    def percent(self) -> int:
        """The whole percentage of the duration elapsed (0 at first, at most 99) while in progress; 100 when done.

        ``PercentProgress`` is an integer (botocore model, ``DBClusterSnapshot.PercentProgress``: "the
        percentage of the estimated data that has been transferred"); AWS documents neither its steps nor how
        evenly it rises, so the bed rises evenly in whole percents.
        """
        if self.finished():
            return 100
        elapsed = time.monotonic() - self.started
        return max(0, min(99, int(elapsed / self.duration * 100)))


class Clock:
    """Starts, finishes and fails operations on moto model objects."""

    def __init__(self, settings: _Settings) -> None:
        self._settings = settings
        self._lock = threading.Lock()
        self._operations: list[Operation] = []

    def begin(self, obj: Any, busy_status: str, final_status: str = "available") -> None:
        """Put ``obj`` into ``busy_status`` for ``operation_seconds``, then ``final_status``.

        With ``operation_seconds == 0`` the object is put into ``final_status`` right away.
        """
        seconds = float(self._settings.operation_seconds)
        if seconds <= 0:
            obj.status = final_status
            return
        operation = Operation(busy_status, final_status, time.monotonic(), seconds)
        obj.status = final_status  # the state it reaches; the operation masks it until then
        vars(obj)[OP_ATTR] = operation
        with self._lock:
            self._operations = [op for op in self._operations if not op.finished()]
            self._operations.append(operation)

    def finish_pending(self) -> None:
        """Complete every operation in progress now."""
        with self._lock:
            for operation in self._operations:
                operation.done = True
            self._operations.clear()

    @staticmethod
    def finish(obj: Any) -> None:
        """Complete the operation in progress on ``obj`` (if any) now."""
        operation: Operation | None = vars(obj).get(OP_ATTR)
        if operation is not None:
            operation.done = True

    @staticmethod
    def fail(obj: Any) -> None:
        """Put ``obj`` into ``failed``, ending any operation in progress on it."""
        obj.status = "failed"

    @staticmethod
    def busy(obj: Any) -> bool:
        """True while an operation on ``obj`` is in progress."""
        operation: Operation | None = vars(obj).get(OP_ATTR)
        return operation is not None and not operation.finished()


def key_lost(obj: Any) -> bool:
    """Whether ``obj`` (a database) can no longer reach its key."""
    held: tuple[str, str | None] | None = vars(obj).get(KEY_ATTR)
    return held is not None and not key_reachable(*held)


def hold_key(obj: Any, key_arn: str, grant_id: str | None) -> None:
    """Record that ``obj`` is encrypted under ``key_arn`` through RDS's grant ``grant_id``."""
    vars(obj)[KEY_ATTR] = (key_arn, grant_id)


def _settle(obj: Any) -> Operation | None:
    """Return the operation in progress on ``obj``; drop it once it has finished."""
    operation: Operation | None = vars(obj).get(OP_ATTR)
    if operation is not None and operation.finished():
        vars(obj).pop(OP_ATTR, None)
        return None
    return operation


def plain_status() -> property:
    """``status`` for classes where moto keeps it as a plain instance attribute."""

    def fget(self: Any) -> Any:
        operation = _settle(self)
        if operation is not None:
            return operation.busy_status
        if key_lost(self):
            return INACCESSIBLE
        return vars(self).get("status")

    def fset(self: Any, value: Any) -> None:
        vars(self).pop(OP_ATTR, None)
        vars(self)["status"] = value

    return property(fget, fset, doc="Status, masked by an operation in progress.")


def wrapped_status(original: property) -> property:
    """``status`` for classes where moto already has a property (``DBCluster``)."""
    assert original.fget is not None
    assert original.fset is not None
    original_get = original.fget
    original_set = original.fset

    def fget(self: Any) -> Any:
        operation = _settle(self)
        if operation is not None:
            return operation.busy_status
        if key_lost(self):
            return INACCESSIBLE
        return original_get(self)

    def fset(self: Any, value: Any) -> None:
        vars(self).pop(OP_ATTR, None)
        original_set(self, value)

    return property(fget, fset, doc="Status, masked by an operation in progress.")


def percent_progress() -> property:
    def fget(self: Any) -> int:
        operation = _settle(self)
        if operation is not None:
            return operation.percent()
        return int(vars(self).get("percent_progress", 100))

    def fset(self: Any, value: int) -> None:
        vars(self)["percent_progress"] = value

    return property(fget, fset, doc="PercentProgress of a snapshot being created or copied.")
