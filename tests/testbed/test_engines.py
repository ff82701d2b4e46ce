"""Engine versions: defaults, DefaultOnly, major shorthands, unknown and retired versions (docs/sources/aws-rules-2.md).

Sources: botocore model (``DescribeDBEngineVersions.DefaultOnly``, ``CreateDBCluster.EngineVersion``: "You
can supply either 5.7 or 8.0 to use the default engine version for Aurora MySQL version 2 or version 3");
docs/sources/aws-rules.md §2 "Engine version" (a version the region no longer offers can't be restored).
"""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from rdsshare.testing import EmulatedAWS
from rdsshare.testing.rules.engines import ENGINES

from ..accounts import SOURCE, TARGET
from ._helpers import error_code

PASSWORD = "password-123"


def _defaults(aws: EmulatedAWS, engine: str, version: str | None = None) -> list[str]:
    kwargs = {"Engine": engine, "DefaultOnly": True}
    if version:
        kwargs["EngineVersion"] = version
    found = aws.client(SOURCE, "rds").describe_db_engine_versions(**kwargs)["DBEngineVersions"]  # type: ignore[arg-type]
    return [v["EngineVersion"] for v in found]


@pytest.mark.parametrize("engine", sorted(ENGINES))
def test_default_only_returns_exactly_the_default_which_is_listed_and_orderable(aws: EmulatedAWS, engine: str) -> None:
    rds = aws.client(SOURCE, "rds")
    assert _defaults(aws, engine) == [ENGINES[engine].default]
    listed = [v["EngineVersion"] for v in rds.describe_db_engine_versions(Engine=engine)["DBEngineVersions"]]
    assert ENGINES[engine].default in listed
    assert len(listed) == len(ENGINES[engine].versions)
    orderable = rds.describe_orderable_db_instance_options(Engine=engine, EngineVersion=ENGINES[engine].default)
    assert orderable["OrderableDBInstanceOptions"]


def test_an_omitted_version_is_the_default(aws: EmulatedAWS) -> None:
    rds = aws.client(SOURCE, "rds")
    aws.create_cluster(SOURCE, "orders", instances=0)
    assert rds.describe_db_clusters(DBClusterIdentifier="orders")["DBClusters"][0]["EngineVersion"] == (
        ENGINES["aurora-mysql"].default
    )
    for engine in ("postgres", "mysql", "mariadb"):  # moto defaulted to 9.3.3 / 5.6.21 and crashed on MariaDB
        instance = aws.create_instance(SOURCE, f"db-{engine}", engine=engine)
        assert instance["EngineVersion"] == ENGINES[engine].default, engine
        assert instance["DBInstanceStatus"] == "available"


def test_a_major_version_means_that_majors_default(aws: EmulatedAWS) -> None:
    assert _defaults(aws, "aurora-mysql", "8.0") == ["8.0.mysql_aurora.3.08.2"]
    assert _defaults(aws, "aurora-mysql", "5.7") == ["5.7.mysql_aurora.2.12.4"]
    assert _defaults(aws, "postgres", "16") == ["16.8"]
    aws.create_cluster(SOURCE, "three", engine_version="8.0", instances=0)
    aws.create_cluster(SOURCE, "two", engine_version="5.7", instances=0)
    rds = aws.client(SOURCE, "rds")
    versions = {c["DBClusterIdentifier"]: c["EngineVersion"] for c in rds.describe_db_clusters()["DBClusters"]}
    assert versions == {"three": "8.0.mysql_aurora.3.08.2", "two": "5.7.mysql_aurora.2.12.4"}
    assert aws.create_instance(SOURCE, "pg16", engine="postgres", engine_version="16")["EngineVersion"] == "16.8"


@pytest.mark.parametrize("version", ["9.9.9", "5.7.mysql_aurora.2.07.2", "8.1"])
def test_unknown_versions_are_refused(aws: EmulatedAWS, version: str) -> None:
    with pytest.raises(ClientError) as raised:
        aws.client(SOURCE, "rds").create_db_cluster(
            DBClusterIdentifier="orders",
            Engine="aurora-mysql",
            EngineVersion=version,
            MasterUsername="admin",
            MasterUserPassword=PASSWORD,
        )
    assert error_code(raised) == "InvalidParameterCombination"
    assert f"Cannot find version {version} for aurora-mysql" in raised.value.response["Error"]["Message"]
    assert aws.client(SOURCE, "rds").describe_db_clusters()["DBClusters"] == []


def test_restoring_a_version_the_region_no_longer_offers_is_refused(aws: EmulatedAWS) -> None:
    aws.create_cluster(SOURCE, "old", engine_version="8.0.mysql_aurora.3.04.3", instances=0)
    rds = aws.client(SOURCE, "rds")
    rds.create_db_cluster_snapshot(DBClusterIdentifier="old", DBClusterSnapshotIdentifier="old-snap")
    aws.create_instance(SOURCE, "old-db", engine="mysql", engine_version="8.0.35")
    rds.create_db_snapshot(DBInstanceIdentifier="old-db", DBSnapshotIdentifier="old-db-snap")
    aws.retire_engine_version("aurora-mysql", "8.0.mysql_aurora.3.04.3")
    aws.retire_engine_version("mysql", "8.0.35")
    with pytest.raises(ClientError) as raised:
        rds.restore_db_cluster_from_snapshot(
            DBClusterIdentifier="again", SnapshotIdentifier="old-snap", Engine="aurora-mysql"
        )
    assert error_code(raised) == "InvalidParameterCombination"
    with pytest.raises(ClientError) as raised:
        rds.restore_db_instance_from_db_snapshot(DBInstanceIdentifier="again-db", DBSnapshotIdentifier="old-db-snap")
    assert error_code(raised) == "InvalidParameterCombination"
    # Retired in one region only: the other still restores it.
    assert "8.0.mysql_aurora.3.04.3" not in [
        v["EngineVersion"] for v in rds.describe_db_engine_versions(Engine="aurora-mysql")["DBEngineVersions"]
    ]
    west = aws.client(TARGET, "rds", "us-west-2")
    assert "8.0.mysql_aurora.3.04.3" in [
        v["EngineVersion"] for v in west.describe_db_engine_versions(Engine="aurora-mysql")["DBEngineVersions"]
    ]
