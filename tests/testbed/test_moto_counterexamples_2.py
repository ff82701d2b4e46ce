"""Plain moto 5.2.5 gets the second set of rules wrong (docs/sources/aws-rules-2.md): each rule of the bed is needed.

One test per rule of the second set, numbered as in the bed's docs ("Test bed" page): each shows plain
``mock_aws`` accepting what AWS refuses or answering what AWS does not.
"""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from ..accounts import SOURCE, TARGET
from .conftest import Clients

PASSWORD = "password-123"


def _cluster(rds: Any, cluster_id: str = "orders", **kwargs: Any) -> dict[str, Any]:
    return dict(
        rds.create_db_cluster(
            DBClusterIdentifier=cluster_id, Engine="aurora-mysql", MasterUsername="admin", MasterUserPassword=PASSWORD,
            **kwargs,
        )["DBCluster"]
    )  # fmt: skip


def _instance(rds: Any, instance_id: str, engine: str, **kwargs: Any) -> dict[str, Any]:
    return dict(
        rds.create_db_instance(
            DBInstanceIdentifier=instance_id, Engine=engine, DBInstanceClass="db.t3.micro", MasterUsername="admin",
            MasterUserPassword=PASSWORD, AllocatedStorage=20, **kwargs,
        )["DBInstance"]
    )  # fmt: skip


def test_r1_moto_defaults_to_versions_it_cannot_list(plain: Clients) -> None:
    rds = plain(SOURCE, "rds")
    assert _instance(rds, "pg", "postgres")["EngineVersion"] == "9.3.3"  # AWS: the current default
    assert _instance(rds, "my", "mysql")["EngineVersion"] == "5.6.21"
    with pytest.raises(NotImplementedError):  # AWS lists versions, DefaultOnly returns the default
        rds.describe_db_engine_versions(Engine="postgres", DefaultOnly=True)
    with pytest.raises(KeyError):  # AWS: MariaDB instances work
        _instance(rds, "maria", "mariadb")
    assert _cluster(rds, EngineVersion="9.9.9")["EngineVersion"] == "9.9.9"  # AWS: Cannot find version


def test_r2_moto_accepts_identifiers_aws_refuses(plain: Clients) -> None:
    rds = plain(SOURCE, "rds")
    _cluster(rds)
    for bad in ("a" * 64, "double--hyphen", "trailing-"):  # AWS: InvalidParameterValue
        rds.create_db_cluster_snapshot(DBClusterIdentifier="orders", DBClusterSnapshotIdentifier=bad)


def test_r3_moto_shows_the_target_the_owners_name(plain: Clients) -> None:
    source, target = plain(SOURCE, "rds"), plain(TARGET, "rds")
    _cluster(source)
    source.create_db_cluster_snapshot(DBClusterIdentifier="orders", DBClusterSnapshotIdentifier="orders-snap")
    source.modify_db_cluster_snapshot_attribute(
        DBClusterSnapshotIdentifier="orders-snap", AttributeName="restore", ValuesToAdd=[TARGET]
    )
    [listed] = target.describe_db_cluster_snapshots(SnapshotType="shared")["DBClusterSnapshots"]
    assert listed["DBClusterSnapshotIdentifier"] == "orders-snap"  # AWS: the snapshot's ARN
    assert listed["SnapshotType"] == "manual"  # AWS: shared
    assert target.describe_db_cluster_snapshots(IncludePublic=True)["DBClusterSnapshots"] == []


