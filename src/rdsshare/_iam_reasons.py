"""Why each statement of :func:`rdsshare.required_iam_policy` is there (the permissions page prints these)."""

from __future__ import annotations

__all__ = ["REASONS"]

#: Why each statement is there, by Sid: the docs' permissions page prints these next to the policies.
REASONS: dict[str, str] = {
    # source
    "ReadDatabasesAndSnapshots": "Preflight reads the cluster or instance, its snapshots and their share "
    "attribute, the option groups of a DB snapshot and the account's snapshot quota.",
    "SnapshotTheDatabase": "The snapshot rdsshare takes (`rdsshare-*`), of the named clusters or instances.",
    "CopySnapshots": "The copy under the share key (or across regions) reads any snapshot, yours or automated, "
    "and writes an `rdsshare-*` copy.",
    "TagAndShareSnapshots": "Tags on what rdsshare creates need `rds:AddTagsToResource` [SAR-RDS]; sharing is "
    "`ModifyDB*SnapshotAttribute` on the `restore` attribute.",
    "DescribeKeys": "Reads only: which key encrypts the snapshot, whether rdsshare's alias exists, and (after a "
    "crash between CreateKey and CreateAlias) which unnamed key is rdsshare's.",
    "CreateShareKey": "The share key, for snapshots under `aws/rds`, which cannot be shared [AUR-ENCSHARE], and "
    "for the source's copy into another region (keys are region-bound). Tags at creation need `kms:TagResource` "
    "on every key [KMS-TAGS], so the tag grants nothing else here.",
    "CreateShareKeyAlias": "The alias side of naming the share key; the key side is in the share key's own policy.",
    "ReadOwnRole": "The share key's policy names the role that manages it, path included (IAM Identity Center "
    "roles have one); only `iam:GetRole` tells the path. Not called for `AccountSession.from_role` sessions.",
    "UseKeysThroughRds": "RDS re-encrypts the copy on the caller's behalf, through a grant the caller lets it "
    'create: "kms:CreateGrant, kms:DescribeKey" [AUR-KEYS]; only through RDS (`kms:ViaService`).',
    "ExtendYourKeyPolicy": "Your own CMK (`source_kms_key_arn`): rdsshare adds the target's grant to its policy "
    "and cleanup removes it. Without an ARN no key's policy can be read or written through IAM.",
    "CleanupSnapshots": "Cleanup deletes the `rdsshare-*` snapshots it made (and checks their tags first).",
    "CleanupShareKeyAlias": "The alias side of removing the share key's alias; the key side and "
    "`ScheduleKeyDeletion` are in the share key's own policy, for its manager only.",
    # target
    "Read": "Preflight reads the restore id, the instance ids, engine versions, instance classes, subnet, "
    "security and parameter groups, and the keys.",
    "RestoreFromSharedSnapshot": "The restore, from a snapshot the source shared (by ARN [AUR-SHARE]) or the "
    "target's own copy of it from another region, into the given subnet group and parameter groups.",
    "CreateInstancesAndTag": "The cluster's instances, and the tags on everything rdsshare creates [SAR-RDS].",
    "ManageMasterPassword": "The restored database's master password goes to Secrets Manager on a modify, "
    "since a restore cannot ask for it [AUR-SM].",
    "BackupCopy": "The target's own copy of the shared snapshot, under its key (`backup_copy=True`).",
    "CopyAndRestoreDBSnapshots": "DB snapshots: copy the shared one under the target's key, restore from the "
    "copy [RDS-SHARE].",
    "GrantsOnSourceKeyForRds": "RDS reads the shared snapshot through a grant the caller lets it create "
    "[AUR-KEYS], [KMS-XACCT]: only grants for AWS resources, only through RDS. The target can never call "
    "Decrypt or Encrypt on the source key itself.",
    "UseTargetKeysThroughServices": "The target's own keys for the restored database (RDS) and its secret "
    "(Secrets Manager), only through those services.",
    "MasterUserSecret": "What RDS does in Secrets Manager for the caller when it manages the master password "
    "[SAR-RDS], [AUR-SM].",
    "CleanupRestored": "Deleting the restored database (`delete_restored_cluster=True`): only the restore ids "
    "given, or without ids only what carries rdsshare's `rdsshare:managed-by` tag.",
    "FinalSnapshotOfRestored": "Deleting the cluster takes a final snapshot, `rdsshare-<cluster>-final-<token>` "
    "[SAR-RDS].",
    "CleanupTargetCopy": "The target's own `rdsshare-*` copy of a shared DB snapshot, or of a cluster snapshot "
    "it copied from another region (`rdsshare-*-local`).",
    "RefreshInPlace": "A refresh in place (`replace=True`): the restore beside the old database (`<id>-next-*`), "
    "the renames, the old one's final snapshot `<id>-replaced-*` and its deletion (its instances: `<id>-*`).",
}
