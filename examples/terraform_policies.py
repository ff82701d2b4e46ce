"""Write rdsshare's key policy and both IAM policies as files for Terraform.

The key policy is plain JSON for ``aws_kms_key_policy``. The IAM policies name
the source CMK, whose ARN Terraform knows only once it has created the key, so
they are ``templatefile()`` templates with a ``${source_kms_key_arn}`` placeholder.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rdsshare import CmkPolicyBuilder, required_iam_policy

#: templatefile(path, { source_kms_key_arn = aws_kms_key.share.arn }) fills it in.
KEY_ARN_PLACEHOLDER = "${source_kms_key_arn}"


def policy_documents(
    *,
    source_account_id: str,
    target_account_id: str,
    region: str,
    restore_cluster_ids: Sequence[str] = (),
    key_admins: Sequence[str] = (),
) -> dict[str, dict[str, Any]]:
    """File name -> policy document."""
    common: dict[str, Any] = {
        "source_account_id": source_account_id,
        "target_account_id": target_account_id,
        "region": region,
        "source_kms_key_arn": KEY_ARN_PLACEHOLDER,
    }
    key_policy = CmkPolicyBuilder(
        owner_account_id=source_account_id,
        target_account_ids=[target_account_id],
        admin_principals=key_admins,
    )
    return {
        "key-policy.json": key_policy.build(),
        "source-iam-policy.json.tftpl": required_iam_policy("source", **common),
        "target-iam-policy.json.tftpl": required_iam_policy(
            "target",
            restore_cluster_ids=restore_cluster_ids,
            **common,
        ),
    }


def write_policies(directory: Path, **kwargs: Any) -> list[Path]:
    """Write :func:`policy_documents` into ``directory``; return the paths."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, document in policy_documents(**kwargs).items():
        path = directory / name
        path.write_text(json.dumps(document, indent=2) + "\n")
        written.append(path)
    return written


if __name__ == "__main__":
    write_policies(
        Path(__file__).parent / "terraform" / "policies",
        source_account_id="111111111111",
        target_account_id="222222222222",
        region="ap-northeast-1",
        restore_cluster_ids=["example-db-2"],
    )
