"""docs/permissions.md says what the least-privilege test runs: the same flows, by name, in its order."""

from __future__ import annotations

import re

from ..flow.test_least_privilege import FLOWS
from ._pages import section


def test_the_flows_the_page_lists_are_those_the_least_privilege_test_runs() -> None:
    lines = section("permissions.md", "## Source account: IAM policy")
    listed = [m[1] for line in lines if (m := re.match(r"- `([a-z-]+)`: ", line))]
    assert listed == list(FLOWS)
