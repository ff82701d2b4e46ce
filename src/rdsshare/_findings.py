"""What preflight read, handed to the run as arguments: the plan decides once, the run does not ask again.

Preflight reads everything a run needs before its first change. The run's steps receive those
answers as arguments (``existing=``, ``found=``, ``policy=``), so that what the plan decided from is
exactly what the run acts on, and no step object keeps answers of its own. A finding is only ever
a read: a step that changes something shared (the share key, a key policy) reads again right before
it writes, because another run may have written since.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Final

import attrs

if TYPE_CHECKING:
    from ._keys import KeyInfo

__all__ = ["UNREAD", "Findings", "Unread", "key_from", "key_to", "plain"]


def plain(value: Any) -> Any:
    """``value`` (an AWS answer, say) as JSON values: datetimes as ISO 8601 text, tuples as lists."""
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


class Unread:
    """The type of :data:`UNREAD`: preflight did not read this, so the step reads it itself."""

    _instance: Unread | None = None

    def __new__(cls) -> Unread:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNREAD"

    def __bool__(self) -> bool:
        return False


#: "not read by preflight": distinct from None, which is a read that found nothing.
UNREAD: Final = Unread()


def key_to(key: KeyInfo | None) -> dict[str, Any] | None:
    """A key as plain values (in a job's state)."""
    return None if key is None else attrs.asdict(key)


def key_from(value: Mapping[str, Any] | None) -> KeyInfo | None:
    """The key :func:`key_to` wrote."""
    from ._keys import KeyInfo

    return None if value is None else KeyInfo(**value)


@attrs.define
class Findings:
    """Answers of preflight's reads, keyed as the run asks for them."""

    #: the source cluster's (or instance's) ARN
    source_arn: str | None = None
    #: snapshots by lower-cased identifier (None: looked up, none there)
    snapshots: dict[str, dict[str, Any] | None] = attrs.field(factory=dict)
    #: key descriptions by the id, ARN or alias they were asked by
    keys: dict[str, KeyInfo] = attrs.field(factory=dict)
    #: rdsshare's share key as found by its alias (None: there is none yet)
    share_key: KeyInfo | Unread | None = UNREAD
    #: key policies read, by key id
    policies: dict[str, dict[str, Any]] = attrs.field(factory=dict)
    #: the ``restore`` attribute of the snapshot to share, by lower-cased id
    shared_with: dict[str, list[str]] = attrs.field(factory=dict)
    #: who manages a share key this run creates (its session's IAM principal)
    key_managers: tuple[str, ...] = ()
    #: per target account, the key its restore is encrypted with (None: unencrypted)
    target_keys: dict[str, KeyInfo | None] = attrs.field(factory=dict)
    #: per (target account, lower-cased id), the restored cluster or instance found (None: none)
    restores: dict[tuple[str, str], dict[str, Any] | None] = attrs.field(factory=dict)
    #: per target account, the wanted instances already members of the restore
    members: dict[str, dict[str, dict[str, Any]]] = attrs.field(factory=dict)
    #: per target account, the restore's parameters the plan decided (``_carry.restore_settings``)
    settings: dict[str, dict[str, Any]] = attrs.field(factory=dict)
    #: per target account, the DB parameter group of a cluster restore's instances (absent: the engine's default)
    instance_groups: dict[str, str] = attrs.field(factory=dict)
    #: per target account, the refresh in place the plan decided (``_replace.Replacement`` as values)
    replacements: dict[str, dict[str, Any]] = attrs.field(factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """As JSON values (a resumable job carries them): see :meth:`from_dict`."""

        def key(info: KeyInfo | None) -> dict[str, Any] | None:
            return None if info is None else attrs.asdict(info)

        return {
            "source_arn": self.source_arn,
            "snapshots": plain(self.snapshots),
            "keys": {k: key(v) for k, v in self.keys.items()},
            "share_key": "unread" if isinstance(self.share_key, Unread) else key(self.share_key),
            "policies": plain(self.policies),
            "shared_with": plain(self.shared_with),
            "key_managers": list(self.key_managers),
            "target_keys": {k: key(v) for k, v in self.target_keys.items()},
            "restores": [[a, i, plain(v)] for (a, i), v in self.restores.items()],
            "members": plain(self.members),
            "settings": plain(self.settings),
            "replacements": plain(self.replacements),
            "instance_groups": dict(self.instance_groups),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Findings:
        """The findings :meth:`to_dict` wrote."""
        from ._keys import KeyInfo

        def key(value: Any) -> KeyInfo | None:
            return None if value is None else KeyInfo(**value)

        share_key = data.get("share_key", "unread")
        return cls(
            source_arn=data.get("source_arn"),
            snapshots=dict(data.get("snapshots") or {}),
            keys={k: KeyInfo(**v) for k, v in (data.get("keys") or {}).items()},
            share_key=UNREAD if share_key == "unread" else key(share_key),
            policies=dict(data.get("policies") or {}),
            shared_with={k: list(v) for k, v in (data.get("shared_with") or {}).items()},
            key_managers=tuple(data.get("key_managers") or ()),
            target_keys={k: key(v) for k, v in (data.get("target_keys") or {}).items()},
            restores={(a, i): v for a, i, v in data.get("restores") or ()},
            members={k: dict(v) for k, v in (data.get("members") or {}).items()},
            settings={k: dict(v) for k, v in (data.get("settings") or {}).items()},
            replacements={k: dict(v) for k, v in (data.get("replacements") or {}).items()},
            instance_groups=dict(data.get("instance_groups") or {}),
        )

    def snapshot(self, snapshot_id: str) -> dict[str, Any] | Unread | None:
        """The snapshot preflight found under ``snapshot_id``, None if none, UNREAD if it did not look."""
        key = snapshot_id.lower()
        return self.snapshots.get(key, UNREAD)

    def restore(self, account_id: str, ident: str) -> dict[str, Any] | Unread | None:
        """The cluster or instance preflight found under ``ident`` in ``account_id`` (see :meth:`snapshot`)."""
        key = (account_id, ident.lower())
        return self.restores.get(key, UNREAD)
