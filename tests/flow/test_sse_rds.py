"""An sse-rds source (every new Aurora cluster since 2026-02-18) whichever way AWS turns out to treat it.

No AWS document says whether RDS shares a snapshot encrypted with an AWS owned key (``sse-rds``) as it
is (docs/sources/aws-rules-2.md, "Aurora's default encryption"); the test bed has a switch for both. The
plan shares it as it is and also plans, and checks, one copy under the share key if RDS refuses; the run
takes that path only when RDS refuses.
"""

from __future__ import annotations

import pytest

from rdsshare import Plan, ShareJob, StepSkipped, set_testing, share_cluster_snapshot
from rdsshare._preflight._rekey import IF_REFUSED
from rdsshare.testing import EmulatedAWS

from ..accounts import SOURCE, TARGET
from .helpers import restore_spec, sessions


def _creates(aws: EmulatedAWS, operation: str) -> int:
    return sum(1 for c in aws.calls if c.operation == operation and c.failed_with is None)


def test_the_plan_shares_it_as_it_is_and_says_what_it_does_if_rds_refuses(aws: EmulatedAWS) -> None:
    aws.create_cluster(SOURCE, "example-db", encryption="sse-rds")
    source, target = sessions(aws)
    plan = share_cluster_snapshot(
        source=source, target=target, cluster_id="example-db", restore=restore_spec(aws), dry_run=True
    )
    assert plan.ok, plan
    decided = plan.decisions
    assert decided is not None
    assert (decided.copy, decided.grant_key, decided.shared_id) == (False, None, decided.start_id)
    fallback = decided.if_refused
    assert fallback is not None
    assert (fallback.copy, fallback.grant_key, fallback.copy_key) == (True, "share-key", "share-key")
    assert fallback.shared_id.endswith("-cmk")
    conditional = {(s.step, s.action) for s in plan.steps if s.reason.startswith(IF_REFUSED)}
    assert conditional == {("source-key", "create"), ("copy", "create"), ("share", "update")}
    assert "only if RDS refuses to share the sse-rds snapshot as it is" in str(plan)
    # A plan file keeps both paths.
    assert Plan.from_json(plan.to_json()).decisions == decided


@pytest.mark.parametrize("shareable", [True, False])
def test_the_run_is_right_either_way(aws: EmulatedAWS, shareable: bool) -> None:
    aws.sse_rds_shareable = shareable
    aws.create_cluster(SOURCE, "example-db", encryption="sse-rds")
    source, target = sessions(aws)
    events: list[object] = []
    result = share_cluster_snapshot(
        source=source,
        target=target,
        cluster_id="example-db",
        restore=restore_spec(aws),
        on_event=events.append,
    )
    refused = [e for e in events if isinstance(e, StepSkipped) and e.step == "share"]
    restored = aws.client(TARGET, "rds").describe_db_clusters(DBClusterIdentifier="example-db-2")["DBClusters"][0]
    assert restored["Status"] == "available"
    # The same database either way: under the target's own key, which the source can never break.
    assert restored["StorageEncryptionType"] == "sse-kms"
    assert restored["KmsKeyId"].split(":")[4] == TARGET
    if shareable:
        assert result.data_copies == 0
        assert refused == []
        assert _creates(aws, "CreateKey") == 0  # no customer key was needed
        assert _creates(aws, "CopyDBClusterSnapshot") == 0
    else:
        assert result.data_copies == 1
        [event] = refused
        assert "refused" in event.reason
        assert _creates(aws, "CopyDBClusterSnapshot") == 1
        assert result.shared_snapshot_arn.endswith("-cmk")
        assert result.source_kms_key_arn is not None
        assert result.source_kms_key_arn.split(":")[4] == SOURCE


def test_a_job_continued_from_its_json_takes_the_same_path(aws: EmulatedAWS) -> None:
    aws.sse_rds_shareable = False
    aws.create_cluster(SOURCE, "example-db", encryption="sse-rds")
    source, target = sessions(aws)
    job = ShareJob.start(source=source, target=target, cluster_id="example-db", restore=restore_spec(aws))
    with set_testing():
        for _ in range(500):
            if job.advance().done:
                break
            job = ShareJob.from_json(job.to_json(), source=source, target=target)
    assert job.done
    assert job.result.data_copies == 1
    assert _creates(aws, "CopyDBClusterSnapshot") == 1
    assert _creates(aws, "RestoreDBClusterFromSnapshot") == 1


def test_a_refusal_path_that_could_not_work_is_a_plan_problem(aws: EmulatedAWS) -> None:
    # Room for this run's own snapshot, but not for the copy the refusal path would need: a run that
    # the plan calls OK must be able to finish whichever way RDS answers.
    aws.create_cluster(SOURCE, "example-db", encryption="sse-rds")
    aws.manual_snapshot_quota = 1
    source, target = sessions(aws)
    plan = share_cluster_snapshot(
        source=source, target=target, cluster_id="example-db", restore=restore_spec(aws), dry_run=True
    )
    assert not plan.ok
    [problem] = plan.problems
    assert problem.check == "quota"
    assert "needs 2 more" in problem.message
