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
