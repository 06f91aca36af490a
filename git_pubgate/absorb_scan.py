"""Which public commits absorb brings back, and the internal commit behind every other one.

Public commits fall in three kinds. *Sync's own* carry a ``Pubgate-Source: I`` trailer naming a
source commit whose filtered tree is exactly theirs (so a forged or stale trailer does not
count; a rebased or squashed sync pull request still does). *Absorbed* ones are named by a
``Pubgate-Absorbed`` trailer in an internal commit reachable from the source branch or the open
absorb branch. The rest are *waiting*. The walk down the public history stops at sync's own
commits: everything below one is already in the source it names.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import pygit2
from pygit2.enums import SortMode

from .trailer import ABSORBED_TRAILER, source_ids

# (public commit, the source ids its trailers name) -> the internal commit it is, or None.
OwnCheck = Callable[[str, list[str]], str | None]


@dataclass
class Scan:
    """What the public history holds that the source does not.

    Attributes:
        waiting: public commits to absorb, parents first.
        image: public commit -> internal commit, for sync's own and absorbed ones.
        absorbed: public commit -> the internal commit carrying its ``Pubgate-Absorbed``.
        synced_any: whether any of sync's own commits was found at all.
    """

    waiting: list[str] = field(default_factory=list)
    image: dict[str, str] = field(default_factory=dict)
    absorbed: dict[str, str] = field(default_factory=dict)
    synced_any: bool = False
    reachable: set[str] = field(default_factory=set)


def scan(
    repo: pygit2.Repository,
    review_tip: str,
    trailer: str,
    is_own: OwnCheck,
    internal_tips: Iterable[str],
) -> Scan:
    """Classify the public commits above sync's own ones (see the module docstring).

    Args:
        repo: sees both the public and the internal objects (the staging repository).
        review_tip: the public review branch's tip.
        trailer: the name of sync's trailer.
        is_own: tells sync's own commits from the rest.
        internal_tips: the source branch and the open absorb branch, where absorbed ones live.
    """
    found = Scan()
    unproduced: list[str] = []
    stack = [review_tip]
    while stack:
        current = stack.pop()
        if current in found.reachable:
            continue
        found.reachable.add(current)
        commit = repo[current].peel(pygit2.Commit)
        named = [s for s in source_ids(commit.raw_message, trailer) if s in repo]
        own = is_own(current, named) if named else None
        if own is not None:
            found.image[current] = own
            found.synced_any = True
            continue
        unproduced.append(current)
        stack.extend(str(p) for p in commit.parent_ids)
    _read_absorbed(repo, found, internal_tips)
    for public, internal in found.absorbed.items():
        found.image.setdefault(public, internal)
    waiting = {c for c in unproduced if c not in found.absorbed}
    found.waiting = _parents_first(repo, waiting)
    return found


def _read_absorbed(repo: pygit2.Repository, found: Scan, tips: Iterable[str]) -> None:
    """Every ``Pubgate-Absorbed`` in the internal history newer than sync's own commits."""
    walker = None
    for tip in tips:
        if walker is None:
            walker = repo.walk(tip, SortMode.TOPOLOGICAL)
        else:
            walker.push(pygit2.Oid(hex=tip))
    if walker is None:
        return
    for internal in set(found.image.values()):
        walker.hide(pygit2.Oid(hex=internal))
    marker = ABSORBED_TRAILER.encode()
    for commit in walker:
        message = commit.raw_message
        if marker not in message:
            continue
        for public in source_ids(message, ABSORBED_TRAILER):
            found.absorbed.setdefault(public, str(commit.id))


def _parents_first(repo: pygit2.Repository, commits: set[str]) -> list[str]:
    """``commits`` ordered so that each comes after those of its parents that are listed."""
    order: list[str] = []
    done: set[str] = set()
    for start in sorted(commits):
        stack: list[tuple[str, bool]] = [(start, False)]
        while stack:
            current, expanded = stack.pop()
            if current in done:
                continue
            if expanded:
                done.add(current)
                order.append(current)
                continue
            stack.append((current, True))
            for parent in reversed(repo[current].peel(pygit2.Commit).parent_ids):
                if str(parent) in commits and str(parent) not in done:
                    stack.append((str(parent), False))
    return order
