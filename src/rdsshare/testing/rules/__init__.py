"""The AWS rules the test bed adds to moto, one module per area, each citing its sources.

Request boundary (every request, both modes, any client): :mod:`.requests` (caller, faults, record),
:mod:`.iam` (identity policies), :mod:`.kms_requests` (key policies, KMS validation, key states),
:mod:`.rds_requests` and :mod:`.identifiers` (RDS request validation).

Inside moto's backends (installed by :mod:`rdsshare.testing._moto_compat`): :mod:`.sharing`,
:mod:`.clusters`, :mod:`.instances`, :mod:`.snapshots`, :mod:`.encryption`, :mod:`.kms`,
:mod:`.lifecycle`, :mod:`.quotas`, :mod:`.secrets`, :mod:`.options`, :mod:`.engines`.

Shared machinery: :mod:`.policy_doc` and :mod:`.policy_eval` (policy documents), :mod:`.caller`.
"""
