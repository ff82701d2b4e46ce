"""Dry run (plan), manifest + cleanup, and the generated IAM policies against recorded calls."""

from __future__ import annotations

import fnmatch
import json
import re
from pathlib import Path
from typing import Any

import pytest

from rdsshare import (
    AccountSession,
    Manifest,
    Plan,
    PreflightError,
    cleanup,
    required_iam_policy,
    share_cluster_snapshot,
)
from rdsshare._policy import MANAGER_ACTIONS, MANAGER_SID
from rdsshare.testing import EmulatedAWS

from ..accounts import SOURCE, TARGET
from .helpers import MUTATING_PREFIXES, mutating_calls, restore_spec, sessions

READ_ONLY = ("Describe", "Get", "List")


def _non_read_calls(aws: EmulatedAWS) -> list[str]:
    return [
        f"{c.service}:{c.operation}"
        for c in aws.calls
        if not c.operation.startswith(READ_ONLY) and f"{c.service}:{c.operation}" != "sts:GetCallerIdentity"
    ]


class TestDryRun:
    def test_plan_lists_steps_and_makes_only_read_calls(self, aws: EmulatedAWS) -> None:
        aws.create_cluster(SOURCE, "example-db")
        source, target = sessions(aws)
        spec = restore_spec(aws)
        aws.clear_calls()
        plan = share_cluster_snapshot(source=source, target=target, cluster_id="example-db", restore=spec, dry_run=True)
        assert isinstance(plan, Plan)
        assert _non_read_calls(aws) == []
        assert plan.ok, str(plan)
        actions = [(s.step, s.action) for s in plan.steps]
        assert actions == [
            ("snapshot", "create"),
            ("source-key", "create"),
            ("copy", "create"),
            ("share", "update"),
            ("restore", "create"),
            ("instances", "create"),
            ("secret", "create"),
        ]
        assert plan.data_copies == 1
        assert "aws/rds" in str(plan)

    def test_plan_after_a_run_adopts_everything(self, aws: EmulatedAWS) -> None:
        aws.create_cluster(SOURCE, "example-db")
        source, target = sessions(aws)
        spec = restore_spec(aws)
        share_cluster_snapshot(source=source, target=target, cluster_id="example-db", restore=spec)
        plan = share_cluster_snapshot(source=source, target=target, cluster_id="example-db", restore=spec, dry_run=True)
        assert {s.action for s in plan.steps} <= {"adopt", "skip"}, str(plan)
        assert plan.data_copies == 0

    def test_plan_reports_every_problem_at_once(self, aws: EmulatedAWS) -> None:
        aws.create_cluster(SOURCE, "example-db", engine="aurora-postgresql")
        aws.create_cluster(TARGET, "taken")
        other_net = aws.create_network(TARGET, "other")
        net = aws.create_network(TARGET, "example-db-2")
        aws.retire_engine_version("aurora-postgresql", "16.8")  # the version the source cluster runs
        source, target = sessions(aws)
        from rdsshare import ClusterRestoreSpec

        spec = ClusterRestoreSpec(
            cluster_id="taken",
            instance_class="db.x9.huge",
            subnet_group=net.subnet_group,
            security_group_ids=[other_net.security_group_id],
        )
        aws.clear_calls()
        plan = share_cluster_snapshot(source=source, target=target, cluster_id="example-db", restore=spec, dry_run=True)
        checks = sorted(p.check for p in plan.problems)
        assert checks == ["engine", "instance-class", "network", "restore"], str(plan)
        for problem in plan.problems:
            assert problem.fix
        assert _non_read_calls(aws) == []
        # A real run stops with the same problems before changing anything.
        with pytest.raises(PreflightError) as info:
            share_cluster_snapshot(source=source, target=target, cluster_id="example-db", restore=spec)
        assert sorted(p.check for p in info.value.problems) == checks
        assert mutating_calls(aws) == []

    def test_quota_is_checked(self, aws: EmulatedAWS) -> None:
        aws.create_cluster(SOURCE, "example-db")
        rds = aws.client(SOURCE, "rds")
        for n in range(99):
            rds.create_db_cluster_snapshot(DBClusterIdentifier="example-db", DBClusterSnapshotIdentifier=f"keep-{n}")
        source, target = sessions(aws)
        plan = share_cluster_snapshot(source=source, target=target, cluster_id="example-db", dry_run=True)
        assert [p.check for p in plan.problems] == ["quota"]
        assert plan.problems[0].error_code == "SnapshotQuotaExceeded"
        assert "99 manual cluster snapshots exist" in plan.problems[0].message
        assert "the quota is 100" in plan.problems[0].message

    @pytest.mark.parametrize(
        ("quota", "used", "code"),
        [
            ("DBClusters", "1 DB clusters", "DBClusterQuotaExceededFault"),
            ("DBInstances", "1 DB instances", "InstanceQuotaExceeded"),
        ],
    )
    def test_the_targets_cluster_and_instance_quotas_are_checked_before_any_write(
        self, aws: EmulatedAWS, quota: str, used: str, code: str
    ) -> None:
        aws.create_cluster(TARGET, "already-there")  # one cluster with one instance
        aws.set_quota(quota, 1)
        aws.create_cluster(SOURCE, "example-db")
        source, target = sessions(aws)
        spec = restore_spec(aws)
        aws.clear_calls()
        with pytest.raises(PreflightError) as info:
            share_cluster_snapshot(source=source, target=target, cluster_id="example-db", restore=spec)
        [problem] = info.value.problems
        assert (problem.check, problem.error_code, problem.account_id) == ("quota", code, TARGET)
        assert f"{used} exist in us-east-1; this run needs 1 more and the quota is 1" in problem.message
        assert mutating_calls(aws) == []

    def test_a_raised_quota_is_read_not_assumed(self, aws: EmulatedAWS) -> None:
        aws.manual_snapshot_quota = 150  # raised in Service Quotas
        aws.create_cluster(SOURCE, "example-db")
        rds = aws.client(SOURCE, "rds")
        for n in range(120):
            rds.create_db_cluster_snapshot(DBClusterIdentifier="example-db", DBClusterSnapshotIdentifier=f"keep-{n}")
        source, target = sessions(aws)
        plan = share_cluster_snapshot(source=source, target=target, cluster_id="example-db", dry_run=True)
        assert plan.problems == ()


