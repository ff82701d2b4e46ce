"""Answers as botocore's service model describes them, where an audit against the model found moto wrong.

Each test quotes the model text it follows (botocore 1.44 ``rds/2014-10-31`` and ``kms/2014-11-01``).
"""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from rdsshare.testing import EmulatedAWS

from ..accounts import SOURCE
from ._helpers import error_code


def test_an_automated_snapshot_is_found_by_identifier_only_with_its_snapshot_type(aws: EmulatedAWS) -> None:
    """ "If this identifier is for an automated snapshot, the SnapshotType parameter must also be specified.\""""
    aws.create_cluster(SOURCE, "orders", instances=0)
    rds = aws.client(SOURCE, "rds")
    [automated] = rds.describe_db_cluster_snapshots(SnapshotType="automated")["DBClusterSnapshots"]
    name = automated["DBClusterSnapshotIdentifier"]
    assert name.startswith("rds:orders-")
    for identifier in (name, automated["DBClusterSnapshotArn"]):
        with pytest.raises(ClientError) as raised:
            rds.describe_db_cluster_snapshots(DBClusterSnapshotIdentifier=identifier)
        assert error_code(raised) == "DBClusterSnapshotNotFoundFault"
        found = rds.describe_db_cluster_snapshots(DBClusterSnapshotIdentifier=identifier, SnapshotType="automated")
        assert found["DBClusterSnapshots"][0]["DBClusterSnapshotArn"] == automated["DBClusterSnapshotArn"]


def test_a_delete_names_its_final_snapshot_or_skips_it_never_both(aws: EmulatedAWS) -> None:
    """``SkipFinalSnapshot``: "If SkipFinalSnapshot is disabled, you must specify a value for the
    FinalDBSnapshotIdentifier parameter"; ``FinalDBSnapshotIdentifier``: with SkipFinalSnapshot, "the request
    results in an error"."""
    aws.create_cluster(SOURCE, "orders", instances=0)
    rds = aws.client(SOURCE, "rds")
    for params in ({}, {"SkipFinalSnapshot": True, "FinalDBSnapshotIdentifier": "orders-final"}):
        with pytest.raises(ClientError) as raised:
            rds.delete_db_cluster(DBClusterIdentifier="orders", **params)  # type: ignore[arg-type]
        assert error_code(raised) == "InvalidParameterCombination", params
    deleted = rds.delete_db_cluster(DBClusterIdentifier="orders", FinalDBSnapshotIdentifier="orders-final")
    assert deleted["DBCluster"]["Status"] == "deleting"
    final = rds.describe_db_cluster_snapshots(DBClusterSnapshotIdentifier="orders-final")["DBClusterSnapshots"]
    assert final[0]["SnapshotType"] == "manual"


@pytest.mark.parametrize("keep", [None, False, True])
def test_deleting_a_cluster_removes_its_automated_snapshots_unless_told_to_keep_them(
    aws: EmulatedAWS, keep: bool | None
) -> None:
    """``DeleteAutomatedBackups``: "The default is to remove automated backups immediately after the DB
    cluster is deleted"."""
    aws.create_cluster(SOURCE, "orders", instances=0)
    aws.create_cluster(SOURCE, "billing", instances=0)
    rds = aws.client(SOURCE, "rds")
    params = {} if keep is None else {"DeleteAutomatedBackups": keep}
    rds.delete_db_cluster(DBClusterIdentifier="orders", SkipFinalSnapshot=True, **params)  # type: ignore[arg-type]
    left = {
        s["DBClusterIdentifier"]
        for s in rds.describe_db_cluster_snapshots(SnapshotType="automated")["DBClusterSnapshots"]
    }
    assert left == ({"orders", "billing"} if keep is False else {"billing"})


