"""KMS keys: detect who manages a snapshot's key, and ensure the source CMK grants the targets."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import attrs
from botocore.exceptions import BotoCoreError, ClientError

from ._errors import (
    ConflictError,
    KeyNotAccessibleError,
    RdsShareError,
    error_code,
    translate_client_error,
)
from ._events import Emitter, EventHook, Outcome, Retrying, StepFinished, StepStarted, as_emitter
from ._findings import UNREAD, Unread
from ._naming import KEY_ALIAS, MANAGED_BY, TAG_MANAGED_BY, tag_dict
from ._policy import CmkPolicyBuilder
from ._policy_write import key_lock, rewrite_key_policy
from ._waiting import is_transient, retry_call, sleep

if TYPE_CHECKING:
    from mypy_boto3_kms import KMSClient
    from mypy_boto3_kms.type_defs import TagTypeDef

__all__ = ["KeyInfo", "KeyManager"]

_log = logging.getLogger("rdsshare.keys")
T = TypeVar("T")

#: Right after CreateKey/PutKeyPolicy, KMS may briefly answer NotFound/InvalidState [KMS-EC].
KMS_PROPAGATION_CODES = ("NotFoundException", "KMSInvalidStateException")
KMS_PROPAGATION_SECONDS = 120.0
CREATE_KEY_ATTEMPTS = 5
KEY_DESCRIPTION = "rdsshare: re-encrypts RDS snapshots so they can be shared with other accounts"


@attrs.frozen(kw_only=True)
class KeyInfo:
    """What ``kms:DescribeKey`` says about a key."""

    arn: str
    key_id: str
    account_id: str
    region: str
    manager: str
    state: str
    spec: str
    usage: str
    multi_region: bool = False

    @property
    def aws_managed(self) -> bool:
        """An AWS-managed key such as ``aws/rds``: snapshots under it cannot be shared [AUR-ENCSHARE]."""
        return self.manager == "AWS"

    @classmethod
    def from_metadata(cls, meta: Any) -> KeyInfo:
        """Build from ``describe_key()["KeyMetadata"]``."""
        arn = str(meta["Arn"])
        parts = arn.split(":")
        return cls(
            arn=arn,
            key_id=str(meta["KeyId"]),
            account_id=parts[4],
            region=parts[3],
            manager=str(meta.get("KeyManager", "CUSTOMER")),
            state=str(meta.get("KeyState", "Enabled")),
            spec=str(meta.get("KeySpec", meta.get("CustomerMasterKeySpec", "SYMMETRIC_DEFAULT"))),
            usage=str(meta.get("KeyUsage", "ENCRYPT_DECRYPT")),
            multi_region=bool(meta.get("MultiRegion", False)),
        )


class KeyManager:
    """Key work in one account: describe keys, create or adopt the share CMK, keep its policy.

    Takes its KMS client in; :class:`~rdsshare.AccountSession` makes it. Pass a client from
    ``AccountSession.kms()``: it leaves ``CreateKey`` to rdsshare's own retry, which looks for the key
    first. rdsshare never registers anything on a client you made yourself.
    """

    def __init__(
        self,
        kms: KMSClient,
        *,
        account_id: str,
        region: str,
        caller_arn: str,
        emit: Emitter | EventHook | None = None,
        partition: str = "aws",
    ) -> None:
        self._kms = kms
        self.account_id = account_id
        self.region = region
        self.caller_arn = caller_arn
        self.partition = partition
        self._emit = as_emitter(emit)
        #: key ARN -> the target accounts whose grant this manager's writes added (for the manifest:
        #: cleanup removes only grants its run added)
        self.added: dict[str, set[str]] = {}
        #: keys this manager created, from the moment CreateKey answered: a run that fails before
        #: naming one still lists it in its manifest (and error), so cleanup can retire it
        self.created: list[KeyInfo] = []

    def _fail(self, exc: ClientError, step: str, resource: str) -> Exception:
        return translate_client_error(exc, step=step, account_id=self.account_id, resource=resource)

    def describe(self, key: str, *, step: str) -> KeyInfo:
        """``DescribeKey`` on an id, ARN, alias name or alias ARN."""
        parts = key.split(":")
        if key.startswith("arn:") and len(parts) > 3 and parts[3] != self.region:
            raise KeyNotAccessibleError(
                f"key {key} is in region {parts[3]}; KMS keys are region-bound and this runs in {self.region}",
                step=step,
                account_id=self.account_id,
                resource=key,
                fix=f"pass a key of region {self.region}",
            )
        try:
            meta = self._kms.describe_key(KeyId=key)["KeyMetadata"]
        except ClientError as exc:
            raise self._fail(exc, step, key) from exc
        return KeyInfo.from_metadata(meta)

    def target_key(self, kms_key_id: str | None) -> KeyInfo:
        """The key a target encrypts its copy or restore with: ``kms_key_id``, else its own ``aws/rds``.

        AWS-managed keys are fine here (the target never shares them).
        """
        info = self.describe(kms_key_id or "alias/aws/rds", step="target-key")
        self.check_usable(info, step="target-key", allow_aws_managed=True)
        return info

    def find_share_key(self) -> KeyInfo | None:
        """rdsshare's share key (by its alias), or None."""
        return self._find_by_alias(KEY_ALIAS)

    def check_usable(self, info: KeyInfo, *, step: str, allow_aws_managed: bool = False) -> None:
        """Raise unless ``info`` can encrypt a snapshot copy/restore in this account and region."""
        problems = []
        if not allow_aws_managed and info.aws_managed:
            problems.append("it is an AWS-managed key, whose policy cannot be changed or shared")
        if info.state != "Enabled":
            problems.append(f"its state is {info.state}")
        if info.spec != "SYMMETRIC_DEFAULT" or info.usage != "ENCRYPT_DECRYPT":
            problems.append(f"it is {info.spec}/{info.usage}, RDS needs a symmetric encryption key")
        if info.region != self.region:
            problems.append(f"it is in region {info.region}, but keys are region-bound and this runs in {self.region}")
        if info.account_id != self.account_id:
            problems.append(f"it belongs to account {info.account_id}, not {self.account_id}")
        if problems:
            raise KeyNotAccessibleError(
                f"key {info.arn} cannot be used: " + "; ".join(problems),
                step=step,
                account_id=self.account_id,
                resource=info.arn,
                fix="pass an enabled symmetric customer-managed key of this account and region",
            )

    # -- the share CMK ----------------------------------------------------------------------
    def ensure_share_key(
        self,
        *,
        target_account_ids: Sequence[str],
        admin_principals: Sequence[str] = (),
        managers: Sequence[str] = (),
        tags: Sequence[dict[str, str]] = (),
        look_for_orphans: bool = True,
        found: KeyInfo | Unread | None = UNREAD,
        policies: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> tuple[KeyInfo, Outcome]:
        """Find rdsshare's CMK by alias (or an orphan from a crashed run), or create it.

        ``found`` is the share key the plan found by its alias, which is adopted as it is; when the
        plan found none (or did not look), the alias is looked up again here, under the lock,
        because another run may have made the key since. ``policies``: key policies the plan read
        (by key id), so that an adopted key's grants are not read twice.

        Its policy grants ``target_account_ids``; an adopted key's policy is merged, never
        replaced. A created key's policy lets ``managers`` (the session's IAM principal) manage it,
        so IAM need not grant policy writes or deletion on keys at large. Serialized per account
        and region within the process.

        An orphan is a key a run created but crashed before naming (``CreateAlias``); finding
        one means reading every key of the account (``ListKeys`` + ``DescribeKey`` each).
        ``look_for_orphans=False`` skips that when the caller knows no earlier run of the same
        share got that far (the facade: nothing of this run existed yet); a lost ``CreateKey``
        response is always followed by the search.
        """
        with key_lock(self.account_id, self.region):
            return self._ensure_share_key(
                target_account_ids=target_account_ids,
                admin_principals=admin_principals,
                managers=managers,
                tags=tags,
                look_for_orphans=look_for_orphans,
                found=found,
                policies=policies or {},
            )

    def _ensure_share_key(
        self,
        *,
        target_account_ids: Sequence[str],
        admin_principals: Sequence[str],
        managers: Sequence[str],
        tags: Sequence[dict[str, str]],
        look_for_orphans: bool,
        found: KeyInfo | Unread | None,
        policies: Mapping[str, Mapping[str, Any]],
    ) -> tuple[KeyInfo, Outcome]:
        step = "source-key"
        builder = CmkPolicyBuilder(
            owner_account_id=self.account_id,
            target_account_ids=target_account_ids,
            admin_principals=admin_principals,
            managers=managers,
            partition=self.partition,
            region=self.region,
        )
        # A key the plan found is adopted; "none" may be stale (another run may have made it since).
        info = found if isinstance(found, KeyInfo) else self._find_by_alias(KEY_ALIAS)
        orphan = info is None and look_for_orphans
        if orphan:
            info = self._find_orphan()
        if info is not None:
            if info.state == "PendingDeletion":
                raise KeyNotAccessibleError(
                    f"rdsshare's key {info.arn} is pending deletion",
                    step=step,
                    account_id=self.account_id,
                    resource=info.arn,
                    fix="cancel the deletion (kms cancel-key-deletion, then enable-key) or delete the alias",
                )
            self.check_usable(info, step=step)
            if orphan:
                self._ensure_alias(info)
            outcome = self._ensure_grants(info, builder=builder, policy=policies.get(info.key_id))
            return info, ("adopted" if outcome == "unchanged" else outcome)

        policy = builder.build()
        builder.check_lockout(policy, caller_arn=self.caller_arn)
        self._emit(StepStarted(step=step, account_id=self.account_id, resource=KEY_ALIAS, action="create key"))
        merged_tags = {**{t["Key"]: t["Value"] for t in tags}, TAG_MANAGED_BY: MANAGED_BY}
        kms_tags: list[TagTypeDef] = [{"TagKey": k, "TagValue": v} for k, v in merged_tags.items()]
        info = self._create_key_once(json.dumps(policy), kms_tags)
        self.created.append(info)
        self.added.setdefault(info.arn, set()).update(target_account_ids)
        try:
            self._ensure_alias(info)
        except ConflictError as exc:
            winner = self._find_by_alias(KEY_ALIAS)
            if winner is None or not self._is_ours(winner):
                exc.add_context(f"the key {info.arn} made for it is left unnamed; cleanup schedules its deletion")
                raise
            return self._lost_alias_race(info, winner, builder)
        except RdsShareError as exc:
            exc.add_context(
                f"the key {info.arn} was created but not named {KEY_ALIAS}: the next run adopts it, "
                "cleanup of this run's manifest schedules its deletion"
            )
            raise
        return info, "created"

    def _lost_alias_race(self, info: KeyInfo, winner: KeyInfo, builder: CmkPolicyBuilder) -> tuple[KeyInfo, Outcome]:
        """Another run created the key and its alias at the same time and won the alias.

        Use the winner (after the same ownership check) and retire the key made here.
        """
        self._kms.schedule_key_deletion(KeyId=info.key_id, PendingWindowInDays=7)
        self.created.remove(info)
        _log.info("another run won %s; scheduled deletion of the duplicate %s", KEY_ALIAS, info.arn)
        self.check_usable(winner, step="source-key")
        outcome = self._ensure_grants(winner, builder=builder)
        return winner, ("adopted" if outcome == "unchanged" else outcome)

    def _is_ours(self, info: KeyInfo) -> bool:
        try:
            tags = self._kms.list_resource_tags(KeyId=info.key_id).get("Tags", [])
        except ClientError as exc:
            raise self._fail(exc, "source-key", info.arn) from exc
        return tag_dict(tags).get(TAG_MANAGED_BY) == MANAGED_BY

    def _create_key_once(self, policy: str, tags: list[TagTypeDef]) -> KeyInfo:
        """``CreateKey`` without duplicates.

        CreateKey is not idempotent: if its response is lost (a dropped connection, a 5xx after
        KMS acted) a blind retry makes a second key. botocore's retries are switched off for
        this one call; after a transient failure rdsshare looks for the key it may have made
        (description + ``rdsshare:managed-by`` tag) before trying again.
        """
        for attempt in range(1, CREATE_KEY_ATTEMPTS + 1):
            try:
                meta = self._kms.create_key(
                    Policy=policy,
                    Description=KEY_DESCRIPTION,
                    KeyUsage="ENCRYPT_DECRYPT",
                    KeySpec="SYMMETRIC_DEFAULT",
                    Tags=tags,
                )["KeyMetadata"]
                return KeyInfo.from_metadata(meta)
            except (ClientError, BotoCoreError) as exc:
                if not is_transient(exc) or attempt == CREATE_KEY_ATTEMPTS:
                    if isinstance(exc, ClientError):
                        raise self._fail(exc, "source-key", KEY_ALIAS) from exc
                    raise
                self._emit(
                    Retrying(
                        step="source-key",
                        account_id=self.account_id,
                        resource=KEY_ALIAS,
                        attempt=attempt,
                        error_code=error_code(exc) if isinstance(exc, ClientError) else type(exc).__name__,
                        wait_seconds=float(attempt),
                    )
                )
                sleep(float(attempt))
                orphan = self._find_orphan()
                if orphan is not None:
                    return orphan
        raise AssertionError("unreachable")  # pragma: no cover

    def _find_by_alias(self, alias: str) -> KeyInfo | None:
        try:
            meta = self._kms.describe_key(KeyId=alias)["KeyMetadata"]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "NotFoundException":
                return None
            raise self._fail(exc, "source-key", alias) from exc
        return KeyInfo.from_metadata(meta)

    def _find_orphan(self) -> KeyInfo | None:
        """A key rdsshare created whose alias was never made (a crash between the two calls)."""
        try:
            for page in self._kms.get_paginator("list_keys").paginate():
                for entry in page.get("Keys", []):
                    meta = self._kms.describe_key(KeyId=entry["KeyId"])["KeyMetadata"]
                    if meta.get("Description") != KEY_DESCRIPTION or meta.get("KeyManager") != "CUSTOMER":
                        continue
                    if meta.get("KeyState") != "Enabled":
                        continue
                    tags = self._kms.list_resource_tags(KeyId=entry["KeyId"]).get("Tags", [])
                    if tag_dict(tags).get(TAG_MANAGED_BY) == MANAGED_BY:
                        _log.info("adopting orphan rdsshare key %s", meta["Arn"])
                        return KeyInfo.from_metadata(meta)
        except ClientError as exc:
            raise self._fail(exc, "source-key", "list_keys") from exc
        return None

    def _ensure_alias(self, info: KeyInfo) -> None:
        """Point rdsshare's alias at ``info`` (it may not be visible yet right after CreateKey).

        No read first: ``AlreadyExistsException`` says the alias exists, and then where it points
        decides (a retried CreateAlias whose first response was lost points at ``info``).
        """

        def create() -> None:
            try:
                self._kms.create_alias(AliasName=KEY_ALIAS, TargetKeyId=info.key_id)
            except ClientError as exc:
                # A retried CreateAlias whose first response was lost: fine if it points at our key.
                if error_code(exc) != "AlreadyExistsException":
                    raise
                current = self._find_by_alias(KEY_ALIAS)
                if current is None or current.arn != info.arn:
                    raise ConflictError(
                        f"{KEY_ALIAS} already points at {current.arn if current else 'another key'}",
                        step="source-key",
                        account_id=self.account_id,
                        resource=KEY_ALIAS,
                        error_code="AlreadyExistsException",
                        fix="delete or repoint that alias; rdsshare owns alias/rdsshare/share-key",
                    ) from exc

        try:
            retry_call(
                create,
                retry_codes=KMS_PROPAGATION_CODES,
                step="source-key",
                account_id=self.account_id,
                resource=info.arn,
                emit=self._emit,
                max_seconds=KMS_PROPAGATION_SECONDS,
            )
        except ClientError as exc:
            raise self._fail(exc, "source-key", KEY_ALIAS) from exc

    # -- policy -----------------------------------------------------------------------------
    def ensure_grants(
        self, info: KeyInfo, *, builder: CmkPolicyBuilder, policy: Mapping[str, Any] | None = None
    ) -> Outcome:
        """Merge ``builder``'s grants into the key's policy; ``PutKeyPolicy`` only if it changes.

        ``policy``: the policy the plan read. If it already grants the targets, the plan decided
        there is nothing to write; otherwise the write starts from a fresh read, never from it.
        """
        with key_lock(info.account_id, info.region):
            return self._ensure_grants(info, builder=builder, policy=policy)

    def _ensure_grants(
        self, info: KeyInfo, *, builder: CmkPolicyBuilder, policy: Mapping[str, Any] | None = None
    ) -> Outcome:
        step = "source-key"
        if policy is not None and builder.merge(dict(policy)) == dict(policy):
            outcome: Outcome = "unchanged"
        else:
            outcome = self._merge_policy(info, builder)
        self._emit(
            StepFinished(step=step, account_id=self.account_id, resource=info.arn, outcome=outcome, arn=info.arn)
        )
        return outcome

    def _merge_policy(self, info: KeyInfo, builder: CmkPolicyBuilder) -> Literal["unchanged", "updated"]:
        """Read the key policy, merge ``builder``'s grants in, and write it if that changed it."""
        step = "source-key"

        def call(fn: Callable[[], T]) -> T:
            try:
                return retry_call(
                    fn,
                    retry_codes=KMS_PROPAGATION_CODES,
                    step=step,
                    account_id=self.account_id,
                    resource=info.arn,
                    emit=self._emit,
                    max_seconds=KMS_PROPAGATION_SECONDS,
                )
            except ClientError as exc:
                raise self._fail(exc, step, info.arn) from exc

        wanted = set(builder.target_account_ids)
        current = call(lambda: self._kms.get_key_policy(KeyId=info.key_id, PolicyName="default")["Policy"])
        self.added.setdefault(info.arn, set()).update(wanted - builder.grants(current))
        return rewrite_key_policy(
            self._kms,
            info.key_id,
            current,
            change=builder.merge,
            check=lambda merged: builder.check_lockout(merged, caller_arn=self.caller_arn),
            stands=lambda now: wanted <= builder.grants(now),
            missing=lambda now: f"{', '.join(sorted(wanted - builder.grants(now)))} not granted",
            call=call,
            step=step,
            account_id=self.account_id,
            resource=info.arn,
        )

    def key_policy(self, key_id: str) -> dict[str, Any]:
        """The key's current ``default`` policy."""
        try:
            policy = dict(json.loads(self._kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"]))
        except ClientError as exc:
            raise self._fail(exc, "source-key", key_id) from exc
        return policy
