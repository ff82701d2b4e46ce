"""Shared pieces of the benchmarks: a thread-safe test bed, sessions, an event timeline."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from rdsshare import AccountSession, Event, StepFinished, StepStarted
from rdsshare.testing import EmulatedAWS, RecordedCall

SOURCE = "111111111111"
TARGET = "222222222222"
REGION = "us-east-1"

#: Steps that end with a wait for an AWS operation (and whose calls are: the request, then polls).
WAIT_STEPS = ("snapshot", "copy", "restore", "instances", "secret", "backup")


@contextlib.contextmanager
def server_bed(**kwargs: Any) -> Iterator[EmulatedAWS]:
    """A server-mode test bed (clients talk HTTP to moto on 127.0.0.1); it serves threads one at a time."""
    with EmulatedAWS(server=True, region=REGION, **kwargs) as aws:
        yield aws


def seed_snapshots(aws: EmulatedAWS, count: int, width: int = 2) -> list[str]:
    """``count`` source clusters ``db00``.. with a finished manual snapshot each (``db00-1``..): their ids."""
    rds = aws.client(SOURCE, "rds")
    names = []
    for i in range(count):
        cluster = f"db{i:0{width}d}"
        aws.create_cluster(SOURCE, cluster, instances=0)
        rds.create_db_cluster_snapshot(DBClusterIdentifier=cluster, DBClusterSnapshotIdentifier=f"{cluster}-1")
        names.append(f"{cluster}-1")
    aws.finish_pending()
    return names


def sessions(aws: EmulatedAWS) -> tuple[AccountSession, AccountSession]:
    """(source, target) sessions of the two benchmark accounts."""
    return (
        AccountSession(aws.session(SOURCE), endpoint_url=aws.endpoint_url),
        AccountSession(aws.session(TARGET), endpoint_url=aws.endpoint_url),
    )


@dataclass(frozen=True)
class Mark:
    """One event, when it happened and how many calls the test bed had served by then."""

    at: float
    calls: int
    event: Event


@dataclass(frozen=True)
class Wait:
    """One step that waited for AWS: its duration, its calls, its describes (polls)."""

    step: str
    seconds: float
    calls: tuple[RecordedCall, ...]

    @property
    def polls(self) -> int:
        return sum(1 for c in self.calls if c.operation.startswith("Describe"))


@dataclass
class Timeline:
    """An ``on_event`` hook that timestamps every event against the test bed's call record."""

    aws: EmulatedAWS
    marks: list[Mark] = field(default_factory=list)

    def __call__(self, event: Event) -> None:
        self.marks.append(Mark(time.monotonic(), len(self.aws.calls), event))

    def waits(self) -> list[Wait]:
        """Every wait step, from its first StepStarted to its StepFinished."""
        calls = self.aws.calls
        out: list[Wait] = []
        for step in WAIT_STEPS:
            starts = [m for m in self.marks if m.event.step == step and isinstance(m.event, StepStarted)]
            ends = [m for m in self.marks if m.event.step == step and isinstance(m.event, StepFinished)]
            if starts and ends:
                first, last = starts[0], ends[-1]
                out.append(Wait(step, last.at - first.at, tuple(calls[first.calls : last.calls])))
        return out
