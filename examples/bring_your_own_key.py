"""Use a source CMK managed outside rdsshare (Terraform, a platform team)."""

from __future__ import annotations

from rdsshare import (
    AccountSession,
    ClusterRestoreSpec,
    CmkPolicyBuilder,
    ShareResult,
    share_cluster_snapshot,
)

TEAM_KEY = "alias/team/rds-share"


def key_policy_grants(source: AccountSession, key: str, target_account_id: str) -> bool:
    """Whether the key's policy already grants the target what RDS needs.

    If it does, rdsshare leaves the policy alone. If not, rdsshare adds its
    statements with ``PutKeyPolicy``, which Terraform then reports as drift.
    """
    kms = source.kms()
    key_id = kms.describe_key(KeyId=key)["KeyMetadata"]["KeyId"]
    policy = kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"]
    builder = CmkPolicyBuilder(
        owner_account_id=source.account_id,
        target_account_ids=[target_account_id],
    )
    return builder.grants_targets(policy)


def share_under_team_key(
    source: AccountSession,
    target: AccountSession,
    restore: ClusterRestoreSpec | None = None,
) -> ShareResult:
    """Copy (if needed) and share under ``TEAM_KEY``; never edit its policy."""
    if not key_policy_grants(source, TEAM_KEY, target.account_id):
        missing = f"{TEAM_KEY} does not grant {target.account_id}"
        raise RuntimeError(f"{missing}: apply the Terraform key policy first")
    return share_cluster_snapshot(
        source=source,
        target=target,
        cluster_id="example-db",
        source_kms_key=TEAM_KEY,
        restore=restore,
    )


if __name__ == "__main__":
    share_under_team_key(
        AccountSession.from_profile("sandbox-1", region="ap-northeast-1"),
        AccountSession.from_profile("sandbox-2", region="ap-northeast-1"),
    )
