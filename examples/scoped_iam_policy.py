"""The target side's IAM policy for one restored cluster and a known source key."""

from __future__ import annotations

import json
import sys
from typing import Any

from rdsshare import required_iam_policy

KEY_ID = "1234abcd-12ab-34cd-56ef-1234567890ab"
SOURCE_KEY = f"arn:aws:kms:ap-northeast-1:111111111111:key/{KEY_ID}"


def target_policy() -> dict[str, Any]:
    return required_iam_policy(
        "target",
        source_account_id="111111111111",
        target_account_id="222222222222",
        region="ap-northeast-1",
        restore_cluster_ids=["example-db-2"],
        source_kms_key_arn=SOURCE_KEY,
        include_cleanup=False,  # no delete permissions
    )


if __name__ == "__main__":
    json.dump(target_policy(), sys.stdout, indent=2)
