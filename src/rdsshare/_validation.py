"""Input checks that run before any AWS call that changes anything."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from ._errors import InputError

__all__ = [
    "check_run_name",
    "flag",
    "instance_class",
    "optional_flag",
    "optional_text",
    "port",
    "security_groups",
    "strings",
    "tag_map",
    "validate_account_id",
    "validate_identifier",
    "validate_region",
]

_ACCOUNT = re.compile(r"[0-9]{12}")
# Region names as AWS spells them: us-east-1, eu-central-2, us-gov-west-1, cn-north-1, us-isob-east-1.
_REGION = re.compile(r"[a-z]{2}(?:-[a-z]+)+-[0-9]{1,2}")
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


def validate_region(value: object) -> str:
    """An AWS region name (``us-east-1``), or :class:`InputError`: a typo never reaches an endpoint."""
    if not isinstance(value, str) or not _REGION.fullmatch(value):
        raise InputError(
            f"region {value!r} is not an AWS region name",
            step="session",
            resource=str(value),
            fix="pass a region name such as 'us-east-1' or 'eu-west-1'",
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


# -- attrs validators for the spec fields: a wrong type fails when the spec is made ------------------
def _refuse(name: str, value: object, wanted: str) -> InputError:
    return InputError(
        f"{name} must be {wanted}, got {type(value).__name__} {value!r}",
        step="input",
        resource=name,
        fix=f"pass {name} as {wanted}",
    )


def optional_text(_inst: object, attribute: Any, value: object) -> None:
    """A non-empty string or None."""
    if value is not None and (not isinstance(value, str) or not value):
        raise _refuse(attribute.name, value, "a non-empty string (or None)")


def flag(_inst: object, attribute: Any, value: object) -> None:
    """True or False (not 1, not "yes")."""
    if not isinstance(value, bool):
        raise _refuse(attribute.name, value, "True or False")


def optional_flag(_inst: object, attribute: Any, value: object) -> None:
    """True, False or None."""
    if value is not None and not isinstance(value, bool):
        raise _refuse(attribute.name, value, "True, False or None")


def tag_map(_inst: object, attribute: Any, value: object) -> None:
    """Tags as AWS takes them: string keys of 1-128 characters, string values of up to 256, no ``aws:`` keys."""
    if not isinstance(value, Mapping):
        raise _refuse(attribute.name, value, "a dict of strings")
    for key, val in value.items():
        if not isinstance(key, str) or not isinstance(val, str):
            raise _refuse(f"{attribute.name}[{key!r}]", val, "a string key with a string value")
        if not 1 <= len(key) <= 128 or len(val) > 256 or key.lower().startswith("aws:"):
            raise InputError(
                f"tag {key!r} is not one AWS accepts (keys 1-128 characters, not 'aws:...'; values up to 256)",
                step="input",
                resource=attribute.name,
                fix="shorten or rename the tag",
            )


# -- shared by the specs, the policy builder and the facade ------------------------------------------
_RUN_NAME = re.compile(r"[a-z0-9](?:[a-z0-9]|-(?!-)){0,39}")


def check_run_name(run_name: str | None) -> None:
    """A run name: 1-40 lower-case letters, digits and single hyphens (it goes into resource names)."""
    if run_name is not None and (
        not isinstance(run_name, str) or not _RUN_NAME.fullmatch(run_name) or run_name.endswith("-")
    ):
        raise InputError(
            f"run_name {run_name!r} is not valid",
            step="input",
            resource=str(run_name),
            fix="use 1-40 lower-case letters, digits and single hyphens, e.g. '2026-11-28'",
        )


def instance_class(_inst: Any, _attr: Any, value: str) -> None:
    """An RDS instance class (``db.<family>.<size>``, or ``db.serverless`` for Aurora Serverless v2)."""
    if not isinstance(value, str) or not re.fullmatch(r"db\.[a-z0-9-]+\.[a-z0-9-]+|db\.serverless", value):
        raise InputError(
            f"instance_class {value!r} is not an RDS instance class",
            step="input",
            resource=str(value),
            fix="use a class such as 'db.r6g.large' or 'db.t3.medium'",
        )


def security_groups(_inst: Any, _attr: Any, value: tuple[str, ...]) -> None:
    """VPC security group ids (``sg-`` and 8 or 17 hex digits)."""
    for sg in value:
        if not isinstance(sg, str) or not re.fullmatch(r"sg-[0-9a-f]{8,17}", sg):
            raise InputError(
                f"security group id {sg!r} is not a VPC security group id",
                step="input",
                resource=str(sg),
                fix="pass ids like 'sg-0123456789abcdef0'",
            )


def port(_inst: Any, _attr: Any, value: int | None) -> None:
    """A port RDS accepts (1150-65535), or None."""
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or not 1150 <= value <= 65535):
        raise InputError(
            f"port {value!r} is outside 1150-65535",
            step="input",
            resource=str(value),
            fix="pass a port RDS accepts, e.g. 3306 or 5432",
        )


def strings(values: Iterable[str]) -> tuple[str, ...]:
    """A converter: a list of strings as a tuple; a lone string is refused (it would become its letters)."""
    if isinstance(values, str):
        raise InputError(
            f"expected a list of strings, got the string {values!r}",
            step="input",
            fix=f"wrap it in a list: [{values!r}]",
        )
    return tuple(values)
