"""required_iam_policy(): the least-privilege IAM policy for the principal that runs each side.

The actions are those the flow calls, plus what AWS requires on top of the call itself
[SAR-RDS], [AUR-SHARE], [AUR-KEYS], [AUR-SM]; nothing else. ``sts:GetCallerIdentity`` needs no
permission (STS API reference) and is not listed. The test bed enforces identity policies, and
tests/flow/test_least_privilege.py runs every flow under these documents and shows that each
action is needed (the flow fails without it):

* ``rds:AddTagsToResource`` with every create/copy/restore that passes tags;
* ``kms:CreateGrant``/``kms:DescribeKey`` (and the data-key actions) on the key RDS encrypts
  with, for the caller of the copy or restore; on the *source* key for the target side;
* ``secretsmanager:CreateSecret``/``TagResource``/``RotateSecret`` for managed master passwords.

Resources are scoped to what can be known in advance: rdsshare's snapshot and key-alias name
prefixes, the restore cluster id, the given key ARNs. Pass more to scope it tighter.

Nothing here lets the principal change or delete a key it did not make. IAM could scope key
rights only by tags or aliases, and the same principal can set both on any key (tagging at
``CreateKey`` needs ``kms:TagResource`` on every key [KMS-TAGS]), so the right to write the share
key's policy, point or remove its alias and schedule its deletion is in the share key's own policy,
for the principal that created it (``CmkPolicyBuilder.managers``). The user's own CMK is changed
only when its ARN is given (``source_kms_key_arn``). On the target, deletes without restore ids
are limited to what carries rdsshare's ``rdsshare:managed-by`` tag.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from ._naming import KEY_ALIAS
from ._validation import validate_account_id

__all__ = ["explain_iam_policy", "required_iam_policy"]

Side = Literal["source", "target"]

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
    "CreateShareKey": "The share key, for snapshots under `aws/rds`, which cannot be shared [AUR-ENCSHARE]. Tags "
    "at creation need `kms:TagResource` on every key [KMS-TAGS], so the tag grants nothing else here.",
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
    "RestoreFromSharedSnapshot": "The restore, from a snapshot the source shared (by ARN [AUR-SHARE]), into "
    "the given subnet group and parameter groups.",
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
    "CleanupTargetCopy": "The target's own `rdsshare-*` copy of a shared DB snapshot.",
    "RefreshInPlace": "A refresh in place (`replace=True`): the restore beside the old database under "
    "`<id>-next-*`, the two renames, the old database's final snapshot `<id>-replaced-*` and its deletion "
    "(its instances under `<id>-*`).",
}


def explain_iam_policy(policy: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(Sid, why) for each statement of a policy from :func:`required_iam_policy`."""
    return [(str(s["Sid"]), REASONS[str(s["Sid"])]) for s in policy["Statement"]]


def _arn(partition: str, service: str, region: str, account: str, resource: str) -> str:
    return f"arn:{partition}:{service}:{region}:{account}:{resource}"


def required_iam_policy(
    side: Side,
    *,
    source_account_id: str,
    target_account_id: str,
    region: str = "*",
    partition: str = "aws",
    cluster_ids: Sequence[str] = (),
    restore_cluster_ids: Sequence[str] = (),
    source_kms_key_arn: str | None = None,
    target_kms_key_arns: Sequence[str] = (),
    include_cleanup: bool = True,
    replace: bool = False,
) -> dict[str, Any]:
    """The IAM policy document for the principal that runs ``side`` of the flow.

    ``cluster_ids`` (source) and ``restore_cluster_ids`` (target) scope cluster resources
    (default: any). ``source_kms_key_arn`` is the source CMK the snapshot is shared under;
    pass it when that is not rdsshare's own key (a cluster under your own CMK): the source side
    may then read and extend that key's policy, and no other (rdsshare's share key lets its
    creator manage it in its own policy). It also scopes the target side's use of the source
    key (default: any key of the source account, through RDS only).
    ``target_kms_key_arns`` scopes the target's keys (default: any key of the target account).
    ``include_cleanup`` adds what :func:`rdsshare.cleanup` needs; ``replace`` what a refresh in place
    (``replace=True`` in the restore spec) needs on the target side.
    """
    if side not in ("source", "target"):
        raise ValueError(f"side must be 'source' or 'target', not {side!r}")
    src = validate_account_id(source_account_id, "source")
    tgt = validate_account_id(target_account_id, "target")
    if side == "source":
        return _source(src, region, partition, cluster_ids, source_kms_key_arn, include_cleanup)
    policy = _target(
        src, tgt, region, partition, restore_cluster_ids, source_kms_key_arn, target_kms_key_arns, include_cleanup
    )
    if replace:
        policy["Statement"].append(_replace_statement(tgt, region, partition, restore_cluster_ids))
    return policy


