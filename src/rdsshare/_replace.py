"""Refresh in place: restore beside the database a target has, then swap names.

A nightly refresh of staging from production keeps staging's identifier and endpoints. With
``replace=True`` and a database under the restore id, the plan decides (once) a
:class:`Replacement`: the restore is made under ``<id>-next-<run>``; once it is available with its
instances and its master secret, the old database is renamed ``<id>-old-<run>`` and the new one
takes ``<id>``. Then the old one is kept renamed or, by default, snapshotted
(``<id>-replaced-<run>``) and deleted once that snapshot is available. The endpoints answer for no
database between the two renames: that is the downtime.

Every step reads AWS before it acts and knows the databases by their resource id, which a rename
keeps, so a crash anywhere resumes: the old database is deleted only after its final snapshot is
available, and at the end exactly one database holds the name. A rename needs ``ApplyImmediately``
(otherwise it waits for the maintenance window) and a name no database has [BC-RDS
``ModifyDBCluster``; RDS User Guide, USER_RenameInstance].
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

import attrs
from botocore.exceptions import ClientError

from ._errors import ConflictError, error_code, translate_client_error
from ._events import StepFinished, StepStarted
from ._kinds import CLUSTER, INSTANCE, SnapshotKind
from ._naming import CLUSTER_ID_LIMIT, fit
from ._observe import cluster_observation, instance_observation
from ._schedule import Observation

if TYPE_CHECKING:
    from ._flow import Flow
    from ._session import AccountSession

__all__ = ["CLUSTER_DB", "INSTANCE_DB", "TAG_REPLACED", "Database", "Replacement", "Swap", "replaced_spec"]

#: tagged on a replaced database's final snapshot: the name it had (rdsshare never deletes this snapshot)
TAG_REPLACED = "rdsshare:replaced"


@attrs.frozen(kw_only=True)
class Database:
    """API names of one kind of database that can be replaced (an Aurora cluster or a DB instance)."""

    noun: str
    spec_field: str
    id_param: str
    new_id_param: str
    describe: str
    list_field: str
    not_found: str
    already_exists: str
    resource_field: str
    arn_field: str
    modify: str
    delete: str
    snapshot: SnapshotKind
    state_key: str  # where a target's job state keeps the restored database

    def observe(self, found: Mapping[str, Any]) -> Observation:
        """The database as a wait observation (done when ``available``)."""
        if self is CLUSTER_DB:
            return cluster_observation(found)
        return instance_observation(found, require_secret=False)


CLUSTER_DB = Database(
    noun="DB cluster",
    spec_field="cluster_id",
    id_param="DBClusterIdentifier",
    new_id_param="NewDBClusterIdentifier",
    describe="describe_db_clusters",
    list_field="DBClusters",
    not_found="DBClusterNotFoundFault",
    already_exists="DBClusterAlreadyExistsFault",
    resource_field="DbClusterResourceId",
    arn_field="DBClusterArn",
    modify="modify_db_cluster",
    delete="delete_db_cluster",
    snapshot=CLUSTER,
    state_key="cluster",
)
INSTANCE_DB = Database(
    noun="DB instance",
    spec_field="instance_id",
    id_param="DBInstanceIdentifier",
    new_id_param="NewDBInstanceIdentifier",
    describe="describe_db_instances",
    list_field="DBInstances",
    not_found="DBInstanceNotFound",
    already_exists="DBInstanceAlreadyExists",
    resource_field="DbiResourceId",
    arn_field="DBInstanceArn",
    modify="modify_db_instance",
    delete="delete_db_instance",
    snapshot=INSTANCE,
    state_key="instance",
)


@attrs.frozen(kw_only=True)
class Replacement:
    """The refresh in place the plan decided for one target (kept in the findings as plain values)."""

    #: the identifier the target keeps (held by the old database now, by the restored one at the end)
    name: str
    #: what the restore is made under until the swap
    temp: str
    #: what the old database is renamed to
    retired: str
    #: the old database's final snapshot (``keep="snapshot"``)
    final: str
    #: ``snapshot`` (final snapshot, then deleted) or ``renamed`` (kept as ``retired``)
    keep: Literal["snapshot", "renamed"]
    #: the old database's resource id, which its rename keeps
    old_resource_id: str

    @classmethod
    def named(cls, name: str, token: str, *, keep: str, old_resource_id: str, db: Database) -> Replacement:
        """The names of run ``token``'s replacement of ``name`` (each fits its identifier limit)."""
        tag = token[:8]
        return cls(
            name=name,
            temp=fit(f"{name}-next-{tag}", CLUSTER_ID_LIMIT),
            retired=fit(f"{name}-old-{tag}", CLUSTER_ID_LIMIT),
            final=fit(f"{name}-replaced-{tag}", db.snapshot.id_limit),
            keep="renamed" if keep == "renamed" else "snapshot",
            old_resource_id=old_resource_id,
        )


def replaced_spec(spec: Any, found: Mapping[str, Any] | None, db: Database) -> Any:
    """The spec the restore is made with: under the temporary name when the plan decided a replacement."""
    if not found:
        return spec
    return attrs.evolve(spec, **{db.spec_field: found["temp"]})


