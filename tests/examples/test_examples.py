"""Run every example the docs include against the test bed, so the docs cannot drift from the code.

Also checks that each file under examples/ is included in a page, and that every ``rdsshare`` command
line shown in the docs is one the command accepts.
"""

from __future__ import annotations

import json
import logging
import re
import shlex
import subprocess
import sys
from datetime import timedelta
from io import StringIO
from pathlib import Path

import attrs
import pytest

from examples import (
    bring_your_own_key,
    handle_errors,
    nightly_refresh,
    on_event_progress,
    plan_files,
    resumable_job,
    share_between_profiles,
    share_with_roles,
    terraform_policies,
)
from rdsshare import AccountSession, ClusterRestoreSpec, CmkPolicyBuilder, WaitPolicy, WaitTimeoutError
from rdsshare._cli import build_parser
from rdsshare.testing import EmulatedAWS

from ..accounts import OTHER, SOURCE, TARGET

ADMIN = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
DOCS = ROOT / "docs"


def _sessions(aws: EmulatedAWS) -> tuple[AccountSession, AccountSession]:
    return (
        AccountSession(aws.session(SOURCE), endpoint_url=aws.endpoint_url),
        AccountSession(aws.session(TARGET), endpoint_url=aws.endpoint_url),
    )


def _restore(aws: EmulatedAWS) -> ClusterRestoreSpec:
    net = aws.create_network(TARGET, "example-db-2")
    return ClusterRestoreSpec(
        cluster_id="example-db-2",
        instance_class="db.t3.medium",
        subnet_group=net.subnet_group,
        security_group_ids=[net.security_group_id],
    )


def _mutating(aws: EmulatedAWS) -> list[str]:
    prefixes = ("Create", "Copy", "Modify", "Restore", "Delete", "Put", "Add", "Schedule", "Tag")
    return [f"{c.service}:{c.operation}" for c in aws.calls if c.operation.startswith(prefixes)]


# -- quickstart ------------------------------------------------------------------------------------
def test_share_between_profiles(aws: EmulatedAWS) -> None:
    aws.create_cluster(SOURCE, "example-db")
    net = aws.create_network(TARGET, "example-db-2")
    source, target = _sessions(aws)
    result = share_between_profiles.share(
        source, target, subnet_group=net.subnet_group, security_group_ids=[net.security_group_id]
    )
    assert result.data_copies == 1
    assert result.target_cluster_arn is not None
    assert result.target_cluster_arn.endswith(":cluster:example-db-2")
    assert result.target_kms_key_arn is not None
    assert result.target_kms_key_arn.split(":")[4] == TARGET
    assert result.master_user_secret_arn is not None
    aws.client(TARGET, "secretsmanager").describe_secret(SecretId=result.master_user_secret_arn)


def test_share_with_roles(aws: EmulatedAWS) -> None:
    aws.create_cluster(SOURCE, "example-db")
    for account, role in ((SOURCE, "rdsshare-source"), (TARGET, "rdsshare-target")):
        aws.role_session(account, role, ADMIN)  # the roles exist, as in AWS (the share key's policy names one)
    tools = AccountSession(aws.session(OTHER), endpoint_url=aws.endpoint_url)  # e.g. a CI runner's account
    source, target = share_with_roles.sessions_from_roles(
        f"arn:aws:iam::{SOURCE}:role/rdsshare-source",
        f"arn:aws:iam::{TARGET}:role/rdsshare-target",
        region=aws.region,
        base=tools,
    )
    assert (source.account_id, target.account_id) == (SOURCE, TARGET)
    result = share_with_roles.share_only(source, target, "example-db")
    assert result.target_cluster_arn is None
    shared = aws.client(TARGET, "rds").describe_db_cluster_snapshots(SnapshotType="shared")["DBClusterSnapshots"]
    assert [s["DBClusterSnapshotArn"] for s in shared] == [result.shared_snapshot_arn]


def test_on_event_progress(aws: EmulatedAWS) -> None:
    aws.create_cluster(SOURCE, "example-db")
    restore = _restore(aws)
    aws.operation_seconds = 0.3  # long enough for a few polls of each step
    out = StringIO()
    result = on_event_progress.share_with_progress(
        *_sessions(aws), restore, stream=out, wait=WaitPolicy(min_interval_seconds=0.05, jitter=0)
    )
    lines = out.getvalue().splitlines()
    assert any(f"[{SOURCE}] copy" in line and "copying" in line for line in lines), lines
    assert any(f"[{TARGET}] restore" in line and "created" in line for line in lines), lines
    assert lines[-1].startswith("done: {")
    assert "'created'" in lines[-1]
    assert result.target_cluster_arn is not None


