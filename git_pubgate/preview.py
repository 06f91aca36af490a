"""``git pubgate preview [DIR]``: the public tip sync would push, as files a person can open.

It computes what ``plan`` computes, but reads the target only as the last plan or sync left it
in the staging repository: no remote is contacted, so it works offline and needs no token. The
tree is written byte for byte (``tree_files``), release commit included, without a ``.git``:
it is a folder to read, build and test, not a clone to push from.

``DIR`` must be missing or empty. The tree is written beside it first, into
``.DIR.pubgate-partial``, and renamed into place once complete, so ``DIR`` is either untouched
or whole: a run killed half-way leaves only that partial folder, which the next run for the
same ``DIR`` removes before it starts.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pygit2

from . import sync
from .config import Config
from .errors import ConfigError, PubgateError
from .lock import WAIT_SECONDS
from .report import Refusal
from .tree_files import write_tree
from .workspace import locked_staging, open_source

PARTIAL_SUFFIX = ".pubgate-partial"


@dataclass
class PreviewReport:
    """What preview wrote (``--json``)."""

    directory: str
    head: str
    source_branch: str
    source_tip: str
    review_branch: str
    review_tip: str | None
    branches_known: bool  # the last plan or sync saw branches on the target (else: empty)
    up_to_date: bool
    entries: int
    release: str | None = None
    would_refuse: list[Refusal] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "directory": self.directory,
            "head": self.head,
            "source": {"branch": self.source_branch, "tip": self.source_tip},
            "target": {
                "review_branch": self.review_branch,
                "review_tip": self.review_tip,
                "branches_known": self.branches_known,
            },
            "up_to_date": self.up_to_date,
            "entries": self.entries,
            "release": self.release,
            "would_refuse": [{"reason": r.reason, "hint": r.hint} for r in self.would_refuse],
        }


def run(
    config: Config,
    cwd: Path,
    directory: Path | None,
    *,
    on_lock_wait: Callable[[], None] | None = None,
) -> PreviewReport:
    """Write the public tip into ``directory`` (None: a new temporary folder)."""
    if directory is not None:
        directory = _usable(directory)
    source = open_source(config, cwd)
    options = sync.SyncOptions(push=False, offline=True)
    with locked_staging(source, wait=WAIT_SECONDS, on_wait=on_lock_wait) as staging:
        branches_known = bool(sync.last_seen(staging))
        report = sync.run_locked(config, source, staging, options)
        assert report.head is not None  # a tree with nothing public is refused by the rewrite
        # Written in the lock: the tip may be an object no ref holds yet.
        written, entries = _write(staging, report.head, directory)
    return PreviewReport(
        directory=str(written),
        head=report.head,
        source_branch=report.source_branch,
        source_tip=report.source_tip,
        review_branch=report.review_branch,
        review_tip=report.review_tip,
        branches_known=branches_known,
        up_to_date=report.up_to_date,
        entries=entries,
        release=str(report.release.version) if report.release is not None else None,
        would_refuse=report.would_refuse,
    )


def _usable(directory: Path) -> Path:
    """``directory`` resolved, if it is missing or an empty folder; refused otherwise."""
    resolved = directory.resolve()
    if resolved.exists() and not resolved.is_dir():
        raise ConfigError(
            f"refusing to write the preview into {directory}, since it is not a folder",
            "name a new or empty folder, or leave DIR out for a new temporary one",
        )
    if resolved.is_dir() and any(resolved.iterdir()):
        raise ConfigError(
            f"refusing to write the preview into {directory}, since it is not empty",
            "name a new or empty folder, or leave DIR out for a new temporary one",
        )
    return resolved


def _write(staging: pygit2.Repository, head: str, directory: Path | None) -> tuple[Path, int]:
    if directory is None:
        made = Path(tempfile.mkdtemp(prefix="pubgate-preview-"))
        try:
            return made, write_tree(staging, head, made)
        except BaseException:
            shutil.rmtree(made, ignore_errors=True)
            raise
    partial = directory.with_name(f".{directory.name}{PARTIAL_SUFFIX}")
    shutil.rmtree(partial, ignore_errors=True)  # what a killed run left for this folder
    directory.parent.mkdir(parents=True, exist_ok=True)
    partial.mkdir()
    try:
        entries = write_tree(staging, head, partial)
        if directory.is_dir():
            os.chmod(partial, directory.stat().st_mode & 0o7777)  # keep the folder's own mode
        # rename(2) replaces an empty folder in one step; one that filled up meanwhile stays.
        os.rename(partial, directory)
    except OSError as e:
        shutil.rmtree(partial, ignore_errors=True)
        raise PubgateError(
            f"writing the preview into {directory} failed: {e.strerror or e}",
            "check that the folder is still empty and writable, then rerun",
        ) from e
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return directory, entries
