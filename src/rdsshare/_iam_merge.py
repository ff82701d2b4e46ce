"""One IAM policy for several regions, from rdsshare's policy for each (see :func:`rdsshare.required_iam_policy`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = ["merged_regions"]


def merged_regions(docs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """One policy from the same policy for several regions: each statement's resources and
    condition values of every region (the statements are the same, in the same order)."""
    first = docs[0]
    statements = []
    for index, statement in enumerate(first["Statement"]):
        same = [doc["Statement"][index] for doc in docs]
        merged = dict(statement)
        merged["Resource"] = sorted({r for s in same for r in s["Resource"]})
        if "Condition" in statement:
            condition: dict[str, Any] = {}
            for operator, keys in statement["Condition"].items():
                condition[operator] = {}
                for key in keys:
                    values: list[Any] = []
                    for s in same:
                        value = s["Condition"][operator][key]
                        values.extend(v for v in (value if isinstance(value, list) else [value]) if v not in values)
                    condition[operator][key] = values[0] if len(values) == 1 else values
            merged["Condition"] = condition
        statements.append(merged)
    return {**first, "Statement": statements}
