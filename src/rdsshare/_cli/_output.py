"""What the output modes share: the ``Reporter`` base class, its factory and the text helpers.

Each mode is a subclass in a module of its own: ``_json`` (JSON lines), ``_plain`` (timestamped
plain lines) and ``_live`` (rich live progress rows; rich is imported only when it is used).
:func:`output_mode` picks the mode for a stream and :func:`make_reporter` makes its reporter.
"""

from __future__ import annotations

import abc
import argparse
import contextlib
import json
import os
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any, ClassVar, TextIO

import attrs

from .._cleanup import CleanupReport
from .._events import Event
from .._plan import Plan
from .._results import ShareResult
from .._session import AccountSession


def now_utc() -> str:
    """The time now, UTC, ISO 8601 with milliseconds: ``2026-12-02T14:40:05.123+00:00``."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def event_to_json(event: Event, *, run_name: str | None = None) -> str:
    """One event as a JSON line: ``{"event": "StepProgress", "time": ..., "run_name": ..., "step": ..., ...}``."""
    head: dict[str, Any] = {"event": type(event).__name__, "time": now_utc()}
    if run_name is not None:
        head["run_name"] = run_name
    return json.dumps({**head, **attrs.asdict(event), "message": event.message}, default=str)


def fit(text: str, width: int) -> str:
    """``text`` in ``width`` characters, cut in the middle (``rdsshare-exa…222-cmk``): the ends of rdsshare's
    names are what tell them apart (``-cmk``, ``-instance-2``), so two resources never look alike."""
    if len(text) <= width:
        return text
    if width < 4:
        return text[:width]
    head = (width - 1) // 3
    return text[:head] + "…" + text[-(width - 1 - head) :]


def short_arn(resource: str) -> str:
    """An ARN without its ``arn:partition:service:region:account:`` prefix, for narrow displays."""
    return resource.split(":", 5)[5] if resource.startswith("arn:") and resource.count(":") >= 5 else resource


def one_line(text: str) -> str:
    """``text`` with every run of whitespace (newlines too) made one space."""
    return " ".join(str(text).split())


def summary_rows(result: ShareResult) -> list[tuple[str, str]]:
    """The human summary of a result: every ARN it has (rows without a value are left out)."""
    rows: list[tuple[str, str | None]] = [
        ("run name", result.run_name),
        ("region", result.region),
        ("source account", result.source_account_id),
        ("target account", result.target_account_id),
        ("source snapshot", result.source_snapshot_arn),
        ("shared snapshot", result.shared_snapshot_arn),
        ("source KMS key", result.source_kms_key_arn),
        ("data copies", str(result.data_copies)),
        ("target cluster", result.target_cluster_arn),
        ("target snapshot", result.target_snapshot_arn),
        ("target instance", result.target_instance_arn),
        ("target KMS key", result.target_kms_key_arn),
        ("master secret", result.master_user_secret_arn),
    ]
    rows += [(f"instance {i + 1}", arn) for i, arn in enumerate(result.instance_arns)]
    rows.append(("target backup", result.backup_snapshot_arn))
    return [(name, value) for name, value in rows if value]


def summary(result: ShareResult) -> list[str]:
    """The summary as plain lines."""
    return [f"  {name:<16} {value}" for name, value in summary_rows(result)]


#: how a count line names each status of a cleanup action
_STATUS_WORDS = {"done": "done", "would": "to do", "gone": "already gone", "kept": "kept"}


def cleanup_counts(report: CleanupReport) -> str:
    """``3 done, 1 kept, 1 already gone (5 actions)``: one count per status, adding up to the list."""
    counts = {status: sum(1 for a in report.actions if a.status == status) for status in _STATUS_WORDS}
    parts = [f"{n} {_STATUS_WORDS[status]}" for status, n in counts.items() if n]
    total = len(report.actions)
    return f"{', '.join(parts)} ({total} action{'' if total == 1 else 's'})"


def cleanup_title(report: CleanupReport, heading: str | None) -> str:
    """The heading above a cleanup report in text output."""
    return heading or ("Cleanup plan (dry run, nothing changed):" if report.dry_run else "Cleanup:")


def output_mode(args: argparse.Namespace, stream: TextIO) -> str:
    """``"json"`` with ``--json``; ``"rich"`` on a terminal with rich installed; else ``"plain"``."""
    if getattr(args, "json", False):
        return "json"
    if getattr(args, "plain", False) or getattr(args, "debug", False) or getattr(args, "quiet", False):
        return "plain"
    try:
        tty = stream.isatty()
    except (AttributeError, ValueError):
        tty = False
    if not tty or os.environ.get("TERM") == "dumb":
        return "plain"
    try:
        import rich  # noqa: F401
    except ImportError:
        return "plain"
    return "rich"


class Reporter(abc.ABC):
    """Turns events and results into output: JSON lines, plain lines, or live progress rows.

    One subclass per output mode, named by ``mode``: ``"json"``, ``"plain"`` or ``"rich"`` (needs
    rich); :func:`make_reporter` makes the one of a mode. Call it with each event, and use it as a
    context manager around a command: leaving it ends what it shows while the command runs.
    """

    mode: ClassVar[str]

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        #: account id -> "source"/"target", for the display; or sessions, resolved when events arrive
        self.sides: dict[str, str] = {}
        self._sessions: dict[str, AccountSession] = {}
        #: the run the output is about (JSON lines carry it); None: the target account id, the default
        self.run_name: str | None = None
        #: ``--quiet``: events are not shown, only what a command ends with
        self.quiet = False

    # -- lifecycle ------------------------------------------------------------------------------
    def __enter__(self) -> Reporter:
        return self

    def __exit__(  # noqa: B027 (a no-op by default)
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object
    ) -> None:
        """Nothing to end here; the live reporter marks its unfinished rows and stops its display."""

    def current_run_name(self) -> str | None:
        """The run name, or the default run name (the target account id) once that is known (no AWS call)."""
        if self.run_name is None and "target" in self._sessions:
            with contextlib.suppress(Exception):  # only a cached identity is useful here
                return self._sessions["target"].account_id
        return self.run_name

    def set_sessions(self, *, source: AccountSession, target: AccountSession) -> None:
        """Label events of these sessions' accounts "source" and "target" (resolved lazily, no AWS call)."""
        self._sessions = {"source": source, "target": target}

    def _side(self, account_id: str) -> str:
        if account_id not in self.sides:
            for name, session in self._sessions.items():
                with contextlib.suppress(Exception):  # only cached identities are useful here
                    self.sides.setdefault(session.account_id, name)
        return self.sides.get(account_id, account_id)

    # -- events ---------------------------------------------------------------------------------
    @abc.abstractmethod
    def __call__(self, event: Event) -> None:
        """Show one event."""

    @abc.abstractmethod
    def pending(self, step: str, what: str) -> None:
        """Show that something without events of its own is going on (the read-only preflight)."""

    # -- text -----------------------------------------------------------------------------------
    @abc.abstractmethod
    def print(self, text: str = "") -> None:
        """A line of normal output (not in JSON mode)."""

    def json_object(self, event: str, data: Mapping[str, Any]) -> None:  # noqa: B027 (a no-op by default)
        """A final JSON object (JSON mode only: the other modes write none)."""

    @abc.abstractmethod
    def heading(self, text: str) -> None:
        """A heading after a blank line (not in JSON mode)."""

    @abc.abstractmethod
    def show_result(self, result: ShareResult, *, extra: Mapping[str, Any] | None = None) -> None:
        """Every ARN of a finished run (``extra``: more fields for the JSON object)."""

    @abc.abstractmethod
    def show_plan(self, plan: Plan) -> None:
        """A dry run's plan and its problems, one per line."""

    @abc.abstractmethod
    def show_cleanup(self, report: CleanupReport, *, heading: str | None = None) -> None:
        """What cleanup did, would do, found gone or kept (``heading``: part of a result's output)."""

    def show_document(self, document: Mapping[str, Any], *, indent: int | None = 2) -> None:
        """A JSON document (a policy) exactly as JSON, for files and Terraform."""
        print(json.dumps(document, indent=indent), file=self.stream, flush=True)

    @abc.abstractmethod
    def show_json(self, document: Mapping[str, Any]) -> None:
        """A JSON document for people (highlighted on a terminal); nothing in JSON mode."""

    def _show_after_summary(self, result: ShareResult) -> None:
        """What the text modes show after a result's summary: where to restore from, the cleanup."""
        if result.target_cluster_arn is None and result.target_instance_arn is None:
            self.print(f"\nThe target account can now restore from {result.shared_snapshot_arn}")
        if result.cleanup_report is not None:
            self.show_cleanup(result.cleanup_report, heading="Intermediates cleaned up:")


def make_reporter(mode: str, stream: TextIO, *, quiet: bool = False) -> Reporter:
    """The reporter of ``mode`` (``"json"``, ``"plain"`` or ``"rich"``, see :func:`output_mode`).

    ``quiet``: no event lines, only the final result, plan, report or error (``--quiet``).
    """
    reporter = _make(mode, stream)
    reporter.quiet = quiet
    return reporter


def _make(mode: str, stream: TextIO) -> Reporter:
    # Imported here: each mode's module subclasses Reporter, and rich is imported only for "rich".
    if mode == "json":
        from ._json import JsonReporter

        return JsonReporter(stream)
    if mode == "plain":
        from ._plain import PlainReporter

        return PlainReporter(stream)
    if mode == "rich":
        from ._live import LiveReporter

        return LiveReporter(stream)
    raise ValueError(f"unknown output mode {mode!r}: expected 'json', 'plain' or 'rich'")
