"""The ``rdsshare`` command. The library never prints; this module does."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any, TextIO

import attrs

from . import __version__
from ._api import ShareResult, share_cluster_snapshot
from ._errors import AwsError, ConflictError, InputError, RdsShareError
from ._events import Event, StepFinished, StepProgress, StepSkipped
from ._policy import CmkPolicyBuilder
from ._restore import ClusterRestoreSpec
from ._session import AccountSession

__all__ = ["main"]

EXIT_OK = 0
EXIT_AWS = 1
EXIT_INPUT = 2
EXIT_INTERRUPTED = 130


def event_to_json(event: Event) -> str:
    """One event as a JSON line: ``{"event": "StepProgress", "step": ..., ...}``."""
    return json.dumps({"event": type(event).__name__, **attrs.asdict(event), "message": event.message})


class Reporter:
    """Turns events into output: JSON lines, plain lines, or live progress bars on a terminal."""

    def __init__(self, mode: str, stream: TextIO) -> None:
        self.mode = mode
        self.stream = stream
        self._progress: Any = None
        self._tasks: dict[tuple[str, str], Any] = {}
        if mode == "rich":
            from rich.console import Console
            from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

            self._progress = Progress(
                TextColumn("[bold]{task.fields[step]:<12}"),
                TextColumn("{task.description}"),
                BarColumn(),
                TextColumn("{task.fields[status]}"),
                TimeElapsedColumn(),
                console=Console(file=stream),
            )

    def __enter__(self) -> Reporter:
        if self._progress is not None:
            self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()

    def __call__(self, event: Event) -> None:
        if self.mode == "json":
            print(event_to_json(event), file=self.stream, flush=True)
        elif self.mode == "rich":
            self._rich(event)
        else:
            print(f"[{time.strftime('%H:%M:%S')}] {event.message}", file=self.stream, flush=True)

    def _rich(self, event: Event) -> None:
        progress = self._progress
        key = (event.step, event.resource)
        task = self._tasks.get(key)
        if task is None:
            task = progress.add_task(event.resource, total=100, step=event.step, status="")
            self._tasks[key] = task
        if isinstance(event, StepProgress):
            progress.update(task, completed=event.percent or 0, status=event.status)
        elif isinstance(event, StepFinished | StepSkipped):
            status = event.outcome if isinstance(event, StepFinished) else "skipped"
            progress.update(task, completed=100, status=status)
        else:
            progress.update(task, status=type(event).__name__.removeprefix("Step").lower())

    def print(self, text: str) -> None:
        """A line of normal output (not in JSON mode)."""
        if self.mode != "json":
            print(text, file=self.stream, flush=True)


def _output_mode(args: argparse.Namespace, stream: TextIO) -> str:
    if args.json:
        return "json"
    if stream.isatty():
        try:
            import rich  # noqa: F401
        except ImportError:
            return "plain"
        return "rich"
    return "plain"


def summary(result: ShareResult) -> list[str]:
    """The human summary of a result: every ARN."""
    rows = [
        ("run name", result.run_name),
        ("region", result.region),
        ("source account", result.source_account_id),
        ("target account", result.target_account_id),
        ("source snapshot", result.source_snapshot_arn),
        ("shared snapshot", result.shared_snapshot_arn),
        ("source KMS key", result.source_kms_key_arn),
        ("data copies", str(result.data_copies)),
        ("target cluster", result.target_cluster_arn),
        ("target KMS key", result.target_kms_key_arn),
        ("master secret", result.master_user_secret_arn),
    ]
    rows += [(f"instance {i + 1}", arn) for i, arn in enumerate(result.instance_arns)]
    if result.backup_snapshot_arn:
        rows.append(("target backup", result.backup_snapshot_arn))
    return [f"  {name:<16} {value or '-'}" for name, value in rows]


# -- commands -------------------------------------------------------------------------------------
def _session(profile: str | None, role: str | None, region: str | None, endpoint: str | None) -> AccountSession:
    if role:
        return AccountSession.from_role(role, region=region, endpoint_url=endpoint)
    if profile:
        return AccountSession.from_profile(profile, region=region, endpoint_url=endpoint)
    import boto3

    return AccountSession(boto3.Session(region_name=region), endpoint_url=endpoint)


def cmd_share(args: argparse.Namespace, out: Reporter) -> int:
    source = _session(args.source_profile, args.source_role, args.region, args.endpoint_url)
    target = _session(args.target_profile, args.target_role, args.region, args.endpoint_url)
    restore = None
    if args.restore_cluster:
        restore = ClusterRestoreSpec(
            cluster_id=args.restore_cluster,
            instance_class=args.instance_class,
            subnet_group=args.subnet_group,
            security_group_ids=args.security_group or (),
            instance_count=args.instances,
            kms_key_id=args.target_kms_key,
            deletion_protection=args.deletion_protection,
        )
    result = share_cluster_snapshot(
        source=source,
        target=target,
        cluster_id=args.cluster,
        snapshot_id=args.snapshot,
        restore=restore,
        run_name=args.run_name,
        source_kms_key=args.source_kms_key,
        on_event=out,
    )
    _finish(result, out)
    return EXIT_OK


def _finish(result: ShareResult, out: Reporter) -> None:
    if out.mode == "json":
        print(json.dumps({"event": "Result", **attrs.asdict(result)}), file=out.stream, flush=True)
    else:
        out.print("\nDone:")
        for line in summary(result):
            out.print(line)


def cmd_policy(args: argparse.Namespace, out: Reporter) -> int:
    builder = CmkPolicyBuilder(
        owner_account_id=args.source_account,
        target_account_ids=args.target_account,
        admin_principals=args.admin or (),
    )
    print(builder.to_json(), file=out.stream)
    return EXIT_OK


def cmd_demo(args: argparse.Namespace, out: Reporter) -> int:
    from ._demo import run_demo

    result, key_policy = run_demo(on_event=out, operation_seconds=args.operation_seconds, log=out.print)
    _finish(result, out)
    if out.mode != "json":
        out.print("\nKey policy of the source CMK:")
        out.print(json.dumps(key_policy, indent=2))
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rdsshare", description="Share an Aurora snapshot with another AWS account and restore it there."
    )
    parser.add_argument("--version", action="version", version=f"rdsshare {__version__}")
    parser.add_argument("--json", action="store_true", help="write one JSON event per line")
    parser.add_argument("--debug", action="store_true", help="debug logging and tracebacks")
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="run the whole flow on the built-in emulated two-account AWS")
    demo.add_argument(
        "--operation-seconds", type=float, default=2.0, help="how long each emulated long operation takes"
    )
    demo.set_defaults(func=cmd_demo)

    share = sub.add_parser("share", help="share a cluster snapshot and optionally restore it in the target")
    src = share.add_mutually_exclusive_group(required=True)
    src.add_argument("--cluster", help="source cluster id (a manual snapshot is taken)")
    src.add_argument("--snapshot", help="existing source snapshot id or ARN")
    share.add_argument("--source-profile")
    share.add_argument("--source-role", help="role ARN to assume for the source account")
    share.add_argument("--target-profile")
    share.add_argument("--target-role", help="role ARN to assume for the target account")
    share.add_argument("--region")
    share.add_argument("--endpoint-url", help=argparse.SUPPRESS)
    share.add_argument("--run-name")
    share.add_argument("--source-kms-key", help="reuse this source CMK (id, ARN or alias)")
    share.add_argument("--restore-cluster", help="restore into this cluster id in the target")
    share.add_argument("--instance-class", default="db.r6g.large")
    share.add_argument("--instances", type=int, default=1)
    share.add_argument("--subnet-group")
    share.add_argument("--security-group", action="append")
    share.add_argument("--target-kms-key")
    share.add_argument("--deletion-protection", action="store_true")
    share.set_defaults(func=cmd_share)

    policy = sub.add_parser("policy", help="print JSON policies ready for Terraform")
    policy_sub = policy.add_subparsers(dest="kind", required=True)
    key = policy_sub.add_parser("key", help="the source CMK's key policy (aws_kms_key_policy)")
    key.add_argument("--source-account", required=True)
    key.add_argument("--target-account", action="append", required=True)
    key.add_argument("--admin", action="append", help="key administrator role/user ARN")
    key.set_defaults(func=cmd_policy)
    return parser


def main(argv: Sequence[str] | None = None, *, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    """Run the command line; returns the exit code."""
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.debug else logging.WARNING, stream=stderr)
    func: Callable[[argparse.Namespace, Reporter], int] = args.func
    try:
        with Reporter(_output_mode(args, stdout), stdout) as out:
            return func(args, out)
    except KeyboardInterrupt:
        print("rdsshare: interrupted; rerun the same command to resume", file=stderr)
        return EXIT_INTERRUPTED
    except (InputError, ConflictError) as exc:
        if args.debug:
            raise
        print(f"rdsshare: error: {exc}", file=stderr)
        return EXIT_INPUT
    except (AwsError, RdsShareError) as exc:
        if args.debug:
            raise
        print(f"rdsshare: error: {exc}", file=stderr)
        return EXIT_AWS


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())
