"""MkDocs hook: content generated from rdsshare's code at build time, so the pages cannot drift from it.

A page asks for a block with a line of its own (indented, to place it inside an admonition)::

    <!-- generate: key-policy -->

and the hook replaces it with the output of the code named in ``BLOCKS`` below: the key policy from
``CmkPolicyBuilder(...).to_json()``, the IAM policies from ``required_iam_policy(...)``, the exception
tree from the classes, the ``rdsshare`` command's ``--help``. An unknown name stops the build.

It also checks that ``reference.md`` documents every name in ``rdsshare.__all__`` and
``rdsshare.testing.__all__``, so an export without a reference entry fails ``mkdocs build --strict``.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import io
import json
import os
import re
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Literal

from botocore.exceptions import ClientError
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.structure.files import Files
from mkdocs.structure.pages import Page

from rdsshare import CmkPolicyBuilder, RdsShareError, required_iam_policy
from rdsshare._cli import build_parser
from rdsshare._errors import translate_client_error
from rdsshare._iam import explain_iam_policy
from rdsshare._policy import REASONS as KEY_POLICY_REASONS

#: Example accounts, region and names used in every generated block (the same as the examples/).
SOURCE = "111111111111"
TARGET = "222222222222"
REGION = "ap-northeast-1"
KEY_ADMIN = f"arn:aws:iam::{SOURCE}:role/KeyAdmin"
KEY_MANAGER = f"arn:aws:iam::{SOURCE}:role/rdsshare-source"
USER_KEY = f"arn:aws:kms:{REGION}:{SOURCE}:key/1234abcd-12ab-34cd-56ef-1234567890ab"

_MARKER = re.compile(r"^(?P<indent>[ \t]*)<!-- generate: (?P<name>[a-z0-9-]+) -->[ \t]*$", re.MULTILINE)
_REFERENCE = re.compile(r"^::: (?P<path>rdsshare(?:\.testing)?\.[A-Za-z_][A-Za-z0-9_]*)\s*$", re.MULTILINE)
_ROOT = Path(__file__).resolve().parents[2]
_SRC = _ROOT / "src" / "rdsshare"


# -- generators -------------------------------------------------------------------------------------
def _fence(lang: str, text: str, title: str | None = None) -> str:
    head = f'```{lang} title="{title}"' if title else f"```{lang}"
    return f"{head}\n{text.rstrip()}\n```"


def _key_policy(**kwargs: Any) -> str:
    builder = CmkPolicyBuilder(owner_account_id=SOURCE, target_account_ids=[TARGET], region=REGION, **kwargs)
    return _fence("json", builder.to_json(), "key policy of the source CMK")


def _iam(side: Literal["source", "target"], **kwargs: Any) -> dict[str, Any]:
    policy: dict[str, Any] = required_iam_policy(
        side,
        source_account_id=SOURCE,
        target_account_id=TARGET,
        region=REGION,
        **kwargs,
    )
    return policy


def _iam_json(side: Literal["source", "target"], **kwargs: Any) -> str:
    return _fence("json", json.dumps(_iam(side, **kwargs), indent=2), f"IAM policy of the {side} principal")


def _iam_table(side: Literal["source", "target"]) -> str:
    """One row per statement: what it allows, on what (the default scope, with a user key), and why."""
    policy = _iam(side, source_kms_key_arn=USER_KEY) if side == "source" else _iam(side, replace=True)
    reasons = dict(explain_iam_policy(policy))
    rows = ["| Sid | Actions | Resources | Condition | Why |", "|---|---|---|---|---|"]
    for statement in policy["Statement"]:
        actions = "<br>".join(f"`{a}`" for a in statement["Action"])
        resources = "<br>".join(f"`{r}`" for r in statement["Resource"])
        condition = f"`{json.dumps(statement['Condition'])}`" if "Condition" in statement else ""
        rows.append(f"| {statement['Sid']} | {actions} | {resources} | {condition} | {reasons[statement['Sid']]} |")
    return "\n".join(rows)


def _iam_target_deletes() -> str:
    """Each statement of the target policy (``replace=True``, no restore ids) that deletes, and how it is scoped."""
    rows = ["| Sid | deletes | scoped by |", "|---|---|---|"]
    for statement in _iam("target", replace=True)["Statement"]:
        deletes = [a for a in statement["Action"] if a.split(":")[1].startswith("Delete")]
        if not deletes:
            continue
        tags = {k: v for block in statement.get("Condition", {}).values() for k, v in block.items()}
        tagged = [f"`{k.removeprefix('aws:ResourceTag/')}={v}`" for k, v in tags.items() if "ResourceTag/" in k]
        names = ", ".join(f"`{r.split(':', 5)[5]}`" for r in statement["Resource"])
        scope = f"the tag {', '.join(tagged)} (and the names {names})" if tagged else f"the names {names} only"
        rows.append(f"| {statement['Sid']} | {'<br>'.join(f'`{a}`' for a in deletes)} | {scope} |")
    return "\n".join(rows)


def _key_policy_table() -> str:
    """One row per statement rdsshare may write into a key policy, with why (from the code)."""
    builder = CmkPolicyBuilder(
        owner_account_id=SOURCE,
        target_account_ids=[TARGET],
        admin_principals=[KEY_ADMIN],
        managers=[KEY_MANAGER],
        region=REGION,
    )
    rows = ["| statement | principals | why |", "|---|---|---|"]
    for statement in builder.statements():
        principal = statement["Principal"]["AWS"]
        principals = "<br>".join(f"`{p}`" for p in ([principal] if isinstance(principal, str) else principal))
        rows.append(f"| `{statement['Sid']}` | {principals} | {KEY_POLICY_REASONS[statement['Sid']]} |")
    return "\n".join(rows)


def _scoped_example() -> str:
    """What examples/scoped_iam_policy.py returns: the page shows the code and its output."""
    if str(_ROOT) not in sys.path:
        sys.path.insert(0, str(_ROOT))
    from examples.scoped_iam_policy import target_policy

    return _fence("json", json.dumps(target_policy(), indent=2), "target_policy()")


def _error_tree() -> str:
    """The exception classes as a nested list, each linked to its reference entry."""
    import rdsshare

    lines: list[str] = []

    def walk(cls: type[BaseException], depth: int) -> None:
        doc = (cls.__doc__ or "").strip().split("\n")[0].replace("``", "`")
        name = cls.__name__
        label = f"[`{name}`][rdsshare.{name}]" if name in rdsshare.__all__ else f"`{name}`"
        lines.append(f"{'    ' * depth}- {label}: {doc}")
        for child in sorted(cls.__subclasses__(), key=lambda c: c.__name__):
            if child.__module__.startswith("rdsshare"):
                walk(child, depth + 1)

    walk(RdsShareError, 0)
    return "\n".join(lines)


def _error_example() -> str:
    """How a translated AWS error reads: the message rdsshare raises for a restore refused by KMS."""
    refused = ClientError(
        {
            "Error": {
                "Code": "KMSKeyNotAccessibleFault",
                "Message": (
                    f"The specified KMS key [arn:aws:kms:{REGION}:{SOURCE}:key/1234abcd-12ab-34cd-56ef-1234567890ab]"
                    " does not exist, is not enabled or you do not have permissions to access it."
                ),
            }
        },
        "RestoreDBClusterFromSnapshot",
    )
    error = translate_client_error(refused, step="restore", account_id=TARGET, resource="example-db-2")
    text = f"{type(error).__name__}: {error}"
    wrapped = textwrap.fill(text, width=88, break_long_words=False, break_on_hyphens=False)
    return _fence("text", wrapped, "str(error), one line, wrapped here")


@contextlib.contextmanager
def _columns(width: int) -> Iterator[None]:
    saved = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = str(width)
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("COLUMNS", None)
        else:
            os.environ["COLUMNS"] = saved


def _cli_help(*argv: str) -> str:
    out = io.StringIO()
    with _columns(100), contextlib.redirect_stdout(out), contextlib.suppress(SystemExit):
        build_parser().parse_args([*argv, "--help"])
    return _fence("text", out.getvalue(), " ".join(["rdsshare", *argv, "--help"]))


def _commands(parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command and subcommand of the parser, depth first: (), ("demo",), ("policy", "key"), ..."""
    found = [prefix]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found += _commands(sub, (*prefix, name))
    return found


