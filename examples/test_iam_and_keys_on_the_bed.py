"""Test what your automation can do with the IAM policy you deploy, and what a lost key does.

The test bed enforces IAM identity policies for sessions made with ``aws.role_session()``, and a database
whose KMS key goes away becomes ``inaccessible-encryption-credentials-recoverable``, as on AWS.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Literal

import pytest

from rdsshare import AccountSession, ClusterRestoreSpec, PreflightError, required_iam_policy, share_cluster_snapshot
from rdsshare.testing import EmulatedAWS

SOURCE = "111111111111"
TARGET = "222222222222"


@pytest.fixture
def aws() -> Iterator[EmulatedAWS]:
    with EmulatedAWS(region="us-east-1") as bed:
        bed.create_cluster(SOURCE, "example-db")  # encrypted with aws/rds
        yield bed


def as_role(aws: EmulatedAWS, account: str, side: str, policy: Mapping[str, Any]) -> AccountSession:
    """A session of ``account`` acting as a role whose only IAM policy is ``policy``."""
    return AccountSession(aws.role_session(account, f"rdsshare-{side}", policy), endpoint_url=aws.endpoint_url)


def spec(aws: EmulatedAWS) -> ClusterRestoreSpec:
    net = aws.create_network(TARGET, "staging")
    return ClusterRestoreSpec(
        cluster_id="staging-db",
        instance_class="db.t3.medium",
        subnet_group=net.subnet_group,
        security_group_ids=[net.security_group_id],
    )


def policy(side: Literal["source", "target"]) -> dict[str, Any]:
    """The IAM policy you deploy for one side (here: what rdsshare generates)."""
    return required_iam_policy(side, source_account_id=SOURCE, target_account_id=TARGET, region="us-east-1")


def test_the_policies_you_deploy_are_enough(aws: EmulatedAWS) -> None:
    source = as_role(aws, SOURCE, "source", policy("source"))
    target = as_role(aws, TARGET, "target", policy("target"))
    result = share_cluster_snapshot(source=source, target=target, cluster_id="example-db", restore=spec(aws))
    assert result.master_user_secret_arn


def test_a_too_narrow_policy_is_refused_before_anything_changes(aws: EmulatedAWS) -> None:
    source = as_role(aws, SOURCE, "source", policy("source"))
    read_only = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "rds:Describe*", "Resource": "*"}],
    }
    target = as_role(aws, TARGET, "target", read_only)
    # The preflight's read-only checks meet AWS's AccessDenied wording and report it, with a fix.
    with pytest.raises(PreflightError, match="is not authorized to perform: kms:DescribeKey"):
        share_cluster_snapshot(source=source, target=target, cluster_id="example-db", restore=spec(aws))


def test_the_restored_cluster_outlives_the_source_key(aws: EmulatedAWS) -> None:
    source = AccountSession(aws.session(SOURCE), endpoint_url=aws.endpoint_url)
    target = AccountSession(aws.session(TARGET), endpoint_url=aws.endpoint_url)
    result = share_cluster_snapshot(source=source, target=target, cluster_id="example-db", restore=spec(aws))
    assert result.source_kms_key_arn is not None
    aws.client(SOURCE, "kms").schedule_key_deletion(KeyId=result.source_kms_key_arn, PendingWindowInDays=7)
    [cluster] = aws.client(TARGET, "rds").describe_db_clusters(DBClusterIdentifier="staging-db")["DBClusters"]
    assert cluster["Status"] == "available"  # it is under the target's own key
