"""share_cluster_snapshot() end to end on the test bed, in-process and over HTTP."""

from __future__ import annotations

import json

from rdsshare import Event, StepFinished, StepSkipped, share_cluster_snapshot
from rdsshare.testing import EmulatedAWS

from ..accounts import SOURCE, TARGET
from .helpers import restore_spec, sessions


def _key_manager(aws: EmulatedAWS, account: str, key: str) -> str:
    meta = aws.client(account, "kms").describe_key(KeyId=key)["KeyMetadata"]
    return str(meta["KeyManager"])


def test_default_key_cluster_end_to_end(aws: EmulatedAWS) -> None:
    aws.create_cluster(SOURCE, "example-db", encrypted=True)
    source, target = sessions(aws)
    events: list[Event] = []
    result = share_cluster_snapshot(
        source=source, target=target, cluster_id="example-db", restore=restore_spec(aws), on_event=events.append
    )

    # Source side: one copy under a source CMK, shared with the target only.
    assert result.data_copies == 1
    assert result.source_kms_key_arn is not None
    assert result.source_kms_key_arn.split(":")[4] == SOURCE
    assert _key_manager(aws, SOURCE, result.source_kms_key_arn) == "CUSTOMER"
    src_rds = aws.client(SOURCE, "rds")
    shared = src_rds.describe_db_cluster_snapshots(DBClusterSnapshotIdentifier=result.shared_snapshot_arn)[
        "DBClusterSnapshots"
    ][0]
    assert shared["KmsKeyId"] == result.source_kms_key_arn
    attrs = src_rds.describe_db_cluster_snapshot_attributes(
        DBClusterSnapshotIdentifier=shared["DBClusterSnapshotIdentifier"]
    )["DBClusterSnapshotAttributesResult"]["DBClusterSnapshotAttributes"]
    assert [a["AttributeValues"] for a in attrs if a["AttributeName"] == "restore"] == [[TARGET]]
    # The original default-key snapshot is never shared.
    original = result.source_snapshot_arn.split(":")[-1]
    attrs = src_rds.describe_db_cluster_snapshot_attributes(DBClusterSnapshotIdentifier=original)[
        "DBClusterSnapshotAttributesResult"
    ]["DBClusterSnapshotAttributes"]
    assert all(not a["AttributeValues"] for a in attrs)
    # The key policy grants the target what RDS needs, and the owner keeps control.
    policy = json.loads(
        aws.client(SOURCE, "kms").get_key_policy(KeyId=result.source_kms_key_arn, PolicyName="default")["Policy"]
    )
    principals = json.dumps(policy)
    assert f"arn:aws:iam::{TARGET}:root" in principals
    assert f"arn:aws:iam::{SOURCE}:root" in principals

    # Target side: a cluster under a key the target owns, instances, a secret in the target.
    tgt_rds = aws.client(TARGET, "rds")
    cluster = tgt_rds.describe_db_clusters(DBClusterIdentifier="example-db-2")["DBClusters"][0]
    assert cluster["DBClusterArn"] == result.target_cluster_arn
    assert cluster["Status"] == "available"
    assert cluster["KmsKeyId"] == result.target_kms_key_arn
    assert result.target_kms_key_arn is not None
    assert result.target_kms_key_arn.split(":")[4] == TARGET
    target_default = aws.client(TARGET, "kms").describe_key(KeyId="alias/aws/rds")["KeyMetadata"]["Arn"]
    assert result.target_kms_key_arn == target_default
    instances = tgt_rds.describe_db_instances(Filters=[{"Name": "db-cluster-id", "Values": ["example-db-2"]}])[
        "DBInstances"
    ]
    assert [i["DBInstanceArn"] for i in instances] == list(result.instance_arns)
    assert all(i["DBInstanceStatus"] == "available" for i in instances)
    assert result.master_user_secret_arn is not None
    assert result.master_user_secret_arn.split(":")[4] == TARGET
    aws.client(TARGET, "secretsmanager").describe_secret(SecretId=result.master_user_secret_arn)

    steps = {e.step for e in events if isinstance(e, StepFinished)}
    assert {"snapshot", "copy", "share", "restore", "instances", "secret"} <= steps


