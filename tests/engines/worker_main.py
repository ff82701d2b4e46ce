"""A Temporal worker process for the crash test: ``python -m tests.engines.worker_main ADDRESS QUEUE``.

Its credentials come from its environment (the AWS profiles the test writes), as a real worker's do.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from ..accounts import SOURCE, TARGET

PROFILES = {SOURCE: "rdsshare-source", TARGET: "rdsshare-target"}
ROOT = Path(__file__).resolve().parents[2]


def spawn(address: str, task_queue: str, *, env: Mapping[str, str]) -> subprocess.Popen[str]:
    """Start a worker process (its AWS profiles from ``env``) and return once it polls the task queue."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.engines.worker_main", address, task_queue],
        cwd=ROOT,
        env=dict(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    return proc


async def main(address: str, task_queue: str) -> None:
    from temporalio.client import Client

    from rdsshare.temporal import new_worker, profile_sessions

    client = await Client.connect(address)
    worker = new_worker(client, profile_sessions(PROFILES), task_queue=task_queue)
    async with worker:
        print("ready", flush=True)
        await asyncio.Event().wait()  # until killed


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
