"""``--json``: one JSON object per line, every event and then one final object."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import attrs

from .._cleanup import CleanupReport
from .._events import Event
from .._plan import Plan
from .._results import ShareResult
from ._output import Reporter, event_to_json, now_utc


class JsonReporter(Reporter):
    """Every event as a JSON line, then one ``Result``, ``Plan``, ``CleanupReport`` or ``Error`` object.

    Nothing else goes to the stream: no text lines, headings or progress.
    """

    mode = "json"

    def __call__(self, event: Event) -> None:
        if self.quiet:
            return
        print(event_to_json(event, run_name=self.current_run_name()), file=self.stream, flush=True)

    def pending(self, step: str, what: str) -> None:
        """Nothing: the preflight's outcome is in the final object."""

    def print(self, text: str = "") -> None:
        """Nothing: text is not JSON."""

    def json_object(self, event: str, data: Mapping[str, Any]) -> None:
        head: dict[str, Any] = {"event": event, "time": now_utc()}
        run_name = self.current_run_name()
        if run_name is not None:
            head["run_name"] = run_name
        print(json.dumps({**head, **data}, default=str), file=self.stream, flush=True)

    def heading(self, text: str) -> None:
        """Nothing: text is not JSON."""

    def show_result(self, result: ShareResult, *, extra: Mapping[str, Any] | None = None) -> None:
        self.json_object("Result", {**attrs.asdict(result), **(extra or {})})

    def show_plan(self, plan: Plan) -> None:
        self.json_object("Plan", {**attrs.asdict(plan), "ok": plan.ok, "data_copies": plan.data_copies})

    def show_cleanup(self, report: CleanupReport, *, heading: str | None = None) -> None:
        """The report as its own object; with a heading it is part of a result, already in its object."""
        if heading is None:
            self.json_object("CleanupReport", attrs.asdict(report))

    def show_json(self, document: Mapping[str, Any]) -> None:
        """Nothing: a document for people is in the final object when it belongs there."""
