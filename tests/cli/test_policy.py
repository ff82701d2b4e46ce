"""``rdsshare policy key|source-iam|target-iam``: JSON documents ready for Terraform."""

from __future__ import annotations

import io
import json

import pytest

from rdsshare import CmkPolicyBuilder, required_iam_policy
from rdsshare._cli import main

from ..accounts import OTHER, SOURCE, TARGET
from .conftest import Outcome


def rdsshare(*argv: str) -> Outcome:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=out, stderr=err)
    return Outcome(code, out.getvalue(), err.getvalue())


def test_key_policy_is_the_builders_document() -> None:
    admin = f"arn:aws:iam::{SOURCE}:role/KeyAdmin"
    result = rdsshare(
        "policy", "key", "--source-account", SOURCE, "--target-account", TARGET, "--target-account", OTHER,
        "--admin", admin,
    )  # fmt: skip
    assert result.code == 0, result.stderr
    assert result.stderr == ""
    expected = CmkPolicyBuilder(owner_account_id=SOURCE, target_account_ids=[TARGET, OTHER], admin_principals=[admin])
    assert json.loads(result.stdout) == expected.build()
    assert f"arn:aws:iam::{OTHER}:root" in result.stdout


@pytest.mark.parametrize("side", ["source", "target"])
def test_iam_policies_are_required_iam_policy(side: str) -> None:
    key = f"arn:aws:kms:us-east-1:{SOURCE}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    scope = ["--cluster", "example-db"] if side == "source" else ["--restore-cluster", "example-db-2"]
    result = rdsshare(
        "policy", f"{side}-iam", "--source-account", SOURCE, "--target-account", TARGET, "--region", "us-east-1",
        *scope, "--source-kms-key-arn", key,
    )  # fmt: skip
    assert result.code == 0, result.stderr
    document = json.loads(result.stdout)
    assert document == required_iam_policy(
        "source" if side == "source" else "target",
        source_account_id=SOURCE,
        target_account_id=TARGET,
        region="us-east-1",
        cluster_ids=["example-db"] if side == "source" else (),
        restore_cluster_ids=["example-db-2"] if side == "target" else (),
        source_kms_key_arn=key,
    )
    assert document["Version"] == "2012-10-17"
    assert any(s["Sid"].startswith("Cleanup") for s in document["Statement"])


def test_iam_policies_take_several_regions() -> None:
    result = rdsshare(
        "policy", "target-iam", "--source-account", SOURCE, "--target-account", TARGET,
        "--region", "us-east-1", "--region", "us-west-2",
    )  # fmt: skip
    assert result.code == 0, result.stderr
    document = json.loads(result.stdout)
    assert document == required_iam_policy(
        "target", source_account_id=SOURCE, target_account_id=TARGET, region=("us-east-1", "us-west-2")
    )
    resources = {r for s in document["Statement"] for r in s["Resource"]}
    assert f"arn:aws:rds:us-east-1:{SOURCE}:cluster-snapshot:*" in resources  # shared from the source's region
    assert f"arn:aws:rds:us-west-2:{TARGET}:cluster:*" in resources  # restored in the target's


@pytest.mark.parametrize(
    ("side", "flag"),
    [("source", "--restore-cluster"), ("source", "--target-kms-key-arn"), ("target", "--cluster")],
)
def test_a_flag_of_the_other_side_is_refused_not_ignored(side: str, flag: str) -> None:
    result = rdsshare("policy", f"{side}-iam", "--source-account", SOURCE, "--target-account", TARGET, flag, "x")
    assert result.code == 2
    assert f"unrecognized arguments: {flag}" in result.stderr


def test_the_iam_policys_region_defaults_as_the_librarys() -> None:
    result = rdsshare("policy", "source-iam", "--source-account", SOURCE, "--target-account", TARGET)
    assert result.code == 0, result.stderr
    assert json.loads(result.stdout) == required_iam_policy(
        "source", source_account_id=SOURCE, target_account_id=TARGET
    )


def test_no_cleanup_and_json_mode() -> None:
    result = rdsshare(
        "policy", "target-iam", "--json", "--source-account", SOURCE, "--target-account", TARGET, "--region", "*",
        "--no-cleanup",
    )  # fmt: skip
    assert result.code == 0, result.stderr
    assert len(result.stdout.splitlines()) == 1  # --json: the same document on one line
    document = json.loads(result.stdout)
    assert not any(s["Sid"].startswith("Cleanup") for s in document["Statement"])
    assert document == required_iam_policy(
        "target", source_account_id=SOURCE, target_account_id=TARGET, include_cleanup=False
    )


@pytest.mark.parametrize(
    "argv",
    [
        ["policy", "key", "--source-account", "12345", "--target-account", TARGET],
        ["policy", "key", "--source-account", SOURCE, "--target-account", SOURCE],
        ["policy", "key", "--source-account", SOURCE, "--target-account", TARGET, "--admin", "*"],
        ["policy", "source-iam", "--source-account", SOURCE, "--target-account", "x", "--region", "us-east-1"],
        ["policy", "target-iam", "--source-account", SOURCE, "--target-account", TARGET, "--region", "us-east-1",
         "--restore-cluster", "Bad_Id"],
    ],
    ids=["short-account", "target-is-owner", "admin-star", "bad-target", "bad-cluster-id"],
)  # fmt: skip
def test_bad_input_is_one_line_and_exit_2(argv: list[str]) -> None:
    result = rdsshare(*argv)
    line = result.assert_one_line_error(2)
    assert "Fix:" in line
    assert result.stdout == ""


def test_usage_errors_exit_2() -> None:
    result = rdsshare("policy", "key", "--source-account", SOURCE)
    assert result.code == 2
    assert "--target-account" in result.stderr
    assert "Traceback" not in result.stderr
    assert rdsshare("frobnicate").code == 2


def test_help_and_version_exit_0() -> None:
    assert rdsshare("--version").code == 0
    result = rdsshare("share", "--help")
    assert result.code == 0
    for flag in ("--restore-cluster", "--dry-run", "--manifest", "--source-role", "--tag KEY=VALUE"):
        assert flag in result.stdout
    assert "--endpoint-url URL" in result.stdout  # documented: how to point the CLI at an emulator
