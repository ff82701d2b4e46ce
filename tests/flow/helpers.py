"""Shared helpers for flow tests: sessions and a restore spec on the test bed."""

from __future__ import annotations

from typing import Any

from rdsshare import AccountSession, ClusterRestoreSpec
from rdsshare.testing import EmulatedAWS

from ..accounts import SOURCE, TARGET

MUTATING_PREFIXES = (
    "Create",
    "Copy",
    "Modify",
    "Restore",
    "Delete",
    "Put",
    "Add",
    "Remove",
    "Schedule",
    "Tag",
    "Untag",
    "Enable",
    "Disable",
    "Update",
    "Start",
    "Stop",
    "Reboot",
    "Revoke",
    "Retire",
    "Cancel",
)


def sessions(aws: EmulatedAWS) -> tuple[AccountSession, AccountSession]:
    """(source, target) AccountSessions acting as the two test accounts."""
    return (
        AccountSession(aws.session(SOURCE), endpoint_url=aws.endpoint_url),
        AccountSession(aws.session(TARGET), endpoint_url=aws.endpoint_url),
    )


def restore_spec(aws: EmulatedAWS, **overrides: Any) -> ClusterRestoreSpec:
    """A restore spec on a fresh target network."""
    net = aws.create_network(TARGET, "example-db-2")
    kwargs: dict[str, Any] = {
        "cluster_id": "example-db-2",
        "instance_class": "db.t3.medium",
        "subnet_group": net.subnet_group,
        "security_group_ids": [net.security_group_id],
    }
    kwargs.update(overrides)
    return ClusterRestoreSpec(**kwargs)


def mutating_calls(aws: EmulatedAWS, account: str | None = None) -> list[str]:
    """Operations served by the test bed that change something (optionally in one account)."""
    return [
        f"{c.service}:{c.operation}"
        for c in aws.calls
        if c.operation.startswith(MUTATING_PREFIXES)
        and c.service != "sts"
        and (account is None or c.account_id == account)
    ]
