"""Every change the test bed makes to moto, in one table, and the moto versions it was made for.

The rules live in :mod:`.rules`; this module is the only one that knows which moto class or function
each rule replaces. Each :class:`Patch` names its target, the attribute, what moto has there today (a
signature string for functions, ``"property"``/``"absent"`` otherwise) and the replacement. A test
(``tests/testbed/test_moto_compat.py``) checks every ``expect`` against the installed moto, so a moto
release that moves a patched method fails loudly instead of silently bypassing a rule.

What does not need moto's internals is done at the request boundary, in one hook on
``BaseResponse.call_action`` (:mod:`.rules.requests`): the caller, faults, the call record, IAM identity
policies, key policies on every KMS call, KMS request validation, and RDS request validation
(identifiers, password and Serverless v2 parameters).

Supported moto: :data:`SUPPORTED_MOTO` (the ``testing`` extra pins it).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import moto.kms.models as kms_models
import moto.kms.responses as kms_responses
from moto.core.responses import BaseResponse
from moto.kms.exceptions import NotFoundException
from moto.kms.models import KmsBackend
from moto.kms.responses import KmsResponse
from moto.rds.exceptions import DBSnapshotNotFoundFault, RDSClientError
from moto.rds.models import (
    DBCluster,
    DBClusterSnapshot,
    DBInstance,
    DBSnapshot,
    MasterUserSecret,
    OptionGroup,
    RDSBackend,
    SnapshotAttributesMixin,
)
from moto.rds.responses import RDSResponse

from ._patching import Patcher
from .rules import (
    clusters,
    engines,
    instances,
    kms,
    lifecycle,
    options,
    quotas,
    requests,
    secrets,
    sharing,
    snapshots,
)

__all__ = ["BOUNDARY", "PATCHES", "SUPPORTED_MOTO", "Patch", "current", "install"]

SUPPORTED_MOTO = ">=5.2.5,<5.3"
"""The moto releases the table was checked against (``pip install 'rdsshare[testing]'`` pins them)."""

Factory = Callable[[Any], Any]


@dataclass(frozen=True)
class Patch:
    """One attribute of a moto class (or module) that the bed replaces while it is active.

    ``make`` receives moto's current attribute (``None`` if absent) and returns the replacement.
    """

    target: Any
    name: str
    expect: str
    make: Factory
    why: str


def _value(value: Any) -> Factory:
    return lambda _original: value


def _nothing(self: Any, key_id: str, action: str) -> None:
    """moto's own key policy check denies on any matching Deny regardless of principal and conditions;
    the bed's request boundary evaluates key policies instead."""


def _default_policy_name(policy_name: str | None) -> None:
    """``PolicyName`` is optional: "If no policy name is specified, the default value is default"
    (botocore model, GetKeyPolicy/PutKeyPolicy); moto answered NotFoundException without it."""
    if policy_name not in (None, "default"):
        raise NotFoundException("No such policy exists")


def _snapshot_not_found_init(self: Any, snapshot_identifier: str) -> None:
    RDSClientError.__init__(self, "DBSnapshotNotFound", f"DBSnapshot {snapshot_identifier} not found.")


BOUNDARY = Patch(
    BaseResponse,
    "call_action",
    "(self) -> 'TYPE_RESPONSE'",
    lambda original: original,  # wrapped by install(), which hands it the bed's recorder
    "the request boundary: caller, faults, IAM, key policies, request validation, the call record",
)

