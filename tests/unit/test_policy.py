"""CmkPolicyBuilder: the statements AWS documents, lockout safety, merge properties."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rdsshare import CmkPolicyBuilder, InputError, KeyPolicyError
from rdsshare._policy import GRANT_SID, ROOT_SID, USE_SID, allows_put_key_policy, principal_arns

OWNER = "111111111111"
TARGET = "222222222222"


def _by_sid(policy: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["Sid"]: s for s in policy["Statement"]}


def test_build_has_root_use_and_grant_statements() -> None:
    policy = CmkPolicyBuilder(owner_account_id=OWNER, target_account_ids=[TARGET]).build()
    sids = _by_sid(policy)
    assert sids[ROOT_SID]["Principal"] == {"AWS": f"arn:aws:iam::{OWNER}:root"}
    assert sids[ROOT_SID]["Action"] == "kms:*"
    use = sids[USE_SID]
    assert use["Principal"] == {"AWS": [f"arn:aws:iam::{TARGET}:root"]}
    assert set(use["Action"]) == {
        "kms:Encrypt",
        "kms:Decrypt",
        "kms:ReEncrypt*",
        "kms:GenerateDataKey*",
        "kms:DescribeKey",
    }
    # Only through RDS: the target can copy and restore, not use the key directly [KMS-COND].
    assert use["Condition"] == {"StringLike": {"kms:ViaService": "rds.*.amazonaws.com"}}
    regional = _by_sid(
        CmkPolicyBuilder(owner_account_id=OWNER, target_account_ids=[TARGET], region="eu-west-1").build()
    )
    assert regional[USE_SID]["Condition"] == {"StringEquals": {"kms:ViaService": "rds.eu-west-1.amazonaws.com"}}
    grant = sids[GRANT_SID]
    # [AUR-SHARE]: CreateGrant only for AWS resources (what RDS needs), never unconditioned.
    assert set(grant["Action"]) == {"kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"}
    assert grant["Condition"] == {"Bool": {"kms:GrantIsForAWSResource": "true"}}
    assert "kms:CreateGrant" not in use["Action"]


def test_build_keeps_owner_able_to_update_policy() -> None:
    policy = CmkPolicyBuilder(owner_account_id=OWNER, target_account_ids=[TARGET]).build()
    assert allows_put_key_policy(policy, caller_arn=f"arn:aws:sts::{OWNER}:assumed-role/admin/s")
    assert not allows_put_key_policy(policy, caller_arn=f"arn:aws:sts::{TARGET}:assumed-role/admin/s")


def test_to_json_round_trips() -> None:
    builder = CmkPolicyBuilder(owner_account_id=OWNER, target_account_ids=[TARGET])
    assert json.loads(builder.to_json()) == builder.build()


def test_check_lockout_raises_with_kms_message() -> None:
    builder = CmkPolicyBuilder(owner_account_id=OWNER, target_account_ids=[TARGET])
    policy = {"Version": "2012-10-17", "Statement": [s for s in builder.build()["Statement"] if s["Sid"] != ROOT_SID]}
    with pytest.raises(KeyPolicyError, match="will not allow you to update the key policy") as info:
        builder.check_lockout(policy, caller_arn=f"arn:aws:iam::{OWNER}:role/deployer")
    assert info.value.error_code == "MalformedPolicyDocumentException"


def test_lockout_allows_caller_role_and_denies_on_deny() -> None:
    role = f"arn:aws:iam::{OWNER}:role/deployer"
    caller = f"arn:aws:sts::{OWNER}:assumed-role/deployer/session"
    allow = {"Effect": "Allow", "Principal": {"AWS": role}, "Action": "kms:PutKeyPolicy", "Resource": "*"}
    assert allows_put_key_policy({"Statement": [allow]}, caller_arn=caller)
    deny = {**allow, "Effect": "Deny", "Principal": {"AWS": f"arn:aws:iam::{OWNER}:root"}}
    assert not allows_put_key_policy({"Statement": [allow, deny]}, caller_arn=caller)


@pytest.mark.parametrize("bad", ["12345", "abcdefghijkl", "1111111111111", "all", ""])
def test_rejects_bad_target_accounts(bad: str) -> None:
    with pytest.raises(InputError, match="12-digit"):
        CmkPolicyBuilder(owner_account_id=OWNER, target_account_ids=[bad])


def test_rejects_owner_as_target_and_star_admin() -> None:
    with pytest.raises(InputError, match="owner's own account"):
        CmkPolicyBuilder(owner_account_id=OWNER, target_account_ids=[OWNER])
    with pytest.raises(InputError, match="not an IAM principal ARN"):
        CmkPolicyBuilder(owner_account_id=OWNER, target_account_ids=[TARGET], admin_principals=["*"])
    with pytest.raises(InputError, match="list of strings"):
        CmkPolicyBuilder(owner_account_id=OWNER, target_account_ids=TARGET)


def test_merge_into_default_policy_adds_only_target_statements() -> None:
    default = {
        "Version": "2012-10-17",
        "Id": "key-default-1",
        "Statement": [
            {
                "Sid": "Enable IAM User Permissions",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{OWNER}:root"},
                "Action": "kms:*",
                "Resource": "*",
            }
        ],
    }
    merged = CmkPolicyBuilder(owner_account_id=OWNER, target_account_ids=[TARGET]).merge(json.dumps(default))
    assert merged["Id"] == "key-default-1"
    assert [s["Sid"] for s in merged["Statement"]] == [ROOT_SID, USE_SID, GRANT_SID]


def test_merge_adds_second_target_to_existing_statements() -> None:
    first = CmkPolicyBuilder(owner_account_id=OWNER, target_account_ids=[TARGET]).build()
    merged = CmkPolicyBuilder(owner_account_id=OWNER, target_account_ids=["333333333333"]).merge(first)
    use = _by_sid(merged)[USE_SID]
    assert principal_arns(use) == ["arn:aws:iam::222222222222:root", "arn:aws:iam::333333333333:root"]
    assert len(merged["Statement"]) == 3


def test_merge_does_not_add_root_when_caller_already_keeps_control() -> None:
    admin_only = {
        "Statement": [
            {
                "Sid": "admins",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{OWNER}:root"},
                "Action": ["kms:PutKeyPolicy", "kms:GetKeyPolicy"],
                "Resource": "*",
            }
        ]
    }
    merged = CmkPolicyBuilder(owner_account_id=OWNER, target_account_ids=[TARGET]).merge(admin_only)
    assert ROOT_SID not in _by_sid(merged)


@pytest.mark.parametrize(
    "statement",
    [
        {"Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*"},
        {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "kms:Decrypt", "Resource": "*"},
        {
            "Effect": "Allow",
            "Principal": {"AWS": "*"},
            "Action": "kms:Decrypt",
            "Resource": "*",
            "Condition": {"StringEquals": {"kms:CallerAccount": OWNER}},
        },
        {
            "Effect": "Allow",
            "Principal": {"AWS": ["arn:aws:iam::111111111111:root", "*"]},
            "Action": "kms:*",
            "Resource": "*",
        },
        {
            "Effect": "Allow",
            "NotPrincipal": {"AWS": "arn:aws:iam::333333333333:root"},
            "Action": "kms:*",
            "Resource": "*",
        },
    ],
)
def test_merge_refuses_open_principals_whoever_wrote_them(statement: dict[str, Any]) -> None:
    with pytest.raises(KeyPolicyError, match="open principal"):
        CmkPolicyBuilder(owner_account_id=OWNER, target_account_ids=[TARGET]).merge({"Statement": [statement]})


def test_a_deny_for_everyone_is_a_guardrail_not_an_open_principal() -> None:
    deny = {"Effect": "Deny", "Principal": "*", "Action": "kms:ScheduleKeyDeletion", "Resource": "*"}
    root = {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{OWNER}:root"}, "Action": "kms:*", "Resource": "*"}
    merged = CmkPolicyBuilder(owner_account_id=OWNER, target_account_ids=[TARGET]).merge({"Statement": [root, deny]})
    assert deny in merged["Statement"]


def test_merge_goes_by_what_a_statement_allows_not_by_its_sid() -> None:
    """Never add the target to a Deny, a broad statement, or one without rdsshare's conditions."""
    root = {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{OWNER}:root"}, "Action": "kms:*", "Resource": "*"}
    lookalikes = [
        {"Sid": USE_SID, "Effect": "Deny", "Principal": {"AWS": "arn:aws:iam::444444444444:root"},
         "Action": ["kms:Decrypt"], "Resource": "*"},
        {"Sid": GRANT_SID, "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::444444444444:root"},
         "Action": "kms:*", "Resource": "*"},
        {"Sid": "unconditioned use", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::444444444444:root"},
         "Action": ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*"],
         "Resource": "*"},
    ]  # fmt: skip
    merged = CmkPolicyBuilder(owner_account_id=OWNER, target_account_ids=[TARGET]).merge(
        {"Statement": [root, *lookalikes]}
    )
    for statement in lookalikes:
        assert statement in merged["Statement"]  # untouched
    added = merged["Statement"][len(lookalikes) + 1 :]
    assert [s["Sid"] for s in added] == [f"{USE_SID} (2)", f"{GRANT_SID} (2)"]
    assert all(principal_arns(s) == [f"arn:aws:iam::{TARGET}:root"] for s in added)
    builder = CmkPolicyBuilder(owner_account_id=OWNER, target_account_ids=[TARGET])
    assert builder.grants(merged) == {TARGET}
    # ...and removing the target edits only rdsshare-shaped statements.
    removed = builder.remove_targets(merged, [TARGET, "444444444444"])
    assert removed["Statement"] == [root, *lookalikes[:2]]


