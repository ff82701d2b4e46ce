"""rdsshare as an AWS Lambda durable function: one share per execution, no invocation waiting on AWS.

``pip install 'rdsshare[lambda]'`` (Python 3.11 or newer, as the durable execution SDK). The handler
drives the share's :class:`~rdsshare.ShareJob` with ``wait_for_condition``: each check advances the
job by one bounded piece of work (seconds, far from the 15-minute limit) and checkpoints its state
(no secrets); between checks the function is suspended for as long as the job says, so nothing runs,
or is paid for, while AWS copies. A failed share fails the execution with the rdsshare error's class
(``ErrorType``) and message. See the docs' "Workflow engines" page::

    # the function's module
    from rdsshare.aws_lambda import durable_share_handler

    handler = durable_share_handler()  # sessions from the event's role ARNs

    # the event (Lambda Invoke with a durable execution name, or the console)
    {"source": {"account_id": "111111111111", "role_arn": "arn:aws:iam::111111111111:role/rdsshare-source"},
     "targets": [{"account_id": "222222222222", "role_arn": "arn:aws:iam::222222222222:role/rdsshare-target"}],
     "region": "eu-west-1",
     "arguments": {"cluster_id": "orders", "run_name": "orders-nightly",
                   "restore": {"cluster_id": "orders", "instance_class": "db.r6g.large", "subnet_group": "app"}}}
"""

from __future__ import annotations

import sys

if sys.version_info < (3, 11):  # pragma: no cover - the SDK is for 3.11+
    raise ImportError("rdsshare.aws_lambda needs Python 3.11 or newer (the AWS durable execution SDK does)")
try:
    import aws_durable_execution_sdk_python  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised without the extra installed
    raise ImportError("rdsshare.aws_lambda needs the lambda extra: pip install 'rdsshare[lambda]'") from exc

from ._handler import ShareEvent, durable_share_handler, share_event

__all__ = ["ShareEvent", "durable_share_handler", "share_event"]