def test_patient_wait_policy() -> None:
    assert on_event_progress.PATIENT.timeout == timedelta(hours=6)


# -- testing your own code ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("module", "tests"), [("test_with_emulated_aws.py", 4), ("test_iam_and_keys_on_the_bed.py", 3)]
)
def test_the_example_test_modules_pass(module: str, tests: int) -> None:
    """The examples that are pytest modules pass when run the way a user would run them."""
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(EXAMPLES / module)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(rf"\b{tests} passed\b", done.stdout), done.stdout


# -- terraform and automation ---------------------------------------------------------------------------
def test_terraform_policy_files(tmp_path: Path) -> None:
    written = terraform_policies.write_policies(
        tmp_path, source_account_id=SOURCE, target_account_id=TARGET, region="us-east-1"
    )
    names = {p.name for p in written}
    assert names == {"key-policy.json", "source-iam-policy.json.tftpl", "target-iam-policy.json.tftpl"}
    key_policy = json.loads((tmp_path / "key-policy.json").read_text())
    assert key_policy == CmkPolicyBuilder(owner_account_id=SOURCE, target_account_ids=[TARGET]).build()
    for name in ("source-iam-policy.json.tftpl", "target-iam-policy.json.tftpl"):
        text = (tmp_path / name).read_text()
        # Only the placeholder is a Terraform template expression.
        assert re.findall(r"[$%]\{[^}]*\}", text) == ["${source_kms_key_arn}"] * text.count("${")
        assert "${source_kms_key_arn}" in text
        json.loads(text.replace("${source_kms_key_arn}", "arn:aws:kms:us-east-1:111111111111:key/x"))

    # main.tf reads exactly the files the script writes.
    main_tf = (EXAMPLES / "terraform" / "main.tf").read_text()
    assert set(re.findall(r'policies/([\w.-]+)"', main_tf)) == names


def test_bring_your_own_key_changes_no_key_policy(aws: EmulatedAWS) -> None:
    """A key whose policy came from the generated key-policy.json is used as it is: no Terraform drift."""
    documents = terraform_policies.policy_documents(
        source_account_id=SOURCE, target_account_id=TARGET, region=aws.region
    )
    kms = aws.client(SOURCE, "kms")
    key = kms.create_key(Policy=json.dumps(documents["key-policy.json"]))["KeyMetadata"]
    kms.create_alias(AliasName=bring_your_own_key.TEAM_KEY, TargetKeyId=key["KeyId"])
    aws.create_cluster(SOURCE, "example-db")
    restore = _restore(aws)
    aws.clear_calls()
    result = bring_your_own_key.share_under_team_key(*_sessions(aws), restore)
    assert result.source_kms_key_arn == key["Arn"]
    assert result.target_cluster_arn is not None
    assert not [c for c in _mutating(aws) if c.startswith("kms:")]


def test_bring_your_own_key_refuses_a_key_without_the_grant(aws: EmulatedAWS) -> None:
    kms = aws.client(SOURCE, "kms")
    key = kms.create_key(Description="not granted")["KeyMetadata"]
    kms.create_alias(AliasName=bring_your_own_key.TEAM_KEY, TargetKeyId=key["KeyId"])
    aws.create_cluster(SOURCE, "example-db")
    aws.clear_calls()
    with pytest.raises(RuntimeError, match="does not grant 222222222222"):
        bring_your_own_key.share_under_team_key(*_sessions(aws))
    assert _mutating(aws) == []


