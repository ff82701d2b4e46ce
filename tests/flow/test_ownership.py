"""Shared things belong to no run: the share key's policy serves every run of an account and region.

Each test fails on the code before this change: cleanup treated the key's grants as the run's own, merged
by statement ``Sid``, let the target use the source key directly, and deleted every alias of the key.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from rdsshare import (
    CmkPolicyBuilder,
    KeyPolicyError,
    Manifest,
    PreflightError,
    RdsShareError,
    cleanup,
    share_cluster_snapshot,
)
from rdsshare._naming import KEY_ALIAS
from rdsshare.testing import EmulatedAWS

from ..accounts import SOURCE, TARGET
from .helpers import mutating_calls, restore_spec, sessions


def _policy(aws: EmulatedAWS, key: str) -> dict[str, Any]:
    return dict(json.loads(aws.client(SOURCE, "kms").get_key_policy(KeyId=key, PolicyName="default")["Policy"]))


def _granted(aws: EmulatedAWS, key: str, account: str = TARGET) -> bool:
    builder = CmkPolicyBuilder(owner_account_id=SOURCE, target_account_ids=[account], region="us-east-1")
    return builder.grants_targets(_policy(aws, key))


def test_cleaning_up_one_run_keeps_the_grant_another_runs_target_needs(aws: EmulatedAWS) -> None:
    aws.create_cluster(SOURCE, "orders")
    aws.create_cluster(SOURCE, "billing")
    source, target = sessions(aws)
    first = share_cluster_snapshot(source=source, target=target, cluster_id="orders")
    second = share_cluster_snapshot(source=source, target=target, cluster_id="billing")
    assert first.source_kms_key_arn == second.source_kms_key_arn  # one share key serves both
    assert first.manifest is not None
    report = cleanup(first.manifest, source=source, target=target)
    [grant] = [a for a in report.actions if a.action == "revoke-key-grant"]
    assert grant.status == "kept"
    assert "still needs it" in grant.reason
    assert second.shared_snapshot_arn.rsplit(":", 1)[-1] in grant.reason
    # The second run's target can still restore its snapshot.
    restored = aws.client(TARGET, "rds").restore_db_cluster_from_snapshot(
        DBClusterIdentifier="billing-2", SnapshotIdentifier=second.shared_snapshot_arn, Engine="aurora-mysql"
    )["DBCluster"]
    assert restored["DBClusterArn"]
    # Cleaning up the last user removes the grant, and says so.
    assert second.manifest is not None
    last = cleanup(second.manifest, source=source, target=target)
    assert [(a.action, a.status) for a in last.actions if a.action == "revoke-key-grant"] == [
        ("revoke-key-grant", "done")
    ]


def test_cleanup_leaves_a_share_and_a_grant_it_found_in_place(aws: EmulatedAWS) -> None:
    """A user's own CMK, whose policy Terraform wrote from ``rdsshare policy key``, and their own share."""
    kms = aws.client(SOURCE, "kms")
    policy = CmkPolicyBuilder(owner_account_id=SOURCE, target_account_ids=[TARGET]).build()
    key = kms.create_key(Policy=json.dumps(policy))["KeyMetadata"]["Arn"]
    aws.create_cluster(SOURCE, "orders", kms_key_id=key)
    rds = aws.client(SOURCE, "rds")
    rds.create_db_cluster_snapshot(DBClusterIdentifier="orders", DBClusterSnapshotIdentifier="nightly")
    rds.modify_db_cluster_snapshot_attribute(
        DBClusterSnapshotIdentifier="nightly", AttributeName="restore", ValuesToAdd=[TARGET]
    )
    source, target = sessions(aws)
    aws.clear_calls()
    result = share_cluster_snapshot(source=source, target=target, snapshot_id="nightly")
    assert [c for c in mutating_calls(aws) if c.startswith("kms:")] == []  # nothing to change
    assert result.manifest is not None
    report = cleanup(result.manifest, source=source, target=target)
    assert {(a.action, a.status) for a in report.actions} >= {("unshare", "kept"), ("revoke-key-grant", "kept")}
    shared = rds.describe_db_cluster_snapshot_attributes(DBClusterSnapshotIdentifier="nightly")
    assert shared["DBClusterSnapshotAttributesResult"]["DBClusterSnapshotAttributes"][0]["AttributeValues"] == [TARGET]
    assert _granted(aws, key)