class TestManifestAndCleanup:
    def test_manifest_lists_resources_and_round_trips(self, aws: EmulatedAWS, tmp_path: Path) -> None:
        aws.create_cluster(SOURCE, "example-db")
        source, target = sessions(aws)
        result = share_cluster_snapshot(
            source=source, target=target, cluster_id="example-db", restore=restore_spec(aws)
        )
        assert result.manifest is not None
        kinds = {(e.kind, e.role) for e in result.manifest.entries}
        assert {
            ("cluster-snapshot", "source-snapshot"),
            ("cluster-snapshot", "shareable-copy"),
            ("kms-key", "share-key"),
            ("key-grant", "target-grant"),
            ("snapshot-share", "share"),
            ("db-cluster", "restored-cluster"),
            ("db-instance", "restored-instance"),
            ("secret", "master-user-secret"),
        } <= kinds
        path = tmp_path / "manifest.json"
        result.write_manifest(path)
        data = json.loads(path.read_text())
        assert data["schema_version"] == 2
        assert re.fullmatch(r"[0-9a-f]{16}", data["run_token"])
        made = [e for e in data["entries"] if e["kind"] in ("cluster-snapshot", "db-cluster", "db-instance")]
        assert {e["detail"]["run_token"] for e in made} == {data["run_token"]}  # all made by this run
        assert Manifest.read(path) == result.manifest

    def test_cleanup_removes_what_the_run_made_and_nothing_else(self, aws: EmulatedAWS) -> None:
        aws.create_cluster(SOURCE, "example-db")
        rds = aws.client(SOURCE, "rds")
        rds.create_db_cluster_snapshot(DBClusterIdentifier="example-db", DBClusterSnapshotIdentifier="users-own")
        source, target = sessions(aws)
        result = share_cluster_snapshot(
            source=source, target=target, cluster_id="example-db", restore=restore_spec(aws)
        )
        assert result.manifest is not None
        before = {s["DBClusterSnapshotIdentifier"] for s in rds.describe_db_cluster_snapshots()["DBClusterSnapshots"]}

        aws.clear_calls()
        preview = cleanup(result.manifest, source=source, target=target, dry_run=True)
        assert {a.status for a in preview.actions} <= {"would", "kept", "gone"}
        assert mutating_calls(aws) == []

        report = cleanup(result.manifest, source=source, target=target)
        done = {(a.action, a.status) for a in report.actions}
        assert ("unshare", "done") in done
        assert ("delete-snapshot", "done") in done
        assert ("schedule-key-deletion", "done") in done
        after = {s["DBClusterSnapshotIdentifier"] for s in rds.describe_db_cluster_snapshots()["DBClusterSnapshots"]}
        assert after == before - {f"rdsshare-example-db-{TARGET}", f"rdsshare-example-db-{TARGET}-cmk"}
        assert "users-own" in after
        key = aws.client(SOURCE, "kms").describe_key(KeyId=result.source_kms_key_arn or "")["KeyMetadata"]
        assert key["KeyState"] == "PendingDeletion"
        # The restored cluster stays (it does not depend on the source) unless asked.
        assert aws.client(TARGET, "rds").describe_db_clusters(DBClusterIdentifier="example-db-2")["DBClusters"]
        # Idempotent.
        again = cleanup(result.manifest, source=source, target=target)
        assert {a.status for a in again.actions} <= {"gone", "kept"}

    def test_cleanup_keeps_a_key_other_snapshots_use(self, aws: EmulatedAWS) -> None:
        aws.create_cluster(SOURCE, "example-db")
        aws.create_cluster(SOURCE, "other-db")
        source, target = sessions(aws)
        first = share_cluster_snapshot(source=source, target=target, cluster_id="example-db")
        share_cluster_snapshot(source=source, target=target, cluster_id="other-db")
        assert first.manifest is not None
        report = cleanup(first.manifest, source=source, target=target)
        kept = [a for a in report.actions if a.action == "schedule-key-deletion"]
        assert kept[0].status == "kept"
        assert "still encrypts" in kept[0].reason

    def test_cleanup_of_user_cmk_only_revokes_the_grant(self, aws: EmulatedAWS) -> None:
        kms = aws.client(SOURCE, "kms")
        key = kms.create_key()["KeyMetadata"]
        aws.create_cluster(SOURCE, "example-db", kms_key_id=key["Arn"])
        source, target = sessions(aws)
        result = share_cluster_snapshot(source=source, target=target, cluster_id="example-db")
        assert result.manifest is not None
        cleanup(result.manifest, source=source, target=target)
        policy = kms.get_key_policy(KeyId=key["KeyId"], PolicyName="default")["Policy"]
        assert TARGET not in policy
        assert kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]["KeyState"] == "Enabled"

    def test_cleanup_can_delete_the_restored_cluster(self, aws: EmulatedAWS) -> None:
        aws.create_cluster(SOURCE, "example-db")
        source, target = sessions(aws)
        result = share_cluster_snapshot(
            source=source, target=target, cluster_id="example-db", restore=restore_spec(aws)
        )
        assert result.manifest is not None
        cleanup(result.manifest, source=source, target=target, delete_restored_cluster=True)
        assert aws.client(TARGET, "rds").describe_db_clusters()["DBClusters"] == []

    def test_facade_cleans_intermediates(self, aws: EmulatedAWS) -> None:
        aws.create_cluster(SOURCE, "example-db")
        source, target = sessions(aws)
        result = share_cluster_snapshot(
            source=source, target=target, cluster_id="example-db", restore=restore_spec(aws), cleanup="intermediates"
        )
        assert result.cleanup_report is not None
        snaps = aws.client(SOURCE, "rds").describe_db_cluster_snapshots(SnapshotType="manual")["DBClusterSnapshots"]
        assert snaps == []
        assert aws.client(TARGET, "rds").describe_db_clusters(DBClusterIdentifier="example-db-2")["DBClusters"]

    def test_cleanup_refuses_other_accounts(self, aws: EmulatedAWS) -> None:
        aws.create_cluster(SOURCE, "example-db")
        source, target = sessions(aws)
        result = share_cluster_snapshot(source=source, target=target, cluster_id="example-db")
        assert result.manifest is not None
        from rdsshare import InputError

        with pytest.raises(InputError, match="not the manifest's accounts"):
            cleanup(result.manifest, source=target, target=source)


