"""The CLI reads the environment as the AWS CLI does: ``AWS_ENDPOINT_URL`` (botocore's) and ``AWS_REGION``."""

from __future__ import annotations

import pytest

from rdsshare import AccountSession
from rdsshare.testing import Network

from .conftest import REGION, Cli, restore_args


def _without_endpoint(accounts: list[str]) -> list[str]:
    i = accounts.index("--endpoint-url")
    return accounts[:i] + accounts[i + 2 :]


def test_help_documents_the_endpoint_url_and_its_variables(cli: Cli) -> None:
    out = cli("share", "--help")
    assert out.code == 0
    assert "--endpoint-url URL" in out.stdout
    assert "AWS_ENDPOINT_URL" in out.stdout
    assert "AWS_REGION" in out.stdout


def test_aws_endpoint_url_points_the_cli_at_an_emulator(
    cli: Cli, target_net: Network, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert cli.aws.endpoint_url is not None
    monkeypatch.setenv("AWS_ENDPOINT_URL", cli.aws.endpoint_url)
    accounts = _without_endpoint(cli.accounts)
    out = cli("--json", "share", "--cluster", "example-db", *accounts, *restore_args(target_net), "--dry-run")
    assert out.code == 0, out.stderr
    plan = out.json_lines[-1]
    assert plan["event"] == "Plan"
    assert plan["ok"] is True  # it found example-db: the calls went to the emulator


def test_aws_region_comes_before_the_profiles_region_as_in_the_aws_cli(
    cli: Cli, target_net: Network, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert AccountSession.from_profile("src").region == REGION  # the profile's region
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    assert AccountSession.from_profile("src").region == "eu-west-1"
    assert AccountSession.from_profile("src", region="us-west-2").region == "us-west-2"  # an argument wins
    out = cli("--json", "share", "--cluster", "example-db", *cli.accounts, *restore_args(target_net), "--dry-run")
    plan = out.json_lines[-1]
    assert plan["region"] == "eu-west-1"
    assert plan["ok"] is False  # example-db lives in us-east-1
    out = cli("--json", "share", "--cluster", "example-db", *cli.accounts, "--region", REGION, "--dry-run")
    assert out.json_lines[-1]["region"] == REGION  # --region wins over AWS_REGION
