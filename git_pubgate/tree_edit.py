"""Set or add one file in a tree, byte for byte: every other entry keeps its exact bytes.

Used for the few files a release owns (version files, changelog). New trees and blobs are written
as loose objects into the given repository, so they can be read back at once.
"""

from __future__ import annotations

import pygit2
from pygit2.enums import ObjectType

from .objects import is_symlink_mode, parse_tree, tree_entry

FILE_MODE = b"100644"


def _sort_key(name: bytes, is_tree: bool) -> bytes:
    # git orders a directory as if its name ended with '/'.
    return name + b"/" if is_tree else name


def read_blob(repo: pygit2.Repository, tree: bytes, path: str) -> tuple[bytes, bytes] | None:
    """The (mode, raw id) of the file at ``path`` in ``tree``, or None."""
    current = tree
    parts = path.encode("utf-8").split(b"/")
    for depth, part in enumerate(parts):
        data = repo.odb.read(pygit2.Oid(raw=current))[1]
        entries = parse_tree(data, 0, len(data)) or []
        last = depth == len(parts) - 1
        for mode, name, oid, _, is_tree in entries:
            if name == part and is_tree != last:
                if last:
                    return mode, oid
                current = oid
                break
        else:
            return None
    return None


def set_file(
    repo: pygit2.Repository, tree: bytes, path: str, blob: bytes, mode: bytes = FILE_MODE
) -> bytes:
    """``tree`` with the file at ``path`` pointing at ``blob`` (added, with parents, if absent).

    An existing entry keeps its mode; a directory in the way is replaced by the file.
    """
    parts = path.encode("utf-8").split(b"/")
    return _set(repo, tree, parts, blob, mode)


def set_entry(
    repo: pygit2.Repository, tree: bytes | None, path: bytes, oid: bytes, mode: bytes
) -> bytes:
    """``tree`` (None: empty) with the entry at ``path`` (any bytes) set to ``oid``/``mode``."""
    return _set(repo, tree, path.split(b"/"), oid, mode, exact=True)


def _set(  # noqa: PLR0917
    repo: pygit2.Repository,
    tree: bytes | None,
    parts: list[bytes],
    blob: bytes,
    mode: bytes,
    exact: bool = False,
) -> bytes:
    data = repo.odb.read(pygit2.Oid(raw=tree))[1] if tree is not None else b""
    entries = parse_tree(data, 0, len(data)) or []
    name, rest = parts[0], parts[1:]
    out: list[tuple[bytes, bytes]] = []
    placed = False
    for entry_mode, entry_name, oid, start, is_tree in entries:
        raw = data[start : start + len(entry_mode) + len(entry_name) + 22]
        if entry_name == name:
            placed = True
            if rest and is_tree:
                child = _set(repo, oid, rest, blob, mode, exact)
                out.append((_sort_key(name, True), tree_entry(entry_mode, name, child)))
            elif not rest:
                keep = (
                    entry_mode
                    if not exact and not is_tree and not is_symlink_mode(entry_mode)
                    else mode
                )
                out.append((_sort_key(name, False), tree_entry(keep, name, blob)))
            else:  # a file where a directory must go
                child = _set(repo, None, rest, blob, mode, exact)
                out.append((_sort_key(name, True), tree_entry(b"40000", name, child)))
            continue
        out.append((_sort_key(entry_name, is_tree), raw))
    if not placed:
        if rest:
            child = _set(repo, None, rest, blob, mode, exact)
            out.append((_sort_key(name, True), tree_entry(b"40000", name, child)))
        else:
            out.append((_sort_key(name, False), tree_entry(mode, name, blob)))
    out.sort(key=lambda item: item[0])
    new = b"".join(raw for _, raw in out)
    if new == data and tree is not None:
        return tree
    return bytes(repo.odb.write(ObjectType.TREE, new).raw)
