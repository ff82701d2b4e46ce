"""``rdsshare emulator``: the emulated two-account AWS as a service, driven by the AWS CLI and by rdsshare.

The emulator runs in a child process and writes profiles for its two accounts; the AWS CLI (the
``awscli`` package) and ``rdsshare share`` then reach it through those profiles alone: no
``--endpoint-url``, no ``AWS_ENDPOINT_URL``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture
def emulator(tmp_path: Path) -> Iterator[tuple[dict[str, Any], dict[str, str]]]:
    """A running ``rdsshare --json emulator --seed``: its first line, and an environment that uses its profiles."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MOTO_"))}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "rdsshare",
            "--json",
            "emulator",
            "--seed",
            "--dir",
            str(tmp_path / "aws"),
            "--operation-seconds",
            "0",
        ],
        env=clean,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    try:
        info = json.loads(proc.stdout.readline())
        assert info["event"] == "Emulator", info
        env = {
            **clean,
            "AWS_CONFIG_FILE": info["config_file"],
            "AWS_SHARED_CREDENTIALS_FILE": info["credentials_file"],
        }
        yield info, env
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            code = proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
        assert code == 0, proc.stderr.read() if proc.stderr else ""


def _run(argv: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120, check=False)


def test_the_aws_cli_and_rdsshare_work_against_the_emulator(
    emulator: tuple[dict[str, Any], dict[str, str]],
) -> None:
    info, env = emulator
    assert info["endpoint_url"].startswith("http://127.0.0.1:")
    assert info["profiles"] == ["rdsshare-source", "rdsshare-target"]
    assert oct(Path(info["credentials_file"]).stat().st_mode & 0o777) == "0o600"

    aws = [sys.executable, "-m", "awscli", "--output", "json"]
    identity = _run([*aws, "--profile", "rdsshare-target", "sts", "get-caller-identity"], env)
    assert identity.returncode == 0, identity.stderr
    assert json.loads(identity.stdout)["Account"] == "222222222222"
    clusters = _run([*aws, "--profile", "rdsshare-source", "rds", "describe-db-clusters"], env)
    assert clusters.returncode == 0, clusters.stderr
    assert [c["DBClusterIdentifier"] for c in json.loads(clusters.stdout)["DBClusters"]] == ["example-db"]

    share = _run(
        [
            sys.executable,
            "-m",
            "rdsshare",
            "--json",
            "share",
            "--cluster",
            "example-db",
            "--source-profile",
            "rdsshare-source",
            "--target-profile",
            "rdsshare-target",
            "--restore-cluster",
            "example-db-2",
            "--instance-class",
            "db.t3.medium",
            *info["restore_flags"],
        ],
        env,
    )
    assert share.returncode == 0, share.stderr
    result = json.loads(share.stdout.splitlines()[-1])
    assert result["target_cluster_arn"].endswith(":222222222222:cluster:example-db-2")

    restored = _run([*aws, "--profile", "rdsshare-target", "rds", "describe-db-clusters"], env)
    assert [c["DBClusterIdentifier"] for c in json.loads(restored.stdout)["DBClusters"]] == ["example-db-2"]