def _replace_statement(account: str, region: str, partition: str, restore_ids: Sequence[str]) -> dict[str, Any]:
    """What a refresh in place (``rdsshare._replace``) does beyond a restore; see REASONS["RefreshInPlace"]."""
    names = [name.lower() for name in restore_ids] or ["*"]
    resources = [
        _arn(partition, "rds", region, account, f"{kind}:{pattern}")
        for name in names
        for kind in ("cluster", "db")
        for pattern in dict.fromkeys((name, f"{name}-*"))
    ]
    resources += [
        _arn(partition, "rds", region, account, f"{kind}:{name}-replaced-*" if name != "*" else f"{kind}:*")
        for name in names
        for kind in ("cluster-snapshot", "snapshot")
    ]
    return _statement(
        "RefreshInPlace",
        [
            "rds:RestoreDBClusterFromSnapshot",
            "rds:RestoreDBInstanceFromDBSnapshot",
            "rds:CreateDBInstance",
            "rds:ModifyDBCluster",
            "rds:ModifyDBInstance",
            "rds:CreateDBClusterSnapshot",
            "rds:CreateDBSnapshot",
            "rds:AddTagsToResource",
            "rds:DeleteDBCluster",
            "rds:DeleteDBInstance",
        ],
        resources,
    )


def _statement(
    sid: str, actions: Sequence[str], resources: Sequence[str], condition: dict[str, Any] | None = None
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "Sid": sid,
        "Effect": "Allow",
        "Action": sorted(set(actions)),
        "Resource": sorted(set(resources)),
    }
    if condition:
        out["Condition"] = condition
    return out


