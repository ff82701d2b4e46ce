"""BatchFacts: what every item of a batch would read alike, read once while the batch runs.

The items of a batch share a source account and region: the ``aws/rds`` key, rdsshare's share key
and its policy are the same for all of them. Each item's plan used to read them again (three of
about seven calls per item). While a batch is open on a :class:`~rdsshare.CopySlots`
(:meth:`BatchFacts.batch`), those reads are made once and the answers shared; an item that changes
one (writes the key policy) forgets it, so the next item reads it afresh. An answer of "not there"
(no share key yet) is never kept: the first item creates the key and the next one finds it. Outside
a batch, and once the last batch on the slots ends, nothing is kept: a single call, or a later
batch, reads everything afresh.
"""

from __future__ import annotations

import contextlib
import copy
import threading
from collections.abc import Callable, Hashable, Iterator
from typing import TypeVar

__all__ = ["BatchFacts", "policy_fact"]

T = TypeVar("T")


class BatchFacts:
    """Answers to reads that hold for a whole batch, kept while a batch is open."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open = 0
        self._facts: dict[Hashable, object] = {}
        self._reading: dict[Hashable, threading.Lock] = {}
        #: how many reads were made, and how many were answered from what an earlier item read
        self.reads = 0
        self.shared = 0

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        """Keep facts until this (and every other open) batch on the same slots ends."""
        with self._lock:
            self._open += 1
        try:
            yield
        finally:
            with self._lock:
                self._open -= 1
                if not self._open:
                    self._facts.clear()
                    self._reading.clear()

    def read(self, key: Hashable, read: Callable[[], T]) -> T:
        """``read()``'s answer for ``key``: read once per open batch (items asking at once wait for the
        first one's answer), a copy of it for everyone; ``None`` (not there) is not kept."""
        with self._lock:
            if not self._open:
                return read()
            gate = self._reading.setdefault(key, threading.Lock())
        with gate:
            with self._lock:
                if key in self._facts:
                    self.shared += 1
                    return copy.deepcopy(self._facts[key])  # type: ignore[return-value]
            value = read()
            with self._lock:
                self.reads += 1
                if value is not None and self._open:
                    self._facts[key] = copy.deepcopy(value)
            return value

    def forget(self, *prefix: str) -> None:
        """An item changed what the facts under ``prefix`` answered (wrote a key policy of the account
        ``forget("policy", account)``): the next item reads them again."""
        with self._lock:
            for key in [k for k in self._facts if isinstance(k, tuple) and k[: len(prefix)] == prefix]:
                del self._facts[key]


def policy_fact(account_id: str, region: str, key_id: str) -> tuple[str, ...]:
    """The fact under which a key's policy is kept: forgotten by the run that writes the policy."""
    return ("policy", account_id, region, key_id)
