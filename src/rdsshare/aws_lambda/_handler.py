"""The durable handler: the event, the check that advances the job once, the wait between checks."""

from __future__ import annotations

import logging
import math
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aws_durable_execution_sdk_python.config import Duration
from aws_durable_execution_sdk_python.context import DurableContext
from aws_durable_execution_sdk_python.execution import durable_execution
from aws_durable_execution_sdk_python.types import WaitForConditionCheckContext
from aws_durable_execution_sdk_python.waits import WaitForConditionConfig, WaitForConditionDecision

from .._engine import ENGINE_WAIT, SessionFor, advance_once, job_of, retry_after
from .._errors import InputError, RdsShareError, error_from_dict

if TYPE_CHECKING:
    from .._schedule import WaitPolicy
    from .._session import AccountSession

__all__ = ["ShareEvent", "durable_share_handler", "share_event"]

_log = logging.getLogger("rdsshare.aws_lambda")
_ACCOUNT = re.compile(r"[0-9]{12}")
_ROLE = re.compile(r"arn:aws[a-z-]*:iam::([0-9]{12}):role/.+")


@dataclass(frozen=True)
class Side:
    """One account of the share: its id, region (None: the event's) and the role the function assumes."""

    account_id: str
    region: str | None = None
    role_arn: str | None = None


@dataclass(frozen=True)
class ShareEvent:
    """The event of one share (checked before anything is called: :func:`share_event`)."""

    source: Side
    targets: tuple[Side, ...]
    arguments: Mapping[str, Any]
    kind: str = "cluster"
    region: str | None = None
    #: the longest suspension between two checks
    max_wait_seconds: float = 300.0
    #: how long the share may keep being refused by something waiting cures (the copy quota, a busy
    #: resource, throttling, a dropped connection) before it fails with that refusal
    retry_seconds: float = 24 * 3600.0


def _side(value: Any, where: str) -> Side:
    if not isinstance(value, Mapping) or not _ACCOUNT.fullmatch(str(value.get("account_id", ""))):
        raise InputError(
            f"{where} must be an object with a 12-digit account_id",
            step="input",
            fix=f'"{where}": {{"account_id": "111111111111", "role_arn": "arn:aws:iam::111111111111:role/..."}}',
        )
    role = value.get("role_arn")
    if role is not None:
        match = _ROLE.fullmatch(str(role))
        if match is None or match.group(1) != value["account_id"]:
            raise InputError(
                f"{where}.role_arn must be a role of account {value['account_id']}, not {role!r}",
                step="input",
                account_id=str(value["account_id"]),
                fix="give the ARN of the role the function assumes in that account",
            )
    region = value.get("region")
    return Side(str(value["account_id"]), str(region) if region else None, str(role) if role else None)


def share_event(event: Any) -> ShareEvent:
    """The share an event asks for; :class:`~rdsshare.InputError` when it is malformed."""
    if not isinstance(event, Mapping):
        raise InputError("the event must be a JSON object", step="input", fix="see the docs' Workflow engines page")
    targets = event.get("targets")
    if not isinstance(targets, list) or not targets:
        raise InputError("targets must be a non-empty list", step="input", fix='"targets": [{"account_id": "..."}]')
    arguments = event.get("arguments", {})
    if not isinstance(arguments, Mapping):
        raise InputError("arguments must be an object", step="input", fix='"arguments": {"cluster_id": "orders"}')
    return ShareEvent(
        source=_side(event.get("source"), "source"),
        targets=tuple(_side(t, f"targets[{i}]") for i, t in enumerate(targets)),
        arguments=dict(arguments),
        kind=str(event.get("kind", "cluster")),
        region=str(event["region"]) if event.get("region") else None,
        max_wait_seconds=float(event.get("max_wait_seconds", 300.0)),
        retry_seconds=float(event.get("retry_seconds", 24 * 3600.0)),
    )


def _role_sessions(share: ShareEvent) -> SessionFor:
    """Sessions that assume each side's role from the function's own credentials (the function's
    own account may go without one)."""
    from .._session import AccountSession

    roles = {side.account_id: side.role_arn for side in (share.source, *share.targets)}

    def make(account_id: str, region: str | None) -> AccountSession:
        role = roles.get(account_id)
        if role is None:
            import boto3

            return AccountSession(boto3.Session(), region=region)
        return AccountSession.from_role(role, region=region)

    return make


