"""The checks' shared state and bookkeeping: steps, problems, findings, and the reads several checks make."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from botocore.exceptions import ClientError

from .._copier import SnapshotCopier
from .._errors import RdsShareError, error_code, error_message, translate_client_error
from .._events import Emitter
from .._facts import policy_fact
from .._findings import Findings
from .._keys import KeyInfo, KeyManager
from .._kinds import CLUSTER, EncryptionType, SnapshotKind
from .._naming import (
    ownership_problem,
)
from .._share import ShareManager
from .._slots import CopySlots
from .._waiting import TRANSIENT_CODES, is_transient

if TYPE_CHECKING:
    from .._session import AccountSession

from .._plan import Action, Decisions, Plan, PlanStep, Problem

__all__ = ["Ledger", "restored_encryption"]

_log = logging.getLogger("rdsshare.plan")
T = TypeVar("T")


def restored_encryption(facts: dict[str, Any] | None) -> EncryptionType:
    """How a restore without a KMS key comes out: Aurora encrypts every new cluster (sse-rds) since 2026-02-18."""
    kind: EncryptionType = (facts or {}).get("encryption") or "none"
    engine = str((facts or {}).get("engine") or "")
    return "sse-rds" if kind == "sse-rds" or engine.startswith("aurora") else kind


class Ledger:
    """What the checks share: the sessions and step classes, the steps and problems found so far, and the
    reads whose answers the run starts from (kept in :attr:`found`)."""

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
        slots: CopySlots | None = None,
        reservation: str = "",
    ) -> None:
        self.kind = kind
        #: shared with the other runs of a batch: the manual snapshot quota is reserved through it
        self.slots = slots
        #: what this run's reservations are kept under (its run token)
        self.reservation = reservation
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
        #: said before the reason of every step recorded (the steps of a path taken only if ...)
        self.condition = ""
        #: who copies into another region: ``auto`` (the cheaper), ``source`` or ``target`` (the request's)
        self.cross_region_copy = "auto"
        self._account_quotas: dict[str, list[Any]] = {}

    # -- bookkeeping ---------------------------------------------------------------------------
    def _step(self, step: str, account: str, action: Action, resource: str, reason: str) -> None:
        reason = self.condition + reason
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

    # -- reads whose answers the run starts from ---------------------------------------------
    def _batch(self, key: tuple[str, ...], read: Callable[[], T]) -> T:
        """What ``read()`` answers, read once for all the runs of a batch (``rdsshare._facts``)."""
        return read() if self.slots is None else self.slots.facts.read(key, read)

    def _key(self, key: str, keys: KeyManager) -> KeyInfo:
        info = self._batch(("key", keys.account_id, keys.region, key), lambda: keys.describe(key, step="source-key"))
        self.found.keys[key] = info
        return info

    def _share_key(self) -> KeyInfo | None:
        self.found.share_key = info = self._batch(
            ("share-key", self.keys.account_id, self.keys.region), self.keys.find_share_key
        )
        return info

    def _policy(self, key_id: str) -> dict[str, Any]:
        self.found.policies[key_id] = policy = self._batch(
            policy_fact(self.keys.account_id, self.keys.region, key_id), lambda: self.keys.key_policy(key_id)
        )
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

    def _quota(self, needed: int) -> None:
        """Room for ``needed`` more manual snapshots in the source account's quota."""
        noun = "manual cluster snapshots" if self.kind.name == "cluster" else "manual DB snapshots"
        self._room(
            needed,
            session=self.share_source,
            name=self.kind.quota_name,
            noun=noun,
            fix="delete unused manual snapshots or raise the quota in Service Quotas",
            code="SnapshotQuotaExceeded",
        )

    def _room(self, needed: int, *, session: AccountSession, name: str, noun: str, fix: str, code: str) -> None:
        """Room for ``needed`` more of the quota ``name`` in ``session``'s account and region.

        The quotas are adjustable (manual snapshots 100, clusters and instances 40 by default), so each is
        read with its usage, not assumed [BC-RDS DescribeAccountAttributes]. Runs that share copy slots (a
        batch) reserve what they need there, so that no run passes a check only another one fits.
        """
        if not needed:
            return
        account = session.account_id

        def read() -> tuple[int, int] | None:
            if account not in self._account_quotas:  # one read answers every quota of the account
                self._account_quotas[account] = session.rds().describe_account_attributes().get("AccountQuotas", [])
            for quota in self._account_quotas[account]:
                if quota.get("AccountQuotaName") == name:
                    return int(quota.get("Used", 0)), int(quota.get("Max", 0))
            return None

        def known() -> tuple[int, int]:
            value = read()
            if value is None:
                raise LookupError(name)
            return value

        others = 0
        if self.slots is not None:  # a batch (or calls sharing slots): count what the other runs reserved
            try:
                found: tuple[int, int] | None = None
                reserved = self._try(
                    "quota",
                    account,
                    name,
                    "allow rds:DescribeAccountAttributes",
                    lambda: self.slots.reserve_snapshots(  # type: ignore[union-attr]
                        account, session.region, name, needed, run=self.reservation, read=known
                    ),
                )
            except LookupError:
                return
            if reserved is None:
                return
            used, others, limit = reserved
            found = (used, limit)
        else:
            found = self._try("quota", account, name, "allow rds:DescribeAccountAttributes", read)
        if found is None:
            return
        used, limit = found
        if used + others + needed > limit:
            pending = f", other runs sharing its copy slots reserved {others} more" if others else ""
            self._problem(
                "quota",
                f"{used} {noun} exist in {session.region}{pending}; this run needs {needed} more and the quota is "
                f"{limit}",
                fix,
                account=account,
                resource=name,
                code=code,
            )
