"""Sharing into another region: one copy in the source account, shared and restored there (or, for a
customer-key snapshot and one target, one copy the target pulls itself: tests/flow/test_one_step_copy.py)."""

from __future__ import annotations

import pytest

from rdsshare import AccountSession, ClusterRestoreSpec, InputError, cleanup, share_cluster_snapshot
from rdsshare.testing import EmulatedAWS

from ..accounts import SOURCE, TARGET

WEST = "us-west-2"


def _sessions(aws: EmulatedAWS) -> tuple[AccountSession, AccountSession]:
    return (
        AccountSession(aws.session(SOURCE), endpoint_url=aws.endpoint_url),
        AccountSession(aws.session(TARGET, region=WEST), endpoint_url=aws.endpoint_url),
    )


def _spec(aws: EmulatedAWS) -> ClusterRestoreSpec:
    net = aws.create_network(TARGET, "west", region=WEST)
    return ClusterRestoreSpec(
        cluster_id="example-db-2",
        instance_class="db.t3.medium",
        subnet_group=net.subnet_group,
        security_group_ids=[net.security_group_id],
    )


@pytest.mark.parametrize("source_kind", ["default-key", "cmk", "unencrypted"])
def test_cross_region_costs_one_copy_whatever_the_key(aws: EmulatedAWS, source_kind: str) -> None:
    kms_key_id = None
    if source_kind == "cmk":
        kms_key_id = aws.client(SOURCE, "kms").create_key()["KeyMetadata"]["Arn"]
    aws.create_cluster(SOURCE, "example-db", encrypted=source_kind != "unencrypted", kms_key_id=kms_key_id)
    source, target = _sessions(aws)
    spec = _spec(aws)
    # The source account's copy (a customer key would otherwise be pulled by the target: test_one_step_copy.py).
    plan = share_cluster_snapshot(
        source=source, target=target, cluster_id="example-db", restore=spec, dry_run=True, cross_region_copy="source"
    )
    assert plan.ok, str(plan)
    assert plan.data_copies == 1
    result = share_cluster_snapshot(
        source=source, target=target, cluster_id="example-db", restore=spec, cross_region_copy="source"
    )
    assert result.data_copies == 1
    assert result.region == WEST
    assert result.source_snapshot_arn.split(":")[3] == aws.region
    assert result.shared_snapshot_arn.split(":")[3] == WEST
    assert result.shared_snapshot_arn.split(":")[4] == SOURCE
    if source_kind == "unencrypted":
        assert result.source_kms_key_arn is None
    else:
        # Keys are region-bound: the shared copy is under a source CMK of the target region.
        assert result.source_kms_key_arn is not None
        assert result.source_kms_key_arn.split(":")[3] == WEST
        assert result.source_kms_key_arn.split(":")[4] == SOURCE
    cluster = aws.client(TARGET, "rds", region=WEST).describe_db_clusters(DBClusterIdentifier="example-db-2")[
        "DBClusters"
    ][0]
    assert cluster["DBClusterArn"] == result.target_cluster_arn
    if source_kind != "unencrypted":
        assert cluster["KmsKeyId"].split(":")[3:5] == [WEST, TARGET]
    assert result.master_user_secret_arn is not None
    assert result.master_user_secret_arn.split(":")[3] == WEST
    # Rerun converges.
    again = share_cluster_snapshot(
        source=source, target=target, cluster_id="example-db", restore=spec, cross_region_copy="source"
    )
    assert again.created == ()


def test_cross_region_cleanup_finds_each_region(aws: EmulatedAWS) -> None:
    aws.create_cluster(SOURCE, "example-db")
    source, target = _sessions(aws)
    result = share_cluster_snapshot(source=source, target=target, cluster_id="example-db", restore=_spec(aws))
    assert result.manifest is not None
    report = cleanup(result.manifest, source=source, target=target)
    deleted = [a.resource for a in report.actions if a.action == "delete-snapshot" and a.status == "done"]
    assert sorted(arn.split(":")[3] for arn in deleted) == sorted([aws.region, WEST])
    assert aws.client(SOURCE, "rds").describe_db_cluster_snapshots(SnapshotType="manual")["DBClusterSnapshots"] == []
    west = aws.client(SOURCE, "rds", region=WEST).describe_db_cluster_snapshots(SnapshotType="manual")
    assert west["DBClusterSnapshots"] == []


def test_source_cmk_in_the_wrong_region_is_refused(aws: EmulatedAWS) -> None:
    aws.create_cluster(SOURCE, "example-db")
    east_key = aws.client(SOURCE, "kms").create_key()["KeyMetadata"]["Arn"]
    source, target = _sessions(aws)
    with pytest.raises(InputError, match="region-bound"):
        share_cluster_snapshot(source=source, target=target, cluster_id="example-db", source_kms_key=east_key)
