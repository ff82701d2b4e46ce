"""Preflight: every check a run needs, with read-only calls only, reported all at once.

It builds the :class:`~rdsshare.Plan` (steps and problems) and the findings the run starts from
(:mod:`rdsshare._findings`). Only ``Describe*``, ``Get*``, ``List*`` and ``sts:GetCallerIdentity``
are called here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from botocore.exceptions import ClientError

from ._copier import SnapshotCopier
from ._errors import RdsShareError, error_code, error_message, translate_client_error
from ._events import Emitter
from ._findings import Findings
from ._instance import InstanceRestoreSpec, local_copy_id, secret_on_restore, unshareable_options
from ._keys import KeyInfo, KeyManager
from ._kinds import CLUSTER, EncryptionType, SnapshotKind, describe_encryption, encryption_type
from ._naming import (
    KEY_ALIAS,
    MANAGED_BY,
    TAG_MANAGED_BY,
    TAG_SOURCE,
    copy_id,
    derived_id,
    ownership_problem,
    tag_dict,
)
from ._policy import CmkPolicyBuilder, allows_put_key_policy
from ._share import MAX_SHARED_ACCOUNTS, ShareManager
from ._waiting import TRANSIENT_CODES, is_transient

if TYPE_CHECKING:
    from ._session import AccountSession

from ._plan import SHARE_KEY, Action, Decisions, Plan, PlanStep, Problem

__all__ = ["Preflight"]

_log = logging.getLogger("rdsshare.plan")
T = TypeVar("T")


def _restored(facts: dict[str, Any] | None) -> EncryptionType:
    """How a restore without a KMS key comes out: Aurora encrypts every new cluster (sse-rds) since 2026-02-18."""
    kind: EncryptionType = (facts or {}).get("encryption") or "none"
    engine = str((facts or {}).get("engine") or "")
    return "sse-rds" if kind == "sse-rds" or engine.startswith("aurora") else kind


class Preflight:
    """Builds a :class:`Plan` for the cluster flow with read-only calls."""

    def __init__(
        self,
        *,
        source: AccountSession,
        target: AccountSession,
        run: str,
        home_keys: KeyManager,
        keys: KeyManager,
        copier: SnapshotCopier,
        share_copier: SnapshotCopier,
        restorer: Any,
        kind: SnapshotKind = CLUSTER,
    ) -> None:
        self.kind = kind
        self.source = source
        self.target = target
        self.run = run
        self.src = source.account_id
        self.tgt = target.account_id
        self.tgts: list[str] = [self.tgt]
        self.region = target.region
        self.cross_region = source.region != target.region
        self.share_source = source.in_region(target.region)
        self.home_keys = home_keys
        self.keys = keys
        self.copier = copier
        self.share_copier = share_copier
        self.restorer = restorer
        #: what the reads found, handed to the run's steps as arguments (see rdsshare._findings)
        self.found = Findings()
        #: the ARN of the snapshot the run will share (None until decided): what a restore comes from
        self.shared_arn: str | None = None
        # snapshots looked up together (lower-cased id -> snapshot or None)
        self._found: dict[str, dict[str, Any] | None] = {}
        self.steps: list[PlanStep] = []
        self.problems: list[Problem] = []
        #: what the run will do on the source side (set by the key and copy checks)
        self.decisions: Decisions | None = None

    # -- bookkeeping ---------------------------------------------------------------------------
    def _step(self, step: str, account: str, action: Action, resource: str, reason: str) -> None:
        self.steps.append(PlanStep(step=step, account_id=account, action=action, resource=resource, reason=reason))

    def _problem(
        self, check: str, message: str, fix: str, *, account: str | None, resource: str | None, code: str | None = None
    ) -> None:
        self.problems.append(
            Problem(check=check, message=message, fix=fix, account_id=account, resource=resource, error_code=code)
        )

    def _try(self, check: str, account: str, resource: str, fix: str, fn: Callable[[], T]) -> T | None:
        """Run a read-only call; a refusal becomes a problem and None.

        Throttling and AWS-side failures that outlasted botocore's retries are no problem of the input:
        they raise, as a retryable :class:`~rdsshare.AwsError`.
        """
        try:
            return fn()
        except ClientError as exc:
            if is_transient(exc):
                raise translate_client_error(exc, step="preflight", account_id=account, resource=resource) from exc
            self._problem(
                check,
                error_message(exc) or error_code(exc),
                fix,
                account=account,
                resource=resource,
                code=error_code(exc),
            )
        except RdsShareError as exc:
            if exc.error_code in TRANSIENT_CODES:
                raise
            self._problem(check, exc.message, exc.fix or fix, account=account, resource=resource, code=exc.error_code)
        return None

    def plan(self) -> Plan:
        return Plan(
            run_name=self.run,
            source_account_id=self.src,
            target_account_id=self.tgt,
            region=self.region,
            steps=tuple(self.steps),
            problems=tuple(self.problems),
            decisions=self.decisions,
        )

    @property
    def resuming(self) -> bool:
        """Whether an earlier run of the same share got as far as making something (it may have crashed)."""
        return any(s.action == "adopt" and s.step in ("snapshot", "copy", "restore") for s in self.steps)

    # -- the checks ----------------------------------------------------------------------------
    def check(
        self,
        *,
        cluster_id: str | None,
        snapshot_id: str | None,
        restore: Any,
        source_kms_key: str | None,
        admins: tuple[str, ...],
        more_targets: Sequence[tuple[AccountSession, Any, Any]] = (),
    ) -> Plan:
        """All checks; ``more_targets`` are further (session, restorer, spec) beyond the first target."""
        self.tgts = [self.tgt, *(t.account_id for t, _, _ in more_targets)]
        facts = self._source(cluster_id, snapshot_id)
        if facts is not None:
            self._keys_and_copy(facts, source_kms_key, admins)
        if restore is not None and self.restorer is not None:
            self._target(restore, facts)
        first = (self.target, self.tgt, self.restorer)
        for session, restorer, spec in more_targets:
            if spec is None or restorer is None:
                continue
            self.target, self.tgt, self.restorer = session, session.account_id, restorer
            try:
                self._target(spec, facts)
            finally:
                self.target, self.tgt, self.restorer = first
        return self.plan()

    def _describe_source(self, source_id: str) -> dict[str, Any] | None:
        """The source cluster or instance, normalized: arn, status, encryption, key, engine, option groups."""
        rds = self.source.rds()
        if self.kind.name == "cluster":
            found = self._try(
                "source-cluster",
                self.src,
                source_id,
                "check cluster_id and the source session's region",
                lambda: rds.describe_db_clusters(DBClusterIdentifier=source_id)["DBClusters"],
            )
            if not found:
                return None
            c = found[0]
            return {
                "arn": c["DBClusterArn"],
                "status": c.get("Status"),
                "encrypted": c.get("StorageEncrypted"),
                "encryption": encryption_type(c),
                "key": c.get("KmsKeyId"),
                "engine": c.get("Engine"),
                "engine_version": c.get("EngineVersion"),
                "option_groups": [],
            }
        found_i = self._try(
            "source-instance",
            self.src,
            source_id,
            "check instance_id and the source session's region",
            lambda: rds.describe_db_instances(DBInstanceIdentifier=source_id)["DBInstances"],
        )
        if not found_i:
            return None
        i = found_i[0]
        return {
            "arn": i["DBInstanceArn"],
            "status": i.get("DBInstanceStatus"),
            "encrypted": i.get("StorageEncrypted"),
            "encryption": encryption_type(i),
            "key": i.get("KmsKeyId"),
            "engine": i.get("Engine"),
            "engine_version": i.get("EngineVersion"),
            "option_groups": [
                m["OptionGroupName"] for m in i.get("OptionGroupMemberships", []) if m.get("OptionGroupName")
            ],
        }

    def _source(self, cluster_id: str | None, snapshot_id: str | None) -> dict[str, Any] | None:
        """The facts about the starting point: engine, encryption, key, snapshot id/arn, automated."""
        K = self.kind
        if cluster_id is not None:
            src = self._describe_source(cluster_id)
            if src is None:
                return None
            self.found.source_arn = str(src["arn"])
            if src["status"] not in ("available", "backing-up"):
                self._problem(
                    f"source-{K.name}",
                    f"{K.name} {cluster_id} is {src['status']}",
                    "wait until it is available",
                    account=self.src,
                    resource=src["arn"],
                )
            snap_id = derived_id(cluster_id, self.run, limit=K.id_limit)
            # One describe answers for the snapshot and every copy id the run may need (same region).
            copies = [copy_id(snap_id, self.run, suffix, limit=K.id_limit) for suffix in ("cmk", "manual")]
            ids = [snap_id] if self.cross_region else [snap_id, *copies]
            found = self._try(
                "snapshot", self.src, snap_id, "check RDS permissions", lambda: self.copier.find_many(ids)
            )
            if found is None:
                return None
            self._found.update(found)
            existing = found[snap_id.lower()]
            self.found.snapshots[snap_id.lower()] = existing
            if existing is not None:
                self._ours("snapshot", self.src, f"snapshot {snap_id}", existing, source=str(src["arn"]))
                self._step("snapshot", self.src, "adopt", snap_id, "made by an earlier run")
            else:
                self._step("snapshot", self.src, "create", snap_id, f"manual snapshot of {K.name} {cluster_id}")
            facts = {
                "id": snap_id,
                "arn": existing.get(K.arn_field) if existing else self._arn(self.source.region, snap_id),
                "exists": existing is not None,
                "automated": False,
                "encrypted": src["encryption"] == "sse-kms",
                "encryption": src["encryption"],
                "key": src["key"],
                "engine": src["engine"],
                "engine_version": src["engine_version"],
            }
            self._option_groups(src["option_groups"], str(src["engine"] or ""))
            return facts
        assert snapshot_id is not None
        snap = self._try("snapshot", self.src, snapshot_id, "check the id/ARN", lambda: self.copier.find(snapshot_id))
        if snap is None:
            if not any(p.check == "snapshot" for p in self.problems):
                self._problem(
                    "snapshot",
                    f"{K.noun} {snapshot_id} not found",
                    "check the id/ARN and the source session's account and region",
                    account=self.src,
                    resource=snapshot_id,
                    code=K.not_found,
                )
            return None
        if snap.get("Status") in ("failed", "error"):
            self._problem(
                "snapshot",
                f"snapshot {snapshot_id} is {snap.get('Status')}",
                "take a new snapshot",
                account=self.src,
                resource=K.arn(snap),
            )
        self.found.snapshots[snapshot_id.lower()] = snap
        self._step("snapshot", self.src, "skip", K.ident(snap), "starting from an existing snapshot")
        if snap.get("OptionGroupName"):
            self._option_groups([str(snap["OptionGroupName"])], str(snap.get("Engine") or ""))
        return self._facts(snap)

    def _option_groups(self, names: list[str], engine: str) -> None:
        """DB snapshots with permanent/persistent options (TDE...) cannot be shared [RDS-SHARE]."""
        for name in names:
            try:
                groups = self.source.rds().describe_option_groups(OptionGroupName=name)["OptionGroupsList"]
            except ClientError as exc:
                if "NotFound" in error_code(exc):
                    continue  # default option groups are not always describable
                self._problem("share", error_message(exc), "check RDS permissions", account=self.src, resource=name)
                continue
            for group in groups:
                bad = unshareable_options(list(group.get("Options", [])), engine)
                if bad:
                    self._problem(
                        "share",
                        f"option group {name} has options that stop its snapshots from being shared: {', '.join(bad)}",
                        "AWS does not share such snapshots; move the database to an option group without them "
                        "(or, for TDE, export the data instead)",
                        account=self.src,
                        resource=str(group.get("OptionGroupArn", name)),
                    )

    def _facts(self, snap: dict[str, Any]) -> dict[str, Any]:
        K = self.kind
        return {
            "id": K.ident(snap),
            "arn": K.arn(snap),
            "exists": True,
            "automated": snap.get("SnapshotType") != "manual",
            "encrypted": K.encrypted(snap),
            "encryption": encryption_type(snap, K.encrypted_field),
            "key": snap.get("KmsKeyId"),
            "engine": snap.get("Engine"),
            "engine_version": snap.get("EngineVersion"),
        }

    def _keys_and_copy(self, facts: dict[str, Any], source_kms_key: str | None, admins: tuple[str, ...]) -> None:
        builder = CmkPolicyBuilder(
            owner_account_id=self.src,
            target_account_ids=self.tgts,
            admin_principals=admins,
            partition=self.source.partition,
            region=self.region,
        )
        key: KeyInfo | None = None
        if facts["encrypted"] and facts["key"]:
            key = self._try(
                "source-key",
                self.src,
                facts["key"],
                "allow kms:DescribeKey on the snapshot's key",
                lambda: self._key(facts["key"], self.home_keys),
            )
            if key is None:
                return
        copy_key: KeyInfo | None = None
        grant_key: str | None = None
        needs_cmk = key is not None and (key.aws_managed or source_kms_key is not None or self.cross_region)
        if needs_cmk and source_kms_key is not None:
            grant_key = source_kms_key
            copy_key = self._try(
                "source-key",
                self.src,
                source_kms_key,
                "pass a key of the source account",
                lambda: self._key(source_kms_key, self.keys),
            )
            if copy_key is not None:
                self._usable(copy_key)
                self._policy_step(copy_key, builder)
                if key is not None and copy_key.arn == key.arn:
                    copy_key = None
        elif needs_cmk:
            grant_key = SHARE_KEY
            existing = self._try(
                "source-key",
                self.src,
                KEY_ALIAS,
                "allow kms:DescribeKey",
                self._share_key,
            )
            if existing is not None:
                self._usable(existing)
                self._policy_step(existing, builder)
                copy_key = existing
            else:
                self._step(
                    "source-key",
                    self.src,
                    "create",
                    KEY_ALIAS,
                    "the snapshot uses the AWS-managed aws/rds key, which cannot be shared",
                )
                # The key's policy names the principal that manages it (see CmkPolicyBuilder.managers).
                manager = self._try(
                    "source-key",
                    self.src,
                    self.source.caller_arn,
                    "allow iam:GetRole on the session's role",
                    lambda: (self.source.principal_arn(),),
                )
                self.found.key_managers = tuple(m for m in manager or () if m)
                copy_key = KeyInfo(
                    arn=KEY_ALIAS,
                    key_id=KEY_ALIAS,
                    account_id=self.src,
                    region=self.region,
                    manager="CUSTOMER",
                    state="Enabled",
                    spec="SYMMETRIC_DEFAULT",
                    usage="ENCRYPT_DECRYPT",
                )
        elif key is not None:
            grant_key = facts["key"]
            self._usable(key)
            self._policy_step(key, builder)
        else:
            why = (
                "snapshot is encrypted with an AWS owned key (sse-rds): there is no customer key to extend"
                if facts["encryption"] == "sse-rds"
                else "snapshot is not encrypted"
            )
            self._step("source-key", self.src, "skip", facts["id"], why)

        needed = 1 if not facts["exists"] else 0
        copies = not (copy_key is None and not facts["automated"] and not self.cross_region)
        if not copies:
            self._step("copy", self.src, "skip", facts["id"], "snapshot can be shared as it is")
            shared_id, shared_exists = facts["id"], facts["exists"]
        else:
            suffix = "cmk" if copy_key else ("copy" if self.cross_region else "manual")
            shared_id = copy_id(facts["id"], self.run, suffix, limit=self.kind.id_limit)
            problems = len(self.problems)
            if shared_id.lower() in self._found:
                found = self._found[shared_id.lower()]
            else:
                found = self._try(
                    "copy", self.src, shared_id, "check RDS permissions", lambda: self.share_copier.find(shared_id)
                )
            if len(self.problems) == problems:
                self.found.snapshots[shared_id.lower()] = found
            shared_exists = found is not None
            if found is not None:
                self._ours("copy", self.src, f"snapshot {shared_id}", found, source=str(facts["arn"]))
                self._step("copy", self.src, "adopt", shared_id, "made by an earlier run")
            else:
                if self.cross_region:
                    why = f"copy to {self.region} (keys and snapshots are region-bound), shared there"
                elif copy_key:
                    why = "re-encrypt under the CMK so it can be shared"
                else:
                    why = "automated snapshots cannot be shared"
                self._step("copy", self.src, "create", shared_id, why)
                needed += 1
        self._quota(needed)
        self.decisions = Decisions(
            start_id=facts["id"],
            snapshot_key=facts["key"] if key is not None else None,
            grant_key=grant_key,
            copy=copies,
            copy_key=None if copy_key is None else (SHARE_KEY if grant_key == SHARE_KEY else grant_key),
            shared_id=shared_id,
        )
        self.shared_arn = facts["arn"] if shared_id == facts["id"] else self._arn(self.region, shared_id)
        if shared_exists:
            accounts = self._try(
                "share",
                self.src,
                shared_id,
                "allow rds:DescribeDBClusterSnapshotAttributes",
                lambda: self._shared_with(shared_id),
            )
            if accounts is not None:
                self.found.shared_with[shared_id.lower()] = accounts
                after = set(accounts) | set(self.tgts)
                if len(after) > MAX_SHARED_ACCOUNTS:
                    self._problem(
                        "share",
                        f"snapshot {shared_id} is shared with {len(accounts)} accounts; adding "
                        f"{', '.join(t for t in self.tgts if t not in accounts)} makes {len(after)}, and AWS allows "
                        f"{MAX_SHARED_ACCOUNTS}",
                        "unshare accounts that no longer need it, or share from another snapshot",
                        account=self.src,
                        resource=shared_id,
                        code="SharedSnapshotQuotaExceeded",
                    )
            if accounts is not None and all(t in accounts for t in self.tgts):
                self._step("share", self.src, "skip", shared_id, f"already shared with {', '.join(self.tgts)}")
                return
        self._step("share", self.src, "update", shared_id, f"add {', '.join(self.tgts)} to the restore attribute")

    # -- reads whose answers the run starts from ---------------------------------------------
    def _key(self, key: str, keys: KeyManager) -> KeyInfo:
        info = keys.describe(key, step="source-key")
        self.found.keys[key] = info
        return info

    def _share_key(self) -> KeyInfo | None:
        self.found.share_key = info = self.keys.find_share_key()
        return info

    def _policy(self, key_id: str) -> dict[str, Any]:
        self.found.policies[key_id] = policy = self.keys.key_policy(key_id)
        return policy

    def _target_key(self, key: KeyInfo | None) -> KeyInfo | None:
        self.found.target_keys[self.tgt] = key
        return key

    def _arn(self, region: str, ident: str) -> str:
        """The ARN of this run's snapshot ``ident`` in the source account and ``region``."""
        return f"arn:{self.source.partition}:rds:{region}:{self.src}:{self.kind.arn_type}:{ident}"

    def _ours(self, check: str, account: str, noun: str, found: Any, *, source: str | None) -> bool:
        """The run's ownership rule (:func:`ownership_problem`), as a problem of the plan."""
        problem = ownership_problem(found.get("TagList"), source=source)
        if problem is None:
            return True
        message, fix = problem
        arn = found.get(self.kind.arn_field) or found.get("DBClusterArn") or found.get("DBInstanceArn")
        self._problem(check, f"{noun} {message}", fix, account=account, resource=arn)
        return False

    def _shared_with(self, snapshot_id: str) -> list[str]:
        return ShareManager(
            self.share_source.rds(), account_id=self.src, emit=Emitter(None), kind=self.kind
        ).shared_with(snapshot_id)

    def _usable(self, key: KeyInfo) -> None:
        try:
            self.keys.check_usable(key, step="source-key")
        except RdsShareError as exc:
            self._problem("source-key", exc.message, exc.fix or "", account=self.src, resource=key.arn)

    def _policy_step(self, key: KeyInfo, builder: CmkPolicyBuilder) -> None:
        policy = self._try(
            "source-key",
            self.src,
            key.arn,
            "allow kms:GetKeyPolicy on the key",
            lambda: self._policy(key.key_id),
        )
        if policy is None:
            return
        try:
            merged = builder.merge(policy)
            if merged != policy and not allows_put_key_policy(policy, caller_arn=self.source.caller_arn):
                # KMS judges a PutKeyPolicy by the policy in place: this caller may not write it.
                self._problem(
                    "source-key",
                    f"the policy of key {key.arn} does not allow {self.source.caller_arn} kms:PutKeyPolicy "
                    f"(nor defers it to IAM), so rdsshare cannot grant {', '.join(self.tgts)}",
                    "add the grant yourself (rdsshare policy key prints it), or allow the caller "
                    "kms:PutKeyPolicy in the key policy",
                    account=self.src,
                    resource=key.arn,
                    code="AccessDeniedException",
                )
                return
            builder.check_lockout(merged, caller_arn=self.source.caller_arn)
        except RdsShareError as exc:
            self._problem(
                "source-key", exc.message, exc.fix or "fix the key policy", account=self.src, resource=key.arn
            )
            return
        if merged == policy:
            self._step("source-key", self.src, "adopt", key.arn, f"key policy already grants {', '.join(self.tgts)}")
        else:
            self._step(
                "source-key", self.src, "update", key.arn, f"grant {', '.join(self.tgts)} use of the key in its policy"
            )

    def _quota(self, needed: int) -> None:
        """Room for ``needed`` more manual snapshots in the account's quota.

        The quota is adjustable (100 by default), so it is read with its usage, not assumed
        [BC-RDS DescribeAccountAttributes].
        """
        if not needed:
            return
        name = self.kind.quota_name

        def read() -> tuple[int, int] | None:
            quotas = self.share_source.rds().describe_account_attributes().get("AccountQuotas", [])
            for quota in quotas:
                if quota.get("AccountQuotaName") == name:
                    return int(quota.get("Used", 0)), int(quota.get("Max", 0))
            return None

        found = self._try("quota", self.src, name, "allow rds:DescribeAccountAttributes", read)
        if found is None:
            return
        used, limit = found
        if used + needed > limit:
            noun = "manual cluster snapshots" if self.kind.name == "cluster" else "manual DB snapshots"
            self._problem(
                "quota",
                f"{used} {noun} exist in {self.region}; this run needs {needed} more and the quota is {limit}",
                "delete unused manual snapshots or raise the quota in Service Quotas",
                account=self.src,
                resource=name,
                code="SnapshotQuotaExceeded",
            )

    # -- target --------------------------------------------------------------------------------
    def _target(self, spec: Any, facts: dict[str, Any] | None) -> None:
        if isinstance(spec, InstanceRestoreSpec):
            self._target_instance(spec, facts)
            return
        restorer = self.restorer
        assert restorer is not None
        cluster_id = spec.cluster_id.lower()
        encrypted = bool(facts and facts["encrypted"])
        key = self._try(
            "target-key",
            self.tgt,
            spec.kms_key_id or "alias/aws/rds",
            "pass an enabled symmetric key of the target account and region",
            lambda: self._target_key(restorer.target_key(spec, source_encrypted=encrypted)),
        )
        existing = self._restore_step(
            cluster_id,
            lambda: restorer.find_cluster(cluster_id),
            noun="cluster",
            arn_field="DBClusterArn",
            code="DBClusterAlreadyExistsFault",
            source=self.shared_arn,
            create_reason="restore from the shared snapshot, "
            + (describe_encryption("sse-kms", key.arn) if key else describe_encryption(_restored(facts))),
        )
        self._environment(spec, facts)
        members = self._instances_taken(spec.instance_ids, cluster_id)
        for instance_id in spec.instance_ids:
            self._step(
                "instances", self.tgt, "adopt" if instance_id in members else "create", instance_id, spec.instance_class
            )
        self._groups(
            "parameter-group",
            spec.cluster_parameter_group,
            "DB cluster parameter group",
            lambda name: self.target.rds().describe_db_cluster_parameter_groups(DBClusterParameterGroupName=name),
        )
        self._secret_key(spec)
        if spec.manage_master_user_password:
            has_secret = bool(existing and existing.get("MasterUserSecret"))
            self._step(
                "secret",
                self.tgt,
                "adopt" if has_secret else "create",
                cluster_id,
                "ModifyDBCluster(ManageMasterUserPassword=True)",
            )

    def _target_instance(self, spec: InstanceRestoreSpec, facts: dict[str, Any] | None) -> None:
        restorer = self.restorer
        instance_id = spec.instance_id.lower()
        encrypted = bool(facts and facts["encrypted"])
        key = self._try(
            "target-key",
            self.tgt,
            spec.kms_key_id or "alias/aws/rds",
            "pass an enabled symmetric key of the target account and region",
            lambda: self._target_key(restorer.target_key(spec, source_encrypted=encrypted)),
        )
        if encrypted:
            self._step(
                "target-copy",
                self.tgt,
                "create",
                instance_id,
                "AWS restores a shared encrypted DB snapshot only from a copy under the target's key",
            )
        existing = self._restore_step(
            instance_id,
            lambda: restorer.find_instance(instance_id),
            noun="DB instance",
            arn_field="DBInstanceArn",
            code="DBInstanceAlreadyExists",
            source=self._restore_source(encrypted),
            create_reason="restore from the target's copy, "
            + (describe_encryption("sse-kms", key.arn) if key else describe_encryption(_restored(facts))),
        )
        if spec.manage_master_user_password:
            has_secret = bool(existing and existing.get("MasterUserSecret"))
            how = (
                "RestoreDBInstanceFromDBSnapshot(ManageMasterUserPassword=True)"
                if secret_on_restore(str((facts or {}).get("engine") or ""))
                else "ModifyDBInstance(ManageMasterUserPassword=True) after the restore"
            )
            self._step("secret", self.tgt, "adopt" if has_secret else "create", instance_id, how)
        self._environment(spec, facts)
        self._groups(
            "parameter-group",
            spec.parameter_group,
            "DB parameter group",
            lambda name: self.target.rds().describe_db_parameter_groups(DBParameterGroupName=name),
        )
        self._secret_key(spec)

    def _instances_taken(self, wanted: list[str], cluster_id: str) -> dict[str, dict[str, Any]]:
        """Refuse instance ids another database holds; return those already members of ``cluster_id``."""
        if not wanted:
            return {}
        problems = len(self.problems)
        found = self._try(
            "instances",
            self.tgt,
            ",".join(wanted),
            "check RDS permissions",
            lambda: self.target.rds().describe_db_instances(
                Filters=[{"Name": "db-instance-id", "Values": list(wanted)}]
            )["DBInstances"],
        )
        members: dict[str, dict[str, Any]] = {}
        for instance in found or []:
            ident = str(instance["DBInstanceIdentifier"]).lower()
            if str(instance.get("DBClusterIdentifier") or "").lower() == cluster_id:
                members[ident] = dict(instance)
                continue
            self._problem(
                "instances",
                f"DB instance {ident} already exists outside cluster {cluster_id}",
                "delete or rename that instance, or restore under another cluster id",
                account=self.tgt,
                resource=instance.get("DBInstanceArn"),
                code="DBInstanceAlreadyExists",
            )
        if len(self.problems) == problems:  # read without trouble: the run adopts exactly these
            self.found.members[self.tgt] = members
        return members

    def _groups(self, check: str, name: str | None, noun: str, describe: Callable[[str], Any]) -> None:
        """A named group of the target account exists (the restore names it after the copy and the share)."""
        if name:
            self._try(
                check,
                self.tgt,
                name,
                f"create the {noun} {name} in the target account and region",
                lambda: describe(name),
            )

    def _secret_key(self, spec: Any) -> None:
        """The key for the master secret exists in the target and can encrypt."""
        key_id = spec.master_user_secret_kms_key_id
        if key_id and spec.manage_master_user_password:
            restorer = self.restorer
            self._try(
                "secret-key",
                self.tgt,
                key_id,
                "pass an enabled symmetric key of the target account and region",
                lambda: restorer.secret_key(key_id),
            )

    def _restore_source(self, encrypted: bool) -> str | None:
        """What the target's DB instance is restored from: its own copy when encrypted, else the share."""
        if self.shared_arn is None or not encrypted:
            return self.shared_arn
        return f"arn:{self.target.partition}:rds:{self.region}:{self.tgt}:snapshot:{local_copy_id(self.shared_arn)}"

    def _restore_step(
        self,
        ident: str,
        find: Callable[[], Any],
        *,
        noun: str,
        arn_field: str,
        code: str,
        create_reason: str,
        source: str | None,
    ) -> Any:
        """Plan the restore of ``ident``: adopt an earlier rdsshare restore, refuse anyone else's."""
        problems = len(self.problems)
        existing = self._try("restore", self.tgt, ident, "check RDS permissions", find)
        if len(self.problems) == problems:  # the lookup worked: the run starts from its answer
            self.found.restores[(self.tgt, ident.lower())] = existing
        if existing is None:
            self._step("restore", self.tgt, "create", ident, create_reason)
            return None
        tags = tag_dict(existing.get("TagList"))
        if tags.get(TAG_MANAGED_BY) != MANAGED_BY:
            self._problem(
                "restore",
                f"{noun} {ident} already exists and was not restored by rdsshare",
                f"pick another restore id for the {noun}",
                account=self.tgt,
                resource=existing.get(arn_field),
                code=code,
            )
        elif self._ours("restore", self.tgt, f"{noun} {ident}", existing, source=source):
            self._step("restore", self.tgt, "adopt", ident, f"restored by an earlier run from {tags.get(TAG_SOURCE)}")
        return existing

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
