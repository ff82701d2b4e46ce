"""Account ids used throughout the tests."""

from __future__ import annotations

SOURCE = "111111111111"
"""Account A: owns the cluster and the snapshot."""

TARGET = "222222222222"
"""Account B: receives the snapshot and restores it."""

OTHER = "333333333333"
"""A third account that nothing is shared with."""
