"""Checks of the source key, the copy, the share and the snapshot quota; they make the plan's Decisions."""

from __future__ import annotations

from typing import Any

from .._keys import KeyInfo
from .._naming import (
    KEY_ALIAS,
    copy_id,
)
from .._plan import SHARE_KEY, Decisions
from .._policy import CmkPolicyBuilder
from .._pull import share_at_home
from .._share import MAX_SHARED_ACCOUNTS
from ._rekey import KeyPolicyChecks

__all__ = ["SharingChecks"]


class SharingChecks(KeyPolicyChecks):
    """Which key gets the grants, whether and how the snapshot is copied, whom it is shared with."""

    def _keys_and_copy(self, facts: dict[str, Any], source_kms_key: str | None, admins: tuple[str, ...]) -> None:
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
        pull = self._pull(facts, key, source_kms_key)
        if pull:
            share_at_home(self)
        # Copied into the target region by the source account (not when the targets pull it themselves).
        moved = self.cross_region and not pull
        builder = CmkPolicyBuilder(
            owner_account_id=self.src,
            target_account_ids=self.tgts,
            admin_principals=admins,
            partition=self.source.partition,
            region=self.share_source.region,
        )
        copy_key: KeyInfo | None = None
        grant_key: str | None = None
        needs_cmk = key is not None and (key.aws_managed or source_kms_key is not None or moved)
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
                self._key_managers()
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
        copies = not (copy_key is None and not facts["automated"] and not moved)
        if not copies and facts.get("gone"):
            self._problem(
                "snapshot",
                f"snapshot {facts['id']} was deleted after an earlier run copied it, and this plan shares it as it is",
                "start again under another run_name",
                account=self.src,
                resource=facts["arn"],
            )
        if not copies:
            self._step(
                "copy",
                self.src,
                "skip",
                facts["id"],
                self._pull_reason() if pull else "snapshot can be shared as it is",
            )
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
                    why += self._other_path(facts, key, source_kms_key)
                elif copy_key:
                    why = "re-encrypt under the CMK so it can be shared"
                else:
                    why = "automated snapshots cannot be shared"
                self._step("copy", self.src, "create", shared_id, why)
                needed += 1
        if_refused = None
        if facts["encryption"] == "sse-rds" and not copies:
            if_refused, extra = self._if_refused(facts, source_kms_key, builder)
            needed += extra
        self._quota(needed)
        self.decisions = Decisions(
            start_id=facts["id"],
            snapshot_key=facts["key"] if key is not None else None,
            grant_key=grant_key,
            copy=copies,
            copy_key=None if copy_key is None else (SHARE_KEY if grant_key == SHARE_KEY else grant_key),
            shared_id=shared_id,
            if_refused=if_refused,
            start_gone=bool(facts.get("gone")),
            pull=pull,
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

    # -- another region: who copies ------------------------------------------------------------
    def _pull(self, facts: dict[str, Any], key: KeyInfo | None, source_kms_key: str | None) -> bool:
        """Whether each target copies the snapshot into its region itself (``Decisions.pull``).

        Since 2025-09 ``CopyDBClusterSnapshot`` / ``CopyDBSnapshot`` copy across account and region in one
        step, with a key of the destination region (docs/sources/aws-rules-2.md, Copies). That saves the
        source account's copy and a source key in the target region, at one copy per target: the plan
        takes it for one target (``auto``), or when asked (``target``); never for a snapshot that
        needs a copy in the source account anyway.
        """
        mode = self.cross_region_copy
        if not self.cross_region or mode == "source":
            return False
        why = self._no_pull(facts, key, source_kms_key)
        if mode == "target" and why:
            self._problem(
                "copy",
                f"the targets cannot copy snapshot {facts['id']} from {self.source.region} themselves: {why}",
                "pass cross_region_copy='auto' or 'source': the source account copies it into the target region",
                account=self.src,
                resource=facts.get("arn"),
            )
        # A DB snapshot is copied by each target anyway [RDS-SHARE]: pulling it saves the source's copy.
        return not why and (mode == "target" or len(self.tgts) == 1 or self.kind.name == "instance")

    def _no_pull(self, facts: dict[str, Any], key: KeyInfo | None, source_kms_key: str | None) -> str:
        """Why the targets cannot pull this snapshot across regions ('' when they can)."""
        if facts["automated"]:
            return "automated snapshots cannot be shared"
        if facts.get("gone"):
            return "an earlier run shares its copy"
        if key is None:
            return "only a snapshot under a customer-managed key is copied across account and region in one step"
        if key.aws_managed:
            return "it is under aws/rds, which cannot be shared: it needs its copy under a customer key first"
        if source_kms_key is not None:
            return "source_kms_key asks for a copy under that key in the source account"
        return ""

    def _pull_reason(self) -> str:
        n = len(self.tgts)
        return (
            f"shared in {self.source.region} as it is; each target copies it into {self.region} under its own key "
            f"in one step ({n} cop{'y' if n == 1 else 'ies'}, in the target account{'s' if n > 1 else ''}, "
            f"stored there; no source key in {self.region}). The other path: 1 copy in {self.src} into "
            f"{self.region} under a source key there, shared there (cross_region_copy='source')"
        )

    def _other_path(self, facts: dict[str, Any], key: KeyInfo | None, source_kms_key: str | None) -> str:
        why = self._no_pull(facts, key, source_kms_key)
        if why:
            return f"; the targets cannot copy it from {self.source.region} themselves: {why}"
        n = len(self.tgts)
        return (
            f"; the other path: each target copies it from {self.source.region} under its own key "
            f"({n} cop{'y' if n == 1 else 'ies'}, one per target; cross_region_copy='target')"
        )
