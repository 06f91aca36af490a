"""Raw git objects: parse trees and commits byte-exactly, and write new objects as one pack.

Trees are rebuilt from their raw entries rather than through a TreeBuilder, because libgit2 and
fast-import normalise odd modes such as ``100664`` to ``100644`` and that would change the id of
every tree above (git.git's first commit has one). Commits are rewritten from their raw bytes with
only the tree and parent lines replaced, so author, committer, dates, ``encoding`` and message
bytes survive exactly.

New objects go into a pack rather than loose files: writing tens of thousands of loose objects
(zlib, open, rename each) dominated the cost of a naive rewrite, and left a repository to gc.
"""

from __future__ import annotations

import hashlib
import os
import struct
import subprocess
import tempfile
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from .errors import PubgateError

OBJ_COMMIT = 1
OBJ_TREE = 2
_TYPE_NAMES = {OBJ_COMMIT: b"commit", OBJ_TREE: b"tree"}

TREE_MODE = b"40000"
GITLINK_MODE = b"160000"
SYMLINK_MODE = b"120000"
EMPTY_TREE = hashlib.sha1(b"tree 0\0").digest()
# Headers that would be invalid or leak once tree and parents change: signatures over the old
# content, and mergetag, which embeds an internal tag's full text.
DROPPED_HEADERS = frozenset({b"gpgsig", b"gpgsig-sha256", b"mergetag"})


@dataclass(frozen=True, slots=True)
class TreeEntry:
    mode: bytes
    name: bytes
    oid: bytes  # raw 20 bytes
    start: int
    end: int

    @property
    def is_tree(self) -> bool:
        # Some old trees spell the directory mode "040000"; git reads both.
        return self.mode.lstrip(b"0") == TREE_MODE


def iter_tree(data: bytes) -> Iterator[TreeEntry]:
    """Yield the entries of a raw tree in stored order: ``<mode> <name>\\0<20-byte id>``."""
    pos = 0
    size = len(data)
    while pos < size:
        space = data.index(b" ", pos)
        nul = data.index(b"\0", space)
        end = nul + 21
        yield TreeEntry(data[pos:space], data[space + 1 : nul], data[nul + 1 : end], pos, end)
        pos = end


def tree_entry(mode: bytes, name: bytes, oid: bytes) -> bytes:
    return mode + b" " + name + b"\0" + oid


@dataclass(frozen=True, slots=True)
class RawCommit:
    """A commit split into the parts a rewrite touches and the bytes it keeps."""

    tree: str
    parents: tuple[str, ...]
    other_headers: bytes  # every header after tree/parent, signatures removed, byte-exact
    message: bytes

    @classmethod
    def parse(cls, data: bytes) -> RawCommit:
        split = data.find(b"\n\n")
        head, message = (data, b"") if split < 0 else (data[: split + 1], data[split + 2 :])
        tree = ""
        parents: list[str] = []
        kept: list[bytes] = []
        dropping = False
        for line in head.splitlines(keepends=True):
            if line.startswith(b" "):  # continuation of a multi-line header
                if not dropping:
                    kept.append(line)
                continue
            key = line.split(b" ", 1)[0]
            dropping = key in DROPPED_HEADERS
            if key == b"tree" and not tree and not parents and not kept:
                tree = line[5:].strip().decode("ascii")
            elif key == b"parent" and not kept:
                parents.append(line[7:].strip().decode("ascii"))
            elif not dropping:
                kept.append(line)
        return cls(tree, tuple(parents), b"".join(kept), message)

    def serialise(self, tree: str, parents: list[str], message: bytes) -> bytes:
        lines = [b"tree " + tree.encode() + b"\n"]
        lines += [b"parent " + p.encode() + b"\n" for p in parents]
        lines.append(self.other_headers)
        return b"".join(lines) + b"\n" + message


def object_id(obj_type: int, data: bytes) -> bytes:
    header = _TYPE_NAMES[obj_type] + b" " + str(len(data)).encode() + b"\0"
    return hashlib.sha1(header + data).digest()


# A pack still being written by a concurrent run is younger than this; only a crashed run's
# leftovers are older.
_STALE_SECONDS = 24 * 3600


def _remove_crash_leftovers(pack_dir: Path) -> None:
    now = time.time()
    for leftover in pack_dir.glob("tmp_pubgate_*"):
        try:
            if now - leftover.stat().st_mtime > _STALE_SECONDS:
                leftover.unlink()
        except FileNotFoundError:
            continue


class PackWriter:
    """Collects new objects into one pack file and hands it to ``git index-pack`` at the end.

    Objects are zlib-compressed as they arrive and streamed to a temporary file, so memory stays
    flat however large the rewrite. Nothing becomes visible in the repository before ``commit()``;
    an interrupted run removes its temporary file, and a killed one leaves a file that a later
    run removes once it is a day old.
    """

    def __init__(self, git_dir: Path):
        self._git_dir = git_dir
        pack_dir = git_dir / "objects" / "pack"
        pack_dir.mkdir(parents=True, exist_ok=True)
        _remove_crash_leftovers(pack_dir)
        fd, name = tempfile.mkstemp(prefix="tmp_pubgate_", suffix=".pack", dir=pack_dir)
        self._path = Path(name)
        self._file = os.fdopen(fd, "wb")
        self._file.write(b"PACK" + struct.pack(">II", 2, 0))
        self._written: set[bytes] = set()
        self.count = 0

    def add(self, obj_type: int, data: bytes) -> bytes:
        """Queue an object and return its raw id; a second add of the same object is free."""
        oid = object_id(obj_type, data)
        if oid in self._written:
            return oid
        self._written.add(oid)
        size = len(data)
        byte = (obj_type << 4) | (size & 0x0F)
        size >>= 4
        header = bytearray()
        while size:
            header.append(byte | 0x80)
            byte = size & 0x7F
            size >>= 7
        header.append(byte)
        self._file.write(bytes(header))
        self._file.write(zlib.compress(data, 1))
        self.count += 1
        return oid

    def commit(self) -> None:
        """Finish the pack and index it into the repository (nothing to do when empty)."""
        self._file.flush()
        self._file.seek(8)
        self._file.write(struct.pack(">I", self.count))
        self._file.close()
        try:
            if self.count:
                self._index()
        finally:
            self._path.unlink(missing_ok=True)

    def abort(self) -> None:
        self._file.close()
        self._path.unlink(missing_ok=True)

    def _index(self) -> None:
        digest = hashlib.sha1()
        with self._path.open("rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
        with self._path.open("ab") as f:
            f.write(digest.digest())
        with self._path.open("rb") as f:
            done = subprocess.run(
                ["git", "--git-dir", str(self._git_dir), "index-pack", "--stdin"],
                stdin=f,
                capture_output=True,
                check=False,
            )
        if done.returncode != 0:
            detail = done.stderr.decode(errors="replace").strip()
            raise PubgateError(
                f"could not store the rewritten objects: git index-pack failed: {detail}",
                "check free disk space and permissions on the repository's .git directory",
            )
