"""Write a commit's tree into a directory, byte for byte: what a checkout of it holds.

Read straight from the object database, so no git configuration, attribute or filter (eol
conversion, ``export-ignore``, an LFS smudge that would fetch from a remote) changes a byte:
the files are the blobs the public tip holds. Regular files get git's modes (0666 or 0777,
less the umask), symlinks are symlinks, and a submodule is an empty directory, as ``git
checkout`` leaves one.

Every file and directory is created exclusively (``O_EXCL``, ``mkdir``) in directories this
module made, so an entry can never write through a symlink another entry made, and a tree git
would refuse (``..``, ``.git``, a duplicate name) stops the write instead of escaping ``into``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pygit2

from .errors import PubgateError
from .guard import forbidden
from .quoting import quote_path

_TREE = 0o040000
_LINK = 0o120000
_GITLINK = 0o160000
_EXECUTABLE = 0o000100


def write_tree(repo: pygit2.Repository, commit: str, into: Path) -> int:
    """Write the tree of ``commit`` into the existing, empty directory ``into``.

    Returns:
        How many entries (files, symlinks, submodules) were written.
    """
    tree = repo[commit].peel(pygit2.Tree)
    written = 0
    # A loop, not recursion: a 1,500-level deep path must not hit Python's recursion limit.
    pending: list[tuple[pygit2.Tree, bytes, bytes]] = [(tree, os.fsencode(into), b"")]
    while pending:
        current, where, inside = pending.pop()
        for entry in current:
            name = entry.raw_name or b""  # (an empty name is refused just below)
            mode = entry.filemode
            why = forbidden(name, b"%o" % mode)
            if why is not None:
                raise PubgateError(
                    f"refusing to write {quote_path(inside + name)} of {commit[:12]}: {why}",
                    "git would refuse to check this tree out too; fix the source and sync again",
                )
            path = os.path.join(where, name)
            try:
                if mode == _TREE:
                    os.mkdir(path)
                    assert isinstance(entry, pygit2.Tree)
                    pending.append((entry, path, inside + name + b"/"))
                    continue
                if mode == _GITLINK:
                    os.mkdir(path)
                elif mode == _LINK:
                    assert isinstance(entry, pygit2.Blob)
                    os.symlink(entry.data, path)
                else:
                    assert isinstance(entry, pygit2.Blob)
                    _write_file(path, entry.data, mode)
            except FileExistsError as e:
                raise PubgateError(
                    f"refusing to write {quote_path(inside + name)} of {commit[:12]}: the tree "
                    "names it twice",
                    "the source history holds a tree with duplicate entries (git fsck --strict "
                    "names it)",
                ) from e
            written += 1
    return written


def _write_file(path: bytes, data: bytes, mode: int) -> None:
    permissions = 0o777 if mode & _EXECUTABLE else 0o666  # the umask takes off the rest
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, permissions)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)
