"""Plan files: a reviewed plan is saved, read back, and applied exactly, or refused before any write."""

from __future__ import annotations

import json

import pytest

from rdsshare import (
    ClusterRestoreSpec,
    InputError,
    Plan,
    PlanChangedError,
    ShareResult,
    share_cluster_snapshot,
    share_instance_snapshot,
)
from rdsshare.testing import EmulatedAWS

from ..accounts import SOURCE, TARGET
from .helpers import mutating_calls, restore_spec, sessions


def _plan(aws: EmulatedAWS, restore: ClusterRestoreSpec | None = None, run_name: str | None = None) -> Plan:
    source, target = sessions(aws)
    return share_cluster_snapshot(
        source=source, target=target, cluster_id="example-db", restore=restore, run_name=run_name, dry_run=True
    )


def _keys(value: object) -> list[str]:
    if isinstance(value, dict):
        return [k for k, v in value.items() for k in (k, *_keys(v))]
    if isinstance(value, list):
        return [k for v in value for k in _keys(v)]
    return []


def test_a_plan_round_trips_through_its_file_and_holds_no_secret(aws: EmulatedAWS) -> None:
    aws.create_cluster(SOURCE, "example-db")
    plan = _plan(aws, restore=restore_spec(aws, tags={"team": "data"}), run_name="nightly")
    text = plan.to_json()
    document = json.loads(text)
    assert (document["format"], document["version"]) == ("rdsshare-plan", 1)
    assert document["request"]["restore"][TARGET]["cluster_id"] == "example-db-2"
    assert document["request"]["run_name"] == "nightly"
    # Only ids, names and flags: no value a secret could hide in.
    flat = json.dumps(document["request"])
    assert all(key in {"manage_master_user_password"} for key in _keys(document) if "password" in key.lower())
    assert "Secret" not in flat
    again = Plan.from_json(text)
    assert again == plan
    assert str(again) == str(plan)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not json", "not a plan file"),
        ('{"format": "terraform"}', "not an rdsshare plan file"),
        ('{"format": "rdsshare-plan", "version": 99}', "version 99"),
        ('{"format": "rdsshare-plan", "version": 1}', "incomplete"),
    ],
)
def test_what_is_not_a_plan_file_is_refused(text: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        Plan.from_json(text)


def test_apply_runs_exactly_the_reviewed_plan(aws: EmulatedAWS) -> None:
    aws.create_cluster(SOURCE, "example-db")
    spec = restore_spec(aws)
    reviewed = Plan.from_json(_plan(aws, restore=spec).to_json())  # as if read from disk in another process
    creates = {(s.step, s.resource) for s in reviewed.steps if s.action == "create"}
    source, target = sessions(aws)
    result = reviewed.apply(source=source, target=target)
    assert isinstance(result, ShareResult)
    assert result.target_cluster_arn is not None
    assert result.target_cluster_arn.endswith(":cluster:example-db-2")
    assert result.master_user_secret_arn
    made = {arn.rsplit(":", 1)[-1] for arn in result.created}
    assert {resource for step, resource in creates if step in ("snapshot", "copy", "restore")} <= made
    # The same request planned now adopts everything: the plan was applied, and nothing else.
    after = _plan(aws, restore=spec)
    assert after.ok
    assert {s.action for s in after.steps} <= {"adopt", "skip"}


def test_apply_refuses_before_any_write_when_what_the_plan_read_has_changed(aws: EmulatedAWS) -> None:
    aws.create_cluster(SOURCE, "example-db")
    spec = restore_spec(aws)
    reviewed = _plan(aws, restore=spec)
    # Meanwhile, someone takes the restore id in the target.
    aws.create_cluster(TARGET, "example-db-2", instances=0)
    source, target = sessions(aws)
    aws.clear_calls()
    with pytest.raises(PlanChangedError) as info:
        reviewed.apply(source=source, target=target)
    assert mutating_calls(aws) == []
    assert any(c.startswith("restore example-db-2: planned to create") for c in info.value.changes), info.value.changes
    assert any(c.startswith("new problem: restore") for c in info.value.changes)
    assert info.value.step == "apply"


def test_apply_refuses_when_an_earlier_run_made_what_the_plan_would_create(aws: EmulatedAWS) -> None:
    aws.create_cluster(SOURCE, "example-db")
    reviewed = _plan(aws)
    source, target = sessions(aws)
    share_cluster_snapshot(source=source, target=target, cluster_id="example-db")  # another run, same share
    aws.clear_calls()
    with pytest.raises(PlanChangedError, match=r"planned to create .* now adopt"):
        reviewed.apply(source=source, target=target)
    assert mutating_calls(aws) == []


def test_a_plan_with_problems_is_not_applied(aws: EmulatedAWS) -> None:
    reviewed = _plan(aws)  # no such cluster
    assert not reviewed.ok
    source, target = sessions(aws)
    aws.clear_calls()
    with pytest.raises(InputError, match="problem"):
        reviewed.apply(source=source, target=target)
    assert aws.calls == []


def test_an_instance_plan_applies_too(aws: EmulatedAWS) -> None:
    from rdsshare import InstanceRestoreSpec

    aws.create_instance(SOURCE, "orders-db")
    net = aws.create_network(TARGET, "orders")
    spec = InstanceRestoreSpec(
        instance_id="orders-db-2",
        instance_class="db.t3.micro",
        subnet_group=net.subnet_group,
        security_group_ids=[net.security_group_id],
    )
    source, target = sessions(aws)
    plan = share_instance_snapshot(source=source, target=target, instance_id="orders-db", restore=spec, dry_run=True)
    assert isinstance(plan, Plan)
    assert plan.kind == "instance"
    result = Plan.from_json(plan.to_json()).apply(source=source, target=target)
    assert result.target_instance_arn is not None
    assert result.target_instance_arn.endswith(":db:orders-db-2")