def test_nightly_refresh_keeps_the_name_each_night_and_resumes_a_killed_night(aws: EmulatedAWS, tmp_path: Path) -> None:
    aws.create_cluster(SOURCE, "example-db")
    restore = attrs.evolve(_restore(aws), replace=True)
    source, target = _sessions(aws)
    state = tmp_path / "refresh.json"
    rds = aws.client(TARGET, "rds")
    ids = []
    for _night in range(2):
        done = nightly_refresh.refresh(
            source, target, state_file=state, restore=restore, cluster_id="example-db", sleep=lambda _s: None
        )
        [cluster] = rds.describe_db_clusters()["DBClusters"]
        assert cluster["DBClusterIdentifier"] == "example-db-2"
        assert done.target_cluster_arn == cluster["DBClusterArn"]
        ids.append(cluster["DbClusterResourceId"])
        assert not state.exists()
    assert ids[0] != ids[1]
    assert done.targets[0].replaced_arn is not None  # the first night's database, as a final snapshot

    # A night killed during the swap: the next start continues that run from its file.
    aws.operation_seconds = 0.05

    def killed(_seconds: float) -> None:
        if '"swap"' in state.read_text() and "-old-" in json.dumps(
            rds.describe_db_clusters()["DBClusters"], default=str
        ):
            raise KeyboardInterrupt  # between the two renames: no database holds the name

    with pytest.raises(KeyboardInterrupt):
        nightly_refresh.refresh(
            source, target, state_file=state, restore=restore, cluster_id="example-db", sleep=killed
        )
    assert state.exists()
    nightly_refresh.refresh(
        source, target, state_file=state, restore=restore, cluster_id="example-db", sleep=lambda _s: None
    )
    [cluster] = rds.describe_db_clusters()["DBClusters"]
    assert cluster["DBClusterIdentifier"] == "example-db-2"
    assert cluster["DbClusterResourceId"] not in ids


def test_resumable_job_finishes_over_several_invocations(aws: EmulatedAWS) -> None:
    aws.create_cluster(SOURCE, "example-db")
    restore = _restore(aws)
    source, target = _sessions(aws)
    aws.operation_seconds = 3600.0  # every long operation outlasts an invocation
    statuses = []
    state = None
    for _ in range(25):
        status = resumable_job.advance(
            source, target, job_state=state, cluster_id="example-db", restore=restore, run_name="migration-1"
        )
        statuses.append(status)
        if status["status"] == "done":
            break
        assert 5 <= status["wait_seconds"] <= 300
        state = status["job"]  # all the next invocation gets
        aws.finish_pending()  # time passes between invocations
    assert statuses[0]["status"] == "in-progress"
    assert statuses[0]["phase"] == "snapshot"
    assert {"copy", "targets"} <= {s["phase"] for s in statuses}
    assert statuses[-1]["status"] == "done"
    assert statuses[-1]["target_cluster_arn"].endswith(":cluster:example-db-2")
    made = aws.client(SOURCE, "rds").describe_db_cluster_snapshots(SnapshotType="manual")["DBClusterSnapshots"]
    assert len(made) == 2  # one snapshot and one copy, over all the invocations


def test_resumable_job_lambda_handler(aws: EmulatedAWS) -> None:
    aws.create_cluster(SOURCE, "example-db")
    for account, role in ((SOURCE, "rdsshare-source"), (TARGET, "rdsshare-target")):
        aws.role_session(account, role, ADMIN)  # the roles exist, as in AWS (the share key's policy names one)
    net = aws.create_network(TARGET, "example-db-2")
    event = {
        "region": aws.region,
        "source_role_arn": f"arn:aws:iam::{SOURCE}:role/rdsshare-source",
        "target_role_arn": f"arn:aws:iam::{TARGET}:role/rdsshare-target",
        "cluster_id": "example-db",
        "run_name": "migration-1",
        "restore": {
            "cluster_id": "example-db-2",
            "instance_class": "db.t3.medium",
            "subnet_group": net.subnet_group,
            "security_group_ids": [net.security_group_id],
        },
    }
    out = resumable_job.handler(event, None)
    while out["status"] != "done":  # Step Functions' loop, without its Wait state
        out = resumable_job.handler(out, None)
    assert out["target_cluster_arn"].endswith(":cluster:example-db-2")


def test_plan_files_save_then_apply(aws: EmulatedAWS, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="migration")
    aws.create_cluster(SOURCE, "example-db")
    restore = _restore(aws)
    source, target = _sessions(aws)
    path = tmp_path / "plan.json"
    plan = plan_files.save_plan(source, target, cluster_id="example-db", restore=restore, path=path)
    assert plan.ok
    assert "restore     create  example-db-2" in caplog.text
    result = plan_files.apply_saved(path, source, target)
    assert result is not None
    assert result.target_cluster_arn is not None
    # Applied again, the plan no longer holds (everything exists now): refused, nothing changed.
    assert plan_files.apply_saved(path, source, target) is None
    assert "changed since the review: snapshot" in caplog.text


