"""What engines, versions and instance classes the emulated regions offer, and which version is the default.

moto 5.2 has no ``DescribeDBEngineVersions``, answers ``DescribeOrderableDBInstanceOptions`` only for
aurora-postgresql and neptune, and defaults to versions long gone (postgres 9.3.3, mysql 5.6.21,
aurora-mysql 5.7 2.07.2, aurora-postgresql 12.7), which its own catalog then refuses (docs/sources/aws-rules-2.md
"Engine versions"). The bed serves a small catalog instead and makes create and restore follow it:

* An omitted ``EngineVersion`` gets the engine's default; ``DescribeDBEngineVersions(DefaultOnly=True)``
  returns exactly that one (botocore model, ``DescribeDBEngineVersions.DefaultOnly``).
* A major version stands for that major's default: ``8.0`` (Aurora MySQL 3), ``5.7`` (Aurora MySQL 2),
  ``16`` (PostgreSQL 16), ... (botocore model, ``CreateDBCluster.EngineVersion``: "You can supply either
  5.7 or 8.0 to use the default engine version for Aurora MySQL version 2 or version 3").
* An unknown version, or one the region no longer offers (``EmulatedAWS.retire_engine_version()``), is
  refused with ``InvalidParameterCombination: Cannot find version ...``, for creates and for restores of
  a snapshot of that version (docs/sources/aws-rules.md §2 "Engine version"; Aurora MySQL release notes: version 2 left
  standard support on 2024-10-31).

The versions below are a small illustrative set, not AWS's live list: a few per engine, the default
marked. Aurora MySQL 2 (``5.7``) is still offered, as it is under RDS Extended Support.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from moto.core.responses import PaginatedResult

from .. import _state

__all__ = [
    "ENGINES",
    "Catalog",
    "EngineInfo",
    "UnknownVersionError",
    "describe_db_engine_versions",
    "describe_orderable_db_instance_options",
    "major_of",
]

_AURORA_CLASSES = (
    "db.t3.medium",
    "db.t4g.medium",
    "db.r5.large",
    "db.r6g.large",
    "db.r6g.xlarge",
    "db.r7g.large",
    "db.serverless",
)
_RDS_CLASSES = ("db.t3.micro", "db.t3.small", "db.t3.medium", "db.t4g.micro", "db.m5.large", "db.r5.large")


@dataclass(frozen=True)
class EngineInfo:
    """One engine of the catalog."""

    #: versions offered, oldest first
    versions: tuple[str, ...]
    #: what an omitted ``EngineVersion`` becomes
    default: str
    #: ``DBParameterGroupFamily`` prefix (the major is appended)
    family: str
    instance_classes: tuple[str, ...]
    license_model: str = "general-public-license"
    #: a cluster engine (Aurora) rather than an instance engine
    aurora: bool = False


ENGINES: dict[str, EngineInfo] = {
    "aurora-mysql": EngineInfo(
        versions=(
            "5.7.mysql_aurora.2.12.4",
            "8.0.mysql_aurora.3.04.3",
            "8.0.mysql_aurora.3.08.2",
            "8.0.mysql_aurora.3.10.1",
        ),
        default="8.0.mysql_aurora.3.08.2",
        family="aurora-mysql",
        instance_classes=_AURORA_CLASSES,
        aurora=True,
    ),
    "aurora-postgresql": EngineInfo(
        versions=("13.20", "14.17", "15.12", "16.8", "17.4"),
        default="16.8",
        family="aurora-postgresql",
        instance_classes=_AURORA_CLASSES,
        license_model="postgresql-license",
        aurora=True,
    ),
    "mysql": EngineInfo(
        versions=("8.0.35", "8.0.36", "8.0.41", "8.4.4"),
        default="8.0.41",
        family="mysql",
        instance_classes=_RDS_CLASSES,
    ),
    "postgres": EngineInfo(
        versions=("14.17", "15.12", "16.8", "17.4"),
        default="17.4",
        family="postgres",
        instance_classes=_RDS_CLASSES,
        license_model="postgresql-license",
    ),
    "mariadb": EngineInfo(
        versions=("10.6.21", "10.11.11", "11.4.5"),
        default="11.4.5",
        family="mariadb",
        instance_classes=_RDS_CLASSES,
    ),
    "oracle-ee": EngineInfo(
        versions=("19.0.0.0.ru-2025-01.rur-2025-01.r1",),
        default="19.0.0.0.ru-2025-01.rur-2025-01.r1",
        family="oracle-ee",
        instance_classes=("db.t3.medium", "db.m5.large", "db.r5.large"),
        license_model="bring-your-own-license",
    ),
    "oracle-se2": EngineInfo(
        versions=("19.0.0.0.ru-2025-01.rur-2025-01.r1",),
        default="19.0.0.0.ru-2025-01.rur-2025-01.r1",
        family="oracle-se2",
        instance_classes=("db.t3.medium", "db.m5.large", "db.r5.large"),
        license_model="license-included",
    ),
    "sqlserver-se": EngineInfo(
        versions=("15.00.4415.2.v1", "16.00.4175.1.v1"),
        default="16.00.4175.1.v1",
        family="sqlserver-se",
        instance_classes=("db.m5.large", "db.r5.large"),
        license_model="license-included",
    ),
}


class UnknownVersionError(ValueError):
    """The engine or version is not offered (RDS: ``InvalidParameterCombination``)."""


def major_of(engine: str, version: str) -> str:
    """``8.0`` for ``8.0.mysql_aurora.3.08.2`` and ``8.0.41``, ``16`` for PostgreSQL ``16.8``, ``19`` for
    Oracle, ``15.00`` for SQL Server ``15.00.4415.2.v1``."""
    parts = version.split(".")
    if engine.startswith(("aurora-mysql", "mysql", "mariadb", "sqlserver")):
        return ".".join(parts[:2])
    return parts[0]


class Catalog:
    """Engine versions per region: all regions start with :data:`ENGINES`; versions can be retired."""

    def __init__(self) -> None:
        self.retired: set[tuple[str, str, str]] = set()

    def engines(self) -> Sequence[str]:
        return sorted(ENGINES)

    def versions(self, region: str, engine: str) -> list[str]:
        """The versions ``region`` offers for ``engine``, oldest first."""
        info = ENGINES.get(engine)
        if info is None:
            return []
        return [v for v in info.versions if (region, engine, v) not in self.retired]

    def default(self, region: str, engine: str, major: str | None = None) -> str | None:
        """The default version of ``engine`` (of one major version, if given) in ``region``."""
        info = ENGINES.get(engine)
        offered = self.versions(region, engine)
        if info is None or not offered:
            return None
        if major is None:
            return info.default if info.default in offered else offered[-1]
        same = [v for v in offered if major_of(engine, v) == major]
        if not same:
            return None
        return info.default if info.default in same else same[-1]

    def resolve(self, region: str, engine: str, version: str | None) -> str:
        """The version a create or restore gets: the default, a major's default, or ``version`` itself.

        Raises :class:`UnknownVersionError` when ``region`` does not offer it.
        """
        if engine not in ENGINES:
            raise UnknownVersionError(f"Cannot find engine {engine}")
        offered = self.versions(region, engine)
        if not version:
            found = self.default(region, engine)
        elif version in offered:
            found = version
        else:
            found = self.default(region, engine, major=version)
        if found is None:
            raise UnknownVersionError(f"Cannot find version {version} for {engine}")
        return found

    def offered(self, region: str, engine: str, version: str) -> bool:
        """Whether ``region`` offers exactly ``engine`` ``version``."""
        return version in self.versions(region, engine)

    def family(self, engine: str, version: str) -> str:
        """The parameter group family, e.g. ``aurora-mysql8.0``."""
        return f"{ENGINES[engine].family}{major_of(engine, version)}"


# ------------------------------------------------------------------------- the two describe calls


def describe_db_engine_versions(response: Any) -> Any:
    """``RDSResponse.describe_db_engine_versions`` from the catalog (moto has none)."""
    catalog = _state.current().catalog
    params = response.params
    engine = params.get("Engine")
    version = params.get("EngineVersion")
    default_only = bool(params.get("DefaultOnly"))
    family = params.get("DBParameterGroupFamily")
    out = []
    for name in catalog.engines():
        if engine and name != engine:
            continue
        offered = catalog.versions(response.region, name)
        if default_only:
            # "the default version of the specified engine or the engine and major version combination"
            major = None if not version else (major_of(name, version) if version in offered else version)
            chosen = catalog.default(response.region, name, major=major)
            offered = [chosen] if chosen else []
        elif version:
            offered = [v for v in offered if v == version or major_of(name, v) == version]
        for v in offered:
            if family and catalog.family(name, v) != family:
                continue
            out.append(
                {
                    "Engine": name,
                    "EngineVersion": v,
                    "MajorEngineVersion": major_of(name, v),
                    "DBParameterGroupFamily": catalog.family(name, v),
                    "DBEngineDescription": name,
                    "DBEngineVersionDescription": f"{name} {v}",
                    "Status": "available",
                    "SupportsParallelQuery": False,
                    "SupportedEngineModes": ["provisioned"],
                }
            )
    return PaginatedResult({"DBEngineVersions": out})


def describe_orderable_db_instance_options(original: Callable[..., Any]) -> Callable[..., Any]:
    """``RDSResponse.describe_orderable_db_instance_options`` from the catalog for the engines it knows."""

    def describe(response: Any) -> Any:
        catalog = _state.current().catalog
        params = response.params
        engine = params.get("Engine")
        version = params.get("EngineVersion")
        klass = params.get("DBInstanceClass")
        info = ENGINES.get(str(engine))
        if info is None:
            return original(response)
        options = [
            {
                "Engine": engine,
                "EngineVersion": v,
                "DBInstanceClass": c,
                "LicenseModel": info.license_model,
                "AvailabilityZones": [{"Name": f"{response.region}{z}"} for z in "abc"],
                "SupportsStorageEncryption": True,
                "StorageType": "aurora" if info.aurora else "gp3",
                "SupportedEngineModes": ["provisioned"],
                "SupportsClusters": info.aurora,
            }
            for v in catalog.versions(response.region, str(engine))
            if not version or v == version
            for c in info.instance_classes
            if not klass or c == klass
        ]
        return PaginatedResult({"OrderableDBInstanceOptions": options})

    return describe
