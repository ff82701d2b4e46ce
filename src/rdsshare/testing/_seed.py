"""Helpers that put things into the emulated accounts: networks, clusters, instances, roles, organizations."""

from __future__ import annotations

import json
import secrets
import string
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import boto3
from moto.iam.models import iam_backends
from moto.rds.models import rds_backends

from . import _state
from .rules import encryption
from .rules.lifecycle import Clock
from .rules.policy_doc import MalformedPolicyError, parse_policy

if TYPE_CHECKING:
    from mypy_boto3_rds import RDSClient

__all__ = ["FAIL_KINDS", "FailKind", "Network", "Seeds", "StorageEncryption"]

StorageEncryption = Literal["sse-kms", "sse-rds", "none"]
FailKind = Literal["cluster-snapshot", "db-snapshot", "cluster", "instance"]
FAIL_KINDS = {
    "cluster-snapshot": "cluster_snapshots",
    "db-snapshot": "database_snapshots",
    "cluster": "clusters",
    "instance": "databases",
}
_TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}],
    }
)
INLINE_POLICY = "rdsshare-testbed"


@dataclass(frozen=True)
class Network:
    """A VPC with two subnets in two AZs, an RDS DB subnet group and a security group."""

    vpc_id: str
    subnet_ids: tuple[str, ...]
    subnet_group: str
    security_group_id: str


def _policy_text(policy: Mapping[str, Any] | str | Sequence[Mapping[str, Any]]) -> str:
    """An identity policy document from a document, its JSON, or a list of statements."""
    if isinstance(policy, str):
        text = policy
    elif isinstance(policy, Mapping):
        text = json.dumps(dict(policy))
    else:
        text = json.dumps({"Version": "2012-10-17", "Statement": [dict(s) for s in policy]})
    try:
        parse_policy(text, kind="identity")
    except MalformedPolicyError as exc:
        raise ValueError(f"not an IAM identity policy: {exc}") from exc
    return text


def put_role(account_id: str, name: str, policy: str) -> str:
    """Create (or update) role ``name`` in ``account_id``'s IAM with ``policy`` as its only inline policy."""
    backend = iam_backends[account_id]["aws"]
    try:
        role = backend.get_role(name)
    except Exception:  # moto's NotFoundException
        role = backend.create_role(name, _TRUST, "/", None, "rdsshare test bed role", [], None)
    for existing in list(role.policies):
        role.delete_policy(existing)
    role.put_policy(INLINE_POLICY, policy)
    return str(role.arn)


