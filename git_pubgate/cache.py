"""A small local cache that lets an incremental sync touch only what is new.

It never replaces the state in the public history (the trailers); it only says where the last
run stopped, so the next one reads the public commits and rewrites the source commits that came
after, instead of walking everything. A missing, corrupt or stale cache means a full read, never
a wrong answer: every entry is checked against the repositories before it is used.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pygit2

from . import __version__

if TYPE_CHECKING:
    from .config import Config


def fingerprint(*parts: Any) -> str:
    """A stable id for settings whose change must invalidate cached results."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:32]


@dataclass
class SyncCache:
    """What the last run learnt, for one target, review branch and set of rules.

    Attributes:
        review_tip: the target's review branch tip that run read.
        review_map: the file (in the cache directory) mapping every source commit that
            ``review_tip``'s history names to its public commit.
        source_tip: the source commit that run published.
        last_source, last_public: that run's state: the newest source commit under
            ``source_tip`` that the review branch holds, and its public commit.
        public_tree: the public tree of ``source_tip`` (hex), to seed the next tree filter.
        overlay: which release's owned files ``public_tree`` was computed with (None: none).
        pending: what runs wrote on top of ``review_tip`` for the head branch (a
            ``pending.PendingRecord`` as a dict); valid only for the same review tip and inputs.
        held_back: that run's held-back list: {"since": last_source, "tip": source_tip,
            "paths": [...]}, which the next run from the same ``last_source`` updates.
    """

    review_tip: str | None = None
    review_map: str | None = None
    source_tip: str | None = None
    last_source: str | None = None
    last_public: str | None = None
    public_tree: str | None = None
    overlay: str | None = None
    pending: dict[str, Any] | None = None
    held_back: dict[str, Any] | None = None


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


# Bump when a change to the engine changes the public commits it writes for the same input:
# nothing an older engine cached may be reused (its pending record, nor its public tree as a
# seed for the tree filter). 2: folders with a mode no git writes (``40700``) are folders.
ENGINE_REVISION = 2


def rewrite_settings(config: Config, source: pygit2.Repository) -> str:
    """A fingerprint of everything in a run's inputs that decides the public commit ids.

    The whole configuration goes in (a pull request title does not change an id, but a
    settings key added later might, and rewriting a pending pull request once is cheap), plus
    the engine, and the mailmap files when authors are mapped through them.
    """
    fields = dataclasses.asdict(config)
    fields.pop("path", None)
    fields.pop("targets", None)  # the other targets of the file: they decide nothing here
    mailmap = _mailmap_inputs(source) if config.authors_mailmap else None
    text = json.dumps([__version__, ENGINE_REVISION, fields, mailmap], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _mailmap_inputs(repo: pygit2.Repository) -> list[str | None]:
    """What git's mailmap is read from: the work tree's or HEAD's .mailmap, mailmap.file/blob."""
    found: list[str | None] = []
    if repo.workdir:
        try:
            found.append(hashlib.sha256(Path(repo.workdir, ".mailmap").read_bytes()).hexdigest())
        except OSError:
            found.append(None)
    else:
        try:
            found.append(str(repo.revparse_single("HEAD:.mailmap").id))
        except (KeyError, pygit2.GitError, ValueError):
            found.append(None)
    for key in ("mailmap.file", "mailmap.blob"):
        value = repo.config[key] if key in repo.config else None  # noqa: SIM401
        found.append(value)
        if key == "mailmap.file" and value:
            try:
                found.append(hashlib.sha256(Path(value).expanduser().read_bytes()).hexdigest())
            except OSError:
                found.append(None)
    return found
