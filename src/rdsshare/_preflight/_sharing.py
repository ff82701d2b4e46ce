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
from .._share import MAX_SHARED_ACCOUNTS
from ._rekey import KeyPolicyChecks

__all__ = ["SharingChecks"]


class SharingChecks(KeyPolicyChecks):
    """Which key gets the grants, whether and how the snapshot is copied, whom it is shared with."""

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
        copies = not (copy_key is None and not facts["automated"] and not self.cross_region)
        if not copies and facts.get("gone"):
            self._problem(
                "snapshot",
                f"snapshot {facts['id']} was deleted after an earlier run copied it, and this plan shares it as it is",
                "start again under another run_name",
                account=self.src,
                resource=facts["arn"],
            )
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
