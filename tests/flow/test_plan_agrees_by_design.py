"""Plan and run agree on every read the plan makes, found by recording the plan's reads, not by listing them.

For each flow, a dry run on a healthy bed records every read it makes. Then, one read at a time,
AWS refuses that read (``AccessDenied``, as a missing IAM permission would) for the rest of the
test, and the dry run and the real run must agree:

* the plan has a problem: the real run raises :class:`PreflightError` with the same problems and
  writes nothing;
* the plan raises a typed error: the real run raises the same error, and writes nothing;
* the plan is OK (the read was optional): the real run finishes, with no late refusal.

A new read added to preflight is covered by this test the day it is added.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from rdsshare import InstanceRestoreSpec, Plan, PreflightError, RdsShareError, ShareResult
from rdsshare import share_cluster_snapshot as share_cluster
from rdsshare import share_instance_snapshot as share_instance
from rdsshare.testing import EmulatedAWS

from ..accounts import SOURCE, TARGET
from .helpers import MUTATING_PREFIXES, mutating_calls, restore_spec, sessions

REGION = "us-east-1"
#: the code each service answers a missing permission with
DENIED = {"rds": "AccessDenied", "kms": "AccessDeniedException", "iam": "AccessDenied", "ec2": "UnauthorizedOperation"}


def _cluster_default_key(aws: EmulatedAWS) -> dict[str, Any]:
    aws.create_cluster(SOURCE, "example-db")
    return {"share": share_cluster, "cluster_id": "example-db", "restore": restore_spec(aws)}


def _cluster_customer_key(aws: EmulatedAWS) -> dict[str, Any]:
    key = aws.client(SOURCE, "kms").create_key()["KeyMetadata"]["Arn"]
    aws.create_cluster(SOURCE, "example-db", kms_key_id=key)
    spec = restore_spec(aws, engine_version=None)
    return {"share": share_cluster, "cluster_id": "example-db", "restore": spec}


def _instance(aws: EmulatedAWS) -> dict[str, Any]:
    aws.create_instance(SOURCE, "example-pg")
    net = aws.create_network(TARGET, "example-pg-2")
    spec = InstanceRestoreSpec(
        instance_id="example-pg-2",
        instance_class="db.t3.medium",
        subnet_group=net.subnet_group,
        security_group_ids=[net.security_group_id],
    )
    return {"share": share_instance, "instance_id": "example-pg", "restore": spec}


FLOWS: dict[str, Callable[[EmulatedAWS], dict[str, Any]]] = {
    "cluster, aws/rds": _cluster_default_key,
    "cluster, customer key": _cluster_customer_key,
    "instance": _instance,
}


def _reads(flow: str) -> list[tuple[str, str]]:
    """Every read a healthy dry run of ``flow`` makes, in order, once each."""
    with EmulatedAWS(region=REGION) as aws:
        kwargs = FLOWS[flow](aws)
        share = kwargs.pop("share")
        source, target = sessions(aws)
        aws.clear_calls()
        plan = share(source=source, target=target, dry_run=True, **kwargs)
        assert plan.ok, str(plan)
        seen: list[tuple[str, str]] = []
        for call in aws.calls:
            op = (call.service, call.operation)
            if call.service != "sts" and not call.operation.startswith(MUTATING_PREFIXES) and op not in seen:
                seen.append(op)
        return seen


CASES = [
    pytest.param(flow, service, op, id=f"{flow}: {service}:{op}") for flow in FLOWS for service, op in _reads(flow)
]


def test_every_flow_reads_enough_to_make_this_test_mean_something() -> None:
    for flow in FLOWS:
        ops = {op for _, op in _reads(flow)}
        assert len(ops) >= 8, (flow, ops)
    assert {"DescribeKey", "GetKeyPolicy", "DescribeDBClusters", "DescribeDBSubnetGroups"} <= {
        op for _, _, op in (c.values for c in CASES)
    }


@pytest.mark.parametrize(("flow", "service", "operation"), CASES)
def test_a_refused_read_makes_plan_and_run_agree(flow: str, service: str, operation: str) -> None:
    with EmulatedAWS(region=REGION) as aws:
        kwargs = FLOWS[flow](aws)
        share = kwargs.pop("share")
        source, target = sessions(aws)
        aws.inject_fault(service, operation, DENIED.get(service, "AccessDenied"), times=10_000)
        aws.clear_calls()
        try:
            plan = share(source=source, target=target, dry_run=True, **kwargs)
        except RdsShareError as planned_error:
            # Refused before a plan could be made: the real run is refused the same way, before any write.
            with pytest.raises(type(planned_error)):
                share(source=source, target=target, **kwargs)
            assert mutating_calls(aws) == []
            return
        assert isinstance(plan, Plan)
        assert mutating_calls(aws) == []
        if not plan.ok:
            with pytest.raises(PreflightError) as refused:
                share(source=source, target=target, **kwargs)
            assert [str(p) for p in refused.value.problems] == [str(p) for p in plan.problems]
            assert mutating_calls(aws) == []
            return
        # The plan did without this read: so must the run, to the end.
        result = share(source=source, target=target, **kwargs)
        assert isinstance(result, ShareResult)
        assert result.target_cluster_arn or result.target_instance_arn
