"""Public files that the rules exclude now: keep them as they are (``keep_public``), or delete.

When ``exclude`` grows (or ``include`` shrinks) to take a path that sync already published, the
public tree of the last synced source commit no longer has that path, so the next pull request
would delete it from the review branch. That is never done silently. A path matching a
``keep_public`` pattern stays public exactly as the last synced public commit holds it: sync
neither updates nor deletes it, whatever the source does with it later. Any other such path is
"newly excluded": sync refuses until ``--delete-excluded`` accepts the deletion.

Only paths in the last synced public commit (the one holding the newest synced source commit)
count: those are the ones sync itself published. Nothing here ever publishes a byte that is not
public already.
"""

from __future__ import annotations

import hashlib
from typing import Protocol

import pygit2

from .objects import EMPTY_TREE, parse_tree
from .rules import Rules
from .tree_edit import set_entry


class Overlay(Protocol):
    """What the rewriter applies to each source tree before filtering; ``key`` names it."""

    key: str

    def __call__(self, tree: bytes) -> bytes: ...


def kept(
    repo: pygit2.Repository, published: bytes, rules: Rules, keep: Rules
) -> dict[bytes, tuple[bytes, bytes]]:
    """Files of ``published`` that ``keep`` (keep_public, as exclude rules) matches and
    ``rules`` leave out: path -> (mode, raw id) as public has them."""
    return {
        path: entry
        for path, entry in _dropped(repo, published, keep).items()
        if not rules.is_public(path)
    }


def newly_excluded(repo: pygit2.Repository, published: bytes, rules: Rules) -> list[bytes]:
    """Files of ``published`` that ``rules`` leave out."""
    return sorted(_dropped(repo, published, rules))


def _dropped(
    repo: pygit2.Repository, tree: bytes, rules: Rules
) -> dict[bytes, tuple[bytes, bytes]]:
    """Every file of ``tree`` that ``rules`` drop; subtrees no rule can reach are not read."""
    found: dict[bytes, tuple[bytes, bytes]] = {}
    # (tree, prefix, include matched above, everything below is dropped)
    stack = [(tree, b"", rules.include is None, False)]
    while stack:
        oid, prefix, included, all_dropped = stack.pop()
        data = b"" if oid == EMPTY_TREE else repo.odb.read(pygit2.Oid(raw=oid))[1]
        for mode, name, child, _, is_tree in parse_tree(data, 0, len(data)) or []:
            path = prefix + name
            if is_tree:
                if all_dropped or not rules.keeps_dir(path, included):
                    stack.append((child, path + b"/", included, True))
                    continue
                state = rules.dir_state(path, included)
                if not state.untouched:
                    stack.append((child, path + b"/", state.included, False))
            elif all_dropped or not rules.keeps_file(path, included):
                found[path] = (mode, child)
    return found


class KeepOverlay:
    """Gives each source tree the kept files as public has them, before the filter runs.

    Used with ``Rules.keeping`` over the same paths, so the filter lets exactly these through.
    """

    def __init__(self, repo: pygit2.Repository, kept: dict[bytes, tuple[bytes, bytes]]):
        self._repo = repo
        self._kept = sorted(kept.items())
        self._memo: dict[bytes, bytes] = {}
        digest = hashlib.sha256()
        for path, (mode, oid) in self._kept:
            digest.update(path + b"\0" + mode + b"\0" + oid)
        self.key = digest.hexdigest()[:24]

    def __call__(self, tree: bytes) -> bytes:
        done = self._memo.get(tree)
        if done is not None:
            return done
        result: bytes | None = None if tree == EMPTY_TREE else tree
        for path, (mode, oid) in self._kept:
            result = set_entry(self._repo, result, path, oid, mode)
        assert result is not None
        self._memo[tree] = result
        return result


class Chained:
    """Two source-tree overlays, one after the other (release-owned files, then kept files)."""

    def __init__(self, first: Overlay | None, second: KeepOverlay):
        self._first = first
        self._second = second
        self.key = f"{first.key}+{second.key}" if first is not None else second.key

    def __call__(self, tree: bytes) -> bytes:
        return self._second(self._first(tree) if self._first is not None else tree)
