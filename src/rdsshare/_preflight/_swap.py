"""The plan of a refresh in place (``replace=True``): the names, the checks and the steps of the swap.

The run does what is decided here (:mod:`rdsshare._replace`); see that module for the swap itself.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs

from .._naming import TAG_RUN_TOKEN, tag_dict
from .._replace import CLUSTER_DB, Database, Replacement

__all__ = ["decide", "plan_swap"]


def decide(checks: Any, spec: Any, db: Database, find: Callable[[str], Any]) -> Replacement | None:
    """Whether ``spec``'s restore replaces a database of the checks' target (None: a plain restore).

    ``checks`` is the preflight (its ``_try``, ``_step`` and ``_problem`` record what it found).
    """
    if not spec.replace:
        return None
    name, tgt = str(getattr(spec, db.spec_field)).lower(), checks.tgt
    problems = len(checks.problems)
    existing = checks._try("replace", tgt, name, "check RDS permissions", lambda: find(name))
    if len(checks.problems) != problems:
        return None
    if existing is None:
        checks._step("replace", tgt, "skip", name, f"no {db.noun} {name} yet: restored under that name")
        return None
    if tag_dict(existing.get("TagList")).get(TAG_RUN_TOKEN) == checks.reservation:
        return None  # this run's own restore, swapped already: adopted like any restore
    rep = Replacement.named(
        name, checks.reservation, keep=spec.keep_replaced, old_resource_id=str(existing[db.resource_field]), db=db
    )
    arn = existing.get(db.arn_field)
    if rep.keep == "snapshot" and existing.get("DeletionProtection"):
        checks._problem(
            "replace",
            f"{db.noun} {name} has deletion protection: the refresh would delete it after its final snapshot",
            f"turn off deletion protection on {name}, or pass keep_replaced='renamed' (it is kept, renamed)",
            account=tgt,
            resource=arn,
            code="InvalidParameterCombination",
        )
    taken = checks._try("replace", tgt, rep.retired, "check RDS permissions", lambda: find(rep.retired))
    if taken is not None and taken.get(db.resource_field) != rep.old_resource_id:
        checks._problem(
            "replace",
            f"{db.noun} {rep.retired} already exists: {name} cannot be renamed to it",
            f"rename or delete {rep.retired}",
            account=tgt,
            resource=taken.get(db.arn_field),
            code=db.already_exists,
        )
    checks.found.replacements[tgt] = attrs.asdict(rep)
    return rep


def plan_swap(checks: Any, rep: Replacement, db: Database) -> None:
    """The plan's steps of the swap, after those of the restore it waits for."""
    tgt = checks.tgt
    checks._step(
        "replace",
        tgt,
        "update",
        rep.name,
        f"rename to {rep.retired} once {rep.temp} is available (with its instances and secret); "
        f"{rep.name}'s endpoints then answer for no database until the next rename: the downtime",
    )
    checks._step("replace", tgt, "update", rep.temp, f"rename to {rep.name}: its endpoints are the restored database's")
    if rep.keep == "renamed":
        checks._step("retire", tgt, "skip", rep.retired, "kept, renamed (keep_replaced='renamed')")
        return
    checks._step(
        "retire", tgt, "create", rep.final, f"final snapshot of {rep.retired}, kept (never deleted by rdsshare)"
    )
    members = ", with its instances" if db is CLUSTER_DB else ""
    checks._step("retire", tgt, "delete", rep.retired, f"once {rep.final} is available{members}")
