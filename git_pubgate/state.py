"""Sync state, read back from the public history itself.

Every public commit carries a trailer naming its source commit. Walking the target's
``review_branch`` maps each synced source commit to the public commit that history actually
holds now, whichever way earlier pull requests were merged (a rebase or squash changes the
public ids, but not the trailers in the messages).
"""

from __future__ import annotations

from dataclasses import dataclass

import pygit2
from pygit2.enums import SortMode

from .errors import PubgateError
from .trailer import source_ids


@dataclass(frozen=True)
class SyncState:
    """Where the public side stands relative to the source branch.

    Attributes:
        last_source: the newest synced source commit that the source branch contains.
        last_public: the public commit that holds ``last_source``.
    """

    last_source: str | None
    last_public: str | None


def read_synced(
    repo: pygit2.Repository, public_tip: str, trailer: str, since: str | None = None
) -> dict[str, str]:
    """Map source ids to public commits in ``public_tip``'s history, newest first.

    With ``since``, only the public commits that are not ancestors of it are read.
    """
    walker = repo.walk(public_tip, SortMode.TOPOLOGICAL)
    if since is not None:
        walker.hide(since)
    synced: dict[str, str] = {}
    for commit in walker:
        for source in source_ids(commit.raw_message, trailer):
            synced.setdefault(source, str(commit.id))
    return synced


class PublicIndex:
    """Source -> public lookups; reads the whole public history only if a lookup needs it.

    An incremental run knows the frontier of what was synced (the commits the new ones build
    on). Only a new commit whose parent is older than that frontier (a long-lived branch
    merged at last, say) makes it read further back.
    """

    def __init__(
        self,
        repo: pygit2.Repository,
        review_tip: str | None,
        trailer: str | None,
        known: dict[str, str],
        complete: bool,
    ):
        self._repo = repo
        self._review_tip = review_tip
        self._trailer = trailer
        self.known = dict(known)
        self._complete = complete or review_tip is None or trailer is None

    def get(self, source: str) -> str | None:
        found = self.known.get(source)
        if found is None and not self._complete:
            assert self._review_tip is not None and self._trailer is not None
            self.known.update(read_synced(self._repo, self._review_tip, self._trailer))
            self._complete = True
            found = self.known.get(source)
        return found

    def image_of_ancestor(self, source: str) -> str | None:
        """Public commit for an already-published source commit that no trailer names.

        Such a commit was pruned (it only touched excluded paths) or squashed without its
        trailer; its nearest first-parent ancestor that public history names stands in for it.
        """
        current: str | None = source
        while current is not None:
            found = self.get(current)
            if found is not None:
                return found
            parents = self._repo[current].peel(pygit2.Commit).parent_ids
            current = str(parents[0]) if parents else None
        return None


def locate(repo: pygit2.Repository, source_tip: str, synced: dict[str, str]) -> SyncState:
    """Find the newest synced commit among the ancestors of ``source_tip``.

    Only the source commits newer than every synced one are walked. Refuses when the public
    history names source commits but none of them is an ancestor of the source branch:
    continuing would publish a second, unrelated history.
    """
    present = {s: p for s, p in synced.items() if s in repo}
    if not synced:
        return SyncState(None, None)
    if source_tip in present:
        return SyncState(source_tip, present[source_tip])
    walker = repo.walk(source_tip, SortMode.TOPOLOGICAL)
    for source in present:
        walker.hide(source)
    frontier: set[str] = set()
    for commit in walker:
        frontier.update(p for p in map(str, commit.parent_ids) if p in present)
    if not frontier:
        raise PubgateError(
            "the target's history holds source commits that the source branch does not contain",
            "was the source branch rewritten or reset, or is source_branch wrong? Check with "
            "'git log --grep Pubgate-Source' on the target",
        )
    newest = sorted(
        f for f in frontier if not any(g != f and repo.descendant_of(g, f) for g in frontier)
    )[0]
    return SyncState(newest, present[newest])
