"""Option groups and Aurora Serverless v2 (docs/sources/aws-rules-2.md "Option groups, Serverless v2, quotas").

* Options report ``Permanent``/``Persistent``; a DB snapshot whose option group has permanent or
  persistent options (Oracle Timezone and OLS excepted), or TDE, can't be shared [RDS-SHARE].
* A ``db.serverless`` instance needs the cluster's ``ServerlessV2ScalingConfiguration`` first
  (terraform-aws-rds-aurora #537); MinCapacity 0-256, MaxCapacity up to 256 (botocore model).
* ``DescribeDBParameterGroups`` of a group that does not exist is ``DBParameterGroupNotFound``
  (botocore model); ``default.*`` names are left to moto, which lists the defaults it made.
"""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from rdsshare.testing import EmulatedAWS

from ..accounts import SOURCE, TARGET
from ._helpers import error_code

PASSWORD = "password-123"


def _group(aws: EmulatedAWS, name: str, engine: str, major: str, option: str) -> dict[str, Any]:
    rds = aws.client(SOURCE, "rds")
    rds.create_option_group(
        OptionGroupName=name, EngineName=engine, MajorEngineVersion=major, OptionGroupDescription=name
    )
    rds.modify_option_group(OptionGroupName=name, OptionsToInclude=[{"OptionName": option}], ApplyImmediately=True)
    [group] = rds.describe_option_groups(OptionGroupName=name)["OptionGroupsList"]
    return dict(group)


def _share_snapshot_of(aws: EmulatedAWS, instance_id: str, **instance: Any) -> None:
    aws.create_instance(SOURCE, instance_id, **instance)
    rds = aws.client(SOURCE, "rds")
    rds.create_db_snapshot(DBInstanceIdentifier=instance_id, DBSnapshotIdentifier=f"{instance_id}-snap")
    rds.modify_db_snapshot_attribute(
        DBSnapshotIdentifier=f"{instance_id}-snap", AttributeName="restore", ValuesToAdd=[TARGET]
    )


def test_options_report_permanent_and_persistent(aws: EmulatedAWS) -> None:
    [tde] = _group(aws, "tde", "sqlserver-se", "15.00", "TDE")["Options"]
    assert (tde["OptionName"], tde["Permanent"], tde["Persistent"]) == ("TDE", False, True)
    [oracle_tde] = _group(aws, "oracle-tde", "oracle-ee", "19", "TDE")["Options"]
    assert (oracle_tde["Permanent"], oracle_tde["Persistent"]) == (True, True)
    [audit] = _group(aws, "audit", "mysql", "8.0", "MARIADB_AUDIT_PLUGIN")["Options"]
    assert (audit["Permanent"], audit["Persistent"]) == (False, False)


def test_options_the_engine_does_not_offer_are_refused(aws: EmulatedAWS) -> None:
    with pytest.raises(ClientError) as raised:
        _group(aws, "wrong", "mysql", "8.0", "TDE")
    assert error_code(raised) == "InvalidParameterCombination"


@pytest.mark.parametrize(
    ("engine", "major", "version", "option", "klass"),
    [
        ("sqlserver-se", "15.00", "15.00.4415.2.v1", "TDE", "db.m5.large"),
        ("oracle-ee", "19", None, "TDE", "db.m5.large"),
    ],
)
def test_snapshots_with_tde_or_permanent_options_cannot_be_shared(
    aws: EmulatedAWS, engine: str, major: str, version: str | None, option: str, klass: str
) -> None:
    _group(aws, "locked", engine, major, option)
    with pytest.raises(ClientError) as raised:
        _share_snapshot_of(
            aws, "locked-db", engine=engine, engine_version=version, instance_class=klass, option_group="locked"
        )
    assert error_code(raised) == "InvalidParameterValue"
    assert option in raised.value.response["Error"]["Message"]


