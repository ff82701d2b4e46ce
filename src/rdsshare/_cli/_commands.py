"""One function per command (``cmd_*``, set as the subparser's ``func``), and what they share.

Each takes the parsed arguments and the reporter, and returns the exit code; errors propagate to
``main``, which turns them into one line on stderr and their exit code.
"""

from __future__ import annotations

import argparse
import contextlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .._api import share_cluster_snapshot, share_instance_snapshot
from .._cleanup import cleanup
from .._errors import InputError, RdsShareError
from .._iam import required_iam_policy
from .._manifest import Manifest
from .._plan import Plan
from .._policy import CmkPolicyBuilder
from .._results import ShareResult
from .._session import AccountSession, env_region
from .._specs import ClusterRestoreSpec, InstanceRestoreSpec
from .._validation import validate_identifier
from .._waiting import WaitPolicy
from ._output import Reporter

# The exit codes (the package's docstring says when each is used).
EXIT_OK = 0
EXIT_AWS = 1
EXIT_INPUT = 2
EXIT_INTERRUPTED = 130

DEFAULT_INSTANCE_CLASS = "db.r6g.large"


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

    return AccountSession(boto3.Session(region_name=region or env_region()), endpoint_url=endpoint)


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


# -- restore specs --------------------------------------------------------------------------------
#: the restore flags that only a cluster restore takes
_CLUSTER_ONLY_FLAGS = (
    "instances",
    "engine_version",
    "cluster_parameter_group",
    "instance_parameter_group",
    "backup_copy",
    "serverless_v2",
    "backtrack_window",
)
#: the restore flags that only a DB instance restore takes
_INSTANCE_ONLY_FLAGS = ("parameter_group", "multi_az")
#: every flag that only applies to a restore
_RESTORE_FLAGS = (
    "instance_class",
    "subnet_group",
    "security_group",
    "target_kms_key",
    "port",
    "deletion_protection",
    "tag",
    "secret_kms_key",
    "cleanup_intermediates",
    "replace",
    "keep_replaced",
    "storage_type",
    "parameter_group_map",
    "engine_lifecycle_support",
    "iam_auth",
    "log_exports",
    *_CLUSTER_ONLY_FLAGS,
    *_INSTANCE_ONLY_FLAGS,
)


def _flag(dest: str) -> str:
    """The option of an argparse ``dest``: ``instance_class`` -> ``--instance-class``."""
    return "--" + dest.replace("_", "-")


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
    both: dict[str, Any] = {  # what a cluster and a DB instance restore both take
        "instance_class": args.instance_class or DEFAULT_INSTANCE_CLASS,
        "subnet_group": args.subnet_group,
        "security_group_ids": tuple(security_groups),
        "port": args.port,
        "parameter_group_map": dict(args.parameter_group_map or ()),
        "deletion_protection": args.deletion_protection,
        "storage_type": args.storage_type,
        "engine_lifecycle_support": args.engine_lifecycle_support,
        "iam_database_authentication": args.iam_auth,
        "log_exports": args.log_exports,
        "copy_tags": args.copy_tags,
        "tags": dict(args.tag or ()),
        "kms_key_id": args.target_kms_key,
        "master_user_secret_kms_key_id": args.secret_kms_key,
        "replace": args.replace,
        "keep_replaced": args.keep_replaced or "snapshot",
    }
    if instance_flow:
        cluster_only = [_flag(d) for d in _CLUSTER_ONLY_FLAGS if getattr(args, d) not in (None, False, [])]
        if cluster_only:
            raise InputError(
                f"{', '.join(cluster_only)} only apply to cluster restores",
                step="input",
                fix="leave them out for a DB instance restore",
            )
        return InstanceRestoreSpec(
            instance_id=wanted, parameter_group=args.parameter_group, multi_az=args.multi_az, **both
        )
    instance_only = [_flag(d) for d in _INSTANCE_ONLY_FLAGS if getattr(args, d) not in (None, False, [])]
    if instance_only:
        raise InputError(
            f"{', '.join(instance_only)} only appl{'ies' if len(instance_only) == 1 else 'y'} to DB instance restores",
            step="input",
            fix="leave them out for a cluster restore (its instances are Multi-AZ by --instances)",
        )
    return ClusterRestoreSpec(
        cluster_id=wanted,
        instance_count=1 if args.instances is None else args.instances,
        engine_version=args.engine_version,
        cluster_parameter_group=args.cluster_parameter_group,
        instance_parameter_group=args.instance_parameter_group,
        serverless_v2_scaling=args.serverless_v2,
        backtrack_window=args.backtrack_window,
        backup_copy=args.backup_copy,
        **both,
    )


# -- commands -------------------------------------------------------------------------------------
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
    out.run_name = args.run_name
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
        "cross_region_copy": args.cross_region_copy,
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
    out.run_name = plan.run_name
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
    clusters = list(getattr(args, "cluster", None) or ())
    restored = list(getattr(args, "restore_cluster", None) or ())
    for cluster in [*clusters, *restored]:
        validate_identifier(cluster, "cluster", argument="cluster id")
    document = required_iam_policy(
        args.side,
        source_account_id=args.source_account,
        target_account_id=args.target_account,
        region=tuple(args.region or ("*",)),
        partition=args.partition,
        cluster_ids=clusters,
        restore_cluster_ids=restored,
        source_kms_key_arn=args.source_kms_key_arn,
        target_kms_key_arns=getattr(args, "target_kms_key_arn", None) or (),
        include_cleanup=not args.no_cleanup,
        replace=bool(getattr(args, "replace", False)),
    )
    out.show_document(document, indent=None if out.mode == "json" else 2)
    return EXIT_OK


def cmd_demo(args: argparse.Namespace, out: Reporter) -> int:
    from .._demo import SOURCE_ACCOUNT, TARGET_ACCOUNT, run_demo

    out.sides.update({SOURCE_ACCOUNT: "source", TARGET_ACCOUNT: "target"})
    result, key_policy = run_demo(on_event=out, operation_seconds=args.operation_seconds, log=out.print)
    out.show_result(result, extra={"source_key_policy": key_policy})
    if key_policy:
        out.heading("Key policy of the source CMK (what rdsshare wrote):")
        out.show_json(key_policy)
    return EXIT_OK
