"""``cleanup="intermediates"``: the run's own snapshot goes as soon as its copy is available.

A default-key (``aws/rds``) cluster is snapshotted, and the snapshot copied under the share key; from
then on only the copy is needed (it is what the target restores from). The snapshot is deleted right
then, not hours later once the restores are up, so that a batch holds one manual snapshot per item
for most of its run instead of two. A rerun that finds the copy and not the snapshot goes on from the
copy instead of snapshotting the cluster again.
"""

from __future__ import annotations

import time

from rdsshare import CopySlots, ShareJob, share_cluster_snapshot
from rdsshare.testing import EmulatedAWS

from ..accounts import SOURCE, TARGET
from .helpers import restore_spec, sessions

RUN = "nightly"
SNAPSHOT = "rdsshare-example-db-nightly"


def _order(aws: EmulatedAWS) -> list[str]:
    return [
        c.operation
        for c in aws.calls
        if c.failed_with is None
        and c.operation in ("CreateDBClusterSnapshot", "DeleteDBClusterSnapshot", "RestoreDBClusterFromSnapshot")
    ]


def _manual(aws: EmulatedAWS) -> list[str]:
    rds = aws.client(SOURCE, "rds")
    snaps = rds.describe_db_cluster_snapshots(SnapshotType="manual")["DBClusterSnapshots"]
    return sorted(s["DBClusterSnapshotIdentifier"] for s in snaps)


def test_the_runs_snapshot_is_deleted_before_the_restore_starts(aws: EmulatedAWS) -> None:
    aws.create_cluster(SOURCE, "example-db")
    source, target = sessions(aws)
    result = share_cluster_snapshot(
        source=source,
        target=target,
        cluster_id="example-db",
        run_name=RUN,
        restore=restore_spec(aws),
        cleanup="intermediates",
    )
    # The snapshot goes before the restore starts; the copy at the end, once the restore is up.
    assert _order(aws) == [
        "CreateDBClusterSnapshot",
        "DeleteDBClusterSnapshot",
        "RestoreDBClusterFromSnapshot",
        "DeleteDBClusterSnapshot",
    ]
    assert _manual(aws) == []
    report = result.cleanup_report
    assert report is not None
    (own,) = [a for a in report.actions if a.resource == result.source_snapshot_arn]
    assert (own.action, own.status, own.reason) == (
        "delete-snapshot",
        "done",
        "deleted as soon as its copy was available",
    )
    assert aws.client(TARGET, "rds").describe_db_clusters(DBClusterIdentifier="example-db-2")["DBClusters"]


def test_without_cleanup_the_snapshot_stays(aws: EmulatedAWS) -> None:
    aws.create_cluster(SOURCE, "example-db")
    source, target = sessions(aws)
    share_cluster_snapshot(
        source=source, target=target, cluster_id="example-db", run_name=RUN, restore=restore_spec(aws)
    )
    assert _order(aws) == ["CreateDBClusterSnapshot", "RestoreDBClusterFromSnapshot"]
    assert SNAPSHOT in _manual(aws)


def test_a_snapshot_that_is_shared_itself_stays_until_the_restore_is_up(aws: EmulatedAWS) -> None:
    """A CMK snapshot is shared as it is: it is the copy, so it goes at the end, after the restore."""
    key = aws.client(SOURCE, "kms").create_key()["KeyMetadata"]["Arn"]
    aws.create_cluster(SOURCE, "example-db", kms_key_id=key)
    source, target = sessions(aws)
    share_cluster_snapshot(
        source=source,
        target=target,
        cluster_id="example-db",
        run_name=RUN,
        restore=restore_spec(aws),
        cleanup="intermediates",
    )
    assert _order(aws) == [
        "CreateDBClusterSnapshot",
        "RestoreDBClusterFromSnapshot",
        "DeleteDBClusterSnapshot",
    ]


def test_a_rerun_after_the_early_deletion_goes_on_from_the_copy(aws: EmulatedAWS) -> None:
    """The process died after the copy, its job state lost: a fresh run of the same name does not snapshot
    the cluster again (the plan says why), restores from the copy, and leaves nothing behind."""
    aws.create_cluster(SOURCE, "example-db")
    source, target = sessions(aws)
    spec = restore_spec(aws)
    job = ShareJob.start(
        source=source, target=target, cluster_id="example-db", run_name=RUN, restore=spec, cleanup="intermediates"
    )
    aws.operation_seconds = 0.05  # the restore takes a moment: the job comes back during its wait
    for _ in range(1000):
        if job.phase not in ("plan", "snapshot", "key", "copy"):
            break
        time.sleep(min(job.advance().wait_seconds, 0.01))
    assert job.phase == "targets"
    assert SNAPSHOT not in _manual(aws)  # deleted with the copy's end; the job is then dropped
    aws.clear_calls()

    plan = share_cluster_snapshot(
        source=source, target=target, cluster_id="example-db", run_name=RUN, restore=spec, dry_run=True
    )
    (step,) = [s for s in plan.steps if s.step == "snapshot"]
    assert step.action == "skip"
    assert "deleted once its copy" in step.reason
    assert plan.decisions is not None
    assert plan.decisions.start_gone
    result = share_cluster_snapshot(
        source=source, target=target, cluster_id="example-db", run_name=RUN, restore=spec, cleanup="intermediates"
    )
    # No second snapshot or copy; the restore the first run had started is adopted; the copy goes at the end.
    assert _order(aws) == ["DeleteDBClusterSnapshot"]
    assert not [c for c in aws.calls if c.operation == "CopyDBClusterSnapshot"]
    assert result.target_cluster_arn is not None
    assert result.target_cluster_arn.endswith(":example-db-2")
    assert result.source_snapshot_arn.endswith(f":{SNAPSHOT}")
    assert result.data_copies == 1
    assert _manual(aws) == []  # the copy it adopted went at the end


def test_the_deleted_snapshot_is_returned_to_the_batchs_quota() -> None:
    """An item whose snapshot went early leaves room for one more in the batch's reservation."""
    slots = CopySlots()
    quota = ("111111111111", "us-east-1", "ManualClusterSnapshots")
    assert slots.reserve_snapshots(*quota, 2, run="a", read=lambda: (7, 10)) == (7, 0, 10)
    assert slots.reserve_snapshots(*quota, 2, run="b", read=lambda: (7, 10)) == (7, 2, 10)  # 7 + 2 + 2 > 10
    slots.return_snapshots(*quota, run="b")  # no reservation of b: nothing changes
    assert slots.reserve_snapshots(*quota, 2, run="c", read=lambda: (7, 10)) == (7, 2, 10)
    slots.return_snapshots(*quota, run="a")
    assert slots.reserve_snapshots(*quota, 2, run="b", read=lambda: (7, 10)) == (7, 1, 10)  # now it fits
    slots.return_snapshots("111111111111", "us-east-1", "DBClusters", run="b")  # another quota: untouched
    assert slots.reserve_snapshots(*quota, 1, run="d", read=lambda: (7, 10)) == (7, 3, 10)
