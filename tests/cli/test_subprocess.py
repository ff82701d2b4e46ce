"""``python -m rdsshare`` as a child process, against the server-mode test bed and on its own (demo)."""

from __future__ import annotations

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
