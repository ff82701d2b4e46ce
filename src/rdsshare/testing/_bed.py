"""The test bed: moto plus the AWS rules rdsshare depends on, for any number of accounts."""

from __future__ import annotations

import functools
import logging
import os
import re
import secrets
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any, ClassVar, Literal, overload

import boto3
import botocore.loaders
import botocore.session
from moto import mock_aws
from moto.core.base_backend import BackendDict
from moto.core.model_instances import reset_model_data
from moto.rds.models import rds_backends

from . import _clock, _faults, _kms_rules
from ._catalog import Catalog
from ._clock import Clock
from ._faults import INTERNAL_HEADER, Fault, RecordedCall, Recorder
from ._patching import Patcher
from ._rds_rules import RdsRules

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client
    from mypy_boto3_kms import KMSClient
    from mypy_boto3_rds import RDSClient
    from mypy_boto3_secretsmanager import SecretsManagerClient
    from mypy_boto3_sts import STSClient

_log = logging.getLogger("rdsshare.testing")

_ACCOUNT_ID = re.compile(r"^\d{12}$")
_ROLE_NAME = "rdsshare-testbed"
_FAKE_CREDENTIAL = "testing"
# Variables that would make boto3 leave the test bed (real profiles, endpoints, web identity) or
# change its behaviour between machines (retry settings), and MOTO_ACCOUNT_ID, which overrides the
# account of assumed-role credentials (moto-gaps.md "Two accounts").
_CLEARED_ENV = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_REGION",
    "AWS_ROLE_ARN",
    "AWS_ROLE_SESSION_NAME",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_RETRY_MODE",
    "AWS_MAX_ATTEMPTS",
    "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
    "MOTO_ACCOUNT_ID",
)
_FAIL_KINDS = {
    "cluster-snapshot": "cluster_snapshots",
    "db-snapshot": "database_snapshots",
    "cluster": "clusters",
    "instance": "databases",
}

FailKind = Literal["cluster-snapshot", "db-snapshot", "cluster", "instance"]


@dataclass(frozen=True)
class Network:
    """A VPC with two subnets in two AZs, an RDS DB subnet group and a security group."""

    vpc_id: str
    subnet_ids: tuple[str, ...]
    subnet_group: str
    security_group_id: str


