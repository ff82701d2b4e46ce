"""The package as PyPI would get it: built offline from this checkout, checked with twine.

The wheel and the sdist carry the Apache-2.0 LICENSE; the metadata names the license, each Python
version that works (3.10-3.13) and a long description for people installing the package (no
``pip install -e .``, no pointer into the repository); ``twine check`` passes.
"""

from __future__ import annotations

import email
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    # hatchling is installed with the dev extra: no build isolation, so nothing is downloaded.
    subprocess.run(
        [sys.executable, "-m", "hatchling", "build", "-d", str(out)],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    )
    return out


def test_the_wheel_carries_the_license_and_honest_metadata(dist: Path) -> None:
    (wheel,) = dist.glob("*.whl")
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        (metadata_name,) = [n for n in names if n.endswith(".dist-info/METADATA")]
        metadata = email.message_from_string(zf.read(metadata_name).decode())
        (license_name,) = [n for n in names if n.endswith("licenses/LICENSE")]
        assert "Apache License" in zf.read(license_name).decode()
    assert metadata["License-Expression"] == "Apache-2.0"
    assert metadata["Requires-Python"] == ">=3.10"
    classifiers = metadata.get_all("Classifier") or []
    for version in ("3.10", "3.11", "3.12", "3.13"):
        assert f"Programming Language :: Python :: {version}" in classifiers
    description = metadata.get_payload()
    assert isinstance(description, str)
    assert "pip install rdsshare" in description
    assert "pip install -e" not in description
    assert "docs/" not in description


def test_the_sdist_carries_the_license(dist: Path) -> None:
    (sdist,) = dist.glob("*.tar.gz")
    with tarfile.open(sdist) as tf:
        names = tf.getnames()
    assert any(n.endswith("/LICENSE") for n in names)
    assert any(n.endswith("/PYPI.md") for n in names)


def test_twine_check_passes(dist: Path) -> None:
    files = [str(p) for p in sorted(dist.iterdir())]
    result = subprocess.run(
        [sys.executable, "-m", "twine", "check", "--strict", *files], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("PASSED") == len(files)