# -- the run -----------------------------------------------------------------------------------
class Swap:
    """One target's swap, as the last piece of its restore: each call reads AWS, acts if it must, and
    returns None when done or the seconds until it should be called again."""

    def __init__(self, flow: Flow, session: AccountSession, target: dict[str, Any], found: Mapping[str, Any]) -> None:
        self.flow = flow
        self.account = session.account_id
        self.rds: Any = session.rds()
        self.copier = flow.copier_for(session)
        self.db = CLUSTER_DB if flow.kind is CLUSTER else INSTANCE_DB
        self.rep = Replacement(**found)
        self.t = target
        self.s: dict[str, Any] = target.setdefault("swap", {})

    def advance(self) -> float | None:
        if not self.s.get("ready"):
            # What the restore's pieces found (its secret, say) is saved before the first rename, so that
            # a crash during the swap resumes from a state that no longer polls the temporary name.
            self.s["ready"] = True
            return 0.0
        for phase in (self._move_old, self._take_name, self._retire):
            delay = phase()
            if delay is not None:
                return delay
        return None

    # -- phases ----------------------------------------------------------------------------------
    def _move_old(self) -> float | None:
        """The old database renamed away from the name, and available under its new one."""
        s, rep = self.s, self.rep
        if s.get("moved"):
            return None
        if self._find(rep.retired) is None:
            at_name = self._find(rep.name)
            if at_name is not None and at_name.get(self.db.resource_field) == self._new_id():
                s["moved"] = True  # both renames done before a crash: the next phase finds it under the name
                return None
            if at_name is None or at_name.get(self.db.resource_field) != rep.old_resource_id:
                raise self._conflict(
                    f"{self.db.noun} {rep.name} is not the one the plan found (nor is {rep.retired})",
                    rep.name,
                    fix=f"the restore is ready as {rep.temp}: rename it yourself, or delete it and share again",
                )
            delay, _ = self._until_available("replace-old", rep.name)  # e.g. backing up: rename when it is not
            if delay is not None:
                return delay
            self._rename(rep.name, rep.retired)
        delay, seen = self._until_available("replace-old", rep.retired, same=rep.old_resource_id)
        if delay is not None:
            return delay
        s["moved"] = True
        self._finished("replace", rep.name, seen)
        return None

    def _take_name(self) -> float | None:
        """The restored database renamed to the name, and available under it."""
        s, rep, db = self.s, self.rep, self.db
        if s.get("promoted"):
            return None
        if self._find(rep.temp) is not None:
            delay, _ = self._until_available("replace-new", rep.temp, same=self._new_id())
            if delay is not None:
                return delay
            self._rename(rep.temp, rep.name)
        delay, seen = self._until_available("replace-new", rep.name, same=self._new_id())
        if delay is not None:
            return delay
        old_arn = self.t[db.state_key].get(db.arn_field)
        self.t[db.state_key] = seen
        for entry in self.flow.state.get("entries", []):  # the manifest names it as it is now
            if entry.get("arn") == old_arn:
                entry["arn"] = seen.get(db.arn_field)
        s["promoted"] = True
        self._finished("replace", rep.temp, seen)
        return None

    def _retire(self) -> float | None:
        """The old database kept renamed, or snapshotted and then deleted."""
        s, rep, db = self.s, self.rep, self.db
        if s.get("retired"):
            return None
        if rep.keep == "renamed":
            kept = self._find(rep.retired)
            s["kept"] = (kept or {}).get(db.arn_field)
            self._record(s["kept"], kind="db-cluster" if db is CLUSTER_DB else "db-instance", role="replaced")
            s["retired"] = True
            return None
        if "final" not in s:
            delay = self._final_snapshot()
            if delay is not None:
                return delay
        old = self._find(rep.retired)
        if old is not None:
            self._check_same(old, rep.old_resource_id, rep.retired)
            delay = self._delete(old)
            if delay is not None:
                return delay
        s["retired"] = True
        self.flow.emit(
            StepFinished(
                step="retire", account_id=self.account, resource=rep.retired, outcome="updated", arn=s["final"]
            )
        )
        return None

    def _final_snapshot(self) -> float | None:
        rep, kind = self.rep, self.db.snapshot
        snap = self.copier.find(rep.final)
        if snap is None:
            delay, _ = self._until_available("retire", rep.retired, same=rep.old_resource_id)
            if delay is not None:
                return delay
            self._start("retire", rep.final, f"final snapshot of {rep.retired}")
            tags = [
                {"Key": TAG_REPLACED, "Value": rep.name},
                {"Key": "rdsshare:replaced-by", "Value": self.flow.run_name},
            ]
            params = {kind.id_field: rep.final, kind.source_param: rep.retired, "Tags": tags}
            try:
                getattr(self.rds, kind.create)(**params)
            except ClientError as exc:
                if error_code(exc) != kind.already_exists:  # else: our call was served and its answer lost
                    raise translate_client_error(
                        exc, step="retire", account_id=self.account, resource=rep.final
                    ) from exc
        elif str(snap.get(kind.source_field, "")).lower() != rep.retired:
            raise self._conflict(f"{kind.noun} {rep.final} is not a snapshot of {rep.retired}", rep.final)
        obs, seen = self.flow.poll(
            f"{self.account}:retire-snapshot",
            lambda fresh: self.copier.observe(rep.final, fresh),
            step="retire",
            account=self.account,
            resource=rep.final,
        )
        if not isinstance(obs, Observation):
            return obs
        self.s["final"] = seen[kind.arn_field]
        self._record(self.s["final"], kind="cluster-snapshot" if kind is CLUSTER else "db-snapshot", role="replaced")
        return None

    def _delete(self, old: Mapping[str, Any]) -> float | None:
        """Delete the old database (a cluster's instances first), its final snapshot being available."""
        rep, db = self.rep, self.db
        if db is INSTANCE_DB:
            self._call(db.delete, rep.retired, DBInstanceIdentifier=rep.retired, SkipFinalSnapshot=True)
            return None
        for member in old.get("DBClusterMembers", ()):
            ident = member["DBInstanceIdentifier"]  # its data is the cluster's: no snapshot of its own
            self._call("delete_db_instance", ident, DBInstanceIdentifier=ident, SkipFinalSnapshot=True)

        def members_gone(_fresh: Any) -> tuple[Observation | None, Any]:
            left = len((self._find(rep.retired) or {}).get("DBClusterMembers", ()))
            return Observation(status=f"deleting {left} instance(s)" if left else "no instances", done=not left), None

        obs, _ = self.flow.poll(
            f"{self.account}:retire-instances", members_gone, step="retire", account=self.account, resource=rep.retired
        )
        if not isinstance(obs, Observation):
            return obs  # the cluster goes once its instances have
        self._call(db.delete, rep.retired, DBClusterIdentifier=rep.retired, SkipFinalSnapshot=True)
        return None

    # -- helpers ---------------------------------------------------------------------------------
    def _new_id(self) -> str:
        return str(self.t[self.db.state_key].get(self.db.resource_field))

    def _find(self, ident: str) -> dict[str, Any] | None:
        db = self.db
        try:
            found = getattr(self.rds, db.describe)(**{db.id_param: ident})[db.list_field]
        except ClientError as exc:
            if error_code(exc) == db.not_found:
                return None
            raise translate_client_error(exc, step="replace", account_id=self.account, resource=ident) from exc
        return dict(found[0]) if found else None

    def _until_available(self, wait: str, ident: str, *, same: str | None = None) -> tuple[float | None, Any]:
        """One poll of ``ident`` (None and its description once available, else the seconds to the next poll)."""

        def observe(_fresh: Any) -> tuple[Observation | None, Any]:
            found = self._find(ident)
            if found is None:
                return None, None
            if same is not None:
                self._check_same(found, same, ident)
            return self.db.observe(found), found

        obs, seen = self.flow.poll(
            f"{self.account}:{wait}:{ident}", observe, step="replace", account=self.account, resource=ident
        )
        return (None, seen) if isinstance(obs, Observation) else (obs, None)

    def _check_same(self, found: Mapping[str, Any], resource_id: str, ident: str) -> None:
        if found.get(self.db.resource_field) != resource_id:
            raise self._conflict(f"{self.db.noun} {ident} is another database than the refresh expects", ident)

    def _rename(self, ident: str, new: str) -> None:
        db = self.db
        self._start("replace", ident, f"rename to {new}")
        try:
            getattr(self.rds, db.modify)(**{db.id_param: ident, db.new_id_param: new, "ApplyImmediately": True})
        except ClientError as exc:
            raise translate_client_error(exc, step="replace", account_id=self.account, resource=ident) from exc

    def _call(self, method: str, ident: str, **params: Any) -> None:
        """A delete; one already under way or done (our earlier call) is fine."""
        try:
            getattr(self.rds, method)(**params)
        except ClientError as exc:
            if error_code(exc) in ("DBInstanceNotFound", "DBClusterNotFoundFault", "InvalidDBInstanceState"):
                return
            raise translate_client_error(exc, step="retire", account_id=self.account, resource=ident) from exc

    def _start(self, step: str, ident: str, action: str) -> None:
        self.flow.emit(StepStarted(step=step, account_id=self.account, resource=ident, action=action))

    def _finished(self, step: str, ident: str, seen: Mapping[str, Any]) -> None:
        arn = seen.get(self.db.arn_field)
        self.flow.emit(StepFinished(step=step, account_id=self.account, resource=ident, outcome="updated", arn=arn))

    def _record(self, arn: str | None, *, kind: Any, role: str) -> None:
        self.flow.record("kept", arn, kind=kind, role=role, account=self.account, managed=False)

    def _conflict(self, message: str, ident: str, *, fix: str | None = None) -> ConflictError:
        return ConflictError(
            message,
            step="replace",
            account_id=self.account,
            resource=ident,
            fix=fix or "look at what holds that name; rdsshare renames and deletes only the databases the plan found",
        )