# -- IAM --------------------------------------------------------------------------------------------
def _allows(policy: dict[str, Any], action: str) -> bool:
    return any(
        fnmatch.fnmatchcase(action.lower(), pattern.lower())
        for statement in policy["Statement"]
        if statement["Effect"] == "Allow"
        for pattern in statement["Action"]
    )


def _record(session: AccountSession, into: set[str]) -> None:
    def handler(model: Any, **_: Any) -> None:
        prefix = model.service_model.signing_name or model.service_model.endpoint_prefix
        into.add(f"{prefix}:{model.name}")

    session.boto3_session.events.register("before-call.*.*", handler)


def test_iam_policies_allow_every_call_of_a_full_flow_and_cleanup(aws: EmulatedAWS) -> None:
    aws.create_cluster(SOURCE, "example-db")
    source, target = sessions(aws)
    spec = restore_spec(aws, backup_copy=True)
    source_calls: set[str] = set()
    target_calls: set[str] = set()
    _record(source, source_calls)
    _record(target, target_calls)
    result = share_cluster_snapshot(source=source, target=target, cluster_id="example-db", restore=spec)
    assert result.manifest is not None
    key_policy = json.loads(
        aws.client(SOURCE, "kms").get_key_policy(KeyId=result.source_kms_key_arn or "", PolicyName="default")["Policy"]
    )
    cleanup(result.manifest, source=source, target=target, delete_restored_cluster=True)
    assert {"rds:CopyDBClusterSnapshot", "kms:CreateKey", "rds:ModifyDBClusterSnapshotAttribute"} <= source_calls
    assert {"rds:RestoreDBClusterFromSnapshot", "rds:CreateDBInstance", "rds:ModifyDBCluster"} <= target_calls

    src_policy = required_iam_policy("source", source_account_id=SOURCE, target_account_id=TARGET, region=aws.region)
    tgt_policy = required_iam_policy("target", source_account_id=SOURCE, target_account_id=TARGET, region=aws.region)
    # "No permissions are required to perform this operation" (STS API reference, GetCallerIdentity).
    free = {"sts:GetCallerIdentity"}
    # The share key's own policy lets the role that made it manage it; IAM no longer grants that on key/*.
    [manager] = [st for st in key_policy["Statement"] if st.get("Sid") == MANAGER_SID]
    assert manager["Principal"] == {"AWS": [source.principal_arn()]}
    by_key_policy = set(manager["Action"])
    assert by_key_policy == set(MANAGER_ACTIONS)
    assert [c for c in sorted(source_calls - free) if not _allows(src_policy, c) and c not in by_key_policy] == []
    assert {"kms:PutKeyPolicy", "kms:ScheduleKeyDeletion"} <= source_calls  # cleanup used them
    assert [c for c in sorted(target_calls - free) if not _allows(tgt_policy, c)] == []
    # Tags on create need AddTagsToResource; the target needs CreateGrant on the source key.
    assert _allows(src_policy, "rds:AddTagsToResource")
    assert _allows(tgt_policy, "kms:CreateGrant")
    assert _allows(tgt_policy, "secretsmanager:CreateSecret")
    # Least privilege: the source never restores, the target never touches key policies.
    assert not _allows(src_policy, "rds:RestoreDBClusterFromSnapshot")
    assert not _allows(tgt_policy, "kms:PutKeyPolicy")
    assert not any(_allows(p, "*:*") or _allows(p, "kms:*") for p in (src_policy, tgt_policy))


