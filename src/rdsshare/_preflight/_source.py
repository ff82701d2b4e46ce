"""Checks of the starting point: the source cluster or instance, or the snapshot given."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from .._carry import instance_source_settings, source_settings
from .._errors import error_code, error_message
from .._instance import unshareable_options
from .._kinds import CLUSTER, encryption_type
from .._naming import TAG_SOURCE, copy_id, derived_id, ownership_problem, tag_dict
from ._ledger import Ledger

__all__ = ["SourceChecks"]


class SourceChecks(Ledger):
    """The source cluster, instance or snapshot, and the facts the key and copy checks start from."""

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
                "settings": source_settings(c),
                "writer": next(
                    (m["DBInstanceIdentifier"] for m in c.get("DBClusterMembers", ()) if m.get("IsClusterWriter")), None
                ),
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
            "settings": instance_source_settings(i),
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
            arn = existing.get(K.arn_field) if existing else self._arn(self.source.region, snap_id)
            copy = None if existing is not None else self._copy_of_gone(snap_id, copies, str(arn))
            if existing is not None:
                self._ours("snapshot", self.src, f"snapshot {snap_id}", existing, source=str(src["arn"]))
                self._step("snapshot", self.src, "adopt", snap_id, "made by an earlier run")
            elif copy is not None:
                why = f"deleted once its copy {copy} was available (cleanup='intermediates'): goes on from the copy"
                self._step("snapshot", self.src, "skip", snap_id, why)
            else:
                self._step("snapshot", self.src, "create", snap_id, f"manual snapshot of {K.name} {cluster_id}")
            facts = {
                "id": snap_id,
                "arn": arn,
                "exists": existing is not None or copy is not None,
                "gone": copy is not None,
                "automated": False,
                "encrypted": src["encryption"] == "sse-kms",
                "encryption": src["encryption"],
                "key": src["key"],
                "engine": src["engine"],
                "engine_version": src["engine_version"],
                "settings": src.get("settings") or {},
                "writer": src.get("writer"),
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

    def _copy_of_gone(self, snap_id: str, copies: list[str], arn: str) -> str | None:
        """The id of this run's available copy of its snapshot ``snap_id`` that is gone, or None.

        ``cleanup="intermediates"`` deletes the run's snapshot as soon as its copy is available, so a
        rerun that finds the copy and not the snapshot continues from the copy instead of taking
        another snapshot (the source has moved on since; the copy is what the run shares).
        """
        if self.cross_region:  # the copies are in the target region: one more describe, only here
            copies = [copy_id(snap_id, self.run, suffix, limit=self.kind.id_limit) for suffix in ("cmk", "copy")]
            read = self.share_copier.find_many
            more = self._try("copy", self.src, snap_id, "check RDS permissions", lambda: read(copies))
            self._found.update(more or {})
        for ident in copies:
            found = self._found.get(ident.lower()) or {}
            ours = ownership_problem(found.get("TagList"), source=arn) is None
            if ours and found.get("Status") == "available" and tag_dict(found.get("TagList")).get(TAG_SOURCE) == arn:
                return ident
        return None

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
            "settings": (source_settings if K is CLUSTER else instance_source_settings)(snap),
        }