def _source(
    account: str, region: str, partition: str, cluster_ids: Sequence[str], key_arn: str | None, cleanup: bool
) -> dict[str, Any]:
    def rds(resource: str) -> str:
        return _arn(partition, "rds", region, account, resource)

    clusters = [rds(f"cluster:{c}") for c in cluster_ids] or [rds("cluster:*")]
    snapshots = rds("cluster-snapshot:*")
    ours = rds("cluster-snapshot:rdsshare-*")
    # DB (instance) snapshots: share_instance_snapshot.
    db_snapshots = rds("snapshot:*")
    db_ours = rds("snapshot:rdsshare-*")
    instances = [rds(f"db:{c}") for c in cluster_ids] or [rds("db:*")]
    statements = [
        _statement(
            "ReadDatabasesAndSnapshots",
            [
                "rds:DescribeAccountAttributes",
                "rds:DescribeDBClusters",
                "rds:DescribeDBClusterSnapshots",
                "rds:DescribeDBClusterSnapshotAttributes",
                "rds:DescribeDBInstances",
                "rds:DescribeDBSnapshots",
                "rds:DescribeDBSnapshotAttributes",
                "rds:DescribeOptionGroups",
            ],
            ["*"],
        ),
        _statement(
            "SnapshotTheDatabase",
            ["rds:CreateDBClusterSnapshot", "rds:CreateDBSnapshot"],
            [*clusters, *instances, ours, db_ours],
        ),
        # Copy reads any source snapshot (yours or automated) and writes only rdsshare-* copies.
        _statement("CopySnapshots", ["rds:CopyDBClusterSnapshot", "rds:CopyDBSnapshot"], [snapshots, db_snapshots]),
        _statement(
            "TagAndShareSnapshots",
            ["rds:AddTagsToResource", "rds:ModifyDBClusterSnapshotAttribute", "rds:ModifyDBSnapshotAttribute"],
            [snapshots, db_snapshots],
        ),
        _statement(
            "DescribeKeys", ["kms:DescribeKey", "kms:ListAliases", "kms:ListKeys", "kms:ListResourceTags"], ["*"]
        ),
        _statement(
            "CreateShareKey",
            ["kms:CreateKey", "kms:TagResource"],
            ["*"],
            {"StringEquals": {"aws:RequestTag/rdsshare:managed-by": "rdsshare"}},
        ),
        # The alias side of CreateAlias; the key side is in the new key's policy.
        _statement("CreateShareKeyAlias", ["kms:CreateAlias"], [_arn(partition, "kms", region, account, KEY_ALIAS)]),
        # The share key's policy names the role that manages it, path included: GetRole tells the path.
        _statement("ReadOwnRole", ["iam:GetRole"], [f"arn:{partition}:iam::{account}:role/*"]),
        # RDS re-encrypts the copy under the CMK on the caller's behalf, through a grant the caller
        # lets it create: "a user must have permissions to call ... kms:CreateGrant, kms:DescribeKey"
        # [AUR-KEYS] (DescribeKey: the DescribeKeys statement above).
        _statement(
            "UseKeysThroughRds",
            ["kms:CreateGrant"],
            [_arn(partition, "kms", region, account, "key/*")],
            {"StringLike": {"kms:ViaService": f"rds.{region}.amazonaws.com"}},
        ),
    ]
    if key_arn:
        # Your own CMK: rdsshare adds the target's grant to its policy, and removes it on cleanup.
        statements.append(_statement("ExtendYourKeyPolicy", ["kms:GetKeyPolicy", "kms:PutKeyPolicy"], [key_arn]))
    if cleanup:
        statements += [
            _statement("CleanupSnapshots", ["rds:DeleteDBClusterSnapshot", "rds:DeleteDBSnapshot"], [ours, db_ours]),
            # The alias side of DeleteAlias; the key side, and ScheduleKeyDeletion, are in the share
            # key's own policy.
            _statement(
                "CleanupShareKeyAlias", ["kms:DeleteAlias"], [_arn(partition, "kms", region, account, KEY_ALIAS)]
            ),
        ]
    return {"Version": "2012-10-17", "Statement": statements}