# -- troubleshooting ---------------------------------------------------------------------------------
def test_handle_errors_reports_step_code_and_fix(aws: EmulatedAWS, caplog: pytest.LogCaptureFixture) -> None:
    aws.create_cluster(SOURCE, "example-db")
    source, target = _sessions(aws)
    # AWS refuses the copy the way it refuses a key the caller may not use.
    aws.inject_fault("rds", "CopyDBClusterSnapshot", "KMSKeyNotAccessibleFault")
    with caplog.at_level(logging.ERROR, logger="migration"):
        status = handle_errors.share(source, target, cluster_id="example-db", source_kms_key=None)
    assert status == 1
    assert "  step            copy" in caplog.text
    assert "  AWS error code  KMSKeyNotAccessibleFault" in caplog.text
    assert "  fix " in caplog.text


def test_handle_errors_bad_input_is_status_2(aws: EmulatedAWS) -> None:
    aws.create_cluster(SOURCE, "example-db")
    source, target = _sessions(aws)
    aws.clear_calls()
    assert handle_errors.share(source, target, cluster_id="Bad_Id", source_kms_key=None) == 2
    assert _mutating(aws) == []


def test_explain_a_timeout() -> None:
    error = WaitTimeoutError("x not ready", step="copy", account_id=SOURCE, resource="x", fix="rerun")
    report = handle_errors.explain(error)
    assert report.splitlines()[:3] == [
        "rdsshare failed: x not ready",
        "  step            copy",
        f"  account         {SOURCE}",
    ]
    assert "run the same call again" in report


# -- the docs themselves -------------------------------------------------------------------------------
def _pages() -> dict[str, str]:
    return {p.name: p.read_text() for p in DOCS.glob("*.md")}


def test_every_example_is_in_the_docs_and_every_include_exists() -> None:
    included = set()
    for text in _pages().values():
        included |= set(re.findall(r'--8<-- "([^"]+)"', text))
    for path in included:
        assert (ROOT / path).is_file(), path
    examples = {str(p.relative_to(ROOT)) for p in EXAMPLES.rglob("*") if p.suffix in (".py", ".tf")}
    examples.discard("examples/__init__.py")
    assert examples - included == set()


def _command_lines() -> list[str]:
    """Every ``rdsshare ...`` / ``python -m rdsshare ...`` command in the pages' shell blocks."""
    commands = []
    for name, text in sorted(_pages().items()):
        for block in re.findall(r"```(?:bash|console|sh)[^\n]*\n(.*?)```", text, flags=re.DOTALL):
            for line in block.replace("\\\n", " ").splitlines():
                lexer = shlex.shlex(line.strip().removeprefix("$ "), posix=True, punctuation_chars=True)
                lexer.whitespace_split = True
                lexer.commenters = "#"
                tokens = [*lexer, ";"]
                words: list[str] = []
                for token in tokens:
                    if token in ("&&", "||", ";", "|", "&"):
                        words = [w for w in words if not re.match(r"^[A-Z_]+=", w)]
                        if words and (words[0] == "rdsshare" or words[0].endswith("/rdsshare")):
                            commands.append(f"{name}: {shlex.join(words[1:])}")
                        elif words and words[0].endswith(("python", "python3")) and words[1:3] == ["-m", "rdsshare"]:
                            commands.append(f"{name}: {shlex.join(words[3:])}")
                        words = []
                    elif token in (">", ">>", "<", "2>"):
                        words.append(token)  # the redirection and its target are dropped below
                    elif words and words[-1] in (">", ">>", "<", "2>"):
                        words.pop()
                    else:
                        words.append(token)
    return commands


COMMANDS = _command_lines()


@pytest.mark.parametrize("command", COMMANDS, ids=COMMANDS)
def test_command_lines_in_the_docs_parse(command: str) -> None:
    argv = shlex.split(command.split(": ", 1)[1])
    if "--help" in argv:
        return
    build_parser().parse_args(argv)


def test_the_docs_show_command_lines() -> None:
    assert len(COMMANDS) >= 4
