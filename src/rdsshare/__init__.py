"""rdsshare: move an Aurora/RDS snapshot from one AWS account to another and restore it there."""

from __future__ import annotations

__version__ = "0.1.0.dev0"
