"""Refresh in place (issue: today's AWS, item 4): ``replace=True`` keeps the target's name and endpoint.

The restore is made beside the database the target has, then the names are swapped; the old database
is kept as a final snapshot (or renamed). A crash at any point resumes to the same end: the old database's
data is never lost and exactly one database holds the name. The test bed refuses renames onto a name in use
and keeps databases ``renaming`` for a while, as AWS does (tests/testbed/test_renames.py).
"""

from __future__ import annotations

from typing import Any

import attrs
import pytest

from rdsshare import (
    ClusterRestoreSpec,
    InstanceRestoreSpec,
    PreflightError,
    ShareJob,
    share_cluster_snapshot,
    share_instance_snapshot,
)
from rdsshare.testing import EmulatedAWS

from ..accounts import SOURCE, TARGET
from .helpers import mutating_calls, restore_spec, sessions

NAME = "example-db-2"


def _clusters(aws: EmulatedAWS) -> dict[str, dict[str, Any]]:
    found = aws.client(TARGET, "rds").describe_db_clusters()["DBClusters"]
    return {c["DBClusterIdentifier"]: dict(c) for c in found}


def _cluster_snapshots(aws: EmulatedAWS) -> list[dict[str, Any]]:
    rds = aws.client(TARGET, "rds")
    return [dict(s) for s in rds.describe_db_cluster_snapshots(SnapshotType="manual")["DBClusterSnapshots"]]


def _tags(resource: Any) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in resource.get("TagList", ())}


def _first(aws: EmulatedAWS) -> tuple[ClusterRestoreSpec, dict[str, Any]]:
    """The source, and a first restore under ``NAME`` (replace=True with nothing to replace)."""
    aws.create_cluster(SOURCE, "example-db")
    source, target = sessions(aws)
    spec = restore_spec(aws, replace=True, instance_count=2)
    plan = share_cluster_snapshot(source=source, target=target, cluster_id="example-db", restore=spec, dry_run=True)
    assert [(s.action, s.reason) for s in plan.steps if s.step == "replace"] == [
        ("skip", f"no DB cluster {NAME} yet: restored under that name")
    ]
    share_cluster_snapshot(source=source, target=target, cluster_id="example-db", restore=spec)
    return spec, _clusters(aws)[NAME]


def _check_swap_steps(plan: Any) -> tuple[str, str, str]:
    """The swap's steps in the plan, after the restore beside the old database: (temp, retired, final)."""
    swap = [(s.step, s.action, s.resource) for s in plan.steps if s.step in ("replace", "retire")]
    [temp] = [r for st, a, r in swap if st == "replace" and r != NAME]
    [(_, _, retired)] = [s for s in swap if s[1] == "delete"]
    [(_, _, final)] = [s for s in swap if s[1] == "create"]
    assert swap == [
        ("replace", "update", NAME),
        ("replace", "update", temp),
        ("retire", "create", final),
        ("retire", "delete", retired),
    ]
    assert temp.startswith(f"{NAME}-next-")
    assert retired.startswith(f"{NAME}-old-")
    assert final.startswith(f"{NAME}-replaced-")
    restores = [s.resource for s in plan.steps if s.step in ("restore", "instances")]
    assert restores == [temp, f"{temp}-instance-1", f"{temp}-instance-2"]  # beside the old one
    assert "the downtime" in next(s.reason for s in plan.steps if s.step == "replace")
    return temp, retired, final


