"""What the workflow-engine integrations share (rdsshare._engine): a job from plain values, which
failures waiting cures, errors that keep their class through plain values, and the short in-call
retry an engine asks for so that no worker sleeps on a quota."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest

from rdsshare import (
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

from ..accounts import SOURCE, TARGET
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


def test_an_engine_job_does_not_sleep_on_the_copy_quota_and_continues_once_there_is_room() -> None:
    """With ``retry_for`` short, a copy refused by the quota of concurrent copies is raised after one
    try, typed and curable; the same job, advanced again once there is room, finishes."""
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

        def until_it_stops() -> None:
            while not advance_once(job)["done"]:
                pass

        with pytest.raises(QuotaExceededError) as caught:
            until_it_stops()
        assert retry_after(caught.value) == 60.0
        assert Counter(c.operation for c in aws.calls)["CopyDBClusterSnapshot"] == 1  # one try, no sleeping
        saved = job.to_json()
        aws.copy_concurrency_quota = 5
        again = ShareJob.from_json(saved, source=source, target=target, wait=engine)
        while not (out := advance_once(again))["done"]:
            pass
        assert out["result"]["target_cluster_arn"].endswith(":cluster:example-db-2")
        assert Counter(c.operation for c in aws.calls)["CopyDBClusterSnapshot"] == 2
