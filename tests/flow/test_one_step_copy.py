"""Another region in one step (issue: today's AWS, item 2): the target pulls one copy under its own key.

Since 2025-09 a snapshot shared from another account and region is copied in one step, under a key of the
destination region (docs/sources/aws-rules-2.md, Copies; the test bed: tests/testbed/test_copy_restore.py).
For a snapshot under a customer-managed key and one target, that saves the source account's copy and its
key in the target region: the plan takes it by default, says both paths and why, and either can be forced.
"""

from __future__ import annotations

from typing import Any

import pytest

from rdsshare import (
    AccountSession,
    ClusterRestoreSpec,
    InstanceRestoreSpec,
    PreflightError,
    cleanup,
    share_cluster_snapshot,
    share_instance_snapshot,
)
from rdsshare.testing import EmulatedAWS

from ..accounts import OTHER, SOURCE, TARGET
from .helpers import mutating_calls

WEST = "us-west-2"


def _target(aws: EmulatedAWS, account: str = TARGET) -> AccountSession:
    return AccountSession(aws.session(account, region=WEST), endpoint_url=aws.endpoint_url)


def _source(aws: EmulatedAWS) -> AccountSession:
    return AccountSession(aws.session(SOURCE), endpoint_url=aws.endpoint_url)


def _spec(aws: EmulatedAWS, account: str = TARGET, **extra: Any) -> ClusterRestoreSpec:
    net = aws.create_network(account, "west", region=WEST)
    return ClusterRestoreSpec(
        cluster_id="example-db-2", instance_class="db.t3.medium", subnet_group=net.subnet_group,
        security_group_ids=[net.security_group_id], **extra,
    )  # fmt: skip


def _cmk_cluster(aws: EmulatedAWS) -> str:
    key = aws.client(SOURCE, "kms").create_key()["KeyMetadata"]["Arn"]
    aws.create_cluster(SOURCE, "example-db", kms_key_id=key)
    return str(key)


def _snapshots(aws: EmulatedAWS, account: str, region: str) -> list[dict[str, Any]]:
    rds = aws.client(account, "rds", region)
    return [dict(s) for s in rds.describe_db_cluster_snapshots(SnapshotType="manual")["DBClusterSnapshots"]]


def test_a_customer_key_snapshot_is_pulled_by_the_target_in_one_copy(aws: EmulatedAWS) -> None:
    key = _cmk_cluster(aws)
    source, target = _source(aws), _target(aws)
    spec = _spec(aws)
    plan = share_cluster_snapshot(source=source, target=target, cluster_id="example-db", restore=spec, dry_run=True)
    assert plan.ok, str(plan)
    assert plan.decisions is not None
    assert plan.decisions.pull
    [copy] = [s for s in plan.steps if s.step == "copy"]
    assert copy.action == "skip"
    assert "each target copies it into us-west-2 under its own key in one step (1 copy" in copy.reason
    assert "The other path: 1 copy in 111111111111 into us-west-2" in copy.reason
    assert "cross_region_copy='source'" in copy.reason
    [pulled] = [s for s in plan.steps if s.step == "target-copy"]
    assert (pulled.action, pulled.account_id) == ("create", TARGET)
    assert "in one step across account and region" in pulled.reason
    assert plan.data_copies == 1
    assert not [s for s in plan.steps if s.step == "source-key" and s.action == "create"]  # no key in us-west-2

    result = share_cluster_snapshot(source=source, target=target, cluster_id="example-db", restore=spec)

    assert result.data_copies == 1
    assert result.shared_snapshot_arn.split(":")[3:5] == [aws.region, SOURCE]  # shared where it was taken
    assert result.source_kms_key_arn == key  # the source's own key, in its own region
    own = result.targets[0].target_snapshot_arn
    assert own is not None
    assert own.split(":")[3:5] == [WEST, TARGET]
    [copied] = _snapshots(aws, TARGET, WEST)
    assert copied["KmsKeyId"].split(":")[3:5] == [WEST, TARGET]
    assert copied["SourceDBClusterSnapshotArn"] == result.shared_snapshot_arn
    assert _snapshots(aws, SOURCE, WEST) == []  # nothing in the source account in the target's region
    aliases = [a["AliasName"] for a in aws.client(SOURCE, "kms", WEST).list_aliases()["Aliases"]]
    assert not [a for a in aliases if a.startswith("alias/rdsshare")]  # no share key in us-west-2
    cluster = aws.client(TARGET, "rds", WEST).describe_db_clusters(DBClusterIdentifier="example-db-2")["DBClusters"][0]
    assert cluster["KmsKeyId"].split(":")[3:5] == [WEST, TARGET]  # independent of the source's key
    again = share_cluster_snapshot(source=source, target=target, cluster_id="example-db", restore=spec)
    assert again.created == ()  # a rerun adopts the target's copy too

    assert result.manifest is not None
    report = cleanup(result.manifest, source=source, target=target)
    done = {(a.action, a.resource.split(":")[3]) for a in report.actions if a.status == "done"}
    assert ("unshare", aws.region) in done
    assert ("delete-snapshot", WEST) in done  # the target's copy, an intermediate
    assert _snapshots(aws, TARGET, WEST) == []
    attrs = aws.client(SOURCE, "rds").describe_db_cluster_snapshots(SnapshotType="manual")["DBClusterSnapshots"]
    assert attrs == []  # the run's own snapshot went too