def test_a_users_alias_on_the_share_key_keeps_the_key(aws: EmulatedAWS) -> None:
    aws.create_cluster(SOURCE, "orders")
    source, target = sessions(aws)
    result = share_cluster_snapshot(source=source, target=target, cluster_id="orders")
    assert result.source_kms_key_arn is not None
    kms = aws.client(SOURCE, "kms")
    kms.create_alias(AliasName="alias/team/reports", TargetKeyId=result.source_kms_key_arn)
    assert result.manifest is not None
    report = cleanup(result.manifest, source=source, target=target)
    [retire] = [a for a in report.actions if a.action == "schedule-key-deletion"]
    assert (retire.status, retire.reason) == ("kept", "an alias of yours points at it: alias/team/reports")
    aliases = {a["AliasName"] for a in kms.list_aliases(KeyId=result.source_kms_key_arn)["Aliases"]}
    assert aliases == {"alias/team/reports", KEY_ALIAS}
    assert kms.describe_key(KeyId=result.source_kms_key_arn)["KeyMetadata"]["KeyState"] == "Enabled"


def test_the_target_uses_the_source_key_only_through_rds(aws: EmulatedAWS) -> None:
    aws.create_cluster(SOURCE, "orders")
    source, target = sessions(aws)
    result = share_cluster_snapshot(source=source, target=target, cluster_id="orders")
    assert result.source_kms_key_arn is not None
    kms = aws.client(TARGET, "kms")
    for call in (
        lambda: kms.encrypt(KeyId=result.source_kms_key_arn, Plaintext=b"x"),
        lambda: kms.generate_data_key(KeyId=result.source_kms_key_arn, KeySpec="AES_256"),
    ):
        with pytest.raises(ClientError) as raised:
            call()
        assert raised.value.response["Error"]["Code"] == "AccessDeniedException"
    # Through RDS it works: the target restores the shared snapshot.
    aws.client(TARGET, "rds").restore_db_cluster_from_snapshot(
        DBClusterIdentifier="orders-2", SnapshotIdentifier=result.shared_snapshot_arn, Engine="aurora-mysql"
    )


def test_the_target_is_never_added_to_a_users_lookalike_statement(aws: EmulatedAWS) -> None:
    root = {"Sid": "root", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{SOURCE}:root"},
            "Action": "kms:*", "Resource": "*"}  # fmt: skip
    broad = {"Sid": "rdsshare: allow use of the key", "Effect": "Allow",
             "Principal": {"AWS": "arn:aws:iam::444444444444:root"}, "Action": "kms:*", "Resource": "*"}  # fmt: skip
    kms = aws.client(SOURCE, "kms")
    key = kms.create_key(Policy=json.dumps({"Version": "2012-10-17", "Statement": [root, broad]}))["KeyMetadata"]["Arn"]
    aws.create_cluster(SOURCE, "orders", kms_key_id=key)
    source, target = sessions(aws)
    share_cluster_snapshot(source=source, target=target, cluster_id="orders")
    statements = _policy(aws, key)["Statement"]
    assert broad in statements  # untouched: the target got rdsshare's own statements instead
    assert _granted(aws, key)