def test_customer_key_source_is_shared_without_a_copy(aws: EmulatedAWS) -> None:
    kms = aws.client(SOURCE, "kms")
    key = kms.create_key(Description="team key")["KeyMetadata"]
    aws.create_cluster(SOURCE, "example-db", encrypted=True, kms_key_id=key["Arn"])
    source, target = sessions(aws)
    events: list[Event] = []
    result = share_cluster_snapshot(
        source=source, target=target, cluster_id="example-db", restore=restore_spec(aws), on_event=events.append
    )
    assert result.data_copies == 0
    assert result.shared_snapshot_arn == result.source_snapshot_arn
    assert result.source_kms_key_arn == key["Arn"]
    assert any(isinstance(e, StepSkipped) and e.step == "copy" for e in events)
    policy = json.loads(kms.get_key_policy(KeyId=key["KeyId"], PolicyName="default")["Policy"])
    assert f"arn:aws:iam::{TARGET}:root" in json.dumps(policy)
    # The restored cluster does not depend on the source's key.
    assert result.target_kms_key_arn is not None
    assert result.target_kms_key_arn.split(":")[4] == TARGET


def test_unencrypted_source_is_shared_as_is(aws: EmulatedAWS) -> None:
    aws.create_cluster(SOURCE, "example-db", encrypted=False)
    source, target = sessions(aws)
    result = share_cluster_snapshot(source=source, target=target, cluster_id="example-db", restore=restore_spec(aws))
    assert result.data_copies == 0
    assert result.source_kms_key_arn is None
    assert result.target_kms_key_arn is None
    cluster = aws.client(TARGET, "rds").describe_db_clusters(DBClusterIdentifier="example-db-2")["DBClusters"][0]
    assert cluster["StorageEncrypted"] is False


def test_unencrypted_source_can_be_encrypted_in_target(aws: EmulatedAWS) -> None:
    aws.create_cluster(SOURCE, "example-db", encrypted=False)
    source, target = sessions(aws)
    result = share_cluster_snapshot(
        source=source, target=target, cluster_id="example-db", restore=restore_spec(aws, encrypt=True)
    )
    cluster = aws.client(TARGET, "rds").describe_db_clusters(DBClusterIdentifier="example-db-2")["DBClusters"][0]
    assert cluster["StorageEncrypted"] is True
    assert cluster["KmsKeyId"] == result.target_kms_key_arn


def test_rerun_adopts_everything_and_creates_nothing(aws: EmulatedAWS) -> None:
    aws.create_cluster(SOURCE, "example-db", encrypted=True)
    source, target = sessions(aws)
    spec = restore_spec(aws)
    first = share_cluster_snapshot(source=source, target=target, cluster_id="example-db", restore=spec)
    assert first.created
    snaps_before = aws.client(SOURCE, "rds").describe_db_cluster_snapshots()["DBClusterSnapshots"]
    keys_before = aws.client(SOURCE, "kms").list_keys()["Keys"]
    second = share_cluster_snapshot(source=source, target=target, cluster_id="example-db", restore=spec)
    assert second.created == ()
    assert set(second.adopted) >= {first.shared_snapshot_arn, first.target_cluster_arn}
    for field in ("shared_snapshot_arn", "source_kms_key_arn", "target_cluster_arn", "master_user_secret_arn"):
        assert getattr(second, field) == getattr(first, field)
    assert len(aws.client(SOURCE, "rds").describe_db_cluster_snapshots()["DBClusterSnapshots"]) == len(snaps_before)
    assert len(aws.client(SOURCE, "kms").list_keys()["Keys"]) == len(keys_before)
    secrets = aws.client(TARGET, "secretsmanager").list_secrets()["SecretList"]
    assert len(secrets) == 1


def test_second_cluster_reuses_the_share_key(aws: EmulatedAWS) -> None:
    aws.create_cluster(SOURCE, "example-db", encrypted=True)
    aws.create_cluster(SOURCE, "other-db", encrypted=True)
    source, target = sessions(aws)
    a = share_cluster_snapshot(source=source, target=target, cluster_id="example-db")
    b = share_cluster_snapshot(source=source, target=target, cluster_id="other-db")
    assert a.source_kms_key_arn == b.source_kms_key_arn
    assert a.shared_snapshot_arn != b.shared_snapshot_arn


def test_restore_none_stops_after_share(aws: EmulatedAWS) -> None:
    aws.create_cluster(SOURCE, "example-db", encrypted=True)
    source, target = sessions(aws)
    result = share_cluster_snapshot(source=source, target=target, cluster_id="example-db")
    assert result.target_cluster_arn is None
    assert aws.client(TARGET, "rds").describe_db_clusters()["DBClusters"] == []
    shared = aws.client(TARGET, "rds").describe_db_cluster_snapshots(SnapshotType="shared")["DBClusterSnapshots"]
    assert [s["DBClusterSnapshotArn"] for s in shared] == [result.shared_snapshot_arn]