class EmulatedAWS:
    """An offline AWS with several accounts that fails where real AWS fails.

    moto emulates the APIs; this test bed adds the rules rdsshare depends on (shared snapshots across
    accounts, key policies, the AWS-managed ``aws/rds`` key, sharing limits, quotas, busy resources,
    managed master secrets), long-running operations, fault injection and a record of every call.
    Each rule cites its source in ``aws-rules.md``; see the ``_rds_rules`` and ``_kms_rules`` modules.

    Two accounts: A snapshots its cluster, re-encrypts the snapshot under a key B may use, shares it;
    B sees it and restores it::

        A, B = "111111111111", "222222222222"
        policy = {"Statement": [
            {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{A}:root"},
             "Action": "kms:*", "Resource": "*"},
            {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{B}:root"},
             "Action": ["kms:CreateGrant", "kms:Decrypt", "kms:DescribeKey",
                        "kms:GenerateDataKey*", "kms:ReEncrypt*"], "Resource": "*"},
        ]}
        with EmulatedAWS() as aws:
            aws.create_cluster(A, "orders")  # encrypted under A's aws/rds key
            rds_a = aws.client(A, "rds")
            rds_a.create_db_cluster_snapshot(
                DBClusterIdentifier="orders", DBClusterSnapshotIdentifier="orders-1")
            key = aws.client(A, "kms").create_key(Policy=json.dumps(policy))["KeyMetadata"]["Arn"]
            rds_a.copy_db_cluster_snapshot(SourceDBClusterSnapshotIdentifier="orders-1",
                                           TargetDBClusterSnapshotIdentifier="orders-cmk", KmsKeyId=key)
            rds_a.modify_db_cluster_snapshot_attribute(DBClusterSnapshotIdentifier="orders-cmk",
                                                       AttributeName="restore", ValuesToAdd=[B])
            rds_b = aws.client(B, "rds")
            [shared] = rds_b.describe_db_cluster_snapshots(SnapshotType="shared")["DBClusterSnapshots"]
            rds_b.restore_db_cluster_from_snapshot(DBClusterIdentifier="orders",
                                                   SnapshotIdentifier=shared["DBClusterSnapshotArn"],
                                                   Engine="aurora-mysql")

    Sharing ``orders-1`` itself would succeed too, and B's restore would then fail with
    ``KMSKeyNotAccessibleFault``, as on AWS: nobody outside A may use A's ``aws/rds`` key.

    ``server=False`` serves requests in-process (``moto.mock_aws``); ``server=True`` runs a moto server
    on 127.0.0.1 and clients talk HTTP to it (``endpoint_url``; ``AWS_ENDPOINT_URL`` is set too, so
    ``session.client("rds")`` reaches it). Only one test bed can be active at a time: the rules are
    patches of moto's classes, removed again on exit.

    ``operation_seconds`` (settable at any time) is how long snapshot creation and copies, cluster and
    instance creation, restores and cluster modifications take; ``0`` makes them instant.
    """

    _active: ClassVar[EmulatedAWS | None] = None

    def __init__(
        self,
        *,
        server: bool = False,
        region: str = "us-east-1",
        operation_seconds: float = 0.0,
        manual_snapshot_quota: int = 100,
        copy_concurrency_quota: int = 5,
    ) -> None:
        if operation_seconds < 0:
            raise ValueError("operation_seconds must be >= 0")
        if manual_snapshot_quota < 0 or copy_concurrency_quota < 0:
            raise ValueError("quotas must be >= 0")
        self.operation_seconds = float(operation_seconds)
        """Duration of long-running operations started from now on (seconds; 0 = instant)."""
        self.manual_snapshot_quota = manual_snapshot_quota
        """Manual snapshots per account and region (cluster and DB snapshots counted separately)."""
        self.copy_concurrency_quota = copy_concurrency_quota
        """Cluster snapshot copies in progress per account and destination region."""
        self._server_mode = server
        self._region = region
        self._recorder = Recorder()
        self._clock = Clock(self)
        self._catalog = Catalog()
        self._patcher = Patcher()
        self._saved_env: dict[str, str | None] = {}
        self._mock: Any = None
        self._server: Any = None
        self._endpoint_url: str | None = None
        self._sessions: dict[tuple[str, str], boto3.Session] = {}
        self._clients: dict[tuple[str, str, str], Any] = {}
        self._sts: Any = None
        self._entered = False

    # ------------------------------------------------------------------------------ lifecycle

    def __enter__(self) -> EmulatedAWS:
        if EmulatedAWS._active is not None:
            raise RuntimeError("another EmulatedAWS is active; only one can run at a time")
        EmulatedAWS._active = self
        try:
            self._start()
        except BaseException:
            self._stop()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop()

    def _start(self) -> None:
        self._recorder = Recorder()
        self._set_env()
        BackendDict.reset()
        _faults.install(self._patcher, self._recorder)
        _clock.install(self._patcher)
        _kms_rules.install(self._patcher)
        RdsRules(self, self._clock).install(self._patcher)
        self._catalog.install(self._patcher)
        if self._server_mode:
            self._server = _server_class()(ip_address="127.0.0.1", port=0, verbose=False)
            self._server.start()
            host, port = self._server.get_host_and_port()
            self._endpoint_url = f"http://{host}:{port}"
            self._put_env("AWS_ENDPOINT_URL", self._endpoint_url)
            _log.debug("moto server listening on %s", self._endpoint_url)
        else:
            self._mock = mock_aws()
            self._mock.start()
        self._entered = True

    def _stop(self) -> None:
        self._entered = False
        try:
            if self._mock is not None:
                self._mock.stop()
            if self._server is not None:
                self._server.stop()
        finally:
            self._mock = None
            self._server = None
            self._endpoint_url = None
            self._sessions.clear()
            self._clients.clear()
            self._sts = None
            try:
                BackendDict.reset()
                reset_model_data()
            finally:
                try:
                    self._patcher.undo_all()
                finally:
                    self._restore_env()
                    EmulatedAWS._active = None

    def _put_env(self, name: str, value: str | None) -> None:
        if name not in self._saved_env:
            self._saved_env[name] = os.environ.get(name)
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value

    def _set_env(self) -> None:
        for name in (*_CLEARED_ENV, *(n for n in os.environ if n.startswith("AWS_ENDPOINT_URL"))):
            self._put_env(name, None)
        self._put_env("AWS_ACCESS_KEY_ID", _FAKE_CREDENTIAL)
        self._put_env("AWS_SECRET_ACCESS_KEY", _FAKE_CREDENTIAL)
        self._put_env("AWS_SESSION_TOKEN", _FAKE_CREDENTIAL)
        self._put_env("AWS_SECURITY_TOKEN", _FAKE_CREDENTIAL)
        self._put_env("AWS_DEFAULT_REGION", self._region)
        # Never read the developer's ~/.aws files.
        self._put_env("AWS_CONFIG_FILE", os.devnull)
        self._put_env("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
        # moto loads thousands of AMIs into every new EC2 backend; nothing here needs them.
        self._put_env("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")

    def _restore_env(self) -> None:
        for name, value in self._saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self._saved_env.clear()

    def _require_active(self) -> None:
        if not self._entered:
            raise RuntimeError("use the EmulatedAWS inside its `with` block")

    # ------------------------------------------------------------------------ configuration

    @property
    def region(self) -> str:
        """The default region of sessions and clients."""
        return self._region

    @property
    def endpoint_url(self) -> str | None:
        """``None`` in-process; ``http://127.0.0.1:<port>`` in server mode."""
        return self._endpoint_url

    # ----------------------------------------------------------------------- sessions, clients

    def session(self, account_id: str, region: str | None = None) -> boto3.Session:
        """A boto3 session whose credentials act as ``account_id`` (an assumed role in it).

        Sessions are cached per (account, region).
        """
        self._require_active()
        if not _ACCOUNT_ID.match(account_id):
            raise ValueError(f"account_id must be 12 digits, got {account_id!r}")
        region = region or self._region
        cached = self._sessions.get((account_id, region))
        if cached is not None:
            return cached
        if self._sts is None:
            base = _new_session(
                aws_access_key_id=_FAKE_CREDENTIAL,
                aws_secret_access_key=_FAKE_CREDENTIAL,
                region_name=self._region,
            )
            self._sts = base.client("sts", endpoint_url=self._endpoint_url)
            self._sts.meta.events.register("before-sign.sts.AssumeRole", _mark_internal)
        credentials = self._sts.assume_role(
            RoleArn=f"arn:aws:iam::{account_id}:role/{_ROLE_NAME}",
            RoleSessionName=_ROLE_NAME,
        )["Credentials"]
        session = _new_session(
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"],
            region_name=region,
        )
        self._sessions[(account_id, region)] = session
        return session

    @overload
    def client(self, account_id: str, service: Literal["rds"], region: str | None = None) -> RDSClient: ...
    @overload
    def client(self, account_id: str, service: Literal["kms"], region: str | None = None) -> KMSClient: ...
    @overload
    def client(self, account_id: str, service: Literal["sts"], region: str | None = None) -> STSClient: ...
    @overload
    def client(self, account_id: str, service: Literal["ec2"], region: str | None = None) -> EC2Client: ...
    @overload
    def client(
        self, account_id: str, service: Literal["secretsmanager"], region: str | None = None
    ) -> SecretsManagerClient: ...
    @overload
    def client(self, account_id: str, service: str, region: str | None = None) -> Any: ...
    def client(self, account_id: str, service: str, region: str | None = None) -> Any:
        """``session(account_id, region).client(service, endpoint_url=endpoint_url)``, cached."""
        key = (account_id, region or self._region, service)
        client = self._clients.get(key)
        if client is None:
            factory: Any = self.session(account_id, region).client
            client = self._clients[key] = factory(service, endpoint_url=self._endpoint_url)
        return client

    # ---------------------------------------------------------------------- faults, records

    def inject_fault(
        self,
        service: str,
        operation: str,
        code: str,
        *,
        times: int = 1,
        status: int = 400,
        message: str | None = None,
        account_id: str | None = None,
        after: bool = False,
    ) -> Fault:
        """Make the next ``times`` calls of ``service:operation`` fail with ``code``/``status``.

        ``service`` is the boto3 service name (``"rds"``, ``"kms"``), ``operation`` the API name
        (``"CopyDBClusterSnapshot"``). The error is a real AWS error response in the service's
        protocol; the faulted call has no side effect. ``account_id`` limits it to one caller account.
        ``after=True`` serves the call first and then answers with the error: the side effect
        happens but the client never learns it (a dropped connection or a 5xx after AWS acted).
        """
        if times < 1:
            raise ValueError("times must be >= 1")
        fault = Fault(
            service=service,
            operation=operation,
            code=code,
            status=status,
            message=message,
            account_id=account_id,
            remaining=times,
            after=after,
        )
        self._recorder.add_fault(fault)
        return fault

    def clear_faults(self) -> None:
        """Remove every injected fault."""
        self._recorder.clear_faults()

    @property
    def calls(self) -> list[RecordedCall]:
        """Every request served so far (including faulted ones), oldest first."""
        return self._recorder.calls

    def clear_calls(self) -> None:
        """Forget the recorded calls."""
        self._recorder.clear_calls()

    # ----------------------------------------------------------------- long-running operations

    def retire_engine_version(self, engine: str, version: str, *, region: str | None = None) -> None:
        """Stop offering ``engine`` ``version`` in a region (``DescribeDBEngineVersions`` and
        ``DescribeOrderableDBInstanceOptions`` no longer list it)."""
        self._catalog.retired.add((region or self._region, engine, version))

    def finish_pending(self) -> None:
        """Complete every operation in progress now."""
        self._clock.finish_pending()

    def fail(self, account_id: str, kind: FailKind, identifier: str, region: str | None = None) -> None:
        """Put a resource into ``failed``: ``kind`` is cluster-snapshot, db-snapshot, cluster or
        instance."""
        self._require_active()
        if kind not in _FAIL_KINDS:
            raise ValueError(f"kind must be one of {sorted(_FAIL_KINDS)}, got {kind!r}")
        Clock.fail(self._rds_object(account_id, kind, identifier, region))

    def _rds_object(self, account_id: str, kind: FailKind, identifier: str, region: str | None) -> Any:
        backend = rds_backends[account_id][region or self._region]
        obj = getattr(backend, _FAIL_KINDS[kind]).get(identifier)
        if obj is None:
            raise LookupError(f"no {kind} {identifier!r} in {account_id}/{region or self._region}")
        return obj

    # ---------------------------------------------------------------------------- seed helpers

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
        encrypted: bool = True,
        kms_key_id: str | None = None,
        instances: int = 1,
        instance_class: str = "db.t3.medium",
        network: Network | None = None,
        manage_master_user_password: bool = False,
        region: str | None = None,
    ) -> dict[str, Any]:
        """Create an Aurora cluster with ``instances`` instances, ready (``available``) on return.

        Returns the cluster as ``describe_db_clusters`` reports it.
        """
        region = region or self._region
        rds = self.client(account_id, "rds", region)
        params: dict[str, Any] = {
            "DBClusterIdentifier": cluster_id,
            "Engine": engine,
            "MasterUsername": "dbadmin",
            "StorageEncrypted": encrypted,
        }
        if manage_master_user_password:
            params["ManageMasterUserPassword"] = True
        else:
            params["MasterUserPassword"] = secrets.token_urlsafe(18)
        if kms_key_id is not None:
            params["KmsKeyId"] = kms_key_id
        if network is not None:
            params["DBSubnetGroupName"] = network.subnet_group
            params["VpcSecurityGroupIds"] = [network.security_group_id]
        rds.create_db_cluster(**params)
        Clock.finish(self._rds_object(account_id, "cluster", cluster_id, region))
        for number in range(1, instances + 1):
            instance_id = f"{cluster_id}-{number}"
            rds.create_db_instance(
                DBInstanceIdentifier=instance_id,
                DBClusterIdentifier=cluster_id,
                Engine=engine,
                DBInstanceClass=instance_class,
            )
            Clock.finish(self._rds_object(account_id, "instance", instance_id, region))
        return dict(rds.describe_db_clusters(DBClusterIdentifier=cluster_id)["DBClusters"][0])


