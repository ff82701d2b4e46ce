"""What engines, versions and instance classes the emulated regions offer.

moto 5.2 has no ``DescribeDBEngineVersions`` and answers ``DescribeOrderableDBInstanceOptions``
only for aurora-postgresql and neptune (moto-gaps.md). Preflight checks need both, so the test
bed serves a small catalog: the engine versions moto itself defaults to plus current ones, and
common instance classes. ``EmulatedAWS.retire_engine_version()`` removes a version from a region
to test what happens when the target region no longer offers the snapshot's engine version
(aws-rules.md §2 "Engine version").
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from moto.core.responses import ActionResult, PaginatedResult
from moto.rds.responses import RDSResponse

from ._patching import Patcher

__all__ = ["Catalog"]

ENGINE_VERSIONS: dict[str, tuple[str, ...]] = {
    "aurora-mysql": (
        "5.7.mysql_aurora.2.07.2",
        "5.7.mysql_aurora.2.11.2",
        "8.0.mysql_aurora.3.04.0",
        "8.0.mysql_aurora.3.05.2",
    ),
    "aurora-postgresql": ("12.7", "13.9", "14.6", "15.4", "16.1"),
    "mysql": ("8.0.23", "8.0.35", "8.0.36"),
    "postgres": ("13.4", "14.10", "15.5", "16.1"),
}
INSTANCE_CLASSES: dict[str, tuple[str, ...]] = {
    "aurora-mysql": (
        "db.t3.medium",
        "db.t4g.medium",
        "db.r5.large",
        "db.r6g.large",
        "db.r6g.xlarge",
        "db.r7g.large",
        "db.serverless",
    ),
    "aurora-postgresql": (
        "db.t3.medium",
        "db.t4g.medium",
        "db.r5.large",
        "db.r6g.large",
        "db.r6g.xlarge",
        "db.r7g.large",
        "db.serverless",
    ),
    "mysql": ("db.t3.micro", "db.t3.small", "db.t3.medium", "db.m5.large", "db.r5.large"),
    "postgres": ("db.t3.micro", "db.t3.small", "db.t3.medium", "db.m5.large", "db.r5.large"),
}
_FAMILY = {
    "aurora-mysql": "aurora-mysql",
    "aurora-postgresql": "aurora-postgresql",
    "mysql": "mysql",
    "postgres": "postgres",
}


class Catalog:
    """Engine versions per region (all regions start with :data:`ENGINE_VERSIONS`)."""

    def __init__(self) -> None:
        self.retired: set[tuple[str, str, str]] = set()

    def versions(self, region: str, engine: str) -> list[str]:
        return [v for v in ENGINE_VERSIONS.get(engine, ()) if (region, engine, v) not in self.retired]

    def install(self, patcher: Patcher) -> None:
        catalog = self

        def describe_db_engine_versions(self: Any) -> ActionResult:
            engine = self.params.get("Engine")
            version = self.params.get("EngineVersion")
            out = []
            for name in sorted(ENGINE_VERSIONS):
                if engine and name != engine:
                    continue
                for v in catalog.versions(self.region, name):
                    if version and v != version:
                        continue
                    major = ".".join(v.split(".")[:2]) if name.startswith("aurora-mysql") else v.split(".")[0]
                    out.append(
                        {
                            "Engine": name,
                            "EngineVersion": v,
                            "DBParameterGroupFamily": f"{_FAMILY[name]}{major}",
                            "DBEngineDescription": name,
                            "DBEngineVersionDescription": f"{name} {v}",
                            "Status": "available",
                            "SupportsParallelQuery": False,
                        }
                    )
            return PaginatedResult({"DBEngineVersions": out})

        original: Callable[..., Any] = RDSResponse.describe_orderable_db_instance_options

        def describe_orderable_db_instance_options(self: Any) -> ActionResult:
            engine = self.params.get("Engine")
            version = self.params.get("EngineVersion")
            klass = self.params.get("DBInstanceClass")
            if engine not in INSTANCE_CLASSES:
                return original(self)  # type: ignore[no-any-return]
            versions = catalog.versions(self.region, engine)
            options = [
                {
                    "Engine": engine,
                    "EngineVersion": v,
                    "DBInstanceClass": c,
                    "LicenseModel": "general-public-license",
                    "AvailabilityZones": [{"Name": f"{self.region}{z}"} for z in "abc"],
                    "SupportsStorageEncryption": True,
                    "StorageType": "aurora" if engine.startswith("aurora") else "gp3",
                }
                for v in versions
                if not version or v == version
                for c in INSTANCE_CLASSES[engine]
                if not klass or c == klass
            ]
            return PaginatedResult({"OrderableDBInstanceOptions": options})

        patcher.set(RDSResponse, "describe_db_engine_versions", describe_db_engine_versions)
        patcher.set(RDSResponse, "describe_orderable_db_instance_options", describe_orderable_db_instance_options)
