"""Follow a long share: an ``on_event`` hook, one line per event, and a wait policy."""

from __future__ import annotations

import sys
from collections import Counter
from datetime import timedelta
from typing import TextIO

from rdsshare import (
    AccountSession,
    ClusterRestoreSpec,
    Event,
    Retrying,
    ShareResult,
    StepFinished,
    StepProgress,
    StepSkipped,
    WaitPolicy,
    share_cluster_snapshot,
)


class ProgressLines:
    """An event hook is any callable that takes one event.

    Events carry ids, ARNs, states and numbers, never secrets.
    """

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.outcomes: Counter[str] = Counter()

    def __call__(self, event: Event) -> None:
        if isinstance(event, StepProgress):
            percent = f" {event.percent}%" if event.percent is not None else ""
            seconds = f"{event.elapsed_seconds:.0f}s"
            line = f"{event.resource}: {event.status}{percent} after {seconds}"
        elif isinstance(event, Retrying):
            wait = f"{event.wait_seconds:.0f}s"
            line = f"{event.error_code}, retry {event.attempt} in {wait}"
        elif isinstance(event, StepFinished):
            self.outcomes[event.outcome] += 1
            line = f"{event.outcome} {event.arn or event.resource}"
        elif isinstance(event, StepSkipped):
            line = f"skipped: {event.reason}"
        else:  # StepStarted, and event types added later
            line = event.message
        self.stream.write(f"[{event.account_id}] {event.step:<11} {line}\n")


#: Give up on one wait after 6 hours (default 24); poll at least once a minute.
#: A wait that gives up leaves AWS working: the same call later resumes it.
PATIENT = WaitPolicy(timeout=timedelta(hours=6), max_interval_seconds=60)


def share_with_progress(
    source: AccountSession,
    target: AccountSession,
    restore: ClusterRestoreSpec,
    *,
    stream: TextIO = sys.stderr,
    wait: WaitPolicy = PATIENT,
) -> ShareResult:
    """Run the whole flow and report each step to ``stream``."""
    progress = ProgressLines(stream)
    result = share_cluster_snapshot(
        source=source,
        target=target,
        cluster_id="example-db",
        restore=restore,
        on_event=progress,
        wait=wait,
    )
    stream.write(f"done: {dict(progress.outcomes)}\n")
    return result


if __name__ == "__main__":
    share_with_progress(
        AccountSession.from_profile("sandbox-1", region="ap-northeast-1"),
        AccountSession.from_profile("sandbox-2", region="ap-northeast-1"),
        ClusterRestoreSpec(
            cluster_id="example-db-2",
            instance_class="db.r6g.large",
            subnet_group="example-db-2",
        ),
    )
