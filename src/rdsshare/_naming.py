"""Deterministic names and tags: how a rerun finds what an earlier run made.

Every resource rdsshare creates gets a name derived from the source and the run name, and the
tags below. A rerun looks the name up: if it exists and carries rdsshare's tags for the same
source, it is adopted; if it exists without them, it belongs to someone else and rdsshare
stops with :class:`~rdsshare.ConflictError` rather than touch it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from ._errors import ConflictError

__all__ = [
    "KEY_ALIAS",
    "TAG_MANAGED_BY",
    "TAG_ROLE",
    "TAG_RUN",
    "TAG_SOURCE",
    "check_ours",
    "derived_id",
    "instance_ids",
    "rds_tags",
    "tag_dict",
]

TAG_MANAGED_BY = "rdsshare:managed-by"
TAG_RUN = "rdsshare:run"
TAG_SOURCE = "rdsshare:source"
TAG_ROLE = "rdsshare:role"
MANAGED_BY = "rdsshare"

#: The alias of the customer-managed key rdsshare creates in a source account/region.
KEY_ALIAS = "alias/rdsshare/share-key"


def _sanitize(text: str) -> str:
    text = re.sub(r"[^A-Za-z0-9-]", "-", text.lower())
    text = re.sub(r"-{2,}", "-", text)
    return text.strip("-")


def derived_id(*parts: str, limit: int = 255) -> str:
    """``rdsshare-<parts...>`` as a valid RDS identifier of at most ``limit`` characters."""
    body = "-".join(_sanitize(p) for p in parts if p)
    name = f"rdsshare-{body}" if body else "rdsshare"
    return name[:limit].rstrip("-")


def copy_id(snapshot_id: str, run: str, suffix: str) -> str:
    """The shareable copy of ``snapshot_id`` made by run ``run``: ``rdsshare-<snapshot>[-<run>]-<suffix>``.

    An automated snapshot's ``rds:`` prefix and rdsshare's own prefix are dropped, and the run name
    is not repeated when the snapshot's id already ends with it.
    """
    base = snapshot_id.removeprefix("rds:").removeprefix("rdsshare-")
    return derived_id(base, run if not base.endswith(run) else "", suffix)


def instance_ids(cluster_id: str, count: int) -> list[str]:
    """The identifiers of a restored cluster's instances: ``<cluster>-instance-<n>``."""
    out = []
    for n in range(1, count + 1):
        suffix = f"-instance-{n}"
        out.append(f"{cluster_id[: 63 - len(suffix)].rstrip('-')}{suffix}")
    return out


def rds_tags(*, run: str, source: str, role: str, extra: Mapping[str, str] | None = None) -> list[dict[str, str]]:
    """RDS/KMS-style tag list (``Key``/``Value``) for a resource rdsshare creates."""
    tags = dict(extra or {})
    tags.update({TAG_MANAGED_BY: MANAGED_BY, TAG_RUN: run, TAG_SOURCE: source, TAG_ROLE: role})
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


def check_ours(
    tags: Iterable[Mapping[str, object]] | None,
    *,
    source: str,
    step: str,
    account_id: str,
    resource: str,
) -> None:
    """Raise :class:`ConflictError` unless the tags say rdsshare made this for ``source``."""
    found = tag_dict(tags)
    if found.get(TAG_MANAGED_BY) != MANAGED_BY:
        raise ConflictError(
            f"{resource} exists but was not created by rdsshare; it will not be touched",
            step=step,
            account_id=account_id,
            resource=resource,
            fix="pick another run_name (or restore cluster id), or remove that resource yourself",
        )
    if found.get(TAG_SOURCE) not in (None, source):
        raise ConflictError(
            f"{resource} was created by rdsshare for another source ({found.get(TAG_SOURCE)})",
            step=step,
            account_id=account_id,
            resource=resource,
            fix="pick another run_name (or restore cluster id)",
        )
