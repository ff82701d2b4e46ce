"""Where the live suite runs: the test bed (always) or two real AWS accounts (on request).

A :class:`World` makes what a flow starts from (a source cluster or instance), says how to restore, and
removes everything it and rdsshare made, tagged with the run's token, even when a test fails.
"""

from __future__ import annotations

import functools
import os
import secrets
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any, Protocol

import boto3
from botocore.exceptions import ClientError

from rdsshare import AccountSession, ClusterRestoreSpec, InstanceRestoreSpec, WaitPolicy
from rdsshare.testing import EmulatedAWS

SOURCE_PROFILE = "RDSSHARE_LIVE_SOURCE_PROFILE"
TARGET_PROFILE = "RDSSHARE_LIVE_TARGET_PROFILE"
REGION = "RDSSHARE_LIVE_REGION"
TOKEN_TAG = "rdsshare-live:token"


def live_settings() -> tuple[str, str, str] | None:
    """(source profile, target profile, region) when the live run was asked for, else None."""
    source, target = os.environ.get(SOURCE_PROFILE), os.environ.get(TARGET_PROFILE)
    if not source or not target:
        return None
    return source, target, os.environ.get(REGION, "us-east-1")


class World(Protocol):
    """What a live-suite test needs, wherever it runs."""

    source: AccountSession
    target: AccountSession
    token: str
    wait: WaitPolicy

    def cluster(self, *, encrypted: bool = True) -> str: ...
    def instance(self) -> str: ...
    def cluster_spec(self) -> ClusterRestoreSpec: ...
    def instance_spec(self) -> InstanceRestoreSpec: ...
    def teardown(self) -> list[str]: ...


def _token() -> str:
    return "live" + secrets.token_hex(3)


class BedWorld:
    """The same tests on the emulated two-account AWS."""

    def __init__(self, aws: EmulatedAWS) -> None:
        self.aws = aws
        self.token = _token()
        self.wait = WaitPolicy()
        self.source = AccountSession(aws.session("111111111111"), endpoint_url=aws.endpoint_url)
        self.target = AccountSession(aws.session("222222222222"), endpoint_url=aws.endpoint_url)

    def cluster(self, *, encrypted: bool = True) -> str:
        name = f"{self.token}-db"
        self.aws.create_cluster(
            self.source.account_id, name, instances=0, encryption="sse-kms" if encrypted else "sse-rds"
        )
        return name

    def instance(self) -> str:
        name = f"{self.token}-pg"
        self.aws.create_instance(self.source.account_id, name, engine="postgres")
        return name

    def cluster_spec(self) -> ClusterRestoreSpec:
        net = self.aws.create_network(self.target.account_id, f"{self.token}-net")
        return ClusterRestoreSpec(
            cluster_id=f"{self.token}-restored",
            instance_class="db.t4g.medium",
            instance_count=0,
            subnet_group=net.subnet_group,
            security_group_ids=[net.security_group_id],
        )

    def instance_spec(self) -> InstanceRestoreSpec:
        net = self.aws.create_network(self.target.account_id, f"{self.token}-inet")
        return InstanceRestoreSpec(
            instance_id=f"{self.token}-pg-restored",
            instance_class="db.t4g.micro",
            subnet_group=net.subnet_group,
            security_group_ids=[net.security_group_id],
        )

    def teardown(self) -> list[str]:
        return sweep(self.source, self.token) + sweep(self.target, self.token)


