"""What a restore should look like: the specs every layer reads (the doors, the plan, the steps).

Both are frozen attrs classes whose validators check each field when the spec is made, so a
wrong type or value is an :class:`~rdsshare.InputError` before anything is called.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from ._errors import InputError
from ._naming import instance_ids
from ._validation import (
    flag,
    instance_class,
    optional_flag,
    optional_text,
    port,
    security_groups,
    strings,
    tag_map,
    validate_identifier,
)

__all__ = ["ClusterRestoreSpec", "InstanceRestoreSpec"]


def _cluster_id(_inst: Any, _attr: Any, value: str) -> None:
    validate_identifier(value, "cluster", argument="restore.cluster_id")


def _count(_inst: Any, _attr: Any, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 16:
        raise InputError(
            f"instance_count {value!r} must be 0-16 (a writer and up to 15 readers)",
            step="input",
            resource=str(value),
            fix="pass 1 for a writer only, more for readers",
        )


def _bad(name: str, value: object, wanted: str) -> InputError:
    return InputError(
        f"restore.{name} {value!r} must be {wanted}", step="input", resource=str(value), fix=f"pass {wanted}"
    )


def _choice(*choices: str) -> Any:
    def check(_inst: Any, attribute: Any, value: object) -> None:
        if value is not None and value not in choices:
            raise _bad(attribute.name, value, " or ".join(repr(c) for c in choices) + " (or None: the source's)")

    return check


def _scaling(_inst: Any, _attr: Any, value: object) -> None:
    """Serverless v2 capacity: (min, max) ACUs, 0 <= min <= max <= 256 [BC-RDS]."""
    if value is None:
        return
    ok = isinstance(value, tuple) and len(value) == 2 and all(isinstance(v, (int, float)) for v in value)
    if not ok or not 0 <= value[0] <= value[1] <= 256:  # type: ignore[index]
        raise _bad("serverless_v2_scaling", value, "(min, max) ACUs with 0 <= min <= max <= 256")


def _backtrack(_inst: Any, _attr: Any, value: object) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 259200):
        raise _bad("backtrack_window", value, "seconds from 0 to 259200 (72 hours)")


def _optional_strings(values: Any) -> tuple[str, ...] | None:
    return None if values is None else strings(values)


def _group_map(_inst: Any, _attr: Any, value: object) -> None:
    if not isinstance(value, Mapping) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise _bad("parameter_group_map", value, "a dict of source group name -> target group name")


def _keep(_inst: Any, _attr: Any, value: object) -> None:
    if value not in ("snapshot", "renamed"):
        raise _bad("keep_replaced", value, "'snapshot' or 'renamed'")


@attrs.frozen(kw_only=True)
class ClusterRestoreSpec:
    """How to restore the shared snapshot in the target account.

    ``kms_key_id`` is a key of the *target* account (id, ARN or alias); by default the target's
    own ``aws/rds`` key, so the restored cluster never depends on the source account's key.
    """

    #: the new cluster's identifier in the target account
    cluster_id: str = attrs.field(validator=_cluster_id)
    #: the DB instance class of the instances, e.g. ``db.r6g.large``
    instance_class: str = attrs.field(validator=instance_class)
    #: a DB subnet group of the target account (default: the region's default subnet group)
    subnet_group: str | None = attrs.field(default=None, validator=optional_text)
    #: VPC security groups of the target account (default: the VPC's default security group)
    security_group_ids: tuple[str, ...] = attrs.field(default=(), converter=strings, validator=security_groups)
    #: number of DB instances (writer first); 0 restores the cluster only
    instance_count: int = attrs.field(default=1, validator=_count)
    #: the engine version to restore with (default: the snapshot's)
    engine_version: str | None = attrs.field(default=None, validator=optional_text)
    #: the database port (default: the source's)
    port: int | None = attrs.field(default=None, validator=port)
    #: a DB cluster parameter group of the target account (default: the source's through
    #: ``parameter_group_map``, else the engine's default group)
    cluster_parameter_group: str | None = attrs.field(default=None, validator=optional_text)
    #: a DB parameter group of the target account for the instances (default: the source writer's through
    #: ``parameter_group_map``, else the engine's default group)
    instance_parameter_group: str | None = attrs.field(default=None, validator=optional_text)
    #: deletion protection for the restored cluster (default: the source's)
    deletion_protection: bool | None = attrs.field(default=None, validator=optional_flag)
    #: extra tags for the cluster and its instances (rdsshare adds its own ``rdsshare:*`` tags)
    tags: Mapping[str, str] = attrs.field(factory=dict, validator=tag_map)
    #: also give the restored cluster the source's own tags (never rdsshare's or AWS's)
    copy_tags: bool = attrs.field(default=True, validator=flag)
    #: ``aurora`` (Standard) or ``aurora-iopt1`` (I/O-Optimized); default: the source's (AWS's is Standard)
    storage_type: str | None = attrs.field(default=None, validator=_choice("aurora", "aurora-iopt1"))
    #: Serverless v2 capacity as (min, max) ACUs, needed for ``db.serverless`` instances; default: the source's
    serverless_v2_scaling: tuple[float, float] | None = attrs.field(default=None, validator=_scaling)
    #: ``open-source-rds-extended-support`` (enrol in paid Extended Support) or
    #: ``open-source-rds-extended-support-disabled``; default: the source's, else not enrolled
    engine_lifecycle_support: str | None = attrs.field(
        default=None,
        validator=_choice("open-source-rds-extended-support", "open-source-rds-extended-support-disabled"),
    )
    #: IAM database authentication (default: the source's)
    iam_database_authentication: bool | None = attrs.field(default=None, validator=optional_flag)
    #: the logs to export to CloudWatch Logs, e.g. ``("audit", "error")`` (default: the source's)
    log_exports: tuple[str, ...] | None = attrs.field(default=None, converter=_optional_strings)
    #: the backtrack window in seconds, Aurora MySQL only (default: the source's)
    backtrack_window: int | None = attrs.field(default=None, validator=_backtrack)
    #: source DB cluster parameter group name -> a group of the target account: the source's group is
    #: carried only through this map (group names belong to an account)
    parameter_group_map: Mapping[str, str] = attrs.field(factory=dict, validator=_group_map)
    #: the target-account key to encrypt the cluster with (default: the target's ``aws/rds``)
    kms_key_id: str | None = attrs.field(default=None, validator=optional_text)
    #: encrypt the restored cluster; None follows the source (an encrypted source always stays encrypted)
    encrypt: bool | None = attrs.field(default=None, validator=optional_flag)
    #: hand the master password to the target's Secrets Manager (Aurora generates a new one)
    manage_master_user_password: bool = attrs.field(default=True, validator=flag)
    #: the target-account key for the master password's secret (default: ``aws/secretsmanager``)
    master_user_secret_kms_key_id: str | None = attrs.field(default=None, validator=optional_text)
    #: also copy the shared snapshot into the target under the target's key, as a durable backup
    backup_copy: bool = attrs.field(default=False, validator=flag)
    #: refresh in place: when ``cluster_id`` exists, restore beside it under a temporary name, then swap
    #: names, so that the target keeps its identifier and endpoints (see the "Refresh in place" page)
    replace: bool = attrs.field(default=False, validator=flag)
    #: what becomes of the replaced cluster: ``snapshot`` (a final snapshot, then deleted) or
    #: ``renamed`` (kept under ``<cluster_id>-old-<run>``)
    keep_replaced: str = attrs.field(default="snapshot", validator=_keep)

    @property
    def instance_ids(self) -> list[str]:
        """The deterministic identifiers of the instances to create."""
        return instance_ids(self.cluster_id.lower(), self.instance_count)


def _instance_id(_inst: Any, _attr: Any, value: str) -> None:
    validate_identifier(value, "instance", argument="restore.instance_id")


@attrs.frozen(kw_only=True)
class InstanceRestoreSpec:
    """How to restore a shared DB snapshot in the target account.

    ``kms_key_id`` is a key of the *target* account (id, ARN or alias) for the target's copy of
    the snapshot and so for the restored database; by default the target's ``aws/rds``.
    """

    #: the new DB instance's identifier in the target account
    instance_id: str = attrs.field(validator=_instance_id)
    #: the DB instance class, e.g. ``db.t3.micro``
    instance_class: str = attrs.field(validator=instance_class)
    #: a DB subnet group of the target account (default: the region's default subnet group)
    subnet_group: str | None = attrs.field(default=None, validator=optional_text)
    #: VPC security groups of the target account (default: the VPC's default security group)
    security_group_ids: tuple[str, ...] = attrs.field(default=(), converter=strings, validator=security_groups)
    #: the database port (default: the source's)
    port: int | None = attrs.field(default=None, validator=port)
    #: a DB parameter group of the target account (default: the source's through ``parameter_group_map``,
    #: else the engine's default group)
    parameter_group: str | None = attrs.field(default=None, validator=optional_text)
    #: a Multi-AZ deployment (default: the source's)
    multi_az: bool | None = attrs.field(default=None, validator=optional_flag)
    #: deletion protection for the restored instance (default: the source's)
    deletion_protection: bool | None = attrs.field(default=None, validator=optional_flag)
    #: extra tags for the instance (rdsshare adds its own ``rdsshare:*`` tags)
    tags: Mapping[str, str] = attrs.field(factory=dict, validator=tag_map)
    #: also give the restored instance the source's own tags (never rdsshare's or AWS's)
    copy_tags: bool = attrs.field(default=True, validator=flag)
    #: ``gp2``, ``gp3``, ``io1``, ``io2`` or ``standard``; default: the source's (AWS's is ``gp3``), with its IOPS
    storage_type: str | None = attrs.field(default=None, validator=_choice("gp2", "gp3", "io1", "io2", "standard"))
    #: ``open-source-rds-extended-support`` (enrol in paid Extended Support) or
    #: ``open-source-rds-extended-support-disabled``; default: the source's, else not enrolled
    engine_lifecycle_support: str | None = attrs.field(
        default=None,
        validator=_choice("open-source-rds-extended-support", "open-source-rds-extended-support-disabled"),
    )
    #: IAM database authentication (default: the source's)
    iam_database_authentication: bool | None = attrs.field(default=None, validator=optional_flag)
    #: the logs to export to CloudWatch Logs, e.g. ``("postgresql",)`` (default: the source's)
    log_exports: tuple[str, ...] | None = attrs.field(default=None, converter=_optional_strings)
    #: source DB parameter group name -> a group of the target account: the source's group is carried
    #: only through this map (group names belong to an account)
    parameter_group_map: Mapping[str, str] = attrs.field(factory=dict, validator=_group_map)
    #: the target-account key for the target's copy and the restored instance (default: ``aws/rds``)
    kms_key_id: str | None = attrs.field(default=None, validator=optional_text)
    #: hand the master password to the target's Secrets Manager (RDS generates a new one)
    manage_master_user_password: bool = attrs.field(default=True, validator=flag)
    #: the target-account key for the master password's secret (default: ``aws/secretsmanager``)
    master_user_secret_kms_key_id: str | None = attrs.field(default=None, validator=optional_text)
    #: refresh in place: when ``instance_id`` exists, restore beside it under a temporary name, then swap
    #: names, so that the target keeps its identifier and endpoint (see the "Refresh in place" page)
    replace: bool = attrs.field(default=False, validator=flag)
    #: what becomes of the replaced instance: ``snapshot`` (a final snapshot, then deleted) or
    #: ``renamed`` (kept under ``<instance_id>-old-<run>``)
    keep_replaced: str = attrs.field(default="snapshot", validator=_keep)
