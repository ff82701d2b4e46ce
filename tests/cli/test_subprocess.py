"""``python -m rdsshare`` as a child process, against the server-mode test bed and on its own (demo)."""

from __future__ import annotations

import json
import subprocess
import sys

from rdsshare.testing import Network

from ..accounts import SOURCE, TARGET
from .conftest import REGION, Cli, restore_args


def test_share_then_cleanup(cli: Cli, target_net: Network) -> None:
    manifest = cli.tmp_path / "run.json"
    argv = ["share", "--cluster", "example-db", *cli.accounts, *restore_args(target_net)]
    result = cli.subprocess("--json", *argv, "--manifest", str(manifest))
    assert result.code == 0, result.stderr
    objects = result.json_lines
    assert all(isinstance(o.get("event"), str) for o in objects)
    assert objects[-1]["event"] == "Result"
    assert objects[-1]["target_cluster_arn"] == f"arn:aws:rds:{REGION}:{TARGET}:cluster:example-db-2"
    assert objects[-1]["manifest_path"] == str(manifest)
    assert manifest.exists()

    cleaned = cli.subprocess("cleanup", "--manifest", str(manifest), *cli.accounts, "--delete-restored-cluster")
    assert cleaned.code == 0, cleaned.stderr
    assert "done  delete-db-cluster" in cleaned.stdout
    snapshots = cli.aws.client(SOURCE, "rds").describe_db_cluster_snapshots(SnapshotType="manual")
    assert snapshots["DBClusterSnapshots"] == []


def test_exit_codes(cli: Cli, target_net: Network) -> None:
    bad = cli.subprocess("share", "--cluster", "Bad_Name", *cli.accounts)
    assert "not a valid RDS cluster identifier" in bad.assert_one_line_error(2)

    cli.aws.inject_fault("rds", "RestoreDBClusterFromSnapshot", "InvalidParameterValue", times=5)
    failed = cli.subprocess("share", "--cluster", "example-db", *cli.accounts, *restore_args(target_net))
    assert "code=InvalidParameterValue" in failed.assert_one_line_error(1)

    usage = cli.subprocess("share", "--cluster", "example-db", "--snapshot", "x")
    assert usage.code == 2
    assert "not allowed with argument" in usage.stderr


def test_demo_end_to_end() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "rdsshare", "demo", "--operation-seconds", "0.5"],
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "target cluster   arn:aws:rds:ap-northeast-1:222222222222:cluster:example-db-2" in out
    assert "master secret    arn:aws:secretsmanager:ap-northeast-1:222222222222:secret:rds!" in out
    assert "Key policy of the source CMK" in out
    assert '"kms:CreateGrant"' in out
    assert '"AWS": "arn:aws:iam::111111111111:root"' in out
    assert "arn:aws:iam::222222222222:root" in out
    assert proc.stderr == ""


def test_importing_the_command_does_not_import_rich_or_moto() -> None:
    code = "import sys, rdsshare._cli; sys.exit(sorted(m for m in ('rich', 'moto') if m in sys.modules) != [])"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def _close_after_first_line(argv: list[str], env: dict[str, str] | None = None) -> tuple[int, str, str]:
    """Run ``python -m rdsshare *argv``, read one line of stdout and close it, as ``| head -1`` does."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "rdsshare", *argv],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    first = proc.stdout.readline()
    proc.stdout.close()
    _, err = proc.communicate(timeout=120)
    return proc.returncode, first, err


def test_a_closed_stdout_never_stops_a_share(cli: Cli, target_net: Network) -> None:
    cli.aws.operation_seconds = 0.5  # the run outlasts the reader: later lines hit the closed pipe
    code, first, err = _close_after_first_line(
        ["--json", "share", "--cluster", "example-db", *cli.accounts, *restore_args(target_net)], env=cli.env
    )
    assert code == 0, err
    assert json.loads(first)["event"]
    assert "Traceback" not in err
    assert "BrokenPipeError" not in err
    assert err.count("stdout was closed") == 1  # said once, then quiet
    cluster = cli.aws.client(TARGET, "rds").describe_db_clusters(DBClusterIdentifier="example-db-2")["DBClusters"][0]
    assert cluster["Status"] == "available"
    assert cluster["MasterUserSecret"]["SecretArn"]


def test_a_closed_stdout_never_fails_the_demo() -> None:
    code, first, err = _close_after_first_line(["--json", "demo", "--operation-seconds", "0.3"])
    assert code == 0, err
    assert json.loads(first)["event"] == "StepStarted"
    assert "Traceback" not in err
    assert "Exception ignored" not in err