def test_oracle_timezone_is_permanent_but_shareable(aws: EmulatedAWS) -> None:
    _group(aws, "tz", "oracle-ee", "19", "Timezone")
    _share_snapshot_of(aws, "tz-db", engine="oracle-ee", instance_class="db.m5.large", option_group="tz")
    shared = aws.client(TARGET, "rds").describe_db_snapshots(SnapshotType="shared")["DBSnapshots"]
    assert [s["DBSnapshotArn"].rsplit(":", 1)[-1] for s in shared] == ["tz-db-snap"]


def test_a_serverless_v2_instance_needs_the_clusters_scaling_configuration(aws: EmulatedAWS) -> None:
    aws.create_cluster(SOURCE, "provisioned", instances=0)
    rds = aws.client(SOURCE, "rds")
    with pytest.raises(ClientError) as raised:
        rds.create_db_instance(
            DBInstanceIdentifier="sv2", DBClusterIdentifier="provisioned", Engine="aurora-mysql",
            DBInstanceClass="db.serverless",
        )  # fmt: skip
    assert error_code(raised) == "InvalidDBClusterStateFault"
    assert (
        "Set the Serverless v2 scaling configuration on the parent DB cluster"
        in raised.value.response["Error"]["Message"]
    )
    rds.modify_db_cluster(
        DBClusterIdentifier="provisioned", ServerlessV2ScalingConfiguration={"MinCapacity": 0, "MaxCapacity": 8},
        ApplyImmediately=True,
    )  # fmt: skip
    aws.finish_pending()
    rds.create_db_instance(
        DBInstanceIdentifier="sv2", DBClusterIdentifier="provisioned", Engine="aurora-mysql",
        DBInstanceClass="db.serverless",
    )  # fmt: skip
    with pytest.raises(ClientError) as raised:
        rds.modify_db_cluster(
            DBClusterIdentifier="provisioned", ServerlessV2ScalingConfiguration={"MinCapacity": 1, "MaxCapacity": 257}
        )
    assert error_code(raised) == "InvalidParameterValue"
    assert aws.create_cluster(SOURCE, "born-serverless", serverless_v2=(0.5, 4))["ServerlessV2ScalingConfiguration"]


def test_a_parameter_group_that_does_not_exist_is_not_found(aws: EmulatedAWS) -> None:
    rds = aws.client(TARGET, "rds")
    with pytest.raises(ClientError) as raised:
        rds.describe_db_parameter_groups(DBParameterGroupName="no-such-group")
    assert raised.value.response["Error"]["Code"] == "DBParameterGroupNotFound"
    assert "no-such-group" in raised.value.response["Error"]["Message"]
    rds.create_db_parameter_group(DBParameterGroupName="Tuned", DBParameterGroupFamily="postgres16", Description="t")
    [group] = rds.describe_db_parameter_groups(DBParameterGroupName="tuned")["DBParameterGroups"]
    assert group["DBParameterGroupName"].lower() == "tuned"