PATCHES: tuple[Patch, ...] = (
    # -- KMS keys as AWS has them
    Patch(
        KmsBackend,
        "_generate_default_keys",
        "(self, alias_name: str) -> str | None",
        kms.generate_default_keys,
        "aws/rds and the other AWS-managed keys: KeyManager AWS, AWS's policy",
    ),
    Patch(
        KmsBackend,
        "create_key",
        "(self, policy: str | None, key_usage: str, key_spec: str, description: str, "
        "tags: list[dict[str, str]] | None, multi_region: bool = False, origin: str = 'AWS_KMS') "
        "-> moto.kms.models.Key",
        kms.create_key_default_usage,
        "KeyUsage defaults to ENCRYPT_DECRYPT",
    ),
    Patch(
        kms_models,
        "generate_private_key",
        "(key_spec: str) -> moto.kms.utils.AbstractPrivateKey",
        kms.lazy_private_key,
        "no RSA key generated for symmetric keys (speed only)",
    ),
    *(
        Patch(KmsBackend, name, signature, kms.accept_key_arn, "key ARNs accepted")
        for name, signature in (
            ("disable_key", "(self, key_id: str) -> None"),
            ("enable_key", "(self, key_id: str) -> None"),
            ("cancel_key_deletion", "(self, key_id: str) -> None"),
            ("schedule_key_deletion", "(self, key_id: str, pending_window_in_days: int) -> float"),
        )
    ),
    Patch(
        kms_responses,
        "_assert_default_policy",
        "(policy_name: str) -> None",
        _value(_default_policy_name),
        "PolicyName defaults to default",
    ),
    Patch(
        KmsResponse,
        "_validate_key_policy",
        "(self, key_id: str, action: str) -> None",
        _value(_nothing),
        "key policies are evaluated at the request boundary",
    ),
    # -- long-running operations, and databases that lost their key
    Patch(DBClusterSnapshot, "status", "absent", _value(lifecycle.plain_status()), "progress"),
    Patch(DBSnapshot, "status", "absent", _value(lifecycle.plain_status()), "progress"),
    Patch(DBInstance, "status", "absent", _value(lifecycle.plain_status()), "progress, lost keys"),
    Patch(DBCluster, "status", "property", lifecycle.wrapped_status, "progress, lost keys"),
    Patch(DBClusterSnapshot, "percent_progress", "absent", _value(lifecycle.percent_progress()), "progress"),
    Patch(DBSnapshot, "percent_progress", "absent", _value(lifecycle.percent_progress()), "PercentProgress"),
    # -- shared snapshots
    Patch(
        RDSBackend,
        "SNAPSHOT_QUOTA",
        "property",
        _value(property(lambda self: 10**9)),
        "moto's quota counts automated snapshots; the bed's replaces it",
    ),
    Patch(
        DBSnapshotNotFoundFault,
        "__init__",
        "(self, snapshot_identifier: str)",
        _value(_snapshot_not_found_init),
        "AWS's code is DBSnapshotNotFound",
    ),
    Patch(
        RDSBackend,
        "get_snapshot",
        "(self, identifier: 'str', resource_type: 'type[DBSnapshot] | type[DBClusterSnapshot]', "
        "not_found_exception: 'type[DBSnapshotNotFoundFault] | type[DBClusterSnapshotNotFoundError]') "
        "-> 'DBSnapshot | DBClusterSnapshot'",
        _value(sharing.get_snapshot),
        "ARNs resolve across accounts and regions",
    ),
    Patch(
        RDSBackend,
        "describe_db_cluster_snapshots",
        "(self, db_cluster_identifier: 'str | None', db_snapshot_identifier: 'str', "
        "snapshot_type: 'str | None' = None, filters: 'Any' = None) -> 'list[DBClusterSnapshot]'",
        sharing.describe(sharing.CLUSTER),
        "shared and public snapshots",
    ),
    Patch(
        RDSBackend,
        "describe_db_snapshots",
        "(self, db_instance_identifier: 'str | None', db_snapshot_identifier: 'str | None' = None, "
        "snapshot_type: 'str | None' = None, filters: 'dict[str, Any] | None' = None) -> 'list[DBSnapshot]'",
        sharing.describe(sharing.DB),
        "shared and public snapshots",
    ),
    Patch(
        RDSResponse,
        "describe_db_cluster_snapshots",
        "(self) -> moto.core.responses.ActionResult",
        sharing.describe_response(sharing.CLUSTER),
        "IncludeShared, IncludePublic",
    ),
    Patch(
        RDSResponse,
        "describe_db_snapshots",
        "(self) -> moto.core.responses.ActionResult",
        sharing.describe_response(sharing.DB),
        "IncludeShared, IncludePublic",
    ),
    Patch(
        SnapshotAttributesMixin,
        "modify_attribute",
        "(self, attribute_name: 'str', values_to_add: 'list[str] | None', "
        "values_to_remove: 'list[str] | None') -> 'None'",
        _value(sharing.modify_attribute),
        "the restore attribute's values",
    ),
    Patch(
        RDSBackend,
        "modify_db_cluster_snapshot_attribute",
        "(self, db_cluster_snapshot_identifier: 'str', attribute_name: 'str', "
        "values_to_add: 'list[str] | None' = None, values_to_remove: 'list[str] | None' = None) "
        "-> 'dict[str, list[str]]'",
        sharing.modify_snapshot_attribute(sharing.CLUSTER),
        "who may share what",
    ),
    Patch(
        RDSBackend,
        "modify_db_snapshot_attribute",
        "(self, db_snapshot_identifier: 'str', attribute_name: 'str', "
        "values_to_add: 'list[str] | None' = None, values_to_remove: 'list[str] | None' = None) "
        "-> 'dict[str, list[str]]'",
        sharing.modify_snapshot_attribute(sharing.DB),
        "who may share what",
    ),
    # -- clusters and instances
    Patch(
        RDSBackend,
        "create_db_cluster",
        "(self, kwargs: 'dict[str, Any]') -> 'DBCluster'",
        clusters.create_db_cluster,
        "ids, quota, versions, encryption, grants, progress",
    ),
    Patch(
        RDSBackend,
        "modify_db_cluster",
        "(self, kwargs: 'dict[str, Any]') -> 'DBCluster'",
        clusters.modify_db_cluster,
        "available only, managed secrets",
    ),
    Patch(
        RDSBackend,
        "restore_db_cluster_from_snapshot",
        "(self, from_snapshot_id: 'str', overrides: 'dict[str, Any]') -> 'DBCluster'",
        clusters.restore_db_cluster_from_snapshot,
        "shared snapshots, keys, versions, no secret",
    ),
    Patch(
        RDSBackend,
        "delete_db_cluster",
        "(self, cluster_identifier: 'str', snapshot_name: 'str | None' = None) -> 'DBCluster'",
        clusters.delete_db_cluster,
        "retire RDS's grant",
    ),
    Patch(
        DBCluster,
        "get_cfg",
        "(self) -> 'dict[str, Any]'",
        _value(clusters.get_cfg),
        "no KeyError restoring a managed-password cluster",
    ),
    Patch(
        RDSBackend,
        "create_db_instance",
        "(self, db_kwargs: 'dict[str, Any]') -> 'DBInstance'",
        instances.create_db_instance,
        "ids, quota, available clusters, versions, encryption",
    ),
    Patch(
        RDSBackend,
        "modify_db_instance",
        "(self, db_instance_identifier: 'str', db_kwargs: 'dict[str, Any]') -> 'DBInstance'",
        instances.modify_db_instance,
        "available only, managed secrets",
    ),
    Patch(
        RDSBackend,
        "restore_db_instance_from_db_snapshot",
        "(self, from_snapshot_id: 'str', overrides: 'dict[str, Any]') -> 'DBInstance'",
        instances.restore_db_instance_from_db_snapshot,
        "shared snapshots, keys, Oracle-only secrets",
    ),
    Patch(
        RDSBackend,
        "delete_db_instance",
        "(self, db_instance_identifier: 'str', final_db_snapshot_identifier: 'str | None' = None, "
        "skip_final_snapshot: 'bool | None' = False, delete_automated_backups: 'bool | None' = True) "
        "-> 'DBInstance'",
        instances.delete_db_instance,
        "retire RDS's grant",
    ),
    # -- snapshots
    Patch(
        RDSBackend,
        "create_db_cluster_snapshot",
        "(self, db_cluster_identifier: 'str', db_cluster_snapshot_identifier: 'str', "
        "snapshot_type: 'str' = 'manual', tags: 'list[dict[str, str]] | None' = None) -> 'DBClusterSnapshot'",
        snapshots.create_db_cluster_snapshot,
        "quota, available clusters, encryption, progress",
    ),
    Patch(
        RDSBackend,
        "create_db_snapshot",
        "(self, db_instance_identifier: 'str', db_snapshot_identifier: 'str', snapshot_type: 'str' = 'manual', "
        "tags: 'list[dict[str, str]] | None' = None, original_created_at: 'datetime | None' = None, "
        "kms_key_id: 'str | None' = None) -> 'DBSnapshot'",
        snapshots.create_db_snapshot,
        "quota, available instances, encryption, progress",
    ),
    Patch(
        RDSBackend,
        "copy_db_cluster_snapshot",
        "(self, source_db_cluster_snapshot_identifier: 'str', target_db_cluster_snapshot_identifier: 'str', "
        "kms_key_id: 'str | None' = None, copy_tags: 'bool' = False, "
        "tags: 'list[dict[str, str]] | None' = None, **_: 'Any') -> 'DBClusterSnapshot'",
        snapshots.copy_db_cluster_snapshot,
        "keys, quotas, progress",
    ),
    Patch(
        RDSBackend,
        "copy_db_snapshot",
        "(self, source_db_snapshot_identifier: 'str', target_db_snapshot_identifier: 'str', "
        "kms_key_id: 'str | None' = None, tags: 'list[dict[str, str]] | None' = None, "
        "copy_tags: 'bool | None' = False, **_: 'Any') -> 'DBSnapshot'",
        snapshots.copy_db_snapshot,
        "keys, quotas, progress",
    ),
    # -- what moto does not implement
    Patch(
        RDSResponse,
        "describe_account_attributes",
        "absent",
        _value(quotas.describe_account_attributes),
        "AccountQuotas",
    ),
    Patch(
        RDSResponse,
        "describe_db_engine_versions",
        "absent",
        _value(engines.describe_db_engine_versions),
        "the engine catalog",
    ),
    Patch(
        RDSResponse,
        "describe_orderable_db_instance_options",
        "(self) -> moto.core.responses.ActionResult",
        engines.describe_orderable_db_instance_options,
        "the engine catalog",
    ),
    # -- managed master passwords, option groups
    Patch(
        MasterUserSecret,
        "_generate_secret_string",
        "(self) -> 'str'",
        _value(secrets.generate_secret_string),
        "a generated password",
    ),
    Patch(
        MasterUserSecret,
        "_create_secret",
        "(self, kms_key_id: 'str | None') -> 'FakeSecret'",
        secrets.create_secret_with_rotation,
        "rotation on by default",
    ),
    Patch(OptionGroup, "options", "property", _value(options.options_property()), "Permanent/Persistent"),
    Patch(
        RDSBackend,
        "describe_option_groups",
        "(self, option_group_kwargs: 'dict[str, Any]') -> 'list[OptionGroup]'",
        options.describe_option_groups,
        "no name lists every group",
    ),
    Patch(
        RDSBackend,
        "modify_option_group",
        "(self, option_group_name: 'str', options_to_include: 'list[dict[str, Any]] | None' = None, "
        "options_to_remove: 'list[str] | None' = None) -> 'OptionGroup'",
        options.modify_option_group,
        "options the engine offers",
    ),
)


def current(patch: Patch) -> str:
    """What moto has at ``patch``'s place now, in the form of :attr:`Patch.expect`."""
    if patch.name not in vars(patch.target):
        return "absent"
    value = vars(patch.target)[patch.name]
    if isinstance(value, property):
        return "property"
    return str(inspect.signature(value))


def install(patcher: Patcher, recorder: requests.Recorder) -> None:
    """Apply the request boundary and every patch; ``patcher.undo_all()`` removes them."""
    patcher.wrap(BOUNDARY.target, BOUNDARY.name, requests.call_action_hook(recorder))
    for patch in PATCHES:
        original = vars(patch.target).get(patch.name)
        patcher.set(patch.target, patch.name, patch.make(original))
