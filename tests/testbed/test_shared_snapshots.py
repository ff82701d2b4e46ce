"""Rule 1: snapshots shared from another account [AUR-SHARE], [RDS-SHARE], [BC-RDS]."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from botocore.exceptions import ClientError

from rdsshare.testing import EmulatedAWS

from ..accounts import OTHER, SOURCE, TARGET
from ._helpers import error_code, shared_cluster_snapshot, target_key


def test_shared_snapshot_resolves_by_arn(aws: EmulatedAWS) -> None:
    shared = shared_cluster_snapshot(aws)
    rds = aws.client(TARGET, "rds")

    described = rds.describe_db_cluster_snapshots(DBClusterSnapshotIdentifier=shared.snapshot_arn)
    [snapshot] = described["DBClusterSnapshots"]
    assert snapshot["DBClusterSnapshotArn"] == shared.snapshot_arn
    assert snapshot["SnapshotType"] == "shared"
    attributes = rds.describe_db_cluster_snapshot_attributes(DBClusterSnapshotIdentifier=shared.snapshot_arn)[
        "DBClusterSnapshotAttributesResult"
    ]["DBClusterSnapshotAttributes"]
    assert attributes == [{"AttributeName": "restore", "AttributeValues": [TARGET]}]

    key = target_key(aws)
    copy = rds.copy_db_cluster_snapshot(
        SourceDBClusterSnapshotIdentifier=shared.snapshot_arn,
        TargetDBClusterSnapshotIdentifier="received",
        KmsKeyId=key,
    )["DBClusterSnapshot"]
    assert copy["DBClusterSnapshotArn"].split(":")[4] == TARGET
    assert copy["KmsKeyId"] == key
    assert copy["SourceDBClusterSnapshotArn"] == shared.snapshot_arn

    restored = rds.restore_db_cluster_from_snapshot(
        DBClusterIdentifier="restored-direct",
        SnapshotIdentifier=shared.snapshot_arn,
        Engine="aurora-mysql",
    )["DBCluster"]
    assert restored["DBClusterArn"].split(":")[4] == TARGET


def test_listing_shared_snapshots(aws: EmulatedAWS) -> None:
    first = shared_cluster_snapshot(aws, cluster_id="orders", snapshot_id="orders-shared")
    second = shared_cluster_snapshot(aws, cluster_id="billing", snapshot_id="billing-shared")
    aws.create_cluster(TARGET, "own")
    rds = aws.client(TARGET, "rds")
    rds.create_db_cluster_snapshot(DBClusterIdentifier="own", DBClusterSnapshotIdentifier="own-snap")

    default = rds.describe_db_cluster_snapshots()["DBClusterSnapshots"]
    assert {s["SnapshotType"] for s in default} == {"automated", "manual"}

    included = rds.describe_db_cluster_snapshots(IncludeShared=True)["DBClusterSnapshots"]
    shared_arns = {s["DBClusterSnapshotArn"] for s in included if s["SnapshotType"] == "shared"}
    assert shared_arns == {first.snapshot_arn, second.snapshot_arn}
    assert any(s["DBClusterSnapshotIdentifier"] == "own-snap" for s in included)

    only_shared = rds.describe_db_cluster_snapshots(SnapshotType="shared")["DBClusterSnapshots"]
    assert {s["DBClusterSnapshotArn"] for s in only_shared} == shared_arns
    assert {s["SnapshotType"] for s in only_shared} == {"shared"}

    one = rds.describe_db_cluster_snapshots(DBClusterSnapshotIdentifier=second.snapshot_arn, SnapshotType="shared")[
        "DBClusterSnapshots"
    ]
    assert [s["DBClusterSnapshotArn"] for s in one] == [second.snapshot_arn]


def test_unshared_snapshot_stays_invisible(aws: EmulatedAWS) -> None:
    shared = shared_cluster_snapshot(aws, share_with=())
    rds = aws.client(TARGET, "rds")
    calls: dict[str, Callable[[], object]] = {
        "describe": lambda: rds.describe_db_cluster_snapshots(DBClusterSnapshotIdentifier=shared.snapshot_arn),
        "attributes": lambda: rds.describe_db_cluster_snapshot_attributes(
            DBClusterSnapshotIdentifier=shared.snapshot_arn
        ),
        "copy": lambda: rds.copy_db_cluster_snapshot(
            SourceDBClusterSnapshotIdentifier=shared.snapshot_arn,
            TargetDBClusterSnapshotIdentifier="stolen",
            KmsKeyId=target_key(aws),
        ),
        "restore": lambda: rds.restore_db_cluster_from_snapshot(
            DBClusterIdentifier="stolen",
            SnapshotIdentifier=shared.snapshot_arn,
            Engine="aurora-mysql",
        ),
    }
    for name, call in calls.items():
        with pytest.raises(ClientError) as raised:
            call()
        assert error_code(raised) == "DBClusterSnapshotNotFoundFault", name
    assert rds.describe_db_cluster_snapshots(SnapshotType="shared")["DBClusterSnapshots"] == []

    # Shared with TARGET does not mean shared with anyone else.
    aws.client(SOURCE, "rds").modify_db_cluster_snapshot_attribute(
        DBClusterSnapshotIdentifier=shared.snapshot_id,
        AttributeName="restore",
        ValuesToAdd=[TARGET],
    )
    with pytest.raises(ClientError) as raised:
        aws.client(OTHER, "rds").describe_db_cluster_snapshots(DBClusterSnapshotIdentifier=shared.snapshot_arn)
    assert error_code(raised) == "DBClusterSnapshotNotFoundFault"


def test_arn_never_resolves_to_own_same_named_snapshot(aws: EmulatedAWS) -> None:
    shared = shared_cluster_snapshot(aws, snapshot_id="orders-shared", share_with=())
    # TARGET happens to own a snapshot with the same name.
    aws.create_cluster(TARGET, "orders")
    rds = aws.client(TARGET, "rds")
    rds.create_db_cluster_snapshot(DBClusterIdentifier="orders", DBClusterSnapshotIdentifier="orders-shared")
    with pytest.raises(ClientError) as raised:
        rds.restore_db_cluster_from_snapshot(
            DBClusterIdentifier="wrong", SnapshotIdentifier=shared.snapshot_arn, Engine="aurora-mysql"
        )
    assert error_code(raised) == "DBClusterSnapshotNotFoundFault"
    with pytest.raises(ClientError):
        rds.describe_db_cluster_snapshots(DBClusterSnapshotIdentifier=shared.snapshot_arn)


def test_only_the_owner_modifies_the_restore_attribute(aws: EmulatedAWS) -> None:
    shared = shared_cluster_snapshot(aws)
    with pytest.raises(ClientError) as raised:
        aws.client(TARGET, "rds").modify_db_cluster_snapshot_attribute(
            DBClusterSnapshotIdentifier=shared.snapshot_arn,
            AttributeName="restore",
            ValuesToAdd=[OTHER],
        )
    assert error_code(raised) == "DBClusterSnapshotNotFoundFault"
    # The owner may name its snapshot by ARN too.
    result = aws.client(SOURCE, "rds").modify_db_cluster_snapshot_attribute(
        DBClusterSnapshotIdentifier=shared.snapshot_arn,
        AttributeName="restore",
        ValuesToRemove=[TARGET],
    )
    attributes = result["DBClusterSnapshotAttributesResult"]["DBClusterSnapshotAttributes"]
    assert attributes == [{"AttributeName": "restore", "AttributeValues": []}]


def _db_snapshot(aws: EmulatedAWS, *, encrypted: bool = False, share: bool = True) -> str:
    rds = aws.client(SOURCE, "rds")
    rds.create_db_instance(
        DBInstanceIdentifier="legacy",
        Engine="mysql",
        DBInstanceClass="db.t3.micro",
        MasterUsername="dbadmin",
        MasterUserPassword="not-a-real-password",
        AllocatedStorage=20,
        StorageEncrypted=encrypted,
    )
    arn = rds.create_db_snapshot(DBInstanceIdentifier="legacy", DBSnapshotIdentifier="legacy-snap")["DBSnapshot"][
        "DBSnapshotArn"
    ]
    if share:
        rds.modify_db_snapshot_attribute(
            DBSnapshotIdentifier="legacy-snap", AttributeName="restore", ValuesToAdd=[TARGET]
        )
    return str(arn)


def test_db_snapshots_are_shared_the_same_way(aws: EmulatedAWS) -> None:
    arn = _db_snapshot(aws)
    rds = aws.client(TARGET, "rds")
    [listed] = rds.describe_db_snapshots(SnapshotType="shared")["DBSnapshots"]
    assert (listed["DBSnapshotArn"], listed["SnapshotType"]) == (arn, "shared")
    included = rds.describe_db_snapshots(IncludeShared=True)["DBSnapshots"]
    assert [s["DBSnapshotArn"] for s in included] == [arn]
    assert rds.describe_db_snapshots(DBSnapshotIdentifier=arn)["DBSnapshots"][0]["DBSnapshotArn"] == arn

    copy = rds.copy_db_snapshot(SourceDBSnapshotIdentifier=arn, TargetDBSnapshotIdentifier="mine")
    assert copy["DBSnapshot"]["SourceDBSnapshotIdentifier"] == arn
    restored = rds.restore_db_instance_from_db_snapshot(DBInstanceIdentifier="legacy-b", DBSnapshotIdentifier=arn)[
        "DBInstance"
    ]
    assert restored["DBInstanceArn"].split(":")[4] == TARGET

    aws.client(SOURCE, "rds").modify_db_snapshot_attribute(
        DBSnapshotIdentifier="legacy-snap", AttributeName="restore", ValuesToRemove=[TARGET]
    )
    for call in (
        lambda: rds.describe_db_snapshots(DBSnapshotIdentifier=arn),
        lambda: rds.copy_db_snapshot(SourceDBSnapshotIdentifier=arn, TargetDBSnapshotIdentifier="x"),
        lambda: rds.restore_db_instance_from_db_snapshot(DBInstanceIdentifier="x", DBSnapshotIdentifier=arn),
    ):
        with pytest.raises(ClientError) as raised:
            call()
        assert error_code(raised) == "DBSnapshotNotFound"


def test_db_snapshot_arn_never_resolves_to_own_same_named_snapshot(aws: EmulatedAWS) -> None:
    arn = _db_snapshot(aws, share=False)
    rds = aws.client(TARGET, "rds")
    rds.create_db_instance(
        DBInstanceIdentifier="legacy",
        Engine="mysql",
        DBInstanceClass="db.t3.micro",
        MasterUsername="dbadmin",
        MasterUserPassword="not-a-real-password",
        AllocatedStorage=20,
    )
    rds.create_db_snapshot(DBInstanceIdentifier="legacy", DBSnapshotIdentifier="legacy-snap")
    with pytest.raises(ClientError) as raised:
        rds.restore_db_instance_from_db_snapshot(DBInstanceIdentifier="y", DBSnapshotIdentifier=arn)
    assert error_code(raised) == "DBSnapshotNotFound"


def test_shared_encrypted_db_snapshot_must_be_copied_before_restore(aws: EmulatedAWS) -> None:
    arn = _db_snapshot(aws, encrypted=True, share=False)
    rds_source = aws.client(SOURCE, "rds")
    # Re-encrypt under a key TARGET may use; aws/rds snapshots are unusable elsewhere.
    from ._helpers import create_cmk

    key = create_cmk(aws, SOURCE, [TARGET])
    copy_arn = rds_source.copy_db_snapshot(
        SourceDBSnapshotIdentifier=arn, TargetDBSnapshotIdentifier="legacy-cmk", KmsKeyId=key
    )["DBSnapshot"]["DBSnapshotArn"]
    rds_source.modify_db_snapshot_attribute(
        DBSnapshotIdentifier="legacy-cmk", AttributeName="restore", ValuesToAdd=[TARGET]
    )
    rds = aws.client(TARGET, "rds")
    with pytest.raises(ClientError) as raised:
        rds.restore_db_instance_from_db_snapshot(DBInstanceIdentifier="direct", DBSnapshotIdentifier=copy_arn)
    assert error_code(raised) == "InvalidParameterValue"
    mine = rds.copy_db_snapshot(
        SourceDBSnapshotIdentifier=copy_arn,
        TargetDBSnapshotIdentifier="legacy-mine",
        KmsKeyId=target_key(aws),
    )["DBSnapshot"]
    assert mine["Encrypted"] is True
    rds.restore_db_instance_from_db_snapshot(DBInstanceIdentifier="from-copy", DBSnapshotIdentifier="legacy-mine")


def test_include_shared_respects_the_cluster_filter(aws: EmulatedAWS) -> None:
    shared = shared_cluster_snapshot(aws, cluster_id="orders")
    rds = aws.client(TARGET, "rds")
    by_source_cluster = rds.describe_db_cluster_snapshots(DBClusterIdentifier="orders", IncludeShared=True)
    assert [s["DBClusterSnapshotArn"] for s in by_source_cluster["DBClusterSnapshots"]] == [shared.snapshot_arn]
    other_cluster = rds.describe_db_cluster_snapshots(DBClusterIdentifier="billing", IncludeShared=True)
    assert other_cluster["DBClusterSnapshots"] == []
    filtered = rds.describe_db_cluster_snapshots(
        SnapshotType="shared", Filters=[{"Name": "db-cluster-snapshot-id", "Values": ["nope"]}]
    )
    assert filtered["DBClusterSnapshots"] == []


def test_the_target_sees_the_arn_in_the_identifier_fields_and_not_the_owners_name(aws: EmulatedAWS) -> None:
    """boto/boto3 #2335 (real output), terraform-provider-aws #3907 (docs/sources/aws-rules-2.md)."""
    shared = shared_cluster_snapshot(aws)
    rds = aws.client(TARGET, "rds")
    for listed in (
        rds.describe_db_cluster_snapshots(SnapshotType="shared")["DBClusterSnapshots"],
        rds.describe_db_cluster_snapshots(DBClusterSnapshotIdentifier=shared.snapshot_arn)["DBClusterSnapshots"],
        [
            s
            for s in rds.describe_db_cluster_snapshots(IncludeShared=True)["DBClusterSnapshots"]
            if s["SnapshotType"] == "shared"
        ],
    ):
        [snapshot] = listed
        assert snapshot["DBClusterSnapshotIdentifier"] == shared.snapshot_arn
    # The owner's plain name means nothing to the target, with or without SnapshotType.
    with pytest.raises(ClientError) as raised:
        rds.describe_db_cluster_snapshots(DBClusterSnapshotIdentifier=shared.snapshot_id)
    assert error_code(raised) == "DBClusterSnapshotNotFoundFault"
    assert (
        rds.describe_db_cluster_snapshots(SnapshotType="shared", DBClusterSnapshotIdentifier=shared.snapshot_id)[
            "DBClusterSnapshots"
        ]
        == []
    )
    # The owner still sees its own name.
    own = aws.client(SOURCE, "rds").describe_db_cluster_snapshots(DBClusterSnapshotIdentifier=shared.snapshot_id)
    assert own["DBClusterSnapshots"][0]["DBClusterSnapshotIdentifier"] == shared.snapshot_id


