"""Entering and leaving the test bed: environment, patches, state, sessions, import hygiene."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import moto.kms.models
import pytest
from moto.core.responses import BaseResponse
from moto.kms.models import KmsBackend
from moto.kms.responses import KmsResponse
from moto.rds.exceptions import DBSnapshotNotFoundFault
from moto.rds.models import (
    DBCluster,
    DBClusterSnapshot,
    DBInstance,
    DBSnapshot,
    MasterUserSecret,
    RDSBackend,
    SnapshotAttributesMixin,
)
from moto.rds.responses import RDSResponse

from rdsshare.testing import EmulatedAWS

from ..accounts import SOURCE, TARGET

PATCHED_CLASSES: tuple[type[Any], ...] = (
    BaseResponse,
    KmsBackend,
    KmsResponse,
    RDSBackend,
    RDSResponse,
    DBCluster,
    DBClusterSnapshot,
    DBInstance,
    DBSnapshot,
    SnapshotAttributesMixin,
    MasterUserSecret,
    DBSnapshotNotFoundFault,
)
MODES = [pytest.param(False, id="inprocess"), pytest.param(True, id="server", marks=pytest.mark.server)]


def _class_state() -> dict[tuple[str, str], int]:
    """Identity of every attribute of the classes the bed patches.

    Left out: dunders Python adds lazily and ``instances_tracked``, moto's registry of model objects,
    which moto itself replaces whenever it resets.
    """
    state = {
        (cls.__qualname__, name): id(value)
        for cls in PATCHED_CLASSES
        for name, value in vars(cls).items()
        if name != "instances_tracked" and not (name.startswith("__") and name.endswith("__") and name != "__init__")
    }
    state[("moto.kms.models", "generate_private_key")] = id(vars(moto.kms.models)["generate_private_key"])
    return state


@pytest.mark.parametrize("server", MODES)
def test_environment_is_restored(server: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOTO_ACCOUNT_ID", "999999999999")
    monkeypatch.setenv("AWS_PROFILE", "production")
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    before = dict(os.environ)
    with EmulatedAWS(server=server, region="eu-west-1") as aws:
        assert "MOTO_ACCOUNT_ID" not in os.environ
        assert "AWS_PROFILE" not in os.environ
        assert os.environ["AWS_DEFAULT_REGION"] == "eu-west-1"
        assert os.environ["AWS_ACCESS_KEY_ID"]
        assert os.environ.get("AWS_ENDPOINT_URL") == aws.endpoint_url
        # MOTO_ACCOUNT_ID would override the account of every session; it is gone, so this works.
        assert aws.client(TARGET, "sts").get_caller_identity()["Account"] == TARGET
    assert dict(os.environ) == before


@pytest.mark.parametrize("server", MODES)
def test_moto_classes_are_restored(server: bool) -> None:
    before = _class_state()
    with EmulatedAWS(server=server) as aws:
        inside = _class_state()
        aws.create_cluster(SOURCE, "orders")
    patched = {name for name, value in inside.items() if before.get(name) != value}
    assert ("RDSBackend", "copy_db_cluster_snapshot") in patched
    assert ("DBSnapshot", "status") in patched  # added by the bed, absent in moto
    assert _class_state() == before


@pytest.mark.parametrize(("first", "second"), [(False, True), (True, False), (False, False)])
def test_beds_in_a_row_share_nothing(first: bool, second: bool) -> None:
    with EmulatedAWS(server=first) as aws:
        aws.create_cluster(SOURCE, "orders")
        aws.client(SOURCE, "kms").create_key()
        aws.inject_fault("rds", "DescribeDBClusters", "Throttling", times=100)
        aws.operation_seconds = 60
    with EmulatedAWS(server=second) as aws:
        assert aws.client(SOURCE, "rds").describe_db_clusters()["DBClusters"] == []
        assert aws.client(SOURCE, "kms").list_keys()["Keys"] == []
        assert [c.operation for c in aws.calls] == ["DescribeDBClusters", "ListKeys"]
        assert aws.operation_seconds == 0


def test_only_one_bed_at_a_time() -> None:
    with EmulatedAWS() as aws:
        with pytest.raises(RuntimeError, match="another EmulatedAWS"), EmulatedAWS():
            pass
        assert aws.client(SOURCE, "rds").describe_db_clusters()["DBClusters"] == []
    with EmulatedAWS() as again:
        again.client(SOURCE, "rds").describe_db_clusters()


def test_endpoints_and_plain_session_clients(aws: EmulatedAWS) -> None:
    if aws.endpoint_url is None:
        assert os.environ.get("AWS_ENDPOINT_URL") is None
    else:
        assert aws.endpoint_url.startswith("http://127.0.0.1:")
    # Code under test builds its own clients from the session, without endpoint_url.
    aws.create_cluster(SOURCE, "orders")
    rds = aws.session(SOURCE).client("rds")
    assert [c["DBClusterIdentifier"] for c in rds.describe_db_clusters()["DBClusters"]] == ["orders"]
    assert aws.region == "us-east-1"


def test_sessions(aws: EmulatedAWS) -> None:
    assert aws.session(SOURCE) is aws.session(SOURCE)
    assert aws.session(SOURCE).region_name == "us-east-1"
    west = aws.session(SOURCE, region="eu-west-1")
    assert west.region_name == "eu-west-1"
    assert west.client("sts", endpoint_url=aws.endpoint_url).get_caller_identity()["Account"] == SOURCE
    aws.create_cluster(SOURCE, "east")
    assert aws.client(SOURCE, "rds", "eu-west-1").describe_db_clusters()["DBClusters"] == []
    for bad in ("1234", "12345678901a", "", "1111111111111"):
        with pytest.raises(ValueError, match="12 digits"):
            aws.session(bad)


def test_bed_must_be_entered() -> None:
    aws = EmulatedAWS()
    with pytest.raises(RuntimeError, match="with"):
        aws.session(SOURCE)
    with pytest.raises(ValueError, match="operation_seconds"):
        EmulatedAWS(operation_seconds=-1)


def test_import_rdsshare_does_not_import_moto() -> None:
    code = (
        "import sys, rdsshare\n"
        "loaded = sorted(m for m in sys.modules if m == 'moto' or m.startswith(('moto.', 'rdsshare.testing')))\n"
        "assert not loaded, loaded\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