def test_start_from_existing_manual_snapshot(aws: EmulatedAWS) -> None:
    aws.create_cluster(SOURCE, "example-db", encrypted=True)
    rds = aws.client(SOURCE, "rds")
    rds.create_db_cluster_snapshot(DBClusterIdentifier="example-db", DBClusterSnapshotIdentifier="nightly")
    source, target = sessions(aws)
    result = share_cluster_snapshot(source=source, target=target, snapshot_id="nightly", restore=restore_spec(aws))
    assert result.source_snapshot_arn.endswith(":cluster-snapshot:nightly")
    assert result.data_copies == 1
    assert result.target_cluster_arn is not None
    # Starting by ARN is the same run.
    again = share_cluster_snapshot(source=source, target=target, snapshot_id=result.source_snapshot_arn)
    assert again.shared_snapshot_arn == result.shared_snapshot_arn
    assert again.created == ()


def test_start_from_automated_snapshot_copies_once(aws: EmulatedAWS) -> None:
    aws.create_cluster(SOURCE, "example-db", encrypted=True)
    rds = aws.client(SOURCE, "rds")
    automated = rds.describe_db_cluster_snapshots(DBClusterIdentifier="example-db", SnapshotType="automated")[
        "DBClusterSnapshots"
    ]
    assert automated, "every cluster has an automated snapshot"
    source, target = sessions(aws)
    result = share_cluster_snapshot(
        source=source, target=target, snapshot_id=automated[0]["DBClusterSnapshotArn"], restore=restore_spec(aws)
    )
    # An automated default-key snapshot becomes a shareable manual CMK copy in one copy.
    assert result.data_copies == 1
    shared = rds.describe_db_cluster_snapshots(DBClusterSnapshotIdentifier=result.shared_snapshot_arn)[
        "DBClusterSnapshots"
    ][0]
    assert shared["SnapshotType"] == "manual"


def test_given_source_cmk_is_reused_by_alias(aws: EmulatedAWS) -> None:
    kms = aws.client(SOURCE, "kms")
    key = kms.create_key(Description="share key")["KeyMetadata"]
    kms.create_alias(AliasName="alias/team-share", TargetKeyId=key["KeyId"])
    aws.create_cluster(SOURCE, "example-db", encrypted=True)
    source, target = sessions(aws)
    result = share_cluster_snapshot(
        source=source,
        target=target,
        cluster_id="example-db",
        source_kms_key="alias/team-share",
        restore=restore_spec(aws),
    )
    assert result.source_kms_key_arn == key["Arn"]
    assert result.data_copies == 1
    aliases = [a["AliasName"] for a in kms.list_aliases()["Aliases"]]
    assert "alias/rdsshare/share-key" not in aliases


def test_target_cmk_and_secret_key(aws: EmulatedAWS) -> None:
    aws.create_cluster(SOURCE, "example-db", encrypted=True)
    tkms = aws.client(TARGET, "kms")
    tkey = tkms.create_key(Description="target data key")["KeyMetadata"]
    skey = tkms.create_key(Description="target secret key")["KeyMetadata"]
    source, target = sessions(aws)
    result = share_cluster_snapshot(
        source=source,
        target=target,
        cluster_id="example-db",
        restore=restore_spec(
            aws,
            kms_key_id=tkey["KeyId"],
            master_user_secret_kms_key_id=skey["Arn"],
            instance_count=2,
            port=3307,
            deletion_protection=True,
            tags={"team": "dba"},
            backup_copy=True,
        ),
    )
    assert result.target_kms_key_arn == tkey["Arn"]
    assert len(result.instance_arns) == 2
    cluster = aws.client(TARGET, "rds").describe_db_clusters(DBClusterIdentifier="example-db-2")["DBClusters"][0]
    assert cluster["Port"] == 3307
    assert cluster["DeletionProtection"] is True
    assert {"Key": "team", "Value": "dba"} in cluster["TagList"]
    assert result.backup_snapshot_arn is not None
    backup = aws.client(TARGET, "rds").describe_db_cluster_snapshots(
        DBClusterSnapshotIdentifier=result.backup_snapshot_arn
    )["DBClusterSnapshots"][0]
    assert backup["KmsKeyId"] == tkey["Arn"]


def test_the_instances_step_names_the_instances_not_their_cluster(aws: EmulatedAWS) -> None:
    from rdsshare import StepProgress

    aws.create_cluster(SOURCE, "example-db")
    source, target = sessions(aws)
    aws.operation_seconds = 0.05
    events: list[Event] = []
    share_cluster_snapshot(
        source=source,
        target=target,
        cluster_id="example-db",
        restore=restore_spec(aws, instance_count=2),
        on_event=events.append,
    )
    instances = [e for e in events if e.step == "instances" and isinstance(e, StepFinished | StepProgress)]
    assert instances
    assert {e.resource for e in instances} == {"example-db-2-instance-1, example-db-2-instance-2"}
