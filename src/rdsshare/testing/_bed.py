"""The test bed: moto plus the AWS rules rdsshare depends on, for any number of accounts."""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, ClassVar, Literal, overload

import boto3
from moto import mock_aws
from moto.core.base_backend import BackendDict
from moto.core.model_instances import reset_model_data

from . import _moto_compat, _state
from ._patching import Patcher
from ._seed import FAIL_KINDS, FailKind, Seeds, put_role
from ._server import mark_internal, new_session, server_class
from .rules.engines import Catalog
from .rules.iam import ADMIN_POLICY, DEFAULT_ROLE
from .rules.lifecycle import Clock
from .rules.requests import Fault, Interleaving, RecordedCall, Recorder

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client
    from mypy_boto3_iam import IAMClient
    from mypy_boto3_kms import KMSClient
    from mypy_boto3_rds import RDSClient
    from mypy_boto3_secretsmanager import SecretsManagerClient
    from mypy_boto3_sts import STSClient

__all__ = ["EmulatedAWS"]

_log = logging.getLogger("rdsshare.testing")

_ACCOUNT_ID = re.compile(r"^[0-9]{12}$")
_FAKE_CREDENTIAL = "testing"
# Variables that would make boto3 leave the test bed (real profiles, endpoints, web identity) or
# change its behaviour between machines (retry settings), and MOTO_ACCOUNT_ID, which overrides the
# account of assumed-role credentials (docs/sources/moto-gaps.md "Two accounts").
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


