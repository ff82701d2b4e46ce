"""The ``rdsshare`` command. The library never prints; this module does.

Output goes to stdout in one of three forms: live progress rows on a terminal (with the ``cli``
extra, which adds rich), plain timestamped lines otherwise, or with ``--json`` one JSON object per
line (every event, then one final ``Result``, ``Plan`` or ``CleanupReport`` object, or ``Error``).
Errors also go to stderr as one line with the AWS error code and the fix; ``--debug`` adds the
traceback. Exit codes: 0 done, 1 AWS refused something or a wait failed, 2 bad input, a name
conflict or a failed preflight (nothing was changed), 130 interrupted (rerun to resume).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import re
import sys
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any, TextIO

import attrs

from . import __version__
from ._api import share_cluster_snapshot, share_instance_snapshot
from ._cleanup import CleanupReport, cleanup
from ._errors import ConflictError, InputError, PreflightError, RdsShareError
from ._events import Event, Retrying, StepFinished, StepProgress, StepSkipped, StepStarted
from ._iam import required_iam_policy
from ._instance import InstanceRestoreSpec
from ._manifest import Manifest
from ._plan import Plan
from ._policy import CmkPolicyBuilder
from ._restore import ClusterRestoreSpec
from ._results import ShareResult
from ._session import AccountSession
from ._validation import validate_identifier
from ._waiting import WaitPolicy

__all__ = ["build_parser", "main", "run"]

EXIT_OK = 0
EXIT_AWS = 1
EXIT_INPUT = 2
EXIT_INTERRUPTED = 130

DEFAULT_INSTANCE_CLASS = "db.r6g.large"


# -- output ---------------------------------------------------------------------------------------
def event_to_json(event: Event) -> str:
    """One event as a JSON line: ``{"event": "StepProgress", "step": ..., ...}``."""
    return json.dumps({"event": type(event).__name__, **attrs.asdict(event), "message": event.message}, default=str)


def _short(resource: str) -> str:
    """An ARN without its ``arn:partition:service:region:account:`` prefix, for narrow displays."""
    return resource.split(":", 5)[5] if resource.startswith("arn:") and resource.count(":") >= 5 else resource


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


_ICONS = {"done": ("✓", "green"), "skipped": ("-", "dim"), "failed": ("✗", "bold red"), "interrupted": ("■", "yellow")}
_STATUS_STYLE = {
    "running": "cyan",
    "retry": "yellow",
    "done": "green",
    "skipped": "dim",
    "failed": "bold red",
    "interrupted": "yellow",
}
_ACTION_STYLE = {"create": "green", "adopt": "cyan", "update": "yellow", "skip": "dim"}
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
    """A rich ``Progress`` with rdsshare's columns (rich is imported only here)."""
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
        TextColumn(
            "{task.description}",
            markup=False,
            table_column=Column(max_width=resource, no_wrap=True, overflow="ellipsis"),
        ),
        StepBarColumn(bar),
        StatusColumn(table_column=Column(max_width=status, no_wrap=True, overflow="ellipsis")),
        TimeElapsedColumn(table_column=Column(width=7, no_wrap=True)),
        console=console,
        refresh_per_second=12,
    )