def _target(
    source: str,
    account: str,
    region: str,
    partition: str,
    restore_ids: Sequence[str],
    source_key: str | None,
    target_keys: Sequence[str],
    cleanup: bool,
) -> dict[str, Any]:
    def rds(resource: str) -> str:
        return _arn(partition, "rds", region, account, resource)

    clusters = [rds(f"cluster:{c}") for c in restore_ids] or [rds("cluster:*")]
    instances = [rds(f"db:{c}-instance-*") for c in restore_ids] or [rds("db:*")]
    shared = _arn(partition, "rds", region, source, "cluster-snapshot:*")
    own_snapshots = rds("cluster-snapshot:*")
    src_key = source_key or _arn(partition, "kms", region, source, "key/*")
    tgt_keys = list(target_keys) or [_arn(partition, "kms", region, account, "key/*")]
    statements = [
        _statement(
            "Read",
            [
                "rds:DescribeAccountAttributes",
                "rds:DescribeDBClusters",
                "rds:DescribeDBClusterSnapshots",
                "rds:DescribeDBInstances",
                "rds:DescribeDBSnapshots",
                "rds:DescribeDBSubnetGroups",
                "rds:DescribeDBClusterParameterGroups",
                "rds:DescribeDBParameterGroups",
                "rds:DescribeDBEngineVersions",
                "rds:DescribeOrderableDBInstanceOptions",
                "ec2:DescribeSecurityGroups",
                "kms:DescribeKey",
            ],
            ["*"],
        ),
        _statement(
            "RestoreFromSharedSnapshot",
            ["rds:RestoreDBClusterFromSnapshot"],
            [
                *clusters,
                shared,
                rds("subgrp:*"),
                rds("cluster-pg:*"),
                rds("og:*"),
            ],
        ),
        _statement(
            "CreateInstancesAndTag",
            ["rds:CreateDBInstance", "rds:AddTagsToResource"],
            # Tags on create need AddTagsToResource on the new resource: instances, the backup copy
            # (cluster snapshot) and, for DB snapshots, the target's own copy [SAR-RDS].
            [
                *clusters,
                *instances,
                rds("subgrp:*"),
                rds("pg:*"),
                rds("og:*"),
                rds("secgrp:*"),
                own_snapshots,
                rds("snapshot:rdsshare-*"),
            ],
        ),
        # RDS hands the restored database's password to Secrets Manager on a modify [AUR-SM]; for
        # DB instances too, since RestoreDBInstanceFromDBSnapshot does it for RDS for Oracle only.
        _statement(
            "ManageMasterPassword",
            ["rds:ModifyDBCluster", "rds:ModifyDBInstance"],
            [*clusters, *([rds(f"db:{c}") for c in restore_ids] or [rds("db:*")])],
        ),
        _statement("BackupCopy", ["rds:CopyDBClusterSnapshot"], [shared, own_snapshots]),
        # DB snapshots: copy the shared snapshot under the target's key, restore from the copy.
        _statement(
            "CopyAndRestoreDBSnapshots",
            ["rds:CopyDBSnapshot", "rds:RestoreDBInstanceFromDBSnapshot"],
            [
                _arn(partition, "rds", region, source, "snapshot:*"),
                rds("snapshot:*"),
                *instances,
                rds("subgrp:*"),
                rds("pg:*"),
                rds("og:*"),
            ],
        ),
        # The source CMK (another account's): RDS reads the shared snapshot through a grant the
        # caller lets it create, "kms:CreateGrant, kms:DescribeKey" [AUR-KEYS], [KMS-XACCT] (DescribeKey:
        # the Read statement). AWS's sharing example also lists Encrypt, Decrypt, ReEncrypt*,
        # GenerateDataKey*, ListGrants, RetireGrant and RevokeGrant [AUR-SHARE]; no run needs them.
        _statement(
            "GrantsOnSourceKeyForRds",
            ["kms:CreateGrant"],
            [src_key],
            {
                "Bool": {"kms:GrantIsForAWSResource": "true"},
                "StringLike": {"kms:ViaService": f"rds.{region}.amazonaws.com"},  # region may be "*"
            },
        ),
        # The target's own customer keys for the restored cluster (RDS: a grant) and the master
        # secret (Secrets Manager: a grant and data keys) [AUR-KEYS], [AUR-SM]. Not needed for the
        # target's aws/rds and aws/secretsmanager keys, whose policies allow the account's callers.
        _statement(
            "UseTargetKeysThroughServices",
            ["kms:CreateGrant", "kms:Decrypt", "kms:GenerateDataKey*"],
            tgt_keys,
            {
                "StringLike": {
                    "kms:ViaService": [f"rds.{region}.amazonaws.com", f"secretsmanager.{region}.amazonaws.com"]
                }
            },
        ),
        _statement(
            "MasterUserSecret",
            ["secretsmanager:CreateSecret", "secretsmanager:TagResource", "secretsmanager:RotateSecret"],
            [_arn(partition, "secretsmanager", region, account, "secret:rds!*")],
        ),
    ]
    if cleanup:
        statements += [
            # Without restore ids, only what rdsshare made (its tag) may be deleted.
            _statement(
                "CleanupRestored",
                ["rds:DeleteDBCluster", "rds:DeleteDBInstance"],
                [*clusters, *instances],
                None if restore_ids else {"StringEquals": {"aws:ResourceTag/rdsshare:managed-by": "rdsshare"}},
            ),
            # Deleting the restored cluster takes a final snapshot, rdsshare-<cluster>-final-<token> [SAR-RDS].
            _statement(
                "FinalSnapshotOfRestored",
                ["rds:DeleteDBCluster", "rds:CreateDBClusterSnapshot"],
                [rds("cluster-snapshot:rdsshare-*")],
            ),
            # The target's own copy of a shared DB snapshot (the backup copy of a cluster stays).
            _statement("CleanupTargetCopy", ["rds:DeleteDBSnapshot"], [rds("snapshot:rdsshare-*")]),
        ]
    return {"Version": "2012-10-17", "Statement": statements}