def test_r4_moto_gives_every_instance_restore_a_secret_and_repeats_secrets(plain: Clients) -> None:
    rds = plain(SOURCE, "rds")
    _instance(rds, "pg", "postgres")
    rds.create_db_snapshot(DBInstanceIdentifier="pg", DBSnapshotIdentifier="pg-snap")
    restored = rds.restore_db_instance_from_db_snapshot(
        DBInstanceIdentifier="pg-2", DBSnapshotIdentifier="pg-snap", ManageMasterUserPassword=True
    )["DBInstance"]
    assert "MasterUserSecret" in restored  # AWS: Oracle only; a PostgreSQL restore gets no secret
    cluster = _cluster(rds, "managed")
    del cluster
    first = rds.modify_db_cluster(DBClusterIdentifier="managed", ManageMasterUserPassword=True)
    second = rds.modify_db_cluster(DBClusterIdentifier="managed", ManageMasterUserPassword=True)
    assert first["DBCluster"]["MasterUserSecret"]["SecretArn"] != second["DBCluster"]["MasterUserSecret"]["SecretArn"]
    described = plain(SOURCE, "secretsmanager").describe_secret(
        SecretId=first["DBCluster"]["MasterUserSecret"]["SecretArn"]
    )
    assert "RotationEnabled" not in described  # AWS: rotation on, every 7 days


def test_r5_moto_keeps_databases_up_whatever_their_key_does(plain: Clients) -> None:
    kms, rds = plain(SOURCE, "kms"), plain(SOURCE, "rds")
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    _cluster(rds, StorageEncrypted=True, KmsKeyId=key)
    kms.disable_key(KeyId=key)
    kms.encrypt(KeyId=key, Plaintext=b"x")  # AWS: DisabledException
    status = rds.describe_db_clusters(DBClusterIdentifier="orders")["DBClusters"][0]["Status"]
    assert status == "available"  # AWS: inaccessible-encryption-credentials-recoverable


def test_r6_moto_makes_no_grants_and_takes_any_pending_window(plain: Clients) -> None:
    kms, rds = plain(SOURCE, "kms"), plain(SOURCE, "rds")
    key = kms.create_key()["KeyMetadata"]["Arn"]
    _cluster(rds, StorageEncrypted=True, KmsKeyId=key)
    assert kms.list_grants(KeyId=key)["Grants"] == []  # AWS: RDS's grant
    kms.schedule_key_deletion(KeyId=key, PendingWindowInDays=3)  # AWS: ValidationException (7-30)
    policy = {
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{SOURCE}:root"},
                "Action": "kms:*",
                "Resource": "*",
            },
            {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{TARGET}:role/nobody"}, "Action": "kms:*"},
        ]
    }
    kms.create_key(Policy=json.dumps(policy))  # AWS: invalid principals (the role does not exist)


def test_r7_moto_ignores_identity_policies(plain: Clients) -> None:
    iam = plain(SOURCE, "iam")
    iam.create_role(RoleName="reader", AssumeRolePolicyDocument=json.dumps({"Statement": []}))
    iam.put_role_policy(
        RoleName="reader",
        PolicyName="read",
        PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "rds:Describe*", "Resource": "*"}]}
        ),
    )
    sts = plain(SOURCE, "sts")
    creds = sts.assume_role(RoleArn=f"arn:aws:iam::{SOURCE}:role/reader", RoleSessionName="reader")["Credentials"]
    factory: Any = boto3.client
    rds = factory(
        "rds", region_name="us-east-1", aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"], aws_session_token=creds["SessionToken"],
    )  # fmt: skip
    _cluster(rds)  # AWS: AccessDenied, the role may only describe


def test_r8_moto_shares_tde_snapshots_and_hides_permanence(plain: Clients) -> None:
    rds = plain(SOURCE, "rds")
    rds.create_option_group(
        OptionGroupName="tde", EngineName="sqlserver-se", MajorEngineVersion="15.00", OptionGroupDescription="t"
    )
    rds.modify_option_group(OptionGroupName="tde", OptionsToInclude=[{"OptionName": "TDE"}], ApplyImmediately=True)
    [option] = rds.describe_option_groups(OptionGroupName="tde")["OptionGroupsList"][0]["Options"]
    assert "Permanent" not in option  # AWS: Permanent and Persistent are true for TDE
    rds.create_option_group(
        OptionGroupName="mine", EngineName="mysql", MajorEngineVersion="8.0", OptionGroupDescription="m"
    )
    # AWS: mysql offers no TDE option
    rds.modify_option_group(OptionGroupName="mine", OptionsToInclude=[{"OptionName": "TDE"}], ApplyImmediately=True)
    _instance(rds, "tde-db", "mysql", OptionGroupName="mine")
    rds.create_db_snapshot(DBInstanceIdentifier="tde-db", DBSnapshotIdentifier="tde-snap")
    rds.modify_db_snapshot_attribute(  # AWS: a TDE snapshot can't be shared
        DBSnapshotIdentifier="tde-snap", AttributeName="restore", ValuesToAdd=[TARGET]
    )


