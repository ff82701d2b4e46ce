"""AccountSession: the only place rdsshare creates boto3 sessions and clients."""

from __future__ import annotations

import logging
import os
import re
import threading
from typing import TYPE_CHECKING, Any, Literal, overload

import boto3
from botocore.config import Config
from botocore.credentials import RefreshableCredentials
from botocore.exceptions import BotoCoreError, ClientError
from botocore.session import Session as BotocoreSession

from . import __version__
from ._errors import InputError, translate_client_error
from ._validation import validate_region

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client
    from mypy_boto3_iam import IAMClient
    from mypy_boto3_kms import KMSClient
    from mypy_boto3_rds import RDSClient
    from mypy_boto3_secretsmanager import SecretsManagerClient
    from mypy_boto3_sts import STSClient

__all__ = ["AccountSession"]

_log = logging.getLogger("rdsshare.session")

#: botocore's standard retry mode: retries throttling (``Throttling``, ``ThrottlingException``,
#: ``RequestLimitExceeded``...), 5xx and connection errors with capped exponential backoff.
DEFAULT_CONFIG = Config(
    retries={"mode": "standard", "total_max_attempts": 6},
    user_agent_extra=f"rdsshare/{__version__}",
    connect_timeout=10,
    read_timeout=60,
)

_EXPIRED_CODES = frozenset({"ExpiredToken", "ExpiredTokenException", "RequestExpired"})

ServiceName = Literal["rds", "kms", "sts", "secretsmanager", "ec2", "iam"]


def no_retry(response: Any = None, **_: Any) -> bool | None:
    """A botocore ``needs-retry`` handler for calls rdsshare retries itself (after looking first).

    botocore retries none of them, except a call refused for an expired token: AWS refused it
    before acting, so the session's own handler (:meth:`AccountSession._refresh_on_expired`, next in
    line) refreshes assumed-role credentials and sends it again.
    """
    body = response[1] if isinstance(response, tuple) and len(response) > 1 else None
    code = body.get("Error", {}).get("Code") if isinstance(body, dict) else None
    return None if code in _EXPIRED_CODES else False


#: Calls that are not idempotent, which rdsshare retries itself after looking whether the first try
#: acted (a second ``CreateKey`` would make a second key); botocore retries them only for an expired
#: token. Only clients this module makes carry the handler: a client the caller made is left alone.
SELF_RETRIED: dict[str, tuple[str, ...]] = {
    "kms": ("CreateKey",),
    "rds": ("ModifyDBCluster", "ModifyDBInstance"),
}


def env_region() -> str | None:
    """``AWS_REGION``: the AWS CLI reads it before the profile's region and ``AWS_DEFAULT_REGION``; botocore doesn't."""
    return os.environ.get("AWS_REGION") or None


