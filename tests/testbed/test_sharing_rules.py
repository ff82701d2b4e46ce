"""Rule 5: what the ``restore`` attribute accepts [AUR-SHARE], [RDS-SHARE], [BC-RDS], docs/sources/aws-rules.md §2."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from rdsshare.testing import EmulatedAWS

from ..accounts import OTHER, SOURCE, TARGET
from ._helpers import error_code


def _share(aws: EmulatedAWS, snapshot_id: str, **kwargs: Any) -> list[str]:
    result = aws.client(SOURCE, "rds").modify_db_cluster_snapshot_attribute(
        DBClusterSnapshotIdentifier=snapshot_id, AttributeName="restore", **kwargs
    )
    [attribute] = result["DBClusterSnapshotAttributesResult"]["DBClusterSnapshotAttributes"]
    return list(attribute["AttributeValues"])


@pytest.fixture
def snapshots(aws: EmulatedAWS) -> EmulatedAWS:
    """SOURCE has an encrypted snapshot ``enc`` and an unencrypted snapshot ``plain``."""
    aws.create_cluster(SOURCE, "enc")
    aws.create_cluster(SOURCE, "plain", encrypted=False)
    rds = aws.client(SOURCE, "rds")
    rds.create_db_cluster_snapshot(DBClusterIdentifier="enc", DBClusterSnapshotIdentifier="enc")
    rds.create_db_cluster_snapshot(DBClusterIdentifier="plain", DBClusterSnapshotIdentifier="plain")
    return aws


def test_all_is_refused_for_encrypted_snapshots(snapshots: EmulatedAWS) -> None:
    with pytest.raises(ClientError) as raised:
        _share(snapshots, "enc", ValuesToAdd=["all"])
    assert error_code(raised) == "InvalidParameterValue"
    assert _share(snapshots, "plain", ValuesToAdd=["all"]) == ["all"]
    # A public unencrypted snapshot is visible to any account by ARN, as a public one.
    arn = f"arn:aws:rds:us-east-1:{SOURCE}:cluster-snapshot:plain"
    found = snapshots.client(OTHER, "rds").describe_db_cluster_snapshots(DBClusterSnapshotIdentifier=arn)
    assert found["DBClusterSnapshots"][0]["SnapshotType"] == "public"


def test_values_must_be_account_ids_or_all(snapshots: EmulatedAWS) -> None:
    for value in ("12345", "1234567890123", "not-an-account", "ALL", ""):
        with pytest.raises(ClientError) as raised:
            _share(snapshots, "plain", ValuesToAdd=[value])
        assert error_code(raised) == "InvalidParameterValue", value
    assert _share(snapshots, "plain") == []


def test_adding_an_account_twice_keeps_one_entry(snapshots: EmulatedAWS) -> None:
    assert _share(snapshots, "enc", ValuesToAdd=[TARGET]) == [TARGET]
    assert _share(snapshots, "enc", ValuesToAdd=[TARGET, OTHER, TARGET]) == [TARGET, OTHER]
    assert _share(snapshots, "enc", ValuesToRemove=[TARGET]) == [OTHER]


def test_db_snapshot_attribute_does_not_duplicate(aws: EmulatedAWS) -> None:
    rds = aws.client(SOURCE, "rds")
    rds.create_db_instance(
        DBInstanceIdentifier="legacy",
        Engine="mysql",
        DBInstanceClass="db.t3.micro",
        MasterUsername="dbadmin",
        MasterUserPassword="not-a-real-password",
        AllocatedStorage=20,
    )
    rds.create_db_snapshot(DBInstanceIdentifier="legacy", DBSnapshotIdentifier="legacy-snap")
    for _ in range(2):
        result = rds.modify_db_snapshot_attribute(
            DBSnapshotIdentifier="legacy-snap", AttributeName="restore", ValuesToAdd=[TARGET]
        )
    attributes = result["DBSnapshotAttributesResult"]["DBSnapshotAttributes"]
    assert attributes == [{"AttributeName": "restore", "AttributeValues": [TARGET]}]


def test_at_most_twenty_accounts(snapshots: EmulatedAWS) -> None:
    accounts = [f"{900000000000 + i}" for i in range(20)]
    assert len(_share(snapshots, "enc", ValuesToAdd=accounts)) == 20
    with pytest.raises(ClientError) as raised:
        _share(snapshots, "enc", ValuesToAdd=[TARGET])
    assert error_code(raised) == "SharedSnapshotQuotaExceeded"
    assert len(_share(snapshots, "enc", ValuesToAdd=[TARGET], ValuesToRemove=[accounts[0]])) == 20


def test_automated_snapshots_cannot_be_shared(snapshots: EmulatedAWS) -> None:
    rds = snapshots.client(SOURCE, "rds")
    automated = rds.describe_db_cluster_snapshots(DBClusterIdentifier="enc", SnapshotType="automated")
    snapshot_id = automated["DBClusterSnapshots"][0]["DBClusterSnapshotIdentifier"]
    with pytest.raises(ClientError) as raised:
        _share(snapshots, snapshot_id, ValuesToAdd=[TARGET])
    assert error_code(raised) == "InvalidDBClusterSnapshotStateFault"
