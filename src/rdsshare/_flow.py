"""The wiring and bookkeeping of one share: its step classes, its state, its manifest, its waits.

:class:`Flow` builds the step classes for one share's sessions and keeps the job's state
(:attr:`Flow.state`, plain JSON values saved between two calls, see :mod:`rdsshare._job`): what the
steps made (the manifest), where each wait stands, the copy slots held. The steps themselves are
in :mod:`rdsshare._source_steps` and :mod:`rdsshare._target_steps`; a piece that has to wait for AWS
returns the seconds until it should be called again instead of sleeping.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ._copier import SnapshotCopier
from ._events import Emitter
from ._findings import Findings, plain
from ._keys import KeyInfo, KeyManager
from ._kinds import CLUSTER, INSTANCE, SnapshotKind
from ._naming import TAG_RUN_TOKEN, tag_dict
from ._restore import Restorer
from ._session import AccountSession
from ._slots import CopySlots
from ._waiting import Observation, WaitPolicy, WaitState, poll_once
from ._watch import Freshness, freshness, wake_together, watcher_for

if TYPE_CHECKING:
    from ._manifest import Kind, Manifest

Snapshot = dict[str, Any]

__all__ = ["Flow"]

_log = logging.getLogger("rdsshare")


class Flow:
    """The steps of one share, wired to the sessions; the job (:class:`rdsshare.ShareJob`) drives them."""

    def __init__(
        self,
        *,
        source: AccountSession,
        targets: Sequence[AccountSession],
        run: str,
        token: str,
        emit: Emitter,
        wait: WaitPolicy,
        specs: Mapping[str, Any],
        state: dict[str, Any],
        slots: CopySlots | None = None,
        kind: SnapshotKind = CLUSTER,
    ) -> None:
        target = targets[0]
        self.kind, self.slots = kind, slots
        self.manifest_kind: Kind = "cluster-snapshot" if kind.name == "cluster" else "db-snapshot"
        self.source, self.target = source, target
        self.targets = list(targets)
        self.tgts = [t.account_id for t in targets]
        self.specs = dict(specs)
        self.run_name = run
        self.token = token  #: tagged on all this run creates; the manifest records it for cleanup
        self.emit, self.wait = emit, wait
        self.src, self.tgt = source.account_id, target.account_id
        #: the job's state: plain values only, saved between two calls
        self.state = state
        #: what preflight read (the job restores it from its state in another process)
        self.found = Findings()
        # Shared in the target's region, copied there by the source account [AUR-COPY]; or, when the plan
        # decided the targets pull it (rdsshare._pull), shared in the source's and copied by each target.
        self.home_region = source.region
        self.region = target.region
        self.cross_region = self.home_region != self.region
        self.share_source = source.in_region(self.region)
        # Waits poll through the watcher of their session (one per account and region): the waits
        # of every share that uses the same sessions, a batch's items say, describe together.
        self.copier = self.copier_for(source, with_slots=False)
        self.share_copier = self.copier_for(self.share_source, with_slots=False)
        self.home_keys = self._keys(source, self.home_region)
        self.keys = self._keys(self.share_source, self.region)
        self.restorers: dict[str, Any] = {}
        for session in self.targets:
            common: dict[str, Any] = {"account_id": session.account_id, "region": self.region, "emit": emit}
            common.update(wait=wait, watcher=watcher_for(session))
            tkeys = self._keys(session, self.region)
            if kind is INSTANCE:
                from ._instance import InstanceRestorer

                restorer: Any = InstanceRestorer(session.rds(), tkeys, copier=self.copier_for(session), **common)
            else:
                restorer = Restorer(session.rds(), tkeys, **common)
            self.restorers[session.account_id] = restorer
        #: copy slots this process holds for the job (a slot is held from a copy's start to its end)
        self.held: list[tuple[str, str]] = []

    def _keys(self, session: AccountSession, region: str) -> KeyManager:
        return KeyManager(
            session.kms(),
            account_id=session.account_id,
            region=region,
            caller_arn=session.caller_arn,
            emit=self.emit,
            partition=session.partition,
        )

    def copier_for(self, session: AccountSession, *, with_slots: bool = True) -> SnapshotCopier:
        """Snapshot work in ``session``'s account and region (with this job's copy slots, by default)."""
        return SnapshotCopier(
            session.rds(),
            account_id=session.account_id,
            region=session.region,
            emit=self.emit,
            wait=self.wait,
            slots=self.slots if with_slots else None,
            kind=self.kind,
            watcher=watcher_for(session),
        )

    def preflight(self) -> Any:
        """The checks, wired to this flow's step classes (loaded with the first run, not the import)."""
        from ._preflight import Preflight

        checks = Preflight(
            source=self.source,
            target=self.target,
            run=self.run_name,
            home_keys=self.home_keys,
            keys=self.keys,
            copier=self.copier,
            share_copier=self.share_copier,
            restorer=self.restorers[self.tgt],
            kind=self.kind,
            slots=self.slots,
            reservation=self.token,
        )
        self.found = checks.found
        return checks

    @property
    def data(self) -> dict[str, Any]:
        """What the steps so far decided and made (snapshots, keys, copies), as plain values."""
        data: dict[str, Any] = self.state.setdefault("data", {})
        return data

    # -- the manifest ------------------------------------------------------------------------
    def record(
        self,
        outcome: str,
        what: str | None,
        *,
        kind: Kind,
        role: str,
        account: str,
        managed: bool = True,
        detail: dict[str, str] | None = None,
        region: str | None = None,
        found: Mapping[str, Any] | None = None,
    ) -> None:
        """Note a resource for the manifest (once: a step resumed after a wait does not add it again).

        ``found``: the resource as described, whose run token (the run that made it: this one, or
        the earlier run it adopted it from) cleanup will match.
        """
        if what is None:
            return
        entries: list[dict[str, Any]] = self.state.setdefault("entries", [])
        detail = dict(detail or {})
        token = tag_dict((found or {}).get("TagList")).get(TAG_RUN_TOKEN)
        if token is None and outcome == "created":
            token = self.token
        if token is not None:
            detail.setdefault("run_token", token)
        entry = {
            "kind": kind,
            "role": role,
            "account_id": account,
            "region": region or self.region,
            "arn": what,
            "managed": managed,
            "created": outcome == "created",
            "detail": detail,
        }
        if entry in entries:
            return
        entries.append(entry)
        if outcome in ("created", "adopted"):
            made: list[str] = self.state.setdefault(outcome, [])
            if what not in made:
                made.append(what)

    def record_grant(self, key: KeyInfo, *, share_key: bool = False) -> None:
        """Note the target grants on ``key``.

        Cleanup removes a grant on the user's key only if this run added it (never one found in
        place, e.g. Terraform's). On rdsshare's share key every run's grant is shared: the last
        run that needs it removes it, whoever added it.
        """
        added = self.keys.added.get(key.arn, set())
        for account in self.tgts:
            self.record(
                "updated",
                key.arn,
                kind="key-grant",
                role="target-grant",
                account=self.src,
                managed=False,
                region=key.region,
                detail={
                    "target_account": account,
                    "added": str(account in added).lower(),
                    "share_key": str(share_key).lower(),
                },
            )

    def manifest(self) -> Manifest:
        """Everything this run created, adopted or changed so far."""
        from ._manifest import Manifest, ManifestEntry

        entries = [ManifestEntry(**e) for e in self.state.get("entries", [])]
        recorded = {e.arn for e in entries}
        # A share key created moments before the run failed (say, CreateAlias was refused) and not
        # yet recorded by its step: cleanup retires it, the next run adopts it.
        unnamed = tuple(
            ManifestEntry(
                kind="kms-key",
                role="share-key",
                account_id=self.src,
                region=self.region,
                arn=key.arn,
                managed=True,
                created=True,
                detail={"alias": "none"},
            )
            for key in self.keys.created
            if key.arn not in recorded
        )
        return Manifest(
            run_name=self.run_name,
            region=self.region,
            source_account_id=self.src,
            target_account_id=self.tgt,
            target_account_ids=tuple(self.tgts),
            entries=(*entries, *unnamed),
            run_token=self.token,
        )

    # -- waiting without blocking --------------------------------------------------------------
    def poll(
        self,
        name: str,
        observe: Callable[[Freshness], tuple[Observation | None, Any]],
        *,
        step: str,
        account: str,
        resource: str,
    ) -> tuple[Observation | float, Any]:
        """One poll of the wait ``name``: (the observation when done, else seconds until the next; what was seen).

        ``observe`` may answer from another wait's describe (:func:`rdsshare._watch.freshness`).
        """
        waits: dict[str, Any] = self.state.setdefault("waits", {})
        now = time.time()
        ws = WaitState.from_dict(waits[name]) if name in waits else WaitState(started=now)
        fresh = freshness(ws, self.wait, now)
        seen: list[Any] = [None]

        def once() -> Observation | None:
            obs, seen[0] = observe(fresh)
            return obs

        outcome = poll_once(
            once, ws, now=now, step=step, account_id=account, resource=resource, emit=self.emit, policy=self.wait
        )
        if isinstance(outcome, Observation):
            waits.pop(name, None)
            return outcome, plain(seen[0])
        outcome = wake_together(ws, now, outcome, account)
        waits[name] = ws.to_dict()
        return outcome, plain(seen[0])

    def target_key(self, account: str, spec: Any, *, encrypted: bool) -> KeyInfo | None:
        """The key ``account``'s restore is encrypted with: the one the plan decided on."""
        if account in self.found.target_keys:
            return self.found.target_keys[account]
        return self.restorers[account].target_key(spec, source_encrypted=encrypted)  # type: ignore[no-any-return]

    def hold_slot(self, account: str) -> None:
        """Take a copy slot of ``account`` for this job (once; the copy's end gives it back)."""
        if self.slots is not None and (account, self.region) not in self.held:
            self.slots.acquire(account, self.region)
            self.held.append((account, self.region))

    def release_slot(self, account: str) -> None:
        """Give back the copy slot :meth:`hold_slot` took."""
        if self.slots is not None and (account, self.region) in self.held:
            self.held.remove((account, self.region))
            self.slots.release(account, self.region)

    def release_slots(self) -> None:
        """Give back every slot this process holds for the job (it failed, or stops here)."""
        while self.held:
            account, region = self.held.pop()
            assert self.slots is not None
            self.slots.release(account, region)
