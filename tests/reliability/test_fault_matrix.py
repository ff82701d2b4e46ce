"""Fault matrix: every AWS operation of the cluster flow, under every fault, ends like a clean run.

Faults: the service's own throttling code twice in a row, a 500 internal failure, a dropped
connection (the server acts, the response is lost, so the retry meets the side effect), and for
KMS a ``NotFoundException`` right after a key is created or its policy changed (and RDS's
``KMSKeyNotAccessibleFault`` while a new key policy propagates) [KMS-EC].
"""

from __future__ import annotations

from typing import Any

import pytest

from rdsshare import (
    AwsError,
    ClusterRestoreSpec,
    Event,
    InputError,
    PreflightError,
    Retrying,
    StepProgress,
    share_cluster_snapshot,
)
from rdsshare.testing import EmulatedAWS, Fault

from ..accounts import SOURCE
from ..flow.helpers import restore_spec, sessions
from .state import fingerprint

# Every operation a clean default-key run makes (checked by test_operation_list_is_complete).
OPERATIONS = [
    ("sts", "GetCallerIdentity"),
    ("iam", "GetRole"),  # the role's ARN, to name it as the share key's manager
    ("rds", "DescribeDBClusters"),
    ("rds", "DescribeDBClusterSnapshots"),
    ("kms", "DescribeKey"),
    ("rds", "DescribeAccountAttributes"),
    ("rds", "DescribeDBEngineVersions"),
    ("rds", "DescribeOrderableDBInstanceOptions"),
    ("rds", "DescribeDBSubnetGroups"),
    ("ec2", "DescribeSecurityGroups"),
    ("rds", "CreateDBClusterSnapshot"),
    ("kms", "CreateKey"),
    ("kms", "CreateAlias"),
    ("rds", "CopyDBClusterSnapshot"),
    ("rds", "ModifyDBClusterSnapshotAttribute"),
    ("rds", "RestoreDBClusterFromSnapshot"),
    ("rds", "DescribeDBInstances"),
    ("rds", "CreateDBInstance"),
    ("rds", "ModifyDBCluster"),
]
THROTTLE = {"rds": "Throttling", "sts": "Throttling", "ec2": "RequestLimitExceeded", "kms": "ThrottlingException"}
FAULTS: dict[str, dict[str, Any]] = {
    "throttle-x2": {"times": 2, "status": 400},
    "internal-500": {"code": "InternalFailure", "times": 1, "status": 500},
    "dropped-connection": {"code": "InternalFailure", "times": 1, "status": 500, "after": True},
}
# KMS propagation: right after CreateKey, the key may be "not found" to the next calls.
PROPAGATION = [
    ("kms", "CreateAlias", "NotFoundException"),
    ("rds", "RestoreDBClusterFromSnapshot", "KMSKeyNotAccessibleFault"),
]

_BASELINE: dict[str, Any] = {}


pytestmark = pytest.mark.usefixtures("instant_retries")


def _seed(aws: EmulatedAWS) -> ClusterRestoreSpec:
    aws.create_cluster(SOURCE, "example-db")
    return restore_spec(aws)


def _run(aws: EmulatedAWS, spec: ClusterRestoreSpec) -> None:
    source, target = sessions(aws)
    share_cluster_snapshot(source=source, target=target, cluster_id="example-db", restore=spec)


def _baseline() -> dict[str, Any]:
    if not _BASELINE:
        with EmulatedAWS() as aws:
            _run(aws, _seed(aws))
            _BASELINE.update(fingerprint(aws))
    return _BASELINE


def test_operation_list_is_complete() -> None:
    with EmulatedAWS() as aws:
        spec = _seed(aws)
        aws.clear_calls()
        _run(aws, spec)
        seen = {(c.service, c.operation) for c in aws.calls}
    assert seen == set(OPERATIONS)


def test_two_clean_runs_have_equal_fingerprints() -> None:
    expected = _baseline()
    with EmulatedAWS() as aws:
        _run(aws, _seed(aws))
        assert fingerprint(aws) == expected


