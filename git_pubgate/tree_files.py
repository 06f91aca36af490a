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
from .objects import EMPTY_TREE, canonical_mode, parse_tree
from .quoting import quote_path


def write_tree(repo: pygit2.Repository, commit: str, into: Path) -> int:
    """Write the tree of ``commit`` into the existing, empty directory ``into``.

    Each entry is what git reads it as, by its mode's type bits (``120755`` is a symlink, which
    libgit2 reads as an executable file).

    Returns:
        How many entries (files, symlinks, submodules) were written.
    """
    odb = repo.odb

    def read(oid: bytes) -> bytes:
        return bytes(odb.read(pygit2.Oid(raw=oid))[1])

    root = repo[commit].peel(pygit2.Tree).id.raw
    written = 0
    # A loop, not recursion: a 1,500-level deep path must not hit Python's recursion limit.
    pending: list[tuple[bytes, bytes, bytes]] = [(root, os.fsencode(into), b"")]
    while pending:
        tree, where, inside = pending.pop()
        data = b"" if tree == EMPTY_TREE else read(tree)
        entries = parse_tree(data, 0, len(data))
        if entries is None:
            raise PubgateError(
                f"refusing to write {quote_path(inside) or '/'} of {commit[:12]}: its tree is "
                "corrupt",
                "run 'git fsck' on the source repository",
            )
        for mode, name, oid, _, is_tree in entries:
            kind = canonical_mode(mode)
            why = forbidden(name, kind)
            if why is not None:
                raise PubgateError(
                    f"refusing to write {quote_path(inside + name)} of {commit[:12]}: {why}",
                    "git would refuse to check this tree out too; fix the source and sync again",
                )
            path = os.path.join(where, name)
            try:
                if is_tree:
                    os.mkdir(path)
                    pending.append((oid, path, inside + name + b"/"))
                    continue
                if kind == b"160000":  # a submodule: an empty directory
                    os.mkdir(path)
                elif kind == b"120000":
                    os.symlink(read(oid), path)
                else:
                    _write_file(path, read(oid), executable=kind == b"100755")
            except FileExistsError as e:
                raise PubgateError(
                    f"refusing to write {quote_path(inside + name)} of {commit[:12]}: the tree "
                    "names it twice",
                    "the source history holds a tree with duplicate entries (git fsck --strict "
                    "names it)",
                ) from e
            written += 1
    return written


def _write_file(path: bytes, data: bytes, *, executable: bool) -> None:
    permissions = 0o777 if executable else 0o666  # the umask takes off the rest
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, permissions)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)
