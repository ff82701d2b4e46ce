"""A Temporal worker process for the crash test: ``python -m tests.engines.worker_main ADDRESS QUEUE``.

Its credentials come from its environment (the AWS profiles the test writes), as a real worker's do.
"""

from __future__ import annotations

import asyncio
import sys

from ..accounts import SOURCE, TARGET

PROFILES = {SOURCE: "rdsshare-source", TARGET: "rdsshare-target"}


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
