"""A small local cache that lets an incremental sync touch only what is new.

It never replaces the state in the public history (the trailers); it only says where the last
run stopped, so the next one reads the public commits and rewrites the source commits that came
after, instead of walking everything. A missing, corrupt or stale cache means a full read, never
a wrong answer: every entry is checked against the repositories before it is used.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


def fingerprint(*parts: Any) -> str:
    """A stable id for settings whose change must invalidate cached results."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:32]


@dataclass
class SyncCache:
    """What the last run learnt, for one target, review branch and set of rules.

    Attributes:
        review_tip: the target's review branch tip that run read.
        synced: source -> public pairs from the frontier of the public history.
        pending: source -> public commits that run wrote for the head branch; valid only while
            the review branch has not moved.
        source_tip: the source commit that run published.
        public_tree: the public tree of ``source_tip`` (hex), to seed the next tree filter.
        overlay: which release's owned files ``public_tree`` was computed with (None: none).
    """

    review_tip: str | None = None
    synced: dict[str, str] = field(default_factory=dict)
    pending: dict[str, str] = field(default_factory=dict)
    source_tip: str | None = None
    public_tree: str | None = None
    overlay: str | None = None


class CacheFile:
    def __init__(self, directory: Path, key: str):
        self.path = directory / f"{key}.json"

    def load(self) -> SyncCache:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            return SyncCache(**data)
        except (OSError, ValueError, TypeError):
            return SyncCache()

    def save(self, cache: SyncCache) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(asdict(cache), sort_keys=True), encoding="utf-8")
        tmp.replace(self.path)  # atomic: a reader sees the old file or the new one