def test_a_refresh_keeps_the_name_and_endpoint_and_keeps_the_old_data_as_a_final_snapshot(aws: EmulatedAWS) -> None:
    spec, old = _first(aws)
    source, target = sessions(aws)
    plan = share_cluster_snapshot(source=source, target=target, cluster_id="example-db", restore=spec, dry_run=True)
    assert plan.ok, str(plan)
    _check_swap_steps(plan)
    job = ShareJob.start(source=source, target=target, cluster_id="example-db", restore=spec)
    job.advance()  # the plan this run decided (its own run token, so its own names)
    assert job.plan is not None
    temp, retired, final = _check_swap_steps(job.plan)
    while not job.advance().done:
        pass
    result = job.result

    clusters = _clusters(aws)
    assert list(clusters) == [NAME]  # the old one deleted, nothing left under the temporary names
    new = clusters[NAME]
    assert new["DbClusterResourceId"] != old["DbClusterResourceId"]
    assert new["Endpoint"] == old["Endpoint"]
    assert new["ReaderEndpoint"] == old["ReaderEndpoint"]
    assert new["Status"] == "available"
    assert new["MasterUserSecret"]["SecretArn"]
    assert sorted(m["DBInstanceIdentifier"] for m in new["DBClusterMembers"]) == [
        f"{temp}-instance-1",
        f"{temp}-instance-2",
    ]  # instances keep their names: renaming them would restart them
    assert result.target_cluster_arn == new["DBClusterArn"]
    [snap] = [s for s in _cluster_snapshots(aws) if s["DBClusterSnapshotIdentifier"] == final]
    assert snap["DBClusterIdentifier"] == retired
    assert snap["Status"] == "available"
    assert _tags(snap)["rdsshare:replaced"] == NAME
    assert result.targets[0].replaced_arn == snap["DBClusterSnapshotArn"]
    assert result.manifest is not None
    assert [e.arn for e in result.manifest.entries if e.kind == "db-cluster"] == [new["DBClusterArn"]]
    kept = [e for e in result.manifest.entries if e.role == "replaced"]
    assert [(e.arn, e.managed) for e in kept] == [(snap["DBClusterSnapshotArn"], False)]
    old_instances = {m["DBInstanceIdentifier"] for m in old["DBClusterMembers"]}
    left = {i["DBInstanceIdentifier"] for i in aws.client(TARGET, "rds").describe_db_instances()["DBInstances"]}
    assert not old_instances & left

    # Nightly: the next refresh replaces this one the same way.
    share_cluster_snapshot(source=source, target=target, cluster_id="example-db", restore=spec)
    assert list(_clusters(aws)) == [NAME]
    assert _clusters(aws)[NAME]["DbClusterResourceId"] != new["DbClusterResourceId"]
    assert len([s for s in _cluster_snapshots(aws) if "rdsshare:replaced" in _tags(s)]) == 2


def test_keep_replaced_renamed_keeps_the_old_cluster_with_its_instances(aws: EmulatedAWS) -> None:
    spec, old = _first(aws)
    source, target = sessions(aws)
    spec = attrs.evolve(spec, keep_replaced="renamed")
    result = share_cluster_snapshot(source=source, target=target, cluster_id="example-db", restore=spec)
    clusters = _clusters(aws)
    [retired] = [c for c in clusters if c != NAME]
    assert retired.startswith(f"{NAME}-old-")
    assert clusters[retired]["DbClusterResourceId"] == old["DbClusterResourceId"]
    assert len(clusters[retired]["DBClusterMembers"]) == 2
    assert clusters[NAME]["DbClusterResourceId"] != old["DbClusterResourceId"]
    assert result.targets[0].replaced_arn == clusters[retired]["DBClusterArn"]
    assert not [s for s in _cluster_snapshots(aws) if "rdsshare:replaced" in _tags(s)]


def test_a_protected_database_is_refused_before_any_write_unless_kept_renamed(aws: EmulatedAWS) -> None:
    aws.create_cluster(SOURCE, "example-db")
    net = aws.create_network(TARGET, "staging")
    rds = aws.client(TARGET, "rds")
    rds.create_db_cluster(
        DBClusterIdentifier=NAME, Engine="aurora-postgresql", MasterUsername="admin", MasterUserPassword="pw-12345678",
        DeletionProtection=True,
    )  # fmt: skip  # the user's own staging database, not made by rdsshare
    aws.finish_pending()
    source, target = sessions(aws)
    spec = ClusterRestoreSpec(
        cluster_id=NAME, instance_class="db.t3.medium", subnet_group=net.subnet_group,
        security_group_ids=[net.security_group_id], replace=True,
    )  # fmt: skip
    aws.clear_calls()
    with pytest.raises(PreflightError, match="deletion protection") as refused:
        share_cluster_snapshot(source=source, target=target, cluster_id="example-db", restore=spec)
    assert "keep_replaced='renamed'" in str(refused.value)
    assert mutating_calls(aws) == []
    result = share_cluster_snapshot(
        source=source, target=target, cluster_id="example-db", restore=attrs.evolve(spec, keep_replaced="renamed")
    )
    clusters = _clusters(aws)
    [retired] = [c for c in clusters if c != NAME]
    assert clusters[retired]["DeletionProtection"] is True  # the user's, untouched and kept
    assert _tags(clusters[NAME])["rdsshare:role"] == "restored-cluster"
    assert result.targets[0].replaced_arn == clusters[retired]["DBClusterArn"]


