"""Checks of a target's environment: engine version and instance class, subnet and security groups."""

from __future__ import annotations

from typing import Any

from ._ledger import Ledger

__all__ = ["EnvironmentChecks"]


class EnvironmentChecks(Ledger):
    """What a restore in the target needs around it."""

    def _environment(self, spec: Any, facts: dict[str, Any] | None) -> None:
        """What the target region and network must offer: engine version, instance class, one VPC."""
        if facts is not None and facts.get("engine"):
            self._engine(spec, facts)
        vpc_ids = self._network(spec)
        if len(vpc_ids) > 1:
            self._problem(
                "network",
                f"the subnet group and security groups are in different VPCs: {sorted(vpc_ids)}",
                "use security groups of the subnet group's VPC",
                account=self.tgt,
                resource=spec.subnet_group or ",".join(spec.security_group_ids),
            )

    def _engine(self, spec: Any, facts: dict[str, Any]) -> None:
        rds = self.target.rds()
        engine = str(facts["engine"])
        version = getattr(spec, "engine_version", None) or facts.get("engine_version")
        kwargs: dict[str, Any] = {"Engine": engine}
        if version:
            kwargs["EngineVersion"] = str(version)
        versions = self._try(
            "engine",
            self.tgt,
            f"{engine} {version}",
            "check RDS permissions",
            lambda: rds.describe_db_engine_versions(**kwargs)["DBEngineVersions"],
        )
        if versions is not None and not versions:
            self._problem(
                "engine",
                f"{engine} {version} is not offered in {self.region}",
                "pick a supported engine_version (describe-db-engine-versions)",
                account=self.tgt,
                resource=f"{engine} {version}",
            )
        order: dict[str, Any] = {"Engine": engine, "DBInstanceClass": spec.instance_class}
        if version:
            order["EngineVersion"] = str(version)
        options = self._try(
            "instance-class",
            self.tgt,
            spec.instance_class,
            "check RDS permissions",
            lambda: rds.describe_orderable_db_instance_options(**order)["OrderableDBInstanceOptions"],
        )
        if options is not None and not options and int(getattr(spec, "instance_count", 1)):
            self._problem(
                "instance-class",
                f"{spec.instance_class} is not orderable for {engine} {version} in {self.region}",
                "pick an instance class from describe-orderable-db-instance-options",
                account=self.tgt,
                resource=spec.instance_class,
            )

    def _network(self, spec: Any) -> set[str]:
        vpcs: set[str] = set()
        subnet_group = spec.subnet_group
        if subnet_group:
            groups = self._try(
                "network",
                self.tgt,
                subnet_group,
                "create the DB subnet group in the target account",
                lambda: self.target.rds().describe_db_subnet_groups(DBSubnetGroupName=subnet_group)["DBSubnetGroups"],
            )
            vpcs |= {g["VpcId"] for g in groups or [] if g.get("VpcId")}
        if spec.security_group_ids:
            sgs = self._try(
                "network",
                self.tgt,
                ",".join(spec.security_group_ids),
                "pass security groups of the target account's VPC",
                lambda: self.target.ec2().describe_security_groups(GroupIds=list(spec.security_group_ids))[
                    "SecurityGroups"
                ],
            )
            vpcs |= {g["VpcId"] for g in sgs or [] if g.get("VpcId")}
        return vpcs
