"""Derived names always fit AWS's identifier limits, stay distinct, and start from the owner's name."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from rdsshare._naming import copy_id, derived_id, fit, instance_ids, snapshot_name

VALID = re.compile(r"^[a-z](?:[a-z0-9]|-(?!-))*[a-z0-9]$")
CLUSTER_IDS = st.from_regex(r"[a-z](?:[a-z0-9]|-(?=[a-z0-9])){0,62}", fullmatch=True)
RUNS = st.from_regex(r"[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){0,39}", fullmatch=True)


def _valid(name: str, limit: int) -> bool:
    return len(name) <= limit and bool(VALID.match(name))


@given(CLUSTER_IDS, RUNS)
def test_snapshot_and_copy_names_fit_63_whatever_the_inputs(cluster: str, run: str) -> None:
    snapshot = derived_id(cluster, run)
    assert _valid(snapshot, 63), snapshot
    for suffix in ("cmk", "manual", "copy"):
        assert _valid(copy_id(snapshot, run, suffix), 63)
    automated = f"rds:{cluster}-2026-12-01-03-07"  # automated snapshot names can be 80 characters
    assert _valid(copy_id(automated, run, "cmk"), 63)
    assert _valid(copy_id(f"arn:aws:rds:us-east-1:111111111111:cluster-snapshot:{automated}", run, "cmk"), 63)


@given(CLUSTER_IDS, st.integers(min_value=1, max_value=16))
def test_instance_ids_fit_and_differ(cluster: str, count: int) -> None:
    ids = instance_ids(cluster, count)
    assert len(set(ids)) == count
    assert all(_valid(i, 63) for i in ids)


def test_long_names_that_differ_only_past_the_cut_stay_different() -> None:
    base = "orders-analytics-warehouse-replica-for-the-finance-team-eu"
    first, second = f"{base}-primary", f"{base}-secondary"
    assert derived_id(first, "2026-12-01") != derived_id(second, "2026-12-01")
    assert instance_ids(first + "x" * 3, 1) != instance_ids(first + "y" * 3, 1)
    assert fit("short", 63) == "short"  # names that fit are left alone
    assert derived_id("orders", "run-1") == "rdsshare-orders-run-1"
    assert copy_id("rdsshare-orders-run-1", "run-1", "cmk") == "rdsshare-orders-run-1-cmk"


def test_names_start_from_the_owners_name_whichever_view_of_a_snapshot_is_given() -> None:
    """A target sees a shared snapshot's identifier as its ARN (boto/boto3 #2335)."""
    arn = "arn:aws:rds:us-east-1:111111111111:cluster-snapshot:rdsshare-orders-run-1-cmk"
    assert snapshot_name(arn) == "rdsshare-orders-run-1-cmk"
    assert snapshot_name("rdsshare-orders-run-1-cmk") == "rdsshare-orders-run-1-cmk"
    automated = "arn:aws:rds:us-east-1:111111111111:cluster-snapshot:rds:orders-2026-12-01-03-07"
    assert snapshot_name(automated) == "rds:orders-2026-12-01-03-07"
    assert copy_id(arn, "run-1", "backup") == copy_id("rdsshare-orders-run-1-cmk", "run-1", "backup")
