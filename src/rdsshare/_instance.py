"""RDS DB (instance) snapshots: the restore side, and the option-group rule for sharing.

AWS does not restore a DB snapshot that is both shared and encrypted [RDS-SHARE]: the target
first copies it under a key of its own (which also makes the restored database independent of
the source's key), then restores from that copy. ``RestoreDBInstanceFromDBSnapshot`` takes
``ManageMasterUserPassword`` for RDS for Oracle only ("Constraints: Applies to RDS for Oracle
only", botocore model; a PostgreSQL restore with it gets no secret, terraform-provider-aws
#31509), so for every other engine the secret is handed over with ``ModifyDBInstance`` once the
instance is available (:mod:`._secret`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from ._carry import as_params, instance_restore_settings
from ._copier import SnapshotCopier
from ._errors import InputError, NotFoundError, error_code, not_visible, translate_client_error
from ._events import Emitter, EventHook, Outcome, StepFinished, StepSkipped, StepStarted, as_emitter
from ._findings import UNREAD, Unread
from ._keys import KeyInfo, KeyManager
from ._kinds import INSTANCE
from ._naming import check_ours, derived_id, rds_tags, snapshot_name
from ._observe import instance_observation
from ._secret import hand_over_secret
from ._specs import InstanceRestoreSpec
from ._waiting import Observation, WaitPolicy, wait_seen
from ._watch import INSTANCES, Freshness, Watcher, lookup

if TYPE_CHECKING:
    from mypy_boto3_rds import RDSClient

__all__ = ["InstanceRestoreSpec", "InstanceRestorer", "local_copy_id", "unshareable_options"]

_log = logging.getLogger("rdsshare.instance")

#: Options that make a DB snapshot unshareable: permanent/persistent options [RDS-SHARE], and
#: TDE, whose encrypted snapshots cannot be shared (RDS share-encrypted-snapshot.html).
_TDE = frozenset({"TDE", "TDE_SQLServer"})
#: Oracle's Timezone and OLS are permanent/persistent but allowed [RDS-SHARE].
_ALLOWED_PERMANENT = frozenset({"Timezone", "OLS"})


def secret_on_restore(engine: str) -> bool:
    """Whether ``RestoreDBInstanceFromDBSnapshot`` can create the managed secret itself (Oracle only)."""
    return engine.startswith("oracle")


def local_copy_id(shared_arn: str) -> str:
    """The id of the target's own copy of a shared DB snapshot (the plan and the run name it alike)."""
    return derived_id(snapshot_name(shared_arn).removeprefix("rdsshare-"), "local", limit=INSTANCE.id_limit)


def unshareable_options(options: list[Mapping[str, Any]], engine: str) -> list[str]:
    """The option names that stop a DB snapshot from being shared [RDS-SHARE]."""
    bad = []
    for option in options:
        name = str(option.get("OptionName", ""))
        permanent = bool(option.get("Permanent")) or bool(option.get("Persistent"))
        if name in _TDE or (permanent and not (engine.startswith("oracle") and name in _ALLOWED_PERMANENT)):
            bad.append(name)
    return bad


