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
    """What the public side already holds.

    Attributes:
        synced: source id -> the newest public commit that names it.
        last_source: the newest synced source commit that the source branch contains.
        last_public: the public commit that holds ``last_source``.
    """

    synced: dict[str, str]
    last_source: str | None
    last_public: str | None


def read_synced(repo: pygit2.Repository, public_tip: str, trailer: str) -> dict[str, str]:
    """Map source ids to public commits by walking ``public_tip``'s history, newest first."""
    synced: dict[str, str] = {}
    for commit in repo.walk(public_tip, SortMode.TOPOLOGICAL):
        for source in source_ids(commit.raw_message, trailer):
            synced.setdefault(source, str(commit.id))
    return synced


def locate(repo: pygit2.Repository, source_tip: str, synced: dict[str, str]) -> SyncState:
    """Find the newest synced commit among the ancestors of ``source_tip``.

    Refuses when the public history names source commits but none of them is an ancestor of the
    source branch: continuing would publish a second, unrelated history.
    """
    if not synced:
        return SyncState({}, None, None)
    present = {s: p for s, p in synced.items() if s in repo}
    if source_tip in present:
        return SyncState(present, source_tip, present[source_tip])
    # Topological order yields descendants before ancestors, so the first synced commit met is
    # one that no other synced ancestor of the tip descends from.
    for commit in repo.walk(source_tip, SortMode.TOPOLOGICAL):
        source = str(commit.id)
        if source in present:
            return SyncState(present, source, present[source])
    raise PubgateError(
        "the target's history was synced from commits the source branch does not contain",
        "was the source branch rewritten, or is source_branch wrong? Check with "
        "'git log --grep Pubgate-Source' on the target",
    )


def image_of_ancestor(repo: pygit2.Repository, source: str, synced: dict[str, str]) -> str | None:
    """Public commit for an already-published source commit that no trailer names.

    Such a commit was pruned (it only touched excluded paths) or squashed without its trailer;
    its nearest first-parent ancestor that public history names stands in for it.
    """
    current: str | None = source
    while current is not None:
        if current in synced:
            return synced[current]
        parents = repo[current].peel(pygit2.Commit).parent_ids
        current = str(parents[0]) if parents else None
    return None
