"""Each worker class on its own, on the test bed."""

from __future__ import annotations

import pytest

from rdsshare import (
    AccountSession,
    ConflictError,
    InputError,
    KeyInfo,
    KeyManager,
    ShareManager,
    SnapshotCopier,
    WaitPolicy,
)
from rdsshare._events import Emitter, Event, StepProgress
from rdsshare._naming import rds_tags
from rdsshare.testing import EmulatedAWS

from ..accounts import SOURCE, TARGET
from .helpers import mutating_calls, sessions


def _snapshot(aws: EmulatedAWS, snap_id: str = "manual-1", *, encrypted: bool = False) -> str:
    aws.create_cluster(SOURCE, "example-db", encrypted=encrypted)
    rds = aws.client(SOURCE, "rds")
    rds.create_db_cluster_snapshot(DBClusterIdentifier="example-db", DBClusterSnapshotIdentifier=snap_id)
    return snap_id


class TestShareManager:
    def test_share_verify_and_unshare(self, aws: EmulatedAWS) -> None:
        snap = _snapshot(aws)
        manager = ShareManager(aws.client(SOURCE, "rds"), account_id=SOURCE, emit=Emitter(None))
        assert manager.share(snap, [TARGET]) == "updated"
        assert manager.shared_with(snap) == [TARGET]
        assert manager.share(snap, [TARGET, TARGET]) == "unchanged"
        assert manager.unshare(snap, [TARGET]) == "updated"
        assert manager.shared_with(snap) == []
        assert manager.unshare(snap, [TARGET]) == "unchanged"

    @pytest.mark.parametrize(
        ("accounts", "match"),
        [
            (["all"], "never makes a snapshot public"),
            (["12345"], "12-digit"),
            ([SOURCE], "own account"),
            ([f"{n:012d}" for n in range(300000000000, 300000000021)], "at most 20"),
        ],
    )
    def test_refuses_before_calling(self, aws: EmulatedAWS, accounts: list[str], match: str) -> None:
        snap = _snapshot(aws)
        manager = ShareManager(aws.client(SOURCE, "rds"), account_id=SOURCE, emit=Emitter(None))
        aws.clear_calls()
        with pytest.raises(InputError, match=match):
            manager.share(snap, accounts)
        assert mutating_calls(aws) == []

    def test_limit_counts_existing_shares(self, aws: EmulatedAWS) -> None:
        snap = _snapshot(aws)
        manager = ShareManager(aws.client(SOURCE, "rds"), account_id=SOURCE, emit=Emitter(None))
        manager.share(snap, [f"{n:012d}" for n in range(300000000000, 300000000020)])
        with pytest.raises(InputError, match="limit of 20"):
            manager.share(snap, [TARGET])


class TestSnapshotCopier:
    def test_ensure_copy_creates_then_adopts(self, aws: EmulatedAWS) -> None:
        snap = _snapshot(aws)
        copier = SnapshotCopier(
            aws.client(SOURCE, "rds"), account_id=SOURCE, region=aws.region, emit=Emitter(None), wait=WaitPolicy()
        )
        tags = rds_tags(run="r1", source="src", role="test")
        first, outcome = copier.ensure_copy(
            source_snapshot=snap, target_id="copy-1", kms_key_id=None, tags=tags, source="src"
        )
        assert outcome == "created"
        again, outcome = copier.ensure_copy(
            source_snapshot=snap, target_id="copy-1", kms_key_id=None, tags=tags, source="src"
        )
        assert outcome == "adopted"
        assert again["DBClusterSnapshotArn"] == first["DBClusterSnapshotArn"]

    def test_foreign_snapshot_with_our_name_is_not_touched(self, aws: EmulatedAWS) -> None:
        snap = _snapshot(aws)
        aws.client(SOURCE, "rds").copy_db_cluster_snapshot(
            SourceDBClusterSnapshotIdentifier=snap, TargetDBClusterSnapshotIdentifier="copy-1"
        )
        copier = SnapshotCopier(
            aws.client(SOURCE, "rds"), account_id=SOURCE, region=aws.region, emit=Emitter(None), wait=WaitPolicy()
        )
        aws.clear_calls()
        with pytest.raises(ConflictError):
            copier.ensure_copy(source_snapshot=snap, target_id="copy-1", kms_key_id=None, tags=[], source="src")
        assert mutating_calls(aws) == []

    def test_waits_with_progress_events(self, aws: EmulatedAWS) -> None:
        snap = _snapshot(aws)
        aws.operation_seconds = 0.6
        events: list[Event] = []
        copier = SnapshotCopier(
            aws.client(SOURCE, "rds"),
            account_id=SOURCE,
            region=aws.region,
            emit=Emitter(events.append),
            wait=WaitPolicy(min_interval_seconds=0.05, jitter=0),
        )
        copy, _ = copier.ensure_copy(
            source_snapshot=snap,
            target_id="copy-2",
            kms_key_id=None,
            tags=rds_tags(run="r", source="s", role="t"),
            source="s",
        )
        assert copy["Status"] == "available"
        progress = [e for e in events if isinstance(e, StepProgress)]
        assert progress
        assert progress[0].status != "available"


