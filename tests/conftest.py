"""Shared fixtures: the AWS test bed, in-process and as a local moto server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from rdsshare.testing import EmulatedAWS


@pytest.fixture(
    params=[
        pytest.param(False, id="inprocess"),
        pytest.param(True, id="server", marks=pytest.mark.server),
    ]
)
def aws(request: pytest.FixtureRequest) -> Iterator[EmulatedAWS]:
    """An entered test bed in us-east-1, once in-process and once as a moto server."""
    with EmulatedAWS(server=request.param, region="us-east-1") as bed:
        yield bed
