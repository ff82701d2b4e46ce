"""docs/permissions.md, "Which key policy rdsshare changes": each row of the table, run on the test bed.

For each path the test shares a cluster snapshot and compares every KMS key policy of the source account, in
both regions, before and after: the row must name the one key whose policy changed (or was created) and say
whether the snapshot's own key changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pytest

from rdsshare import AccountSession, share_cluster_snapshot
from rdsshare._naming import KEY_ALIAS
from rdsshare.testing import EmulatedAWS

from ..accounts import SOURCE, TARGET
from ._pages import table

EAST, WEST = "us-east-1", "us-west-2"
PAGE, HEADING = "permissions.md", "### Which key policy rdsshare changes"


@dataclass(frozen=True)
class Path:
    #: the snapshot's keys the row holds for ("aws/rds", "cmk", "none"): each is run
    keys: tuple[str, ...]
    other_region: bool = False
    given: bool = False
    cross_region_copy: Literal["auto", "source", "target"] = "auto"


ROWS = {
    "under `aws/rds` (AWS-managed: its policy cannot change), same region": Path(("aws/rds",)),
    "under `aws/rds`, same region, `source_kms_key=`": Path(("aws/rds",), given=True),
    "under a customer-managed key, same region": Path(("cmk",)),
    "under a customer-managed key, same region, `source_kms_key=`": Path(("cmk",), given=True),
    "under `aws/rds` or a customer-managed key, another region, the source copies it": Path(
        ("aws/rds", "cmk"), other_region=True, cross_region_copy="source"
    ),
    "under `aws/rds` or a customer-managed key, another region, the source copies it, `source_kms_key=`": Path(
        ("aws/rds", "cmk"), other_region=True, given=True, cross_region_copy="source"
    ),
    "under a customer-managed key, another region, the targets pull it": Path(
        ("cmk",), other_region=True, cross_region_copy="target"
    ),
    "unencrypted": Path(("none",)),
}


def _policies(aws: EmulatedAWS) -> dict[str, str]:
    """Every key's policy in the source account, both regions, by key ARN."""
    found = {}
    for region in (EAST, WEST):
        kms = aws.client(SOURCE, "kms", region=region)
        for key in kms.list_keys()["Keys"]:
            found[key["KeyArn"]] = kms.get_key_policy(KeyId=key["KeyId"], PolicyName="default")["Policy"]
    return found


def _share_key(aws: EmulatedAWS, region: str) -> str | None:
    kms = aws.client(SOURCE, "kms", region=region)
    aliases = [a for a in kms.list_aliases()["Aliases"] if a["AliasName"] == KEY_ALIAS]
    return str(kms.describe_key(KeyId=aliases[0]["TargetKeyId"])["KeyMetadata"]["Arn"]) if aliases else None


def _observe(path: Path, snapshot_key: str) -> list[str]:
    """The row's last two cells as the test bed shows them for ``path`` with a snapshot under ``snapshot_key``."""
    with EmulatedAWS(region=EAST) as aws:
        cmk = aws.client(SOURCE, "kms").create_key()["KeyMetadata"]["Arn"] if snapshot_key == "cmk" else None
        aws.create_cluster(SOURCE, "example-db", encrypted=snapshot_key != "none", kms_key_id=cmk)
        own = aws.client(SOURCE, "rds").describe_db_clusters()["DBClusters"][0].get("KmsKeyId")
        region = WEST if path.other_region else EAST
        given = aws.client(SOURCE, "kms", region=region).create_key()["KeyMetadata"]["Arn"] if path.given else None
        before = _policies(aws)
        share_cluster_snapshot(
            source=AccountSession(aws.session(SOURCE), endpoint_url=aws.endpoint_url),
            target=AccountSession(aws.session(TARGET, region=region), endpoint_url=aws.endpoint_url),
            cluster_id="example-db",
            source_kms_key=given,
            cross_region_copy=path.cross_region_copy,
        )
        after = _policies(aws)
        changed = [arn for arn, policy in after.items() if before.get(arn) != policy]
        names = {own: "the snapshot's own key", given: "the key given"}
        names.update({_share_key(aws, r): "rdsshare's share key" for r in (EAST, WEST)})
        changes = [
            f"{names.get(arn, arn)}, in the {'source' if arn.split(':')[3] == EAST else 'target'}'s region"
            for arn in changed
        ]
        return ["; ".join(changes) or "none", "changed" if own in changed else "not changed"]


def test_the_table_has_a_row_for_each_path_and_no_other() -> None:
    assert [row[0] for row in table(PAGE, HEADING)] == list(ROWS)


@pytest.mark.parametrize(
    ("row", "snapshot_key"), [(row, key) for row, path in ROWS.items() for key in path.keys], ids=str
)
def test_each_row_says_which_key_policy_the_run_changes(row: str, snapshot_key: str) -> None:
    documented = {cells[0]: cells[1:] for cells in table(PAGE, HEADING)}
    assert _observe(ROWS[row], snapshot_key) == documented[row]