class Reporter:
    """Turns events and results into output: JSON lines, plain lines, or live progress rows.

    ``mode`` is ``"json"``, ``"plain"`` or ``"rich"`` (needs rich). Call it with each event.
    """

    def __init__(self, mode: str, stream: TextIO) -> None:
        self.mode = mode
        self.stream = stream
        #: account id -> "source"/"target", for the display; or sessions, resolved when events arrive
        self.sides: dict[str, str] = {}
        self._sessions: dict[str, AccountSession] = {}
        self._console: Any = None
        self._progress: Any = None
        self._live = False
        self._rows: dict[str, _Row] = {}
        self._pending: str | None = None
        if mode == "rich":
            from rich.console import Console

            self._console = Console(file=stream, highlight=False, emoji=False)

    # -- lifecycle ------------------------------------------------------------------------------
    def __enter__(self) -> Reporter:
        return self

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
            _short(resource), total=None, step=step, side=side, state="running", status="", pct=""
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
            done = sum(1 for a in report.actions if a.status in ("done", "would"))
            verb = "would change" if report.dry_run else "changed"
            self._settle(
                "cleanup",
                status=f"{verb} {done} of {len(report.actions)}",
                description="the run's resources",
                side="both",
            )

    def pending(self, step: str, what: str) -> None:
        """Show that something without events of its own is going on (the read-only preflight)."""
        if self.mode == "rich":
            self._add_row(step, step=step, side="both", resource=what)
            self._progress.update(self._rows[step].task, status="checking")
            self._pending = step
        elif self.mode == "plain":
            print(f"[{time.strftime('%H:%M:%S')}] both   {step}: {what}", file=self.stream, flush=True)

    def _settle_pending(self, *, status: str = "passed", state: str = "done") -> None:
        if self._pending is not None:
            self._settle(self._pending, status=status, state=state)
            self._pending = None

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
    def __call__(self, event: Event) -> None:
        if self.mode == "json":
            print(event_to_json(event), file=self.stream, flush=True)
        elif self.mode == "rich":
            self._rich(event)
        else:
            side = self._side(event.account_id)
            print(f"[{time.strftime('%H:%M:%S')}] {side:<6} {event.message}", file=self.stream, flush=True)

    def _rich(self, event: Event) -> None:
        progress = self._start_live()
        self._settle_pending()
        if event.step == "cleanup":
            self._rich_cleanup(event)
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
                progress.update(task, description=f"{_short(row.resources[0])} (+{extra})")
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

    def _rich_cleanup(self, event: Event) -> None:
        """Cleanup reports each resource once: one row counts them; the report lists them after."""
        row = self._rows.get("cleanup")
        if row is None or row.done:
            row = self._add_row("cleanup", step="cleanup", side=self._side(event.account_id), resource=event.resource)
        key = "done" if isinstance(event, StepFinished) else "skipped" if isinstance(event, StepSkipped) else ""
        if key:
            row.counts[key] = row.counts.get(key, 0) + 1
        status = ", ".join(f"{n} {k}" for k, n in row.counts.items())
        self._progress.update(
            row.task, description=_short(event.resource), side=self._side(event.account_id), status=status
        )

    # -- text -----------------------------------------------------------------------------------
    def print(self, text: str = "") -> None:
        """A line of normal output (not in JSON mode)."""
        if self.mode == "json":
            return
        if self._console is not None:
            self._console.print(text, markup=False, highlight=False, soft_wrap=True)
        else:
            print(text, file=self.stream, flush=True)

    def json_object(self, event: str, data: Mapping[str, Any]) -> None:
        """A final JSON object (JSON mode only)."""
        if self.mode == "json":
            print(json.dumps({"event": event, **data}, default=str), file=self.stream, flush=True)

    def _heading(self, text: str) -> None:
        if self._console is not None:
            self._console.print()
            self._console.print(text, style="bold", markup=False, highlight=False)
        else:
            self.print()
            self.print(text)

    def show_result(self, result: ShareResult, *, extra: Mapping[str, Any] | None = None) -> None:
        """Every ARN of a finished run."""
        self._settle_pending()
        if result.cleanup_report is not None:
            self._settle_cleanup(result.cleanup_report)
        self._stop_live()
        if self.mode == "json":
            self.json_object("Result", {**attrs.asdict(result), **(extra or {})})
            return
        rows = summary_rows(result)
        self._heading("Done:")
        if self._console is not None:
            from rich.text import Text

            # One line per value, wrapped by the terminal (not folded), so ARNs copy and paste whole.
            for name, value in rows:
                self._console.print(Text.assemble((f"  {name:<16} ", "bold"), value), soft_wrap=True)
        else:
            for name, value in rows:
                self.print(f"  {name:<16} {value}")
        if result.target_cluster_arn is None and result.target_instance_arn is None:
            self.print(f"\nThe target account can now restore from {result.shared_snapshot_arn}")
        if result.cleanup_report is not None:
            self.show_cleanup(result.cleanup_report, heading="Intermediates cleaned up:")

    def show_plan(self, plan: Plan) -> None:
        """A dry run's plan and its problems, one per line."""
        if plan.ok:
            self._settle_pending(status="no problems")
        else:
            self._settle_pending(status=f"{len(plan.problems)} problem(s)", state="failed")
        self._stop_live()
        if self.mode == "json":
            self.json_object("Plan", {**attrs.asdict(plan), "ok": plan.ok, "data_copies": plan.data_copies})
            return
        if self._console is None:
            self.print(str(plan))
            self.print("OK: a real run would start." if plan.ok else "A real run would stop before changing anything.")
            return
        from rich.table import Table
        from rich.text import Text

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
                Text(_short(s.resource)),
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
        """What cleanup did, would do, found gone or kept."""
        self._settle_cleanup(report)
        self._stop_live()
        if self.mode == "json":
            if heading is None:
                self.json_object("CleanupReport", attrs.asdict(report))
            return
        title = heading or ("Cleanup plan (dry run, nothing changed):" if report.dry_run else "Cleanup:")
        self._heading(title)
        if not report.actions:
            self.print("  nothing to do")
            return
        if self._console is None:
            for line in str(report).splitlines():
                self.print(f"  {line}")
            return
        from rich.table import Table
        from rich.text import Text

        table = Table(box=None, padding=(0, 1), show_header=False)
        for _ in range(4):
            table.add_column(overflow="fold")
        for a in report.actions:
            table.add_row(
                Text(f"  {a.status}", style=_CLEANUP_STYLE.get(a.status, "")),
                Text(a.action),
                Text(_short(a.resource)),
                Text(a.reason, style="dim"),
            )
        self._console.print(table)

    def show_document(self, document: Mapping[str, Any], *, indent: int | None = 2) -> None:
        """A JSON document (a policy) exactly as JSON, for files and Terraform."""
        self._stop_live()
        print(json.dumps(document, indent=indent), file=self.stream, flush=True)

    def show_json(self, document: Mapping[str, Any]) -> None:
        """A JSON document for people (highlighted on a terminal); nothing in JSON mode."""
        if self.mode == "json":
            return
        if self._console is not None:
            self._console.print_json(data=document)
        else:
            self.print(json.dumps(document, indent=2))


