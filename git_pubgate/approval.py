"""What the leak review's approved branch approves: read from its history, trusted never.

A reviewer approves by merging the stage branch into the approved branch with a merge commit,
or by fast-forwarding it. Either way the approved branch then contains the public tip ``T``
sync staged, and walking down the merged side of each approval merge finds it. Its trailer
names the source commit it was made from; the caller recomputes the public history for that
commit and publishes ``T`` only when the ids agree, so nothing but what sync itself produced
from the source, under today's rules, can reach the target.

Every other commit on the approved branch that the target lacks must be an approval merge or
a commit sync made (it carries the trailer). Anything else was pushed there by hand, or is the
copy a squash merge made, and is refused by name.
"""

from __future__ import annotations

from dataclasses import dataclass

import pygit2
from pygit2.enums import SortMode

from .trailer import source_ids


@dataclass(frozen=True)
class Candidate:
    """The newest commit the approved branch approves that the target's review branch lacks."""

    commit: str
    source: str | None  # the source commit its trailer names (the last one); None: no trailer
    named: int  # how many source commits its message names (a squash message quotes many)


def candidate(
    repo: pygit2.Repository, approved_tip: str, review_tip: str | None, trailer: str
) -> Candidate | None:
    """The commit the approved branch offers for publishing, or None when the target has it.

    From the tip, each approval merge is followed into its merged side (the last parent: the
    branch that was merged in), until a commit that is not a merge, or one sync made (a public
    merge commit carries the trailer too).
    """
    commit_id = approved_tip
    while not _public(repo, commit_id, review_tip):
        commit = repo[commit_id].peel(pygit2.Commit)
        named = source_ids(commit.raw_message, trailer)
        if named or len(commit.parent_ids) < 2:
            return Candidate(commit_id, named[-1] if named else None, len(named))
        commit_id = str(commit.parent_ids[-1])
    return None


def foreign(
    repo: pygit2.Repository,
    approved_tip: str,
    review_tip: str | None,
    offered: str | None,
    trailer: str,
) -> str | None:
    """The newest commit on the approved branch, the target lacking it, that neither sync
    made nor an approval merge is: someone committed to the approved branch directly."""
    walker = repo.walk(approved_tip, SortMode.TOPOLOGICAL)
    for hidden in (review_tip, offered):
        if hidden is not None:
            walker.hide(hidden)
    for commit in walker:
        if len(commit.parent_ids) < 2 and not source_ids(commit.raw_message, trailer):
            return str(commit.id)
    return None


def built_on_superseded(
    repo: pygit2.Repository,
    commit: str,
    review_tip: str | None,
    last_synced: str | None,
    trailer: str,
) -> bool:
    """Whether ``commit`` stands on public commits the target has replaced since sync staged
    them (a squash merge there): one of its ancestors the target lacks names a source commit
    the target holds already. Such an approval is out of date, not forged."""
    if last_synced is None:
        return False
    walker = repo.walk(commit, SortMode.TOPOLOGICAL)
    if review_tip is not None:
        walker.hide(review_tip)
    for ancestor in walker:
        if str(ancestor.id) == commit:
            continue
        for source in source_ids(ancestor.raw_message, trailer):
            if source in repo and (
                source == last_synced or repo.descendant_of(last_synced, source)
            ):
                return True
    return False


def not_in(repo: pygit2.Repository, tip: str, *hidden: str | None) -> int:
    """How many commits of ``tip``'s history none of the ``hidden`` branches contain."""
    walker = repo.walk(tip, SortMode.TOPOLOGICAL)
    for hide in hidden:
        if hide is not None:
            walker.hide(hide)
    return sum(1 for _ in walker)


def contains(repo: pygit2.Repository, tip: str | None, commit: str) -> bool:
    """Whether the branch at ``tip`` contains ``commit``."""
    return tip is not None and (tip == commit or bool(repo.descendant_of(tip, commit)))


def _public(repo: pygit2.Repository, commit: str, review_tip: str | None) -> bool:
    return contains(repo, review_tip, commit)