class TestKeyManager:
    def test_share_key_created_once(self, aws: EmulatedAWS) -> None:
        source, _ = sessions(aws)
        manager = KeyManager(
            source.kms(), account_id=SOURCE, region=aws.region, caller_arn=source.caller_arn, emit=Emitter(None)
        )
        key, outcome = manager.ensure_share_key(target_account_ids=[TARGET])
        assert outcome == "created"
        again, outcome = manager.ensure_share_key(target_account_ids=[TARGET])
        assert (again.arn, outcome) == (key.arn, "adopted")
        more, outcome = manager.ensure_share_key(target_account_ids=["333333333333"])
        assert (more.arn, outcome) == (key.arn, "updated")

    def test_orphan_key_from_a_crash_is_adopted(self, aws: EmulatedAWS) -> None:
        source, _ = sessions(aws)
        manager = KeyManager(
            source.kms(), account_id=SOURCE, region=aws.region, caller_arn=source.caller_arn, emit=Emitter(None)
        )
        key, _ = manager.ensure_share_key(
            target_account_ids=[TARGET], tags=rds_tags(run="r", source=SOURCE, role="share-key")
        )
        # Simulate a crash between CreateKey and CreateAlias.
        source.kms().delete_alias(AliasName="alias/rdsshare/share-key")
        again, outcome = manager.ensure_share_key(target_account_ids=[TARGET])
        assert again.arn == key.arn
        assert outcome == "adopted"
        assert len(source.kms().list_keys()["Keys"]) == 1


class TestAccountSession:
    def test_identity_region_and_repr(self, aws: EmulatedAWS) -> None:
        source, target = sessions(aws)
        assert (source.account_id, target.account_id) == (SOURCE, TARGET)
        assert source.region == aws.region
        assert SOURCE in repr(source)
        assert "secret" not in repr(source).lower()

    def test_from_role_acts_in_role_account_and_refreshes(self, aws: EmulatedAWS) -> None:
        base = AccountSession(aws.session(SOURCE), endpoint_url=aws.endpoint_url)
        session = AccountSession.from_role(
            f"arn:aws:iam::{TARGET}:role/restore", base=base, duration_seconds=900, session_name="test"
        )
        assert session.account_id == TARGET
        before = sum(1 for c in aws.calls if c.operation == "AssumeRole")
        # 900-second credentials are inside botocore's refresh window: each use re-assumes the role.
        session.rds().describe_db_clusters()
        session.rds().describe_db_clusters()
        after = sum(1 for c in aws.calls if c.operation == "AssumeRole")
        assert after - before >= 2

    def test_bad_role_arn(self) -> None:
        with pytest.raises(InputError, match="not an IAM role ARN"):
            AccountSession.from_role("not-an-arn")


def test_two_first_runs_racing_for_the_alias_leave_one_key(aws: EmulatedAWS) -> None:
    source, _ = sessions(aws)
    manager = KeyManager(
        source.kms(), account_id=SOURCE, region=aws.region, caller_arn=source.caller_arn, emit=Emitter(None)
    )
    winner, _ = manager.ensure_share_key(target_account_ids=[TARGET])

    class Loser(KeyManager):
        """Looked for the alias just before the winner created it, so found nothing."""

        looked = False

        def _find_by_alias(self, alias: str) -> KeyInfo | None:
            if not self.looked:
                self.looked = True
                return None
            return super()._find_by_alias(alias)

        def _find_orphan(self) -> KeyInfo | None:
            return None

    loser = Loser(source.kms(), account_id=SOURCE, region=aws.region, caller_arn=source.caller_arn, emit=Emitter(None))
    key, outcome = loser.ensure_share_key(target_account_ids=[TARGET])
    assert key.arn == winner.arn
    assert outcome == "adopted"
    kms = source.kms()
    states = [kms.describe_key(KeyId=k["KeyId"])["KeyMetadata"]["KeyState"] for k in kms.list_keys()["Keys"]]
    assert sorted(states) == ["Enabled", "PendingDeletion"]


def _rdsshare_handlers(client: object) -> list[str]:
    emitter = client.meta.events._emitter  # type: ignore[attr-defined]
    return [name for name in emitter._unique_id_handlers if str(name).startswith("rdsshare")]


def test_the_step_classes_take_public_types_and_leave_a_callers_client_alone(aws: EmulatedAWS) -> None:
    from rdsshare import KeyManager, Restorer, ShareManager, SnapshotCopier

    # Clients the caller made: rdsshare registers no handler on them.
    rds, kms = aws.client(SOURCE, "rds"), aws.client(SOURCE, "kms")
    events: list[Event] = []
    keys = KeyManager(kms, account_id=SOURCE, region=aws.region, caller_arn=f"arn:aws:iam::{SOURCE}:root")
    copier = SnapshotCopier(rds, account_id=SOURCE, region=aws.region, emit=events.append)
    restorer = Restorer(rds, keys, account_id=SOURCE, region=aws.region)
    ShareManager(rds, account_id=SOURCE)
    assert _rdsshare_handlers(rds) == []
    assert _rdsshare_handlers(kms) == []
    assert keys.describe("alias/aws/rds", step="source-key").aws_managed
    assert copier.find("no-such-snapshot") is None
    assert restorer.find_cluster("no-such-cluster") is None
    aws.create_cluster(SOURCE, "example-db")
    snap, outcome = copier.ensure_snapshot(source_id="example-db", snapshot_id="manual-1", tags=[], source="example-db")
    assert outcome == "created"
    assert snap["DBClusterSnapshotIdentifier"] == "manual-1"
    assert any(getattr(e, "step", None) == "snapshot" for e in events)  # the user's hook, as it is


def test_clients_made_by_the_session_leave_non_idempotent_calls_to_rdsshare(aws: EmulatedAWS) -> None:
    source, _ = sessions(aws)
    assert _rdsshare_handlers(source.kms()) == ["rdsshare-no-retry-kms-CreateKey"]
    assert sorted(_rdsshare_handlers(source.rds())) == [
        "rdsshare-no-retry-rds-ModifyDBCluster",
        "rdsshare-no-retry-rds-ModifyDBInstance",
    ]