@pytest.mark.parametrize("fault", sorted(FAULTS))
@pytest.mark.parametrize(("service", "operation"), OPERATIONS, ids=[f"{s}:{o}" for s, o in OPERATIONS])
def test_fault_matrix(service: str, operation: str, fault: str, matrix: dict[tuple[str, str], str]) -> None:
    spec = dict(FAULTS[fault])
    code = spec.pop("code", THROTTLE.get(service, "ThrottlingException"))
    expected = _baseline()
    result = "fail"
    try:
        with EmulatedAWS() as aws:
            restore = _seed(aws)
            injected = aws.inject_fault(service, operation, code, **spec)
            _run(aws, restore)
            assert injected.hits >= 1, "the fault never fired"
            assert fingerprint(aws) == expected
        result = "pass"
    finally:
        matrix[(f"{service}:{operation}", fault)] = result


@pytest.mark.parametrize(("service", "operation", "code"), PROPAGATION, ids=[f"{s}:{o}" for s, o, _ in PROPAGATION])
def test_key_propagation(service: str, operation: str, code: str, matrix: dict[tuple[str, str], str]) -> None:
    expected = _baseline()
    result = "fail"
    try:
        with EmulatedAWS() as aws:
            restore = _seed(aws)
            injected = aws.inject_fault(service, operation, code, times=2)
            _run(aws, restore)
            assert injected.hits == 2
            assert fingerprint(aws) == expected
        result = "pass"
    finally:
        matrix[(f"{service}:{operation}", "kms-propagation")] = result


@pytest.mark.parametrize("step", ["snapshot", "copy", "restore", "instances"])
def test_polls_botocore_gave_up_on_are_retried_within_the_wait(step: str) -> None:
    """Throttling past botocore's six attempts while a wait polls is retried, not a failed run."""
    expected = _baseline()
    with EmulatedAWS() as aws:
        spec = _seed(aws)
        aws.operation_seconds = 0.05
        describe = {
            "snapshot": "DescribeDBClusterSnapshots",
            "copy": "DescribeDBClusterSnapshots",
            "restore": "DescribeDBClusters",
            "instances": "DescribeDBInstances",
        }[step]
        faults: list[Fault] = []
        retries: list[Retrying] = []

        def hook(event: Event) -> None:
            if isinstance(event, StepProgress) and event.step == step and not faults:
                faults.append(aws.inject_fault("rds", describe, "Throttling", times=8))
            if isinstance(event, Retrying):
                retries.append(event)

        source, target = sessions(aws)
        share_cluster_snapshot(source=source, target=target, cluster_id="example-db", restore=spec, on_event=hook)
        assert len(faults) == 1
        assert faults[0].hits == 8
        assert any(r.step == step and r.error_code == "Throttling" for r in retries)
        assert fingerprint(aws) == expected


@pytest.mark.server
def test_faults_over_http(matrix: dict[tuple[str, str], str]) -> None:
    """A sample of the matrix through a real HTTP server: throttling, 500 and a lost response."""
    expected = _baseline()
    with EmulatedAWS(server=True) as aws:
        restore = _seed(aws)
        aws.inject_fault("rds", "CopyDBClusterSnapshot", "Throttling", times=2)
        aws.inject_fault("kms", "CreateKey", "InternalFailure", status=500, after=True)
        aws.inject_fault("rds", "CreateDBInstance", "InternalFailure", status=500, after=True)
        _run(aws, restore)
        assert fingerprint(aws) == expected


@pytest.mark.parametrize(
    ("service", "operation", "code"),
    [
        ("rds", "DescribeDBClusters", "Throttling"),
        ("kms", "DescribeKey", "ThrottlingException"),
        ("ec2", "DescribeSecurityGroups", "RequestLimitExceeded"),
        ("rds", "DescribeDBSubnetGroups", "InternalFailure"),
    ],
)
def test_throttling_in_preflight_is_a_retryable_aws_error_not_a_problem(
    service: str, operation: str, code: str
) -> None:
    """Past botocore's six attempts, preflight raises AwsError (exit 1, rerun), never bad input."""
    with EmulatedAWS() as aws:
        spec = _seed(aws)
        aws.inject_fault(service, operation, code, times=12, status=500 if code == "InternalFailure" else 400)
        source, target = sessions(aws)
        aws.clear_calls()
        with pytest.raises(AwsError) as info:
            share_cluster_snapshot(source=source, target=target, cluster_id="example-db", restore=spec)
        assert not isinstance(info.value, PreflightError)
        assert info.value.error_code == code
        assert not isinstance(info.value, InputError)
        assert info.value.step in ("preflight", "source-key")  # the check that read it
        assert [c for c in aws.calls if not c.operation.startswith(("Describe", "List", "Get"))] == []
