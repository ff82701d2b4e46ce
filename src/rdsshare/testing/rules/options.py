"""Option groups: which options an engine offers, and which of them are permanent or persistent.

* ``DescribeOptionGroups`` reports each option's ``Permanent`` and ``Persistent`` flags, as AWS does
  (moto ships AWS's option metadata, ``moto/rds/resources/option_group_options``, but reports neither).
* ``ModifyOptionGroup`` refuses an option the engine does not offer (``InvalidParameterCombination``).
* Every engine version has a default option group, ``default:<engine>-<major>`` (``.`` as ``-``), that
  ``DescribeOptionGroups`` finds; ``DescribeOptionGroups`` without a name lists the account's groups (moto
  crashes on it).
* A DB snapshot whose option group has permanent or persistent options, Oracle's ``Timezone`` and
  ``OLS`` excepted, or TDE, can't be shared [RDS-SHARE]; RDS share-encrypted-snapshot.html.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from moto.rds.exceptions import InvalidParameterCombination, OptionGroupNotFoundFaultError
from moto.rds.models import OptionGroup, RDSBackend

from .engines import major_of

__all__ = [
    "TDE_OPTIONS",
    "describe_option_groups",
    "ensure_default_group",
    "modify_option_group",
    "option_flags",
    "options_property",
    "unshareable_options",
]

TDE_OPTIONS = frozenset({"TDE", "TDE_SQLServer"})
_ALLOWED_PERMANENT = frozenset({"Timezone", "OLS"})


@functools.lru_cache(maxsize=32)
def option_flags(engine: str) -> dict[str, tuple[bool, bool]]:
    """Option name -> (permanent, persistent) for ``engine``, from AWS's option metadata."""
    try:
        options = RDSBackend.describe_option_group_options(engine)
    except Exception:  # an engine without option metadata offers no options
        return {}
    flags: dict[str, tuple[bool, bool]] = {}
    for option in options:
        name = str(option["Name"])
        old = flags.get(name, (False, False))
        flags[name] = (old[0] or bool(option.get("Permanent")), old[1] or bool(option.get("Persistent")))
    return flags


def options_property() -> property:
    """``OptionGroup.options`` with ``Permanent`` and ``Persistent``."""

    def fget(self: Any) -> list[dict[str, Any]]:
        flags = option_flags(str(self.engine_name))
        return [
            {
                "OptionName": name,
                "Permanent": flags.get(name, (False, False))[0],
                "Persistent": flags.get(name, (False, False))[1],
                "OptionSettings": [{"Name": s.get("Name"), "Value": s.get("Value")} for s in settings],
            }
            for name, settings in self._options.items()
        ]

    return property(fget, doc="The group's options, with their Permanent and Persistent flags.")


def modify_option_group(original: Callable[..., Any]) -> Callable[..., Any]:
    """``RDSBackend.modify_option_group`` that refuses options the engine does not offer."""

    def modify(
        self: Any,
        option_group_name: str,
        options_to_include: list[dict[str, Any]] | None = None,
        options_to_remove: list[str] | None = None,
    ) -> Any:
        group = self.option_groups.get(option_group_name)
        if group is not None:
            offered = option_flags(str(group.engine_name))
            for option in options_to_include or ():
                if option.get("OptionName") not in offered:
                    raise InvalidParameterCombination(
                        f"Option {option.get('OptionName')} is not available for engine {group.engine_name}."
                    )
        return original(self, option_group_name, options_to_include, options_to_remove)

    return modify


def unshareable_options(group: Any, engine: str) -> list[str]:
    """The options of ``group`` that stop its DB snapshots from being shared [RDS-SHARE]."""
    flags = option_flags(str(group.engine_name))
    bad = []
    for name in group._options:
        permanent, persistent = flags.get(name, (False, False))
        allowed = engine.startswith("oracle") and name in _ALLOWED_PERMANENT
        if name in TDE_OPTIONS or ((permanent or persistent) and not allowed):
            bad.append(str(name))
    return bad


def default_group_name(engine: str, version: str) -> str:
    """``default:mysql-8-0``, ``default:postgres-17``: AWS's default option group of an engine version."""
    return f"default:{engine}-{major_of(engine, version).replace('.', '-')}"


def ensure_default_group(backend: Any, database: Any) -> None:
    """Give a new instance AWS's default option group name, and make that group describable."""
    if getattr(database, "option_group_supplied", True):
        return
    engine, version = str(database.engine), str(database.engine_version)
    name = default_group_name(engine, version)
    database.option_group_name = name
    if name not in backend.option_groups:
        backend.option_groups[name] = OptionGroup(
            backend,
            name,
            engine,
            major_of(engine, version),
            f"Default option group for {engine} {major_of(engine, version)}",
        )


def describe_option_groups(original: Callable[..., Any]) -> Callable[..., Any]:
    """``RDSBackend.describe_option_groups``: no name lists every group (moto raised ``KeyError``)."""

    def describe(self: Any, option_group_kwargs: dict[str, Any]) -> Any:
        kwargs = dict(option_group_kwargs)
        kwargs.setdefault("option_group_name", None)
        try:
            return original(self, kwargs)
        except OptionGroupNotFoundFaultError:
            if kwargs["option_group_name"]:
                raise
            return []

    return describe
