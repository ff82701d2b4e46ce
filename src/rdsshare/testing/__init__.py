"""An offline, AWS-faithful test bed for rdsshare: moto plus the AWS rules rdsshare depends on.

``EmulatedAWS`` runs moto (in-process or as a local server) for any number of accounts and adds what
moto 5.2.5 lacks: snapshots shared across accounts, key policies and the AWS-managed ``aws/rds`` key,
sharing limits, snapshot quotas, busy resources, managed master secrets, long-running operations,
fault injection and a record of every call. This package imports moto; nothing else in rdsshare
imports it.
"""

from __future__ import annotations

from ._bed import EmulatedAWS, Network
from ._faults import Fault, RecordedCall

__all__ = ["EmulatedAWS", "Fault", "Network", "RecordedCall"]
