"""``rdsshare share`` and ``rdsshare cleanup`` in-process against the server-mode test bed."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import rdsshare._cli._commands
from rdsshare import Event, Manifest, share_cluster_snapshot
from rdsshare.testing import Network

from ..accounts import SOURCE, TARGET
from ..flow.helpers import mutating_calls
from .conftest import REGION, Cli, restore_args

TARGET_CLUSTER_ARN = f"arn:aws:rds:{REGION}:{TARGET}:cluster:example-db-2"
SNAPSHOT = "rdsshare-example-db-222222222222"


def snapshot_ids(cli: Cli) -> set[str]:
    snaps = cli.aws.client(SOURCE, "rds").describe_db_cluster_snapshots(SnapshotType="manual")["DBClusterSnapshots"]
    return {s["DBClusterSnapshotIdentifier"] for s in snaps}


def test_share_with_manifest_then_cleanup(cli: Cli, target_net: Network) -> None:
    manifest = cli.tmp_path / "run.json"
    result = cli(
        "share", "--cluster", "example-db", *cli.accounts, *restore_args(target_net), "--manifest", str(manifest)
    )
    assert result.code == 0, result.stderr
    assert result.stderr == ""
    assert f"target cluster   {TARGET_CLUSTER_ARN}" in result.stdout
    assert "master secret    arn:aws:secretsmanager:" in result.stdout
    assert f"rdsshare cleanup --manifest {manifest}" in result.stdout
    written = Manifest.read(manifest)
    assert (written.source_account_id, written.target_account_id) == (SOURCE, TARGET)
    assert {e.kind for e in written.entries} >= {"cluster-snapshot", "kms-key", "db-cluster", "db-instance", "secret"}
    assert snapshot_ids(cli) == {SNAPSHOT, f"{SNAPSHOT}-cmk"}

    # A dry run of the cleanup changes nothing.
    cli.aws.clear_calls()
    dry = cli("cleanup", "--manifest", str(manifest), *cli.accounts, "--dry-run", "--delete-restored-cluster")
    assert dry.code == 0, dry.stderr
    assert "dry run" in dry.stdout
    assert "would delete-snapshot" in dry.stdout
    assert "would delete-db-cluster" in dry.stdout
    assert mutating_calls(cli.aws) == []
    _counts_add_up(dry.stdout)

    done = cli("cleanup", "--manifest", str(manifest), *cli.accounts, "--delete-restored-cluster")
    assert done.code == 0, done.stderr
    assert "done  delete-snapshot" in done.stdout
    assert "done  schedule-key-deletion" in done.stdout
    assert "done  delete-db-cluster" in done.stdout
    _counts_add_up(done.stdout)
    assert snapshot_ids(cli) == set()  # rdsshare's source snapshots are gone
    # The target keeps a final snapshot, named with the run token: a later cluster of the same id gets its own.
    finals = cli.aws.client(TARGET, "rds").describe_db_cluster_snapshots(SnapshotType="manual")["DBClusterSnapshots"]
    [final] = [s["DBClusterSnapshotIdentifier"] for s in finals if "final" in s["DBClusterSnapshotIdentifier"]]
    assert re.fullmatch(r"rdsshare-example-db-2-final-[0-9a-f]{8}", final), final

    again = cli("cleanup", "--manifest", str(manifest), *cli.accounts)
    assert again.code == 0, again.stderr
    assert "done " not in again.stdout  # idempotent: everything is gone already


def test_dry_run_prints_the_plan_and_changes_nothing(cli: Cli, target_net: Network) -> None:
    cli.aws.clear_calls()
    result = cli(
        "share", "--cluster", "example-db", *cli.accounts, *restore_args(target_net), "--dry-run",
        "--manifest", str(cli.tmp_path / "ignored.json"),
    )  # fmt: skip
    assert result.code == 0, result.stderr
    assert "Plan for run '222222222222'" in result.stdout
    assert "copy        create  rdsshare-example-db-222222222222-cmk" in result.stdout
    assert "OK: a real run would start." in result.stdout
    assert mutating_calls(cli.aws) == []
    assert not (cli.tmp_path / "ignored.json").exists()


def test_dry_run_with_problems_exits_2_and_lists_each(cli: Cli, target_net: Network) -> None:
    argv = ["share", "--cluster", "example-db", *cli.accounts, "--restore-cluster", "example-db-2"]
    argv += ["--instance-class", "db.x9.huge", "--subnet-group", "no-such-group", "--dry-run"]
    result = cli(*argv)
    assert result.code == 2
    problems = [line for line in result.stdout.splitlines() if line.startswith("  - ")]
    assert len(problems) == 2, result.stdout
    assert any("no-such-group" in p for p in problems)
    assert any("db.x9.huge" in p for p in problems)

    as_json = cli("--json", *argv)
    assert as_json.code == 2
    [plan] = as_json.json_lines
    assert plan["event"] == "Plan"
    assert plan["ok"] is False
    assert len(plan["problems"]) == 2


def test_a_real_run_with_problems_stops_before_any_change(cli: Cli, target_net: Network) -> None:
    cli.aws.clear_calls()
    result = cli(
        "share", "--cluster", "example-db", *cli.accounts, "--restore-cluster", "example-db-2",
        "--subnet-group", "no-such-group", "--instance-class", "db.x9.huge",
    )  # fmt: skip
    assert result.code == 2
    lines = result.stderr.strip().splitlines()
    assert lines[0] == "rdsshare: error: preflight found 2 problem(s); nothing was changed:"
    assert [line[:4] for line in lines[1:]] == ["  - ", "  - "]
    assert "Traceback" not in result.stderr
    assert mutating_calls(cli.aws) == []


def test_json_lines(cli: Cli, target_net: Network) -> None:
    result = cli("share", "--json", "--cluster", "example-db", *cli.accounts, *restore_args(target_net))
    assert result.code == 0, result.stderr
    objects = result.json_lines
    assert all("event" in o for o in objects)
    assert {o["event"] for o in objects[:-1]} <= {
        "StepStarted",
        "StepProgress",
        "StepFinished",
        "StepSkipped",
        "Retrying",
    }
    assert [o["step"] for o in objects if o["event"] == "StepFinished"] == [
        "snapshot", "source-key", "copy", "share", "restore", "instances", "secret",
    ]  # fmt: skip
    final = objects[-1]
    assert final["event"] == "Result"
    assert final["target_cluster_arn"] == TARGET_CLUSTER_ARN
    assert final["manifest"]["entries"]


def test_an_aws_failure_exits_1_with_the_code(cli: Cli, target_net: Network) -> None:
    cli.aws.inject_fault("rds", "RestoreDBClusterFromSnapshot", "InvalidParameterValue", times=5)
    argv = ["share", "--cluster", "example-db", *cli.accounts, *restore_args(target_net)]
    result = cli(*argv)
    line = result.assert_one_line_error(1)
    assert "code=InvalidParameterValue" in line
    assert "step=restore" in line
    assert "Fix: " in line

    as_json = cli("--json", *argv)
    assert as_json.code == 1
    error = as_json.json_lines[-1]
    assert error["event"] == "Error"
    assert (error["exit_code"], error["error_code"], error["step"]) == (1, "InvalidParameterValue", "restore")


def test_debug_adds_the_traceback(cli: Cli) -> None:
    result = cli("share", "--debug", "--cluster", "Bad_Name", *cli.accounts)
    assert result.code == 2
    assert "Traceback (most recent call last)" in result.stderr
    assert "InputError" in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("rdsshare: error: cluster_id 'Bad_Name'")


@pytest.mark.parametrize(
    ("argv", "expect"),
    [
        (["--cluster", "Bad_Name"], "not a valid RDS cluster identifier"),
        (["--cluster", "example-db", "--subnet-group", "x"], "--subnet-group only applies to a restore"),
        (["--cluster", "example-db", "--run-name", "UPPER"], "run_name 'UPPER' is not valid"),
        (["--cluster", "example-db", "--restore-cluster", "x", "--security-group", "nope"], "security group id"),
        (["--cluster", "example-db", "--restore-cluster", "x", "--instances", "17"], "instance_count 17"),
        (["--cluster", "example-db", "--cleanup-intermediates"], "--cleanup-intermediates only applies to a restore"),
        (["--cluster", "example-db", "--replace"], "--replace only applies to a restore"),
        (["--cluster", "example-db", "--keep-replaced", "renamed"], "--keep-replaced only applies to a restore"),
        (["--cluster", "example-db", "--manifest", "/no/such/dir/m.json"], "does not exist"),
    ],
)
def test_bad_input_exits_2_in_one_line(cli: Cli, argv: list[str], expect: str) -> None:
    result = cli("share", *argv, *cli.accounts)
    assert expect in result.assert_one_line_error(2)


def test_bad_accounts_exit_2(cli: Cli) -> None:
    endpoint = ["--endpoint-url", cli.aws.endpoint_url or ""]
    none = cli("share", "--cluster", "example-db", *endpoint)
    assert "no accounts given" in none.assert_one_line_error(2)
    unknown = cli("share", "--cluster", "example-db", "--source-profile", "nope", "--target-profile", "tgt", *endpoint)
    assert "nope" in unknown.assert_one_line_error(2)
    same = cli("share", "--cluster", "example-db", "--source-profile", "src", "--target-profile", "src", *endpoint)
    assert "same account" in same.assert_one_line_error(2)


def test_cleanup_bad_input_exits_2(cli: Cli, tmp_path: Path) -> None:
    missing = cli("cleanup", "--manifest", str(tmp_path / "missing.json"), *cli.accounts)
    assert "cannot read manifest" in missing.assert_one_line_error(2)
    manifest = tmp_path / "m.json"
    Manifest(run_name="x", region=REGION, source_account_id=SOURCE, target_account_id=TARGET, entries=()).write(
        manifest
    )
    region = cli("cleanup", "--manifest", str(manifest), *cli.accounts, "--region", "eu-west-1")
    assert "not the manifest's region" in region.assert_one_line_error(2)
    swapped = ["--source-profile", "tgt", "--target-profile", "src", "--endpoint-url", cli.aws.endpoint_url or ""]
    accounts = cli("cleanup", "--manifest", str(manifest), *swapped)
    assert "not the manifest's accounts" in accounts.assert_one_line_error(2)


def test_interrupt_exits_130_and_a_rerun_resumes(
    cli: Cli, target_net: Network, monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupted_at_copy(**kwargs: Any) -> Any:
        hook: Callable[[Event], object] = kwargs["on_event"]

        def on_event(event: Event) -> None:
            hook(event)
            if event.step == "copy":
                raise KeyboardInterrupt

        return share_cluster_snapshot(**{**kwargs, "on_event": on_event})

    argv = ["share", "--cluster", "example-db", *cli.accounts, *restore_args(target_net)]
    monkeypatch.setattr(rdsshare._cli._commands, "share_cluster_snapshot", interrupted_at_copy)
    result = cli("--json", *argv)
    assert result.code == 130
    assert result.stderr.strip() == "rdsshare: interrupted; rerun the same command to resume where it stopped"
    assert result.json_lines[-1]["event"] == "Error"
    monkeypatch.undo()

    rerun = cli("--json", *argv)
    assert rerun.code == 0, rerun.stderr
    outcomes = {o["step"]: o["outcome"] for o in rerun.json_lines if o["event"] == "StepFinished"}
    assert outcomes["snapshot"] == "adopted"
    assert outcomes["restore"] == "created"


def test_share_only_then_restore_later_hint(cli: Cli, target_net: Network) -> None:
    result = cli("share", "--cluster", "example-db", *cli.accounts, "--run-name", "only-share")
    assert result.code == 0, result.stderr
    assert "The target account can now restore from arn:aws:rds:" in result.stdout
    assert "target cluster" not in result.stdout


def test_restore_flags_reach_the_restored_cluster(cli: Cli, target_net: Network) -> None:
    result = cli(
        "share", "--json", "--cluster", "example-db", *cli.accounts, *restore_args(target_net),
        "--instances", "2", "--tag", "team=db", "--tag", "env=test", "--port", "3307", "--backup-copy",
        "--cleanup-intermediates",
    )  # fmt: skip
    assert result.code == 0, result.stderr
    final = result.json_lines[-1]
    assert len(final["instance_arns"]) == 2
    assert final["backup_snapshot_arn"]
    assert final["cleanup_report"]["actions"]
    cluster = cli.aws.client(TARGET, "rds").describe_db_clusters(DBClusterIdentifier="example-db-2")["DBClusters"][0]
    tags = {t["Key"]: t["Value"] for t in cluster.get("TagList", [])}
    assert (tags["team"], tags["env"]) == ("db", "test")
    assert cluster["Port"] == 3307
    assert json.dumps(final)  # the Result object is plain JSON


def test_replace_refreshes_the_cluster_in_place_and_the_plan_shows_the_swap(cli: Cli, target_net: Network) -> None:
    first = cli("share", "--json", "--cluster", "example-db", *cli.accounts, *restore_args(target_net), "--replace")
    assert first.code == 0, first.stderr
    rds = cli.aws.client(TARGET, "rds")
    old = rds.describe_db_clusters(DBClusterIdentifier="example-db-2")["DBClusters"][0]
    plan = cli("share", "--dry-run", "--cluster", "example-db", *cli.accounts, *restore_args(target_net), "--replace")
    assert plan.code == 0, plan.stderr
    assert "the downtime" in plan.stdout
    assert "example-db-2-old-" in plan.stdout
    again = cli(
        "share", "--json", "--cluster", "example-db", *cli.accounts, *restore_args(target_net),
        "--replace", "--keep-replaced", "renamed",
    )  # fmt: skip
    assert again.code == 0, again.stderr
    clusters = {c["DBClusterIdentifier"]: c for c in rds.describe_db_clusters()["DBClusters"]}
    [kept] = [c for c in clusters.values() if c["DBClusterIdentifier"].startswith("example-db-2-old-")]
    assert kept["DbClusterResourceId"] == old["DbClusterResourceId"]
    assert clusters["example-db-2"]["DbClusterResourceId"] != old["DbClusterResourceId"]
    assert again.json_lines[-1]["targets"][0]["replaced_arn"] == kept["DBClusterArn"]


def test_cross_region_copy_picks_who_copies_into_another_region(cli: Cli) -> None:
    key = cli.aws.client(SOURCE, "kms").create_key()["KeyMetadata"]["Arn"]
    cli.aws.create_cluster(SOURCE, "cmk-db", kms_key_id=key)
    west = [*cli.accounts, "--region", REGION, "--target-region", "us-west-2"]
    auto = cli("share", "--dry-run", "--cluster", "cmk-db", *west)
    assert auto.code == 0, auto.stderr
    assert "each target copies it into us-west-2 under its own key in one step" in auto.stdout
    source = cli("share", "--dry-run", "--cluster", "cmk-db", *west, "--cross-region-copy", "source")
    assert source.code == 0, source.stderr
    assert "copy to us-west-2 (keys and snapshots are region-bound), shared there" in source.stdout
    cli.aws.create_cluster(SOURCE, "default-db")  # aws/rds: it needs its copy in the source account
    refused = cli("share", "--dry-run", "--cluster", "default-db", *west, "--cross-region-copy", "target")
    assert refused.code == 2
    assert "cannot copy snapshot" in refused.stdout + refused.stderr


def test_roles_instead_of_profiles(cli: Cli, target_net: Network) -> None:
    roles = [
        "--source-role", f"arn:aws:iam::{SOURCE}:role/rdsshare-source",
        "--target-profile", "src", "--target-role", f"arn:aws:iam::{TARGET}:role/rdsshare-target",  # base: a profile
        "--region", REGION, "--endpoint-url", cli.aws.endpoint_url or "",
    ]  # fmt: skip
    result = cli("share", "--dry-run", "--cluster", "example-db", *roles, *restore_args(target_net))
    assert result.code == 0, result.stderr
    assert f"Plan for run '{TARGET}': {SOURCE} -> {TARGET} ({REGION})" in result.stdout
    bad = cli("share", "--cluster", "example-db", "--source-role", "not-an-arn", *cli.accounts[2:])
    assert "is not an IAM role ARN" in bad.assert_one_line_error(2)


def test_a_wait_timeout_exits_1_and_says_rerun(cli: Cli, target_net: Network) -> None:
    cli.aws.operation_seconds = 3600
    result = cli("share", "--cluster", "example-db", *cli.accounts, "--wait-timeout", "30s")
    line = result.assert_one_line_error(1)
    assert "not ready after 0:00:30" in line
    assert "rerun" in line
    bad = cli("share", "--cluster", "example-db", *cli.accounts, "--wait-timeout", "soon")
    assert bad.code == 2


def test_share_an_instance_snapshot_and_restore_it(cli: Cli) -> None:
    source_net = cli.aws.create_network(SOURCE, "orders")
    cli.aws.client(SOURCE, "rds").create_db_instance(
        DBInstanceIdentifier="orders-db", Engine="mysql", EngineVersion="8.0.35", DBInstanceClass="db.t3.micro",
        MasterUsername="admin", MasterUserPassword="source-password-1", AllocatedStorage=20, StorageEncrypted=True,
        DBSubnetGroupName=source_net.subnet_group,
    )  # fmt: skip
    cli.aws.finish_pending()
    net = cli.aws.create_network(TARGET, "orders-2")
    argv = [
        "share", "--instance", "orders-db", *cli.accounts, "--restore-instance", "orders-db-2",
        "--instance-class", "db.t3.micro", "--subnet-group", net.subnet_group,
        "--security-group", net.security_group_id,
    ]  # fmt: skip
    result = cli(*argv)
    assert result.code == 0, result.stderr
    assert f"target instance  arn:aws:rds:{REGION}:{TARGET}:db:orders-db-2" in result.stdout
    assert "target snapshot  arn:aws:rds:" in result.stdout
    assert "master secret    arn:aws:secretsmanager:" in result.stdout


@pytest.mark.parametrize(
    ("argv", "match"),
    [
        (["--instance", "orders-db", "--restore-cluster", "x"], "--restore-cluster does not fit a DB instance source"),
        (["--cluster", "example-db", "--restore-instance", "x"], "--restore-instance does not fit a cluster source"),
        (["--instance", "orders-db", "--restore-instance", "x", "--instances", "2"], "only apply to cluster restores"),
    ],
)
def test_instance_and_cluster_flags_do_not_mix(cli: Cli, argv: list[str], match: str) -> None:
    result = cli("share", *argv, *cli.accounts)
    assert result.code == 2
    assert match in result.stderr


def test_failed_share_writes_a_partial_manifest(cli: Cli, target_net: Network) -> None:
    manifest = cli.tmp_path / "partial.json"
    cli.aws.inject_fault("rds", "RestoreDBClusterFromSnapshot", "InvalidParameterCombination", times=5)
    result = cli(
        "share", "--cluster", "example-db", *cli.accounts, *restore_args(target_net), "--manifest", str(manifest)
    )
    assert result.code == 1
    assert "InvalidParameterCombination" in result.stderr
    written = Manifest.read(manifest)
    assert {e.role for e in written.entries} >= {"source-snapshot", "shareable-copy"}
    done = cli("cleanup", "--manifest", str(manifest), *cli.accounts)
    assert done.code == 0, done.stderr
    assert snapshot_ids(cli) == set()


def test_a_saved_plan_is_applied_exactly(cli: Cli, target_net: Network) -> None:
    plan_file = cli.tmp_path / "plan.json"
    cli.aws.clear_calls()
    planned = cli(
        "share",
        "--cluster",
        "example-db",
        *cli.accounts,
        *restore_args(target_net),
        "--dry-run",
        "--out",
        str(plan_file),
    )
    assert planned.code == 0, planned.stderr
    assert f"rdsshare apply {plan_file}" in planned.stdout
    assert mutating_calls(cli.aws) == []
    assert json.loads(plan_file.read_text())["format"] == "rdsshare-plan"
    applied = cli("apply", str(plan_file), *cli.accounts)
    assert applied.code == 0, applied.stderr
    assert f"target cluster   {TARGET_CLUSTER_ARN}" in applied.stdout


def test_a_saved_plan_whose_world_changed_is_refused_with_exit_2(cli: Cli, target_net: Network) -> None:
    plan_file = cli.tmp_path / "plan.json"
    args = ("share", "--cluster", "example-db", *cli.accounts, *restore_args(target_net))
    assert cli(*args, "--dry-run", "--out", str(plan_file)).code == 0
    assert cli(*args).code == 0  # the same share ran meanwhile: the plan's creates are adopts now
    cli.aws.clear_calls()
    applied = cli("apply", str(plan_file), *cli.accounts)
    assert applied.code == 2
    assert "the plan no longer holds" in applied.stderr
    assert mutating_calls(cli.aws) == []


def test_out_needs_dry_run(cli: Cli) -> None:
    result = cli("share", "--cluster", "example-db", *cli.accounts, "--out", str(cli.tmp_path / "p.json"))
    assert result.code == 2
    assert "--out saves a plan" in result.stderr


def _counts_add_up(text: str) -> None:
    """The cleanup report's count line agrees with its list, status by status."""
    lines = [line.strip() for line in text.splitlines()]
    [count_line] = [line for line in lines if re.fullmatch(r".*\(\d+ actions?\)", line)]
    statuses = [line.split()[0] for line in lines if line.split()[:1] in (["done"], ["would"], ["gone"], ["kept"])]
    words = {"done": "done", "would": "to do", "gone": "already gone", "kept": "kept"}
    expected = ", ".join(f"{statuses.count(s)} {w}" for s, w in words.items() if statuses.count(s))
    assert count_line == f"{expected} ({len(statuses)} action{'' if len(statuses) == 1 else 's'})", text
