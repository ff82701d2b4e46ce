"""Every statement rdsshare writes carries its reason in the code, which the permissions page prints."""

from __future__ import annotations

import itertools

import pytest

from rdsshare import CmkPolicyBuilder, required_iam_policy
from rdsshare._iam import REASONS as IAM_REASONS
from rdsshare._iam import explain_iam_policy
from rdsshare._policy import REASONS as KEY_REASONS

SOURCE, TARGET = "111111111111", "222222222222"
KEY = f"arn:aws:kms:us-east-1:{SOURCE}:key/1234abcd-12ab-34cd-56ef-1234567890ab"


@pytest.mark.parametrize(
    ("side", "key", "cleanup", "ids", "replace"),
    list(itertools.product(["source", "target"], [None, KEY], [True, False], [(), ("orders",)], [False, True])),
)
def test_every_iam_statement_has_a_reason(
    side: str, key: str | None, cleanup: bool, ids: tuple[str, ...], replace: bool
) -> None:
    policy = required_iam_policy(
        side,  # type: ignore[arg-type]
        source_account_id=SOURCE,
        target_account_id=TARGET,
        source_kms_key_arn=key,
        include_cleanup=cleanup,
        cluster_ids=ids,
        restore_cluster_ids=ids,
        replace=replace,
    )
    explained = explain_iam_policy(policy)
    assert [sid for sid, _ in explained] == [s["Sid"] for s in policy["Statement"]]
    assert all(len(why) > 20 for _, why in explained)


def test_no_reason_is_left_over() -> None:
    sids = set()
    for side, key in itertools.product(["source", "target"], [None, KEY]):
        policy = required_iam_policy(
            side,  # type: ignore[arg-type]
            source_account_id=SOURCE,
            target_account_id=TARGET,
            source_kms_key_arn=key,
            replace=True,
        )
        sids |= {s["Sid"] for s in policy["Statement"]}
    assert set(IAM_REASONS) == sids


def test_every_key_policy_statement_has_a_reason() -> None:
    builder = CmkPolicyBuilder(
        owner_account_id=SOURCE,
        target_account_ids=[TARGET],
        admin_principals=[f"arn:aws:iam::{SOURCE}:role/KeyAdmin"],
        managers=[f"arn:aws:sts::{SOURCE}:assumed-role/rdsshare-source/run-1"],
    )
    statements = builder.build()["Statement"]
    assert {s["Sid"] for s in statements} == set(KEY_REASONS)
    [manager] = [s for s in statements if "manager" in s["Sid"]]
    assert manager["Principal"] == {"AWS": [f"arn:aws:iam::{SOURCE}:role/rdsshare-source"]}  # the role, not a session


def test_the_source_policy_grants_no_key_policy_write_or_deletion_without_a_key() -> None:
    policy = required_iam_policy("source", source_account_id=SOURCE, target_account_id=TARGET)
    actions = {a for s in policy["Statement"] for a in s["Action"]}
    assert not actions & {"kms:PutKeyPolicy", "kms:GetKeyPolicy", "kms:ScheduleKeyDeletion", "kms:UpdateAlias"}
    with_key = required_iam_policy("source", source_account_id=SOURCE, target_account_id=TARGET, source_kms_key_arn=KEY)
    [extend] = [s for s in with_key["Statement"] if "kms:PutKeyPolicy" in s["Action"]]
    assert extend["Resource"] == [KEY]