def _cli_reference() -> str:
    """A section per command, each with its --help: new commands appear without editing the page."""
    parts = []
    for argv in _commands(build_parser()):
        title = " ".join(["rdsshare", *argv])
        parts.append(f"### `{title}`\n\n{_cli_help(*argv)}")
    return "\n\n".join(parts)


BLOCKS: dict[str, Callable[[], str]] = {
    "key-policy": lambda: _key_policy(managers=[KEY_MANAGER]),
    "key-policy-yours": _key_policy,
    "key-policy-admins": lambda: _key_policy(admin_principals=[KEY_ADMIN]),
    "key-policy-table": _key_policy_table,
    "iam-source": lambda: _iam_json("source"),
    "iam-target": lambda: _iam_json("target"),
    "iam-source-table": lambda: _iam_table("source"),
    "iam-target-table": lambda: _iam_table("target"),
    "iam-target-scoped": _scoped_example,
    "iam-target-deletes": _iam_target_deletes,
    "error-tree": _error_tree,
    "error-example": _error_example,
    "cli-reference": _cli_reference,
}


# -- checks ---------------------------------------------------------------------------------------
def _all_of(module_file: Path) -> list[str]:
    """``__all__`` of a module, read without importing it (rdsshare.testing needs moto)."""
    for node in ast.parse(module_file.read_text()).body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets):
            return [str(v) for v in ast.literal_eval(node.value)]
    raise PluginError(f"{module_file} has no __all__")


def _check_reference(markdown: str) -> None:
    documented = {m["path"] for m in _REFERENCE.finditer(markdown)}
    exported = {f"rdsshare.{n}" for n in _all_of(_SRC / "__init__.py") if n != "__version__"}
    exported |= {f"rdsshare.testing.{n}" for n in _all_of(_SRC / "testing" / "__init__.py")}
    missing = sorted(exported - documented)
    stale = sorted(documented - exported)
    if missing or stale:
        raise PluginError(
            "docs/reference.md does not match __all__: "
            + (f"add '::: NAME' entries for {missing}; " if missing else "")
            + (f"remove entries for names no longer exported: {stale}" if stale else "")
        )


# -- hook -------------------------------------------------------------------------------------------
def on_page_markdown(markdown: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    """Fill in the generated blocks; check the reference page against ``__all__``."""

    def render(match: re.Match[str]) -> str:
        name = match["name"]
        if name not in BLOCKS:
            raise PluginError(f"{page.file.src_uri}: unknown generated block {name!r}; known: {sorted(BLOCKS)}")
        return textwrap.indent(BLOCKS[name](), match["indent"])

    if page.file.src_uri == "reference.md":
        _check_reference(markdown)
    return _MARKER.sub(render, markdown)
