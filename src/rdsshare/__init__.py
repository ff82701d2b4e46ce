"""rdsshare: move an Aurora/RDS snapshot from one AWS account to another and restore it there.

::

    from rdsshare import AccountSession, ClusterRestoreSpec, share_cluster_snapshot

    result = share_cluster_snapshot(
        source=AccountSession.from_profile("sandbox-1", region="ap-northeast-1"),
        target=AccountSession.from_profile("sandbox-2", region="ap-northeast-1"),
        cluster_id="example-db",
        restore=ClusterRestoreSpec(cluster_id="example-db-2", instance_class="db.t3.medium"),
    )

The emulated two-account AWS for tests lives in :mod:`rdsshare.testing` (needs the
``testing`` extra); importing :mod:`rdsshare` never imports it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0.dev0"

if TYPE_CHECKING:
    from ._api import share_cluster_snapshot, share_instance_snapshot
    from ._batch import BatchItemResult, BatchResult, share_cluster_snapshots
    from ._cleanup import CleanupAction, CleanupReport, cleanup
    from ._copier import SnapshotCopier
    from ._errors import (
        AccessDeniedError,
        AwsError,
        ConflictError,
        CredentialsExpiredError,
        InputError,
        KeyNotAccessibleError,
        KeyPolicyError,
        NotFoundError,
        PlanChangedError,
        PreflightError,
        QuotaExceededError,
        RdsShareError,
        ResourceFailedError,
        WaitError,
        WaitTimeoutError,
    )
    from ._events import Event, EventHook, Retrying, StepFinished, StepProgress, StepSkipped, StepStarted
    from ._iam import required_iam_policy
    from ._job import Advance, ShareJob
    from ._keys import KeyInfo, KeyManager
    from ._manifest import Manifest, ManifestEntry
    from ._plan import Decisions, Plan, PlanStep, Problem
    from ._policy import CmkPolicyBuilder
    from ._restore import Restorer
    from ._results import ShareResult, TargetResult
    from ._session import AccountSession
    from ._share import ShareManager
    from ._slots import CopySlots
    from ._specs import ClusterRestoreSpec, InstanceRestoreSpec
    from ._waiting import WaitPolicy, set_testing

# Every name loads on first use (PEP 562): ``import rdsshare`` costs next to nothing, and a program
# pays only for what it touches (``from rdsshare import share_cluster_snapshot`` loads the share's
# modules, not cleanup, batch or IAM). The three lists (these imports for type checkers, ``_LAZY``
# and ``__all__``) are checked against each other by tests/unit/test_layout.py.
_LAZY = {
    "share_cluster_snapshot": "_api",
    "share_instance_snapshot": "_api",
    "BatchItemResult": "_batch",
    "BatchResult": "_batch",
    "share_cluster_snapshots": "_batch",
    "CleanupAction": "_cleanup",
    "CleanupReport": "_cleanup",
    "cleanup": "_cleanup",
    "CopySlots": "_slots",
    "SnapshotCopier": "_copier",
    "AccessDeniedError": "_errors",
    "AwsError": "_errors",
    "ConflictError": "_errors",
    "CredentialsExpiredError": "_errors",
    "InputError": "_errors",
    "KeyNotAccessibleError": "_errors",
    "KeyPolicyError": "_errors",
    "NotFoundError": "_errors",
    "PlanChangedError": "_errors",
    "PreflightError": "_errors",
    "QuotaExceededError": "_errors",
    "RdsShareError": "_errors",
    "ResourceFailedError": "_errors",
    "WaitError": "_errors",
    "WaitTimeoutError": "_errors",
    "Event": "_events",
    "EventHook": "_events",
    "Retrying": "_events",
    "StepFinished": "_events",
    "StepProgress": "_events",
    "StepSkipped": "_events",
    "StepStarted": "_events",
    "required_iam_policy": "_iam",
    "Advance": "_job",
    "ShareJob": "_job",
    "KeyInfo": "_keys",
    "KeyManager": "_keys",
    "Manifest": "_manifest",
    "ManifestEntry": "_manifest",
    "Decisions": "_plan",
    "Plan": "_plan",
    "PlanStep": "_plan",
    "Problem": "_plan",
    "CmkPolicyBuilder": "_policy",
    "Restorer": "_restore",
    "ShareResult": "_results",
    "TargetResult": "_results",
    "AccountSession": "_session",
    "ShareManager": "_share",
    "ClusterRestoreSpec": "_specs",
    "InstanceRestoreSpec": "_specs",
    "WaitPolicy": "_waiting",
    "set_testing": "_waiting",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'rdsshare' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


__all__ = [
    "AccessDeniedError",
    "AccountSession",
    "Advance",
    "AwsError",
    "BatchItemResult",
    "BatchResult",
    "CleanupAction",
    "CleanupReport",
    "ClusterRestoreSpec",
    "CmkPolicyBuilder",
    "ConflictError",
    "CopySlots",
    "CredentialsExpiredError",
    "Decisions",
    "Event",
    "EventHook",
    "InputError",
    "InstanceRestoreSpec",
    "KeyInfo",
    "KeyManager",
    "KeyNotAccessibleError",
    "KeyPolicyError",
    "Manifest",
    "ManifestEntry",
    "NotFoundError",
    "Plan",
    "PlanChangedError",
    "PlanStep",
    "PreflightError",
    "Problem",
    "QuotaExceededError",
    "RdsShareError",
    "ResourceFailedError",
    "Restorer",
    "Retrying",
    "ShareJob",
    "ShareManager",
    "ShareResult",
    "SnapshotCopier",
    "StepFinished",
    "StepProgress",
    "StepSkipped",
    "StepStarted",
    "TargetResult",
    "WaitError",
    "WaitPolicy",
    "WaitTimeoutError",
    "__version__",
    "cleanup",
    "required_iam_policy",
    "set_testing",
    "share_cluster_snapshot",
    "share_cluster_snapshots",
    "share_instance_snapshot",
]
