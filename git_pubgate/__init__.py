"""git-pubgate: publish an internal git repository through a review gate."""

from __future__ import annotations

__version__ = "0.1.0"
