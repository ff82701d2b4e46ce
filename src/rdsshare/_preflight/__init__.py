"""Preflight: every check a run needs, with read-only calls only, reported all at once.

It builds the :class:`~rdsshare.Plan` (steps and problems) and the findings the run starts from
(:mod:`rdsshare._findings`). Only ``Describe*``, ``Get*``, ``List*`` and ``sts:GetCallerIdentity``
are called here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .._plan import Plan
from ._sharing import SharingChecks
from ._source import SourceChecks
from ._target import TargetChecks

if TYPE_CHECKING:
    from .._session import AccountSession

__all__ = ["Preflight"]


class Preflight(SourceChecks, SharingChecks, TargetChecks):
    """Builds a :class:`~rdsshare.Plan` with read-only calls: the source, the key and copy, each target."""

    def check(
        self,
        *,
        cluster_id: str | None,
        snapshot_id: str | None,
        restore: Any,
        source_kms_key: str | None,
        admins: tuple[str, ...],
        more_targets: Sequence[tuple[AccountSession, Any, Any]] = (),
        cross_region_copy: str = "auto",
    ) -> Plan:
        """All checks; ``more_targets`` are further (session, restorer, spec) beyond the first target."""
        self.tgts = [self.tgt, *(t.account_id for t, _, _ in more_targets)]
        self.cross_region_copy = cross_region_copy
        facts = self._source(cluster_id, snapshot_id)
        if facts is not None:
            self._keys_and_copy(facts, source_kms_key, admins)
        if restore is not None and self.restorer is not None:
            self._target(restore, facts)
        first = (self.target, self.tgt, self.restorer)
        for session, restorer, spec in more_targets:
            if spec is None or restorer is None:
                continue
            self.target, self.tgt, self.restorer = session, session.account_id, restorer
            try:
                self._target(spec, facts)
            finally:
                self.target, self.tgt, self.restorer = first
        return self.plan()
