"""Identifiers as AWS accepts them (botocore model, the Constraints of each identifier; docs/sources/aws-rules-2.md).

DB cluster, DB instance and DB cluster snapshot identifiers: 1-63 letters, digits or hyphens, starting
with a letter, no ``--``, no trailing hyphen. DB snapshot identifiers: the same shape, up to 255.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from rdsshare.testing import EmulatedAWS

from ..accounts import SOURCE
from ._helpers import error_code

BAD = ["1starts-with-digit", "double--hyphen", "trailing-", "under_score", "a" * 64]
GOOD_63 = ["a", "orders-1", "a" * 63]


@pytest.fixture
def bed(aws: EmulatedAWS) -> EmulatedAWS:
    aws.create_cluster(SOURCE, "orders", instances=0)
    aws.create_instance(SOURCE, "single", engine="postgres")
    rds = aws.client(SOURCE, "rds")
    rds.create_db_cluster_snapshot(DBClusterIdentifier="orders", DBClusterSnapshotIdentifier="base")
    rds.create_db_snapshot(DBInstanceIdentifier="single", DBSnapshotIdentifier="single-base")
    return aws


def _calls(aws: EmulatedAWS) -> dict[str, Callable[[str], Any]]:
    rds = aws.client(SOURCE, "rds")
    return {
        "cluster": lambda i: rds.create_db_cluster(
            DBClusterIdentifier=i, Engine="aurora-mysql", MasterUsername="admin", MasterUserPassword="password-123"
        ),
        "cluster-snapshot": lambda i: rds.create_db_cluster_snapshot(
            DBClusterIdentifier="orders", DBClusterSnapshotIdentifier=i
        ),
        "cluster-snapshot-copy": lambda i: rds.copy_db_cluster_snapshot(
            SourceDBClusterSnapshotIdentifier="base", TargetDBClusterSnapshotIdentifier=i
        ),
        "restore": lambda i: rds.restore_db_cluster_from_snapshot(
            DBClusterIdentifier=i, SnapshotIdentifier="base", Engine="aurora-mysql"
        ),
        "instance": lambda i: rds.create_db_instance(
            DBInstanceIdentifier=i,
            Engine="postgres",
            DBInstanceClass="db.t3.micro",
            MasterUsername="admin",
            MasterUserPassword="password-123",
            AllocatedStorage=20,
        ),
    }


@pytest.mark.parametrize("kind", ["cluster", "cluster-snapshot", "cluster-snapshot-copy", "restore", "instance"])
def test_63_character_identifiers(bed: EmulatedAWS, kind: str) -> None:
    call = _calls(bed)[kind]
    for number, good in enumerate(GOOD_63):
        name = good if len(good) < 60 else good[:-2] + f"{number:02d}"
        call(name)
        bed.finish_pending()
    for bad in BAD:
        with pytest.raises(ClientError) as raised:
            call(bad)
        assert error_code(raised) == "InvalidParameterValue", (kind, bad)
        assert "is not a valid identifier" in raised.value.response["Error"]["Message"]


def test_db_snapshot_identifiers_go_to_255(bed: EmulatedAWS) -> None:
    rds = bed.client(SOURCE, "rds")
    rds.create_db_snapshot(DBInstanceIdentifier="single", DBSnapshotIdentifier="s" * 255)
    rds.copy_db_snapshot(SourceDBSnapshotIdentifier="single-base", TargetDBSnapshotIdentifier="c" * 255)
    for bad in ("s" * 256, "double--hyphen", "trailing-"):
        with pytest.raises(ClientError) as raised:
            rds.create_db_snapshot(DBInstanceIdentifier="single", DBSnapshotIdentifier=bad)
        assert error_code(raised) in ("InvalidParameterValue",), bad
