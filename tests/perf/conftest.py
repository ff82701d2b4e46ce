"""Fixtures for tests/perf: an in-process test bed (it serves concurrent clients one request at a time)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from rdsshare import AccountSession, set_testing
from rdsshare.testing import EmulatedAWS

from ..accounts import SOURCE, TARGET


@pytest.fixture
def bed() -> Iterator[EmulatedAWS]:
    """An in-process test bed with instant waits (``set_testing``) and room for many snapshots."""
    set_testing(True)
    try:
        with EmulatedAWS(region="us-east-1", manual_snapshot_quota=1000) as aws:
            yield aws
    finally:
        set_testing(False)


def sessions(aws: EmulatedAWS) -> tuple[AccountSession, AccountSession]:
    """(source, target) sessions of the two test accounts."""
    return (
        AccountSession(aws.session(SOURCE), endpoint_url=aws.endpoint_url),
        AccountSession(aws.session(TARGET), endpoint_url=aws.endpoint_url),
    )
