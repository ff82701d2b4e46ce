"""ShareManager: share a manual snapshot (cluster or DB) with other accounts, never publicly."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from ._errors import AwsError, InputError, translate_client_error
from ._events import Emitter, EventHook, Outcome, StepFinished, StepStarted, as_emitter
from ._kinds import CLUSTER, SnapshotKind
from ._validation import validate_account_id
from ._waiting import retry_call

if TYPE_CHECKING:
    from mypy_boto3_rds import RDSClient

__all__ = ["MAX_SHARED_ACCOUNTS", "ShareManager"]

#: A manual snapshot can be shared with at most 20 accounts [AUR-SHARE].
MAX_SHARED_ACCOUNTS = 20


class ShareManager:
    """Adds accounts to (or removes them from) a cluster snapshot's ``restore`` attribute.

    Only explicit 12-digit account ids: ``all`` (public) is refused before any call, as is
    going over the 20-account limit. After a change it checks the attribute in the answer.
    """

    def __init__(
        self,
        rds: RDSClient,
        *,
        account_id: str,
        emit: Emitter | EventHook | None = None,
        kind: SnapshotKind = CLUSTER,
        step: str = "share",
    ) -> None:
        self._rds = rds
        self.kind = kind
        self.account_id = account_id
        self._emit = as_emitter(emit)
        #: the step its errors and events name ("cleanup" when cleanup unshares)
        self.step = step

    @staticmethod
    def validate_accounts(account_ids: Sequence[str], *, owner: str) -> list[str]:
        """Check ``account_ids`` (no ``all``, 12 digits, not the owner, at most 20); de-duplicate."""
        out: list[str] = []
        for account in account_ids:
            if account == "all":
                raise InputError(
                    "rdsshare never makes a snapshot public ('all')",
                    step="share",
                    resource=account,
                    fix="list the target account ids",
                )
            validate_account_id(account, "target")
            if account == owner:
                raise InputError(
                    f"target account {account} is the snapshot owner's own account",
                    step="share",
                    resource=account,
                    fix="source and target must be different accounts",
                )
            if account not in out:
                out.append(account)
        if len(out) > MAX_SHARED_ACCOUNTS:
            raise InputError(
                f"{len(out)} target accounts; a snapshot can be shared with at most {MAX_SHARED_ACCOUNTS}",
                step="share",
                fix="split the targets over several runs",
            )
        return out

    def shared_with(self, snapshot_id: str) -> list[str]:
        """The accounts in the snapshot's ``restore`` attribute."""
        try:
            result = getattr(self._rds, self.kind.describe_attributes)(**{self.kind.id_field: snapshot_id})
        except ClientError as exc:
            raise translate_client_error(exc, step=self.step, account_id=self.account_id, resource=snapshot_id) from exc
        return self._restore_values(result)

    def _restore_values(self, result: Any) -> list[str]:
        for attribute in result.get(self.kind.attributes_result, {}).get(self.kind.attributes_field, []):
            if attribute.get("AttributeName") == "restore":
                return list(attribute.get("AttributeValues", []))
        return []

    def share(self, snapshot_id: str, account_ids: Sequence[str], *, current: Sequence[str] | None = None) -> Outcome:
        """Ensure ``account_ids`` can restore ``snapshot_id``. Returns ``unchanged`` if they already can.

        ``current`` is the ``restore`` attribute when the caller knows it (a copy it just made has
        none; preflight read it moments ago); otherwise it is read first.
        """
        accounts = self.validate_accounts(account_ids, owner=self.account_id)
        current = list(current) if current is not None else self.shared_with(snapshot_id)
        if "all" in current:
            raise AwsError(
                f"{snapshot_id} is public ('all'); rdsshare will not share a public snapshot",
                step=self.step,
                account_id=self.account_id,
                resource=snapshot_id,
                fix="remove 'all' from its restore attribute first",
            )
        missing = [a for a in accounts if a not in current]
        if not missing:
            self._emit(
                StepFinished(
                    step=self.step,
                    account_id=self.account_id,
                    resource=snapshot_id,
                    outcome="unchanged",
                )
            )
            return "unchanged"
        if len(set(current) | set(missing)) > MAX_SHARED_ACCOUNTS:
            raise InputError(
                f"{snapshot_id} is already shared with {len(current)} accounts; adding "
                f"{len(missing)} would pass the limit of {MAX_SHARED_ACCOUNTS}",
                step=self.step,
                account_id=self.account_id,
                resource=snapshot_id,
                fix="unshare accounts that no longer need it",
            )
        self._emit(
            StepStarted(
                step=self.step,
                account_id=self.account_id,
                resource=snapshot_id,
                action=f"share with {', '.join(missing)}",
            )
        )
        answer = self._modify(snapshot_id, add=missing)
        # The answer carries the attribute as it now is [BC-RDS ModifyDBClusterSnapshotAttribute].
        now = self._restore_values(answer) if self.kind.attributes_result in answer else self.shared_with(snapshot_id)
        if any(a not in now for a in missing):
            raise AwsError(
                f"{snapshot_id} is not shared with {missing} after the attribute change",
                step=self.step,
                account_id=self.account_id,
                resource=snapshot_id,
            )
        self._emit(StepFinished(step=self.step, account_id=self.account_id, resource=snapshot_id, outcome="updated"))
        return "updated"

    def unshare(self, snapshot_id: str, account_ids: Sequence[str]) -> Outcome:
        """Remove ``account_ids`` from the snapshot's ``restore`` attribute."""
        present = [a for a in self.shared_with(snapshot_id) if a in set(account_ids)]
        if not present:
            return "unchanged"
        self._modify(snapshot_id, remove=present)
        return "updated"

    def _modify(self, snapshot_id: str, *, add: Sequence[str] = (), remove: Sequence[str] = ()) -> Any:
        try:
            return retry_call(
                lambda: getattr(self._rds, self.kind.modify_attribute)(
                    **{self.kind.id_field: snapshot_id},
                    AttributeName="restore",
                    ValuesToAdd=list(add),
                    ValuesToRemove=list(remove),
                ),
                retry_codes=self.kind.busy_codes,
                step=self.step,
                account_id=self.account_id,
                resource=snapshot_id,
                emit=self._emit,
                max_seconds=600.0,
            )
        except ClientError as exc:
            raise translate_client_error(exc, step=self.step, account_id=self.account_id, resource=snapshot_id) from exc
