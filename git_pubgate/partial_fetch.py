"""A new staging repository gets the target's commits, not its whole history.

A fresh clone (a CI runner without a cache) starts with an empty staging repository. Fetching
the target's history into it whole costs most of such a run (17.9 s of CPU on 50,000 commits),
while sync reads the public commits' messages and parents only, and the trees of a few tips.
So the first fetch into an empty staging repository asks for the commits alone
(``--filter=tree:0``); the trees of the branch tips that sync did not write itself come later
(``--filter=blob:none``, by tree id). Most public trees and blobs are source ones anyway,
which staging borrows through its alternates.

git keeps track of what was left out: the fetch goes through a promisor remote, ``PROMISOR``,
so git accepts the missing objects and fetches any it needs itself (a push reading the tree of
the commit it builds on). That remote's URL is never written to staging's config, where a URL
with credentials in it would stay: every git command run for the target gets it as
``-c remote.pubgate-target.url=...`` (``options``), which git hands down to the fetch it starts.
pygit2 cannot fetch: whatever sync reads beyond commits is fetched first (``ensure``), and the
commands that read whole public histories (audit, absorb) fetch the rest first (``make_whole``).

Nothing depends on the server honouring filters: one that ignores them sends everything (git
warns), and any failure on the way puts the empty repository back and fetches it whole, as
before.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

import pygit2

from .config import is_local
from .errors import PubgateError
from .gitio import Remote, output_in

PROMISOR = "pubgate-target"
# Set while staging lacks objects of the target's history that audit and absorb read.
PARTIAL_KEY = "pubgate.partial"
TARGET_NS = "refs/pubgate/target/"


def options(url: str) -> tuple[str, ...]:
    """The ``-c`` options every git command for the target runs with.

    The promisor remote's URL, so that a fetch git starts by itself (for a missing object)
    knows where to go; and for a target on this machine, permission for its upload-pack to
    filter: it is a directory the user already reads whole, and git's default (no filters)
    only protects servers.
    """
    found = ["-c", f"remote.{PROMISOR}.url={url}"]
    if is_local(url):
        # Not a plain -c uploadpack.allowFilter: git clears -c settings for the upload-pack
        # it starts for a local repository.
        upload = "git -c uploadpack.allowFilter=true upload-pack"
        found += ["-c", f"remote.{PROMISOR}.uploadpack={upload}"]
    return tuple(found)


def has_promisor(staging: pygit2.Repository) -> bool:
    return f"remote.{PROMISOR}.promisor" in staging.config


def is_partial(staging: pygit2.Repository) -> bool:
    """Whether staging may lack objects of the target's history (trees and blobs)."""
    return PARTIAL_KEY in staging.config


def fetch(staging: pygit2.Repository, remote: Remote, refspecs: list[str]) -> None:
    """Fetch ``refspecs`` into staging, through the promisor remote once there is one.

    Through it, the pack is one git knows to have promised objects behind it (its check of
    the result accepts what the server left out as staging's own), and nothing is filtered.
    """
    if has_promisor(staging):
        remote.fetch(refspecs, via=PROMISOR)
    else:
        remote.fetch(refspecs)


def fetch_first(staging: pygit2.Repository, remote: Remote, heads: Mapping[str, str]) -> bool:
    """Fetch the commits of the branches ``heads`` (name -> id) into an empty staging
    repository. False, with staging empty again, when that failed or staging is not empty;
    the caller then fetches the usual way.

    The tips' trees come later, from ``ensure``, and only those sync did not write itself: a
    sync usually rewrites the last synced commit's tree into the very tree the review branch
    holds (fetching them cost a tenth of a fresh clone's sync at 50,000 commits).
    """
    if not heads or not _empty(staging):
        return False
    refspecs = [f"+refs/heads/{branch}:{TARGET_NS}{branch}" for branch in heads]
    try:
        # Marked first: a server that ignored the filter sent everything, but a tip's tree
        # being here says nothing of the others (the source may hold it).
        staging.config[PARTIAL_KEY] = "true"
        remote.fetch(refspecs, via=PROMISOR, object_filter="tree:0")
        if not all(tip in staging for tip in heads.values()):
            raise PubgateError("the target sent no commits for its branches")
    except (PubgateError, pygit2.GitError, KeyError, OSError):
        _empty_again(staging)
        return False
    return True