class EmulatedAWS(Seeds):
    """An offline AWS with several accounts that fails where real AWS fails.

    moto emulates the APIs; this test bed adds the rules rdsshare and its users depend on: snapshots
    shared across accounts as the target sees them, key policies and IAM identity policies, the
    AWS-managed ``aws/rds`` key and Aurora's default ``sse-rds`` encryption, RDS's grants on keys and
    what happens when a key goes away, sharing limits, quotas, engine versions, identifiers, busy
    resources, managed master secrets, long-running operations, fault injection and a record of every
    call. Each rule cites its source; see :mod:`rdsshare.testing.rules` and the docs' "Test bed" page.

    Two accounts: A snapshots its cluster, re-encrypts the snapshot under a key B may use, shares it;
    B sees it (under its ARN) and restores it::

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
    patches of moto's classes (:mod:`rdsshare.testing._moto_compat`), removed again on exit.

    ``operation_seconds`` (settable at any time) is how long snapshot creation and copies, cluster and
    instance creation, restores and modifications take; ``0`` makes them instant. ``quotas`` overrides
    ``DescribeAccountAttributes`` quotas (``{"DBClusters": 2}``); ``sse_rds_shareable`` says whether a
    snapshot encrypted with an AWS owned key can be shared as it is (no AWS source says; test both).
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
        quotas: Mapping[str, int] | None = None,
        sse_rds_shareable: bool = True,
    ) -> None:
        if operation_seconds < 0:
            raise ValueError("operation_seconds must be >= 0")
        if manual_snapshot_quota < 0 or copy_concurrency_quota < 0:
            raise ValueError("quotas must be >= 0")
        self.operation_seconds = float(operation_seconds)
        """Duration of long-running operations started from now on (seconds; 0 = instant)."""
        self._region = region
        self._server_mode = server
        self._state = _state.BedState(
            clock=Clock(self), catalog=Catalog(), recorder=Recorder(), sse_rds_shareable=sse_rds_shareable
        )
        self._state.copy_concurrency_quota = copy_concurrency_quota
        self.manual_snapshot_quota = manual_snapshot_quota
        for name, value in (quotas or {}).items():
            self.set_quota(name, value)
        self._patcher = Patcher()
        self._saved_env: dict[str, str | None] = {}
        self._mock: Any = None
        self._server: Any = None
        self._endpoint_url: str | None = None
        self._sessions: dict[tuple[str, str], boto3.Session] = {}
        self._clients: dict[tuple[str, str, str], Any] = {}
        self._roles: set[str] = set()
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
        self._state.recorder = Recorder()
        self._set_env()
        BackendDict.reset()
        _state.activate(self._state)
        _moto_compat.install(self._patcher, self._state.recorder)
        if self._server_mode:
            self._server = server_class()(ip_address="127.0.0.1", port=0, verbose=False)
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
            self._roles.clear()
            self._sts = None
            try:
                BackendDict.reset()
                reset_model_data()
            finally:
                try:
                    self._patcher.undo_all()
                finally:
                    _state.deactivate()
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

    @property
    def manual_snapshot_quota(self) -> int:
        """Manual snapshots per account and region (cluster and DB snapshots counted separately)."""
        return self._state.quotas["ManualClusterSnapshots"]

    @manual_snapshot_quota.setter
    def manual_snapshot_quota(self, value: int) -> None:
        self.set_quota("ManualClusterSnapshots", value)
        self.set_quota("ManualSnapshots", value)

    @property
    def copy_concurrency_quota(self) -> int:
        """Cluster snapshot copies in progress per account and destination region."""
        return self._state.copy_concurrency_quota

    @copy_concurrency_quota.setter
    def copy_concurrency_quota(self, value: int) -> None:
        if value < 0:
            raise ValueError("quotas must be >= 0")
        self._state.copy_concurrency_quota = value

    @property
    def quotas(self) -> Mapping[str, int]:
        """Every ``DescribeAccountAttributes`` quota (the same for all accounts and regions)."""
        return dict(self._state.quotas)

    def set_quota(self, name: str, value: int) -> None:
        """Change one quota, e.g. ``set_quota("DBClusters", 2)``."""
        if name not in self._state.quotas:
            raise ValueError(f"unknown quota {name!r}; one of {sorted(self._state.quotas)}")
        if value < 0:
            raise ValueError("quotas must be >= 0")
        self._state.quotas[name] = value

    @property
    def sse_rds_shareable(self) -> bool:
        """Whether a snapshot encrypted with an AWS owned key (``sse-rds``) can be shared as it is."""
        return self._state.sse_rds_shareable

    @sse_rds_shareable.setter
    def sse_rds_shareable(self, value: bool) -> None:
        self._state.sse_rds_shareable = bool(value)

    # ----------------------------------------------------------------------- sessions, clients

    def _base_sts(self) -> Any:
        if self._sts is None:
            base = new_session(
                aws_access_key_id=_FAKE_CREDENTIAL,
                aws_secret_access_key=_FAKE_CREDENTIAL,
                region_name=self._region,
            )
            self._sts = base.client("sts", endpoint_url=self._endpoint_url)
            self._sts.meta.events.register("before-sign.sts.AssumeRole", mark_internal)
        return self._sts

    def _assume(self, role_arn: str, region: str) -> boto3.Session:
        credentials = self._base_sts().assume_role(RoleArn=role_arn, RoleSessionName=DEFAULT_ROLE)["Credentials"]
        return new_session(
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"],
            region_name=region,
        )

    def session(self, account_id: str, region: str | None = None) -> boto3.Session:
        """A boto3 session acting as ``account_id``: the role ``rdsshare-testbed``, an administrator.

        Sessions are cached per (account, region). :meth:`~rdsshare.testing.EmulatedAWS.role_session` acts as
        a role with a policy.
        """
        self._require_active()
        if not _ACCOUNT_ID.match(account_id):
            raise ValueError(f"account_id must be 12 digits, got {account_id!r}")
        region = region or self._region
        cached = self._sessions.get((account_id, region))
        if cached is not None:
            return cached
        if account_id not in self._roles:
            put_role(account_id, DEFAULT_ROLE, ADMIN_POLICY)
            self._roles.add(account_id)
        session = self._assume(f"arn:aws:iam::{account_id}:role/{DEFAULT_ROLE}", region)
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
    def client(self, account_id: str, service: Literal["iam"], region: str | None = None) -> IAMClient: ...
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
        self._state.recorder.add_fault(fault)
        return fault

    def interleave(
        self,
        service: str,
        operation: str,
        action: Callable[[], object],
        *,
        times: int = 1,
        account_id: str | None = None,
        before: bool = False,
    ) -> Interleaving:
        """Run ``action`` (another client's work) when the next ``times`` calls of ``service:operation``
        arrive: right after each is served and before its caller sees the answer, or ``before`` it is
        served. This is how a test puts a second process's write between a read and a write, or
        between a write and its read-back. ``action`` may call the bed itself.
        """
        if times < 1:
            raise ValueError("times must be >= 1")
        item = Interleaving(
            service=service, operation=operation, action=action, account_id=account_id, remaining=times, before=before
        )
        self._state.recorder.add_interleaving(item)
        return item

    def clear_faults(self) -> None:
        """Remove every injected fault and interleaving."""
        self._state.recorder.clear_faults()

    @property
    def calls(self) -> list[RecordedCall]:
        """Every request served so far (including faulted and refused ones), oldest first."""
        return self._state.recorder.calls

    def clear_calls(self) -> None:
        """Forget the recorded calls."""
        self._state.recorder.clear_calls()

    # ----------------------------------------------------------------- long-running operations

    def retire_engine_version(self, engine: str, version: str, *, region: str | None = None) -> None:
        """Stop offering ``engine`` ``version`` in a region (``DescribeDBEngineVersions`` and
        ``DescribeOrderableDBInstanceOptions`` no longer list it; creates and restores refuse it)."""
        self._state.catalog.retired.add((region or self._region, engine, version))

    def finish_pending(self) -> None:
        """Complete every operation in progress now."""
        self._state.clock.finish_pending()

    def fail(self, account_id: str, kind: FailKind, identifier: str, region: str | None = None) -> None:
        """Put a resource into ``failed``: ``kind`` is cluster-snapshot, db-snapshot, cluster or
        instance."""
        self._require_active()
        if kind not in FAIL_KINDS:
            raise ValueError(f"kind must be one of {sorted(FAIL_KINDS)}, got {kind!r}")
        Clock.fail(self._rds_object(account_id, kind, identifier, region))
