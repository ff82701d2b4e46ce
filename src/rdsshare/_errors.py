"""The one exception tree of rdsshare.

Every error carries where it happened: the ``step`` (``"snapshot"``, ``"source-key"``, ``"copy"``,
``"share"``, ``"restore"``, ...), the ``account_id`` and ``resource`` (an id or ARN) it was acting
on, and, when AWS refused something, the AWS ``error_code``. ``ClientError`` is translated by its
error code (never by catching everything) and chained with ``raise ... from``.

::

    RdsShareError
    ├── InputError                 bad arguments; raised before any AWS call that changes anything
    │   └── PreflightError         the checks before a run found problems (all of them, in .problems)
    ├── ConflictError              a resource with rdsshare's deterministic name exists but is not ours
    │   └── PlanChangedError       applying a saved plan: what it read has changed (``.changes``)
    ├── AwsError                   AWS refused a call (carries error_code)
    │   ├── AccessDeniedError      IAM or key policy does not allow the caller
    │   ├── KeyNotAccessibleError  KMSKeyNotAccessibleFault: key disabled, aws/rds, or policy/grant missing
    │   ├── KeyPolicyError         MalformedPolicyDocumentException and friends
    │   ├── NotFoundError          the cluster, snapshot, key, subnet group ... does not exist (or is not shared)
    │   ├── QuotaExceededError     a quota that waiting will not fix (e.g. 100 manual snapshots)
    │   └── CredentialsExpiredError ExpiredToken with credentials that cannot refresh themselves
    └── WaitError                  a resource did not become ready
        ├── WaitTimeoutError       the deadline passed (the AWS operation may still finish: rerun to resume)
        └── ResourceFailedError    the resource went into a failed/terminal state
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from botocore.exceptions import ClientError

    from ._plan import Plan

__all__ = [
    "AccessDeniedError",
    "AwsError",
    "ConflictError",
    "CredentialsExpiredError",
    "InputError",
    "KeyNotAccessibleError",
    "KeyPolicyError",
    "NotFoundError",
    "PlanChangedError",
    "PreflightError",
    "QuotaExceededError",
    "RdsShareError",
    "ResourceFailedError",
    "WaitError",
    "WaitTimeoutError",
    "error_from_dict",
    "translate_client_error",
]


class RdsShareError(Exception):
    """Base of every rdsshare error."""

    def __init__(
        self,
        message: str,
        *,
        step: str | None = None,
        account_id: str | None = None,
        resource: str | None = None,
        error_code: str | None = None,
        fix: str | None = None,
    ) -> None:
        #: what went wrong, without the context below
        self.message = message
        #: the step that failed: ``input``, ``session``, ``snapshot``, ``source-key``, ``copy``, ``share``,
        #: ``target-key``, ``restore``, ``instances``, ``secret``...
        self.step = step
        #: the account the step was acting in
        self.account_id = account_id
        #: the id or ARN the step was acting on
        self.resource = resource
        #: the AWS error code when AWS refused a call (``KMSKeyNotAccessibleFault``...), else None
        self.error_code = error_code
        #: what to do about it, when rdsshare knows
        self.fix = fix
        #: for errors raised by a share run: the manifest of what the run had made so far
        self.manifest: Any = None
        super().__init__(self._render())

    def to_dict(self) -> dict[str, str | None]:
        """The error as plain values (a job keeps a target's failure in its state): see :func:`error_from_dict`."""
        return {
            "type": type(self).__name__,
            "message": self.message,
            "step": self.step,
            "account_id": self.account_id,
            "resource": self.resource,
            "error_code": self.error_code,
            "fix": self.fix,
        }

    def add_context(self, note: str) -> None:
        """Append ``note`` to the message (e.g. what the run had made when it failed)."""
        self.message = f"{self.message}; {note}"
        self.args = (self._render(),)

    def _render(self) -> str:
        where = [
            f"{name}={value}"
            for name, value in (
                ("step", self.step),
                ("account", self.account_id),
                ("resource", self.resource),
                ("code", self.error_code),
            )
            if value
        ]
        text = self.message
        if where:
            text = f"{text} [{', '.join(where)}]"
        if self.fix:
            text = f"{text}. Fix: {self.fix}"
        return text


class InputError(RdsShareError, ValueError):
    """Bad input, detected before any AWS call that changes anything."""


class PreflightError(InputError):
    """A real run found problems before changing anything. ``problems`` lists them all."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.problems = plan.problems
        first = plan.problems[0]
        super().__init__(
            f"preflight found {len(plan.problems)} problem(s): " + "; ".join(str(p) for p in plan.problems),
            step="preflight",
            account_id=first.account_id,
            resource=first.resource,
            error_code=first.error_code,
        )


class ConflictError(RdsShareError):
    """A resource with rdsshare's deterministic name exists but was not created by this run."""


class PlanChangedError(ConflictError):
    """A saved plan was applied, but what it read has changed in a way that changes a decision.

    Raised before any write. ``changes`` lists each difference; review a new plan and apply that.
    """

    def __init__(self, changes: list[str]) -> None:
        self.changes = tuple(changes)
        super().__init__(
            f"the plan no longer holds ({len(changes)} change(s)): " + "; ".join(changes),
            step="apply",
            fix="plan again (rdsshare share ... --dry-run --out plan.json), review it, and apply the new plan",
        )


class AwsError(RdsShareError):
    """AWS refused a call. ``error_code`` is the AWS error code."""


class AccessDeniedError(AwsError):
    """IAM or the key policy does not allow the caller."""


class KeyNotAccessibleError(AwsError):
    """``KMSKeyNotAccessibleFault``: the key is disabled, AWS-managed, or not granted to the caller."""


class KeyPolicyError(AwsError):
    """KMS refused a key policy (``MalformedPolicyDocumentException``, size limits...)."""


class NotFoundError(AwsError):
    """The named resource does not exist, or is not visible to this account."""


class QuotaExceededError(AwsError):
    """A quota was hit that waiting will not cure."""


class CredentialsExpiredError(AwsError):
    """The session's credentials expired and cannot refresh themselves."""


class WaitError(RdsShareError):
    """A resource did not become ready."""


class WaitTimeoutError(WaitError):
    """The deadline passed before the resource was ready. Rerunning the same call resumes."""


class ResourceFailedError(WaitError):
    """The resource went into a failed or terminal state."""


_ACCESS = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "UnauthorizedOperation",
        "AuthorizationError",
        "InvalidClientTokenId",
        "UnrecognizedClientException",
    }
)
_KEY = frozenset({"KMSKeyNotAccessibleFault", "KMSInvalidStateException", "DisabledException"})
_POLICY = frozenset({"MalformedPolicyDocumentException", "LimitExceededException"})
_EXPIRED = frozenset({"ExpiredToken", "ExpiredTokenException", "RequestExpired"})
_QUOTA = frozenset(
    {
        "SnapshotQuotaExceeded",
        "SnapshotQuotaExceededFault",
        "SharedSnapshotQuotaExceeded",
        "DBClusterQuotaExceededFault",
        "InstanceQuotaExceeded",
        "StorageQuotaExceeded",
    }
)
_CONFLICT = frozenset(
    {
        "DBClusterAlreadyExistsFault",
        "DBClusterSnapshotAlreadyExistsFault",
        "DBInstanceAlreadyExists",
        "DBSnapshotAlreadyExists",
        "AlreadyExistsException",
    }
)


