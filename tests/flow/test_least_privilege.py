"""The generated IAM policies are enough, and nothing in them is spare (issue: IAM identity policies).

Each flow runs with the source and the target acting as roles whose only IAM policy is what
``required_iam_policy()`` generates, on the test bed that enforces identity policies (with the
resources the Service Authorization Reference lists), key policies and RDS's use of keys for the
caller. Then, for every action of the generated policies: some flow needed it, and that flow fails
without it. In-process only: the rules are the same in server mode (tests/testbed), and each
removal is one more full run.
"""

from __future__ import annotations

import copy
import fnmatch
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import attrs
import pytest

from rdsshare import (
    AccountSession,
    ClusterRestoreSpec,
    InstanceRestoreSpec,
    RdsShareError,
    cleanup,
    required_iam_policy,
    set_testing,
    share_cluster_snapshot,
    share_instance_snapshot,
)
from rdsshare.testing import EmulatedAWS

from ..accounts import OTHER, SOURCE, TARGET

WEST = "us-west-2"
ROLES = ("rdsshare-source", "rdsshare-target")
Policy = dict[str, Any]


@dataclass
class Run:
    """One flow, each side acting as a role with the generated policy (less ``removed``, if given)."""

    aws: EmulatedAWS
    removed: tuple[str, str] | None = None
    #: the user's own source CMK, when the flow has one (its ARN goes into the source policy)
    source_key: str | None = None
    #: the regions the policies are scoped to
    region: str | tuple[str, ...] = "*"

    def policy(self, side: str, account: str) -> Policy:
        policy = required_iam_policy(
            side,  # type: ignore[arg-type]
            source_account_id=SOURCE,
            target_account_id=account,
            source_kms_key_arn=self.source_key if side == "source" else None,
            region=self.region,
        )
        if self.removed is not None and self.removed[0] == side:
            policy = _without(policy, self.removed[1])
        return policy

    def source(self, region: str | None = None) -> AccountSession:
        return AccountSession(
            self.aws.role_session(SOURCE, ROLES[0], self.policy("source", TARGET), region=region),
            endpoint_url=self.aws.endpoint_url,
        )

    def target(self, account: str = TARGET, region: str | None = None) -> AccountSession:
        return AccountSession(
            self.aws.role_session(account, ROLES[1], self.policy("target", account), region=region),
            endpoint_url=self.aws.endpoint_url,
        )

    def spec(self, account: str = TARGET, region: str | None = None) -> ClusterRestoreSpec:
        net = self.aws.create_network(account, "restore", region=region)
        return ClusterRestoreSpec(
            cluster_id="example-db-2",
            instance_class="db.t3.medium",
            subnet_group=net.subnet_group,
            security_group_ids=[net.security_group_id],
        )


def _cluster_default_key(run: Run) -> None:
    run.aws.create_cluster(SOURCE, "example-db")
    source, target = run.source(), run.target()
    result = share_cluster_snapshot(source=source, target=target, cluster_id="example-db", restore=run.spec())
    assert result.manifest is not None
    cleanup(result.manifest, source=source, target=target)


def _cluster_from_snapshot(run: Run) -> None:
    """Starting from an existing snapshot, the run looks for a key a crashed run left unnamed (ListKeys)."""
    run.aws.create_cluster(SOURCE, "example-db")
    run.aws.client(SOURCE, "rds").create_db_cluster_snapshot(
        DBClusterIdentifier="example-db", DBClusterSnapshotIdentifier="nightly"
    )
    run.aws.finish_pending()
    share_cluster_snapshot(source=run.source(), target=run.target(), snapshot_id="nightly")


