"""How the command shows progress: rich rows on a terminal, plain lines otherwise or without rich."""

from __future__ import annotations

import argparse
import io
import re
import sys
from datetime import datetime, timedelta

import pytest

from rdsshare import Retrying, StepFinished, StepProgress, StepSkipped, StepStarted
from rdsshare._cli._live import LiveReporter
from rdsshare._cli._output import make_reporter, output_mode
from rdsshare.testing import Network

from ..accounts import SOURCE, TARGET
from .conftest import Cli, restore_args

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


class Terminal(io.StringIO):
    """A stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def args(*flags: str) -> argparse.Namespace:
    return argparse.Namespace(json="--json" in flags, plain="--plain" in flags, debug="--debug" in flags)


def test_output_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TERM", raising=False)
    assert output_mode(args(), Terminal()) == "rich"
    assert output_mode(args(), io.StringIO()) == "plain"
    assert output_mode(args("--json"), Terminal()) == "json"
    assert output_mode(args("--plain"), Terminal()) == "plain"
    assert output_mode(args("--debug"), Terminal()) == "plain"
    monkeypatch.setenv("TERM", "dumb")
    assert output_mode(args(), Terminal()) == "plain"


def test_without_rich_a_terminal_gets_plain_lines(
    cli: Cli, target_net: Network, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TERM", raising=False)
    monkeypatch.setitem(sys.modules, "rich", None)  # import rich -> ImportError
    assert output_mode(args(), Terminal()) == "plain"
    from rdsshare._cli import main

    out, err = Terminal(), io.StringIO()
    code = main(["share", "--cluster", "example-db", *cli.accounts, *restore_args(target_net)], stdout=out, stderr=err)
    assert code == 0, err.getvalue()
    assert "] source snapshot: created arn:aws:rds:" in out.getvalue()
    assert "target cluster   arn:aws:rds:" in out.getvalue()


def test_rich_rows_one_per_step() -> None:
    stream = Terminal()
    reporter = make_reporter("rich", stream)
    assert isinstance(reporter, LiveReporter)
    reporter.sides.update({SOURCE: "source", TARGET: "target"})
    snap = "rdsshare-example-db-222222222222"
    events = [
        StepStarted(step="snapshot", account_id=SOURCE, resource=snap, action="create snapshot"),
        StepProgress(step="snapshot", account_id=SOURCE, resource=snap, status="creating", percent=40),
        StepFinished(step="snapshot", account_id=SOURCE, resource=snap, outcome="created", arn=f"arn:...:{snap}"),
        StepSkipped(step="copy", account_id=SOURCE, resource=snap, reason="snapshot can be shared as it is"),
        StepStarted(step="restore", account_id=TARGET, resource="example-db-2", action="restore cluster"),
        Retrying(
            step="restore",
            account_id=TARGET,
            resource="example-db-2",
            attempt=1,
            error_code="KMSKeyNotAccessibleFault",
            wait_seconds=2.0,
        ),
        StepFinished(step="restore", account_id=TARGET, resource="example-db-2", outcome="created"),
        StepStarted(step="instances", account_id=TARGET, resource="example-db-2-instance-1", action="create"),
        StepStarted(step="instances", account_id=TARGET, resource="example-db-2-instance-2", action="create"),
        StepProgress(step="instances", account_id=TARGET, resource="example-db-2", status="1/2 available"),
    ]

    def run_until_an_error() -> None:
        with reporter:
            for event in events:
                reporter(event)
                if isinstance(event, Retrying):
                    assert reporter._progress.tasks[-1].fields["status"] == "KMSKeyNotAccessibleFault: retry 1 in 2s"
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        run_until_an_error()
    rows = [
        (t.fields["step"], t.fields["side"], t.description, t.fields["state"], t.fields["status"], t.fields["pct"])
        for t in reporter._progress.tasks
    ]
    assert rows == [
        ("snapshot", "source", snap, "done", "created", ""),
        ("copy", "source", snap, "skipped", "skipped: snapshot can be shared as it is", ""),
        ("restore", "target", "example-db-2", "done", "created", ""),
        ("instances", "target", "example-db-2-instance-1 (+1)", "failed", "failed", "50%"),
    ]
    text = ANSI.sub("", stream.getvalue())
    for mark in ("✓ snapshot", "- copy", "✗ instances"):
        assert mark in text


def test_rich_share_plan_and_cleanup(cli: Cli, target_net: Network, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TERM", raising=False)
    from rdsshare._cli import main

    manifest = str(cli.tmp_path / "m.json")
    share = ["share", "--cluster", "example-db", *cli.accounts, *restore_args(target_net)]
    for argv in (
        [*share, "--dry-run"],
        [*share, "--manifest", manifest],
        ["cleanup", "--manifest", manifest, *cli.accounts, "--dry-run"],
    ):
        out, err = Terminal(), io.StringIO()
        assert main(argv, stdout=out, stderr=err) == 0, err.getvalue()
        assert err.getvalue() == ""
        text = out.getvalue()
        if "--dry-run" in argv and argv[0] == "share":
            assert "OK: a real run would start." in text
        elif argv[0] == "share":
            assert "✓" in text
            assert f"arn:aws:rds:us-east-1:{TARGET}:cluster:example-db-2" in text
            assert ":secret:rds!" in text  # not turned into an emoji
        else:
            assert "would" in text
            assert "delete-snapshot" in text


def test_json_lines_carry_a_utc_timestamp_and_the_run_name(cli: Cli, target_net: Network) -> None:
    out = cli(
        "--json", "share", "--cluster", "example-db", *cli.accounts, *restore_args(target_net), "--run-name", "n1"
    )
    assert out.code == 0, out.stderr
    lines = out.json_lines
    assert {line["run_name"] for line in lines} == {"n1"}
    for line in lines:
        stamp = datetime.fromisoformat(line["time"])
        assert stamp.utcoffset() == timedelta(0)
    assert lines[-1]["event"] == "Result"
    # Without --run-name the run is named after the target account, and the lines say so.
    again = cli("--json", "share", "--cluster", "example-db", *cli.accounts, "--dry-run")
    assert {line.get("run_name") for line in again.json_lines} == {TARGET}


def test_quiet_shows_only_what_a_command_ends_with(cli: Cli, target_net: Network) -> None:
    plain = cli("--quiet", "share", "--cluster", "example-db", *cli.accounts, *restore_args(target_net))
    assert plain.code == 0, plain.stderr
    assert not re.search(r"^\[\d\d:\d\d:\d\d\]", plain.stdout, re.M)  # no event lines
    assert "Done:" in plain.stdout
    assert "example-db-2" in plain.stdout
    lines = cli("--json", "share", "--cluster", "example-db", *cli.accounts, "--dry-run", "-q").json_lines
    assert [line["event"] for line in lines] == ["Plan"]


def test_the_live_display_never_cuts_two_names_alike() -> None:
    from rdsshare._cli._output import fit

    copy, snap = "rdsshare-example-db-222222222222-cmk", "rdsshare-example-db-222222222222"
    for width in (16, 20, 30):
        assert len(fit(copy, width)) == len(fit(snap, width)) == width
        assert fit(copy, width) != fit(snap, width)
    assert fit("example-db-2", 16) == "example-db-2"  # short names are left alone
    stream = Terminal()
    reporter = make_reporter("rich", stream)
    with reporter:
        reporter(StepStarted(step="snapshot", account_id=SOURCE, resource=snap))
        reporter(StepStarted(step="copy", account_id=SOURCE, resource=copy))
    text = ANSI.sub("", stream.getvalue())
    # An 80-column terminal leaves 16 characters for the resource: both rows keep their distinct ends.
    assert fit(snap, 16) in text
    assert fit(copy, 16) in text
