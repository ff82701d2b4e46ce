"""Input checks that run before any AWS call that changes anything."""

from __future__ import annotations

import re

from ._errors import InputError

__all__ = [
    "validate_account_id",
    "validate_identifier",
]

_ACCOUNT = re.compile(r"\d{12}")
_IDENT = re.compile(r"[A-Za-z](?:[A-Za-z0-9]|-(?!-))*")
# The limits RDS documents for each identifier kind.
_MAX_LEN = {"cluster": 63, "instance": 63, "snapshot": 255, "cluster-snapshot": 63}


def validate_account_id(value: object, role: str) -> str:
    """A 12-digit AWS account id, or :class:`InputError`."""
    if not isinstance(value, str) or not _ACCOUNT.fullmatch(value):
        raise InputError(
            f"{role} account id {value!r} is not a 12-digit AWS account id",
            step="input",
            resource=str(value),
            fix="pass the account id as a 12-digit string, e.g. '123456789012'",
        )
    return value


def validate_identifier(value: object, kind: str, *, argument: str) -> str:
    """An identifier RDS accepts for ``kind``, lower-cased as RDS stores it.

    RDS rules: starts with a letter; letters, digits and hyphens only; no two consecutive
    hyphens; does not end with a hyphen; at most 63 characters (clusters, instances) or 255
    (snapshots).
    """
    limit = _MAX_LEN[kind]
    if not isinstance(value, str):
        raise InputError(
            f"{argument} must be a string, got {type(value).__name__}",
            step="input",
            resource=repr(value),
            fix=f"pass the {kind} identifier as a string",
        )
    if not value or len(value) > limit or not _IDENT.fullmatch(value) or value.endswith("-"):
        raise InputError(
            f"{argument} {value!r} is not a valid RDS {kind} identifier",
            step="input",
            resource=value,
            fix=(
                f"use 1-{limit} letters, digits or hyphens, starting with a letter, "
                "without '--' and not ending with '-'"
            ),
        )
    return value.lower()
