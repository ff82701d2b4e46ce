"""required_iam_policy(): the least-privilege IAM policy for the principal that runs each side.

The actions are those the flow calls, plus what AWS requires on top of the call itself
[SAR-RDS], [AUR-SHARE], [AUR-KEYS], [AUR-SM]; nothing else. ``sts:GetCallerIdentity`` needs no
permission (STS API reference) and is not listed. The test bed enforces identity policies, and
tests/flow/test_least_privilege.py runs its flows under these documents (for region ``*``) and
shows that each action is needed (the quickest flow that used it fails without it):

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
only when its ARN is given (``source_kms_key_arn``). On the target, without restore ids, only the
deletion of the restored databases (``CleanupRestored``) is limited to what carries rdsshare's
``rdsshare:managed-by`` tag; the other deletes (the target's copies, final snapshots, a refresh in
place) are scoped by name alone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from ._iam_merge import merged_regions
from ._iam_reasons import REASONS
from ._naming import KEY_ALIAS
from ._validation import validate_account_id

__all__ = ["REASONS", "explain_iam_policy", "required_iam_policy"]

Side = Literal["source", "target"]


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
    region: str | Sequence[str] = "*",
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
    (``replace=True`` in the restore spec) needs on the target side. ``region`` scopes every ARN
    (``"*"``: any region); a share into another region acts in both (the source copies from its region
    into the target's, or the target copies from the source's region into its own), so pass both:
    ``region=("eu-west-1", "us-east-1")`` gives each statement the resources of each region.
    """
    if side not in ("source", "target"):
        raise ValueError(f"side must be 'source' or 'target', not {side!r}")
    regions = [region] if isinstance(region, str) else list(dict.fromkeys(region))
    if not regions:
        raise ValueError("region must name at least one region (or '*')")
    docs = [
        _one_region(
            side,
            source_account_id=source_account_id,
            target_account_id=target_account_id,
            region=one,
            partition=partition,
            cluster_ids=cluster_ids,
            restore_cluster_ids=restore_cluster_ids,
            source_kms_key_arn=source_kms_key_arn,
            target_kms_key_arns=target_kms_key_arns,
            include_cleanup=include_cleanup,
            replace=replace,
        )
        for one in regions
    ]
    return merged_regions(docs)


def _one_region(
    side: Side,
    *,
    source_account_id: str,
    target_account_id: str,
    region: str,
    partition: str,
    cluster_ids: Sequence[str],
    restore_cluster_ids: Sequence[str],
    source_kms_key_arn: str | None,
    target_kms_key_arns: Sequence[str],
    include_cleanup: bool,
    replace: bool,
) -> dict[str, Any]:
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
    # a cluster's instances are <id>-instance-N; a DB snapshot's restore is the DB instance <id> itself
    instances = [rds(f"db:{c}{suffix}") for c in restore_ids for suffix in ("", "-instance-*")] or [rds("db:*")]
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
                own_snapshots,  # its own copy, pulled from another region (rdsshare._pull)
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
            # The target's own copy of a shared snapshot (the backup copy of a cluster stays).
            _statement(
                "CleanupTargetCopy",
                ["rds:DeleteDBSnapshot", "rds:DeleteDBClusterSnapshot"],
                [rds("snapshot:rdsshare-*"), rds("cluster-snapshot:rdsshare-*-local")],
            ),
        ]
    return {"Version": "2012-10-17", "Statement": statements}