def durable_share_handler(
    sessions: SessionFor | None = None,
    *,
    wait: WaitPolicy | None = None,
    on_event: Callable[[Any], None] | None = None,
) -> Callable[[Any, Any], Any]:
    """The Lambda handler of a durable function that runs one share per execution.

    ``sessions`` makes each account's session (default: assume the event's ``role_arn`` of each side
    from the function's credentials). The execution's result is ``{"result": <ShareResult fields>,
    "advances": n, "job": <final job state>}``.
    """

    warm: dict[tuple[str, str | None, str | None], AccountSession] = {}

    @durable_execution
    def handler(event: Any, context: DurableContext) -> dict[str, Any]:
        share = share_event(event)  # a malformed event fails here, before any AWS call
        make = sessions or _role_sessions(share)

        def session(side: Side) -> AccountSession:
            # kept while the function is warm: the next invocation reuses the session and its clients
            region = side.region or share.region
            key = (side.account_id, region, side.role_arn if sessions is None else None)
            if key not in warm:
                warm[key] = make(side.account_id, region)
            return warm[key]

        def check(state: dict[str, Any], check_context: WaitForConditionCheckContext) -> dict[str, Any]:
            now = time.time()  # a check runs once; its answer is checkpointed, never replayed
            advanced = 1
            try:
                job = job_of(
                    kind=share.kind,
                    source=session(share.source),
                    targets=[session(t) for t in share.targets],
                    arguments=share.arguments,
                    job=state["job"],
                    on_event=on_event or _log_event,
                    wait=wait or ENGINE_WAIT,
                )
                out = advance_once(job)  # a refusal waiting cures comes back in out["error"]
            except Exception as exc:  # sorted below: waiting cures it, or it ends the share
                delay = retry_after(exc)
                error = (
                    exc.to_dict()
                    if isinstance(exc, RdsShareError)
                    else {"type": type(exc).__name__, "message": str(exc)}
                )
                if delay is None:
                    _log.error("the share failed: %s", exc)
                    return {**state, "done": True, "error": error, "final": True}
                # not rdsshare's (a dropped connection): the next check starts from the last good state
                out, advanced = {**state, "wait_seconds": delay, "error": error}, 0
            refused_since = state.get("refused_since")
            advances = state["advances"] + advanced
            if out["error"] is None:
                return {**out, "advances": advances, "refused_since": None, "final": False}
            if out["error"]["type"] == "CredentialsExpiredError":
                warm.clear()  # the next check makes new sessions
            refused_since = now if refused_since is None else refused_since
            if now - refused_since > share.retry_seconds:  # waited long enough: the refusal stands
                _log.error("the share failed: %s", out["error"]["message"])
                return {**out, "advances": advances, "done": True, "final": True, "refused_since": refused_since}
            error = out["error"]
            _log.warning(
                "check %d: %s (%s); trying again in %.0f s",
                check_context.attempt,
                error["message"],
                error.get("error_code") or error["type"],
                out["wait_seconds"],
            )
            return {**out, "advances": advances, "refused_since": refused_since, "final": False}

        def strategy(state: dict[str, Any], _attempts: int) -> WaitForConditionDecision:
            if state["done"]:
                return WaitForConditionDecision.stop_polling()
            seconds = max(1, math.ceil(min(share.max_wait_seconds, state["wait_seconds"])))
            return WaitForConditionDecision.continue_waiting(Duration.from_seconds(seconds))

        initial: dict[str, Any] = {
            "job": None,
            "done": False,
            "phase": "plan",
            "wait_seconds": 0.0,
            "result": None,
            "advances": 0,
            "refused_since": None,
            "error": None,
            "manifest": None,
            "final": False,
        }
        final = context.wait_for_condition(
            check, WaitForConditionConfig(wait_strategy=strategy, initial_state=initial), name="share"
        )
        if final["final"]:
            raise error_from_dict(final["error"])
        return {"result": final["result"], "advances": final["advances"], "job": final["job"]}

    return handler


def _log_event(event: Any) -> None:
    _log.info("%s", event)