def _end_state(aws: EmulatedAWS, old: dict[str, Any]) -> tuple[list[str], int, int]:
    clusters = _clusters(aws)
    finals = [s for s in _cluster_snapshots(aws) if "rdsshare:replaced" in _tags(s)]
    assert clusters[NAME]["DbClusterResourceId"] != old["DbClusterResourceId"]
    assert clusters[NAME]["Status"] == "available"
    return sorted(clusters), len(finals), len(aws.client(TARGET, "rds").describe_db_instances()["DBInstances"])


@pytest.mark.parametrize("first_crash", [0, 1])
def test_a_crash_anywhere_resumes_to_the_same_end(aws: EmulatedAWS, first_crash: int) -> None:
    """Every other advance "crashes" after doing its AWS work, before its state is saved: the next process
    resumes from the state saved before it. Two runs (crashing the even, then the odd advances) crash each."""
    spec, old = _first(aws)
    source, target = sessions(aws)
    aws.operation_seconds = 0.05  # renames, snapshots and deletes take a moment: the job comes back for them
    job = ShareJob.start(source=source, target=target, cluster_id="example-db", restore=spec)
    crashes, n = 0, 0
    while True:
        before = job.to_json()
        if job.advance().done:
            break
        n += 1
        if n % 2 == first_crash and '"targets"' in before:
            job = ShareJob.from_json(before, source=source, target=target)  # its work done, its state lost
            crashes += 1
    assert crashes >= 4
    assert _end_state(aws, old) == ([NAME], 1, 2)
    assert job.result.target_cluster_arn == _clusters(aws)[NAME]["DBClusterArn"]
    assert job.result.targets[0].replaced_arn is not None
    rds = aws.client(TARGET, "rds")
    assert len(rds.describe_db_cluster_snapshots(SnapshotType="manual")["DBClusterSnapshots"]) >= 1


def test_a_crash_between_the_renames_leaves_the_old_database_whole_and_resumes(aws: EmulatedAWS) -> None:
    spec, old = _first(aws)
    source, target = sessions(aws)
    aws.operation_seconds = 0.05
    job = ShareJob.start(source=source, target=target, cluster_id="example-db", restore=spec)
    while NAME in _clusters(aws):
        assert not job.advance().done
    crashed = job.to_json()
    clusters = _clusters(aws)
    assert NAME not in clusters  # the downtime: no database holds the name
    [retired] = [c for c in clusters if "-old-" in c]
    assert clusters[retired]["DbClusterResourceId"] == old["DbClusterResourceId"]
    assert len(clusters[retired]["DBClusterMembers"]) == 2  # whole, with its instances
    again = ShareJob.from_json(crashed, source=source, target=target)
    while not again.advance().done:
        pass
    assert _end_state(aws, old) == ([NAME], 1, 2)


def test_an_instance_refresh_renames_the_instance(aws: EmulatedAWS) -> None:
    net = aws.create_network(SOURCE, "orders")
    aws.client(SOURCE, "rds").create_db_instance(
        DBInstanceIdentifier="orders-db", Engine="postgres", DBInstanceClass="db.t3.micro", MasterUsername="admin",
        MasterUserPassword="source-password-1", AllocatedStorage=20, StorageEncrypted=True,
        DBSubnetGroupName=net.subnet_group, VpcSecurityGroupIds=[net.security_group_id],
    )  # fmt: skip
    aws.finish_pending()
    tnet = aws.create_network(TARGET, "orders-db-2")
    spec = InstanceRestoreSpec(
        instance_id="orders-db-2", instance_class="db.t3.micro", subnet_group=tnet.subnet_group,
        security_group_ids=[tnet.security_group_id], replace=True,
    )  # fmt: skip
    source, target = sessions(aws)
    share_instance_snapshot(source=source, target=target, instance_id="orders-db", restore=spec)
    rds = aws.client(TARGET, "rds")
    old = rds.describe_db_instances(DBInstanceIdentifier="orders-db-2")["DBInstances"][0]
    result = share_instance_snapshot(source=source, target=target, instance_id="orders-db", restore=spec)
    [new] = rds.describe_db_instances()["DBInstances"]
    assert new["DBInstanceIdentifier"] == "orders-db-2"
    assert new["DbiResourceId"] != old["DbiResourceId"]
    assert new["Endpoint"]["Address"] == old["Endpoint"]["Address"]
    assert result.target_instance_arn == new["DBInstanceArn"]
    snaps = rds.describe_db_snapshots(SnapshotType="manual")["DBSnapshots"]
    [final] = [s for s in snaps if "rdsshare:replaced" in _tags(s)]
    assert final["DBInstanceIdentifier"].startswith("orders-db-2-old-")
    assert result.targets[0].replaced_arn == final["DBSnapshotArn"]
