"""Renames, as a refresh in place uses them (``ModifyDBCluster`` / ``ModifyDBInstance`` with a new identifier).

[BC-RDS] ``ModifyDBCluster``: ``NewDBClusterIdentifier`` renames, ``DBClusterAlreadyExistsFault`` when the name
is taken, ``ApplyImmediately`` or the next maintenance window; RDS User Guide, USER_RenameInstance: "You cannot
use an existing DB instance name when renaming an instance", "The renamed DB instance is not available until
the new name becomes effective". The plain-moto counterexample is test r16 of test_moto_counterexamples_2.
"""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from rdsshare.testing import EmulatedAWS

from ..accounts import OTHER, TARGET
from ._helpers import error_code

PASSWORD = "password-123"


def _cluster(aws: EmulatedAWS, rds: Any, cluster_id: str, *members: str) -> None:
    rds.create_db_cluster(
        DBClusterIdentifier=cluster_id, Engine="aurora-postgresql", MasterUsername="admin", MasterUserPassword=PASSWORD
    )
    aws.finish_pending()
    for member in members:
        rds.create_db_instance(
            DBInstanceIdentifier=member, DBClusterIdentifier=cluster_id, Engine="aurora-postgresql",
            DBInstanceClass="db.r6g.large",
        )  # fmt: skip


def _described(rds: Any, cluster_id: str) -> dict[str, Any]:
    return dict(rds.describe_db_clusters(DBClusterIdentifier=cluster_id)["DBClusters"][0])


def test_a_cluster_rename_keeps_its_members_and_resource_id_and_refuses_a_taken_name(aws: EmulatedAWS) -> None:
    aws.operation_seconds = 60  # so that renaming shows
    rds = aws.client(TARGET, "rds")
    _cluster(aws, rds, "staging", "staging-1")
    _cluster(aws, rds, "other")
    aws.finish_pending()
    before = _described(rds, "staging")
    with pytest.raises(ClientError) as taken:
        rds.modify_db_cluster(DBClusterIdentifier="staging", NewDBClusterIdentifier="other", ApplyImmediately=True)
    assert error_code(taken) == "DBClusterAlreadyExistsFault"
    assert _described(rds, "other")["DbClusterResourceId"] != before["DbClusterResourceId"]  # nothing dropped
    renamed = rds.modify_db_cluster(
        DBClusterIdentifier="staging", NewDBClusterIdentifier="Staging-Old", ApplyImmediately=True
    )["DBCluster"]
    assert renamed["DBClusterIdentifier"] == "staging-old"  # "stored as a lowercase string"
    assert renamed["Status"] == "renaming"
    after = _described(rds, "staging-old")
    assert after["DbClusterResourceId"] == before["DbClusterResourceId"]
    assert after["DBClusterArn"].endswith(":cluster:staging-old")
    assert after["Endpoint"].startswith("staging-old.")
    assert [m["DBInstanceIdentifier"] for m in after["DBClusterMembers"]] == ["staging-1"]
    [member] = rds.describe_db_instances(Filters=[{"Name": "db-cluster-id", "Values": ["staging-old"]}])["DBInstances"]
    assert member["DBClusterIdentifier"] == "staging-old"
    with pytest.raises(ClientError) as gone:
        rds.describe_db_clusters(DBClusterIdentifier="staging")
    assert error_code(gone) == "DBClusterNotFoundFault"
    with pytest.raises(ClientError) as busy:  # renaming is not available: no further modification yet
        rds.modify_db_cluster(DBClusterIdentifier="staging-old", NewDBClusterIdentifier="x", ApplyImmediately=True)
    assert error_code(busy) == "InvalidDBClusterStateFault"
    aws.finish_pending()
    assert _described(rds, "staging-old")["Status"] == "available"


def test_a_rename_without_apply_immediately_waits_for_the_maintenance_window(aws: EmulatedAWS) -> None:
    rds = aws.client(TARGET, "rds")
    _cluster(aws, rds, "staging")
    aws.finish_pending()
    rds.modify_db_cluster(DBClusterIdentifier="staging", NewDBClusterIdentifier="later")
    aws.finish_pending()
    assert _described(rds, "staging")["DBClusterIdentifier"] == "staging"