def test_snapshot_and_owner_identifiers_do_not_combine(aws: EmulatedAWS) -> None:
    """``DBClusterSnapshotIdentifier``: "This parameter can't be used in conjunction with the
    DBClusterIdentifier parameter.\""""
    aws.create_cluster(SOURCE, "orders", instances=0)
    rds = aws.client(SOURCE, "rds")
    rds.create_db_cluster_snapshot(DBClusterIdentifier="orders", DBClusterSnapshotIdentifier="s1")
    with pytest.raises(ClientError) as raised:
        rds.describe_db_cluster_snapshots(DBClusterIdentifier="orders", DBClusterSnapshotIdentifier="s1")
    assert error_code(raised) == "InvalidParameterCombination"


def test_tagging_calls_need_an_existing_resource(aws: EmulatedAWS) -> None:
    """``ListTagsForResource``/``AddTagsToResource`` list the not-found faults of each resource type."""
    rds = aws.client(SOURCE, "rds")
    missing = f"arn:aws:rds:us-east-1:{SOURCE}"
    for arn, code in (
        (f"{missing}:cluster:nope", "DBClusterNotFoundFault"),
        (f"{missing}:db:nope", "DBInstanceNotFound"),
        (f"{missing}:cluster-snapshot:nope", "DBClusterSnapshotNotFoundFault"),
        (f"{missing}:snapshot:nope", "DBSnapshotNotFound"),
    ):
        with pytest.raises(ClientError) as raised:
            rds.list_tags_for_resource(ResourceName=arn)
        assert error_code(raised) == code
    cluster = aws.create_cluster(SOURCE, "orders", instances=0)
    rds.add_tags_to_resource(ResourceName=cluster["DBClusterArn"], Tags=[{"Key": "team", "Value": "db"}])
    assert {"Key": "team", "Value": "db"} in rds.list_tags_for_resource(ResourceName=cluster["DBClusterArn"])["TagList"]


def test_kms_answers_not_found_for_grants_on_an_unknown_key_and_keeps_alias_aws_for_aws(aws: EmulatedAWS) -> None:
    """``CreateGrant``/``ListGrants`` list ``NotFoundException``; ``CreateAlias.AliasName``: "The alias name
    cannot begin with alias/aws/.\""""
    kms = aws.client(SOURCE, "kms")
    unknown = "11111111-2222-3333-4444-555555555555"
    for call in (
        lambda: kms.create_grant(KeyId=unknown, GranteePrincipal=f"arn:aws:iam::{SOURCE}:root", Operations=["Decrypt"]),
        lambda: kms.list_grants(KeyId=unknown),
    ):
        with pytest.raises(ClientError) as raised:
            call()
        assert error_code(raised) == "NotFoundException"
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    with pytest.raises(ClientError) as raised:
        kms.create_alias(AliasName="alias/aws/mine", TargetKeyId=key)
    assert error_code(raised) == "NotAuthorizedException"


def test_default_option_groups_exist(aws: EmulatedAWS) -> None:
    """Every engine version has a default option group AWS can describe (``default:<engine>-<major>``)."""
    instance = aws.create_instance(SOURCE, "orders", engine="postgres")
    [membership] = instance["OptionGroupMemberships"]
    assert membership["OptionGroupName"] == "default:postgres-17"
    rds = aws.client(SOURCE, "rds")
    [group] = rds.describe_option_groups(OptionGroupName="default:postgres-17")["OptionGroupsList"]
    assert (group["EngineName"], group["Options"]) == ("postgres", [])
    assert [g["OptionGroupName"] for g in rds.describe_option_groups()["OptionGroupsList"]] == ["default:postgres-17"]


def test_key_policy_calls_default_the_policy_name(aws: EmulatedAWS) -> None:
    """``PolicyName``: "If no policy name is specified, the default value is default"."""
    kms = aws.client(SOURCE, "kms")
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    policy = kms.get_key_policy(KeyId=key)["Policy"]
    kms.put_key_policy(KeyId=key, Policy=policy)
    assert kms.get_key_policy(KeyId=key, PolicyName="default")["Policy"] == policy
    with pytest.raises(ClientError) as raised:
        kms.get_key_policy(KeyId=key, PolicyName="other")
    assert error_code(raised) == "NotFoundException"
