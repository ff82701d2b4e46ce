"""The resumable job: advanced piece by piece, saved as JSON, continued in another process.

A job advanced step by step, across two processes, must end where one blocking call ends, with the
same AWS calls apart from polls; its JSON holds no secret; a job for other accounts is refused.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from rdsshare import (
    ClusterRestoreSpec,
    InputError,
    PreflightError,
    RdsShareError,
    ShareJob,
    ShareResult,
    set_testing,
    share_cluster_snapshot,
)
from rdsshare.testing import EmulatedAWS

from ..accounts import SOURCE, TARGET
from .helpers import restore_spec, sessions

REGION = "us-east-1"
#: the describe calls a wait repeats: their number depends on how long AWS takes, not on the job
POLLS = {"DescribeDBClusterSnapshots", "DescribeDBClusters", "DescribeDBInstances"}


def _calls(aws: EmulatedAWS) -> Counter[str]:
    return Counter(f"{c.service}:{c.operation}" for c in aws.calls if c.service != "sts")


def _without_polls(calls: Counter[str]) -> Counter[str]:
    return Counter({op: n for op, n in calls.items() if op.split(":", 1)[1] not in POLLS})


def _shape(result: ShareResult) -> dict[str, Any]:
    """The result without what differs from bed to bed (key ids, run tokens, timestamps)."""
    keyless: dict[str, Any] = {
        "target_cluster_arn": result.target_cluster_arn,
        "shared_snapshot_arn": result.shared_snapshot_arn,
        "source_snapshot_arn": result.source_snapshot_arn,
        "instance_arns": result.instance_arns,
        "data_copies": result.data_copies,
        "created": len(result.created),
        "adopted": result.adopted,
        "secret": result.master_user_secret_arn is not None,
        "target_key_is_target_owned": (result.target_kms_key_arn or "").split(":")[4] == TARGET,
    }
    assert result.manifest is not None
    keyless["manifest"] = sorted((e.kind, e.role, e.account_id, e.created) for e in result.manifest.entries)
    return keyless


def _advance_until_done(job: ShareJob) -> None:
    while not job.advance().done:
        pass


def _seed(aws: EmulatedAWS) -> ClusterRestoreSpec:
    aws.create_cluster(SOURCE, "example-db")
    return restore_spec(aws)


def test_advance_returns_at_each_wait_and_ends_where_the_blocking_call_ends() -> None:
    with EmulatedAWS(region=REGION) as blocking_bed:
        spec = _seed(blocking_bed)
        source, target = sessions(blocking_bed)
        blocking = share_cluster_snapshot(source=source, target=target, cluster_id="example-db", restore=spec)
        blocking_calls = _calls(blocking_bed)

    with EmulatedAWS(region=REGION) as bed:
        spec = _seed(bed)
        bed.operation_seconds = 0.05  # every AWS operation takes a moment: the job has to come back
        source, target = sessions(bed)
        seeded = len(bed.calls)
        job = ShareJob.start(source=source, target=target, cluster_id="example-db", restore=spec)
        assert job.phase == "plan"
        assert all(c.service == "sts" for c in bed.calls[seeded:])  # nothing else is called before advance()
        phases: list[str] = []
        while True:
            step = job.advance()
            phases.append(step.phase)
            if step.done:
                break
            assert step.wait_seconds > 0  # when to come back; this test comes back at once
            # Between two calls the job is only its JSON: continue from it, as another process would.
            job = ShareJob.from_json(job.to_json(), source=source, target=target)
        assert {"snapshot", "copy", "targets"} <= set(phases)  # it came back during each long wait
        assert _shape(job.result) == _shape(blocking)
        assert _without_polls(_calls(bed)) == _without_polls(blocking_calls)


def test_a_job_saved_mid_copy_is_finished_by_another_process(tmp_path: Path) -> None:
    with EmulatedAWS(region=REGION) as blocking_bed:
        spec = _seed(blocking_bed)
        source, target = sessions(blocking_bed)
        blocking = share_cluster_snapshot(source=source, target=target, cluster_id="example-db", restore=spec)
        blocking_calls = _calls(blocking_bed)

    with EmulatedAWS(server=True, region=REGION) as bed:
        spec = _seed(bed)
        bed.operation_seconds = 1.0
        source, target = sessions(bed)
        job = ShareJob.start(source=source, target=target, cluster_id="example-db", restore=spec)
        while job.phase != "copy":
            assert not job.advance().done
        assert not job.advance().done  # the copy is under way: AWS works, nobody waits
        saved = tmp_path / "job.json"
        saved.write_text(job.to_json())
        state = json.loads(saved.read_text())
        assert state["phase"] == "copy"
        assert state["waits"]
        del job  # this process stops here

        script = textwrap.dedent(
            """
            import json, sys
            from rdsshare import AccountSession, ShareJob
            from rdsshare._api import run_to_end

            endpoint, path = sys.argv[1], sys.argv[2]
            source = AccountSession.from_profile("src", region="us-east-1", endpoint_url=endpoint)
            target = AccountSession.from_profile("tgt", region="us-east-1", endpoint_url=endpoint)
            with open(path) as fh:
                job = ShareJob.from_json(fh.read(), source=source, target=target)
            result = run_to_end(job)
            with open(path, "w") as fh:
                fh.write(job.to_json())
            print(json.dumps({"cluster": result.target_cluster_arn, "secret": result.master_user_secret_arn}))
            """
        )
        env = {**os.environ, **_profiles(bed, tmp_path)}
        assert bed.endpoint_url is not None
        proc = subprocess.run(
            [sys.executable, "-c", script, bed.endpoint_url, str(saved)],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert proc.returncode == 0, proc.stderr
        printed = json.loads(proc.stdout)
        assert printed["cluster"] == blocking.target_cluster_arn
        assert printed["secret"]

        # Back in this process, the finished job reads as done, with the blocking call's result.
        done = ShareJob.from_json(saved.read_text(), source=source, target=target)
        assert done.done
        assert _shape(done.result) == _shape(blocking)
        assert _without_polls(_calls(bed)) == _without_polls(blocking_calls)
        rds = bed.client(TARGET, "rds")
        assert [c["DBClusterIdentifier"] for c in rds.describe_db_clusters()["DBClusters"]] == ["example-db-2"]
        copies = bed.client(SOURCE, "rds").describe_db_cluster_snapshots(SnapshotType="manual")["DBClusterSnapshots"]
        assert len(copies) == 2  # one snapshot, one copy: nothing made twice


def _profiles(aws: EmulatedAWS, tmp_path: Path) -> dict[str, str]:
    """An AWS config with profiles ``src`` and ``tgt`` for the bed's two accounts."""
    text = ""
    for name, account in (("src", SOURCE), ("tgt", TARGET)):
        creds = aws.session(account).get_credentials()
        assert creds is not None
        frozen = creds.get_frozen_credentials()
        text += (
            f"[profile {name}]\naws_access_key_id = {frozen.access_key}\n"
            f"aws_secret_access_key = {frozen.secret_key}\naws_session_token = {frozen.token}\n"
            f"region = {REGION}\n\n"
        )
    config = tmp_path / "aws-config"
    config.write_text(text)
    empty = tmp_path / "aws-credentials"
    empty.write_text("")
    return {"AWS_CONFIG_FILE": str(config), "AWS_SHARED_CREDENTIALS_FILE": str(empty)}


