"""Absorb's part in Git LFS: a public contribution's objects come back with its pointers.

The mirror of ``lfs_publish``: the pointers new to the internal history (blobs neither the
source branch nor the open absorb branch holds) name objects a contributor pushed to the
target's LFS store. They are downloaded from there into the source's own LFS storage before
the absorb branch is written (so checking it out finds them), and uploaded to the source's LFS
server before that branch is pushed there, through the source's own git-lfs settings.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pygit2

from .errors import PubgateError
from .gitio import Remote
from .lfs import (
    fetch_from_remote,
    has_object,
    pointers_between,
    require_client,
    storage_of,
    upload_from_clone,
)
from .lfs_publish import maybe_lfs
from .workspace import Source


def bring_back(
    source: Source,
    staging: pygit2.Repository,
    target: Remote,
    source_remote: Remote | None,
    *,
    tip: str,
    known: Sequence[str],
) -> int:
    """Make the objects of the new internal pointers available to the source; how many.

    Args:
        target: the public repository, whose LFS store has the contributed objects.
        source_remote: where absorb pushes its branch, if anywhere.
        known: the internal tips whose history the source has already.
    """
    storage = storage_of(source.repo, source.git_dir)
    if not maybe_lfs(staging, tip, storage.is_dir()):
        return 0
    files = pointers_between(staging, [tip], known)
    if not files:
        return 0
    distinct = {f.pointer.oid: f for f in files}
    require_client(len(files), "the source")
    missing = [f for f in distinct.values() if not has_object(storage, f.pointer)]
    if missing:
        fetch_from_remote(target.url, storage, missing, token=target.token)
        lost = [f for f in missing if not has_object(storage, f.pointer)]
        if lost:
            first = lost[0]
            raise PubgateError(
                f"refusing to absorb, since {first.shown_path} points at Git LFS object "
                f"{first.pointer.oid}, which the target's LFS store does not have",
                "ask the contributor to push the object ('git lfs push --all'), then rerun; "
                "nothing was written",
            )
    if source_remote is not None:
        clone = Path(source.repo.workdir or source.git_dir)
        upload_from_clone(
            clone,
            source_remote.url,
            sorted(distinct),
            token=source_remote.token,
            shown=source_remote.display,
        )
    return len(distinct)