class Seeds:
    """Seed helpers of :class:`~rdsshare.testing.EmulatedAWS` (mixed in; they use its clients)."""

    _region: str

    if TYPE_CHECKING:  # EmulatedAWS provides them

        def client(self, account_id: str, service: str, region: str | None = None) -> Any: ...

        def _assume(self, role_arn: str, region: str) -> boto3.Session: ...

    # -- principals and organizations ------------------------------------------------------------
    def role_session(
        self,
        account_id: str,
        role_name: str,
        policy: Mapping[str, Any] | str | Sequence[Mapping[str, Any]],
        *,
        region: str | None = None,
    ) -> boto3.Session:
        """A session acting as role ``role_name`` of ``account_id``, whose IAM policy is ``policy``.

        The role is created (or its inline policy replaced) in the bed's IAM; every call the session
        makes is then authorized by ``policy`` and by any resource policy, with AWS's ``AccessDenied``
        wording when they refuse. ``policy`` is an IAM policy document, its JSON, or a list of statements.
        """
        arn = put_role(account_id, role_name, _policy_text(policy))
        return self._assume(arn, region or self._region)

    def declare_organization(self, account_ids: Iterable[str], *, organization_id: str | None = None) -> str:
        """Put ``account_ids`` into one AWS Organization, so ``aws:PrincipalOrgID`` conditions evaluate.

        Returns the organization id (``o-`` and ten lower-case letters or digits).
        """
        org = organization_id or "o-" + "".join(
            secrets.choice(string.ascii_lowercase + string.digits) for _ in range(10)
        )
        for account in account_ids:
            _state.current().organizations[account] = org
        return org

    # -- networks and databases ----------------------------------------------------------------
    def create_network(self, account_id: str, name: str, *, region: str | None = None) -> Network:
        """Create a VPC, two subnets in two AZs, a DB subnet group ``name`` and a security group."""
        ec2 = self.client(account_id, "ec2", region)
        rds = self.client(account_id, "rds", region)
        vpc_id = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
        zones = [z["ZoneName"] for z in ec2.describe_availability_zones()["AvailabilityZones"]]
        subnet_ids = tuple(
            ec2.create_subnet(VpcId=vpc_id, CidrBlock=f"10.20.{i}.0/24", AvailabilityZone=zone)["Subnet"]["SubnetId"]
            for i, zone in enumerate(zones[:2])
        )
        rds.create_db_subnet_group(
            DBSubnetGroupName=name,
            DBSubnetGroupDescription=f"{name} (rdsshare test bed)",
            SubnetIds=list(subnet_ids),
        )
        security_group_id = ec2.create_security_group(
            GroupName=f"{name}-db", Description=f"{name} database", VpcId=vpc_id
        )["GroupId"]
        return Network(vpc_id, subnet_ids, name, security_group_id)

    def create_cluster(
        self,
        account_id: str,
        cluster_id: str = "example-db",
        *,
        engine: str = "aurora-mysql",
        engine_version: str | None = None,
        encrypted: bool = True,
        encryption: StorageEncryption | None = None,
        kms_key_id: str | None = None,
        instances: int = 1,
        instance_class: str = "db.t3.medium",
        network: Network | None = None,
        manage_master_user_password: bool = False,
        serverless_v2: tuple[float, float] | None = None,
        region: str | None = None,
    ) -> dict[str, Any]:
        """Create an Aurora cluster with ``instances`` instances, ready (``available``) on return.

        ``encryption`` (or the older ``encrypted``): ``"sse-kms"`` (default) encrypts under ``kms_key_id``
        or the account's ``aws/rds`` key; ``"sse-rds"`` is what AWS gives a new cluster by default since
        2026-02-18 (an AWS owned key, ``StorageEncrypted: false``); ``"none"`` (``encrypted=False``) seeds a
        cluster created before that date, unencrypted, which AWS no longer makes. ``serverless_v2`` is
        (min, max) ACUs. Returns the cluster as ``describe_db_clusters`` reports it.
        """
        region = region or self._region
        kind: StorageEncryption = encryption or ("sse-kms" if encrypted or kms_key_id else "none")
        rds: RDSClient = self.client(account_id, "rds", region)
        params: dict[str, Any] = {"DBClusterIdentifier": cluster_id, "Engine": engine, "MasterUsername": "dbadmin"}
        if kind == "sse-kms":
            params["StorageEncrypted"] = True
        _common(params, engine_version, kms_key_id if kind == "sse-kms" else None, manage_master_user_password, network)
        if serverless_v2 is not None:
            params["ServerlessV2ScalingConfiguration"] = {
                "MinCapacity": serverless_v2[0],
                "MaxCapacity": serverless_v2[1],
            }
        rds.create_db_cluster(**params)
        cluster = self._rds_object(account_id, "cluster", cluster_id, region)
        Clock.finish(cluster)
        if kind == "none":
            encryption_none(cluster, region)
        for number in range(1, instances + 1):
            suffix = f"-{number}"
            instance_id = f"{cluster_id[: 63 - len(suffix)].rstrip('-')}{suffix}"
            rds.create_db_instance(
                DBInstanceIdentifier=instance_id,
                DBClusterIdentifier=cluster_id,
                Engine=engine,
                DBInstanceClass="db.serverless" if serverless_v2 is not None else instance_class,
            )
            Clock.finish(self._rds_object(account_id, "instance", instance_id, region))
        return dict(rds.describe_db_clusters(DBClusterIdentifier=cluster_id)["DBClusters"][0])

    def create_instance(
        self,
        account_id: str,
        instance_id: str = "example-db",
        *,
        engine: str = "postgres",
        engine_version: str | None = None,
        instance_class: str = "db.t3.micro",
        encrypted: bool = True,
        kms_key_id: str | None = None,
        network: Network | None = None,
        option_group: str | None = None,
        manage_master_user_password: bool = False,
        region: str | None = None,
    ) -> dict[str, Any]:
        """Create an RDS DB instance (not Aurora), ready (``available``) on return.

        Encrypted under ``kms_key_id`` or the account's ``aws/rds`` key unless ``encrypted=False``.
        Returns the instance as ``describe_db_instances`` reports it.
        """
        region = region or self._region
        rds: RDSClient = self.client(account_id, "rds", region)
        params: dict[str, Any] = {
            "DBInstanceIdentifier": instance_id,
            "Engine": engine,
            "DBInstanceClass": instance_class,
            "MasterUsername": "dbadmin",
            "AllocatedStorage": 20,
            "StorageEncrypted": encrypted or kms_key_id is not None,
        }
        _common(params, engine_version, kms_key_id, manage_master_user_password, network)
        if option_group is not None:
            params["OptionGroupName"] = option_group
        rds.create_db_instance(**params)
        Clock.finish(self._rds_object(account_id, "instance", instance_id, region))
        return dict(rds.describe_db_instances(DBInstanceIdentifier=instance_id)["DBInstances"][0])

    # -- reaching into moto ----------------------------------------------------------------------
    def _rds_object(self, account_id: str, kind: FailKind, identifier: str, region: str | None) -> Any:
        backend = rds_backends[account_id][region or self._region]
        obj = getattr(backend, FAIL_KINDS[kind]).get(identifier.lower())
        if obj is None:
            raise LookupError(f"no {kind} {identifier!r} in {account_id}/{region or self._region}")
        return obj


def _common(
    params: dict[str, Any], version: str | None, key: str | None, managed: bool, network: Network | None
) -> None:
    """What a seeded cluster and a seeded instance ask for alike: version, key, password, network."""
    if version is not None:
        params["EngineVersion"] = version
    if key is not None:
        params["KmsKeyId"] = key
    if managed:
        params["ManageMasterUserPassword"] = True
    else:
        params["MasterUserPassword"] = secrets.token_urlsafe(18)
    if network is not None:
        params["DBSubnetGroupName"] = network.subnet_group
        params["VpcSecurityGroupIds"] = [network.security_group_id]


def encryption_none(cluster: Any, region: str) -> None:
    """Make ``cluster`` an unencrypted cluster from before 2026-02-18 (``StorageEncryptionType: none``)."""
    encryption.apply(cluster, "none", None, region=region)
