"""Who is calling: the principal behind the request moto is serving right now.

moto's backends know the account they belong to but not the IAM principal that made the request.
Key policies and the KMS lockout check are about principals, so the request hook records the caller
in a thread-local while the request is served (moto serves a request on one thread in both modes).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from moto.iam.models import iam_backends
from moto.sts.models import sts_backends

from .policy_eval import Principal

_local = threading.local()


@dataclass(frozen=True)
class Caller:
    """The principal of the current request."""

    account_id: str
    region: str
    arns: tuple[str, ...] = ()

    @property
    def principal(self) -> Principal:
        """The caller as a policy-evaluation principal."""
        return Principal(account_id=self.account_id, arns=self.arns)

    @property
    def arn(self) -> str:
        """The most specific ARN known for the caller (session ARN, role ARN or account root)."""
        return self.arns[-1] if self.arns else f"arn:aws:iam::{self.account_id}:root"

    @property
    def role_arn(self) -> str | None:
        """The IAM role behind the caller's session, or None for the account's root user."""
        return next((a for a in self.arns if ":role/" in a), None)


def current_caller(account_id: str, region: str) -> Caller:
    """The caller of the request being served, or the account root if none is recorded.

    The fallback is used when test bed helpers call moto backends directly.
    """
    caller: Caller | None = getattr(_local, "caller", None)
    if caller is not None and caller.account_id == account_id:
        return caller
    return Caller(account_id=account_id, region=region)


def current_params() -> Mapping[str, Any]:
    """The parameters of the request being served (empty when a helper calls a backend directly).

    For the few rules that depend on a parameter moto's response layer does not hand to its backend
    (e.g. ``DeleteDBCluster``'s ``DeleteAutomatedBackups``).
    """
    params: Mapping[str, Any] | None = getattr(_local, "params", None)
    return params if params is not None else {}


@contextmanager
def caller_scope(caller: Caller, params: Mapping[str, Any] | None = None) -> Iterator[None]:
    """Make ``caller`` (and the request's ``params``) current for the duration of the block."""
    previous = getattr(_local, "caller", None), getattr(_local, "params", None)
    _local.caller, _local.params = caller, params
    try:
        yield
    finally:
        _local.caller, _local.params = previous


def caller_from_response(response: Any) -> Caller:
    """Work out the caller of a moto ``BaseResponse`` from its access key.

    Credentials from ``sts:AssumeRole`` belong to a role; the role ARN and the assumed-role session
    ARN are both recorded so policies can name either.
    """
    account_id = str(response.current_account)
    region = str(response.region)
    access_key = str(getattr(response, "access_key", ""))
    arns: list[str] = []
    try:
        key = iam_backends[account_id]["aws"].access_keys.get(access_key)
        role_arn = getattr(key, "role_arn", None)
        if role_arn:
            arns.append(str(role_arn))
        session = sts_backends[account_id]["aws"].get_assumed_role_from_access_key(access_key)
        if session is not None:
            arns.append(str(session.arn))
    except Exception:  # unknown credentials act as the account root
        arns = []
    return Caller(account_id=account_id, region=region, arns=tuple(arns))
