"""Refresh staging from production every night, keeping staging's name and endpoints.

Run it from cron, a CI schedule or any scheduler. Each night is a new run: its restore is made beside
last night's database (``staging-next-<run>``), the names are swapped once it is ready, and last
night's database is kept as a final snapshot (``staging-replaced-<run>``) and deleted. Keep the job
state while it runs: if the process dies, ``--resume`` continues the same run, swap included.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

from rdsshare import AccountSession, ClusterRestoreSpec, ShareJob, ShareResult

STAGING = ClusterRestoreSpec(
    cluster_id="staging",
    instance_class="db.r6g.large",
    subnet_group="staging",
    security_group_ids=["sg-0123456789abcdef0"],
    deletion_protection=False,  # production's protection is not carried: the next night replaces it
    replace=True,
)


def refresh(
    source: AccountSession,
    target: AccountSession,
    *,
    state_file: Path,
    restore: ClusterRestoreSpec = STAGING,
    cluster_id: str = "production",
    sleep: Callable[[float], None] = time.sleep,
) -> ShareResult:
    """Tonight's refresh: continue the run in ``state_file`` if one is there, else start one."""
    if state_file.exists():
        job = ShareJob.from_json(state_file.read_text(), source=source, target=target)
    else:
        job = ShareJob.start(source=source, target=target, cluster_id=cluster_id, restore=restore)
    while not (step := job.advance()).done:
        state_file.write_text(job.to_json())  # saved before each wait: what a resumed run starts from
        sleep(step.wait_seconds)
    state_file.unlink(missing_ok=True)
    return job.result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--state", type=Path, default=Path("staging-refresh.json"))
    args = parser.parse_args()
    done = refresh(
        AccountSession.from_profile("production", region="eu-west-1"),
        AccountSession.from_profile("staging", region="eu-west-1"),
        state_file=args.state,
    )
    sys.stdout.write(f"{done.target_cluster_arn} (replaced: {done.targets[0].replaced_arn})\n")
