"""What a share returns: the result of the run and of each target (every layer may import these)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import attrs

from ._errors import InputError

if TYPE_CHECKING:
    from ._cleanup import CleanupReport
    from ._manifest import Manifest

__all__ = ["ShareResult", "TargetResult"]


@attrs.frozen(kw_only=True)
class TargetResult:
    """What one target account got (its restore, when a restore spec was given for it)."""

    target_account_id: str
    target_cluster_arn: str | None = None
    target_kms_key_arn: str | None = None
    master_user_secret_arn: str | None = None
    instance_arns: tuple[str, ...] = ()
    backup_snapshot_arn: str | None = None
    #: DB snapshots: the restored DB instance
    target_instance_arn: str | None = None
    #: DB snapshots: the target's own copy of the shared snapshot (under its key) it restored from
    target_snapshot_arn: str | None = None
    #: data copies made in this target account (DB snapshots: 1 when encrypted)
    data_copies: int = 0
    #: refresh in place: the final snapshot of the database this restore replaced, or that database
    #: itself when it was kept renamed (None: nothing was replaced)
    replaced_arn: str | None = None
    #: why this target's steps failed (the error's message, step and fix), None when they did not; the
    #: other targets go on, and the share raises the first failure once they are done
    error: str | None = None


@attrs.frozen(kw_only=True)
class ShareResult:
    """What a share produced. ARNs are as AWS reports them."""

    #: the run name the resource names derive from (default: the target account id)
    run_name: str
    region: str
    source_account_id: str
    target_account_id: str
    #: the snapshot the flow started from (taken from the cluster, or the one given)
    source_snapshot_arn: str
    #: the snapshot shared with the target (a CMK copy of the source, or the source itself)
    shared_snapshot_arn: str
    #: the key of the shared snapshot (a source-account CMK), None when unencrypted
    source_kms_key_arn: str | None
    #: data copies the flow needed on the critical path: 1 for a default-key (``aws/rds``) or
    #: automated source snapshot, else 0
    data_copies: int
    #: the restored cluster in the target account (None without ``restore``)
    target_cluster_arn: str | None = None
    #: the target-owned key of the restored cluster (never the source's)
    target_kms_key_arn: str | None = None
    #: the secret in the target's Secrets Manager that holds the new master password
    master_user_secret_arn: str | None = None
    #: the restored cluster's DB instances, writer first
    instance_arns: tuple[str, ...] = ()
    #: the target's own copy of the snapshot, with ``ClusterRestoreSpec(backup_copy=True)``
    backup_snapshot_arn: str | None = None
    #: what this call created (ids or ARNs)
    created: tuple[str, ...] = ()
    #: what this call found from an earlier run and adopted (ids or ARNs)
    adopted: tuple[str, ...] = ()
    #: DB snapshots: the restored DB instance (first target)
    target_instance_arn: str | None = None
    #: DB snapshots: the first target's own copy of the shared snapshot
    target_snapshot_arn: str | None = None
    #: one entry per target account, in the order given (the top-level target fields are the first's)
    targets: tuple[TargetResult, ...] = ()
    #: every resource the run created, adopted or changed (for :func:`rdsshare.cleanup`)
    manifest: Manifest | None = None
    #: what ``cleanup="intermediates"`` did
    cleanup_report: CleanupReport | None = None

    def write_manifest(self, path: str | os.PathLike[str]) -> None:
        """Write the run manifest as JSON."""
        if self.manifest is None:
            raise InputError("this result has no manifest", step="manifest", fix="use the result of a real run")
        self.manifest.write(path)