def test_r9_moto_has_no_cluster_or_instance_quotas(plain: Clients) -> None:
    rds = plain(SOURCE, "rds")
    for number in range(41):  # AWS: 40 DB clusters per region by default (DBClusterQuotaExceededFault)
        _cluster(rds, f"c{number}")


def test_r10_moto_takes_serverless_instances_without_scaling(plain: Clients) -> None:
    rds = plain(SOURCE, "rds")
    _cluster(rds)
    rds.create_db_instance(  # AWS: InvalidDBClusterStateFault, set the scaling configuration first
        DBInstanceIdentifier="sv2", DBClusterIdentifier="orders", Engine="aurora-mysql", DBInstanceClass="db.serverless"
    )


def test_r11_moto_calls_new_clusters_unencrypted(plain: Clients) -> None:
    rds = plain(SOURCE, "rds")
    cluster = _cluster(rds)
    assert cluster["StorageEncrypted"] is False
    assert "StorageEncryptionType" not in cluster  # AWS: sse-rds, an AWS owned key
    with pytest.raises(ClientError):  # sanity: moto does answer errors it knows
        rds.describe_db_clusters(DBClusterIdentifier="missing")


def test_r12_moto_keeps_a_deleted_clusters_automated_snapshots(plain: Clients) -> None:
    rds = plain(SOURCE, "rds")
    _cluster(rds)
    rds.delete_db_cluster(DBClusterIdentifier="orders", SkipFinalSnapshot=True)
    # AWS: removed with the cluster. Kept, its rds:orders-<minute> name refuses a cluster made again
    # under the same id within that minute (DBClusterSnapshotAlreadyExistsFault from CreateDBCluster).
    automated = rds.describe_db_cluster_snapshots(SnapshotType="automated")["DBClusterSnapshots"]
    assert [s["DBClusterIdentifier"] for s in automated] == ["orders"]


def test_r13_moto_needs_a_key_policy_name(plain: Clients) -> None:
    kms = plain(SOURCE, "kms")
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    with pytest.raises(ClientError) as raised:  # AWS: PolicyName defaults to "default"
        kms.get_key_policy(KeyId=key)
    assert raised.value.response["Error"]["Code"] == "NotFoundException"


def test_r14_moto_lists_no_parameter_group_instead_of_refusing(plain: Clients) -> None:
    rds = plain(TARGET, "rds")
    # AWS: DBParameterGroupNotFound (botocore model); moto answers an empty list, so a missing group
    # is only noticed by the restore that names it.
    assert rds.describe_db_parameter_groups(DBParameterGroupName="no-such-group")["DBParameterGroups"] == []


def test_r15_moto_restores_the_sources_settings_and_knows_no_aurora_storage(plain: Clients) -> None:
    rds = plain(SOURCE, "rds")
    with pytest.raises(KeyError):  # AWS: aurora-iopt1 is Aurora I/O-Optimized storage
        _cluster(rds, "iopt", StorageType="aurora-iopt1")
    assert _cluster(rds, "std")["StorageType"] == "gp2"  # AWS: aurora
    cluster = _cluster(rds, BacktrackWindow=3600, EngineLifecycleSupport="open-source-rds-extended-support-disabled")
    assert "EngineLifecycleSupport" not in cluster  # AWS: reported
    rds.create_db_cluster_snapshot(DBClusterIdentifier="orders", DBClusterSnapshotIdentifier="s")
    rds.restore_db_cluster_from_snapshot(DBClusterIdentifier="back", SnapshotIdentifier="s", Engine="aurora-mysql")
    restored = rds.describe_db_clusters(DBClusterIdentifier="back")["DBClusters"][0]
    assert restored["BacktrackWindow"] == 3600  # AWS: "Default: 0"