def test_a_key_policy_with_an_open_principal_is_refused_before_any_change(aws: EmulatedAWS) -> None:
    root = {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{SOURCE}:root"}, "Action": "kms:*", "Resource": "*"}
    open_one = {
        "Effect": "Allow",
        "Principal": {"AWS": "*"},
        "Action": "kms:Decrypt",
        "Resource": "*",
        "Condition": {"StringEquals": {"kms:CallerAccount": SOURCE}},
    }
    key = aws.client(SOURCE, "kms").create_key(Policy=json.dumps({"Statement": [root, open_one]}))["KeyMetadata"]["Arn"]
    aws.create_cluster(SOURCE, "orders", kms_key_id=key)
    source, target = sessions(aws)
    aws.clear_calls()
    with pytest.raises(PreflightError, match="open principal"):
        share_cluster_snapshot(source=source, target=target, cluster_id="orders")
    assert mutating_calls(aws) == []
    with pytest.raises(KeyPolicyError, match="open principal"):
        CmkPolicyBuilder(owner_account_id=SOURCE, target_account_ids=[TARGET]).merge(_policy(aws, key))


def test_an_older_manifest_never_touches_what_a_later_run_made_under_the_same_names(aws: EmulatedAWS) -> None:
    aws.create_cluster(SOURCE, "example-db")
    spec = restore_spec(aws)
    source, target = sessions(aws)
    first = share_cluster_snapshot(source=source, target=target, cluster_id="example-db", restore=spec)
    assert first.manifest is not None
    assert first.manifest.run_token
    cleanup(first.manifest, source=source, target=target, delete_restored_cluster=True)
    aws.finish_pending()  # the deletions finish
    # A later run of the same share makes everything again, under the same names.
    second = share_cluster_snapshot(source=source, target=target, cluster_id="example-db", restore=spec)
    assert second.manifest is not None
    assert second.manifest.run_token != first.manifest.run_token
    assert second.target_cluster_arn == first.target_cluster_arn
    assert second.shared_snapshot_arn == first.shared_snapshot_arn
    aws.clear_calls()
    report = cleanup(first.manifest, source=source, target=target, delete_restored_cluster=True)
    assert mutating_calls(aws) == []
    kinds = ("unshare", "delete-snapshot", "delete-db-cluster", "delete-db-instance")
    touched = [a for a in report.actions if a.action in kinds]
    assert {a.action for a in touched} == set(kinds)
    for action in touched:
        assert action.status == "kept", action
        assert "another run made it" in action.reason, action
    # The later run's own manifest still cleans up its resources.
    last = cleanup(second.manifest, source=source, target=target, delete_restored_cluster=True)
    assert {a.status for a in last.actions if a.action == "delete-snapshot"} == {"done"}
    assert {a.status for a in last.actions if a.action == "delete-db-cluster"} == {"done"}


def test_a_manifest_of_schema_1_is_still_read_and_matched_by_name(aws: EmulatedAWS) -> None:
    aws.create_cluster(SOURCE, "orders")
    source, target = sessions(aws)
    result = share_cluster_snapshot(source=source, target=target, cluster_id="orders")
    assert result.manifest is not None
    old = result.manifest.to_dict()
    old["schema_version"] = 1
    del old["run_token"]
    for entry in old["entries"]:
        entry["detail"].pop("run_token", None)
    report = cleanup(Manifest.from_dict(old), source=source, target=target)
    assert {a.status for a in report.actions if a.action == "delete-snapshot"} == {"done"}


def test_a_key_made_by_a_run_that_failed_before_naming_it_is_in_its_manifest_and_error(aws: EmulatedAWS) -> None:
    aws.create_cluster(SOURCE, "orders")
    source, target = sessions(aws)
    aws.inject_fault("kms", "CreateAlias", "AccessDeniedException", account_id=SOURCE)
    with pytest.raises(RdsShareError) as raised:
        share_cluster_snapshot(source=source, target=target, cluster_id="orders")
    [entry] = raised.value.manifest.of("kms-key", "share-key")
    assert entry.created
    assert entry.arn in str(raised.value)
    kms = aws.client(SOURCE, "kms")
    assert kms.describe_key(KeyId=entry.arn)["KeyMetadata"]["KeyState"] == "Enabled"
    # Cleanup of the failed run retires it (nothing uses it).
    dry = cleanup(raised.value.manifest, source=source, target=target, dry_run=True)
    assert [(a.action, a.status) for a in dry.actions if a.resource == entry.arn] == [
        ("schedule-key-deletion", "would")
    ]
    # The next run adopts it: no second key.
    aws.clear_calls()
    result = share_cluster_snapshot(source=source, target=target, cluster_id="orders")
    assert result.source_kms_key_arn == entry.arn
    assert [c for c in mutating_calls(aws) if c == "kms:CreateKey"] == []
    assert kms.describe_key(KeyId=KEY_ALIAS)["KeyMetadata"]["Arn"] == entry.arn