def _output_mode(args: argparse.Namespace, stream: TextIO) -> str:
    if getattr(args, "json", False):
        return "json"
    if getattr(args, "plain", False) or getattr(args, "debug", False):
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


# -- argument helpers -----------------------------------------------------------------------------
def _tag(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key, value


_DURATION = re.compile(r"([0-9]+(?:\.[0-9]+)?)\s*([smhd]?)")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def _duration(text: str) -> timedelta:
    m = _DURATION.fullmatch(text.strip().lower())
    if m is None or float(m.group(1)) <= 0:
        raise argparse.ArgumentTypeError(f"expected a duration such as 90s, 30m, 6h or 1d, got {text!r}")
    return timedelta(seconds=float(m.group(1)) * _UNITS[m.group(2)])


def _non_negative(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError("must be >= 0")
    return value


def _flag(dest: str) -> str:
    return "--" + dest.replace("_", "-")


# -- sessions -------------------------------------------------------------------------------------
def _account_session(
    side: str,
    *,
    profile: str | None,
    role: str | None,
    external_id: str | None,
    region: str | None,
    endpoint: str | None,
) -> AccountSession:
    if external_id and not role:
        raise InputError(f"--{side}-external-id needs --{side}-role", step="input", fix=f"pass --{side}-role ARN")
    if role:
        import boto3

        base = boto3.Session(profile_name=profile, region_name=region) if profile else None
        return AccountSession.from_role(
            role,
            base=base,
            external_id=external_id,
            session_name=f"rdsshare-{side}",
            region=region,
            endpoint_url=endpoint,
        )
    if profile:
        return AccountSession.from_profile(profile, region=region, endpoint_url=endpoint)
    import boto3

    return AccountSession(boto3.Session(region_name=region), endpoint_url=endpoint)


def _region(args: argparse.Namespace, side: str, default: str | None = None) -> str | None:
    value: str | None = getattr(args, f"{side}_region") or args.region or default
    return value


def _sessions(args: argparse.Namespace, default_region: str | None) -> tuple[AccountSession, AccountSession]:
    if not (args.source_profile or args.source_role or args.target_profile or args.target_role):
        raise InputError(
            "no accounts given",
            step="input",
            fix="pass --source-profile or --source-role, and --target-profile or --target-role "
            "(a side without either uses the default AWS credentials)",
        )
    made = [
        _account_session(
            side,
            profile=getattr(args, f"{side}_profile"),
            role=getattr(args, f"{side}_role"),
            external_id=getattr(args, f"{side}_external_id"),
            region=_region(args, side, default_region),
            endpoint=args.endpoint_url,
        )
        for side in ("source", "target")
    ]
    return made[0], made[1]


# -- commands -------------------------------------------------------------------------------------
_RESTORE_FLAGS = (
    "instance_class",
    "instances",
    "subnet_group",
    "security_group",
    "target_kms_key",
    "engine_version",
    "port",
    "cluster_parameter_group",
    "deletion_protection",
    "tag",
    "secret_kms_key",
    "backup_copy",
    "cleanup_intermediates",
)


_CLUSTER_ONLY_FLAGS = ("instances", "engine_version", "cluster_parameter_group", "backup_copy")


def _is_instance_flow(args: argparse.Namespace) -> bool:
    return bool(getattr(args, "instance", None) or getattr(args, "db_snapshot", None))


def _restore_spec(args: argparse.Namespace) -> ClusterRestoreSpec | InstanceRestoreSpec | None:
    instance_flow = _is_instance_flow(args)
    wanted = args.restore_instance if instance_flow else args.restore_cluster
    wrong = args.restore_cluster if instance_flow else args.restore_instance
    if wrong:
        raise InputError(
            f"{'--restore-cluster' if instance_flow else '--restore-instance'} does not fit "
            f"{'a DB instance' if instance_flow else 'a cluster'} source",
            step="input",
            fix="use --restore-cluster with --cluster/--snapshot, --restore-instance with --instance/--db-snapshot",
        )
    if not wanted:
        given = [_flag(d) for d in _RESTORE_FLAGS if getattr(args, d) not in (None, False, [])]
        if given:
            raise InputError(
                f"{', '.join(given)} only appl{'ies' if len(given) == 1 else 'y'} to a restore",
                step="input",
                fix=f"add {'--restore-instance' if instance_flow else '--restore-cluster'} ID, "
                "or leave those flags out to stop after sharing",
            )
        return None
    security_groups = [sg.strip() for value in args.security_group or () for sg in value.split(",") if sg.strip()]
    if instance_flow:
        cluster_only = [_flag(d) for d in _CLUSTER_ONLY_FLAGS if getattr(args, d) not in (None, False, [])]
        if cluster_only:
            raise InputError(
                f"{', '.join(cluster_only)} only apply to cluster restores",
                step="input",
                fix="leave them out for a DB instance restore",
            )
        return InstanceRestoreSpec(
            instance_id=wanted,
            instance_class=args.instance_class or DEFAULT_INSTANCE_CLASS,
            subnet_group=args.subnet_group,
            security_group_ids=tuple(security_groups),
            port=args.port,
            deletion_protection=args.deletion_protection,
            tags=dict(args.tag or ()),
            kms_key_id=args.target_kms_key,
            master_user_secret_kms_key_id=args.secret_kms_key,
        )
    return ClusterRestoreSpec(
        cluster_id=wanted,
        instance_class=args.instance_class or DEFAULT_INSTANCE_CLASS,
        subnet_group=args.subnet_group,
        security_group_ids=tuple(security_groups),
        instance_count=1 if args.instances is None else args.instances,
        engine_version=args.engine_version,
        port=args.port,
        cluster_parameter_group=args.cluster_parameter_group,
        deletion_protection=args.deletion_protection,
        tags=dict(args.tag or ()),
        kms_key_id=args.target_kms_key,
        master_user_secret_kms_key_id=args.secret_kms_key,
        backup_copy=args.backup_copy,
    )


def _check_writable(path: str, *, flag: str = "--manifest") -> None:
    """Fail before a long run, not after it, when the manifest (or plan file) cannot be written."""
    full = os.path.abspath(path)
    parent = os.path.dirname(full)
    problem = None
    if os.path.isdir(full):
        problem = "is a directory"
    elif not os.path.isdir(parent):
        problem = f"directory {parent} does not exist"
    elif not os.access(parent, os.W_OK) or (os.path.exists(full) and not os.access(full, os.W_OK)):
        problem = "is not writable"
    if problem:
        what = "manifest" if flag == "--manifest" else "plan file"
        raise InputError(f"{what} path {path} {problem}", step="input", fix=f"pass a writable file path to {flag}")


def cmd_share(args: argparse.Namespace, out: Reporter) -> int:
    restore = _restore_spec(args)
    wait = WaitPolicy(timeout=args.wait_timeout) if args.wait_timeout else None
    if args.out and not args.dry_run:
        raise InputError("--out saves a plan: it goes with --dry-run", step="input", fix="add --dry-run")
    if args.out:
        _check_writable(args.out, flag="--out")
    if args.manifest and not args.dry_run:
        _check_writable(args.manifest)
    source, target = _sessions(args, None)
    out.set_sessions(source=source, target=target)
    out.pending("preflight", "read-only checks of both accounts")
    admins = tuple(args.key_admin or ())
    common: dict[str, Any] = {
        "source": source,
        "target": target,
        "restore": restore,
        "run_name": args.run_name,
        "source_kms_key": args.source_kms_key,
        "key_admin_principals": admins,
        "on_event": out,
        "wait": wait,
    }
    if _is_instance_flow(args):
        common.update(instance_id=args.instance, snapshot_id=args.db_snapshot)
        share: Any = share_instance_snapshot
    else:
        common.update(cluster_id=args.cluster, snapshot_id=args.snapshot)
        share = share_cluster_snapshot
    cleanup_mode = "intermediates" if args.cleanup_intermediates else "none"
    if args.dry_run:
        plan = share(**common, dry_run=True, cleanup=cleanup_mode)
        out.show_plan(plan)
        if args.out:
            Path(args.out).write_text(plan.to_json(), encoding="utf-8")
            out.print(f"\nPlan written to {args.out}; run exactly it with: rdsshare apply {args.out} (same accounts)")
        return EXIT_OK if plan.ok else EXIT_INPUT
    return _run_and_report(args, out, lambda: share(**common, cleanup=cleanup_mode))


def cmd_apply(args: argparse.Namespace, out: Reporter) -> int:
    try:
        text = Path(args.plan).read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(
            f"cannot read the plan file {args.plan}: {exc}", step="input", fix="pass the path --out wrote"
        ) from exc
    plan = Plan.from_json(text)
    if args.manifest:
        _check_writable(args.manifest)
    wait = WaitPolicy(timeout=args.wait_timeout) if args.wait_timeout else None
    source, target = _sessions(args, plan.region)
    out.set_sessions(source=source, target=target)
    out.pending("preflight", "read-only checks of both accounts, compared with the plan")
    return _run_and_report(args, out, lambda: plan.apply(source=source, target=target, on_event=out, wait=wait))


def _run_and_report(args: argparse.Namespace, out: Reporter, run: Callable[[], ShareResult]) -> int:
    """Run, write the manifest (also a partial one when the run fails), show the result."""
    try:
        result = run()
    except (RdsShareError, KeyboardInterrupt) as exc:
        partial = getattr(exc, "manifest", None)
        if args.manifest and isinstance(partial, Manifest) and partial.entries:
            with contextlib.suppress(OSError):
                partial.write(args.manifest)
                out.print(f"Partial manifest written to {args.manifest} (rerun to resume, or rdsshare cleanup)")
        raise
    extra: dict[str, Any] = {}
    if args.manifest:
        try:
            result.write_manifest(args.manifest)
        except OSError as exc:
            raise InputError(
                f"the run finished but the manifest could not be written to {args.manifest}: {exc}",
                step="manifest",
                fix="rerun the same command with a writable --manifest path (it adopts everything and changes nothing)",
            ) from exc
        extra["manifest_path"] = os.path.abspath(args.manifest)
    out.show_result(result, extra=extra)
    if args.manifest:
        out.print(f"\nManifest written to {args.manifest}; undo with: rdsshare cleanup --manifest {args.manifest}")
    return EXIT_OK


def cmd_cleanup(args: argparse.Namespace, out: Reporter) -> int:
    manifest = Manifest.read(args.manifest)
    target_region = _region(args, "target", manifest.region)
    if target_region != manifest.region:
        raise InputError(
            f"target region {target_region} is not the manifest's region {manifest.region}",
            step="input",
            fix="leave out --region/--target-region: cleanup uses the manifest's region",
        )
    source, target = _sessions(args, manifest.region)
    out.set_sessions(source=source, target=target)
    report = cleanup(
        manifest,
        source=source,
        target=target,
        dry_run=args.dry_run,
        delete_restored_cluster=args.delete_restored_cluster,
        key_pending_window_days=args.key_pending_window_days,
        on_event=out,
    )
    out.show_cleanup(report)
    return EXIT_OK


def cmd_policy_key(args: argparse.Namespace, out: Reporter) -> int:
    builder = CmkPolicyBuilder(
        owner_account_id=args.source_account,
        target_account_ids=args.target_account,
        admin_principals=args.admin or (),
        partition=args.partition,
        region=args.region,
    )
    out.show_document(builder.build(), indent=None if out.mode == "json" else 2)
    return EXIT_OK


def cmd_policy_iam(args: argparse.Namespace, out: Reporter) -> int:
    for cluster in [*(args.cluster or ()), *(args.restore_cluster or ())]:
        validate_identifier(cluster, "cluster", argument="cluster id")
    document = required_iam_policy(
        args.side,
        source_account_id=args.source_account,
        target_account_id=args.target_account,
        region=args.region,
        partition=args.partition,
        cluster_ids=args.cluster or (),
        restore_cluster_ids=args.restore_cluster or (),
        source_kms_key_arn=args.source_kms_key_arn,
        target_kms_key_arns=args.target_kms_key_arn or (),
        include_cleanup=not args.no_cleanup,
    )
    out.show_document(document, indent=None if out.mode == "json" else 2)
    return EXIT_OK


def cmd_demo(args: argparse.Namespace, out: Reporter) -> int:
    from ._demo import SOURCE_ACCOUNT, TARGET_ACCOUNT, run_demo

    out.sides.update({SOURCE_ACCOUNT: "source", TARGET_ACCOUNT: "target"})
    result, key_policy = run_demo(on_event=out, operation_seconds=args.operation_seconds, log=out.print)
    out.show_result(result, extra={"source_key_policy": key_policy})
    if key_policy:
        out._heading("Key policy of the source CMK (what rdsshare wrote):")
        out.show_json(key_policy)
    return EXIT_OK


# -- parser ---------------------------------------------------------------------------------------
_EPILOG = """\
Progress is shown live on a terminal (with the 'cli' extra), as plain lines otherwise, and as one
JSON object per line with --json (events, then a final Result, Plan, CleanupReport or Error).

exit status: 0 done; 1 AWS refused something or a wait failed (rerun after fixing: a rerun
resumes); 2 bad input, a name conflict or failed preflight (nothing was changed); 130 interrupted
(rerun the same command to resume).
"""


class _Formatter(argparse.RawDescriptionHelpFormatter):
    def __init__(self, prog: str) -> None:
        super().__init__(prog, max_help_position=34)


def _output_flags(parser: argparse.ArgumentParser, *, top: bool) -> None:
    """--json/--plain/--debug, accepted before or after the subcommand."""
    default: Any = False if top else argparse.SUPPRESS
    group = parser.add_argument_group("output")
    group.add_argument("--json", action="store_true", default=default, help="write one JSON object per line")
    group.add_argument("--plain", action="store_true", default=default, help="plain lines even on a terminal")
    group.add_argument(
        "--debug", action="store_true", default=default, help="debug logging, and tracebacks with errors"
    )


def _session_flags(parser: argparse.ArgumentParser, *, region_default: str = "the profile's or AWS_REGION") -> None:
    group = parser.add_argument_group(
        "accounts",
        "Each side: a profile, a role to assume (from the profile if both are given),\n"
        "or neither for the default credentials.",
    )
    group.add_argument("--source-profile", metavar="NAME", help="AWS profile of the source account")
    group.add_argument("--source-role", metavar="ARN", help="IAM role to assume in the source account")
    group.add_argument("--source-external-id", metavar="ID", help=argparse.SUPPRESS)
    group.add_argument("--target-profile", metavar="NAME", help="AWS profile of the target account")
    group.add_argument("--target-role", metavar="ARN", help="IAM role to assume in the target account")
    group.add_argument("--target-external-id", metavar="ID", help=argparse.SUPPRESS)
    group.add_argument("--region", help=f"region of both accounts (default: {region_default})")
    group.add_argument("--source-region", metavar="REGION", help="the source account's region, if not --region")
    group.add_argument("--target-region", metavar="REGION", help="the target account's region, if not --region")
    group.add_argument("--endpoint-url", help=argparse.SUPPRESS)


def _policy_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--partition", default="aws", choices=("aws", "aws-cn", "aws-us-gov"), help="ARN partition")


def build_parser() -> argparse.ArgumentParser:
    """The ``rdsshare`` argument parser."""
    parser = argparse.ArgumentParser(
        prog="rdsshare",
        description="Share an Aurora cluster snapshot with another AWS account and restore it there.",
        epilog=_EPILOG,
        formatter_class=_Formatter,
    )
    parser.add_argument("--version", action="version", version=f"rdsshare {__version__}")
    _output_flags(parser, top=True)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    leaves: list[argparse.ArgumentParser] = []  # they get the output flags last, after their own

    def add(name: str, help: str, **kwargs: Any) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help, description=help, formatter_class=_Formatter, **kwargs)
        leaves.append(p)
        return p

    # demo
    demo = add("demo", "run the whole flow on a built-in emulated two-account AWS (no AWS account needed)")
    demo.add_argument(
        "--operation-seconds",
        type=_non_negative,
        default=2.0,
        metavar="S",
        help="how long each emulated long-running operation takes (default: 2)",
    )
    demo.set_defaults(func=cmd_demo)

    # share
    share = add("share", "share a cluster snapshot with the target account and optionally restore it there")
    start = share.add_argument_group("what to share (one of)")
    src = start.add_mutually_exclusive_group(required=True)
    src.add_argument("--cluster", metavar="ID", help="source cluster id (a manual snapshot is taken)")
    src.add_argument("--snapshot", metavar="ID|ARN", help="existing manual or automated source snapshot")
    src.add_argument("--instance", metavar="ID", help="source RDS DB instance id (a manual DB snapshot is taken)")
    src.add_argument("--db-snapshot", metavar="ID|ARN", help="existing manual or automated source DB snapshot")
    _session_flags(share)
    run = share.add_argument_group("run")
    run.add_argument("--dry-run", action="store_true", help="print the plan and every problem; change nothing")
    run.add_argument("--run-name", metavar="NAME", help="names this run's resources (default: the target account id)")
    run.add_argument("--source-kms-key", metavar="KEY", help="copy under this source CMK (id, ARN or alias)")
    run.add_argument(
        "--key-admin", action="append", metavar="ARN", help="key administrator for a CMK rdsshare creates (repeatable)"
    )
    run.add_argument("--manifest", metavar="PATH", help="write the run manifest (for 'rdsshare cleanup') here")
    run.add_argument(
        "--out", metavar="PATH", help="with --dry-run: save the plan here, to run exactly it with 'rdsshare apply'"
    )
    run.add_argument(
        "--cleanup-intermediates",
        action="store_true",
        help="after the restore, unshare and delete the intermediate snapshots",
    )
    run.add_argument(
        "--wait-timeout",
        type=_duration,
        metavar="DURATION",
        help="give up each wait after this (e.g. 30m; default 24h)",
    )
    restore = share.add_argument_group("restore in the target account")
    restore.add_argument("--restore-cluster", metavar="ID", help="restore into this new cluster id")
    restore.add_argument(
        "--restore-instance", metavar="ID", help="with --instance/--db-snapshot: restore into this new DB instance id"
    )
    restore.add_argument(
        "--instance-class", metavar="CLASS", help=f"instance class (default: {DEFAULT_INSTANCE_CLASS})"
    )
    restore.add_argument("--instances", type=int, metavar="N", help="number of instances, 0-16 (default: 1)")
    restore.add_argument("--subnet-group", metavar="NAME", help="DB subnet group of the target")
    restore.add_argument(
        "--security-group", action="append", metavar="SG", help="VPC security group id of the target (repeatable)"
    )
    restore.add_argument("--target-kms-key", metavar="KEY", help="target key for the cluster (default: aws/rds)")
    restore.add_argument("--engine-version", metavar="VERSION", help="engine version (default: the snapshot's)")
    restore.add_argument("--port", type=int, help="database port")
    restore.add_argument("--cluster-parameter-group", metavar="NAME", help="DB cluster parameter group")
    restore.add_argument("--deletion-protection", action="store_true", help="turn on deletion protection")
    restore.add_argument(
        "--tag", action="append", type=_tag, metavar="KEY=VALUE", help="tag for the restored cluster (repeatable)"
    )
    restore.add_argument("--secret-kms-key", metavar="KEY", help="target key for the master user secret")
    restore.add_argument(
        "--backup-copy", action="store_true", help="also copy the snapshot into the target under its own key"
    )
    share.set_defaults(func=cmd_share)

    # apply
    apply = add(
        "apply",
        "run a plan saved by 'share --dry-run --out': refused before any change if what it read has changed",
    )
    apply.add_argument("plan", metavar="PLAN", help="the plan file")
    _session_flags(apply, region_default="the plan's region")
    apply_run = apply.add_argument_group("run")
    apply_run.add_argument("--manifest", metavar="PATH", help="write the run manifest (for 'rdsshare cleanup') here")
    apply_run.add_argument(
        "--wait-timeout",
        type=_duration,
        metavar="DURATION",
        help="give up each wait after this (e.g. 30m; default 24h)",
    )
    apply.set_defaults(func=cmd_apply)

    # cleanup
    clean = add("cleanup", "undo what a run made, from its manifest (only resources rdsshare made are deleted)")
    clean.add_argument("--manifest", metavar="PATH", required=True, help="the manifest 'rdsshare share' wrote")
    clean.add_argument("--dry-run", action="store_true", help="say what would be done; change nothing")
    clean.add_argument(
        "--delete-restored-cluster", action="store_true", help="also delete the restored cluster and its instances"
    )
    clean.add_argument(
        "--key-pending-window-days",
        type=int,
        default=30,
        metavar="DAYS",
        help="deletion window of a CMK rdsshare created, 7-30 (default: 30)",
    )
    _session_flags(clean, region_default="the manifest's")
    clean.set_defaults(func=cmd_cleanup)

    # policy
    policy = add("policy", "print JSON policies ready for Terraform")
    policy_sub = policy.add_subparsers(dest="kind", required=True, metavar="KIND")

    def add_policy(name: str, help: str) -> argparse.ArgumentParser:
        p = policy_sub.add_parser(name, help=help, description=help, formatter_class=_Formatter)
        leaves.append(p)
        return p

    key = add_policy("key", "the source CMK's key policy (aws_kms_key_policy)")
    key.add_argument("--source-account", required=True, metavar="ID", help="the account that owns the key")
    key.add_argument(
        "--target-account", action="append", required=True, metavar="ID", help="account allowed to use it (repeatable)"
    )
    key.add_argument("--admin", action="append", metavar="ARN", help="key administrator role/user ARN (repeatable)")
    key.add_argument(
        "--region", help="the key's region: the targets may use it only through RDS there (default: RDS in any region)"
    )
    _policy_flags(key)
    key.set_defaults(func=cmd_policy_key)

    for side in ("source", "target"):
        iam = add_policy(f"{side}-iam", f"the IAM policy of the principal that runs the {side} side (aws_iam_policy)")
        iam.add_argument("--source-account", required=True, metavar="ID", help="the account that shares")
        iam.add_argument("--target-account", required=True, metavar="ID", help="the account that restores")
        iam.add_argument("--region", required=True, help="the region ('*' for any)")
        iam.add_argument(
            "--cluster", action="append", metavar="ID", help="scope to these source clusters (source side; repeatable)"
        )
        iam.add_argument(
            "--restore-cluster",
            action="append",
            metavar="ID",
            help="scope to these restored clusters (target side; repeatable)",
        )
        iam.add_argument("--source-kms-key-arn", metavar="ARN", help="the source CMK (default: rdsshare's alias)")
        iam.add_argument(
            "--target-kms-key-arn", action="append", metavar="ARN", help="scope the target's keys (repeatable)"
        )
        iam.add_argument("--no-cleanup", action="store_true", help="leave out what 'rdsshare cleanup' needs")
        _policy_flags(iam)
        iam.set_defaults(func=cmd_policy_iam, side=side)
    for leaf in leaves:
        _output_flags(leaf, top=False)
    return parser


# -- errors ---------------------------------------------------------------------------------------
def _classify(exc: BaseException) -> tuple[int, list[str]]:
    """The exit code and the message lines for an error (the first line is the one-line summary)."""
    from botocore import exceptions as bce

    if isinstance(exc, PreflightError):
        lines = [f"preflight found {len(exc.problems)} problem(s); nothing was changed:"]
        return EXIT_INPUT, lines + [f"  - {_one_line(str(p))}" for p in exc.problems]
    if isinstance(exc, InputError | ConflictError):
        return EXIT_INPUT, [_one_line(str(exc)) + ("" if exc.fix else ". Fix: correct the arguments (see --help)")]
    if isinstance(exc, RdsShareError):
        fix = (
            "" if exc.fix else ". Fix: correct what AWS names, then rerun the same command: it resumes where it stopped"
        )
        return EXIT_AWS, [_one_line(str(exc)) + fix]
    if isinstance(exc, bce.ProfileNotFound):
        return EXIT_INPUT, [
            f"{_one_line(str(exc))}. Fix: check the name in ~/.aws/config (aws configure list-profiles)"
        ]
    if isinstance(exc, bce.NoRegionError):
        return EXIT_INPUT, ["no region. Fix: pass --region, or set it in the profile or AWS_REGION"]
    if isinstance(exc, bce.NoCredentialsError | bce.PartialCredentialsError):
        return EXIT_INPUT, [f"{_one_line(str(exc))}. Fix: pass --source-profile/--target-profile or the -role flags"]
    if isinstance(exc, bce.ClientError):
        error = exc.response.get("Error", {})
        code, message = error.get("Code", "?"), error.get("Message", "")
        return EXIT_AWS, [
            _one_line(
                f"AWS refused {exc.operation_name}: {message} [code={code}]. Fix: check the permissions "
                "and resources named in the message, then rerun the same command to resume"
            )
        ]
    if isinstance(exc, bce.BotoCoreError):
        return EXIT_AWS, [f"{_one_line(str(exc))}. Fix: check the network, the region and the credentials; then rerun"]
    return EXIT_AWS, [
        f"unexpected {type(exc).__name__}: {_one_line(str(exc))}. Fix: rerun with --debug for the traceback and "
        "report it; a rerun resumes where this one stopped"
    ]


def _error_json(exc: BaseException, code: int, lines: list[str]) -> dict[str, Any]:
    data: dict[str, Any] = {"exit_code": code, "type": type(exc).__name__, "message": lines[0]}
    if isinstance(exc, RdsShareError):
        data.update(
            step=exc.step,
            account_id=exc.account_id,
            resource=exc.resource,
            error_code=exc.error_code,
            fix=exc.fix,
            message=exc.message,
        )
    if isinstance(exc, PreflightError):
        data["problems"] = [attrs.asdict(p) for p in exc.problems]
    return data


@contextlib.contextmanager
def _debug_logging(enabled: bool, stream: TextIO) -> Any:
    if not enabled:
        yield
        return
    logger = logging.getLogger("rdsshare")
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)


def main(argv: Sequence[str] | None = None, *, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    """Run the command line; returns the exit code (usage errors: 2)."""
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    parser = build_parser()
    try:
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, usage errors
        return exc.code if isinstance(exc.code, int) else EXIT_INPUT
    func: Callable[[argparse.Namespace, Reporter], int] = args.func
    out = Reporter(_output_mode(args, stdout), stdout)
    with _debug_logging(args.debug, stderr):
        try:
            with out:
                return func(args, out)
        except KeyboardInterrupt:
            hint = "" if args.command == "demo" else "; rerun the same command to resume where it stopped"
            print(f"rdsshare: interrupted{hint}", file=stderr, flush=True)
            out.json_object(
                "Error", {"exit_code": EXIT_INTERRUPTED, "type": "KeyboardInterrupt", "message": "interrupted"}
            )
            return EXIT_INTERRUPTED
        except Exception as exc:
            code, lines = _classify(exc)
            if args.debug:
                traceback.print_exception(type(exc), exc, exc.__traceback__, file=stderr)
            print(f"rdsshare: error: {lines[0]}", file=stderr, flush=True)
            for line in lines[1:]:
                print(line, file=stderr, flush=True)
            out.json_object("Error", _error_json(exc, code, lines))
            return code


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())
