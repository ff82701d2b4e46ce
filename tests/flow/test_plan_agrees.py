"""The plan and the run agree: a plan with a problem means a run that refuses before any write.

Each case is one the plan used to miss: it said OK, and the real run then failed after writing
(a snapshot, a copy, a share). Now a read before any write finds it, the dry run reports it, and
the real run stops with :class:`PreflightError` (or :class:`InputError`) with nothing changed.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from rdsshare import (
    AccountSession,
    ClusterRestoreSpec,
    InputError,
    InstanceRestoreSpec,
    Plan,
    PreflightError,
    share_cluster_snapshot,
    share_instance_snapshot,
)
from rdsshare.testing import EmulatedAWS

from ..accounts import OTHER, SOURCE, TARGET
from .helpers import mutating_calls, restore_spec, sessions


def _refused_alike(
    aws: EmulatedAWS, check: str, fragment: str, *, share: Callable[..., Any] = share_cluster_snapshot, **kwargs: Any
) -> Plan:
    """The dry run has the problem; the real run refuses with the same problems and writes nothing."""
    source, target = sessions(aws)
    plan = share(source=source, target=target, dry_run=True, **kwargs)
    assert isinstance(plan, Plan)
    assert not plan.ok, str(plan)
    assert any(p.check == check and fragment in p.message for p in plan.problems), str(plan)
    aws.clear_calls()
    with pytest.raises(PreflightError) as info:
        share(source=source, target=target, **kwargs)
    assert [str(p) for p in info.value.problems] == [str(p) for p in plan.problems]
    assert mutating_calls(aws) == []
    return plan


def test_a_restore_adopted_by_another_run_name_is_a_problem_not_a_late_conflict(aws: EmulatedAWS) -> None:
    aws.create_cluster(SOURCE, "example-db")
    spec = restore_spec(aws)
    source, target = sessions(aws)
    share_cluster_snapshot(source=source, target=target, cluster_id="example-db", restore=spec)
    # A second run under a new name would share another snapshot: the cluster is not its restore.
    _refused_alike(aws, "restore", "another source", cluster_id="example-db", restore=spec, run_name="second")


def test_a_secret_key_that_does_not_exist(aws: EmulatedAWS) -> None:
    aws.create_cluster(SOURCE, "example-db")
    spec = restore_spec(aws, master_user_secret_kms_key_id="alias/no-such-key")
    _refused_alike(aws, "secret-key", "alias/no-such-key", cluster_id="example-db", restore=spec)


def test_a_cluster_parameter_group_that_does_not_exist(aws: EmulatedAWS) -> None:
    aws.create_cluster(SOURCE, "example-db")
    spec = restore_spec(aws, cluster_parameter_group="no-such-group")
    _refused_alike(aws, "parameter-group", "no-such-group", cluster_id="example-db", restore=spec)


def test_instance_ids_taken_by_another_database(aws: EmulatedAWS) -> None:
    aws.create_cluster(SOURCE, "example-db")
    spec = restore_spec(aws)
    aws.create_instance(TARGET, spec.instance_ids[0])  # a stand-alone database of the target's
    _refused_alike(aws, "instances", spec.instance_ids[0], cluster_id="example-db", restore=spec)


def test_a_user_key_whose_policy_does_not_let_the_caller_update_it(aws: EmulatedAWS) -> None:
    kms = aws.client(SOURCE, "kms")
    # A key whose policy lets the account use it but gives nobody kms:PutKeyPolicy (and does not
    # defer to IAM for it): KMS refuses the caller's PutKeyPolicy whatever its IAM policy says.
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "use only",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{SOURCE}:root"},
                "Action": ["kms:DescribeKey", "kms:GetKeyPolicy", "kms:Encrypt", "kms:Decrypt", "kms:CreateGrant"],
                "Resource": "*",
            }
        ],
    }
    key = kms.create_key(Policy=json.dumps(policy), BypassPolicyLockoutSafetyCheck=True)["KeyMetadata"]
    aws.create_cluster(SOURCE, "example-db", kms_key_id=key["Arn"])
    _refused_alike(aws, "source-key", "kms:PutKeyPolicy", cluster_id="example-db")


def test_a_snapshot_with_19_shares_and_two_new_targets(aws: EmulatedAWS) -> None:
    aws.create_cluster(SOURCE, "example-db", encrypted=False)
    rds = aws.client(SOURCE, "rds")
    rds.create_db_cluster_snapshot(DBClusterIdentifier="example-db", DBClusterSnapshotIdentifier="busy")
    others = [f"{900000000000 + n}" for n in range(19)]
    rds.modify_db_cluster_snapshot_attribute(
        DBClusterSnapshotIdentifier="busy", AttributeName="restore", ValuesToAdd=others
    )
    source, target = sessions(aws)
    third = AccountSession(aws.session(OTHER), endpoint_url=aws.endpoint_url)
    aws.clear_calls()
    plan = share_cluster_snapshot(source=source, targets=[target, third], snapshot_id="busy", dry_run=True)
    assert isinstance(plan, Plan)
    assert any(p.check == "share" and "20" in p.message for p in plan.problems), str(plan)
    with pytest.raises(PreflightError):
        share_cluster_snapshot(source=source, targets=[target, third], snapshot_id="busy")
    assert mutating_calls(aws) == []


def test_an_untagged_snapshot_under_rdsshares_copy_name(aws: EmulatedAWS) -> None:
    aws.create_cluster(SOURCE, "example-db")  # aws/rds: the run would copy under the share key
    rds = aws.client(SOURCE, "rds")
    rds.create_db_cluster_snapshot(DBClusterIdentifier="example-db", DBClusterSnapshotIdentifier="start")
    rds.copy_db_cluster_snapshot(
        SourceDBClusterSnapshotIdentifier="start", TargetDBClusterSnapshotIdentifier=f"rdsshare-start-{TARGET}-cmk"
    )
    aws.finish_pending()
    _refused_alike(aws, "copy", "not created by rdsshare", snapshot_id="start")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("subnet_group", 5),
        ("engine_version", 8.0),
        ("cluster_parameter_group", ["group"]),
        ("deletion_protection", "yes"),
        ("tags", {"team": 1}),
        ("kms_key_id", 123),
        ("encrypt", "no"),
        ("manage_master_user_password", 1),
        ("master_user_secret_kms_key_id", b"alias/x"),
        ("backup_copy", None),
    ],
)
def test_wrong_types_in_spec_fields_fail_when_the_spec_is_made(field: str, value: Any) -> None:
    fields: dict[str, Any] = {field: value}
    with pytest.raises(InputError, match=field):
        ClusterRestoreSpec(cluster_id="example-db-2", instance_class="db.t3.medium", **fields)


@pytest.mark.parametrize(
    "account",
    ["\uff12" * 12, "\u0662" * 12, "22222222222\u00b2"],  # full-width, Arabic-Indic, superscript digits
    ids=["fullwidth", "arabic-indic", "superscript"],
)
def test_account_ids_in_other_digits_are_refused(account: str) -> None:
    from rdsshare._validation import validate_account_id

    with pytest.raises(InputError, match="12-digit"):
        validate_account_id(account, "target")


@pytest.mark.parametrize("region", ["US East", "us-east-1 ", "useast1", "eu_west_1", ""])
def test_region_strings_that_are_not_region_names_are_refused(aws: EmulatedAWS, region: str) -> None:
    with pytest.raises(InputError, match="region"):
        AccountSession(aws.session(SOURCE), region=region)


def test_a_key_admin_of_a_third_account_is_refused_before_any_change(aws: EmulatedAWS) -> None:
    aws.create_cluster(SOURCE, "example-db")
    source, target = sessions(aws)
    aws.clear_calls()
    with pytest.raises(InputError, match="key admin"):
        share_cluster_snapshot(
            source=source,
            target=target,
            cluster_id="example-db",
            key_admin_principals=[f"arn:aws:iam::{OTHER}:role/admin"],
        )
    assert mutating_calls(aws) == []


def _instance_spec(aws: EmulatedAWS, **overrides: Any) -> InstanceRestoreSpec:
    net = aws.create_network(TARGET, "orders-db-2")
    fields: dict[str, Any] = {
        "instance_id": "orders-db-2",
        "instance_class": "db.t3.micro",
        "subnet_group": net.subnet_group,
        "security_group_ids": [net.security_group_id],
        **overrides,
    }
    return InstanceRestoreSpec(**fields)


def test_a_db_parameter_group_that_does_not_exist(aws: EmulatedAWS) -> None:
    aws.create_instance(SOURCE, "orders-db")
    spec = _instance_spec(aws, parameter_group="no-such-group")
    _refused_alike(
        aws, "parameter-group", "no-such-group", share=share_instance_snapshot, instance_id="orders-db", restore=spec
    )


def test_a_db_instance_restored_by_another_run_name(aws: EmulatedAWS) -> None:
    aws.create_instance(SOURCE, "orders-db")
    spec = _instance_spec(aws)
    source, target = sessions(aws)
    share_instance_snapshot(source=source, target=target, instance_id="orders-db", restore=spec)
    _refused_alike(
        aws,
        "restore",
        "another source",
        share=share_instance_snapshot,
        instance_id="orders-db",
        restore=spec,
        run_name="two",
    )


def test_a_plan_that_is_ok_runs_without_a_late_refusal(aws: EmulatedAWS) -> None:
    """The converse: rerunning a finished share under its own name is planned OK and runs OK."""
    aws.create_cluster(SOURCE, "example-db")
    spec = restore_spec(aws, cluster_parameter_group=None)
    source, target = sessions(aws)
    share_cluster_snapshot(source=source, target=target, cluster_id="example-db", restore=spec)
    plan = share_cluster_snapshot(source=source, target=target, cluster_id="example-db", restore=spec, dry_run=True)
    assert isinstance(plan, Plan)
    assert plan.ok, str(plan)
    assert {s.action for s in plan.steps} <= {"adopt", "skip"}
    aws.clear_calls()
    result = share_cluster_snapshot(source=source, target=target, cluster_id="example-db", restore=spec)
    assert result.created == ()
    assert mutating_calls(aws) == []
