"""A fingerprint of everything in both accounts that a run may create, adopt or change.

Random parts (key ids, secret suffixes, timestamps) are replaced by stable labels, so two clean
runs in two fresh test beds have equal fingerprints, and a run that made a duplicate or lost a
change does not.
"""

from __future__ import annotations

import json
from typing import Any

from rdsshare.testing import EmulatedAWS

from ..accounts import SOURCE, TARGET


def _key_label(aws: EmulatedAWS, arn: str | None) -> str:
    if not arn:
        return "-"
    account = arn.split(":")[4]
    kms = aws.client(account, "kms")
    meta = kms.describe_key(KeyId=arn)["KeyMetadata"]
    aliases = sorted(a["AliasName"] for a in kms.list_aliases(KeyId=meta["KeyId"])["Aliases"])
    return f"{account}/{meta['KeyManager']}/{meta['KeyState']}/{','.join(aliases) or meta.get('Description', '')}"


def _policy_shape(policy: str) -> list[tuple[str, str, str]]:
    doc = json.loads(policy)
    out = []
    for statement in doc["Statement"]:
        principal = statement.get("Principal", {})
        aws_principals = principal.get("AWS", principal) if isinstance(principal, dict) else principal
        out.append(
            (str(statement.get("Sid")), json.dumps(aws_principals, sort_keys=True), json.dumps(statement.get("Action")))
        )
    return sorted(out)


def fingerprint(aws: EmulatedAWS) -> dict[str, Any]:
    """The state of both accounts, with random ids replaced by labels."""
    out: dict[str, Any] = {}
    for account in (SOURCE, TARGET):
        rds = aws.client(account, "rds")
        kms = aws.client(account, "kms")
        snapshots = rds.describe_db_cluster_snapshots(SnapshotType="manual")["DBClusterSnapshots"]
        shares = {}
        for snap in snapshots:
            attrs = rds.describe_db_cluster_snapshot_attributes(
                DBClusterSnapshotIdentifier=snap["DBClusterSnapshotIdentifier"]
            )
            for attribute in attrs["DBClusterSnapshotAttributesResult"]["DBClusterSnapshotAttributes"]:
                if attribute["AttributeName"] == "restore":
                    shares[snap["DBClusterSnapshotIdentifier"]] = sorted(attribute["AttributeValues"])
        keys = []
        for entry in kms.list_keys()["Keys"]:
            meta = kms.describe_key(KeyId=entry["KeyId"])["KeyMetadata"]
            if meta["KeyManager"] != "CUSTOMER":
                continue
            policy = kms.get_key_policy(KeyId=entry["KeyId"], PolicyName="default")["Policy"]
            keys.append((_key_label(aws, meta["Arn"]), _policy_shape(policy)))
        clusters = [
            (c["DBClusterIdentifier"], c["Status"], _key_label(aws, c.get("KmsKeyId")), bool(c.get("MasterUserSecret")))
            for c in rds.describe_db_clusters()["DBClusters"]
        ]
        instances = [
            (i["DBInstanceIdentifier"], i.get("DBClusterIdentifier"), i["DBInstanceStatus"])
            for i in rds.describe_db_instances()["DBInstances"]
        ]
        secrets = aws.client(account, "secretsmanager").list_secrets()["SecretList"]
        out[account] = {
            "snapshots": sorted(
                (s["DBClusterSnapshotIdentifier"], s["Status"], _key_label(aws, s.get("KmsKeyId"))) for s in snapshots
            ),
            "shares": shares,
            "keys": sorted(keys),
            "clusters": sorted(clusters),
            "instances": sorted(instances),
            "secrets": len(secrets),
        }
    return out