def test_backup_copy_keeps_the_pulled_copy(aws: EmulatedAWS) -> None:
    _cmk_cluster(aws)
    source, target = _source(aws), _target(aws)
    result = share_cluster_snapshot(
        source=source, target=target, cluster_id="example-db", restore=_spec(aws, backup_copy=True)
    )
    [copied] = _snapshots(aws, TARGET, WEST)
    assert result.backup_snapshot_arn == copied["DBClusterSnapshotArn"]  # one copy, not two
    assert result.manifest is not None
    cleanup(result.manifest, source=source, target=target)
    assert [s["DBClusterSnapshotArn"] for s in _snapshots(aws, TARGET, WEST)] == [result.backup_snapshot_arn]


def test_either_path_can_be_forced_and_two_targets_share_one_source_copy(aws: EmulatedAWS) -> None:
    _cmk_cluster(aws)
    source, target = _source(aws), _target(aws)
    forced = share_cluster_snapshot(
        source=source, target=target, cluster_id="example-db", restore=_spec(aws), dry_run=True,
        cross_region_copy="source",
    )  # fmt: skip
    assert forced.decisions is not None
    assert not forced.decisions.pull
    [copy] = [s for s in forced.steps if s.step == "copy"]
    assert copy.action == "create"
    assert (
        "the other path: each target copies it from us-east-1 under its own key (1 copy, one per target" in copy.reason
    )

    targets = [_target(aws, TARGET), _target(aws, OTHER)]
    restore = {TARGET: _spec(aws, TARGET), OTHER: _spec(aws, OTHER)}
    auto = share_cluster_snapshot(
        source=source, targets=targets, cluster_id="example-db", restore=restore, dry_run=True
    )
    assert auto.decisions is not None
    assert not auto.decisions.pull  # 1 copy in the source account beats 2, one per target
    assert auto.data_copies == 1
    pulled = share_cluster_snapshot(
        source=source, targets=targets, cluster_id="example-db", restore=restore, cross_region_copy="target"
    )
    assert [t.data_copies for t in pulled.targets] == [1, 1]
    assert _snapshots(aws, SOURCE, WEST) == []
    assert len(_snapshots(aws, TARGET, WEST)) == len(_snapshots(aws, OTHER, WEST)) == 1


@pytest.mark.parametrize("encrypted", [True, False])
def test_a_snapshot_that_needs_a_source_copy_is_not_pulled_and_forcing_it_is_refused(
    aws: EmulatedAWS, encrypted: bool
) -> None:
    aws.create_cluster(SOURCE, "example-db", encrypted=encrypted)  # aws/rds, or unencrypted
    source, target = _source(aws), _target(aws)
    plan = share_cluster_snapshot(source=source, target=target, cluster_id="example-db", dry_run=True)
    assert plan.decisions is not None
    assert not plan.decisions.pull
    [copy] = [s for s in plan.steps if s.step == "copy"]
    assert "the targets cannot copy it from us-east-1 themselves" in copy.reason
    aws.clear_calls()
    with pytest.raises(PreflightError, match=r"cannot copy snapshot .* themselves"):
        share_cluster_snapshot(source=source, target=target, cluster_id="example-db", cross_region_copy="target")
    assert mutating_calls(aws) == []


def test_a_db_snapshot_is_pulled_in_one_copy_instead_of_two(aws: EmulatedAWS) -> None:
    key = aws.client(SOURCE, "kms").create_key()["KeyMetadata"]["Arn"]
    aws.create_instance(SOURCE, "orders-db", engine="postgres", kms_key_id=key)
    net = aws.create_network(TARGET, "west", region=WEST)
    spec = InstanceRestoreSpec(
        instance_id="orders-db-2", instance_class="db.t3.micro", subnet_group=net.subnet_group,
        security_group_ids=[net.security_group_id],
    )  # fmt: skip
    source, target = _source(aws), _target(aws)
    two = share_instance_snapshot(
        source=source, target=target, instance_id="orders-db", restore=spec, dry_run=True, cross_region_copy="source"
    )
    assert two.data_copies == 2  # the source's copy into us-west-2, then the target's own
    result = share_instance_snapshot(source=source, target=target, instance_id="orders-db", restore=spec)
    assert result.data_copies == 1
    assert result.shared_snapshot_arn.split(":")[3] == aws.region
    west = aws.client(TARGET, "rds", WEST)
    [own] = west.describe_db_snapshots(SnapshotType="manual")["DBSnapshots"]
    assert own["KmsKeyId"].split(":")[3:5] == [WEST, TARGET]
    [instance] = west.describe_db_instances()["DBInstances"]
    assert instance["KmsKeyId"].split(":")[3:5] == [WEST, TARGET]
    assert aws.client(SOURCE, "rds", WEST).describe_db_snapshots(SnapshotType="manual")["DBSnapshots"] == []
