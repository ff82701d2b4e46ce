"""The live suite's worlds: the test bed always, two real AWS accounts when their profiles are set.

``nox -s live`` (or ``pytest tests/live -m live``) with ``RDSSHARE_LIVE_SOURCE_PROFILE`` and
``RDSSHARE_LIVE_TARGET_PROFILE`` (and optionally ``RDSSHARE_LIVE_REGION``, default us-east-1) runs the
same tests against AWS; without them the AWS half skips with a one-line reason. docs/test-bed.md says
what it costs and what it leaves.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator

import pytest

from rdsshare import RdsShareError, cleanup, set_testing
from rdsshare.testing import EmulatedAWS

from .world import SOURCE_PROFILE, TARGET_PROFILE, BedWorld, LiveWorld, World, live_settings

SKIP_REASON = f"live AWS run: set {SOURCE_PROFILE} and {TARGET_PROFILE} to run it (nox -s live)"


class Runs:
    """The manifests of the runs a test made, so teardown can clean up after a failure too."""

    def __init__(self) -> None:
        self.manifests: list[object] = []

    def keep(self, manifest: object) -> None:
        if manifest is not None:
            self.manifests.append(manifest)


@pytest.fixture(params=["bed", pytest.param("aws", marks=pytest.mark.live)])
def world(request: pytest.FixtureRequest) -> Iterator[World]:
    if request.param == "bed":
        set_testing(True)
        try:
            with EmulatedAWS() as aws:
                bed = BedWorld(aws)
                yield bed
                bed.teardown()
        finally:
            set_testing(False)
        return
    settings = live_settings()
    if settings is None:
        pytest.skip(SKIP_REASON)
    live = LiveWorld(*settings)
    try:
        yield live
    finally:
        live.teardown()


@pytest.fixture
def runs(world: World) -> Iterator[Runs]:
    kept = Runs()
    yield kept
    for manifest in reversed(kept.manifests):
        try:
            cleanup(manifest, source=world.source, target=world.target, delete_restored_cluster=True)  # type: ignore[arg-type]
        except RdsShareError as exc:  # the world's sweep removes what is left; say so
            warnings.warn(f"cleanup after a live-suite run failed: {exc}", stacklevel=1)
