"""Sync's part in Git LFS: the objects new public pointers name reach the target first.

git accepts a branch whatever its pointers name, so the order is the guarantee: every object is
on the target's LFS store before the branch that points at it is pushed. Only pointers of the
new public history are looked at (the blobs the target's branches do not hold yet), and only
public trees are read, so an object behind an excluded path is never even looked up. A
repository without LFS pays for none of this: the rewrite's content pass, which reads every new
public file anyway, says whether one looked like a pointer (``ContentPolicy.lfs_seen``), and
without that (now or in an earlier run) or an LFS line in the public root's ``.gitattributes``
nothing below runs.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pygit2

from .config import Config
from .errors import PubgateError
from .gitio import Remote
from .lfs import (
    INSTALL_HINT,
    LfsFile,
    fetch_into_clone,
    gitattributes_use_lfs,
    has_object,
    pointers_between,
    require_client,
    storage_of,
    upload,
)
from .workspace import Source


@dataclass
class LfsReport:
    """The LFS objects of one publication (the ``lfs`` key of ``--json``)."""

    objects: int  # distinct objects the new public pointers name
    fetched: int  # downloaded from the source's LFS server first
    uploaded: bool  # handed to the target's LFS store (it skips what it has)

    def to_json(self) -> dict[str, object]:
        return {"objects": self.objects, "fetched": self.fetched, "uploaded": self.uploaded}


def maybe_lfs(
    staging: pygit2.Repository, tip: str, seen_pointer: bool, state_dir: Path | None = None
) -> bool:
    """Whether the new history may hold pointers.

    Yes when the content pass met one now, or in any earlier run of this state folder (noted
    in ``<state>/lfs-seen``): a run reads only the files no earlier run read, so after a plan
    the sync may read none of them. Yes too when the public tip's root ``.gitattributes``
    sends files through LFS.
    """
    marker = state_dir / "lfs-seen" if state_dir is not None else None
    if seen_pointer:
        if marker is not None and not marker.exists():
            marker.parent.mkdir(parents=True, exist_ok=True)
            marker.write_text("a file this source publishes is a Git LFS pointer\n")
        return True
    if marker is not None and marker.exists():
        return True
    tree = staging[tip].peel(pygit2.Commit).tree
    try:
        entry = tree[".gitattributes"]
    except KeyError:
        return False
    if entry.type_str != "blob":
        return False
    return gitattributes_use_lfs(staging[entry.id].peel(pygit2.Blob).data)


def source_token(config: Config) -> str | None:
    """The token for the source's LFS server, when the source is reached over https."""
    url = config.source_repo or ""
    if url.startswith(("https://", "http://")) and config.source_token_env:
        return os.environ.get(config.source_token_env) or None
    return None


def publish_objects(
    config: Config,
    source: Source,
    staging: pygit2.Repository,
    remote: Remote,
    *,
    tip: str,
    known: Sequence[str],
    created: Sequence[tuple[str, str]],
    send: bool,
) -> LfsReport | None:
    """Make sure the objects of the pointers in ``tip``'s new history are on the target.

    Args:
        known: the target's branch tips: their history is public already.
        created: the (source, public) commits of this rewrite, to name one in an error.
        send: False for plan and --dry-run: find and check, upload nothing.
    """
    files = pointers_between(staging, [tip], known)
    if not files:
        return None
    oids = sorted({f.pointer.oid for f in files})
    storage = storage_of(source.repo, source.git_dir)
    missing = [f for f in _distinct(files) if not has_object(storage, f.pointer)]
    if not send:
        return LfsReport(len(oids), len(missing), False)
    require_client(len(files), f"the LFS store of {remote.display}")
    if missing:
        workdir = Path(source.repo.workdir or source.git_dir)
        lost = fetch_into_clone(workdir, missing, token=source_token(config))
        lost = [f for f in lost if not has_object(storage, f.pointer)]
        if lost:
            raise _missing(staging, lost[0], created, len(lost))
    upload(storage, remote.url, oids, token=remote.token, shown=remote.display)
    return LfsReport(len(oids), len(missing), True)


def plan_refusal(found: LfsReport | None) -> tuple[str, str] | None:
    """Why sync would refuse for LFS, when plan can tell: git-lfs is missing."""
    if found is None or shutil.which("git-lfs") is not None:
        return None
    return (
        f"{found.objects} Git LFS object{'' if found.objects == 1 else 's'} must reach the "
        "target's LFS store, and git-lfs is not installed",
        INSTALL_HINT,
    )


def _distinct(files: Sequence[LfsFile]) -> list[LfsFile]:
    """One file per object (several pointer blobs may name one object)."""
    seen: dict[str, LfsFile] = {}
    for file in files:
        seen.setdefault(file.pointer.oid, file)
    return list(seen.values())


def _missing(
    staging: pygit2.Repository, file: LfsFile, created: Sequence[tuple[str, str]], count: int
) -> PubgateError:
    commit = _first_holding(staging, file, created)
    where = f"{commit[:12]}, since " if commit else ""
    more = f" (and {count - 1} more)" if count > 1 else ""
    return PubgateError(
        f"refusing to publish {where}{file.shown_path} points at Git LFS object "
        f"{file.pointer.oid}{more}, which is neither in this clone nor on the source's LFS "
        "server",
        "push the object from a clone that has it ('git lfs push --all origin'), or exclude "
        "the path; nothing was pushed",
    )


def _first_holding(
    staging: pygit2.Repository, file: LfsFile, created: Sequence[tuple[str, str]]
) -> str | None:
    """The source commit whose public image first holds ``file`` at its path."""
    path = file.path.decode("utf-8", "surrogateescape")
    for source, public in created:
        tree = staging[public].peel(pygit2.Commit).tree
        try:
            if str(tree[path].id) == file.blob:
                return source
        except KeyError:
            continue
    return None