def test_public_and_shared_are_different_types(aws: EmulatedAWS) -> None:
    """``shared`` is shared with my account, ``public`` marked public; IncludePublic adds public ones."""
    aws.create_cluster(SOURCE, "open", encryption="none", instances=0)
    rds = aws.client(SOURCE, "rds")
    rds.create_db_cluster_snapshot(DBClusterIdentifier="open", DBClusterSnapshotIdentifier="open-snap")
    rds.modify_db_cluster_snapshot_attribute(
        DBClusterSnapshotIdentifier="open-snap", AttributeName="restore", ValuesToAdd=["all"]
    )
    shared = shared_cluster_snapshot(aws)
    target = aws.client(TARGET, "rds")
    public_arn = f"arn:aws:rds:us-east-1:{SOURCE}:cluster-snapshot:open-snap"

    def arns(**kwargs: object) -> set[str]:
        found = target.describe_db_cluster_snapshots(**kwargs)["DBClusterSnapshots"]  # type: ignore[arg-type]
        return {s["DBClusterSnapshotArn"] for s in found if s["DBClusterSnapshotArn"].split(":")[4] == SOURCE}

    assert arns(SnapshotType="shared") == {shared.snapshot_arn}
    assert arns(SnapshotType="public") == {public_arn}
    assert arns(IncludeShared=True) == {shared.snapshot_arn}
    assert arns(IncludePublic=True) == {public_arn}
    assert arns(IncludeShared=True, IncludePublic=True) == {shared.snapshot_arn, public_arn}
    assert arns() == set()
    # The flags don't apply to manual/automated (botocore model).
    assert arns(SnapshotType="manual", IncludeShared=True, IncludePublic=True) == set()
    # Anyone may restore a public (unencrypted) snapshot.
    aws.client(OTHER, "rds").restore_db_cluster_from_snapshot(
        DBClusterIdentifier="anyone", SnapshotIdentifier=public_arn, Engine="aurora-mysql"
    )
