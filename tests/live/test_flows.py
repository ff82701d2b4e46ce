"""The main flows, end to end: on the test bed in every run, against two real AWS accounts on request.

Each test starts from the cheapest source AWS allows (an Aurora cluster without instances, a db.t4g.micro
PostgreSQL instance), shares it, restores it in the target under a target-owned key, checks what AWS
answers, and cleans up. On AWS the assertions are the evidence that the bed's rules hold there.
"""

from __future__ import annotations

from typing import Any

from rdsshare import RdsShareError, ShareResult, share_cluster_snapshot, share_instance_snapshot

from .conftest import Runs
from .world import World


def _kept(runs: Runs, call: Any) -> ShareResult:
    try:
        result: ShareResult = call()
    except RdsShareError as exc:
        runs.keep(getattr(exc, "manifest", None))
        raise
    runs.keep(result.manifest)
    return result


def test_a_default_key_cluster_is_shared_and_restored_under_a_target_key(world: World, runs: Runs) -> None:
    cluster_id = world.cluster(encrypted=True)
    spec = world.cluster_spec()
    result = _kept(
        runs,
        lambda: share_cluster_snapshot(
            source=world.source,
            target=world.target,
            cluster_id=cluster_id,
            restore=spec,
            run_name=world.token,
            wait=world.wait,
        ),
    )
    assert result.data_copies == 1  # the aws/rds snapshot is re-keyed once under a source CMK
    assert result.source_kms_key_arn is not None
    assert result.target_kms_key_arn is not None
    assert result.target_kms_key_arn.split(":")[4] == world.target.account_id  # never the source's key
    assert result.master_user_secret_arn is not None
    assert result.master_user_secret_arn.split(":")[4] == world.target.account_id
    [restored] = world.target.rds().describe_db_clusters(DBClusterIdentifier=spec.cluster_id)["DBClusters"]
    assert restored["StorageEncryptionType"] == "sse-kms"
    assert restored["MasterUserSecret"]["SecretArn"] == result.master_user_secret_arn
    # What the target sees of the shared snapshot: its ARN, under SnapshotType shared.
    shared = world.target.rds().describe_db_cluster_snapshots(SnapshotType="shared")["DBClusterSnapshots"]
    assert result.shared_snapshot_arn in {s["DBClusterSnapshotIdentifier"] for s in shared}


def test_an_instance_is_shared_restored_and_handed_its_secret(world: World, runs: Runs) -> None:
    instance_id = world.instance()
    spec = world.instance_spec()
    result = _kept(
        runs,
        lambda: share_instance_snapshot(
            source=world.source,
            target=world.target,
            instance_id=instance_id,
            restore=spec,
            run_name=world.token,
            wait=world.wait,
        ),
    )
    assert result.target_instance_arn is not None
    assert result.master_user_secret_arn is not None  # from ModifyDBInstance: the restore gives none
    [restored] = world.target.rds().describe_db_instances(DBInstanceIdentifier=spec.instance_id)["DBInstances"]
    assert restored["MasterUserSecret"]["SecretArn"] == result.master_user_secret_arn
    assert restored["KmsKeyId"].split(":")[4] == world.target.account_id


def test_a_new_aurora_cluster_is_encrypted_with_an_aws_owned_key(world: World) -> None:
    cluster_id = world.cluster(encrypted=False)
    [cluster] = world.source.rds().describe_db_clusters(DBClusterIdentifier=cluster_id)["DBClusters"]
    assert (cluster["StorageEncryptionType"], cluster["StorageEncrypted"]) == ("sse-rds", False)
    assert "KmsKeyId" not in cluster
