"""One share for several target accounts: one copy, one key policy granting each, restores per target."""

from __future__ import annotations

import json

import pytest

from rdsshare import AccountSession, ClusterRestoreSpec, InputError, cleanup, share_cluster_snapshot
from rdsshare.testing import EmulatedAWS

from ..accounts import OTHER, SOURCE, TARGET
from .helpers import mutating_calls


def _session(aws: EmulatedAWS, account: str) -> AccountSession:
    return AccountSession(aws.session(account), endpoint_url=aws.endpoint_url)


def _spec(aws: EmulatedAWS, account: str, cluster_id: str) -> ClusterRestoreSpec:
    net = aws.create_network(account, cluster_id)
    return ClusterRestoreSpec(
        cluster_id=cluster_id,
        instance_class="db.t3.medium",
        subnet_group=net.subnet_group,
        security_group_ids=[net.security_group_id],
    )


def test_share_with_several_targets_and_restore_in_some(aws: EmulatedAWS) -> None:
    aws.create_cluster(SOURCE, "example-db")
    source = _session(aws, SOURCE)
    targets = [_session(aws, TARGET), _session(aws, OTHER), _session(aws, "444444444444")]
    restore = {TARGET: _spec(aws, TARGET, "copy-b"), OTHER: _spec(aws, OTHER, "copy-c")}
    result = share_cluster_snapshot(source=source, targets=targets, cluster_id="example-db", restore=restore)
    assert result.data_copies == 1
    assert [t.target_account_id for t in result.targets] == [TARGET, OTHER, "444444444444"]
    assert result.targets[0].target_cluster_arn is not None
    assert result.targets[1].target_cluster_arn is not None
    assert result.targets[2].target_cluster_arn is None
    assert result.target_cluster_arn == result.targets[0].target_cluster_arn
    rds = aws.client(SOURCE, "rds")
    snap_id = result.shared_snapshot_arn.split(":")[-1]
    shared = rds.describe_db_cluster_snapshot_attributes(DBClusterSnapshotIdentifier=snap_id)[
        "DBClusterSnapshotAttributesResult"
    ]["DBClusterSnapshotAttributes"][0]["AttributeValues"]
    assert sorted(shared) == sorted([TARGET, OTHER, "444444444444"])
    policy = aws.client(SOURCE, "kms").get_key_policy(KeyId=result.source_kms_key_arn or "", PolicyName="default")
    text = json.dumps(json.loads(policy["Policy"]))
    for account in (TARGET, OTHER, "444444444444"):
        assert f"arn:aws:iam::{account}:root" in text
    for account, cluster_id in ((TARGET, "copy-b"), (OTHER, "copy-c")):
        cluster = aws.client(account, "rds").describe_db_clusters(DBClusterIdentifier=cluster_id)["DBClusters"][0]
        assert cluster["KmsKeyId"].split(":")[4] == account
        assert cluster["MasterUserSecret"]["SecretArn"].split(":")[4] == account
    # Rerun converges, and cleanup unshares all and revokes every grant.
    again = share_cluster_snapshot(source=source, targets=targets, cluster_id="example-db", restore=restore)
    assert again.created == ()
    assert result.manifest is not None
    cleanup(result.manifest, source=source, target=targets[0], targets=targets[1:])
    policy = aws.client(SOURCE, "kms").get_key_policy(KeyId=result.source_kms_key_arn or "", PolicyName="default")
    for account in (TARGET, OTHER, "444444444444"):
        assert account not in policy["Policy"]


def test_more_than_20_targets_fail_before_anything(aws: EmulatedAWS) -> None:
    aws.create_cluster(SOURCE, "example-db")
    source = _session(aws, SOURCE)
    targets = [_session(aws, TARGET)] * 21
    aws.clear_calls()
    with pytest.raises(InputError, match="at most 20"):
        share_cluster_snapshot(source=source, targets=targets, cluster_id="example-db")
    assert aws.calls == []


