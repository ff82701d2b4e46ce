"""What the workflow-engine integrations share (rdsshare._engine): a job from plain values, which
failures waiting cures, errors that keep their class through plain values, and the short in-call
retry an engine asks for so that no worker sleeps on a quota."""

from __future__ import annotations

import inspect
from collections import Counter
from datetime import timedelta

import pytest

from rdsshare import (
    AccountSession,
    ClusterRestoreSpec,
    ConflictError,
    InputError,
    KeyNotAccessibleError,
    PlanChangedError,
    QuotaExceededError,
    ShareJob,
    WaitPolicy,
)
from rdsshare._engine import advance_once, job_arguments, job_of, retry_after
from rdsshare._errors import error_from_dict
from rdsshare._planfile import spec_to_dict
from rdsshare.testing import EmulatedAWS

from ..accounts import OTHER, SOURCE, TARGET
from ..flow.helpers import restore_spec, sessions


def test_errors_keep_their_class_or_their_nearest_plain_parent() -> None:
    key = KeyNotAccessibleError("disabled", step="restore", account_id=TARGET, error_code="KMSKeyNotAccessibleFault")
    back = error_from_dict(key.to_dict())
    assert type(back) is KeyNotAccessibleError
    assert (back.step, back.account_id, back.error_code) == ("restore", TARGET, "KMSKeyNotAccessibleFault")
    changed = error_from_dict(PlanChangedError(["the snapshot is gone"]).to_dict())
    assert type(changed) is ConflictError  # PlanChangedError takes a list of changes, not the fields
    preflight = error_from_dict({"type": "PreflightError", "message": "1 problem", "step": "preflight"})
    assert type(preflight) is InputError
    assert type(error_from_dict({"type": "NoSuchThing", "message": "x"})).__name__ == "RdsShareError"


def test_restore_specs_come_from_plain_values_for_one_target_or_several() -> None:
    fields = {"cluster_id": "orders-2", "instance_class": "db.t3.medium"}
    one = job_arguments("cluster", {"cluster_id": "orders", "restore": fields})
    assert one["restore"] == ClusterRestoreSpec(cluster_id="orders-2", instance_class="db.t3.medium")
    several = job_arguments("cluster", {"restore": {TARGET: fields, "333333333333": None}})
    assert several["restore"] == {TARGET: one["restore"], "333333333333": None}
    with pytest.raises(InputError, match="instance_class") as missing:
        job_arguments("cluster", {"restore": {"cluster_id": "orders-2"}})
    assert isinstance(missing.value.__cause__, TypeError)
    with pytest.raises(InputError, match="the worker provides it"):
        job_arguments("cluster", {"cluster_id": "orders", "wait": 3})
    with pytest.raises(InputError, match="mapping of restore spec fields"):
        job_arguments("cluster", {"restore": "orders-2"})


def test_which_failures_waiting_cures() -> None:
    copies = QuotaExceededError("Cannot copy more than 5 snapshots", error_code="SnapshotQuotaExceeded")
    manual = QuotaExceededError("Cannot create more than 100 manual snapshots", error_code="SnapshotQuotaExceeded")
    busy = QuotaExceededError("busy", error_code="DBClusterQuotaExceededFault")
    assert retry_after(copies) == 60.0
    assert retry_after(manual) is None
    assert retry_after(busy) is None
    assert retry_after(ConnectionError("reset")) == 5.0  # not rdsshare's: the engine retries it
    assert retry_after(InputError("bad", step="input")) is None


def test_the_request_arguments_are_share_job_starts_own() -> None:
    from rdsshare._engine import _REQUEST_ARGUMENTS
    from rdsshare._request import prepare

    process = {"kind", "source", "target", "targets", "on_event", "wait", "copy_slots"}
    assert set(inspect.signature(prepare).parameters) - process == _REQUEST_ARGUMENTS
    with pytest.raises(InputError, match="unknown request argument"):
        job_arguments("cluster", {"cluster": "orders"})


def test_an_engine_job_does_not_sleep_on_the_copy_quota_and_goes_on_from_the_state_after_it() -> None:
    """With ``retry_for`` zero, a copy refused by the quota of concurrent copies comes back at once as
    a curable error with the job's state after it; advanced again from that state once there is room,
    the job finishes."""
    with EmulatedAWS(region="us-east-1", copy_concurrency_quota=0) as aws:
        aws.create_cluster(SOURCE, "orders")
        spec = restore_spec(aws)
        source, target = sessions(aws)
        engine = WaitPolicy(retry_for=timedelta(0))
        job = job_of(
            kind="cluster",
            source=source,
            targets=[target],
            arguments={"cluster_id": "orders", "restore": spec_to_dict(spec)},
            job=None,
            wait=engine,
        )
        out = advance_once(job)
        while out["error"] is None:
            out = advance_once(job)
        assert out["error"]["type"] == "QuotaExceededError"
        assert out["error"]["error_code"] == "SnapshotQuotaExceeded"
        assert (out["done"], out["phase"], out["wait_seconds"]) == (False, "copy", 60.0)
        assert Counter(c.operation for c in aws.calls)["CopyDBClusterSnapshot"] == 1  # one try, no sleeping
        aws.copy_concurrency_quota = 5
        again = ShareJob.from_json(out["job"], source=source, target=target, wait=engine)
        while not (out := advance_once(again))["done"]:
            assert out["error"] is None
        assert out["result"]["target_cluster_arn"].endswith(":cluster:example-db-2")
        assert Counter(c.operation for c in aws.calls)["CopyDBClusterSnapshot"] == 2


def test_a_target_refused_while_another_waits_is_tried_again_from_the_saved_state() -> None:
    """Two targets; one target's restore is refused once by a busy snapshot while the other still waits.
    The refusal is reported once the other has settled; the state after that report, saved as an engine
    saves it, tries that target again (it is neither skipped nor refused again without a call)."""
    with EmulatedAWS(region="us-east-1") as aws:
        aws.create_cluster(SOURCE, "orders")
        specs = {}
        for account in (TARGET, OTHER):
            net = aws.create_network(account, "restore")
            specs[account] = {
                "cluster_id": "orders-2",
                "instance_class": "db.t3.medium",
                "subnet_group": net.subnet_group,
                "security_group_ids": [net.security_group_id],
            }
        source = AccountSession(aws.session(SOURCE), endpoint_url=aws.endpoint_url)
        targets = [AccountSession(aws.session(a), endpoint_url=aws.endpoint_url) for a in (TARGET, OTHER)]
        aws.operation_seconds = 0.05
        aws.inject_fault("rds", "RestoreDBClusterFromSnapshot", "InvalidDBClusterSnapshotStateFault", account_id=TARGET)
        engine = WaitPolicy(retry_for=timedelta(0))
        state: str | None = None
        refused = []
        for _ in range(400):
            job = job_of(
                kind="cluster", source=source, targets=targets, arguments={"cluster_id": "orders", "restore": specs},
                job=state, wait=engine,
            )  # fmt: skip
            out = advance_once(job)
            state = out["job"]  # what an engine records, after a refusal too
            if out["error"] is not None:
                refused.append(out["error"]["account_id"])
            if out["done"]:
                break
        assert out["done"]
        assert refused == [TARGET]
        restores = [c.account_id for c in aws.calls if c.operation == "RestoreDBClusterFromSnapshot"]
        assert sorted(restores) == sorted([TARGET, TARGET, OTHER])  # refused once, then made; the other once
        assert {t["target_account_id"]: t["error"] for t in out["result"]["targets"]} == {TARGET: None, OTHER: None}
