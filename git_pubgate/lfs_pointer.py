"""Git LFS pointer files, as the spec spells them. Pure: bytes in, values out.

(Apart from ``lfs``, which runs git-lfs, so that the rewrite's content pass can ask
``may_be_pointer`` of every new file without importing any of that.)
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Pointer files are small by definition: git-lfs reads no blob of 1024 bytes or more as one.
MAX_POINTER_SIZE = 1024
# The spec's version line, and the two earlier spellings git-lfs still reads.
VERSION_LINES = (
    b"version https://git-lfs.github.com/spec/v1\n",
    b"version https://hawser.github.com/spec/v1\n",
    b"version http://git-media.io/v/2\n",
)
_OID = re.compile(rb"oid sha256:([0-9a-f]{64})\n")
_SIZE = re.compile(rb"size (0|[1-9][0-9]*)\n")
_EXTENSION = re.compile(rb"ext-[0-9]-[a-z0-9]+ sha256:[0-9a-f]{64}\n")


def may_be_pointer(data: bytes) -> bool:
    """The cheap test: could these bytes be a pointer file (version line first, small)?"""
    return len(data) < MAX_POINTER_SIZE and data.startswith(VERSION_LINES)


@dataclass(frozen=True)
class Pointer:
    """The object a pointer file names."""

    oid: str  # sha256, hex
    size: int


def parse_pointer(data: bytes) -> Pointer | None:
    """The pointer ``data`` spells, or None when it is not a valid pointer file.

    As the spec has it: the version line first, optional ``ext-`` lines, then ``oid`` and
    ``size``, each line ending in LF, nothing else.
    """
    if not may_be_pointer(data):
        return None
    rest = data[data.index(b"\n") + 1 :]
    while (found := _EXTENSION.match(rest)) is not None:
        rest = rest[found.end() :]
    oid = _OID.match(rest)
    if oid is None:
        return None
    size = _SIZE.fullmatch(rest, oid.end())
    if size is None:
        return None
    return Pointer(oid.group(1).decode(), int(size.group(1)))