def test_r16_moto_renames_onto_a_taken_name_and_loses_the_members(plain: Clients) -> None:
    rds = plain(TARGET, "rds")
    _cluster(rds, "staging")
    rds.create_db_instance(
        DBInstanceIdentifier="staging-1", DBClusterIdentifier="staging", Engine="aurora-mysql",
        DBInstanceClass="db.r6g.large",
    )  # fmt: skip
    other = _cluster(rds, "other")
    rds.modify_db_cluster(DBClusterIdentifier="staging", NewDBClusterIdentifier="other")  # AWS: AlreadyExists
    [left] = rds.describe_db_clusters()["DBClusters"]  # the cluster that had the name is gone
    assert left["DbClusterResourceId"] != other["DbClusterResourceId"]
    assert left["DBClusterMembers"] == []  # AWS: its instances stay its members
    assert left["Status"] == "available"  # AWS: renaming, and only with ApplyImmediately


def test_r17_moto_draws_a_new_endpoint_suffix_for_every_cluster(plain: Clients) -> None:
    rds = plain(TARGET, "rds")
    one, two = _cluster(rds, "one"), _cluster(rds, "two")
    # AWS: <name>.cluster-<one id per account and region>.<region>.rds.amazonaws.com
    assert one["Endpoint"].split(".")[1] != two["Endpoint"].split(".")[1]


def test_r18_moto_gives_every_instance_the_same_resource_id(plain: Clients) -> None:
    rds = plain(TARGET, "rds")
    one, two = _instance(rds, "one", "postgres"), _instance(rds, "two", "postgres")
    assert one["DbiResourceId"] == two["DbiResourceId"]  # AWS: "Region-unique, immutable"


def test_r19_moto_cannot_copy_a_shared_snapshot_across_account_and_region(plain: Clients) -> None:
    source = plain(SOURCE, "rds")
    _cluster(source, StorageEncrypted=True)
    arn = source.create_db_cluster_snapshot(DBClusterIdentifier="orders", DBClusterSnapshotIdentifier="s")[
        "DBClusterSnapshot"
    ]["DBClusterSnapshotArn"]
    source.modify_db_cluster_snapshot_attribute(
        DBClusterSnapshotIdentifier="s", AttributeName="restore", ValuesToAdd=[TARGET]
    )
    creds = plain(TARGET, "sts").assume_role(RoleArn=f"arn:aws:iam::{TARGET}:role/plain", RoleSessionName="plain")[
        "Credentials"
    ]
    factory: Any = boto3.client
    west = factory(
        "rds", region_name="us-west-2", aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"], aws_session_token=creds["SessionToken"],
    )  # fmt: skip  # the target, in another region
    with pytest.raises(ClientError) as raised:  # AWS: one step since 2025-09, with a destination-region key
        west.copy_db_cluster_snapshot(
            SourceDBClusterSnapshotIdentifier=arn, TargetDBClusterSnapshotIdentifier="c", SourceRegion="us-east-1",
            KmsKeyId="alias/aws/rds",
        )  # fmt: skip
    assert raised.value.response["Error"]["Code"] == "DBClusterSnapshotNotFoundFault"


def test_r20_moto_restores_an_instance_with_the_sources_settings_and_no_lifecycle(plain: Clients) -> None:
    rds = plain(SOURCE, "rds")
    _instance(
        rds,
        "orders",
        "postgres",
        MultiAZ=True,
        DeletionProtection=True,
        EngineLifecycleSupport="open-source-rds-extended-support-disabled",
    )
    rds.create_db_snapshot(DBInstanceIdentifier="orders", DBSnapshotIdentifier="s")
    rds.restore_db_instance_from_db_snapshot(DBInstanceIdentifier="back", DBSnapshotIdentifier="s")
    back = rds.describe_db_instances(DBInstanceIdentifier="back")["DBInstances"][0]
    assert back["MultiAZ"] is True  # AWS: not Multi-AZ unless asked
    assert back["DeletionProtection"] is True  # AWS: "By default, deletion protection isn't enabled"
    assert "EngineLifecycleSupport" not in back  # AWS: reported (default: enrolled)
