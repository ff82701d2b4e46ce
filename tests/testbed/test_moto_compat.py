"""The seam over moto: every patch is in one table, pinned to what moto has there today.

A moto release that renames, removes or re-signs a patched method fails here, by name, instead of
silently bypassing a rule. The installed moto must be one the table was made for.
"""

from __future__ import annotations

import importlib.metadata

import pytest
from packaging.specifiers import SpecifierSet

from rdsshare.testing import EmulatedAWS
from rdsshare.testing._moto_compat import BOUNDARY, PATCHES, SUPPORTED_MOTO, Patch, current


def _label(patch: Patch) -> str:
    return f"{getattr(patch.target, '__name__', patch.target)}.{patch.name}"


@pytest.mark.parametrize("patch", [BOUNDARY, *PATCHES], ids=_label)
def test_moto_still_has_what_the_patch_expects(patch: Patch) -> None:
    assert EmulatedAWS._active is None
    assert current(patch) == patch.expect, f"moto changed {_label(patch)}: review the rule before re-pinning"


def test_the_installed_moto_is_supported() -> None:
    assert importlib.metadata.version("moto") in SpecifierSet(SUPPORTED_MOTO)


def test_each_attribute_is_patched_once_and_every_patch_says_why() -> None:
    places = [(id(p.target), p.name) for p in (BOUNDARY, *PATCHES)]
    assert len(places) == len(set(places))
    assert all(p.why for p in PATCHES)


def test_entering_applies_every_patch_and_leaving_removes_it() -> None:
    before = {_label(p): current(p) for p in PATCHES}
    originals = {_label(p): vars(p.target).get(p.name) for p in PATCHES}
    with EmulatedAWS():
        changed = [_label(p) for p in PATCHES if vars(p.target).get(p.name) is originals[_label(p)]]
        assert changed == []
    assert {_label(p): current(p) for p in PATCHES} == before
    assert {_label(p): vars(p.target).get(p.name) for p in PATCHES} == originals


def test_the_testing_extra_pins_the_supported_moto() -> None:
    requires = importlib.metadata.requires("rdsshare") or []
    moto = [r for r in requires if r.startswith("moto") and "testing" in r.split(";")[1]]
    assert moto, requires
    assert SpecifierSet(SUPPORTED_MOTO) == SpecifierSet(moto[0].split(";")[0].split("]", 1)[1].strip())