class LiveWorld:
    """Two real accounts: the smallest engine and class, everything tagged with the run's token."""

    def __init__(self, source_profile: str, target_profile: str, region: str) -> None:
        self.token = _token()
        self.region = region
        # Copies and restores of tiny databases take minutes; a stuck step fails the run after an hour.
        self.wait = WaitPolicy(timeout=timedelta(hours=1))
        self.source = AccountSession(boto3.Session(profile_name=source_profile, region_name=region))
        self.target = AccountSession(boto3.Session(profile_name=target_profile, region_name=region))

    def _tags(self) -> list[Any]:
        return [{"Key": TOKEN_TAG, "Value": self.token}]

    def cluster(self, *, encrypted: bool = True) -> str:
        """An Aurora PostgreSQL cluster without instances: storage only, cents an hour."""
        name = f"rdsshare-{self.token}-db"
        params: dict[str, Any] = {
            "DBClusterIdentifier": name,
            "Engine": "aurora-postgresql",
            "MasterUsername": "rdsshare",
            "ManageMasterUserPassword": True,
            "BackupRetentionPeriod": 1,
            "DeletionProtection": False,
            "Tags": self._tags(),
        }
        if encrypted:
            params["StorageEncrypted"] = True  # under the account's aws/rds key: the re-keying path
        self.source.rds().create_db_cluster(**params)
        _poll(lambda: self.source.rds().describe_db_clusters(DBClusterIdentifier=name)["DBClusters"][0]["Status"])
        return name

    def instance(self) -> str:
        """The smallest RDS for PostgreSQL instance: db.t4g.micro, 20 GiB gp3, encrypted with aws/rds."""
        name = f"rdsshare-{self.token}-pg"
        self.source.rds().create_db_instance(
            DBInstanceIdentifier=name,
            Engine="postgres",
            DBInstanceClass="db.t4g.micro",
            AllocatedStorage=20,
            StorageType="gp3",
            StorageEncrypted=True,
            MasterUsername="rdsshare",
            ManageMasterUserPassword=True,
            BackupRetentionPeriod=0,
            PubliclyAccessible=False,
            DeletionProtection=False,
            Tags=self._tags(),
        )
        _poll(
            lambda: self.source.rds().describe_db_instances(DBInstanceIdentifier=name)["DBInstances"][0][
                "DBInstanceStatus"
            ]
        )
        return name

    def cluster_spec(self) -> ClusterRestoreSpec:
        # The target's default VPC, subnet group and security group; no instances, so no instance hours.
        return ClusterRestoreSpec(
            cluster_id=f"rdsshare-{self.token}-restored", instance_class="db.t4g.medium", instance_count=0,
            tags={TOKEN_TAG: self.token},
        )  # fmt: skip

    def instance_spec(self) -> InstanceRestoreSpec:
        return InstanceRestoreSpec(
            instance_id=f"rdsshare-{self.token}-pg-restored", instance_class="db.t4g.micro",
            tags={TOKEN_TAG: self.token},
        )  # fmt: skip

    def teardown(self) -> list[str]:
        return sweep(self.target, self.token) + sweep(self.source, self.token)


def _poll(status: Callable[[], str], *, want: str = "available", seconds: float = 3600.0) -> None:
    deadline = time.monotonic() + seconds
    while (found := status()) != want:
        if time.monotonic() > deadline:
            raise TimeoutError(f"still {found} after {seconds:.0f} s")
        time.sleep(15)


def _tagged(tags: Any, token: str) -> bool:
    pairs = {str(t.get("Key")): str(t.get("Value")) for t in tags or []}
    return pairs.get(TOKEN_TAG) == token or pairs.get("rdsshare:run") == token


def sweep(session: AccountSession, token: str) -> list[str]:
    """Delete every database and snapshot of ``session``'s account tagged with ``token`` (or run ``token``).

    Instances first (and waits for them: a cluster with members refuses to go), then clusters without a
    final snapshot, then manual snapshots. rdsshare's share key is left to :func:`rdsshare.cleanup`: it
    may serve other runs. Returns the ARNs it deleted.
    """
    rds: Any = session.rds()
    done: list[str] = []
    going: list[str] = []
    for instance in rds.describe_db_instances()["DBInstances"]:
        if _tagged(instance.get("TagList"), token):
            name = instance["DBInstanceIdentifier"]
            _delete(
                rds.delete_db_instance, DBInstanceIdentifier=name, SkipFinalSnapshot=True, DeleteAutomatedBackups=True
            )
            done.append(instance["DBInstanceArn"])
            going.append(name)
    for name in going:
        _poll(functools.partial(_instance_state, rds, name), want="gone")
    for cluster in rds.describe_db_clusters()["DBClusters"]:
        if _tagged(cluster.get("TagList"), token):
            _delete(rds.delete_db_cluster, DBClusterIdentifier=cluster["DBClusterIdentifier"], SkipFinalSnapshot=True)
            done.append(cluster["DBClusterArn"])
    for snapshot in rds.describe_db_cluster_snapshots(SnapshotType="manual")["DBClusterSnapshots"]:
        if _tagged(snapshot.get("TagList"), token):
            _delete(rds.delete_db_cluster_snapshot, DBClusterSnapshotIdentifier=snapshot["DBClusterSnapshotIdentifier"])
            done.append(snapshot["DBClusterSnapshotArn"])
    for db_snapshot in rds.describe_db_snapshots(SnapshotType="manual")["DBSnapshots"]:
        if _tagged(db_snapshot.get("TagList"), token):
            _delete(rds.delete_db_snapshot, DBSnapshotIdentifier=db_snapshot["DBSnapshotIdentifier"])
            done.append(db_snapshot["DBSnapshotArn"])
    return done


def _instance_state(rds: Any, name: str) -> str:
    try:
        return str(rds.describe_db_instances(DBInstanceIdentifier=name)["DBInstances"][0]["DBInstanceStatus"])
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "DBInstanceNotFound":
            return "gone"
        raise


def _delete(call: Callable[..., object], **params: Any) -> None:
    """Delete, treating "already gone" and "already going" as done."""
    try:
        call(**params)
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if "NotFound" not in code and not code.startswith("InvalidDB"):
            raise