def test_aurora_storage_and_lifecycle_are_kept_and_a_restore_takes_awss_defaults(aws: EmulatedAWS) -> None:
    """[BC-RDS] CreateDBCluster / RestoreDBClusterFromSnapshot: storage aurora or aurora-iopt1 (default aurora),
    EngineLifecycleSupport default enrolled; a restore gets those defaults, not the source's, except the port."""
    rds = aws.client(SOURCE, "rds")
    with pytest.raises(ClientError) as bad:
        rds.create_db_cluster(
            DBClusterIdentifier="bad", Engine="aurora-mysql", MasterUsername="admin", MasterUserPassword=PASSWORD,
            StorageType="gp2",
        )  # fmt: skip
    assert error_code(bad) == "InvalidParameterValue"
    rds.create_db_cluster(
        DBClusterIdentifier="orders", Engine="aurora-mysql", MasterUsername="admin", MasterUserPassword=PASSWORD,
        StorageType="aurora-iopt1", BacktrackWindow=3600, EnableIAMDatabaseAuthentication=True, Port=3307,
        EnableCloudwatchLogsExports=["audit"], EngineLifecycleSupport="open-source-rds-extended-support-disabled",
        ServerlessV2ScalingConfiguration={"MinCapacity": 0.5, "MaxCapacity": 4}, Tags=[{"Key": "team", "Value": "db"}],
    )  # fmt: skip
    aws.finish_pending()
    source = rds.describe_db_clusters(DBClusterIdentifier="orders")["DBClusters"][0]
    assert (source["StorageType"], source["EngineLifecycleSupport"]) == (
        "aurora-iopt1",
        "open-source-rds-extended-support-disabled",
    )
    rds.create_db_cluster_snapshot(DBClusterIdentifier="orders", DBClusterSnapshotIdentifier="s")
    aws.finish_pending()
    rds.restore_db_cluster_from_snapshot(DBClusterIdentifier="back", SnapshotIdentifier="s", Engine="aurora-mysql")
    back = rds.describe_db_clusters(DBClusterIdentifier="back")["DBClusters"][0]
    assert back["StorageType"] == "aurora"
    assert back["EngineLifecycleSupport"] == "open-source-rds-extended-support"
    assert back["BacktrackWindow"] == 0
    assert back["IAMDatabaseAuthenticationEnabled"] is False
    assert not back.get("EnabledCloudwatchLogsExports")
    assert not back.get("ServerlessV2ScalingConfiguration")
    assert back["TagList"] == []
    assert back["Port"] == 3307  # "Default: The same port as the original DB cluster"


def test_an_instance_keeps_its_lifecycle_and_a_restore_takes_awss_defaults(aws: EmulatedAWS) -> None:
    """[BC-RDS] RestoreDBInstanceFromDBSnapshot: storage gp3 (io1 with Iops), no Multi-AZ, deletion protection,
    IAM authentication or log exports, Extended Support enrolled; the port and IOPS are the original's."""
    rds = aws.client(SOURCE, "rds")
    rds.create_db_instance(
        DBInstanceIdentifier="orders", Engine="postgres", DBInstanceClass="db.t3.micro", MasterUsername="admin",
        MasterUserPassword=PASSWORD, AllocatedStorage=100, StorageType="io2", Iops=3000, MultiAZ=True, Port=5433,
        DeletionProtection=True, EnableIAMDatabaseAuthentication=True, EnableCloudwatchLogsExports=["postgresql"],
        EngineLifecycleSupport="open-source-rds-extended-support-disabled",
    )  # fmt: skip
    aws.finish_pending()
    source = rds.describe_db_instances(DBInstanceIdentifier="orders")["DBInstances"][0]
    assert source["EngineLifecycleSupport"] == "open-source-rds-extended-support-disabled"
    rds.create_db_snapshot(DBInstanceIdentifier="orders", DBSnapshotIdentifier="s")
    aws.finish_pending()
    rds.restore_db_instance_from_db_snapshot(DBInstanceIdentifier="back", DBSnapshotIdentifier="s")
    back = rds.describe_db_instances(DBInstanceIdentifier="back")["DBInstances"][0]
    assert back["StorageType"] == "gp3"
    assert back["Iops"] == 3000  # "the IOPS value is taken from the backup"
    assert back["MultiAZ"] is False
    assert back["DeletionProtection"] is False
    assert back["IAMDatabaseAuthenticationEnabled"] is False
    assert not back.get("EnabledCloudwatchLogsExports")
    assert back["EngineLifecycleSupport"] == "open-source-rds-extended-support"
    assert back["DbInstancePort"] == 5433
    with pytest.raises(ClientError) as bad:
        rds.create_db_instance(
            DBInstanceIdentifier="bad", Engine="postgres", DBInstanceClass="db.t3.micro", MasterUsername="admin",
            MasterUserPassword=PASSWORD, AllocatedStorage=20, EngineLifecycleSupport="forever",
        )  # fmt: skip
    assert error_code(bad) == "InvalidParameterValue"
