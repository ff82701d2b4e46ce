"""Fixtures of the test bed's own tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

Clients = Callable[[str, str], Any]
"""``clients(account_id, service)``: a boto3 client acting as that account."""


@pytest.fixture
def plain(monkeypatch: pytest.MonkeyPatch) -> Iterator[Clients]:
    """Clients acting as any account under bare ``mock_aws``."""
    monkeypatch.delenv("MOTO_ACCOUNT_ID", raising=False)
    with mock_aws():
        sts = boto3.client("sts", region_name="us-east-1")

        def client(account_id: str, service: str) -> Any:
            credentials = sts.assume_role(RoleArn=f"arn:aws:iam::{account_id}:role/plain", RoleSessionName="plain")[
                "Credentials"
            ]
            factory: Any = boto3.client
            return factory(
                service,
                region_name="us-east-1",
                aws_access_key_id=credentials["AccessKeyId"],
                aws_secret_access_key=credentials["SecretAccessKey"],
                aws_session_token=credentials["SessionToken"],
            )

        yield client