@pytest.mark.parametrize(
    ("build", "match"),
    [
        (lambda s, t: {"targets": [t, t]}, "repeat an account"),
        (lambda s, t: {"targets": [t, s]}, "same account"),
        (lambda s, t: {"targets": []}, "non-empty list"),
        (lambda s, t: {"target": t, "targets": [t]}, "exactly one of target and targets"),
        (
            lambda s, t: {"targets": [t], "restore": ClusterRestoreSpec(cluster_id="x", instance_class="db.t3.medium")},
            "must map target account ids",
        ),
        (
            lambda s, t: {
                "targets": [t],
                "restore": {OTHER: ClusterRestoreSpec(cluster_id="x", instance_class="db.t3.medium")},
            },
            "not targets",
        ),
    ],
)
def test_bad_target_lists(aws: EmulatedAWS, build: object, match: str) -> None:
    aws.create_cluster(SOURCE, "example-db")
    source, target = _session(aws, SOURCE), _session(aws, TARGET)
    kwargs = build(source, target)  # type: ignore[operator]
    aws.clear_calls()
    with pytest.raises(InputError, match=match):
        share_cluster_snapshot(source=source, cluster_id="example-db", **kwargs)
    assert mutating_calls(aws) == []


def test_targets_in_different_regions_are_refused(aws: EmulatedAWS) -> None:
    source = _session(aws, SOURCE)
    west = AccountSession(aws.session(OTHER, region="us-west-2"), endpoint_url=aws.endpoint_url)
    with pytest.raises(InputError, match="different regions"):
        share_cluster_snapshot(source=source, targets=[_session(aws, TARGET), west], cluster_id="example-db")


def test_the_targets_restore_side_by_side(aws: EmulatedAWS) -> None:
    """Once shared, every target's restore runs at the same time, not one after another."""
    from rdsshare import Event, StepFinished, StepStarted

    aws.create_cluster(SOURCE, "example-db")
    source = _session(aws, SOURCE)
    accounts = [TARGET, OTHER, "444444444444"]
    targets = [_session(aws, a) for a in accounts]
    restore = {a: _spec(aws, a, f"copy-{i}") for i, a in enumerate(accounts)}
    aws.operation_seconds = 0.2
    events: list[Event] = []
    result = share_cluster_snapshot(
        source=source, targets=targets, cluster_id="example-db", restore=restore, on_event=events.append
    )
    assert all(t.target_cluster_arn for t in result.targets)
    restores = [(type(e), e.account_id) for e in events if e.step == "restore"]
    started = [i for i, (kind, _) in enumerate(restores) if kind is StepStarted]
    finished = [i for i, (kind, _) in enumerate(restores) if kind is StepFinished]
    assert len(started) == len(finished) == 3
    assert max(started) < min(finished)  # all three restores were under way before the first one ended


def test_one_targets_failure_does_not_stop_the_others(aws: EmulatedAWS) -> None:
    from rdsshare import RdsShareError

    aws.create_cluster(SOURCE, "example-db")
    source = _session(aws, SOURCE)
    targets = [_session(aws, TARGET), _session(aws, OTHER)]
    restore = {TARGET: _spec(aws, TARGET, "copy-b"), OTHER: _spec(aws, OTHER, "copy-c")}
    aws.inject_fault("rds", "RestoreDBClusterFromSnapshot", "InvalidParameterValue", times=1, account_id=TARGET)
    with pytest.raises(RdsShareError, match="InvalidParameterValue") as failed:
        share_cluster_snapshot(source=source, targets=targets, cluster_id="example-db", restore=restore)
    assert failed.value.account_id == TARGET
    partial = failed.value.result  # type: ignore[attr-defined]
    assert partial.targets[0].error is not None
    assert "InvalidParameterValue" in partial.targets[0].error
    assert partial.targets[0].target_cluster_arn is None
    assert partial.targets[1].error is None
    assert partial.targets[1].master_user_secret_arn is not None  # the other target went all the way
    other = aws.client(OTHER, "rds").describe_db_clusters(DBClusterIdentifier="copy-c")["DBClusters"][0]
    assert other["Status"] == "available"
    assert failed.value.manifest is not None
    assert any(e.arn == other["DBClusterArn"] for e in failed.value.manifest.entries)
    # Rerun: the failed target is restored, the other adopted.
    again = share_cluster_snapshot(source=source, targets=targets, cluster_id="example-db", restore=restore)
    assert [t.error for t in again.targets] == [None, None]
    assert again.targets[0].target_cluster_arn is not None
