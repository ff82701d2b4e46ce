"""Output that never stops the work: a closed stdout or stderr drops the output, not the run.

``rdsshare --json share ... | head -1`` closes the pipe after one line. Writing to it then raises
``BrokenPipeError``; unguarded, that would abort a migration halfway. :class:`SafeStream` catches
it, notes it once in the ``rdsshare.cli`` log, and drops everything written after; the command
goes on and its exit code says how the work went, as ``git`` and the AWS CLI do.
"""

from __future__ import annotations

import errno
import io
import logging
import os
import sys
from typing import TextIO

__all__ = ["SafeStream", "quiet_closed_streams"]

_log = logging.getLogger("rdsshare.cli")

#: what a write to a pipe whose reader went away raises (EINVAL: Windows' variant)
_CLOSED = (errno.EPIPE, errno.EINVAL)


class SafeStream(io.TextIOBase):
    """A text stream that turns a closed pipe into dropped output."""

    def __init__(self, stream: TextIO, name: str) -> None:
        self._stream = stream
        self._name = name
        #: True once the reader went away: nothing is written after that
        self.closed_by_reader = False

    def _lost(self, exc: OSError) -> None:
        if not self.closed_by_reader:
            self.closed_by_reader = True
            _log.warning("%s was closed (%s); the command goes on without printing to it", self._name, exc)

    def write(self, text: str) -> int:
        if self.closed_by_reader:
            return len(text)
        try:
            return self._stream.write(text)
        except OSError as exc:
            if not isinstance(exc, BrokenPipeError) and exc.errno not in _CLOSED:
                raise
            self._lost(exc)
            return len(text)

    def flush(self) -> None:
        if self.closed_by_reader:
            return
        try:
            self._stream.flush()
        except OSError as exc:
            if not isinstance(exc, BrokenPipeError) and exc.errno not in _CLOSED:
                raise
            self._lost(exc)

    def isatty(self) -> bool:
        return not self.closed_by_reader and self._stream.isatty()

    def fileno(self) -> int:
        return self._stream.fileno()

    def writable(self) -> bool:
        return True

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self._stream, "encoding", None) or "utf-8"


def quiet_closed_streams() -> None:
    """Point a closed stdout/stderr at the null device, so the interpreter's last flush stays quiet."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except OSError:
            try:
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, stream.fileno())
            except (OSError, ValueError):
                pass
