"""Crash and resume: interrupt the flow after every step (and mid-operation), rerun, same end state."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from rdsshare import (
    AccountSession,
    ClusterRestoreSpec,
    CredentialsExpiredError,
    Event,
    StepFinished,
    StepProgress,
    StepSkipped,
    set_testing,
    share_cluster_snapshot,
)
from rdsshare.testing import EmulatedAWS

from ..accounts import SOURCE, TARGET
from ..flow.helpers import restore_spec, sessions
from .state import fingerprint

STEPS = ["snapshot", "source-key", "copy", "share", "restore", "instances", "secret"]
_BASELINE: dict[str, Any] = {}


class Crash(Exception):
    """Raised from the progress hook to simulate a process dying after a step."""


@pytest.fixture(autouse=True)
def _fast() -> Iterator[None]:
    set_testing(True)
    yield
    set_testing(False)


def _seed(aws: EmulatedAWS) -> ClusterRestoreSpec:
    aws.create_cluster(SOURCE, "example-db")
    return restore_spec(aws)


def _share(aws: EmulatedAWS, spec: ClusterRestoreSpec, hook: Any = None) -> Any:
    source, target = sessions(aws)
    return share_cluster_snapshot(source=source, target=target, cluster_id="example-db", restore=spec, on_event=hook)


def _baseline() -> dict[str, Any]:
    if not _BASELINE:
        with EmulatedAWS() as aws:
            _share(aws, _seed(aws))
            _BASELINE.update(fingerprint(aws))
    return _BASELINE


def _crash_after(step: str, exc: BaseException) -> Any:
    def hook(event: Event) -> None:
        if isinstance(event, StepFinished | StepSkipped) and event.step == step:
            raise exc

    return hook


@pytest.mark.parametrize("interrupt", ["exception", "keyboard-interrupt"])
@pytest.mark.parametrize("step", STEPS)
def test_interrupt_after_each_step_then_rerun(step: str, interrupt: str) -> None:
    expected = _baseline()
    exc: BaseException = Crash(step) if interrupt == "exception" else KeyboardInterrupt()
    with EmulatedAWS() as aws:
        spec = _seed(aws)
        with pytest.raises(type(exc)):
            _share(aws, spec, _crash_after(step, exc))
        result = _share(aws, spec)
        assert fingerprint(aws) == expected
        # The rerun made nothing that the interrupted run had already made.
        again = _share(aws, spec)
        assert again.created == ()
        assert result.target_cluster_arn == again.target_cluster_arn


@pytest.mark.parametrize("step", ["snapshot", "copy", "restore", "instances", "secret"])
def test_interrupt_while_aws_is_still_working(step: str) -> None:
    """The interrupt lands while the snapshot/copy/restore is in progress on the AWS side."""
    set_testing(False)
    expected = _baseline()
    with EmulatedAWS(operation_seconds=0.5) as aws:
        spec = _seed(aws)

        def hook(event: Event) -> None:
            if isinstance(event, StepProgress) and event.step == step:
                raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):
            _share(aws, spec, hook)
        _share(aws, spec)
        assert fingerprint(aws) == expected


def _roles(aws: EmulatedAWS) -> None:
    """The roles the sessions assume exist, as in AWS (the share key's policy names the source one)."""
    admin = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    aws.role_session(SOURCE, "share", admin)
    aws.role_session(TARGET, "restore", admin)


def test_expired_token_refreshes_assumed_role_sessions(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("botocore.retries.standard.ExponentialBackoff.delay_amount", lambda self, context: 0.0)
    with EmulatedAWS() as aws:
        spec = _seed(aws)
        _roles(aws)
        source = AccountSession.from_role(
            f"arn:aws:iam::{SOURCE}:role/share", base=AccountSession(aws.session(SOURCE)), duration_seconds=3600
        )
        target = AccountSession.from_role(
            f"arn:aws:iam::{TARGET}:role/restore", base=AccountSession(aws.session(TARGET)), duration_seconds=3600
        )
        assert (source.account_id, target.account_id) == (SOURCE, TARGET)
        # The token expires during the long copy wait and again during the restore.
        aws.inject_fault("rds", "DescribeDBClusterSnapshots", "ExpiredToken", times=1, account_id=SOURCE)
        aws.inject_fault("rds", "DescribeDBClusters", "ExpiredToken", times=1, account_id=TARGET)
        result = share_cluster_snapshot(source=source, target=target, cluster_id="example-db", restore=spec)
        assert result.master_user_secret_arn
        # Both faults fired and the refreshed credentials carried on.
        expired = [c for c in aws.calls if c.failed_with == "ExpiredToken"]
        assert len(expired) == 2


def test_expired_static_credentials_fail_with_how_to_resume() -> None:
    with EmulatedAWS() as aws:
        spec = _seed(aws)
        source, target = sessions(aws)
        aws.inject_fault("rds", "RestoreDBClusterFromSnapshot", "ExpiredToken", times=10)
        with pytest.raises(CredentialsExpiredError) as info:
            share_cluster_snapshot(source=source, target=target, cluster_id="example-db", restore=spec)
        assert "rerun the same call" in str(info.value)
        assert info.value.account_id == TARGET
        aws.clear_faults()
        share_cluster_snapshot(source=source, target=target, cluster_id="example-db", restore=spec)
        assert fingerprint(aws) == _baseline_outside(aws)


def _baseline_outside(aws: EmulatedAWS) -> dict[str, Any]:
    # _baseline() needs its own test bed; the expected state is cached before this bed started.
    assert _BASELINE, "baseline must be computed before entering a test bed"
    return _BASELINE


@pytest.fixture(autouse=True, scope="module")
def _compute_baseline_first() -> None:
    set_testing(True)
    _baseline()
    set_testing(False)


def _share_keys(aws: EmulatedAWS) -> list[str]:
    """rdsshare's keys in the source account that are not pending deletion."""
    kms = aws.client(SOURCE, "kms")
    keys = []
    for entry in kms.list_keys()["Keys"]:
        meta = kms.describe_key(KeyId=entry["KeyId"])["KeyMetadata"]
        if meta.get("Description", "").startswith("rdsshare:") and meta["KeyState"] != "PendingDeletion":
            keys.append(meta["Arn"])
    return keys


@pytest.mark.parametrize("start", ["cluster", "snapshot"])
def test_crash_between_create_key_and_its_alias_then_rerun_adopts_the_key(start: str) -> None:
    """The one window where a key exists without its alias: the rerun finds it, and makes no second key."""
    with EmulatedAWS() as aws:
        spec = _seed(aws)
        source, target = sessions(aws)
        kwargs: dict[str, Any] = {"cluster_id": "example-db"}
        if start == "snapshot":
            rds = aws.client(SOURCE, "rds")
            rds.create_db_cluster_snapshot(DBClusterIdentifier="example-db", DBClusterSnapshotIdentifier="nightly")
            aws.finish_pending()
            kwargs = {"snapshot_id": "nightly"}
        aws.inject_fault("kms", "CreateAlias", "AccessDeniedException", times=1)
        with pytest.raises(Exception, match="AccessDenied"):
            share_cluster_snapshot(source=source, target=target, restore=spec, **kwargs)
        orphan = _share_keys(aws)
        assert len(orphan) == 1
        aws.clear_calls()
        result = share_cluster_snapshot(source=source, target=target, restore=spec, **kwargs)
        assert _share_keys(aws) == orphan == [result.source_kms_key_arn]
        assert any(c.operation == "ListKeys" for c in aws.calls), "the rerun looked for the orphan"


def test_a_first_run_from_a_cluster_does_not_read_every_key_of_the_account() -> None:
    """Nothing of this share existed, so no crashed run can have left a key behind: no ListKeys."""
    with EmulatedAWS() as aws:
        spec = _seed(aws)
        source, target = sessions(aws)
        share_cluster_snapshot(source=source, target=target, cluster_id="example-db", restore=spec)
        assert [c.operation for c in aws.calls if c.service == "kms" and c.operation.startswith("List")] == []


@pytest.mark.parametrize(
    ("service", "operation", "account"),
    [
        ("kms", "CreateKey", SOURCE),  # not retried by botocore: a lost response would make a second key
        ("rds", "ModifyDBCluster", TARGET),  # not retried by botocore: rdsshare looks before it retries
    ],
)
def test_expired_token_refreshes_also_on_calls_botocore_does_not_retry(
    monkeypatch: pytest.MonkeyPatch, service: str, operation: str, account: str
) -> None:
    monkeypatch.setattr("botocore.retries.standard.ExponentialBackoff.delay_amount", lambda self, context: 0.0)
    with EmulatedAWS() as aws:
        spec = _seed(aws)
        _roles(aws)
        source = AccountSession.from_role(f"arn:aws:iam::{SOURCE}:role/share", base=AccountSession(aws.session(SOURCE)))
        target = AccountSession.from_role(
            f"arn:aws:iam::{TARGET}:role/restore", base=AccountSession(aws.session(TARGET))
        )
        aws.inject_fault(service, operation, "ExpiredToken", times=1, account_id=account)
        result = share_cluster_snapshot(source=source, target=target, cluster_id="example-db", restore=spec)
        assert result.master_user_secret_arn
        calls = [c for c in aws.calls if c.operation == operation]
        assert [c.failed_with for c in calls][:2] == ["ExpiredToken", None]
