"""Cleanup under lost responses: AWS acted, the client never heard, botocore's retry meets the result.

For every call cleanup makes that changes something, the first response is lost (a 500 after the
server acted). The retry then finds the snapshot deleted, the alias gone, the key already pending
deletion, the database already being deleted: cleanup must count that as done and end in the same
state as a cleanup that heard every answer. Any other refusal is a typed error, never a raw
``ClientError``.
"""

from __future__ import annotations

import functools
import json
import re
from typing import Any

import pytest
from botocore.exceptions import ClientError

from rdsshare import RdsShareError, cleanup, share_cluster_snapshot
from rdsshare.testing import EmulatedAWS

from ..accounts import SOURCE
from ..flow.helpers import restore_spec, sessions
from .state import fingerprint

#: Every call a full cleanup (with the restored database) makes that changes something.
WRITES = [
    ("rds", "ModifyDBClusterSnapshotAttribute"),
    ("rds", "DeleteDBClusterSnapshot"),
    ("kms", "PutKeyPolicy"),
    ("kms", "DeleteAlias"),
    ("kms", "ScheduleKeyDeletion"),
    ("rds", "DeleteDBInstance"),
    ("rds", "DeleteDBCluster"),
]


pytestmark = pytest.mark.usefixtures("instant_retries")


def _ran(aws: EmulatedAWS) -> Any:
    aws.create_cluster(SOURCE, "example-db")
    source, target = sessions(aws)
    result = share_cluster_snapshot(source=source, target=target, cluster_id="example-db", restore=restore_spec(aws))
    assert result.manifest is not None
    return result.manifest


def _clean(aws: EmulatedAWS, manifest: Any) -> Any:
    source, target = sessions(aws)
    return cleanup(manifest, source=source, target=target, delete_restored_cluster=True, key_pending_window_days=7)


def _state(aws: EmulatedAWS) -> str:
    """The fingerprint, with the run token in the final snapshot's name made stable."""
    return re.sub(r"-final-[0-9a-f]{8}", "-final-TOKEN", json.dumps(fingerprint(aws), sort_keys=True, default=str))


@functools.cache
def _baseline() -> tuple[str, list[tuple[str, str]]]:
    """A cleanup that heard every answer: its end state and actions (made once, for every case)."""
    with EmulatedAWS() as aws:
        report = _clean(aws, _ran(aws))
        return _state(aws), sorted((a.action, a.status) for a in report.actions)


def test_the_write_list_is_complete() -> None:
    with EmulatedAWS() as aws:
        manifest = _ran(aws)
        aws.clear_calls()
        _clean(aws, manifest)
        writes = {
            (c.service, c.operation) for c in aws.calls if not c.operation.startswith(("Describe", "List", "Get"))
        }
    assert writes == set(WRITES)


@pytest.mark.parametrize(("service", "operation"), WRITES, ids=[op for _, op in WRITES])
def test_a_lost_response_counts_as_done(service: str, operation: str) -> None:
    expected_state, expected_actions = _baseline()
    with EmulatedAWS() as aws:
        manifest = _ran(aws)
        fault = aws.inject_fault(service, operation, "InternalFailure", status=500, after=True)
        report = _clean(aws, manifest)
        assert fault.hits == 1
        assert sorted((a.action, a.status) for a in report.actions) == expected_actions
        assert _state(aws) == expected_state
        again = _clean(aws, manifest)
        assert {a.status for a in again.actions} <= {"gone", "kept"}


@pytest.mark.parametrize(("service", "operation"), WRITES, ids=[op for _, op in WRITES])
def test_a_refusal_is_a_typed_error(service: str, operation: str) -> None:
    code = "AccessDeniedException" if service == "kms" else "AccessDenied"
    with EmulatedAWS() as aws:
        manifest = _ran(aws)
        aws.inject_fault(service, operation, code, status=403)
        with pytest.raises(RdsShareError) as info:
            _clean(aws, manifest)
        assert not isinstance(info.value, ClientError)
        assert info.value.error_code == code
        assert info.value.step == "cleanup"
        assert isinstance(info.value.__cause__, ClientError)
