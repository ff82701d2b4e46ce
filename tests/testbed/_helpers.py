"""Small builders shared by the test bed's tests."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from rdsshare.testing import EmulatedAWS

from ..accounts import SOURCE, TARGET

USE_ACTIONS = [
    "kms:CreateGrant",
    "kms:Encrypt",
    "kms:Decrypt",
    "kms:ReEncrypt*",
    "kms:GenerateDataKey*",
    "kms:DescribeKey",
]
"""The "Allow use of the key" actions of AWS's cross-account example [AUR-SHARE]."""


def root_statement(owner: str) -> dict[str, Any]:
    """The lockout-safe statement of the default key policy [KMS-DEF]."""
    return {
        "Sid": "Enable IAM User Permissions",
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{owner}:root"},
        "Action": "kms:*",
        "Resource": "*",
    }


def allow(
    principal: Any,
    actions: Sequence[str] = USE_ACTIONS,
    condition: dict[str, Any] | None = None,
    effect: str = "Allow",
) -> dict[str, Any]:
    """A key policy statement for ``principal`` (an AWS principal value or ``"*"``)."""
    statement: dict[str, Any] = {
        "Effect": effect,
        "Principal": principal if principal == "*" else {"AWS": principal},
        "Action": list(actions),
        "Resource": "*",
    }
    if condition is not None:
        statement["Condition"] = condition
    return statement


def key_policy(owner: str, *statements: dict[str, Any]) -> str:
    """A key policy: the owner's root statement plus ``statements``."""
    return json.dumps({"Version": "2012-10-17", "Statement": [root_statement(owner), *statements]})


def create_cmk(aws: EmulatedAWS, owner: str, grantees: Iterable[str] = (), **kwargs: Any) -> str:
    """A customer managed key in ``owner`` usable by RDS in ``grantees``; returns its ARN."""
    policy = key_policy(owner, *(allow(f"arn:aws:iam::{g}:root") for g in grantees))
    metadata = aws.client(owner, "kms").create_key(Policy=policy, **kwargs)["KeyMetadata"]
    return metadata["Arn"]


@dataclass(frozen=True)
class Shared:
    """A cluster snapshot in SOURCE, encrypted under a CMK, shared with TARGET."""

    snapshot_arn: str
    key_arn: str
    snapshot_id: str


def shared_cluster_snapshot(
    aws: EmulatedAWS,
    *,
    cluster_id: str = "orders",
    snapshot_id: str = "orders-shared",
    policy: str | None = None,
    share_with: Sequence[str] = (TARGET,),
) -> Shared:
    """Create a cluster in SOURCE, snapshot it, re-encrypt the copy under a CMK, share it."""
    aws.create_cluster(SOURCE, cluster_id)
    rds = aws.client(SOURCE, "rds")
    rds.create_db_cluster_snapshot(DBClusterIdentifier=cluster_id, DBClusterSnapshotIdentifier=f"{cluster_id}-snap")
    if policy is None:
        key_arn = create_cmk(aws, SOURCE, [TARGET])
    else:
        key_arn = aws.client(SOURCE, "kms").create_key(Policy=policy)["KeyMetadata"]["Arn"]
    copy = rds.copy_db_cluster_snapshot(
        SourceDBClusterSnapshotIdentifier=f"{cluster_id}-snap",
        TargetDBClusterSnapshotIdentifier=snapshot_id,
        KmsKeyId=key_arn,
    )["DBClusterSnapshot"]
    if share_with:
        rds.modify_db_cluster_snapshot_attribute(
            DBClusterSnapshotIdentifier=snapshot_id,
            AttributeName="restore",
            ValuesToAdd=list(share_with),
        )
    return Shared(copy["DBClusterSnapshotArn"], key_arn, snapshot_id)


def target_key(aws: EmulatedAWS) -> str:
    """A CMK in TARGET (default policy) for re-encrypting what it receives."""
    return aws.client(TARGET, "kms").create_key(Description="target")["KeyMetadata"]["Arn"]


def client_with_attempts(aws: EmulatedAWS, account_id: str, service: str, attempts: int) -> Any:
    """A client with botocore's standard retries capped at ``attempts`` calls in total."""
    config = Config(retries={"mode": "standard", "total_max_attempts": attempts})
    factory: Any = aws.session(account_id).client
    return factory(service, endpoint_url=aws.endpoint_url, config=config)


def error_code(raised: pytest.ExceptionInfo[ClientError]) -> str:
    """The AWS error code of a ``ClientError``."""
    return str(raised.value.response["Error"]["Code"])


def poll(read: Callable[[], str], want: str, *, timeout: float = 5.0) -> list[str]:
    """Call ``read`` until it returns ``want``; return every value seen (fails after ``timeout``)."""
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        seen.append(value)
        if value == want:
            return seen
        if time.monotonic() > deadline:
            pytest.fail(f"still {value!r} after {timeout}s, wanted {want!r}; saw {seen}")
        time.sleep(0.05)
