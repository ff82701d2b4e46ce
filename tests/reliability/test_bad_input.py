"""Bad input, table-driven: each case raises a typed rdsshare error that names the input and the fix,
and no AWS call that changes anything was made."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from rdsshare import (
    AccountSession,
    ClusterRestoreSpec,
    InputError,
    RdsShareError,
    WaitPolicy,
    share_cluster_snapshot,
)
from rdsshare.testing import EmulatedAWS

from ..accounts import OTHER, SOURCE, TARGET
from ..flow.helpers import mutating_calls, sessions

Setup = Callable[[EmulatedAWS], dict[str, Any]]


def _spec(**kw: Any) -> Callable[[EmulatedAWS], ClusterRestoreSpec]:
    def make(aws: EmulatedAWS) -> ClusterRestoreSpec:
        net = aws.create_network(TARGET, "net")
        base: dict[str, Any] = {
            "cluster_id": "restored",
            "instance_class": "db.t3.medium",
            "subnet_group": net.subnet_group,
            "security_group_ids": [net.security_group_id],
        }
        base.update(kw)
        return ClusterRestoreSpec(**base)

    return make


def _disabled_key(aws: EmulatedAWS) -> dict[str, Any]:
    kms = aws.client(SOURCE, "kms")
    key = kms.create_key()["KeyMetadata"]
    kms.disable_key(KeyId=key["KeyId"])
    return {"cluster_id": "example-db", "source_kms_key": key["Arn"]}


def _other_region_key(aws: EmulatedAWS) -> dict[str, Any]:
    key = aws.client(SOURCE, "kms", region="eu-west-1").create_key()["KeyMetadata"]
    return {"cluster_id": "example-db", "source_kms_key": key["Arn"]}


def _asymmetric_key(aws: EmulatedAWS) -> dict[str, Any]:
    key = aws.client(SOURCE, "kms").create_key(KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY")["KeyMetadata"]
    return {"cluster_id": "example-db", "source_kms_key": key["Arn"]}


def _failed_snapshot(aws: EmulatedAWS) -> dict[str, Any]:
    aws.client(SOURCE, "rds").create_db_cluster_snapshot(
        DBClusterIdentifier="example-db", DBClusterSnapshotIdentifier="bad"
    )
    aws.fail(SOURCE, "cluster-snapshot", "bad")
    return {"snapshot_id": "bad"}


def _taken_restore_id(aws: EmulatedAWS) -> dict[str, Any]:
    aws.create_cluster(TARGET, "restored", encrypted=False)
    return {"cluster_id": "example-db", "restore": _spec()(aws)}


def _target_key_elsewhere(aws: EmulatedAWS) -> dict[str, Any]:
    key = aws.client(TARGET, "kms", region="eu-west-1").create_key()["KeyMetadata"]
    return {"cluster_id": "example-db", "restore": _spec(kms_key_id=key["Arn"])(aws)}


def _target_key_disabled(aws: EmulatedAWS) -> dict[str, Any]:
    kms = aws.client(TARGET, "kms")
    key = kms.create_key()["KeyMetadata"]
    kms.disable_key(KeyId=key["KeyId"])
    return {"cluster_id": "example-db", "restore": _spec(kms_key_id=key["Arn"])(aws)}


def _sg_other_vpc(aws: EmulatedAWS) -> dict[str, Any]:
    other = aws.create_network(TARGET, "other")
    return {"cluster_id": "example-db", "restore": _spec(security_group_ids=[other.security_group_id])(aws)}


def _plain(**kwargs: Any) -> Setup:
    return lambda _aws: dict(kwargs)


def _restore(**kwargs: Any) -> Setup:
    return lambda aws: {"cluster_id": "example-db", "restore": _spec(**kwargs)(aws)}


CASES: list[tuple[str, Setup, str]] = [
    ("no source", _plain(), "exactly one of cluster_id and snapshot_id"),
    ("both sources", _plain(cluster_id="example-db", snapshot_id="x"), "exactly one"),
    ("cluster id starts with digit", _plain(cluster_id="1db"), "'1db'"),
    ("cluster id double hyphen", _plain(cluster_id="a--b"), "'a--b'"),
    ("cluster id trailing hyphen", _plain(cluster_id="db-"), "'db-'"),
    ("cluster id underscore", _plain(cluster_id="my_db"), "'my_db'"),
    ("cluster id too long", _plain(cluster_id="a" * 64), "not a valid RDS cluster identifier"),
    ("cluster id empty", _plain(cluster_id=""), "not a valid RDS cluster identifier"),
    ("cluster id wrong type", _plain(cluster_id=123), "cluster_id must be a string"),
    ("snapshot id bad", _plain(snapshot_id="snap shot"), "'snap shot'"),
    ("snapshot ARN other account", _plain(snapshot_id=f"arn:aws:rds:us-east-1:{OTHER}:cluster-snapshot:s"), OTHER),
    (
        "snapshot ARN other region",
        _plain(snapshot_id=f"arn:aws:rds:eu-west-1:{SOURCE}:cluster-snapshot:s"),
        "eu-west-1",
    ),
    ("run name upper case", _plain(cluster_id="example-db", run_name="Run1"), "run_name 'Run1'"),
    ("run name too long", _plain(cluster_id="example-db", run_name="r" * 41), "run_name"),
    ("run name wrong type", _plain(cluster_id="example-db", run_name=7), "run_name 7"),
    ("restore wrong type", _plain(cluster_id="example-db", restore="example-db-2"), "ClusterRestoreSpec"),
    ("admin principal star", _plain(cluster_id="example-db", key_admin_principals=["*"]), "'*'"),
    ("admin principal not arn", _plain(cluster_id="example-db", key_admin_principals=["admin"]), "'admin'"),
    ("cleanup unknown", _plain(cluster_id="example-db", cleanup="all"), "cleanup must be"),
    ("cleanup without restore", _plain(cluster_id="example-db", cleanup="intermediates"), "needs restore"),
    ("unknown cluster", _plain(cluster_id="nope"), "nope"),
    ("unknown snapshot", _plain(snapshot_id="nope"), "nope"),
    ("snapshot in failed state", _failed_snapshot, "failed"),
    ("disabled source key", _disabled_key, "Disabled"),
    ("source key in another region", _other_region_key, "region-bound"),
    ("asymmetric source key", _asymmetric_key, "symmetric"),
    ("AWS-managed key as source CMK", _plain(cluster_id="example-db", source_kms_key="alias/aws/rds"), "AWS-managed"),
    ("unknown source CMK", _plain(cluster_id="example-db", source_kms_key="alias/nope"), "alias/nope"),
    ("restore id taken by unrelated cluster", _taken_restore_id, "restored"),
    ("missing subnet group", _restore(subnet_group="nope"), "nope"),
    ("unknown security group", _restore(security_group_ids=["sg-0123456789abcdef0"]), "sg-0123456789abcdef0"),
    ("security group in another VPC", _sg_other_vpc, "different VPCs"),
    ("instance class not orderable", _restore(instance_class="db.x9.huge"), "db.x9.huge"),
    ("engine version not offered", _restore(engine_version="9.9.9"), "9.9.9"),
    ("target key in another region", _target_key_elsewhere, "region"),
    ("target key disabled", _target_key_disabled, "Disabled"),
    ("unknown target key", _restore(kms_key_id="alias/nope"), "alias/nope"),
]


@pytest.mark.parametrize(("setup", "match"), [(s, m) for _, s, m in CASES], ids=[c[0] for c in CASES])
def test_bad_input(setup: Setup, match: str) -> None:
    with EmulatedAWS() as aws:
        aws.create_cluster(SOURCE, "example-db")
        kwargs = setup(aws)
        source, target = sessions(aws)
        aws.clear_calls()
        with pytest.raises(RdsShareError) as info:
            share_cluster_snapshot(source=source, target=target, **kwargs)
        text = str(info.value)
        assert match in text, text
        assert "Fix:" in text, text
        assert mutating_calls(aws) == [], text


def test_table_has_at_least_30_cases() -> None:
    assert len(CASES) >= 30


@pytest.mark.parametrize(
    "kwargs",
    [
        {"cluster_id": "Bad_Id", "instance_class": "db.t3.medium"},
        {"cluster_id": "ok", "instance_class": "t3.medium"},
        {"cluster_id": "ok", "instance_class": "db.t3.medium", "security_group_ids": ["default"]},
        {"cluster_id": "ok", "instance_class": "db.t3.medium", "port": 80},
        {"cluster_id": "ok", "instance_class": "db.t3.medium", "instance_count": -1},
        {"cluster_id": "ok", "instance_class": "db.t3.medium", "security_group_ids": "sg-12345678"},
    ],
)
def test_restore_spec_is_checked_on_construction(kwargs: dict[str, Any]) -> None:
    with pytest.raises(InputError, match="Fix: "):
        ClusterRestoreSpec(**kwargs)


def test_same_account_and_wrong_session_types() -> None:
    with EmulatedAWS() as aws:
        source, _ = sessions(aws)
        with pytest.raises(InputError, match="same account"):
            share_cluster_snapshot(source=source, target=AccountSession(aws.session(SOURCE)), cluster_id="x")
        with pytest.raises(InputError, match="AccountSession"):
            share_cluster_snapshot(source=source, target="222222222222", cluster_id="x")  # type: ignore[call-overload]
    with pytest.raises(ValueError, match=r"must be > 0"):
        WaitPolicy(min_interval_seconds=0)
    assert WaitPolicy(timeout=timedelta(minutes=5)).timeout == timedelta(minutes=5)
