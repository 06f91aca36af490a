"""What a sync holds back: the excluded paths whose content the new commits change.

Computed from two source trees only, the last synced source commit's and the source tip's, so
the answer depends on nothing a run leaves behind (cache, staging, the order of plan and sync):
an excluded path is listed when it exists in the tip and differs from (or is absent in) the last
synced commit; on a first publication, every excluded path of the tip. A path the new commits
add and delete again, or delete, is not listed: nothing of it is held back from the result.
Paths are named at the level where the rules cut, so an excluded directory appears once as
``internal/`` and never with the names inside it (the list goes into a public pull request).
"""

from __future__ import annotations

from collections.abc import Callable

import pygit2

from .objects import EMPTY_TREE, is_tree_mode, parse_tree
from .rules import Rules


def held_back(
    repo: pygit2.Repository,
    rules: Rules,
    last_source: str | None,
    tip: str,
    layout: Callable[[bytes], bytes] | None = None,
) -> list[str]:
    """The excluded paths of ``tip`` that differ from ``last_source``, at the level they are cut.

    The two trees are compared level by level: a subtree with the same id on both sides, or
    one below which no rule can drop anything, is never read, so an incremental run reads the
    few trees its new commits changed. (libgit2's diff costs a quarter of a second to start.)
    """
    if rules.is_empty:
        return []
    new = bytes(repo[tip].peel(pygit2.Commit).tree_id.raw)
    old = bytes(repo[last_source].peel(pygit2.Commit).tree_id.raw) if last_source else None
    if layout is not None:  # a monorepo target: compare the trees as they are published
        new = layout(new)
        old = layout(old) if old is not None else None
    found: list[bytes] = []
    # (old tree or None, new tree, prefix, include matched above)
    stack = [(old, new, b"", rules.include is None)]
    while stack:
        old_tree, new_tree, prefix, included = stack.pop()
        if old_tree == new_tree:
            continue
        before = {name: (mode, oid) for mode, name, oid, _, _ in _entries(repo, old_tree)}
        for mode, name, oid, _, is_tree in _entries(repo, new_tree):
            if before.get(name) == (mode, oid):
                continue  # unchanged: nothing new is held back below it
            path = prefix + name
            if not is_tree:
                if not rules.keeps_file(path, included):
                    found.append(path)
                continue
            if not rules.keeps_dir(path, included):
                found.append(path + b"/")  # cut here: its contents are never named
                continue
            state = rules.dir_state(path, included)
            if state.untouched:
                continue  # no rule drops anything below
            was = before.get(name)
            old_sub = was[1] if was is not None and is_tree_mode(was[0]) else None
            stack.append((old_sub, oid, path + b"/", state.included))
    return sorted(p.decode("utf-8", "surrogateescape") for p in found)


def held_back_from(  # noqa: PLR0917
    repo: pygit2.Repository,
    rules: Rules,
    last_source: str | None,
    tip: str,
    layout: Callable[[bytes], bytes] | None,
    earlier: tuple[str, list[str]] | None,
) -> list[str]:
    """``held_back(repo, rules, last_source, tip, layout)``, from an earlier answer when given.

    ``earlier`` is (an earlier tip, ``held_back`` for that tip from the same ``last_source``,
    rules and layout). While a pull request stays open every run compares the same
    ``last_source`` (on a first publication: nothing, so the whole tip tree) with a tip that
    moved a little; the answer is then the earlier one updated by what changed between the two
    tips: a path whose entry is the same in both keeps its verdict; one that changed is listed
    by ``held_back(earlier tip, tip)`` and is held back when it differs from ``last_source``.
    """
    if earlier is None or rules.is_empty:
        return held_back(repo, rules, last_source, tip, layout)
    before, listed = earlier
    trees = _Trees(repo, layout)
    old, new = trees.of(before), trees.of(tip)
    last = trees.of(last_source) if last_source else None
    kept = {p for p in listed if trees.entry(new, p) == trees.entry(old, p)}
    changed = {
        p
        for p in held_back(repo, rules, before, tip, layout)
        if last is None or trees.entry(new, p) != trees.entry(last, p)
    }
    return sorted(kept | changed)


class _Trees:
    """Entries of (public-layout) source trees by path, each tree read once."""

    def __init__(self, repo: pygit2.Repository, layout: Callable[[bytes], bytes] | None):
        self._repo = repo
        self._layout = layout
        self._read: dict[bytes, dict[bytes, tuple[bytes, bytes]]] = {}

    def of(self, commit: str) -> bytes:
        tree = bytes(self._repo[commit].peel(pygit2.Commit).tree_id.raw)
        return self._layout(tree) if self._layout is not None else tree

    def entry(self, tree: bytes, path: str) -> tuple[bytes, bytes] | None:
        """(mode, id) at ``path`` (``dir/`` for a directory) below ``tree``, or None."""
        found: tuple[bytes, bytes] | None = (b"40000", tree)
        for name in path.rstrip("/").encode("utf-8", "surrogateescape").split(b"/"):
            if found is None or not is_tree_mode(found[0]):
                return None
            found = self._names(found[1]).get(name)
        return found

    def _names(self, tree: bytes) -> dict[bytes, tuple[bytes, bytes]]:
        names = self._read.get(tree)
        if names is None:
            names = self._read[tree] = {
                name: (mode, oid) for mode, name, oid, _, _ in _entries(self._repo, tree)
            }
        return names


def _entries(
    repo: pygit2.Repository, tree: bytes | None
) -> list[tuple[bytes, bytes, bytes, int, bool]]:
    if tree is None or tree == EMPTY_TREE:
        return []
    data = repo.odb.read(pygit2.Oid(raw=tree))[1]
    return parse_tree(data, 0, len(data)) or []
