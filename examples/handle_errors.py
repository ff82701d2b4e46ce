"""Turn an rdsshare failure into a report: where it happened and what to do."""

from __future__ import annotations

import logging
import sys

from rdsshare import (
    AccountSession,
    InputError,
    RdsShareError,
    WaitTimeoutError,
    share_cluster_snapshot,
)

_log = logging.getLogger("migration")


def explain(error: RdsShareError) -> str:
    """A report: the step, the account, the resource, the AWS error code, the fix."""
    lines = [f"rdsshare failed: {error.message}"]
    for label, value in (
        ("step", error.step),
        ("account", error.account_id),
        ("resource", error.resource),
        ("AWS error code", error.error_code),
        ("fix", error.fix),
    ):
        if value:
            lines.append(f"  {label:<15} {value}")
    if isinstance(error, WaitTimeoutError):
        lines.append("  AWS is still working on it: run the same call again to resume.")
    return "\n".join(lines)


def share(
    source: AccountSession,
    target: AccountSession,
    *,
    cluster_id: str,
    source_kms_key: str | None,
) -> int:
    """Exit status for a job runner: 0 done, 2 bad input, 1 anything AWS refused."""
    try:
        share_cluster_snapshot(
            source=source,
            target=target,
            cluster_id=cluster_id,
            source_kms_key=source_kms_key,
        )
    except InputError as error:  # raised before any change in either account
        _log.error("%s", explain(error))
        return 2
    except RdsShareError as error:
        _log.error("%s", explain(error))
        return 1
    return 0


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    sys.exit(
        share(
            AccountSession.from_profile("sandbox-1", region="ap-northeast-1"),
            AccountSession.from_profile("sandbox-2", region="ap-northeast-1"),
            cluster_id="example-db",
            source_kms_key="alias/team/rds-share",
        )
    )
