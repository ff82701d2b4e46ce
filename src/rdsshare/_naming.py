"""Deterministic names and tags: how a rerun finds what an earlier run made.

Every resource rdsshare creates gets a name derived from the source and the run name, and the
tags below. A rerun looks the name up: if it exists and carries rdsshare's tags for the same
source, it is adopted; if it exists without them, it belongs to someone else and rdsshare
stops with :class:`~rdsshare.ConflictError` rather than touch it.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterable, Mapping

from ._errors import ConflictError

__all__ = [
    "KEY_ALIAS",
    "TAG_MANAGED_BY",
    "TAG_ROLE",
    "TAG_RUN",
    "TAG_RUN_TOKEN",
    "TAG_SOURCE",
    "check_ours",
    "copy_id",
    "derived_id",
    "fit",
    "instance_ids",
    "new_run_token",
    "ownership_problem",
    "rds_tags",
    "snapshot_name",
    "tag_dict",
]

TAG_MANAGED_BY = "rdsshare:managed-by"
TAG_RUN = "rdsshare:run"
#: unique per run: a manifest's cleanup touches a resource only if it carries the token its run recorded
TAG_RUN_TOKEN = "rdsshare:run-token"
TAG_SOURCE = "rdsshare:source"
TAG_ROLE = "rdsshare:role"
MANAGED_BY = "rdsshare"

#: The alias of the customer-managed key rdsshare creates in a source account/region.
KEY_ALIAS = "alias/rdsshare/share-key"


def _sanitize(text: str) -> str:
    text = re.sub(r"[^A-Za-z0-9-]", "-", text.lower())
    text = re.sub(r"-{2,}", "-", text)
    return text.strip("-")


#: The longest identifiers RDS accepts: DB clusters, DB instances and DB cluster snapshots 63, DB
#: snapshots 255 (botocore model, the Constraints of each identifier parameter).
CLUSTER_ID_LIMIT = 63
SNAPSHOT_ID_LIMIT = {"cluster": 63, "instance": 255}


def fit(name: str, limit: int, *, keep: str = "") -> str:
    """``name`` (then ``keep``) in at most ``limit`` characters, still valid and still distinct.

    A name that is too long is cut and marked with eight hex digits of its hash, so two long names
    that differ only past the cut stay different; ``keep`` (a suffix such as ``-instance-1``) stays.
    """
    whole = f"{name}{keep}"
    if len(whole) <= limit:
        return whole
    digest = hashlib.sha256(whole.encode()).hexdigest()[:8]
    head = re.sub(r"-{2,}", "-", name[: limit - len(keep) - len(digest) - 1]).rstrip("-")
    return f"{head}-{digest}{keep}"


def derived_id(*parts: str, limit: int = CLUSTER_ID_LIMIT) -> str:
    """``rdsshare-<parts...>`` as a valid RDS identifier of at most ``limit`` characters."""
    body = "-".join(_sanitize(p) for p in parts if p)
    return fit(f"rdsshare-{body}" if body else "rdsshare", limit)


def snapshot_name(arn_or_id: str) -> str:
    """The owner's identifier of a snapshot from its ARN (or identifier).

    A target sees a shared snapshot's identifier fields as the ARN (boto/boto3 #2335), so names
    derived from a snapshot start from the ARN's last part, never from the identifier field.
    """
    if not arn_or_id.startswith("arn:"):
        return arn_or_id
    parts = arn_or_id.split(":", 6)  # arn:partition:rds:region:account:type:name (automated: rds:...)
    return parts[6] if len(parts) == 7 else arn_or_id


def copy_id(snapshot_id: str, run: str, suffix: str, *, limit: int = CLUSTER_ID_LIMIT) -> str:
    """The shareable copy of ``snapshot_id`` made by run ``run``: ``rdsshare-<snapshot>[-<run>]-<suffix>``.

    An automated snapshot's ``rds:`` prefix and rdsshare's own prefix are dropped, and the run name
    is not repeated when the snapshot's id already ends with it. Long names are cut (see :func:`fit`).
    """
    base = snapshot_name(snapshot_id).removeprefix("rds:").removeprefix("rdsshare-")
    return derived_id(base, run if not base.endswith(run) else "", suffix, limit=limit)


def instance_ids(cluster_id: str, count: int) -> list[str]:
    """The identifiers of a restored cluster's instances: ``<cluster>-instance-<n>`` (cut to fit 63)."""
    return [fit(cluster_id, CLUSTER_ID_LIMIT, keep=f"-instance-{n}") for n in range(1, count + 1)]


def new_run_token() -> str:
    """A token no other run has: 16 hex digits from the OS's random source."""
    return secrets.token_hex(8)


def rds_tags(
    *,
    run: str,
    source: str,
    role: str,
    extra: Mapping[str, str] | None = None,
    token: str | None = None,
) -> list[dict[str, str]]:
    """RDS/KMS-style tag list (``Key``/``Value``) for a resource rdsshare creates."""
    tags = dict(extra or {})
    tags.update({TAG_MANAGED_BY: MANAGED_BY, TAG_RUN: run, TAG_SOURCE: source, TAG_ROLE: role})
    if token is not None:
        tags[TAG_RUN_TOKEN] = token
    return [{"Key": k, "Value": v} for k, v in tags.items()]


def tag_dict(tags: Iterable[Mapping[str, object]] | None) -> dict[str, str]:
    """``[{"Key": k, "Value": v}]`` (or KMS's ``TagKey``/``TagValue``) as a dict."""
    out: dict[str, str] = {}
    for tag in tags or ():
        key = tag.get("Key", tag.get("TagKey"))
        value = tag.get("Value", tag.get("TagValue", ""))
        if key is not None:
            out[str(key)] = str(value)
    return out


def ownership_problem(tags: Iterable[Mapping[str, object]] | None, *, source: str | None) -> tuple[str, str] | None:
    """Why a resource found under rdsshare's name is not this run's to adopt (message, fix), or None.

    The one rule both the plan and the run apply: rdsshare made it (its tag), for the same source.
    ``source=None`` (not known yet) checks only the first half.
    """
    found = tag_dict(tags)
    if found.get(TAG_MANAGED_BY) != MANAGED_BY:
        return (
            "exists but was not created by rdsshare; it will not be touched",
            "pick another run_name (or restore cluster id), or remove that resource yourself",
        )
    if source is not None and found.get(TAG_SOURCE) not in (None, source):
        return (
            f"was created by rdsshare for another source ({found.get(TAG_SOURCE)})",
            "pick another run_name (or restore cluster id)",
        )
    return None


def check_ours(
    tags: Iterable[Mapping[str, object]] | None,
    *,
    source: str,
    step: str,
    account_id: str,
    resource: str,
) -> None:
    """Raise :class:`ConflictError` unless the tags say rdsshare made this for ``source``."""
    problem = ownership_problem(tags, source=source)
    if problem is not None:
        message, fix = problem
        raise ConflictError(f"{resource} {message}", step=step, account_id=account_id, resource=resource, fix=fix)
