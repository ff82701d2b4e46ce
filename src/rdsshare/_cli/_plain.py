"""Plain output: timestamped lines, one per event, then results as indented text.

For pipes and files, ``--plain`` and ``--debug``, and terminals without rich.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

from .._cleanup import CleanupReport
from .._events import Event
from .._plan import Plan
from .._results import ShareResult
from ._output import Reporter, cleanup_counts, cleanup_title, summary


class PlainReporter(Reporter):
    """``[12:00:00] source snapshot: created ...``: each event with the time and its side."""

    mode = "plain"

    def _line(self, side: str, text: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {side:<6} {text}", file=self.stream, flush=True)

    def __call__(self, event: Event) -> None:
        if not self.quiet:
            self._line(self._side(event.account_id), event.message)

    def pending(self, step: str, what: str) -> None:
        if not self.quiet:
            self._line("both", f"{step}: {what}")

    def print(self, text: str = "") -> None:
        print(text, file=self.stream, flush=True)

    def heading(self, text: str) -> None:
        self.print()
        self.print(text)

    def show_result(self, result: ShareResult, *, extra: Mapping[str, Any] | None = None) -> None:
        self.heading("Done:")
        for line in summary(result):
            self.print(line)
        self._show_after_summary(result)

    def show_plan(self, plan: Plan) -> None:
        self.print(str(plan))
        self.print("OK: a real run would start." if plan.ok else "A real run would stop before changing anything.")

    def show_cleanup(self, report: CleanupReport, *, heading: str | None = None) -> None:
        self.heading(cleanup_title(report, heading))
        if not report.actions:
            self.print("  nothing to do")
            return
        for line in str(report).splitlines():
            self.print(f"  {line}")
        self.print(f"  {cleanup_counts(report)}")

    def show_json(self, document: Mapping[str, Any]) -> None:
        self.print(json.dumps(document, indent=2))
