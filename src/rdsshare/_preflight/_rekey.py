"""The key policy check, and the path an ``sse-rds`` snapshot takes if RDS refuses to share it as it is.

Since 2026-02-18 new Aurora clusters are encrypted with an AWS owned key (``sse-rds``); no AWS document
says whether RDS shares such a snapshot (docs/sources/aws-rules-2.md, "Aurora's default encryption").
The plan shares it as it is, and also plans, and checks, what the run does if RDS refuses: one copy
under a customer key (the share key, or ``source_kms_key``), shared instead, as for ``aws/rds``.
"""

from __future__ import annotations

from typing import Any

from .._errors import RdsShareError
from .._keys import KeyInfo
from .._naming import KEY_ALIAS, copy_id
from .._plan import SHARE_KEY, Decisions
from .._policy import CmkPolicyBuilder, allows_put_key_policy
from ._ledger import Ledger

__all__ = ["IF_REFUSED", "KeyPolicyChecks"]

#: what the plan says before each step of the path taken only if RDS refuses to share an sse-rds snapshot
IF_REFUSED = "only if RDS refuses to share the sse-rds snapshot as it is: "


class KeyPolicyChecks(Ledger):
    """Whether a key's policy grants the targets (or can be made to), and the re-keying path of ``sse-rds``."""

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

    def _key_managers(self) -> None:
        """Who the new share key's policy lets manage it: the session's principal (see CmkPolicyBuilder.managers)."""
        manager = self._try(
            "source-key",
            self.src,
            self.source.caller_arn,
            "allow iam:GetRole on the session's role",
            lambda: (self.source.principal_arn(),),
        )
        self.found.key_managers = tuple(m for m in manager or () if m)

    def _if_refused(
        self, facts: dict[str, Any], source_kms_key: str | None, builder: CmkPolicyBuilder
    ) -> tuple[Decisions | None, int]:
        """The decisions (and manual snapshots needed) of the run if RDS refuses to share ``facts``'s
        ``sse-rds`` snapshot as it is: one copy under ``source_kms_key`` or the share key, shared instead.

        Its steps are in the plan, said with :data:`IF_REFUSED`, and its problems are the plan's: a run that
        may need the path is planned only if the path would work.
        """
        self.condition = IF_REFUSED
        try:
            grant: str = source_kms_key or SHARE_KEY
            if source_kms_key is not None:
                key = self._try(
                    "source-key",
                    self.src,
                    source_kms_key,
                    "pass a key of the source account",
                    lambda: self._key(source_kms_key, self.keys),
                )
                if key is None:
                    return None, 0
                self._usable(key)
                self._policy_step(key, builder)
            else:
                existing = self._try("source-key", self.src, KEY_ALIAS, "allow kms:DescribeKey", self._share_key)
                if existing is not None:
                    self._usable(existing)
                    self._policy_step(existing, builder)
                else:
                    reason = "an AWS owned key cannot be shared: a customer key for one copy"
                    self._step("source-key", self.src, "create", KEY_ALIAS, reason)
                    self._key_managers()
            shared_id = copy_id(facts["id"], self.run, "cmk", limit=self.kind.id_limit)
            found = self._found.get(shared_id.lower())
            if shared_id.lower() not in self._found:
                found = self._try(
                    "copy", self.src, shared_id, "check RDS permissions", lambda: self.share_copier.find(shared_id)
                )
                self.found.snapshots[shared_id.lower()] = found
            if found is not None:
                self._ours("copy", self.src, f"snapshot {shared_id}", found, source=str(facts["arn"]))
                self._step("copy", self.src, "adopt", shared_id, "made by an earlier run")
            else:
                self._step("copy", self.src, "create", shared_id, "re-encrypt under a customer key, shared instead")
            self._step("share", self.src, "update", shared_id, f"add {', '.join(self.tgts)} to the restore attribute")
            decided = Decisions(start_id=facts["id"], grant_key=grant, copy=True, copy_key=grant, shared_id=shared_id)
            return decided, 0 if found is not None else 1
        finally:
            self.condition = ""
