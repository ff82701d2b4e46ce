"""One-shot answers: what a read moments ago found, handed to the next step that would ask again.

Preflight reads everything a run needs before its first change; the run's ensures start from
those answers instead of asking AWS the same question a second time. An answer is used once:
later lookups (polls, a lookup after ``AlreadyExists``) go to AWS.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

__all__ = ["Known"]

V = TypeVar("V")


class Known(Generic[V]):
    """Remembered answers by key, each taken at most once."""

    def __init__(self) -> None:
        self._answers: dict[str, V] = {}
        self._lock = threading.Lock()

    def put(self, key: str, value: V) -> None:
        """Remember ``value`` (which may be None: "there is none") as the answer for ``key``."""
        with self._lock:
            self._answers[key] = value

    def pop(self, key: str) -> V | None:
        """The answer for ``key`` (forgetting it), or None if there is none."""
        with self._lock:
            return self._answers.pop(key, None)

    def take(self, key: str, read: Callable[[], V]) -> V:
        """The remembered answer for ``key`` (forgetting it), else ``read()``."""
        with self._lock:
            if key in self._answers:
                return self._answers.pop(key)
        return read()