def error_code(exc: ClientError) -> str:
    """The AWS error code of a ``ClientError`` (``""`` when absent)."""
    return str(exc.response.get("Error", {}).get("Code", ""))


def error_message(exc: ClientError) -> str:
    """The AWS error message of a ``ClientError``."""
    return str(exc.response.get("Error", {}).get("Message", ""))


def translate_client_error(
    exc: ClientError,
    *,
    step: str,
    account_id: str | None,
    resource: str | None,
    fix: str | None = None,
) -> RdsShareError:
    """Map a ``ClientError`` to the rdsshare exception for its error code.

    The caller raises the result ``from exc`` so the original stays attached.
    """
    code = error_code(exc)
    message = error_message(exc) or code
    cls: type[RdsShareError]
    if code in _ACCESS:
        cls = AccessDeniedError
        fix = fix or "grant the caller the action in IAM (see rdsshare.required_iam_policy docs)"
    elif code in _KEY:
        cls = KeyNotAccessibleError
        fix = fix or (
            "the key must be a customer-managed key that is enabled and whose policy allows "
            "this account (kms:CreateGrant, kms:Decrypt, kms:DescribeKey)"
        )
    elif code in _POLICY:
        cls = KeyPolicyError
    elif code in _EXPIRED:
        cls = CredentialsExpiredError
        fix = fix or (
            "use AccountSession.from_role or a profile with role_arn so credentials refresh "
            "themselves; rerun the same call to resume where it stopped"
        )
    elif code in _QUOTA:
        cls = QuotaExceededError
    elif code in _CONFLICT:
        cls = ConflictError
    elif "NotFound" in code:
        cls = NotFoundError
    else:
        cls = AwsError
    return cls(
        message,
        step=step,
        account_id=account_id,
        resource=resource,
        error_code=code or None,
        fix=fix,
    )


def not_visible(snapshot_arn: str, *, step: str, account_id: str, error_code: str | None) -> NotFoundError:
    """The target account cannot use a snapshot shared with it (AWS answers with its NotFound code)."""
    return NotFoundError(
        f"the target account {account_id} cannot see {snapshot_arn}",
        step=step,
        account_id=account_id,
        resource=snapshot_arn,
        error_code=error_code,
        fix="check that the snapshot is shared with the target and both sessions use the same region",
    )


def error_from_dict(data: Mapping[str, Any]) -> RdsShareError:
    """The error :meth:`RdsShareError.to_dict` wrote, as its own class where that takes the usual fields."""
    kind = globals().get(str(data.get("type")), RdsShareError)
    if not (isinstance(kind, type) and issubclass(kind, RdsShareError)):
        kind = RdsShareError
    # A class with its own constructor (PreflightError takes a plan) comes back as its nearest parent
    # that takes the usual fields (InputError), so ``except InputError`` still catches it.
    kind = next(k for k in kind.__mro__ if issubclass(k, RdsShareError) and k.__init__ is RdsShareError.__init__)
    fields = {k: data.get(k) for k in ("step", "account_id", "resource", "error_code", "fix")}
    return kind(str(data.get("message", "")), **fields)
