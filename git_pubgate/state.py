"""Sync state, read back from the public history itself.

Every public commit carries a trailer naming its source commit. Walking the target's
``review_branch`` maps each synced source commit to the public commit that history actually
holds now, whichever way earlier pull requests were merged (a rebase or squash changes the
public ids, but not the trailers in the messages).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pygit2
from pygit2.enums import SortMode

from . import commit_map
from .commit_map import CommitMap
from .errors import PubgateError
from .libgit2_limits import walking_history
from .pending import PendingRecord
from .trailer import id_pattern


@dataclass(frozen=True)
class SyncState:
    """Where the public side stands relative to the source branch.

    Attributes:
        last_source: the newest synced source commit that the source branch contains.
        last_public: the public commit that holds ``last_source``.
        anchored: whether ``locate`` passed its anchor (the source tip of the last run), so the
            source branch only grew since: what that run wrote is all still under the tip.
    """

    last_source: str | None
    last_public: str | None
    anchored: bool = False


def read_synced(
    repo: pygit2.Repository, public_tip: str, trailer: str, since: str | None = None
) -> dict[str, str]:
    """Map source ids to public commits in ``public_tip``'s history, newest first.

    With ``since``, only the public commits that are not ancestors of it are read.
    """
    synced: dict[str, str] = {}
    _read_trailers(_walk(repo, public_tip, since), trailer, synced)
    return synced


def read_synced_since(
    repo: pygit2.Repository, public_tip: str, trailer: str, since: str
) -> dict[str, str] | None:
    """``read_synced`` for the public commits added after ``since``; None when ``since`` is not
    an ancestor of ``public_tip`` (the branch was rewritten: its history must be read whole).

    ``since`` is an ancestor exactly when one of the commits walked has it as a parent, so the
    walk answers that too, without a merge-base search over the history.
    """
    if since == public_tip:
        return {}
    synced: dict[str, str] = {}
    reached = _read_trailers(_walk(repo, public_tip, since), trailer, synced, pygit2.Oid(hex=since))
    return synced if reached else None


def read_synced_merged(
    repo: pygit2.Repository, public_tip: str, trailer: str, written: str, since: str | None
) -> dict[str, str] | None:
    """``read_synced`` for the public commits that are in neither ``written``'s history nor
    ``since``'s, when ``public_tip`` merged ``written``: is it (a fast-forward) or has it as a
    parent (a merge commit); None otherwise.

    The caller knows what ``written``'s own commits name; this reads only the rest, without
    an ancestry search.
    """
    if public_tip == written:
        return {}
    if pygit2.Oid(hex=written) not in repo[public_tip].peel(pygit2.Commit).parent_ids:
        return None
    synced: dict[str, str] = {}
    _read_trailers(_walk(repo, public_tip, written, since), trailer, synced)
    return synced


def _walk(repo: pygit2.Repository, tip: str, *hidden: str | None) -> pygit2.Walker:
    """``tip``'s history, newest first, without the histories of ``hidden`` (None: nothing)."""
    walker = repo.walk(tip, SortMode.TOPOLOGICAL)
    for commit in hidden:
        if commit is not None:
            walker.hide(commit)
    return walker


def _read_trailers(
    walker: pygit2.Walker, trailer: str, synced: dict[str, str], parent: pygit2.Oid | None = None
) -> bool:
    """Add what each walked commit's ``trailer`` lines name to ``synced`` (the first commit
    to name a source keeps it); whether a walked commit has ``parent`` as a parent.

    The whole public history goes through here when there is no usable map (47,152 commits
    on the 50,000-commit benchmark), so this is ``source_ids`` inlined, one ``findall`` per
    commit that holds the name at all; what is left is libgit2's walk.
    """
    key = trailer.encode("ascii")
    find = id_pattern(key).findall
    keep = synced.setdefault
    reached = parent is None
    with walking_history():
        for commit in walker:
            if not reached and parent in commit.parent_ids:
                reached = True
            message = commit.raw_message
            if key in message:
                found = find(message)
                if found:
                    public = str(commit.id)
                    for source in found:
                        keep(source.decode("ascii"), public)
    return reached


