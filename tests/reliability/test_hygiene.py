"""Secret hygiene and the user's data: no password anywhere, nothing of the user's touched."""

from __future__ import annotations

import json
import logging

import attrs
import pytest

from rdsshare import Event, RdsShareError, share_cluster_snapshot
from rdsshare.testing import EmulatedAWS

from ..accounts import OTHER, SOURCE, TARGET
from ..flow.helpers import restore_spec, sessions

SOURCE_PASSWORD = "Src-Pa55word-never-log-me"


def _source_cluster(aws: EmulatedAWS) -> None:
    """A cluster whose master password we know, so we can look for it."""
    rds = aws.client(SOURCE, "rds")
    net = aws.create_network(SOURCE, "src")
    rds.create_db_cluster(
        DBClusterIdentifier="example-db",
        Engine="aurora-mysql",
        MasterUsername="admin",
        MasterUserPassword=SOURCE_PASSWORD,
        StorageEncrypted=True,
        DBSubnetGroupName=net.subnet_group,
        VpcSecurityGroupIds=[net.security_group_id],
    )
    rds.create_db_instance(
        DBInstanceIdentifier="example-db-1",
        DBClusterIdentifier="example-db",
        Engine="aurora-mysql",
        DBInstanceClass="db.t3.medium",
    )
    aws.finish_pending()


def test_no_secret_in_logs_events_reprs_errors_or_manifest(caplog: pytest.LogCaptureFixture) -> None:
    with EmulatedAWS() as aws:
        _source_cluster(aws)
        spec = restore_spec(aws)
        source, target = sessions(aws)
        events: list[Event] = []
        caplog.set_level(logging.DEBUG)  # rdsshare, botocore, urllib3: everything
        caplog.clear()
        result = share_cluster_snapshot(
            source=source, target=target, cluster_id="example-db", restore=spec, on_event=events.append
        )
        assert result.master_user_secret_arn is not None
        logged = [r.getMessage() for r in caplog.records]
        # Read the secret (the test's own call, not logged into what we search), then an error path.
        caplog.set_level(logging.WARNING)
        secret = aws.client(TARGET, "secretsmanager").get_secret_value(SecretId=result.master_user_secret_arn)
        new_password = json.loads(secret["SecretString"])["password"]
        caplog.set_level(logging.DEBUG)
        caplog.clear()
        aws.inject_fault("rds", "RestoreDBClusterFromSnapshot", "InvalidParameterCombination", times=10)
        try:
            share_cluster_snapshot(
                source=source, target=target, cluster_id="example-db", restore=attrs.evolve(spec, cluster_id="third")
            )
        except RdsShareError as exc:
            error_text = str(exc) + repr(exc)
        else:
            error_text = ""
        logged += [r.getMessage() for r in caplog.records]
        haystacks = {
            "logs": "\n".join(logged),
            "events": "\n".join(json.dumps(attrs.asdict(e), default=str) + repr(e) for e in events),
            "result repr": repr(result) + repr(source) + repr(target),
            "manifest": result.manifest.to_json() if result.manifest else "",
            "errors": error_text,
        }
    assert "InvalidParameterCombination" in haystacks["errors"]
    assert len(haystacks["logs"]) > 1000  # botocore's DEBUG logging really was captured
    assert new_password
    assert new_password != "P@55w0rd!"
    for where, text in haystacks.items():
        assert SOURCE_PASSWORD not in text, where
        assert new_password not in text, where


def test_flow_never_changes_the_source_cluster_or_user_snapshots() -> None:
    with EmulatedAWS() as aws:
        aws.create_cluster(SOURCE, "example-db")
        rds = aws.client(SOURCE, "rds")
        rds.create_db_cluster_snapshot(
            DBClusterIdentifier="example-db",
            DBClusterSnapshotIdentifier="users-nightly",
            Tags=[{"Key": "k", "Value": "v"}],
        )
        before_cluster = rds.describe_db_clusters(DBClusterIdentifier="example-db")["DBClusters"][0]
        before_snap = rds.describe_db_cluster_snapshots(DBClusterSnapshotIdentifier="users-nightly")[
            "DBClusterSnapshots"
        ][0]
        source, target = sessions(aws)
        aws.clear_calls()
        share_cluster_snapshot(source=source, target=target, snapshot_id="users-nightly", restore=restore_spec(aws))
        share_cluster_snapshot(source=source, target=target, cluster_id="example-db")
        after_cluster = rds.describe_db_clusters(DBClusterIdentifier="example-db")["DBClusters"][0]
        after_snap = rds.describe_db_cluster_snapshots(DBClusterSnapshotIdentifier="users-nightly")[
            "DBClusterSnapshots"
        ][0]
        for key in ("Status", "KmsKeyId", "DeletionProtection", "TagList", "MasterUsername", "DBClusterMembers"):
            assert before_cluster.get(key) == after_cluster.get(key), key
        assert before_snap == after_snap
        attrs_ = rds.describe_db_cluster_snapshot_attributes(DBClusterSnapshotIdentifier="users-nightly")
        assert all(
            not a["AttributeValues"] for a in attrs_["DBClusterSnapshotAttributesResult"]["DBClusterSnapshotAttributes"]
        )
        writes = [
            c.operation for c in aws.calls if c.account_id == SOURCE and c.operation.startswith(("Delete", "Modify"))
        ]
        # The only modification in the source is sharing rdsshare's own copy.
        assert set(writes) == {"ModifyDBClusterSnapshotAttribute"}


def test_failed_run_shares_with_nobody_else() -> None:
    with EmulatedAWS() as aws:
        aws.create_cluster(SOURCE, "example-db")
        spec = restore_spec(aws)
        source, target = sessions(aws)
        aws.inject_fault("rds", "RestoreDBClusterFromSnapshot", "InternalFailure", status=500, times=50)
        with pytest.raises(RdsShareError):
            share_cluster_snapshot(source=source, target=target, cluster_id="example-db", restore=spec)
        rds = aws.client(SOURCE, "rds")
        for snap in rds.describe_db_cluster_snapshots()["DBClusterSnapshots"]:
            result = rds.describe_db_cluster_snapshot_attributes(
                DBClusterSnapshotIdentifier=snap["DBClusterSnapshotIdentifier"]
            )
            for attribute in result["DBClusterSnapshotAttributesResult"]["DBClusterSnapshotAttributes"]:
                assert set(attribute["AttributeValues"]) <= {TARGET}
                assert OTHER not in attribute["AttributeValues"]
                assert "all" not in attribute["AttributeValues"]
