"""The files a commit adds: entries of its tree that none of its parents has as they are.

The pre-push hook checks what a push adds. Every entry of a pushed commit's tree either
differs from the same path in each parent (this commit adds it), or equals it in some parent,
which is then either pushed too (and checked as itself) or already on the remote. So checking
each pushed commit's added files covers every file the push publishes, a file a merge brings
in from its second parent included, while a one-file commit on a 20,000-file tree costs one
file, not 20,000.

Pure apart from the callback that reads a tree.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

from .errors import PubgateError
from .objects import EMPTY_TREE, parse_tree

Added = tuple[bytes, bytes, bytes]  # (path, mode, raw id) of a file, symlink or gitlink
ReadTree = Callable[[bytes], bytes]


def added_files(read_tree: ReadTree, tree: bytes, parents: Sequence[bytes]) -> Iterator[Added]:
    """The non-tree entries of ``tree`` (raw id) that no tree of ``parents`` holds at the same
    path with the same mode and id; all of them for a root commit.

    A subtree equal to a parent's at the same path is not read at all.
    """
    stack: list[tuple[bytes, list[bytes], bytes]] = [(tree, list(parents), b"")]
    while stack:
        oid, bases, prefix = stack.pop()
        if oid in bases:
            continue
        known = [_by_name(read_tree, base) for base in bases]
        for mode, name, child, _, is_tree in _entries(read_tree, oid):
            before = [k[name] for k in known if name in k]
            if is_tree:
                below = [old_id for _, old_id, was_tree in before if was_tree]
                stack.append((child, below, prefix + name + b"/"))
            elif (mode, child, False) not in before:
                yield prefix + name, mode, child


def _entries(read_tree: ReadTree, oid: bytes) -> list[tuple[bytes, bytes, bytes, int, bool]]:
    data = b"" if oid == EMPTY_TREE else read_tree(oid)
    entries = parse_tree(data, 0, len(data))
    if entries is None:
        # Never skip what cannot be parsed: a check that passes it would let it through.
        raise PubgateError(f"tree {oid.hex()} is malformed", "is the repository intact? (git fsck)")
    return entries


def _by_name(read_tree: ReadTree, oid: bytes) -> dict[bytes, tuple[bytes, bytes, bool]]:
    """A parent tree's entries by name: (mode, id, whether it is a tree)."""
    return {
        name: (mode, child, is_tree) for mode, name, child, _, is_tree in _entries(read_tree, oid)
    }
