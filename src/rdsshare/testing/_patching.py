"""Reversible monkeypatching: every change registers the callable that undoes it."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

_log = logging.getLogger("rdsshare.testing")

_MISSING = object()


class Patcher:
    """Set attributes on classes (or modules) and put every one of them back on :meth:`undo_all`.

    Only the class's *own* ``__dict__`` entry is recorded, so undoing a patch of an inherited
    attribute deletes the override instead of copying the base class's attribute down.
    """

    def __init__(self) -> None:
        self._undo: list[Callable[[], None]] = []

    def set(self, target: Any, name: str, value: Any) -> None:
        """``setattr(target, name, value)``, remembering how to restore the previous state."""
        previous = vars(target).get(name, _MISSING)
        setattr(target, name, value)

        def undo() -> None:
            if previous is _MISSING:
                delattr(target, name)
            else:
                setattr(target, name, previous)

        self._undo.append(undo)

    def wrap(self, target: Any, name: str, factory: Callable[[Callable[..., Any]], Any]) -> Callable[..., Any]:
        """Replace method ``name`` with ``factory(original)``; returns the original function."""
        original: Callable[..., Any] = getattr(target, name)
        self.set(target, name, factory(original))
        return original

    def add_undo(self, undo: Callable[[], None]) -> None:
        """Register an arbitrary undo callable (run in reverse order with the others)."""
        self._undo.append(undo)

    def undo_all(self) -> None:
        """Undo every registered change, newest first. Keeps going if one undo fails."""
        errors: list[BaseException] = []
        while self._undo:
            undo = self._undo.pop()
            try:
                undo()
            except Exception as exc:  # pragma: no cover - defensive, logged and re-raised below
                _log.exception("failed to undo a test bed patch")
                errors.append(exc)
        if errors:
            raise errors[0]
