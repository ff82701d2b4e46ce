"""Comparison 4: ``import rdsshare`` against ``import boto3`` alone, in fresh interpreters.

Each run is a new ``python -c`` that times only the import statement (``time.perf_counter``), so
interpreter start-up, the same for both, does not dilute the ratio. Runs alternate between the
two and the median of each is kept. Two set-ups:

* *installed*: bytecode cached (a wheel install compiles it; here ``PYTHONPYCACHEPREFIX`` points at
  a scratch directory, warmed by one run first);
* *no bytecode cache*: ``PYTHONDONTWRITEBYTECODE=1`` and no cache for rdsshare's own sources, as in
  an editable install whose environment forbids writing ``__pycache__`` (boto3's site-packages
  bytecode is still there): the sources are compiled on every import.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass

STATEMENTS = {
    "import boto3": "import boto3",
    "import rdsshare": "import rdsshare",
    "from rdsshare import share_cluster_snapshot, AccountSession": (
        "from rdsshare import share_cluster_snapshot, AccountSession"
    ),
}


FULL = "from rdsshare import share_cluster_snapshot, AccountSession"


@dataclass(frozen=True)
class ImportTimes:
    """Median milliseconds per statement, and the median per-round ratio to ``import boto3``, in one set-up.

    Each round times every statement once, back to back; the ratio is taken within a round (the
    machine's speed drifts between rounds by more than rdsshare's share) and its median kept.
    """

    setup: str
    runs: int
    median_ms: dict[str, float]
    ratios: dict[str, float]

    @property
    def ratio(self) -> float:
        """``import rdsshare`` over ``import boto3``."""
        return self.ratios["import rdsshare"]

    @property
    def worst_ratio(self) -> float:
        """The larger of ``import rdsshare`` and the usual from-import, over ``import boto3``."""
        return max(self.ratios["import rdsshare"], self.ratios[FULL])


def _once(statement: str, env: dict[str, str]) -> float:
    code = f"import time\nt = time.perf_counter()\n{statement}\nprint((time.perf_counter() - t) * 1000)"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return float(out.stdout.strip())


def measure(runs: int = 15) -> list[ImportTimes]:
    """Both set-ups."""
    results = []
    with tempfile.TemporaryDirectory(prefix="rdsshare-pyc-") as cache:
        installed = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        installed["PYTHONPYCACHEPREFIX"] = cache
        uncached = {k: v for k, v in os.environ.items() if k != "PYTHONPYCACHEPREFIX"}
        uncached["PYTHONDONTWRITEBYTECODE"] = "1"
        for setup, env in (("installed (bytecode cached)", installed), ("no bytecode cache", uncached)):
            for statement in STATEMENTS.values():
                _once(statement, env)  # warm the OS file cache (and the bytecode cache)
            samples: dict[str, list[float]] = {name: [] for name in STATEMENTS}
            for _ in range(runs):
                for name, statement in STATEMENTS.items():
                    samples[name].append(_once(statement, env))
            ratios = {
                name: statistics.median(a / b for a, b in zip(values, samples["import boto3"], strict=True))
                for name, values in samples.items()
            }
            results.append(
                ImportTimes(setup, runs, {name: statistics.median(values) for name, values in samples.items()}, ratios)
            )
    return results


def extra_modules(top: int = 8) -> list[tuple[str, float]]:
    """What ``from rdsshare import share_cluster_snapshot, AccountSession`` imports beyond boto3, by self
    time (``-X importtime``), bytecode cached. (``import rdsshare`` alone loads nothing until a name is used.)"""

    def selftimes(module: str, env: dict[str, str]) -> dict[str, int]:
        statement = FULL if module == "rdsshare" else f"import {module}"
        err = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", statement],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stderr
        times: dict[str, int] = {}
        for line in err.splitlines():
            if line.startswith("import time:") and "self [us]" not in line:
                self_us, _cumulative, name = line[len("import time:") :].split("|")
                times[name.strip()] = int(self_us)
        return times

    with tempfile.TemporaryDirectory(prefix="rdsshare-pyc-") as cache:
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["PYTHONPYCACHEPREFIX"] = cache
        selftimes("rdsshare", env)
        runs: list[dict[str, float]] = []
        for _ in range(5):
            base = selftimes("boto3", env)
            groups: dict[str, float] = {}
            for name, us in selftimes("rdsshare", env).items():
                if name not in base:
                    group = name if name.startswith("rdsshare") else name.split(".")[0]
                    groups[group] = groups.get(group, 0.0) + us / 1000
            runs.append(groups)
    names = {name for groups in runs for name in groups}
    medians = {name: statistics.median(groups.get(name, 0.0) for groups in runs) for name in names}
    return sorted(medians.items(), key=lambda kv: -kv[1])[:top]
