"""Live progress on a terminal (the ``cli`` extra): one rich row per step, then rich tables.

rich is imported only in this module's functions, when a live reporter is made or draws.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TextIO

import attrs

from .._cleanup import CleanupReport
from .._events import Event, Retrying, StepFinished, StepProgress, StepSkipped, StepStarted
from .._plan import Plan
from .._results import ShareResult
from ._output import Reporter, cleanup_counts, cleanup_title, fit, short_arn, summary_rows

if TYPE_CHECKING:
    from rich.console import Console

_ICONS = {"done": ("✓", "green"), "skipped": ("-", "dim"), "failed": ("✗", "bold red"), "interrupted": ("■", "yellow")}
_STATUS_STYLE = {
    "running": "cyan",
    "retry": "yellow",
    "done": "green",
    "skipped": "dim",
    "failed": "bold red",
    "interrupted": "yellow",
}
_ACTION_STYLE = {"create": "green", "adopt": "cyan", "update": "yellow", "skip": "dim", "delete": "red"}
_CLEANUP_STYLE = {"done": "green", "would": "yellow", "gone": "dim", "kept": "cyan"}
_OF_N = re.compile(r"(\d+)/(\d+) available")


@attrs.define
class _Row:
    """One line of the live display: one step (cleanup: one line counting every resource)."""

    task: Any
    resources: list[str]
    outcomes: list[str] = attrs.field(factory=list)
    counts: dict[str, int] = attrs.field(factory=dict)
    done: bool = False


def _rich_progress(console: Any) -> Any:
    """A rich ``Progress`` with rdsshare's columns."""
    from rich.console import RenderableType
    from rich.progress import BarColumn, Progress, ProgressColumn, SpinnerColumn, Task, TextColumn, TimeElapsedColumn
    from rich.table import Column
    from rich.text import Text

    class StateColumn(ProgressColumn):
        """A spinner while AWS works, then a mark: done, skipped, failed, interrupted."""

        def __init__(self) -> None:
            self.spinner = SpinnerColumn("dots", style="cyan")
            super().__init__(table_column=Column(width=1, no_wrap=True))

        def render(self, task: Task) -> RenderableType:
            state = task.fields["state"]
            if state in _ICONS:
                icon, style = _ICONS[state]
                return Text(icon, style=style)
            return self.spinner.render(task)

    class StepBarColumn(ProgressColumn):
        """The bar; it pulses while the percentage is unknown and is blank for a skipped step."""

        def __init__(self, width: int) -> None:
            self.width = width
            self.bar = BarColumn(bar_width=width)
            super().__init__(table_column=Column(width=width, no_wrap=True))

        def render(self, task: Task) -> RenderableType:
            if task.fields["state"] == "skipped":
                return Text(" " * self.width)
            return self.bar.render(task)

    class StatusColumn(ProgressColumn):
        """The percentage (when known) and the status, coloured by state."""

        def render(self, task: Task) -> RenderableType:
            state = task.fields["state"]
            text = Text(task.fields["pct"].rjust(4) + " ", style="bold")
            text.append(task.fields["status"], style=_STATUS_STYLE.get(state, ""))
            return text

    class ResourceColumn(ProgressColumn):
        """The resource, cut in the middle when it is too long (the ends tell rdsshare's names apart)."""

        def __init__(self, width: int) -> None:
            self.width = width
            super().__init__(table_column=Column(max_width=width, no_wrap=True))

        def render(self, task: Task) -> RenderableType:
            return Text(fit(task.description, self.width))

    # Every column has a width cap so the row fits the terminal (else rich drops columns): the fixed
    # ones take 30 characters with the gaps; the bar, the resource and the status share the rest.
    width = max(console.width, 72)
    bar = 24 if width >= 140 else 12 if width >= 100 else 8
    resource = min(46, max(16, (width - 30 - bar) * 2 // 5))
    status = width - 31 - bar - resource
    return Progress(
        StateColumn(),
        TextColumn("{task.fields[step]}", style="bold", table_column=Column(width=10, no_wrap=True)),
        TextColumn("{task.fields[side]}", style="dim", table_column=Column(width=6, no_wrap=True)),
        ResourceColumn(resource),
        StepBarColumn(bar),
        StatusColumn(table_column=Column(max_width=status, no_wrap=True, overflow="ellipsis")),
        TimeElapsedColumn(table_column=Column(width=7, no_wrap=True)),
        console=console,
        refresh_per_second=12,
    )


class LiveReporter(Reporter):
    """Live rows while a command runs (one per step, updated in place), then rich text and tables."""

    mode = "rich"

    def __init__(self, stream: TextIO) -> None:
        super().__init__(stream)
        from rich.console import Console

        self._console: Console = Console(file=stream, highlight=False, emoji=False)
        self._progress: Any = None  # made with the first row: it sizes its columns to the terminal
        self._live = False
        self._rows: dict[str, _Row] = {}
        self._pending: str | None = None

    # -- lifecycle ------------------------------------------------------------------------------
    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object) -> None:
        if exc_type is not None and self._progress is not None:
            state = "interrupted" if issubclass(exc_type, KeyboardInterrupt) else "failed"
            for row in self._rows.values():
                if not row.done:
                    self._progress.update(row.task, state=state, status=state)
                    self._progress.stop_task(row.task)
        self._pending = None
        self._stop_live()

    def _stop_live(self) -> None:
        if self._live:
            self._progress.stop()
            self._live = False

    def _start_live(self) -> Any:
        if self._progress is None:
            self._progress = _rich_progress(self._console)
        if not self._live:
            self._progress.start()
            self._live = True
        return self._progress

    def _add_row(self, key: str, *, step: str, side: str, resource: str) -> _Row:
        task = self._start_live().add_task(
            short_arn(resource), total=None, step=step, side=side, state="running", status="", pct=""
        )
        row = self._rows[key] = _Row(task=task, resources=[resource])
        return row

    def _settle(
        self, key: str, *, status: str, state: str = "done", description: str | None = None, side: str | None = None
    ) -> None:
        """Mark a row that the library does not finish itself (preflight, cleanup) as done."""
        row = self._rows.get(key)
        if row is None or row.done:
            return
        row.done = True
        fields: dict[str, Any] = {"state": state, "status": status, "pct": ""}
        if description is not None:
            fields["description"] = description
        if side is not None:
            fields["side"] = side
        self._progress.update(row.task, total=100, completed=100, **fields)

    def _settle_cleanup(self, report: CleanupReport) -> None:
        self._settle_pending()
        if self._progress is not None:
            self._settle(
                "cleanup",
                status=cleanup_counts(report),
                description="the run's resources",
                side="both",
            )

    def pending(self, step: str, what: str) -> None:
        self._add_row(step, step=step, side="both", resource=what)
        self._progress.update(self._rows[step].task, status="checking")
        self._pending = step

    def _settle_pending(self, *, status: str = "passed", state: str = "done") -> None:
        if self._pending is not None:
            self._settle(self._pending, status=status, state=state)
            self._pending = None

    # -- events ---------------------------------------------------------------------------------
    def __call__(self, event: Event) -> None:
        progress = self._start_live()
        self._settle_pending()
        if event.step == "cleanup":
            self._cleanup_event(event)
            return
        row = self._rows.get(event.step)
        same_row = row is not None and (
            not row.done or event.resource in row.resources or isinstance(event, StepProgress | Retrying)
        )
        if row is None or not same_row:
            row = self._add_row(event.step, step=event.step, side=self._side(event.account_id), resource=event.resource)
        task = row.task
        if isinstance(event, StepStarted):
            if event.resource not in row.resources:
                row.resources.append(event.resource)
                extra = len(row.resources) - 1
                progress.update(task, description=f"{short_arn(row.resources[0])} (+{extra})")
            progress.update(task, state="running", status=event.action or "started")
        elif isinstance(event, StepProgress):
            percent = event.percent
            m = _OF_N.fullmatch(event.status)
            if percent is None and m is not None and int(m.group(2)):
                percent = 100 * int(m.group(1)) // int(m.group(2))
            if percent is None:
                progress.update(task, total=None, state="running", status=event.status, pct="")
            else:
                progress.update(
                    task, total=100, completed=percent, state="running", status=event.status, pct=f"{percent}%"
                )
        elif isinstance(event, Retrying):
            progress.update(
                task,
                state="retry",
                status=f"{event.error_code}: retry {event.attempt} in {event.wait_seconds:.0f}s",
            )
        elif isinstance(event, StepFinished):
            if event.outcome not in row.outcomes:
                row.outcomes.append(event.outcome)
            row.done = True
            progress.update(task, total=100, completed=100, state="done", status=", ".join(row.outcomes), pct="")
        elif isinstance(event, StepSkipped):
            row.done = True
            progress.update(task, total=100, completed=100, state="skipped", status=f"skipped: {event.reason}", pct="")
        else:
            progress.update(task, status=event.message)

    def _cleanup_event(self, event: Event) -> None:
        """Cleanup reports each resource once: one row counts them; the report lists them after."""
        row = self._rows.get("cleanup")
        if row is None or row.done:
            row = self._add_row("cleanup", step="cleanup", side=self._side(event.account_id), resource=event.resource)
        key = "done" if isinstance(event, StepFinished) else "skipped" if isinstance(event, StepSkipped) else ""
        if key:
            row.counts[key] = row.counts.get(key, 0) + 1
        status = ", ".join(f"{n} {k}" for k, n in row.counts.items())
        self._progress.update(
            row.task, description=short_arn(event.resource), side=self._side(event.account_id), status=status
        )

    # -- text -----------------------------------------------------------------------------------
    def print(self, text: str = "") -> None:
        self._console.print(text, markup=False, highlight=False, soft_wrap=True)

    def heading(self, text: str) -> None:
        self._console.print()
        self._console.print(text, style="bold", markup=False, highlight=False)

    def show_result(self, result: ShareResult, *, extra: Mapping[str, Any] | None = None) -> None:
        from rich.text import Text

        self._settle_pending()
        if result.cleanup_report is not None:
            self._settle_cleanup(result.cleanup_report)
        self._stop_live()
        self.heading("Done:")
        # One line per value, wrapped by the terminal (not folded), so ARNs copy and paste whole.
        for name, value in summary_rows(result):
            self._console.print(Text.assemble((f"  {name:<16} ", "bold"), value), soft_wrap=True)
        self._show_after_summary(result)

    def show_plan(self, plan: Plan) -> None:
        from rich.table import Table
        from rich.text import Text

        if plan.ok:
            self._settle_pending(status="no problems")
        else:
            self._settle_pending(status=f"{len(plan.problems)} problem(s)", state="failed")
        self._stop_live()
        self._console.print(
            Text.assemble(
                ("Plan ", "bold"),
                (f"for run {plan.run_name!r}: ", ""),
                (f"{plan.source_account_id} -> {plan.target_account_id} ({plan.region})", "dim"),
            )
        )
        table = Table(box=None, padding=(0, 1), show_header=True, header_style="dim")
        for name in ("step", "side", "action", "resource", "why"):
            table.add_column(name, no_wrap=name != "why", overflow="fold")
        for s in plan.steps:
            table.add_row(
                Text(s.step),
                Text(self._side(s.account_id)),
                Text(s.action, style=_ACTION_STYLE.get(s.action, "")),
                Text(short_arn(s.resource)),
                Text(s.reason, style="dim"),
            )
        self._console.print(table)
        if plan.problems:
            self._console.print(Text(f"{len(plan.problems)} problem(s):", style="bold red"))
            for p in plan.problems:
                self._console.print(Text(f"  - {p}", style="red"), soft_wrap=True)
            self._console.print("A real run would stop before changing anything.", style="bold")
        else:
            self._console.print(Text("OK: a real run would start.", style="green"))

    def show_cleanup(self, report: CleanupReport, *, heading: str | None = None) -> None:
        from rich.table import Table
        from rich.text import Text

        self._settle_cleanup(report)
        self._stop_live()
        self.heading(cleanup_title(report, heading))
        if not report.actions:
            self.print("  nothing to do")
            return
        table = Table(box=None, padding=(0, 1), show_header=False)
        for _ in range(4):
            table.add_column(overflow="fold")
        for a in report.actions:
            table.add_row(
                Text(f"  {a.status}", style=_CLEANUP_STYLE.get(a.status, "")),
                Text(a.action),
                Text(short_arn(a.resource)),
                Text(a.reason, style="dim"),
            )
        self._console.print(table)
        self.print(f"  {cleanup_counts(report)}")

    def show_document(self, document: Mapping[str, Any], *, indent: int | None = 2) -> None:
        self._stop_live()
        super().show_document(document, indent=indent)

    def show_json(self, document: Mapping[str, Any]) -> None:
        self._console.print_json(data=document)
