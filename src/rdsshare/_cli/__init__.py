"""The ``rdsshare`` command. The library never prints; this package does.

Output goes to stdout in one of three forms: live progress rows on a terminal (with the ``cli``
extra, which adds rich), plain timestamped lines otherwise, or with ``--json`` one JSON object per
line (every event, then one final ``Result``, ``Plan`` or ``CleanupReport`` object, or ``Error``).
Errors also go to stderr as one line with the AWS error code and the fix; ``--debug`` adds the
traceback. Exit codes: 0 done, 1 AWS refused something or a wait failed, 2 bad input, a name
conflict or a failed preflight (nothing was changed), 130 interrupted (rerun to resume).

The modules: ``_parser`` (the arguments), ``_commands`` (one function per command), ``_output``
(the ``Reporter`` base class and what the output modes share) and one reporter per mode:
``_json``, ``_plain`` and ``_live`` (rich, imported only when that reporter is used). This module
runs a command and turns its errors into a message and an exit code.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
import traceback
from collections.abc import Callable, Sequence
from typing import Any, TextIO, cast

import attrs

from .._errors import ConflictError, InputError, PreflightError, RdsShareError
from ._commands import EXIT_AWS, EXIT_INPUT, EXIT_INTERRUPTED
from ._commands import EXIT_OK as EXIT_OK
from ._output import Reporter, make_reporter, one_line, output_mode
from ._parser import build_parser
from ._streams import SafeStream, quiet_closed_streams

__all__ = ["build_parser", "main", "run"]


# -- errors ---------------------------------------------------------------------------------------
def _classify(exc: BaseException) -> tuple[int, list[str]]:
    """The exit code and the message lines for an error (the first line is the one-line summary)."""
    from botocore import exceptions as bce

    if isinstance(exc, PreflightError):
        lines = [f"preflight found {len(exc.problems)} problem(s); nothing was changed:"]
        return EXIT_INPUT, lines + [f"  - {one_line(str(p))}" for p in exc.problems]
    if isinstance(exc, InputError | ConflictError):
        return EXIT_INPUT, [one_line(str(exc)) + ("" if exc.fix else ". Fix: correct the arguments (see --help)")]
    if isinstance(exc, RdsShareError):
        fix = (
            "" if exc.fix else ". Fix: correct what AWS names, then rerun the same command: it resumes where it stopped"
        )
        return EXIT_AWS, [one_line(str(exc)) + fix]
    if isinstance(exc, bce.ProfileNotFound):
        return EXIT_INPUT, [f"{one_line(str(exc))}. Fix: check the name in ~/.aws/config (aws configure list-profiles)"]
    if isinstance(exc, bce.NoRegionError):
        return EXIT_INPUT, ["no region. Fix: pass --region, or set it in the profile or AWS_REGION"]
    if isinstance(exc, bce.NoCredentialsError | bce.PartialCredentialsError):
        return EXIT_INPUT, [f"{one_line(str(exc))}. Fix: pass --source-profile/--target-profile or the -role flags"]
    if isinstance(exc, bce.ClientError):
        error = exc.response.get("Error", {})
        code, message = error.get("Code", "?"), error.get("Message", "")
        return EXIT_AWS, [
            one_line(
                f"AWS refused {exc.operation_name}: {message} [code={code}]. Fix: check the permissions "
                "and resources named in the message, then rerun the same command to resume"
            )
        ]
    if isinstance(exc, bce.BotoCoreError):
        return EXIT_AWS, [f"{one_line(str(exc))}. Fix: check the network, the region and the credentials; then rerun"]
    return EXIT_AWS, [
        f"unexpected {type(exc).__name__}: {one_line(str(exc))}. Fix: rerun with --debug for the traceback and "
        "report it; a rerun resumes where this one stopped"
    ]


def _error_json(exc: BaseException, code: int, lines: list[str]) -> dict[str, Any]:
    data: dict[str, Any] = {"exit_code": code, "type": type(exc).__name__, "message": lines[0]}
    if isinstance(exc, RdsShareError):
        data.update(
            step=exc.step,
            account_id=exc.account_id,
            resource=exc.resource,
            error_code=exc.error_code,
            fix=exc.fix,
            message=exc.message,
        )
    if isinstance(exc, PreflightError):
        data["problems"] = [attrs.asdict(p) for p in exc.problems]
    return data


@contextlib.contextmanager
def _debug_logging(enabled: bool, stream: TextIO) -> Any:
    if not enabled:
        yield
        return
    logger = logging.getLogger("rdsshare")
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)


def main(argv: Sequence[str] | None = None, *, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    """Run the command line; returns the exit code (usage errors: 2)."""
    # A reader that goes away (``| head -1``) drops the output, never the work (see _streams).
    stdout = cast("TextIO", SafeStream(stdout or sys.stdout, "stdout"))
    stderr = cast("TextIO", SafeStream(stderr or sys.stderr, "stderr"))
    parser = build_parser()
    try:
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, usage errors
        return exc.code if isinstance(exc.code, int) else EXIT_INPUT
    func: Callable[[argparse.Namespace, Reporter], int] = args.func
    out = make_reporter(output_mode(args, stdout), stdout, quiet=getattr(args, "quiet", False))
    with _debug_logging(args.debug, stderr):
        try:
            with out:
                return func(args, out)
        except KeyboardInterrupt:
            hint = "" if args.command == "demo" else "; rerun the same command to resume where it stopped"
            print(f"rdsshare: interrupted{hint}", file=stderr, flush=True)
            out.json_object(
                "Error", {"exit_code": EXIT_INTERRUPTED, "type": "KeyboardInterrupt", "message": "interrupted"}
            )
            return EXIT_INTERRUPTED
        except Exception as exc:
            code, lines = _classify(exc)
            if args.debug:
                traceback.print_exception(type(exc), exc, exc.__traceback__, file=stderr)
            print(f"rdsshare: error: {lines[0]}", file=stderr, flush=True)
            for line in lines[1:]:
                print(line, file=stderr, flush=True)
            out.json_object("Error", _error_json(exc, code, lines))
            return code


def run() -> None:
    """Console-script entry point."""
    code = main()
    quiet_closed_streams()
    sys.exit(code)
