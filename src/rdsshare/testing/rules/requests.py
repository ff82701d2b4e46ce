"""The request boundary: one hook on ``BaseResponse.call_action`` for everything about a request.

Every request moto serves, in-process (``mock_aws``) or over HTTP (``ThreadedMotoServer``), from a client
the bed made or any other (the AWS CLI, Terraform, a user's own boto3 client in server mode), goes through
``moto.core.responses.BaseResponse.call_action``. Hooking it once gives:

* the **caller**: the principal behind the request's access key, for key policies and IAM (:mod:`.caller`);
* **faults** that look exactly like AWS errors to botocore: the hook answers with an error response
  serialized in the service's protocol (query XML ``ErrorResponse`` for RDS/STS, JSON ``__type`` for
  KMS/Secrets Manager) and the chosen HTTP status, *before* moto's handler runs, so the faulted request
  has no side effect and botocore's retry handler sees a real throttle or 5xx (docs/sources/moto-gaps.md §10);
* **access**: the caller's IAM identity policy and, for KMS, the key policy, decide before the
  handler runs (:mod:`.access`); a refusal is AWS's ``AccessDenied`` for that service;
* a **record** of every request: account, region, service, operation and the error code it failed with.

Why here and not in botocore event handlers on the bed's sessions: handlers would miss clients the bed
did not make, and under ``mock_aws`` moto's own ``before-send`` handler would still serve a request a
handler meant to fault (docs/sources/moto-gaps.md §10). This hook is the one place both modes and every client share.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape

from moto.core.utils import get_service_model

from .caller import caller_from_response, caller_scope
from .iam import recording

_log = logging.getLogger("rdsshare.testing")

INTERNAL_HEADER = "x-rdsshare-testbed-internal"
"""Requests carrying this header (the test bed's own AssumeRole calls) are neither faulted nor recorded."""

_JSON_PROTOCOLS = frozenset({"json", "rest-json"})


@dataclass
class Fault:
    """An injected error: the next ``remaining`` matching calls fail with ``code``.

    ``hits`` counts the calls that have failed because of this fault so far.
    """

    service: str
    operation: str
    code: str
    status: int = 400
    message: str | None = None
    account_id: str | None = None
    remaining: int = 1
    hits: int = 0
    #: the server acts first and then the response is lost (as with a dropped connection)
    after: bool = False

    def matches(self, service: str, operation: str, account_id: str) -> bool:
        """True if this fault applies to that call and has calls left to fail."""
        return (
            self.remaining > 0
            and self.service == service
            and self.operation == operation
            and (self.account_id is None or self.account_id == account_id)
        )


@dataclass
class Interleaving:
    """Another client's work, run when a matching call arrives: ``before`` it is served, or right after
    it is served and before its caller sees the answer (what a second process may do at that moment).

    ``action`` runs outside the bed's request lock, so it can make calls of its own. ``hits`` counts runs.
    """

    service: str
    operation: str
    action: Callable[[], object]
    account_id: str | None = None
    remaining: int = 1
    hits: int = 0
    before: bool = False

    def matches(self, service: str, operation: str, account_id: str, before: bool) -> bool:
        """True if this interleaving applies to that call at that moment and has runs left."""
        return (
            self.remaining > 0
            and self.before == before
            and self.service == service
            and self.operation == operation
            and (self.account_id is None or self.account_id == account_id)
        )


@dataclass(frozen=True)
class RecordedCall:
    """One request served by the emulated AWS.

    ``failed_with`` is the AWS error code of the response (injected or real), ``None`` on success.
    ``authorized`` lists the IAM actions the caller's own identity policy had to allow for the call
    (the call's action, its dependent actions, and what RDS did with keys for the caller), in order;
    ``principal`` is the caller's ARN (an assumed-role session, or the account root).
    """

    account_id: str
    region: str
    service: str
    operation: str
    failed_with: str | None = None
    authorized: tuple[str, ...] = ()
    principal: str | None = None


class Recorder:
    """Thread-safe store of injected faults and recorded calls."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._interleavings: list[Interleaving] = []
        self._acting = 0  # interleaved actions running: their own calls trigger no interleaving
        self._calls: list[RecordedCall] = []

    def add_fault(self, fault: Fault) -> None:
        """Register a fault; earlier faults for the same call are consumed first."""
        with self._lock:
            self._faults.append(fault)

    def take_fault(self, service: str, operation: str, account_id: str) -> Fault | None:
        """Consume one call of the first matching fault, if any."""
        with self._lock:
            for fault in self._faults:
                if fault.matches(service, operation, account_id):
                    fault.remaining -= 1
                    fault.hits += 1
                    return fault
        return None

    def run_interleaving(self, item: Interleaving) -> None:
        """Run ``item``'s action; calls made meanwhile (its own) trigger no other interleaving."""
        with self._lock:
            self._acting += 1
        try:
            item.action()
        finally:
            with self._lock:
                self._acting -= 1

    def clear_faults(self) -> None:
        """Forget every fault and interleaving."""
        with self._lock:
            self._faults.clear()
            self._interleavings.clear()

    def add_interleaving(self, interleaving: Interleaving) -> None:
        """Register another client's work to run around matching calls."""
        with self._lock:
            self._interleavings.append(interleaving)

    def take_interleaving(self, service: str, operation: str, account_id: str, before: bool) -> Interleaving | None:
        """Consume one run of the first matching interleaving, if any."""
        with self._lock:
            if self._acting:
                return None
            for item in self._interleavings:
                if item.matches(service, operation, account_id, before):
                    item.remaining -= 1
                    item.hits += 1
                    return item
        return None

    def record(self, call: RecordedCall) -> None:
        """Append a call to the record."""
        with self._lock:
            self._calls.append(call)

    @property
    def calls(self) -> list[RecordedCall]:
        """A copy of the calls recorded so far, oldest first."""
        with self._lock:
            return list(self._calls)

    def clear_calls(self) -> None:
        """Forget every recorded call."""
        with self._lock:
            self._calls.clear()


def error_response(response: Any, code: str, message: str, status: int) -> tuple[int, dict[str, str], str]:
    """An AWS error response for ``response``'s service, in that service's wire protocol."""
    service_model = get_service_model(response.boto3_service_name)
    protocol = str(response.determine_response_protocol(service_model))
    headers: dict[str, str] = dict(getattr(response, "response_headers", {}) or {})
    request_id = "rdsshare-testbed-fault"
    if protocol in _JSON_PROTOCOLS:
        headers["Content-Type"] = "application/x-amz-json-1.1"
        headers["x-amzn-ErrorType"] = code
        headers["x-amzn-RequestId"] = request_id
        body = json.dumps({"__type": code, "message": message})
    elif protocol == "ec2":
        headers["Content-Type"] = "text/xml"
        body = (
            f"<Response><Errors><Error><Code>{escape(code)}</Code><Message>{escape(message)}"
            f"</Message></Error></Errors><RequestID>{request_id}</RequestID></Response>"
        )
    elif protocol == "rest-xml":
        headers["Content-Type"] = "application/xml"
        body = (
            f"<Error><Code>{escape(code)}</Code><Message>{escape(message)}</Message>"
            f"<RequestId>{request_id}</RequestId></Error>"
        )
    else:  # query
        headers["Content-Type"] = "text/xml"
        kind = "Receiver" if status >= 500 else "Sender"
        body = (
            f"<ErrorResponse><Error><Type>{kind}</Type><Code>{escape(code)}</Code>"
            f"<Message>{escape(message)}</Message></Error>"
            f"<RequestId>{request_id}</RequestId></ErrorResponse>"
        )
    headers["status"] = str(status)
    return status, headers, body


_XML_CODE = re.compile(r"<Code>([^<]+)</Code>")


def error_code_of(body: Any) -> str:
    """Extract the AWS error code from an error response body (XML or JSON)."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body)
    match = _XML_CODE.search(text)
    if match:
        return match.group(1)
    try:
        document = json.loads(text)
    except ValueError:
        return "UnknownError"
    if isinstance(document, dict):
        code = document.get("__type") or document.get("code") or document.get("Code")
        if isinstance(code, str):
            return code.rsplit("#", 1)[-1]
    return "UnknownError"


def request_params(response: Any) -> Mapping[str, Any]:
    """The request's parameters by their API names, whatever the protocol.

    For RDS that is moto's own parse (a mapping that answers to API names and snake_case alike).
    """
    if getattr(response, "automated_parameter_parsing", False):
        params: Mapping[str, Any] = response.params
        return params
    body = getattr(response, "body", None)
    if body and str(response.boto3_service_name) in ("kms", "secretsmanager"):
        try:
            params = json.loads(body)
        except ValueError:
            return {}
        return params if isinstance(params, dict) else {}
    try:
        return dict(response._get_params())
    except Exception:  # a protocol moto cannot parse generically: no parameters known
        return {}


def call_action_hook(recorder: Recorder) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``BaseResponse.call_action`` with the caller, faults, access checks and the record."""
    from .iam import check_request
    from .kms_requests import Verdict
    from .kms_requests import authorize as kms_authorize
    from .kms_requests import validate as kms_validate
    from .rds_requests import validate as validate_rds

    def authorize(self: Any, caller: Any, service: str, operation: str) -> Verdict:
        params = request_params(self)
        region = str(self.region)
        if service == "kms":
            verdict = kms_authorize(caller, operation, params, region)
            if verdict.denial is None:
                error = kms_validate(caller, operation, params, region)
                if error is not None:
                    return Verdict(denial=error)
            return verdict
        denial = check_request(caller, service, operation, params, region)
        if denial is None and service == "rds":
            denial = validate_rds(operation, params, caller.account_id, region)
        return Verdict(denial=denial)

    # moto's backends are plain dicts: a describe iterating them while another thread's request
    # adds to them fails with "OrderedDict mutated during iteration". AWS serves concurrent
    # clients, so the test bed serves one request at a time to let concurrent code (a batch) run.
    lock = threading.RLock()

    def factory(original: Callable[..., Any]) -> Callable[..., Any]:
        def call_action(self: Any) -> Any:
            names = None if self.headers.get(INTERNAL_HEADER) is not None else _names(self)
            if names is not None:
                before = recorder.take_interleaving(*names, before=True)
                if before is not None:
                    recorder.run_interleaving(before)
            with lock:
                response = serve(self, original)
            if names is not None:
                after = recorder.take_interleaving(*names, before=False)
                if after is not None:
                    recorder.run_interleaving(after)
            return response

        return call_action

    def _names(self: Any) -> tuple[str, str, str] | None:
        try:
            return str(self.boto3_service_name), str(self._get_action() or ""), str(self.current_account)
        except Exception:  # some protocols cannot name the action
            return None

    def serve(self: Any, original: Callable[..., Any]) -> Any:
        service = str(self.boto3_service_name)
        try:
            operation = str(self._get_action() or "")
        except Exception:  # some protocols cannot name the action; record what we can
            operation = ""
        account_id = str(self.current_account)
        region = str(self.region)
        internal = self.headers.get(INTERNAL_HEADER) is not None
        caller = caller_from_response(self)
        with caller_scope(caller, request_params(self)), recording() as authorized:
            fault = None if internal else recorder.take_fault(service, operation, account_id)
            if fault is not None and not fault.after:
                _log.debug("injecting %s into %s:%s", fault.code, service, operation)
                recorder.record(
                    RecordedCall(account_id, region, service, operation, fault.code, authorized(), caller.arn)
                )
                message = fault.message or f"Injected fault: {fault.code}"
                return error_response(self, fault.code, message, fault.status)
            serve_as: str | None = None
            if not internal:
                verdict = authorize(self, caller, service, operation)
                if verdict.denial is not None:
                    code, message, status = verdict.denial
                    recorder.record(
                        RecordedCall(account_id, region, service, operation, code, authorized(), caller.arn)
                    )
                    return error_response(self, code, message, status)
                serve_as = verdict.serve_as
            try:
                if serve_as is not None:  # another account's KMS key: served from its owner's backend
                    self.current_account = serve_as
                try:
                    result = original(self)
                finally:
                    self.current_account = account_id
            except Exception as exc:
                if not internal:
                    recorder.record(
                        RecordedCall(
                            account_id, region, service, operation, type(exc).__name__, authorized(), caller.arn
                        )
                    )
                raise
            if fault is not None:  # after=True: served (side effects happen), then the response is lost
                _log.debug("losing the response of %s:%s as %s", service, operation, fault.code)
                recorder.record(
                    RecordedCall(account_id, region, service, operation, fault.code, authorized(), caller.arn)
                )
                message = fault.message or f"Injected fault after the call was served: {fault.code}"
                return error_response(self, fault.code, message, fault.status)
            if not internal:
                status = int(result[0])
                failed = error_code_of(result[2]) if status >= 400 else None
                recorder.record(RecordedCall(account_id, region, service, operation, failed, authorized(), caller.arn))
            return result

    return factory