def _cluster_cmk_with_backup(run: Run) -> None:
    """A customer key on both sides, the secret under a target CMK, a backup copy, then everything removed."""
    key = run.aws.client(SOURCE, "kms").create_key()["KeyMetadata"]["Arn"]
    run.source_key = key  # the user's CMK: its ARN scopes the source policy's key-policy statement
    run.aws.create_cluster(SOURCE, "example-db", kms_key_id=key)
    target_key = run.aws.client(TARGET, "kms").create_key()["KeyMetadata"]["Arn"]
    run.aws.client(TARGET, "rds").create_db_cluster_parameter_group(
        DBClusterParameterGroupName="tuned", DBParameterGroupFamily="aurora-postgresql16", Description="tuned"
    )
    spec = attrs.evolve(
        run.spec(),
        backup_copy=True,
        kms_key_id=target_key,
        master_user_secret_kms_key_id=target_key,
        cluster_parameter_group="tuned",
    )
    source, target = run.source(), run.target()
    result = share_cluster_snapshot(source=source, target=target, cluster_id="example-db", restore=spec)
    assert result.backup_snapshot_arn
    assert result.manifest is not None
    cleanup(result.manifest, source=source, target=target, delete_restored_cluster=True)


def _cluster_cross_region(run: Run) -> None:
    run.aws.create_cluster(SOURCE, "example-db")
    target = run.target(region=WEST)
    share_cluster_snapshot(source=run.source(), target=target, cluster_id="example-db", restore=run.spec(region=WEST))


def _cluster_cross_region_pulled(run: Run) -> None:
    """A customer-key snapshot the target copies into its region itself, in one step (rdsshare._pull)."""
    key = run.aws.client(SOURCE, "kms").create_key()["KeyMetadata"]["Arn"]
    run.source_key = key
    run.aws.create_cluster(SOURCE, "example-db", kms_key_id=key)
    target = run.target(region=WEST)
    result = share_cluster_snapshot(
        source=run.source(), target=target, cluster_id="example-db", restore=run.spec(region=WEST)
    )
    assert result.targets[0].target_snapshot_arn  # pulled, not copied by the source
    assert result.manifest is not None
    cleanup(result.manifest, source=run.source(), target=target)


def _cluster_two_targets(run: Run) -> None:
    run.aws.create_cluster(SOURCE, "example-db")
    targets = [run.target(TARGET), run.target(OTHER)]
    restore = {TARGET: run.spec(TARGET), OTHER: run.spec(OTHER)}
    share_cluster_snapshot(source=run.source(), targets=targets, cluster_id="example-db", restore=restore)


def _instance_default_key(run: Run) -> None:
    run.aws.create_instance(SOURCE, "orders-db", engine="postgres")
    net = run.aws.create_network(TARGET, "restore")
    run.aws.client(TARGET, "rds").create_db_parameter_group(
        DBParameterGroupName="tuned", DBParameterGroupFamily="postgres16", Description="tuned"
    )
    spec = InstanceRestoreSpec(
        instance_id="orders-db-2",
        instance_class="db.t3.micro",
        parameter_group="tuned",
        subnet_group=net.subnet_group,
        security_group_ids=[net.security_group_id],
    )
    source, target = run.source(), run.target()
    result = share_instance_snapshot(source=source, target=target, instance_id="orders-db", restore=spec)
    assert result.master_user_secret_arn
    assert result.manifest is not None
    cleanup(result.manifest, source=source, target=target)


FLOWS: dict[str, Callable[[Run], None]] = {
    "cluster-default-key": _cluster_default_key,
    "cluster-from-snapshot": _cluster_from_snapshot,
    "cluster-cmk-backup": _cluster_cmk_with_backup,
    "cluster-cross-region": _cluster_cross_region,
    "cluster-cross-region-pulled": _cluster_cross_region_pulled,
    "cluster-two-targets": _cluster_two_targets,
    "instance-default-key": _instance_default_key,
}


def _policies() -> tuple[Policy, Policy]:
    # only builds policies; with a user key, so that its statement is among the actions tested
    run = Run(aws=None, source_key=f"arn:aws:kms:us-east-1:{SOURCE}:key/your-key")  # type: ignore[arg-type]
    return run.policy("source", TARGET), run.policy("target", TARGET)


def _actions(policy: Policy) -> list[str]:
    return sorted({a for s in policy["Statement"] for a in s["Action"]})


