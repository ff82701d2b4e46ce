"""RDS identifiers as AWS accepts them (botocore model, the ``Constraints`` of each identifier parameter).

* DB cluster, DB instance and DB cluster snapshot identifiers: 1 to 63 letters, digits or hyphens; the
  first a letter; no two consecutive hyphens; not ending with a hyphen (``CreateDBCluster``,
  ``RestoreDBClusterFromSnapshot``, ``CreateDBInstance``, ``RestoreDBInstanceFromDBSnapshot``,
  ``CreateDBClusterSnapshot``, ``CopyDBClusterSnapshot``).
* DB snapshot identifiers: the same shape, 1 to 255 characters (``CreateDBSnapshot``, ``CopyDBSnapshot``).

moto checks only some of these, and for DB cluster snapshots not at all (docs/sources/aws-rules-2.md "Identifiers").
A refusal is ``InvalidParameterValue`` naming the parameter.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

__all__ = ["LIMITS", "check_identifiers", "valid_identifier"]

_SHAPE = re.compile(r"^[A-Za-z](?:[A-Za-z0-9]|-(?!-))*$")

#: (operation, parameter) -> the longest identifier AWS accepts there
LIMITS: dict[tuple[str, str], int] = {
    ("CreateDBCluster", "DBClusterIdentifier"): 63,
    ("RestoreDBClusterFromSnapshot", "DBClusterIdentifier"): 63,
    ("ModifyDBCluster", "NewDBClusterIdentifier"): 63,
    ("CreateDBInstance", "DBInstanceIdentifier"): 63,
    ("RestoreDBInstanceFromDBSnapshot", "DBInstanceIdentifier"): 63,
    ("ModifyDBInstance", "NewDBInstanceIdentifier"): 63,
    ("CreateDBClusterSnapshot", "DBClusterSnapshotIdentifier"): 63,
    ("CopyDBClusterSnapshot", "TargetDBClusterSnapshotIdentifier"): 63,
    ("CreateDBSnapshot", "DBSnapshotIdentifier"): 255,
    ("CopyDBSnapshot", "TargetDBSnapshotIdentifier"): 255,
}


def valid_identifier(value: str, limit: int) -> bool:
    """Whether ``value`` is a valid RDS identifier of at most ``limit`` characters."""
    return 1 <= len(value) <= limit and bool(_SHAPE.match(value)) and not value.endswith("-")


def check_identifiers(operation: str, params: Mapping[str, Any]) -> tuple[str, str, int] | None:
    """The refusal of an RDS call whose new identifier AWS would not accept, or None."""
    for (op, parameter), limit in LIMITS.items():
        if op != operation or parameter not in params:
            continue
        value = str(params[parameter])
        if not valid_identifier(value, limit):
            return (
                "InvalidParameterValue",
                f"The parameter {parameter} is not a valid identifier. Identifiers must begin with a letter; "
                "must contain only ASCII letters, digits, and hyphens; and must not end with a hyphen or "
                f"contain two consecutive hyphens; at most {limit} characters.",
                400,
            )
    return None