def test_an_instance_rename_refuses_a_taken_name_and_is_renaming_for_a_while(aws: EmulatedAWS) -> None:
    aws.operation_seconds = 60
    rds = aws.client(TARGET, "rds")
    for ident in ("app", "app-next"):
        rds.create_db_instance(
            DBInstanceIdentifier=ident, Engine="postgres", DBInstanceClass="db.t3.micro", MasterUsername="admin",
            MasterUserPassword=PASSWORD, AllocatedStorage=20,
        )  # fmt: skip
    aws.finish_pending()
    with pytest.raises(ClientError) as taken:
        rds.modify_db_instance(DBInstanceIdentifier="app-next", NewDBInstanceIdentifier="app", ApplyImmediately=True)
    assert error_code(taken) == "DBInstanceAlreadyExists"
    renamed = rds.modify_db_instance(
        DBInstanceIdentifier="app", NewDBInstanceIdentifier="app-old", ApplyImmediately=True
    )
    assert renamed["DBInstance"]["DBInstanceIdentifier"] == "app-old"
    assert renamed["DBInstance"]["DBInstanceStatus"] == "renaming"
    ids = sorted(i["DBInstanceIdentifier"] for i in rds.describe_db_instances()["DBInstances"])
    assert ids == ["app-next", "app-old"]
    aws.finish_pending()
    rds.modify_db_instance(DBInstanceIdentifier="app-next", NewDBInstanceIdentifier="app", ApplyImmediately=True)
    aws.finish_pending()
    assert rds.describe_db_instances(DBInstanceIdentifier="app")["DBInstances"][0]["DBInstanceStatus"] == "available"


def test_an_accounts_clusters_share_the_endpoint_suffix_so_a_rename_takes_the_names_endpoint(aws: EmulatedAWS) -> None:
    """Aurora User Guide, Aurora.Overview.Endpoints: the part after ``cluster-`` is the account's and region's."""
    rds = aws.client(TARGET, "rds")
    _cluster(aws, rds, "staging")
    before = _described(rds, "staging")
    rds.modify_db_cluster(DBClusterIdentifier="staging", NewDBClusterIdentifier="staging-old", ApplyImmediately=True)
    _cluster(aws, rds, "staging-next")
    rds.modify_db_cluster(DBClusterIdentifier="staging-next", NewDBClusterIdentifier="staging", ApplyImmediately=True)
    aws.finish_pending()
    after = _described(rds, "staging")
    assert after["DbClusterResourceId"] != before["DbClusterResourceId"]
    assert (after["Endpoint"], after["ReaderEndpoint"]) == (before["Endpoint"], before["ReaderEndpoint"])
    assert (
        aws.client(OTHER, "rds").create_db_cluster(
            DBClusterIdentifier="staging",
            Engine="aurora-postgresql",
            MasterUsername="admin",
            MasterUserPassword=PASSWORD,
        )["DBCluster"]["Endpoint"]
        != before["Endpoint"]
    )  # another account: another suffix


def test_each_instance_has_its_own_resource_id_which_a_rename_keeps(aws: EmulatedAWS) -> None:
    """[BC-RDS] ``DBInstance.DbiResourceId``: "the Region-unique, immutable identifier for the DB instance"."""
    rds = aws.client(TARGET, "rds")
    made = [
        rds.create_db_instance(
            DBInstanceIdentifier=ident, Engine="postgres", DBInstanceClass="db.t3.micro", MasterUsername="admin",
            MasterUserPassword=PASSWORD, AllocatedStorage=20,
        )["DBInstance"]["DbiResourceId"]
        for ident in ("one", "two")
    ]  # fmt: skip
    assert made[0] != made[1]
    aws.finish_pending()
    rds.modify_db_instance(DBInstanceIdentifier="one", NewDBInstanceIdentifier="uno", ApplyImmediately=True)
    assert rds.describe_db_instances(DBInstanceIdentifier="uno")["DBInstances"][0]["DbiResourceId"] == made[0]