def test_merge_rejects_garbage() -> None:
    builder = CmkPolicyBuilder(owner_account_id=OWNER, target_account_ids=[TARGET])
    with pytest.raises(KeyPolicyError, match="not JSON"):
        builder.merge("{nope")
    with pytest.raises(KeyPolicyError, match="no Statement"):
        builder.merge({"Version": "2012-10-17"})


def test_remove_targets_drops_empty_statements_only() -> None:
    builder = CmkPolicyBuilder(owner_account_id=OWNER, target_account_ids=[TARGET, "333333333333"])
    policy = builder.build()
    one_left = builder.remove_targets(policy, [TARGET])
    assert principal_arns(_by_sid(one_left)[USE_SID]) == ["arn:aws:iam::333333333333:root"]
    none_left = builder.remove_targets(one_left, ["333333333333"])
    assert [s["Sid"] for s in none_left["Statement"]] == [ROOT_SID]


def test_grants_targets() -> None:
    builder = CmkPolicyBuilder(owner_account_id=OWNER, target_account_ids=[TARGET])
    assert builder.grants_targets(builder.build())
    other = CmkPolicyBuilder(owner_account_id=OWNER, target_account_ids=["333333333333"]).build()
    assert not builder.grants_targets(other)


def test_policy_size_limit() -> None:
    admins = [f"arn:aws:iam::{OWNER}:role/{'r' * 60}{i}" for i in range(500)]
    with pytest.raises(KeyPolicyError, match="32768") as info:
        CmkPolicyBuilder(owner_account_id=OWNER, target_account_ids=[TARGET], admin_principals=admins).build()
    assert info.value.error_code == "LimitExceededException"