def _without(policy: Policy, action: str) -> Policy:
    reduced = copy.deepcopy(policy)
    statements = []
    for statement in reduced["Statement"]:
        statement["Action"] = [a for a in statement["Action"] if a != action]
        if statement["Action"]:
            statements.append(statement)
    reduced["Statement"] = statements
    return reduced


@pytest.fixture(autouse=True, scope="module")
def _instant_waits() -> Iterator[None]:
    """A removal that leaves a key unusable makes the run retry for minutes; here without sleeping."""
    set_testing(True)
    yield
    set_testing(False)


def _run(flow: str, removed: tuple[str, str] | None = None) -> tuple[set[str], set[str]]:
    """Run ``flow``; return the IAM actions each side's own policy had to allow."""
    with EmulatedAWS() as aws:
        FLOWS[flow](Run(aws, removed))
        used: dict[str, set[str]] = {SOURCE: set(), TARGET: set(), OTHER: set()}
        for call in aws.calls:  # the rdsshare roles' calls, not the seeding done by the bed's admin
            if call.principal and any(f":assumed-role/{r}/" in call.principal for r in ROLES):
                used[call.account_id].update(call.authorized)
    return used[SOURCE], used[TARGET] | used[OTHER]


@pytest.fixture(scope="module")
def usage() -> dict[str, tuple[set[str], set[str]]]:
    """What each flow needed, cheapest flow first (a removal reruns the cheapest flow that needs it)."""
    timed = []
    for flow in FLOWS:
        started = time.perf_counter()
        used = _run(flow)
        timed.append((time.perf_counter() - started, flow, used))
    return {flow: used for _, flow, used in sorted(timed)}


def test_every_flow_runs_under_the_generated_policies(usage: dict[str, tuple[set[str], set[str]]]) -> None:
    for flow, (source_used, target_used) in usage.items():
        assert source_used, flow
        assert target_used or flow == "cluster-from-snapshot", flow  # no restore there


@pytest.mark.parametrize("side", ["source", "target"])
def test_every_action_of_the_generated_policy_is_needed_by_some_flow(
    usage: dict[str, tuple[set[str], set[str]]], side: str
) -> None:
    policy = _policies()[0 if side == "source" else 1]
    used = set().union(*(u[0 if side == "source" else 1] for u in usage.values()))
    spare = [a for a in _actions(policy) if not any(fnmatch.fnmatch(u, a) for u in used)]
    assert spare == [], f"{side} policy grants actions no flow needs: {spare}"


def _removals() -> list[tuple[str, str]]:
    source_policy, target_policy = _policies()
    return [("source", a) for a in _actions(source_policy)] + [("target", a) for a in _actions(target_policy)]


@pytest.mark.parametrize(("side", "action"), _removals(), ids=lambda v: str(v))
def test_each_action_is_required(usage: dict[str, tuple[set[str], set[str]]], side: str, action: str) -> None:
    index = 0 if side == "source" else 1
    flow = next((f for f, u in usage.items() if any(fnmatch.fnmatch(a, action) for a in u[index])), None)
    assert flow is not None, f"{side}:{action} is not needed by any flow"
    with pytest.raises(RdsShareError):
        _run(flow, (side, action))


@pytest.mark.parametrize("flow", ["cluster-default-key", "cluster-cross-region", "cluster-cross-region-pulled"])
def test_flows_run_under_policies_scoped_to_their_regions(flow: str) -> None:
    """Scoped to the regions a flow acts in (a share into another region acts in both), it runs; a share
    into another region under a policy of one region only is refused."""
    with EmulatedAWS() as aws:
        regions = (aws.region, WEST) if "cross-region" in flow else (aws.region,)
        FLOWS[flow](Run(aws, region=regions))
    if "cross-region" in flow:
        with EmulatedAWS() as aws, pytest.raises(RdsShareError, match=r"(?i)not authorized|denied"):
            FLOWS[flow](Run(aws, region=(aws.region,)))