class AccountSession:
    """One AWS account in one region, as seen by one principal.

    It knows its account id (one ``sts:GetCallerIdentity``, cached) and region (else ``AWS_REGION``), and
    makes typed clients that share one configuration: botocore standard retries, the endpoint URL (for
    emulators), and the user's own ``Config`` on top. Every other rdsshare class takes its clients here.

    Three ways to make one::

        AccountSession(boto3.Session(profile_name="prod"))
        AccountSession.from_profile("sandbox-1", region="ap-northeast-1")
        AccountSession.from_role("arn:aws:iam::222222222222:role/restore", region="ap-northeast-1")
    """

    def __init__(
        self,
        boto3_session: boto3.Session,
        *,
        endpoint_url: str | None = None,
        config: Config | None = None,
        region: str | None = None,
    ) -> None:
        if not isinstance(boto3_session, boto3.Session):
            raise InputError(
                f"AccountSession needs a boto3.Session, got {type(boto3_session).__name__}", step="session"
            )
        region = region if region is not None else boto3_session.region_name or env_region()
        if region is None:
            raise InputError(
                "the boto3 session has no region",
                step="session",
                fix="pass region=... or set AWS_REGION / the profile's region",
            )
        self._session = boto3_session
        self._region = validate_region(region)
        self._regions: dict[str, AccountSession] = {}
        self._endpoint_url = endpoint_url
        self._config = DEFAULT_CONFIG.merge(config) if config is not None else DEFAULT_CONFIG
        self._clients: dict[str, Any] = {}
        self._lock, self._principal_lock = threading.Lock(), threading.Lock()
        self._identity: dict[str, str] | None = None
        #: the IAM role of a from_role session, as the user named it (with its path)
        self._role_arn: str | None = None
        self._principal: tuple[str | None] | None = None

    # -- constructors ---------------------------------------------------------------------
    @classmethod
    def from_profile(
        cls,
        name: str,
        *,
        region: str | None = None,
        endpoint_url: str | None = None,
        config: Config | None = None,
    ) -> AccountSession:
        """A named profile from ``~/.aws/config``.

        A profile with ``role_arn`` + ``source_profile`` already refreshes its assumed-role
        credentials by itself (botocore's assume-role provider).
        """
        return cls(
            boto3.Session(profile_name=name, region_name=region or env_region()),
            endpoint_url=endpoint_url,
            config=config,
        )

    @classmethod
    def from_role(
        cls,
        role_arn: str,
        *,
        base: AccountSession | boto3.Session | None = None,
        external_id: str | None = None,
        session_name: str = "rdsshare",
        duration_seconds: int = 3600,
        region: str | None = None,
        endpoint_url: str | None = None,
        config: Config | None = None,
    ) -> AccountSession:
        """Assume ``role_arn`` with credentials that refresh themselves.

        Snapshot copies can take hours, longer than an assumed-role session (1 h by default,
        and at most 1 h when chaining roles). The credentials are re-fetched with
        ``sts:AssumeRole`` before they expire (botocore refreshes 15 minutes ahead), so long
        waits keep working.
        """
        if not role_arn.startswith("arn:") or ":role/" not in role_arn:
            raise InputError(
                f"role_arn {role_arn!r} is not an IAM role ARN",
                step="session",
                fix="pass arn:aws:iam::<account-id>:role/<name>",
            )
        if not re.fullmatch(r"[\w+=,.@-]{2,64}", session_name):
            raise InputError(
                f"session_name {session_name!r} is not a valid role session name",
                step="session",
                fix="use 2-64 letters, digits or +=,.@- characters",
            )
        if isinstance(base, AccountSession):
            base_session = base._session
            endpoint_url = endpoint_url or base._endpoint_url
        elif base is None:
            base_session = boto3.Session(region_name=region or env_region())
        else:
            base_session = base
        region = region or env_region() or base_session.region_name
        sts_kwargs: dict[str, Any] = {"config": DEFAULT_CONFIG, "region_name": region}
        if endpoint_url:
            sts_kwargs["endpoint_url"] = endpoint_url
        sts: STSClient = base_session.client("sts", **sts_kwargs)

        def fetch() -> dict[str, str]:
            params: dict[str, Any] = {
                "RoleArn": role_arn,
                "RoleSessionName": session_name,
                "DurationSeconds": duration_seconds,
            }
            if external_id is not None:
                params["ExternalId"] = external_id
            _log.debug("assuming role %s", role_arn)
            creds = sts.assume_role(**params)["Credentials"]
            return {
                "access_key": creds["AccessKeyId"],
                "secret_key": creds["SecretAccessKey"],
                "token": creds["SessionToken"],
                "expiry_time": creds["Expiration"].isoformat(),
            }

        try:
            refreshable = RefreshableCredentials.create_from_metadata(
                metadata=fetch(), refresh_using=fetch, method="sts-assume-role"
            )
        except ClientError as exc:
            raise translate_client_error(exc, step="session", account_id=None, resource=role_arn) from exc
        botocore_session = BotocoreSession()
        # botocore has no public setter for refreshable credentials; this is the documented
        # community pattern (boto3 #443) and what botocore's own assume-role provider ends in.
        botocore_session._credentials = refreshable  # type: ignore[attr-defined]
        if region:
            botocore_session.set_config_variable("region", region)
        made = cls(
            boto3.Session(botocore_session=botocore_session, region_name=region),
            endpoint_url=endpoint_url,
            config=config,
        )
        made._role_arn = role_arn
        return made

    # -- identity ---------------------------------------------------------------------------
    @property
    def region(self) -> str:
        """The region every client of this session talks to."""
        assert self._region is not None  # checked in __init__
        return self._region

    def in_region(self, region: str) -> AccountSession:
        """The same principal in another region (same credentials, cached identity and config)."""
        if region == self.region:
            return self
        with self._lock:
            other = self._regions.get(region)
            if other is None:
                other = AccountSession(
                    self._session, endpoint_url=self._endpoint_url, config=self._config, region=region
                )
                other._identity = self._identity
                other._role_arn = self._role_arn
                other._principal = self._principal
                self._regions[region] = other
            return other

    @property
    def endpoint_url(self) -> str | None:
        """The endpoint override (an emulator), or None for real AWS."""
        return self._endpoint_url

    @property
    def boto3_session(self) -> boto3.Session:
        """The underlying boto3 session."""
        return self._session

    def _caller_identity(self) -> dict[str, str]:
        if self._identity is None:
            try:
                ident = self.sts().get_caller_identity()
            except ClientError as exc:
                raise translate_client_error(
                    exc, step="session", account_id=None, resource="sts:GetCallerIdentity"
                ) from exc
            except BotoCoreError as exc:
                raise InputError(
                    f"cannot resolve the identity of this session: {exc}",
                    step="session",
                    fix="check the profile/role and that credentials are configured",
                ) from exc
            self._identity = {"Account": ident["Account"], "Arn": ident["Arn"]}
        return self._identity

    @property
    def account_id(self) -> str:
        """The 12-digit account id (``sts:GetCallerIdentity``, called once and cached)."""
        return self._caller_identity()["Account"]

    @property
    def caller_arn(self) -> str:
        """The ARN of the calling principal."""
        return self._caller_identity()["Arn"]

    def principal_arn(self) -> str | None:
        """The IAM principal behind this session, as a key policy names it; None for the root user.

        An assumed-role session's ARN (``arn:aws:sts::A:assumed-role/R/S``) is not what a policy names:
        that is the role's ARN, path included (``role/aws-reserved/sso.amazonaws.com/R`` for IAM Identity
        Center roles), which only ``iam:GetRole`` tells (once per session) unless it came from :meth:`from_role`.
        """
        with self._principal_lock:  # threads of a batch ask at once: one GetRole, not one each
            if self._principal is None:
                self._principal = (self._resolve_principal(),)
            return self._principal[0]

    def _resolve_principal(self) -> str | None:
        arn = self.caller_arn
        parts = arn.split(":")
        resource = parts[5] if len(parts) > 5 else ""
        if resource.startswith("user/"):
            return arn
        if not resource.startswith("assumed-role/"):
            return None  # the root user, or a federated user: the account-root statement covers it
        role = resource.split("/")[1]
        if self._role_arn is not None and self._role_arn.rsplit("/", 1)[-1] == role:
            return self._role_arn
        try:
            return str(self.iam().get_role(RoleName=role)["Role"]["Arn"])
        except ClientError as exc:
            error = translate_client_error(exc, step="source-key", account_id=self.account_id, resource=role)
            error.fix = (
                f"allow iam:GetRole on the role {role} (rdsshare names it, path included, in its share key's "
                "policy), or make the session with AccountSession.from_role(<the role's ARN>)"
            )
            error.args = (error._render(),)
            raise error from exc

    @property
    def partition(self) -> str:
        """The ARN partition of the caller (``aws``, ``aws-cn``, ``aws-us-gov``)."""
        return self.caller_arn.split(":")[1]

    # -- clients ----------------------------------------------------------------------------
    @overload
    def client(self, service: Literal["rds"]) -> RDSClient: ...
    @overload
    def client(self, service: Literal["kms"]) -> KMSClient: ...
    @overload
    def client(self, service: Literal["sts"]) -> STSClient: ...
    @overload
    def client(self, service: Literal["secretsmanager"]) -> SecretsManagerClient: ...
    @overload
    def client(self, service: Literal["ec2"]) -> EC2Client: ...
    @overload
    def client(self, service: Literal["iam"]) -> IAMClient: ...

    def client(self, service: ServiceName) -> Any:
        """A cached client for ``service`` with rdsshare's configuration."""
        with self._lock:
            existing = self._clients.get(service)
            if existing is None:
                kwargs: dict[str, Any] = {"config": self._config, "region_name": self.region}
                if self._endpoint_url:
                    kwargs["endpoint_url"] = self._endpoint_url
                existing = self._session.client(service, **kwargs)
                existing.meta.events.register_first("needs-retry", self._refresh_on_expired)  # type: ignore[arg-type]
                for operation in SELF_RETRIED.get(service, ()):
                    existing.meta.events.register_first(
                        f"needs-retry.{service}.{operation}",
                        no_retry,  # type: ignore[arg-type]
                        unique_id=f"rdsshare-no-retry-{service}-{operation}",
                    )
                self._clients[service] = existing
            return existing

    def _refresh_on_expired(self, response: Any = None, attempts: int = 1, **_: Any) -> float | None:
        """botocore ``needs-retry`` hook: on ``ExpiredToken``, refresh refreshable credentials and retry.

        Assumed-role credentials last an hour; a copy can take many. botocore refreshes ahead of
        the expiry it knows, but a token can still be refused (clock skew, a revoked session).
        Static credentials cannot refresh: the error surfaces as CredentialsExpiredError.
        """
        if response is None or attempts > 2:
            return None
        code = response[1].get("Error", {}).get("Code") if isinstance(response[1], dict) else None
        if code not in _EXPIRED_CODES:
            return None
        credentials = self._session.get_credentials()
        if not isinstance(credentials, RefreshableCredentials):
            return None
        _log.info("credentials expired (%s); refreshing and retrying", code)
        # botocore has no public "refresh now"; this is the method its own refresh path calls.
        credentials._protected_refresh(is_mandatory=True)  # type: ignore[attr-defined]
        return 0.0

    def rds(self) -> RDSClient:
        """The RDS client."""
        return self.client("rds")

    def kms(self) -> KMSClient:
        """The KMS client."""
        return self.client("kms")

    def sts(self) -> STSClient:
        """The STS client."""
        return self.client("sts")

    def secretsmanager(self) -> SecretsManagerClient:
        """The Secrets Manager client."""
        return self.client("secretsmanager")

    def ec2(self) -> EC2Client:
        """The EC2 client."""
        return self.client("ec2")

    def iam(self) -> IAMClient:
        """The IAM client (read-only use: the session's own role)."""
        return self.client("iam")

    def __repr__(self) -> str:
        account = self._identity["Account"] if self._identity else "?"
        endpoint = f", endpoint_url={self._endpoint_url!r}" if self._endpoint_url else ""
        return f"AccountSession(account_id={account!r}, region={self.region!r}{endpoint})"
