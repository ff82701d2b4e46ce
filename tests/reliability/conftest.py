"""Collects the fault matrix (operations x faults, pass/fail) and prints it after the run."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from rdsshare import set_testing

MATRIX: dict[tuple[str, str], str] = {}


@pytest.fixture
def matrix() -> dict[tuple[str, str], str]:
    return MATRIX


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not MATRIX:
        return
    faults = sorted({f for _, f in MATRIX})
    operations = sorted({o for o, _ in MATRIX})
    lines = ["| operation | " + " | ".join(faults) + " |", "|---|" + "---|" * len(faults)]
    for op in operations:
        lines.append(f"| {op} | " + " | ".join(MATRIX.get((op, f), "n/a") for f in faults) + " |")
    passed = sum(1 for v in MATRIX.values() if v == "pass")
    summary = f"fault matrix: {passed}/{len(MATRIX)} cells pass"
    terminalreporter.write_sep("-", summary)
    for line in lines:
        terminalreporter.write_line(line)
    out = os.environ.get("RDSSHARE_FAULT_MATRIX")
    if out:
        Path(out).write_text(summary + "\n\n" + "\n".join(lines) + "\n", encoding="utf-8")


@pytest.fixture
def instant_retries(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Keep botocore's retries and rdsshare's waits, without their sleeps."""
    monkeypatch.setattr("botocore.retries.standard.ExponentialBackoff.delay_amount", lambda self, context: 0.0)
    with set_testing():
        yield
