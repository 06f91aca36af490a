"""Source trees in their public layout: ``root`` taken as the top, ``move`` entries placed.

The engine filters what this module hands it, so ``exclude`` and ``include`` apply to the tree
as the public repository will see it. With only a ``root``, the result is a subtree that already
exists in the source: nothing is written. Moves build new trees, written as loose objects into
the staging repository so the filter can read them at once; they are memoised by what they are
made of, so only commits that change the root folder or a moved path cost a write.

``SourceTrees`` is the one reader of source trees that every target of a run shares: looking up
``libs/`` in a commit's root tree is done once, whatever number of targets live below it.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pygit2
from pygit2.enums import ObjectType

from .objects import EMPTY_TREE, RawCommit, is_tree_mode, parse_tree, tree_entry
from .paths import PathMap
from .rewrite import CommitSource, walk_commits

_DIR_MODE = b"40000"
Entry = tuple[bytes, bytes]  # (mode, raw id)


class SourceTrees:
    """Reads entries of source trees by path, remembering each answer.

    Shared by every target of one run (they read the same source objects). A tree is parsed
    once for every name any target wants at any depth (``want``), so ten targets under
    ``libs/`` cost one read of each ``libs`` tree, not ten.
    """

    def __init__(self, odb: pygit2.Odb):
        self._odb = odb
        self._names: dict[bytes, int] = {}  # a wanted name -> its place in each row
        self._rows: dict[bytes, tuple[Entry | None, ...]] = {}  # tree -> entry of each name

    def want(self, paths: Iterable[bytes]) -> None:
        """Name the paths lookups will ask for (every component of each)."""
        for path in paths:
            for name in path.split(b"/"):
                self._names.setdefault(name, len(self._names))

    def read(self, tree: bytes) -> bytes:
        return bytes(self._odb.read(pygit2.Oid(raw=tree))[1])

    def entry(self, tree: bytes, path: bytes) -> Entry | None:
        """The (mode, id) at ``path`` below ``tree``, or None when nothing is there."""
        current: Entry = (_DIR_MODE, tree)
        for name in path.split(b"/"):
            if not is_tree_mode(current[0]):
                return None
            found = self._lookup(current[1], name)
            if found is None:
                return None
            current = found
        return current

    def _lookup(self, tree: bytes, name: bytes) -> Entry | None:
        if tree == EMPTY_TREE:
            return None
        index = self._names.get(name)
        if index is None:
            self.want([name])
            index = self._names[name]
        row = self._rows.get(tree)
        if row is None or index >= len(row):
            row = self._rows[tree] = self._scan(tree)
        return row[index]

    def _scan(self, tree: bytes) -> tuple[Entry | None, ...]:
        names = self._names
        row: list[Entry | None] = [None] * len(names)
        data = self.read(tree)
        for mode, entry_name, oid, _, _ in parse_tree(data, 0, len(data)) or ():
            index = names.get(entry_name)
            if index is not None:
                row[index] = (mode, oid)
        return tuple(row)


class SharedTrees:
    """One ``SourceTrees`` per source repository, for the targets of one run to share."""

    def __init__(self, paths: Iterable[PathMap] = (), *, share_commits: bool = False) -> None:
        self._by_dir: dict[Path, SourceTrees] = {}
        # Every target's paths, known before the first tree is read.
        self._wanted = [p for paths_of in paths for p in _paths_of(paths_of)]
        self._share_commits = share_commits
        self._histories: dict[tuple[Path, str], list[tuple[str, RawCommit]]] = {}

    def commits(self, repo: pygit2.Repository, git_dir: Path) -> CommitSource | None:
        """The commits of ``repo`` read once for every target that rewrites from scratch.

        A first sync of many targets walks the same whole history for each: that walk and the
        parsing of every commit is kept (about 0.5 KB a commit) and handed to each in turn. A
        target with synced commits walks only what is new to it, by itself.
        """
        if not self._share_commits:
            return None
        own = walk_commits(repo)

        def commits(tip: str, hidden: Iterable[str]) -> Iterable[tuple[str, RawCommit]]:
            hidden = list(hidden)
            if hidden:
                return own(tip, hidden)
            key = (git_dir, tip)
            found = self._histories.get(key)
            if found is None:
                found = self._histories[key] = list(own(tip, ()))
            return found

        return commits

    def of(self, repo: pygit2.Repository, git_dir: Path) -> SourceTrees:
        found = self._by_dir.get(git_dir)
        if found is None:
            found = self._by_dir[git_dir] = SourceTrees(repo.odb)
            found.want(self._wanted)
        return found


class TreeMapper:
    """Turns a source tree into its public layout (before the path rules filter it).

    Args:
        trees: the shared reader of source trees.
        paths: the target's root and moves.
        repo: where composed trees are written (the target's staging repository).
    """

    def __init__(self, trees: SourceTrees, paths: PathMap, repo: pygit2.Repository):
        self._trees = trees
        self._paths = paths
        self._odb = repo.odb
        self._composed: dict[tuple[bytes, tuple[Entry | None, ...]], bytes] = {}
        trees.want(_paths_of(paths))
        # git knows the empty tree without storing it; libgit2 cannot read it unless it is stored.
        self._odb.write(ObjectType.TREE, b"")

    def root_exists(self, tree: bytes) -> bool:
        """Whether the source tree ``tree`` has the root folder."""
        if not self._paths.root:
            return True
        found = self._trees.entry(tree, self._paths.root)
        return found is not None and is_tree_mode(found[0])

    def public_path_exists(self, tree: bytes, public: bytes) -> bool:
        """Whether ``public`` exists in ``tree`` below the root, moves left aside."""
        base = self._base(tree)
        return base != EMPTY_TREE and self._trees.entry(base, public) is not None

    def _base(self, tree: bytes) -> bytes:
        if not self._paths.root:
            return tree
        found = self._trees.entry(tree, self._paths.root)
        return found[1] if found is not None and is_tree_mode(found[0]) else EMPTY_TREE

    def __call__(self, tree: bytes) -> bytes:
        base = self._base(tree)
        moves = self._paths.moves
        if not moves:
            return base
        placed = tuple(self._trees.entry(tree, src) for src, _ in moves)
        key = (base, placed)
        done = self._composed.get(key)
        if done is None:
            done = self._composed[key] = self._compose(base, placed)
        return done

    def _compose(self, base: bytes, placed: tuple[Entry | None, ...]) -> bytes:
        tree: bytes | None = base
        root = self._paths.root
        for src, _ in self._paths.moves:
            # A moved path leaves its old place when that place is inside the public root.
            if not root:
                tree = self._edit(tree, src.split(b"/"), None)
            elif src.startswith(root + b"/"):
                tree = self._edit(tree, src[len(root) + 1 :].split(b"/"), None)
        for (_, dst), entry in zip(self._paths.moves, placed, strict=True):
            tree = self._edit(tree, dst.split(b"/"), entry)
        return EMPTY_TREE if tree is None else tree

    def _edit(self, tree: bytes | None, parts: list[bytes], entry: Entry | None) -> bytes | None:
        """``tree`` with ``entry`` at ``parts`` (None: removed); None for an empty result."""
        # Read from staging: it holds the trees composed so far and borrows the source's.
        data = (
            bytes(self._odb.read(pygit2.Oid(raw=tree))[1])
            if tree is not None and tree != EMPTY_TREE
            else b""
        )
        rows: list[tuple[bytes, bytes]] = []
        name, rest = parts[0], parts[1:]
        placed = False
        for mode, entry_name, oid, start, is_tree in parse_tree(data, 0, len(data)) or ():
            raw = data[start : start + len(mode) + len(entry_name) + 22]
            if entry_name != name:
                rows.append((_sort_key(entry_name, is_tree), raw))
                continue
            placed = True
            if rest:
                child = self._edit(oid if is_tree else None, rest, entry)
                if child is not None:
                    rows.append((_sort_key(name, True), tree_entry(_DIR_MODE, name, child)))
            elif entry is not None:
                rows.append(_row(name, entry))
        if not placed and entry is not None:
            if rest:
                child = self._edit(None, rest, entry)
                if child is not None:
                    rows.append((_sort_key(name, True), tree_entry(_DIR_MODE, name, child)))
            else:
                rows.append(_row(name, entry))
        if not rows:
            return None
        rows.sort(key=lambda row: row[0])
        new = b"".join(raw for _, raw in rows)
        if tree is not None and new == data:
            return tree
        return bytes(self._odb.write(ObjectType.TREE, new).raw)


def _paths_of(paths: PathMap) -> list[bytes]:
    return ([paths.root] if paths.root else []) + [src for src, _ in paths.moves]


def _row(name: bytes, entry: Entry) -> tuple[bytes, bytes]:
    mode, oid = entry
    is_tree = is_tree_mode(mode)
    return _sort_key(name, is_tree), tree_entry(_DIR_MODE if is_tree else mode, name, oid)


def _sort_key(name: bytes, is_tree: bool) -> bytes:
    # git orders a directory as if its name ended with '/'.
    return name + b"/" if is_tree else name
