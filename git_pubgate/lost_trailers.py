"""A squash merge whose message lost the ``Pubgate-Source`` trailers (GitLab's default message,
or one written by hand) still says what it merged: its tree.

When a commit of the review branch newer than the last trailer-named one has exactly the public
tree of a source commit this run would publish, that source commit is synced and the review
commit holds it, just as if the squash message had kept the trailers of the commits it
squashed. Without this, the next sync took the squashed change for public divergence, and
``--allow-divergence`` built a pull request that conflicts with it.

The answer depends only on the review branch and the source (never on the cache or the
staging repository), so a run from scratch continues from the same place. Among several source
commits with that tree (a change, its revert and the change again), the newest is taken: the
public side holds its content, and nothing already public is offered again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import pygit2
from pygit2.enums import SortMode

from .state import SyncState
from .trailer import source_ids

# Review-branch commits looked at, newest first along the first parent: a squash is recent.
SEARCH_LIMIT = 1000


@dataclass(frozen=True)
class SquashMatch:
    source: str  # the source commit the review branch holds
    public: str  # the review-branch commit that holds it (the squash)
    synced: tuple[str, ...]  # every source commit the squash covers, for the commit map


def find(  # noqa: PLR0917
    repo: pygit2.Repository,
    review_tip: str,
    last_public: str | None,
    created: Iterable[tuple[str, str]],
    public_tree: Callable[[str], bytes],
    known: Iterable[str],
    absorbed: Iterable[str] = (),
) -> SquashMatch | None:
    """The newest review-branch commit after ``last_public`` whose tree a created commit has.

    Args:
        created: (source, public) pairs a rewrite produced, parents first.
        public_tree: the raw tree id of one of those public commits.
        known: source commits already synced (by trailers), which bound the squash's range.
        absorbed: public commits that absorbed source commits name (``Pubgate-Absorbed``):
            public contributions, never a squash of ours.
    """
    by_tree: dict[bytes, str] = {}
    for source, public in created:
        by_tree[public_tree(public)] = source  # later ones win: the newest with that tree
    if not by_tree:
        return None
    walker = repo.walk(review_tip, SortMode.TOPOLOGICAL)
    walker.simplify_first_parent()
    if last_public is not None:
        walker.hide(last_public)
    skip = set(absorbed)
    for seen, commit in enumerate(walker):
        if seen >= SEARCH_LIMIT:
            break
        if str(commit.id) in skip:
            continue
        match = by_tree.get(commit.tree_id.raw)
        if match is not None:
            return SquashMatch(match, str(commit.id), _covered(repo, match, created, known))
    return None


def unnamed(repo: pygit2.Repository, state: SyncState, trailer: str | None) -> SquashMatch | None:
    """The state, when its public commit does not name its source commit: such a squash."""
    if state.last_source is None or state.last_public is None or trailer is None:
        return None
    message = repo[state.last_public].peel(pygit2.Commit).raw_message
    if state.last_source in source_ids(message, trailer):
        return None
    return SquashMatch(state.last_source, state.last_public, ())


def _covered(
    repo: pygit2.Repository, source: str, created: Iterable[tuple[str, str]], known: Iterable[str]
) -> tuple[str, ...]:
    """The created source commits that ``source`` contains: what the squash brought in."""
    walker = repo.walk(source, SortMode.TOPOLOGICAL)
    for done in known:
        if done in repo:
            walker.hide(done)
    inside = {str(c.id) for c in walker}
    return tuple(s for s, _ in created if s in inside)