def ensure(
    staging: pygit2.Repository,
    remote: Remote,
    commits: Iterable[str],
    *,
    blobs: bool = False,
    whole: Callable[[bytes], bool] | None = None,
) -> None:
    """Fetch what staging lacks of the trees of ``commits`` (and their files, with ``blobs``),
    which must be in staging themselves. Nothing to do unless staging is partial.

    Args:
        whole: whether a tree (by raw id) is known to be here with every tree below it, as
            one this run wrote is: each tree below it was written too, or taken by id from a
            tree the run read (a source one, or one an earlier run wrote). Only when files
            (``blobs``) are not wanted: a written tree's files may be public ones.
    """
    if not is_partial(staging):
        return
    try:
        _fetch_trees(staging, remote, commits, blobs, None if blobs else whole)
    except PubgateError:
        make_whole(staging, remote)  # a server that serves no objects by id (protocol v0)


def _fetch_trees(
    staging: pygit2.Repository,
    remote: Remote,
    commits: Iterable[str],
    blobs: bool,
    whole: Callable[[bytes], bool] | None,
) -> None:
    trees = sorted({str(staging[c].peel(pygit2.Commit).tree_id) for c in commits})
    unknown = [t for t in trees if whole is None or not whole(bytes.fromhex(t))]
    if not unknown:
        return  # the usual sync: the review branch holds the tree it rewrote the last commit to
    if all(t in staging for t in unknown) and not _lacking(staging, remote, unknown, blobs):
        return
    # By id and telling nothing of what staging has: the server would count these trees as
    # staging's already, since the commits that hold them are; and git would not even ask
    # for a tree it has without what lies below it.
    remote.fetch(trees, via=PROMISOR, object_filter=None if blobs else "blob:none", refetch=True)


def make_whole(staging: pygit2.Repository, remote: Remote) -> None:
    """Fetch the whole history of the target's branches that staging holds, for commands
    that read every public tree and file."""
    if not is_partial(staging):
        return
    held = {ref.removeprefix(TARGET_NS) for ref in staging.references if ref.startswith(TARGET_NS)}
    heads = remote.heads(sorted(held))
    refspecs = [f"+refs/heads/{branch}:{TARGET_NS}{branch}" for branch in heads]
    remote.fetch(refspecs, via=PROMISOR, refetch=True)
    del staging.config[PARTIAL_KEY]


def _lacking(staging: pygit2.Repository, remote: Remote, trees: list[str], blobs: bool) -> bool:
    """Whether staging lacks some object below ``trees`` (trees only, unless ``blobs``).

    ``--missing=print`` lists them without git fetching them one by one.
    """
    only = [] if blobs else ["--filter=blob:none"]
    args = [*remote.options, "rev-list", "--objects", "--missing=print", *only, *trees]
    listed = output_in(Path(staging.path), args)
    return listed is None or any(line.startswith(b"?") for line in listed.splitlines())


def _empty(staging: pygit2.Repository) -> bool:
    """A staging repository nothing was fetched into or written to yet."""
    pack_dir = Path(staging.path) / "objects" / "pack"
    if any(pack_dir.glob("*.pack")):
        return False
    return not any(True for _ in staging.references)


def _empty_again(staging: pygit2.Repository) -> None:
    """Undo a partial fetch that failed half-way: no refs, no packs, no promisor."""
    for ref in list(staging.references):
        staging.references.delete(ref)
    for pack in (Path(staging.path) / "objects" / "pack").glob("pack-*"):
        pack.unlink(missing_ok=True)
    config = staging.config
    promisor = f"remote.{PROMISOR}"
    for key in (PARTIAL_KEY, f"{promisor}.promisor", f"{promisor}.partialclonefilter"):
        if key in config:
            del config[key]