def test_the_job_file_holds_no_secret_and_names_what_it_made(aws: EmulatedAWS) -> None:
    spec = _seed(aws)
    source, target = sessions(aws)
    job = ShareJob.start(source=source, target=target, cluster_id="example-db", restore=spec)
    while not job.advance().done:
        pass
    text = job.to_json()
    state = json.loads(text)
    assert (state["format"], state["version"], state["phase"]) == ("rdsshare-job", 1, "done")
    assert state["request"]["restore"][TARGET]["cluster_id"] == "example-db-2"
    assert "SecretString" not in text
    assert "aws_secret_access_key" not in text.lower()
    for account in (SOURCE, TARGET):
        creds = aws.session(account).get_credentials()
        assert creds is not None
        frozen = creds.get_frozen_credentials()
        assert str(frozen.secret_key) not in text
        assert str(frozen.token or "-") not in text
    # The manifest a cleanup needs comes from the job as it comes from the result.
    assert job.manifest().to_dict()["entries"] == job.result.manifest.to_dict()["entries"]  # type: ignore[union-attr]


def test_a_job_refuses_sessions_of_other_accounts_and_other_files(aws: EmulatedAWS) -> None:
    spec = _seed(aws)
    source, target = sessions(aws)
    job = ShareJob.start(source=source, target=target, cluster_id="example-db", restore=spec)
    with pytest.raises(InputError, match="this job is for"):
        ShareJob.from_json(job.to_json(), source=target, target=source)
    with pytest.raises(InputError, match="not an rdsshare job"):
        ShareJob.from_json('{"format": "rdsshare-plan"}', source=source, target=target)
    with pytest.raises(InputError, match="job version"):
        ShareJob.from_json(json.dumps({**json.loads(job.to_json()), "version": 99}), source=source, target=target)
    with pytest.raises(InputError, match="not done"):
        _ = job.result
    with pytest.raises(InputError, match="kind must be"):
        ShareJob.start(source=source, target=target, kind="table", cluster_id="example-db")


def test_a_job_with_problems_stops_at_its_plan_before_any_write(aws: EmulatedAWS) -> None:
    source, target = sessions(aws)  # no cluster example-db in the source
    job = ShareJob.start(source=source, target=target, cluster_id="example-db")
    with pytest.raises(PreflightError) as raised:
        job.advance()
    assert raised.value.manifest is not None
    assert raised.value.manifest.entries == ()
    assert job.phase == "plan"
    assert job.plan is not None
    assert not job.plan.ok


def test_a_failed_piece_is_tried_again_by_the_next_advance(aws: EmulatedAWS) -> None:
    spec = _seed(aws)
    source, target = sessions(aws)
    aws.inject_fault("rds", "RestoreDBClusterFromSnapshot", "InvalidParameterValue", times=1)
    job = ShareJob.start(source=source, target=target, cluster_id="example-db", restore=spec)
    with pytest.raises(RdsShareError, match="InvalidParameterValue"):
        _advance_until_done(job)
    assert job.phase == "targets"
    resumed = ShareJob.from_json(job.to_json(), source=source, target=target)
    while not resumed.advance().done:
        pass
    assert resumed.result.target_cluster_arn is not None
    clusters = aws.client(TARGET, "rds").describe_db_clusters()["DBClusters"]
    assert [c["DBClusterIdentifier"] for c in clusters] == ["example-db-2"]
    snaps = aws.client(SOURCE, "rds").describe_db_cluster_snapshots(SnapshotType="manual")["DBClusterSnapshots"]
    assert len(snaps) == 2


def test_the_facade_waits_as_long_as_the_job_asks(aws: EmulatedAWS, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without set_testing, the blocking call sleeps the job's wait_seconds between advances."""
    spec = _seed(aws)
    aws.operation_seconds = 0.3
    source, target = sessions(aws)
    slept: list[float] = []
    import time

    monkeypatch.setattr(time, "sleep", slept.append)
    with set_testing(False):
        share_cluster_snapshot(source=source, target=target, cluster_id="example-db", restore=spec)
    assert slept
    assert all(s >= 0.5 for s in slept)