# -- properties ------------------------------------------------------------------------------
accounts = st.from_regex(r"[2-9][0-9]{11}", fullmatch=True)
roles = st.from_regex(r"[A-Za-z][A-Za-z0-9_-]{0,20}", fullmatch=True).map(lambda n: f"arn:aws:iam::{OWNER}:role/{n}")
foreign_statement = st.fixed_dictionaries(
    {
        "Sid": st.from_regex(r"user-[a-z]{1,8}", fullmatch=True),
        "Effect": st.sampled_from(["Allow", "Deny"]),
        "Principal": st.fixed_dictionaries({"AWS": roles}),
        "Action": st.sampled_from(["kms:Decrypt", "kms:Encrypt", ["kms:Get*", "kms:List*"]]),
        "Resource": st.just("*"),
    }
)
existing_policies = st.one_of(
    st.none(),
    st.lists(foreign_statement, max_size=4).map(lambda ss: {"Version": "2012-10-17", "Statement": ss}),
    st.lists(accounts, min_size=1, max_size=3).map(
        lambda ts: CmkPolicyBuilder(owner_account_id=OWNER, target_account_ids=ts).build()
    ),
)


@settings(max_examples=200, deadline=None)
@given(
    targets=st.lists(accounts, min_size=1, max_size=20),
    admins=st.lists(roles, max_size=3),
    existing=existing_policies,
)
def test_merge_properties(targets: list[str], admins: list[str], existing: dict[str, Any] | None) -> None:
    builder = CmkPolicyBuilder(owner_account_id=OWNER, target_account_ids=targets, admin_principals=admins)
    merged = builder.merge(existing)
    # The owner keeps control of the key (no Deny in the generated examples covers PutKeyPolicy).
    assert allows_put_key_policy(merged, caller_arn=f"arn:aws:iam::{OWNER}:root")
    # Never an unconditioned "*".
    for statement in merged["Statement"]:
        assert not ("*" in principal_arns(statement) and "Condition" not in statement)
    # Every requested account is granted; no account is granted that was not requested or already there.
    before = (
        set()
        if existing is None
        else {p for s in existing["Statement"] if s.get("Sid") in (USE_SID, GRANT_SID) for p in principal_arns(s)}
    )
    requested = {f"arn:aws:iam::{a}:root" for a in targets}
    for sid in (USE_SID, GRANT_SID):
        assert set(principal_arns(_by_sid(merged)[sid])) == requested | before
    # Idempotent, and nothing existing is lost.
    assert builder.merge(merged) == merged
    if existing is not None:
        for statement in existing["Statement"]:
            if statement.get("Sid") in (USE_SID, GRANT_SID):
                continue
            assert statement in merged["Statement"]