def first_publication_merged(  # noqa: PLR0917
    repo: pygit2.Repository,
    review_tip: str,
    trailer: str,
    since: str | None,
    stored: CommitMap | None,
    record: PendingRecord | None,
    directory: Path,
) -> ReviewMap | None:
    """The review map once the first publication's pull request was merged, taken from the
    record of what the runs that wrote it wrote, without reading their trailers again.

    That pull request holds the whole history (47,152 named commits on the 50,000-commit
    benchmark). When the record is ``exact``, its source -> public map is what those commits'
    trailers say, and when it was rooted on ``since`` (the review tip the stored map was read
    at) every commit between them is one it wrote. It applies when the review branch named
    nothing before (an empty stored map, or no branch: ``since`` None) and the merge is a
    fast-forward or one merge commit directly on the record's tip; the commits that merge
    brought besides the record's are read. Otherwise None: read the trailers.
    """
    if record is None or not record.exact or not record.tip or not record.created_map:
        return None
    if record.root_parent != since or "/" in record.created_map:
        return None
    if since is not None and (stored is None or len(stored) or len(since) != len(review_tip)):
        return None
    if len(record.tip) != len(review_tip):  # a damaged cache (an id is never abbreviated)
        return None
    try:
        present = record.tip in repo and (since is None or since in repo)
    except ValueError:  # not an object id: a damaged cache
        return None
    if not present:
        return None
    written = commit_map.load(directory / record.created_map)
    if written is None:
        return None
    newer = read_synced_merged(repo, review_tip, trailer, record.tip, since)
    return None if newer is None else ReviewMap(written, newer)


class ReviewMap:
    """Source -> public for every source commit the review branch's history names.

    ``stored`` is the map a previous run saved for an ancestor of the review tip, ``newer`` the
    trailers of the public commits since it (they win: they are the newer ones).
    """

    def __init__(
        self, stored: CommitMap | None, newer: dict[str, str], stored_name: str | None = None
    ):
        self.stored = stored
        self.newer = newer
        self.stored_name = stored_name  # the cache file ``stored`` came from

    def get(self, source: str) -> str | None:
        found = self.newer.get(source)
        if found is None and self.stored is not None:
            found = self.stored.get(source)
        return found

    def __contains__(self, source: object) -> bool:
        return isinstance(source, str) and self.get(source) is not None

    def sources(self) -> Iterator[str]:
        """Every source commit named (a walk over the whole map: for rare paths only)."""
        yield from self.newer
        if self.stored is not None:
            yield from (s for s in self.stored.sources() if s not in self.newer)

    def __bool__(self) -> bool:
        return bool(self.newer) or bool(self.stored is not None and len(self.stored))

    def image_of_ancestor(self, repo: pygit2.Repository, source: str) -> str | None:
        """Public commit for an already-published source commit that no trailer names.

        Such a commit was pruned (it only touched excluded paths) or squashed without its
        trailer; its nearest first-parent ancestor that public history names stands in for it.
        """
        current: str | None = source
        while current is not None:
            found = self.get(current)
            if found is not None:
                return found
            parents = repo[current].peel(pygit2.Commit).parent_ids
            current = str(parents[0]) if parents else None
        return None


@dataclass(frozen=True)
class Anchor:
    """A source commit whose state an earlier run computed against the same review map."""

    source: str
    state: SyncState


def locate(
    repo: pygit2.Repository,
    source_tip: str,
    synced: ReviewMap | Mapping[str, str],
    anchor: Anchor | None = None,
) -> SyncState:
    """Find the newest synced commit among the ancestors of ``source_tip``.

    Walks down from ``source_tip`` and stops at every synced commit (and at ``anchor``, whose
    answer is known), so it reads the new commits only, never the synced history below them.
    Refuses when the public history names source commits but none of them is an ancestor of
    the source branch: continuing would publish a second, unrelated history.
    """
    if not synced and anchor is None:
        return SyncState(None, None)
    lookup = synced.get
    frontier: dict[str, str] = {}
    anchored = False
    todo = [source_tip]
    seen = {source_tip}
    while todo:
        current = todo.pop()
        if anchor is not None and current == anchor.source:
            anchored = True
            if anchor.state.last_source is not None and anchor.state.last_public is not None:
                frontier[anchor.state.last_source] = anchor.state.last_public
            continue
        public = lookup(current)
        if public is not None:
            frontier[current] = public
            continue
        for parent in map(str, repo[current].peel(pygit2.Commit).parent_ids):
            if parent not in seen:
                seen.add(parent)
                todo.append(parent)
    if not frontier:
        if anchored or not synced:
            return SyncState(None, None, anchored=anchored)
        raise PubgateError(
            "the target's history holds source commits that the source branch does not contain",
            "was the source branch rewritten or reset, or is source_branch wrong? Check with "
            "'git log --grep Pubgate-Source' on the target",
        )
    newest = sorted(
        f for f in frontier if not any(g != f and repo.descendant_of(g, f) for g in frontier)
    )[0]
    return SyncState(newest, frontier[newest], anchored=anchored)
