"""A share's request, checked: every input error is found here, before any AWS call that changes anything.

:func:`prepare` turns the facade's arguments (or :meth:`ShareJob.start`'s) into a job whose
request holds plain values only, after checking ids, sessions, accounts, regions, restore specs
and key admins. Only ``sts:GetCallerIdentity`` is called (to learn the sessions' accounts).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

from ._errors import InputError
from ._kinds import CLUSTER, SnapshotKind
from ._policy import CmkPolicyBuilder
from ._session import AccountSession
from ._share import MAX_SHARED_ACCOUNTS
from ._validation import check_run_name, validate_identifier

if TYPE_CHECKING:
    from ._events import EventHook
    from ._job import ShareJob
    from ._slots import CopySlots
    from ._waiting import WaitPolicy

__all__ = ["CleanupMode", "CrossRegionCopy", "prepare"]

CleanupMode = Literal["none", "intermediates"]
#: who makes the copy into another region: the plan's cheaper choice, the source account, or each target
CrossRegionCopy = Literal["auto", "source", "target"]


def _check_sessions(source: object, *targets: object) -> None:
    for name, value in (("source", source), *(("target", t) for t in targets)):
        if not isinstance(value, AccountSession):
            raise InputError(
                f"{name} must be an AccountSession, got {type(value).__name__}",
                step="input",
                fix="wrap it: AccountSession(boto3.Session(...)) or AccountSession.from_profile(...)",
            )


def _target_sessions(target: object, targets: object) -> list[AccountSession]:
    """The target sessions, from exactly one of ``target`` and ``targets`` (at most 20)."""
    if (target is None) == (targets is None):
        raise InputError(
            "pass exactly one of target and targets",
            step="input",
            fix="target=AccountSession(...) for one account, targets=[...] for several",
        )
    if target is not None:
        return [target]  # type: ignore[list-item]  # checked by _check_sessions
    if isinstance(targets, AccountSession) or not isinstance(targets, Sequence) or not targets:
        raise InputError("targets must be a non-empty list of AccountSession", step="input", fix="targets=[a, b]")
    if len(targets) > MAX_SHARED_ACCOUNTS:
        raise InputError(
            f"{len(targets)} targets; a snapshot can be shared with at most {MAX_SHARED_ACCOUNTS} accounts",
            step="input",
            fix="split the targets over several runs",
        )
    return list(targets)


def _restore_specs(restore: object, *, multi: bool, spec_type: type[Any]) -> Callable[[list[str]], dict[str, Any]]:
    """Validate ``restore`` now; map it onto the target account ids once they are known."""
    if restore is None:
        return lambda _accounts: {}
    name = spec_type.__name__
    if isinstance(restore, spec_type):
        if multi:
            raise InputError(
                f"with targets=[...], restore must map target account ids to {name}",
                step="input",
                fix=f"restore={{'222222222222': {name}(...)}}",
            )
        return lambda accounts: {accounts[0]: restore}
    if isinstance(restore, Mapping):
        for account, spec in restore.items():
            if not isinstance(account, str) or not re.fullmatch(r"[0-9]{12}", account):
                raise InputError(
                    f"restore must be a {name}, or a mapping of target account ids to one; "
                    f"{account!r} is not a 12-digit account id",
                    step="input",
                    fix=f"restore={name}(...) for one target; {{'<account id>': {name}(...)}} for several",
                )
            if not isinstance(spec, spec_type):
                raise InputError(
                    f"restore[{account!r}] must be a {name}, got {type(spec).__name__}",
                    step="input",
                    fix=f"restore={{'<account id>': {name}(...)}}",
                )

        def by_account(accounts: list[str]) -> dict[str, Any]:
            unknown = sorted(set(restore) - set(accounts))
            if unknown:
                raise InputError(
                    f"restore names accounts that are not targets: {unknown}",
                    step="input",
                    fix="use the target sessions' account ids as keys",
                )
            return {a: restore[a] for a in accounts if a in restore}

        return by_account
    raise InputError(
        f"restore must be a {name}, got {type(restore).__name__}",
        step="input",
        fix=f"restore={name}(...)",
    )


def prepare(
    kind: SnapshotKind,
    *,
    source: AccountSession,
    target: AccountSession | None = None,
    targets: Sequence[AccountSession] | None = None,
    source_id: str | None = None,
    cluster_id: str | None = None,
    instance_id: str | None = None,
    snapshot_id: str | None = None,
    restore: Any = None,
    run_name: str | None = None,
    source_kms_key: str | None = None,
    key_admin_principals: Sequence[str] = (),
    on_event: EventHook | None = None,
    wait: WaitPolicy | None = None,
    cleanup: CleanupMode = "none",
    copy_slots: CopySlots | None = None,
    cross_region_copy: CrossRegionCopy = "auto",
) -> ShareJob:
    """Check the input of a share (nothing is called that changes anything) and make its job."""
    from ._job import ShareJob
    from ._jobstate import new_state
    from ._planfile import spec_to_dict, spec_type

    # -- input: nothing has been called yet ---------------------------------------------------
    other = instance_id if kind is CLUSTER else cluster_id
    if other is not None:
        raise InputError(
            f"a {kind.noun} share takes {kind.name}_id, not {'instance' if kind is CLUSTER else 'cluster'}_id",
            step="input",
            fix=f"pass {kind.name}_id=...",
        )
    if source_id is None:
        source_id = cluster_id if kind is CLUSTER else instance_id
    sessions = _target_sessions(target, targets)
    _check_sessions(source, *sessions)
    arg = f"{kind.name}_id"
    if (source_id is None) == (snapshot_id is None):
        raise InputError(
            f"pass exactly one of {arg} and snapshot_id",
            step="input",
            fix=f"{arg}='my-db' takes a new snapshot; snapshot_id='<id or ARN>' starts from an existing one",
        )
    if source_id is not None:
        source_id = validate_identifier(source_id, kind.name, argument=arg)
    if snapshot_id is not None and not isinstance(snapshot_id, str):
        raise InputError(
            f"snapshot_id must be a string, got {type(snapshot_id).__name__}",
            step="input",
            fix="pass the snapshot id or ARN as a string",
        )
    arn_pattern = re.compile(rf"arn:(aws[a-z-]*):rds:([a-z0-9-]+):([0-9]{{12}}):{kind.arn_type}:(.+)")
    if snapshot_id is not None and not arn_pattern.fullmatch(snapshot_id) and not snapshot_id.startswith("rds:"):
        validate_identifier(snapshot_id, kind.identifier_kind, argument="snapshot_id")
    specs_by_position = _restore_specs(restore, multi=targets is not None, spec_type=spec_type(kind))
    check_run_name(run_name)
    if cleanup not in ("none", "intermediates"):
        raise InputError(
            f"cleanup must be 'none' or 'intermediates', not {cleanup!r}",
            step="input",
            fix="use cleanup='intermediates', or rdsshare.cleanup(result.manifest, ...) for everything",
        )
    if cross_region_copy not in ("auto", "source", "target"):
        raise InputError(
            f"cross_region_copy must be 'auto', 'source' or 'target', not {cross_region_copy!r}",
            step="input",
            fix="leave it 'auto' (the plan takes the cheaper path), or force 'source' or 'target'",
        )
    if cleanup == "intermediates" and not restore:
        raise InputError(
            "cleanup='intermediates' needs restore=...: without a restore the shared snapshot is the result",
            step="input",
            fix="pass restore, or clean up later with rdsshare.cleanup(result.manifest, ...)",
        )

    # -- identities (read-only) ---------------------------------------------------------------
    src = source.account_id
    accounts = [t.account_id for t in sessions]
    if src in accounts:
        raise InputError(
            f"source and target are the same account ({src})",
            step="input",
            account_id=src,
            fix="use sessions (profiles or roles) of two different accounts",
        )
    if len(set(accounts)) != len(accounts):
        raise InputError(
            f"the targets repeat an account: {accounts}", step="input", fix="list each target account once"
        )
    if len({t.region for t in sessions}) > 1:
        raise InputError(
            f"the targets are in different regions: {sorted({t.region for t in sessions})}",
            step="input",
            fix="share with the targets of each region in a separate call",
        )
    specs = specs_by_position(accounts)
    tgt = accounts[0]
    m = arn_pattern.fullmatch(snapshot_id) if snapshot_id is not None else None
    if m is not None and (m.group(3) != src or m.group(2) != source.region):
        raise InputError(
            f"snapshot {snapshot_id} is not in the source account {src} / region {source.region}",
            step="input",
            resource=snapshot_id,
            fix="pass a snapshot of the source session's account and region",
        )
    for admin in key_admin_principals:
        CmkPolicyBuilder(owner_account_id=src, target_account_ids=(), admin_principals=(admin,))
    request = {
        f"{kind.name}_id": source_id,
        "snapshot_id": snapshot_id,
        "run_name": run_name,
        "source_kms_key": source_kms_key,
        "key_admin_principals": list(key_admin_principals),
        "target_account_ids": accounts,
        "restore": {account: spec_to_dict(spec) for account, spec in specs.items()},
        "cleanup": cleanup,
        "cross_region_copy": cross_region_copy,
    }
    state = new_state(kind, source_account_id=src, region=sessions[0].region, run_name=run_name or tgt, request=request)
    return ShareJob(state, source=source, targets=sessions, on_event=on_event, wait=wait, copy_slots=copy_slots)