class InstanceRestorer:
    """Target-side work for DB snapshots: copy under the target's key, restore, wait, hand over the secret."""

    def __init__(
        self,
        rds: RDSClient,
        keys: KeyManager,
        *,
        account_id: str,
        region: str,
        emit: Emitter | EventHook | None = None,
        wait: WaitPolicy | None = None,
        copier: SnapshotCopier,
        watcher: Watcher | None = None,
    ) -> None:
        self._rds, self._watcher = rds, watcher
        self._keys = keys
        self.account_id = account_id
        self.region = region
        self._emit = as_emitter(emit)
        self._wait = wait or WaitPolicy()
        self._copier = copier

    def target_key(self, spec: InstanceRestoreSpec, *, source_encrypted: bool) -> KeyInfo | None:
        """The target-owned key for the copy and the instance (None for an unencrypted snapshot)."""
        if not source_encrypted and spec.kms_key_id is None:
            return None
        return self._keys.target_key(spec.kms_key_id)

    def secret_key(self, key_id: str) -> KeyInfo:
        """The target-account key for the master secret: it must exist and be an enabled symmetric key."""
        info = self._keys.describe(key_id, step="secret-key")
        self._keys.check_usable(info, step="secret-key", allow_aws_managed=True)
        return info

    def find_instance(self, instance_id: str) -> dict[str, Any] | None:
        """The DB instance, or None."""
        try:
            found = self._rds.describe_db_instances(DBInstanceIdentifier=instance_id)["DBInstances"]
        except ClientError as exc:
            if error_code(exc) == "DBInstanceNotFound":
                return None
            raise translate_client_error(exc, step="restore", account_id=self.account_id, resource=instance_id) from exc
        return dict(found[0]) if found else None

    def ensure_local_copy(
        self,
        shared: Mapping[str, Any],
        key: KeyInfo | None,
        *,
        run: str,
        token: str | None = None,
        wait: bool = True,
        source_region: str | None = None,
    ) -> tuple[dict[str, Any], Outcome]:
        """The target's own copy of the shared snapshot, under ``key`` (required for encrypted ones).

        ``wait=False``: as :meth:`SnapshotCopier.ensure_copy` with it (the caller polls the copy).
        ``source_region``: the shared snapshot's region when it is another (``Decisions.pull``).
        """
        shared_arn = INSTANCE.arn(shared)
        if key is None and INSTANCE.encrypted(shared):
            raise InputError("an encrypted shared DB snapshot needs a target key", step="target-copy")
        try:
            return self._copier.ensure_copy(
                source_snapshot=shared_arn,
                target_id=local_copy_id(shared_arn),
                kms_key_id=key.arn if key is not None else None,
                tags=rds_tags(run=run, source=shared_arn, role="target-copy", token=token),
                source=shared_arn,
                step="target-copy",
                source_region=source_region,
                wait=wait,
            )
        except NotFoundError as exc:
            if exc.error_code != INSTANCE.not_found:
                raise
            raise not_visible(
                shared_arn, step="target-copy", account_id=self.account_id, error_code=exc.error_code
            ) from exc

    def ensure_instance(
        self,
        spec: InstanceRestoreSpec,
        *,
        snapshot: Mapping[str, Any],
        run: str,
        token: str | None = None,
        existing: dict[str, Any] | Unread | None = UNREAD,
        wait: bool = True,
        settings: Mapping[str, Any] | None = None,
    ) -> tuple[dict[str, Any], Outcome]:
        """Restore ``spec.instance_id`` from ``snapshot`` (the target's copy), or adopt an earlier restore.

        ``settings``: the parameters the plan carried over from the source (``rdsshare._carry``).

        ``existing``: what the plan found under that id (None: nothing; UNREAD: it did not look).
        ``wait=False`` returns the instance as restored or found (the caller polls it with
        :meth:`observe_instance`).
        """
        step = "restore"
        instance_id = spec.instance_id.lower()
        snapshot_arn = INSTANCE.arn(snapshot)
        on_restore = secret_on_restore(str(snapshot.get("Engine", "")))
        require_secret = spec.manage_master_user_password and on_restore
        if isinstance(existing, Unread):
            existing = self.find_instance(instance_id)
        outcome: Outcome = "adopted"
        made: Any = None  # the instance as the restore call returned it
        if existing is not None:
            check_ours(
                existing.get("TagList"),
                source=snapshot_arn,
                step=step,
                account_id=self.account_id,
                resource=instance_id,
            )
        else:
            # What the plan carried over from the source, or (called without a plan) what the spec sets.
            carried = dict(settings) if settings is not None else as_params(instance_restore_settings(None, spec))
            user_tags = {t["Key"]: t["Value"] for t in carried.pop("Tags", ())} | dict(spec.tags)
            params: dict[str, Any] = {
                "DBInstanceIdentifier": instance_id,
                "DBSnapshotIdentifier": snapshot_arn,
                "DBInstanceClass": spec.instance_class,
                "PubliclyAccessible": False,
                "CopyTagsToSnapshot": True,
                "Tags": rds_tags(run=run, source=snapshot_arn, role="restored-instance", extra=user_tags, token=token),
                **carried,
            }
            if spec.subnet_group:
                params["DBSubnetGroupName"] = spec.subnet_group
            if spec.security_group_ids:
                params["VpcSecurityGroupIds"] = list(spec.security_group_ids)
            if spec.manage_master_user_password and on_restore:
                params["ManageMasterUserPassword"] = True
                if spec.master_user_secret_kms_key_id:
                    params["MasterUserSecretKmsKeyId"] = spec.master_user_secret_kms_key_id
            self._emit(
                StepStarted(step=step, account_id=self.account_id, resource=instance_id, action="restore instance")
            )
            try:
                made = self._rds.restore_db_instance_from_db_snapshot(**params).get("DBInstance")
                outcome = "created"
            except ClientError as exc:
                if error_code(exc) == INSTANCE.not_found:
                    raise not_visible(
                        snapshot_arn, step=step, account_id=self.account_id, error_code=error_code(exc)
                    ) from exc
                if error_code(exc) != "DBInstanceAlreadyExists":
                    raise translate_client_error(
                        exc, step=step, account_id=self.account_id, resource=instance_id
                    ) from exc
                raced = self.find_instance(instance_id)
                check_ours(
                    raced.get("TagList") if raced else None,
                    source=snapshot_arn,
                    step=step,
                    account_id=self.account_id,
                    resource=instance_id,
                )
                made = raced
        if not wait:
            known = existing if existing is not None else made
            return dict(known or {"DBInstanceIdentifier": instance_id, "DBInstanceStatus": "creating"}), outcome
        if existing is not None and instance_observation(existing, require_secret=require_secret).done:
            instance = existing  # described moments ago: nothing to wait for
        else:
            instance = self.wait_instance(instance_id, require_secret=require_secret)
        self.finished(step, instance_id, outcome, instance.get("DBInstanceArn"))
        return instance, outcome

    def finished(self, step: str, resource: str, outcome: Outcome, arn: str | None = None) -> None:
        """Report that a step on ``resource`` is done (after its wait)."""
        self._emit(StepFinished(step=step, account_id=self.account_id, resource=resource, outcome=outcome, arn=arn))

    def ensure_master_secret(
        self, spec: InstanceRestoreSpec, *, instance: Mapping[str, Any], wait: bool = True
    ) -> tuple[str | None, Outcome]:
        """Have RDS manage the restored instance's master password in the target's Secrets Manager.

        ``instance`` is the instance as the restore last described it. ``wait=False`` returns
        ``(None, "created")`` right after the modify (the caller polls for the secret).
        """
        instance_id = str(instance["DBInstanceIdentifier"])
        if not spec.manage_master_user_password:
            self._emit(
                StepSkipped(
                    step="secret",
                    account_id=self.account_id,
                    resource=instance_id,
                    reason="manage_master_user_password=False",
                )
            )
            return None, "unchanged"
        params: dict[str, Any] = {
            "DBInstanceIdentifier": instance_id,
            "ManageMasterUserPassword": True,
            "ApplyImmediately": True,
        }
        if spec.master_user_secret_kms_key_id:
            params["MasterUserSecretKmsKeyId"] = spec.master_user_secret_kms_key_id

        def current() -> str | None:
            found = (self.find_instance(instance_id) or {}).get("MasterUserSecret", {}).get("SecretArn")
            return str(found) if found else None

        def wait_secret() -> str:
            return str(self.wait_instance(instance_id, require_secret=True)["MasterUserSecret"]["SecretArn"])

        return hand_over_secret(
            modify=lambda: self._rds.modify_db_instance(**params),
            current_secret=current,
            wait_for_secret=wait_secret if wait else None,
            known_secret=instance.get("MasterUserSecret", {}).get("SecretArn"),
            account_id=self.account_id,
            resource=instance_id,
            emit=self._emit,
        )

    def observe_instance(
        self, instance_id: str, *, require_secret: bool, fresh: Freshness | None = None
    ) -> tuple[Observation | None, dict[str, Any] | None]:
        """One poll of a wait for the instance: how it stands (None: not visible) and its description.

        With a watcher and ``fresh``, the poll is shared with the other waits of this account and region.
        """

        def error(exc: ClientError) -> Exception:
            return translate_client_error(exc, step="restore", account_id=self.account_id, resource=instance_id)

        [found], seen = lookup(self._watcher, INSTANCES, [instance_id], fresh, find=self.find_instance, error=error)
        if found is None:
            return None, None
        return instance_observation(found, require_secret=require_secret, seen_at=seen), found

    def wait_instance(self, instance_id: str, *, require_secret: bool) -> dict[str, Any]:
        """Poll until the instance is available (and has its managed secret, if asked)."""
        observe, account = (lambda: self.observe_instance(instance_id, require_secret=require_secret)), self.account_id
        return wait_seen(
            observe, step="restore", account_id=account, resource=instance_id, emit=self._emit, policy=self._wait
        )
