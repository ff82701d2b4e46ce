"""Fixtures for the command-line tests: a server-mode test bed and two AWS profiles pointing at it.

The CLI is driven the way a user drives it: ``--source-profile``/``--target-profile`` name profiles
in an AWS config file (here in ``tmp_path``, holding the test bed's assumed-role credentials for
each account) and the hidden ``--endpoint-url`` points at the moto server. The same environment
works in-process (``main(argv, stdout=..., stderr=...)``) and for ``python -m rdsshare`` subprocesses.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from rdsshare import set_testing
from rdsshare._cli import main
from rdsshare._waiting import is_testing
from rdsshare.testing import EmulatedAWS, Network

from ..accounts import SOURCE, TARGET

REGION = "us-east-1"


@dataclass
class Outcome:
    """What one CLI invocation produced."""

    code: int
    stdout: str
    stderr: str

    @property
    def json_lines(self) -> list[dict[str, Any]]:
        """stdout parsed as JSON lines (fails the test if a line is not a JSON object)."""
        objects = [json.loads(line) for line in self.stdout.splitlines()]
        assert all(isinstance(o, dict) for o in objects)
        return objects

    def assert_one_line_error(self, code: int) -> str:
        """The exit code is ``code`` and stderr is one ``rdsshare: error:`` line without a traceback."""
        assert self.code == code, (self.code, self.stdout, self.stderr)
        lines = self.stderr.strip().splitlines()
        assert len(lines) == 1, self.stderr
        assert lines[0].startswith("rdsshare: error: "), self.stderr
        assert "Traceback" not in self.stderr + self.stdout
        return lines[0]


@dataclass
class Cli:
    """Runs ``rdsshare`` against the test bed, in-process or as a subprocess."""

    aws: EmulatedAWS
    env: dict[str, str]
    tmp_path: Path
    accounts: list[str] = field(default_factory=list)

    def __call__(self, *argv: str) -> Outcome:
        """``rdsshare *argv`` in-process."""
        out, err = io.StringIO(), io.StringIO()
        code = main(list(argv), stdout=out, stderr=err)
        return Outcome(code, out.getvalue(), err.getvalue())

    def subprocess(self, *argv: str, timeout: float = 120) -> Outcome:
        """``python -m rdsshare *argv`` in a child process with the same AWS config."""
        proc = subprocess.run(
            [sys.executable, "-m", "rdsshare", *argv],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        return Outcome(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture(autouse=True)
def instant_waits() -> Iterator[None]:
    """rdsshare's waits and retries do not sleep in-process (subprocesses wait for real)."""
    was = is_testing()
    set_testing(True)
    yield
    set_testing(was)


@pytest.fixture
def bed() -> Iterator[EmulatedAWS]:
    """A test bed served over HTTP on 127.0.0.1, instant operations."""
    with EmulatedAWS(server=True, region=REGION) as aws:
        yield aws


def _profile(name: str, aws: EmulatedAWS, account: str) -> str:
    creds = aws.session(account).get_credentials()
    assert creds is not None
    frozen = creds.get_frozen_credentials()
    return (
        f"[profile {name}]\n"
        f"aws_access_key_id = {frozen.access_key}\n"
        f"aws_secret_access_key = {frozen.secret_key}\n"
        f"aws_session_token = {frozen.token}\n"
        f"region = {REGION}\n\n"
    )


@pytest.fixture
def cli(bed: EmulatedAWS, tmp_path: Path) -> Iterator[Cli]:
    """Profiles ``src`` and ``tgt`` acting as the two test accounts, in ``AWS_CONFIG_FILE``.

    The environment is set after the test bed set its own, and put back before the test bed exits.
    """
    config = tmp_path / "aws-config"
    config.write_text(_profile("src", bed, SOURCE) + _profile("tgt", bed, TARGET))
    credentials = tmp_path / "aws-credentials"
    credentials.write_text("")
    values = {"AWS_CONFIG_FILE": str(config), "AWS_SHARED_CREDENTIALS_FILE": str(credentials)}
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    assert bed.endpoint_url is not None
    try:
        yield Cli(
            aws=bed,
            env=dict(os.environ),
            tmp_path=tmp_path,
            accounts=["--source-profile", "src", "--target-profile", "tgt", "--endpoint-url", bed.endpoint_url],
        )
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@pytest.fixture
def target_net(cli: Cli) -> Network:
    """The seed: ``example-db`` (encrypted with aws/rds) in the source, a network in the target."""
    source_net = cli.aws.create_network(SOURCE, "example-db")
    cli.aws.create_cluster(SOURCE, "example-db", network=source_net)
    return cli.aws.create_network(TARGET, "example-db-2")


def restore_args(net: Network) -> list[str]:
    """The restore flags for ``example-db-2`` on ``net``."""
    return [
        "--restore-cluster",
        "example-db-2",
        "--instance-class",
        "db.t3.medium",
        "--subnet-group",
        net.subnet_group,
        "--security-group",
        net.security_group_id,
    ]
