"""An offline, AWS-faithful test bed for rdsshare: moto plus the AWS rules rdsshare depends on.

``EmulatedAWS`` runs moto (in-process or as a local server) for any number of accounts and adds what
moto 5.2 lacks: snapshots shared across accounts as the target sees them, key policies and IAM identity
policies, the AWS-managed ``aws/rds`` key and Aurora's default ``sse-rds`` encryption, RDS's grants on
keys and keys that go away, sharing limits, quotas, engine versions, identifiers, busy resources,
managed master secrets, long-running operations, fault injection and a record of every call. This
package imports moto; nothing else in rdsshare imports it.
"""

from __future__ import annotations

from ._bed import EmulatedAWS
from ._seed import Network, StorageEncryption
from .rules.requests import Fault, Interleaving, RecordedCall

__all__ = ["EmulatedAWS", "Fault", "Interleaving", "Network", "RecordedCall", "StorageEncryption"]
