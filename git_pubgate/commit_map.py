"""Source -> public commit maps on disk, looked up without being loaded.

The map of every source commit the review branch names is as long as the history (62,658
entries on sympy). Building a dict of it on every run would cost time in proportion to the
history; a sync touches a handful of entries. So the map is stored as sorted fixed-width
records (raw source id, raw public id) and each lookup is a binary search over the bytes.
"""

from __future__ import annotations

import hashlib
import os
from array import array
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import cast

_MAGIC = b"pubgate-commit-map 1\n"


class CommitMap:
    """An immutable, sorted source -> public map over raw ids of one width (SHA-1 or SHA-256)."""

    def __init__(self, data: bytes, width: int):
        self._data = data
        self._width = width
        self._record = 2 * width
        self._start = len(_MAGIC) + 1
        self._count = (len(data) - self._start) // self._record

    def __len__(self) -> int:
        return self._count

    def get(self, source: str) -> str | None:
        """The public id of ``source``; "" when it was stored as None; None when absent."""
        key = bytes.fromhex(source)
        if len(key) != self._width:
            return None
        lo = self._position(key)
        at = self._start + lo * self._record
        if lo < self._count and self._data[at : at + self._width] == key:
            public = self._data[at + self._width : at + self._record]
            return public.hex() if public.strip(b"\0") else ""
        return None

    def __contains__(self, source: object) -> bool:
        return isinstance(source, str) and self.get(source) is not None

    def sources(self) -> Iterator[str]:
        """Every source id, in order (a walk over the whole map: for rare paths only)."""
        data, record, start, width = self._data, self._record, self._start, self._width
        for at in range(start, start + self._count * record, record):
            yield data[at : at + width].hex()

    def _position(self, key: bytes) -> int:
        data, record, start, width = self._data, self._record, self._start, self._width
        lo, hi = 0, self._count
        while lo < hi:
            mid = (lo + hi) // 2
            at = start + mid * record
            if data[at : at + width] < key:
                lo = mid + 1
            else:
                hi = mid
        return lo

    @classmethod
    def build(
        cls, entries: Mapping[str, str | None], width: int, base: CommitMap | None = None
    ) -> bytes:
        """The bytes of ``base`` updated with ``entries`` (which win); a None public id is
        stored as zeros and read back as None.

        The new records are spliced into the old bytes at their places, so adding a few
        entries to a long map costs a copy of its bytes, not a Python loop over them.
        """
        new = _records(entries, width)
        head = _MAGIC + bytes([width])
        if base is None or not len(base):
            return head + new
        data, record, start = base._data, base._record, base._start
        parts = [head]
        at = 0  # records of base already copied
        for offset in range(0, len(new), record):
            key = new[offset : offset + width]
            where = base._position(key)
            parts.append(data[start + at * record : start + where * record])
            parts.append(new[offset : offset + record])
            found = where < base._count and data[start + where * record :][:width] == key
            at = where + 1 if found else where
        parts.append(data[start + at * record :])
        return b"".join(parts)


def _records(entries: Mapping[str, str | None], width: int) -> bytes:
    """``entries`` as sorted records (raw source id, raw public id or zeros).

    A first map holds every trailer of the public history (47,152 on the 50,000-commit
    benchmark), so it is built with C loops: the ids are sorted as text (lowercase hex of one
    width sorts as the raw ids do), each column is converted by one ``bytes.fromhex``, and
    the two columns are interleaved as 4-byte words (both widths are multiples of 4). Ids of
    another width, capitals or blanks take the record-by-record way, which defines the result.
    """
    digits = 2 * width
    sources = sorted(entries)
    found = list(map(entries.__getitem__, sources))
    publics = [p or "0" * digits for p in found] if not all(found) else cast("list[str]", found)
    key_text, public_text = "".join(sources), "".join(publics)
    if (
        width % 4 == 0
        and set(map(len, sources)) <= {digits}
        and set(map(len, publics)) <= {digits}
        and _lowercase_hex(key_text)
        and _lowercase_hex(public_text)
    ):
        words = width // 4
        keys, values = array("I", bytes.fromhex(key_text)), array("I", bytes.fromhex(public_text))
        records = array("I", bytes(2 * len(keys) * 4))
        for word in range(words):
            records[word :: 2 * words] = keys[word::words]
            records[words + word :: 2 * words] = values[word::words]
        return records.tobytes()
    new = sorted(
        (bytes.fromhex(s), bytes.fromhex(p) if p else bytes(width)) for s, p in entries.items()
    )
    return b"".join(k + v for k, v in new)


def _lowercase_hex(text: str) -> bool:
    try:
        return bytes.fromhex(text).hex() == text
    except ValueError:
        return False


def load(path: Path) -> CommitMap | None:
    """The map stored at ``path``; None when it is missing, truncated or not a map."""
    try:
        data = path.read_bytes()
    except OSError:
        return None
    start = len(_MAGIC) + 1
    if not data.startswith(_MAGIC) or len(data) < start:
        return None
    width = data[len(_MAGIC)]
    if width not in (20, 32) or (len(data) - start) % (2 * width):
        return None
    # Content-addressed: a file whose bytes do not hash to its name was damaged.
    if not path.name.endswith(f"-{hashlib.sha256(data).hexdigest()[:16]}.map"):
        return None
    return CommitMap(data, width)


def save(directory: Path, stem: str, data: bytes) -> str:
    """Store ``data`` under a name derived from its content; return that name."""
    name = f"{stem}-{hashlib.sha256(data).hexdigest()[:16]}.map"
    path = directory / name
    if not path.exists():
        directory.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(data)
        tmp.replace(path)
    return name


def prune(directory: Path, stem: str, keep: str | None) -> None:
    """Remove the maps of ``stem`` other than ``keep`` (the cache file no longer names them)."""
    for path in directory.glob(f"{stem}-*.map"):
        if path.name != keep:
            path.unlink(missing_ok=True)
