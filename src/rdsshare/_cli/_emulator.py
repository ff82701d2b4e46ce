"""``rdsshare emulator``: run the emulated two-account AWS until interrupted (see rdsshare.testing._emulator)."""

from __future__ import annotations

import argparse
import signal
import time
from pathlib import Path
from typing import Any

from .._errors import InputError
from ._commands import EXIT_OK
from ._output import Reporter

__all__ = ["cmd_emulator"]


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def cmd_emulator(args: argparse.Namespace, out: Reporter) -> int:
    try:
        from ..testing._emulator import serve
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise InputError(
            f"the emulator needs the testing extra ({exc})", step="emulator", fix="pip install 'rdsshare[testing,cli]'"
        ) from exc

    def ready(info: Any) -> None:
        out.json_object(
            "Emulator",
            {
                "endpoint_url": info.endpoint_url,
                "region": info.region,
                "config_file": str(info.config_file),
                "credentials_file": str(info.credentials_file),
                "profiles": ["rdsshare-source", "rdsshare-target"],
                "restore_flags": info.restore_flags,
            },
        )
        out.print(f"Emulated AWS on {info.endpoint_url} ({info.region}); profiles rdsshare-source (111111111111)")
        out.print("and rdsshare-target (222222222222). In another shell:\n")
        for line in info.export_lines():
            out.print(f"  {line}")
        out.print("  aws --profile rdsshare-source rds describe-db-clusters")
        if info.restore_flags:
            out.print(
                "  rdsshare share --cluster example-db --source-profile rdsshare-source --target-profile "
                f"rdsshare-target --restore-cluster example-db-2 {' '.join(info.restore_flags)}"
            )
        out.print("\nPress Ctrl-C to stop (everything in it is forgotten).")

    def wait() -> None:
        # Stop on Ctrl-C, ``kill -INT`` or ``kill`` (SIGTERM), also when started in the background of a
        # script, where the shell makes the process ignore SIGINT.
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, _interrupt)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            out.print("Stopped.")

    serve(
        directory=Path(args.dir).resolve(),
        region=args.region,
        seed=args.seed,
        operation_seconds=args.operation_seconds,
        ready=ready,
        wait=wait,
    )
    return EXIT_OK
