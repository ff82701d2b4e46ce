"""The ``rdsshare`` argument parser: the subcommands, their flags and the argument converters."""

from __future__ import annotations

import argparse
import re
from datetime import timedelta
from typing import Any

from .. import __version__
from ._commands import (
    DEFAULT_INSTANCE_CLASS,
    cmd_apply,
    cmd_cleanup,
    cmd_demo,
    cmd_policy_iam,
    cmd_policy_key,
    cmd_share,
)
from ._emulator import cmd_emulator


# -- argument helpers -----------------------------------------------------------------------------
def _tag(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key, value


def _scaling(text: str) -> tuple[float, float]:
    low, sep, high = text.partition(",")
    try:
        if sep:
            return float(low), float(high)
    except ValueError:
        pass
    raise argparse.ArgumentTypeError(f"expected MIN,MAX ACUs (e.g. 0.5,16), got {text!r}")


def _names(text: str) -> tuple[str, ...]:
    return tuple(n.strip() for n in text.split(",") if n.strip())


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
    """--json/--plain/--debug/--quiet, accepted before or after the subcommand."""
    default: Any = False if top else argparse.SUPPRESS
    group = parser.add_argument_group("output")
    group.add_argument("--json", action="store_true", default=default, help="write one JSON object per line")
    group.add_argument("--plain", action="store_true", default=default, help="plain lines even on a terminal")
    group.add_argument(
        "--debug", action="store_true", default=default, help="debug logging, and tracebacks with errors"
    )
    group.add_argument(
        "--quiet", "-q", action="store_true", default=default, help="no progress: only the result or the error"
    )


def _session_flags(
    parser: argparse.ArgumentParser, *, region_default: str = "AWS_REGION, else the profile's or AWS_DEFAULT_REGION"
) -> None:
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
    group.add_argument(
        "--endpoint-url",
        metavar="URL",
        help="send every AWS call to this URL: an emulator such as moto_server or LocalStack (default: "
        "AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_<SERVICE>, as botocore reads them, else AWS)",
    )


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

    # emulator
    emulator = add(
        "emulator",
        "run the emulated two-account AWS on 127.0.0.1 until interrupted, with a profile per account "
        "(try rdsshare, the AWS CLI or Terraform against it; needs the testing extra)",
    )
    emulator.add_argument(
        "--dir",
        default=".rdsshare-emulator",
        metavar="PATH",
        help="where to write the AWS config and credentials files (default: .rdsshare-emulator)",
    )
    emulator.add_argument("--region", default="ap-northeast-1", help="the emulated region (default: ap-northeast-1)")
    emulator.add_argument(
        "--seed",
        action="store_true",
        help="create the example: cluster example-db in the source, a network in the target",
    )
    emulator.add_argument(
        "--operation-seconds",
        type=_non_negative,
        default=2.0,
        metavar="S",
        help="how long each emulated long-running operation takes (default: 2)",
    )
    emulator.set_defaults(func=cmd_emulator)

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
        "--cross-region-copy",
        choices=("auto", "source", "target"),
        default="auto",
        help="another region: who copies the snapshot there (default: auto, the cheaper; the plan says which)",
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
    restore.add_argument("--port", type=int, help="database port (default: the source's)")
    restore.add_argument("--cluster-parameter-group", metavar="NAME", help="DB cluster parameter group")
    restore.add_argument(
        "--instance-parameter-group", metavar="NAME", help="DB parameter group of the cluster's instances"
    )
    restore.add_argument(
        "--parameter-group-map",
        action="append",
        type=_tag,
        metavar="SOURCE=TARGET",
        help="carry the source's (cluster) parameter group as this target group (repeatable)",
    )
    restore.add_argument(
        "--deletion-protection",
        action=argparse.BooleanOptionalAction,
        help="deletion protection on or off (default: the source's)",
    )
    restore.add_argument(
        "--storage-type",
        choices=("aurora", "aurora-iopt1", "gp2", "gp3", "io1", "io2", "standard"),
        help="Aurora: Standard or I/O-Optimized; a DB instance: its storage (default: the source's)",
    )
    restore.add_argument("--parameter-group", metavar="NAME", help="a DB instance's DB parameter group")
    restore.add_argument(
        "--multi-az", action=argparse.BooleanOptionalAction, help="a DB instance: Multi-AZ (default: the source's)"
    )
    restore.add_argument(
        "--serverless-v2", type=_scaling, metavar="MIN,MAX", help="Serverless v2 ACUs (default: the source's)"
    )
    restore.add_argument(
        "--engine-lifecycle-support",
        choices=("open-source-rds-extended-support", "open-source-rds-extended-support-disabled"),
        help="enrol in paid Extended Support or not (default: the source's, else not enrolled)",
    )
    restore.add_argument(
        "--iam-auth", action=argparse.BooleanOptionalAction, help="IAM database authentication (default: the source's)"
    )
    restore.add_argument(
        "--log-exports", type=_names, metavar="LOG,...", help="logs to export, '' for none (default: the source's)"
    )
    restore.add_argument("--backtrack-window", type=int, metavar="SECONDS", help="(default: the source's)")
    restore.add_argument(
        "--copy-tags",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="give the restored cluster the source's own tags (default: on)",
    )
    restore.add_argument(
        "--tag", action="append", type=_tag, metavar="KEY=VALUE", help="tag for the restored cluster (repeatable)"
    )
    restore.add_argument("--secret-kms-key", metavar="KEY", help="target key for the master user secret")
    restore.add_argument(
        "--backup-copy", action="store_true", help="also copy the snapshot into the target under its own key"
    )
    restore.add_argument(
        "--replace",
        action="store_true",
        help="refresh in place: restore beside the database that has the restore id, then swap names",
    )
    restore.add_argument(
        "--keep-replaced",
        choices=("snapshot", "renamed"),
        help="with --replace: keep the old database as a final snapshot (default) or renamed",
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
        iam.add_argument(
            "--region",
            action="append",
            help="scope to this region (repeatable: a share into another region acts in both; default: '*', any)",
        )
        # Only the flags that scope this side: a flag of the other side is refused, not ignored.
        if side == "source":
            iam.add_argument("--cluster", action="append", metavar="ID", help="scope to these source clusters")
        else:
            iam.add_argument(
                "--restore-cluster", action="append", metavar="ID", help="scope to these restored clusters"
            )
        iam.add_argument("--source-kms-key-arn", metavar="ARN", help="the source CMK (default: rdsshare's alias)")
        if side == "target":
            iam.add_argument(
                "--target-kms-key-arn", action="append", metavar="ARN", help="scope the target's keys (repeatable)"
            )
            iam.add_argument(
                "--replace", action="store_true", help="add what a refresh in place ('share --replace') needs"
            )
        iam.add_argument("--no-cleanup", action="store_true", help="leave out what 'rdsshare cleanup' needs")
        _policy_flags(iam)
        iam.set_defaults(func=cmd_policy_iam, side=side)
    for leaf in leaves:
        _output_flags(leaf, top=False)
    return parser