@functools.cache
def _shared_loader() -> botocore.loaders.Loader:
    """One botocore data loader for all test bed sessions, so service models are parsed once."""
    return botocore.loaders.create_loader()


def _new_session(**kwargs: Any) -> boto3.Session:
    core = botocore.session.get_session()
    core.register_component("data_loader", _shared_loader())
    return boto3.Session(botocore_session=core, **kwargs)


@functools.cache
def _server_class() -> type[Any]:
    """``ThreadedMotoServer`` that logs requests at debug level and stops quickly.

    moto's server logs every request to stderr through werkzeug, and ``serve_forever`` polls for
    shutdown every 0.5 s, which would add half a second to every server-mode test bed.
    """
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from moto.server import ThreadedMotoServer
    from werkzeug.serving import make_server

    class QuietRequestHandler(MotoRequestHandler):
        def log(self, type: str, message: str, *args: Any) -> None:
            _log.debug("moto server %s: " + message, type, *args)

    class TestBedServer(ThreadedMotoServer):
        def _server_entry(self) -> None:
            app = DomainDispatcherApplication(create_backend_app)
            self._server = make_server(
                self._ip_address,
                self._port,
                app,
                threaded=True,
                request_handler=QuietRequestHandler,
            )
            self._server_ready_event.set()
            self._server.serve_forever(poll_interval=0.02)

    return TestBedServer


def _mark_internal(request: Any, **_: Any) -> None:
    """Tag the test bed's own AssumeRole requests so they are neither faulted nor recorded."""
    request.headers[INTERNAL_HEADER] = "1"
