"""The run manifest: every resource a run created, adopted or changed, with its account and ARN.

It is JSON with a versioned schema so that :func:`rdsshare.cleanup` (or a person) can later undo
exactly what a run did. It never contains secrets: ARNs and ids only.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any, Literal

import attrs

from ._errors import InputError

__all__ = ["SCHEMA_VERSION", "Manifest", "ManifestEntry"]

#: 2 added run tokens (``run_token`` and each entry's ``detail["run_token"]``); 1 is still read
SCHEMA_VERSION = 2
READABLE_VERSIONS = (1, 2)

Kind = Literal[
    "cluster-snapshot", "db-snapshot", "kms-key", "key-grant", "snapshot-share", "db-cluster", "db-instance", "secret"
]


@attrs.frozen(kw_only=True)
class ManifestEntry:
    """One resource. ``managed`` is True when rdsshare made it (this run or an earlier one, per its
    ``rdsshare:*`` tags); cleanup deletes only managed resources and merely reverts its changes
    (a share, key policy statements) on the others."""

    kind: Kind
    role: str
    account_id: str
    region: str
    arn: str
    managed: bool
    created: bool = False
    detail: Mapping[str, str] = attrs.field(factory=dict)


@attrs.frozen(kw_only=True)
class Manifest:
    """What a run touched. ``write``/``read`` round-trip through JSON."""

    run_name: str
    region: str
    source_account_id: str
    target_account_id: str
    entries: tuple[ManifestEntry, ...]
    #: every target account of the run (the first is ``target_account_id``)
    target_account_ids: tuple[str, ...] = ()
    #: the run's token, tagged ``rdsshare:run-token`` on what it created ("" in a schema-1 manifest)
    run_token: str = ""
    created_at: str = attrs.field(factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds"))
    schema_version: int = SCHEMA_VERSION

    def of(self, kind: Kind, role: str | None = None) -> list[ManifestEntry]:
        """Entries of one kind (and role)."""
        return [e for e in self.entries if e.kind == kind and (role is None or e.role == role)]

    def to_dict(self) -> dict[str, Any]:
        """As plain JSON-able data."""
        return attrs.asdict(self)

    def to_json(self, *, indent: int | None = 2) -> str:
        """As JSON text."""
        return json.dumps(self.to_dict(), indent=indent)

    def write(self, path: str | os.PathLike[str]) -> None:
        """Write as JSON to ``path``."""
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(self.to_json())
            fh.write("\n")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Manifest:
        """Parse; refuses schema versions other than 1 and 2."""
        version = data.get("schema_version")
        if version not in READABLE_VERSIONS:
            raise InputError(
                f"manifest schema_version {version!r} is not supported (expected one of {READABLE_VERSIONS})",
                step="manifest",
                fix="use the rdsshare version that wrote it",
            )
        try:
            entries = tuple(ManifestEntry(**e) for e in data["entries"])
            return cls(
                run_name=data["run_name"],
                region=data["region"],
                source_account_id=data["source_account_id"],
                target_account_id=data["target_account_id"],
                entries=entries,
                target_account_ids=tuple(data.get("target_account_ids", (data["target_account_id"],))),
                run_token=str(data.get("run_token", "")),
                created_at=data["created_at"],
                schema_version=version,
            )
        except (KeyError, TypeError) as exc:
            raise InputError(
                f"manifest is malformed: {exc}", step="manifest", fix="pass the JSON file written by the run"
            ) from exc

    @classmethod
    def read(cls, path: str | os.PathLike[str]) -> Manifest:
        """Read a manifest written by :meth:`write`."""
        try:
            with open(path, encoding="utf-8") as fh:
                return cls.from_dict(json.load(fh))
        except (OSError, json.JSONDecodeError) as exc:
            raise InputError(
                f"cannot read manifest {path}: {exc}", step="manifest", fix="pass the JSON file written by the run"
            ) from exc
