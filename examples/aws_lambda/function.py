"""The module of an AWS Lambda durable function that runs one share per execution.

Deploy with ``examples/aws_lambda/template.yaml`` (SAM). Each side's role is named in the event and
assumed from the function's execution role; the function never holds long-lived credentials.
"""

from __future__ import annotations

import logging

from rdsshare.aws_lambda import durable_share_handler

logging.getLogger("rdsshare").setLevel(logging.INFO)  # each step and retry in the function's log

#: the function's handler: ``function.handler``
handler = durable_share_handler()

#: an event that shares ``orders`` into the target and restores it there
EXAMPLE_EVENT = {
    "source": {"account_id": "111111111111", "role_arn": "arn:aws:iam::111111111111:role/rdsshare-source"},
    "targets": [{"account_id": "222222222222", "role_arn": "arn:aws:iam::222222222222:role/rdsshare-target"}],
    "region": "eu-west-1",
    "arguments": {
        "cluster_id": "orders",
        "run_name": "orders-nightly",
        "restore": {
            "cluster_id": "orders",
            "instance_class": "db.r6g.large",
            "subnet_group": "app",
            "security_group_ids": ["sg-0123456789abcdef0"],
        },
    },
}