def test_iam_policy_scopes_to_given_resources() -> None:
    key = f"arn:aws:kms:us-east-1:{SOURCE}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    policy = required_iam_policy(
        "target",
        source_account_id=SOURCE,
        target_account_id=TARGET,
        region="us-east-1",
        restore_cluster_ids=["example-db-2"],
        source_kms_key_arn=key,
    )
    text = json.dumps(policy)
    assert f"arn:aws:rds:us-east-1:{TARGET}:cluster:example-db-2" in text
    grants = [s for s in policy["Statement"] if "kms:CreateGrant" in s["Action"] and key in s["Resource"]]
    assert grants
    assert grants[0]["Condition"] == {
        "Bool": {"kms:GrantIsForAWSResource": "true"},
        "StringLike": {"kms:ViaService": "rds.us-east-1.amazonaws.com"},
    }
    with pytest.raises(ValueError, match="side"):
        required_iam_policy("both", source_account_id=SOURCE, target_account_id=TARGET)  # type: ignore[arg-type]


def test_mutating_prefixes_cover_every_write() -> None:
    # The helper used by "no change was made" assertions must know every write verb used here.
    assert {"Create", "Copy", "Modify", "Restore", "Delete", "Put", "Schedule"} <= set(MUTATING_PREFIXES)


def test_failed_run_carries_a_manifest_that_cleans_up(aws: EmulatedAWS) -> None:
    from rdsshare import RdsShareError

    aws.create_cluster(SOURCE, "example-db")
    source, target = sessions(aws)
    spec = restore_spec(aws)
    aws.inject_fault("rds", "RestoreDBClusterFromSnapshot", "InvalidParameterCombination", times=5)
    with pytest.raises(RdsShareError) as info:
        share_cluster_snapshot(source=source, target=target, cluster_id="example-db", restore=spec)
    manifest = info.value.manifest
    assert isinstance(manifest, Manifest)
    assert {e.role for e in manifest.entries} >= {"source-snapshot", "share-key", "shareable-copy", "share"}
    cleanup(manifest, source=source, target=target)
    assert aws.client(SOURCE, "rds").describe_db_cluster_snapshots(SnapshotType="manual")["DBClusterSnapshots"] == []
