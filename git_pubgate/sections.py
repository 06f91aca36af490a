"""Internal sections inside files: ``BEGIN-INTERNAL`` ... ``END-INTERNAL`` blocks come out.

Pure: bytes in, bytes out. A marker is a line holding only a comment opener, the marker word
and an optional closer (``# BEGIN-INTERNAL``, ``<!-- END-INTERNAL -->``, ``REM BEGIN-INTERNAL``).
Inside an internal block, ``BEGIN-PUBLIC`` ... ``END-PUBLIC`` lines are published with one
level of comment marker removed, so a public build can keep a stub where internal code was.

Strict by design: a nested, unclosed or orphan marker, or a marker word left anywhere in the
output, is an error naming the line, because a half-understood block is exactly how internal
text leaks. Line endings, including a missing final newline, survive.

For putting sections back (bringing a public edit into the internal file), ``public_text`` is the
projection: a three-way merge with base ``public_text(old)``, one side ``old`` and the other the
public edit gives the internal file with the public change applied; ``blocks`` gives the
source line ranges of each block for finer work.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# git's own rule (buffer_is_binary): a NUL in the first 8000 bytes.
BINARY_PROBE = 8000
WORDS = (b"BEGIN-INTERNAL", b"END-INTERNAL", b"BEGIN-PUBLIC", b"END-PUBLIC")
_WORD = re.compile(rb"(?:BEGIN|END)-(?:INTERNAL|PUBLIC)")
# Comment openers, each with the closers it may take (none: to the end of the line).
_OPENER = rb"(?:#+|//+|--+|;+|%+|<!--|/\*+|\{#|(?i:rem)(?=[ \t]))"
_CLOSER = rb"(?:-->|\*+/|#\})?"
_MARKER = re.compile(
    rb"^[ \t]*(?P<opener>" + _OPENER + rb")[ \t]*(?P<word>(?:BEGIN|END)-(?:INTERNAL|PUBLIC))"
    rb"[ \t]*" + _CLOSER + rb"[ \t]*(?:\r?\n|\r)?\Z"
)
_UNCOMMENT = re.compile(
    rb"^(?P<indent>[ \t]*)(?P<opener>" + _OPENER + rb") ?(?P<body>.*?)[ \t]*(?:-->|\*+/|#\})?"
    rb"(?P<eol>\r?\n|\r)?\Z",
    re.DOTALL,
)


class SectionError(Exception):
    """A file whose sections cannot be published safely; ``line`` is 1-based."""

    def __init__(self, line: int, problem: str):
        super().__init__(f"line {line}: {problem}")
        self.line = line
        self.problem = problem


@dataclass(frozen=True)
class Block:
    """A run of source lines: ``kind`` is ``common`` (published as is), ``internal`` (a whole
    BEGIN/END-INTERNAL block, markers included) or ``public`` (the lines of a BEGIN-PUBLIC stub,
    markers excluded, published uncommented). ``start``/``end`` are 0-based, end exclusive."""

    kind: str
    start: int
    end: int


def is_binary(data: bytes) -> bool:
    return b"\0" in data[:BINARY_PROBE]


def may_have_markers(data: bytes) -> bool:
    """A fast test (one C-level search per word) that lets almost every file skip parsing."""
    return b"-INTERNAL" in data or b"-PUBLIC" in data


def split_lines(data: bytes) -> list[bytes]:
    """Lines with their endings (``\\n``, ``\\r\\n`` or a lone ``\\r``), as git shows them."""
    return data.splitlines(keepends=True)


def blocks(lines: list[bytes]) -> list[Block]:
    """The block structure of a file's lines; raises ``SectionError`` on a malformed marker."""
    out: list[Block] = []
    common_start = 0
    internal_start: int | None = None
    public_start: int | None = None
    for number, line in enumerate(lines):
        if not _WORD.search(line):
            continue
        match = _MARKER.match(line)
        if match is None:
            raise SectionError(number + 1, "a marker word outside a marker line")
        word = match.group("word")
        if word == b"BEGIN-INTERNAL":
            if internal_start is not None:
                raise SectionError(
                    number + 1, f"BEGIN-INTERNAL nested in the block of line {internal_start + 1}"
                )
            if number > common_start:
                out.append(Block("common", common_start, number))
            internal_start = number
        elif word == b"END-INTERNAL":
            if internal_start is None:
                raise SectionError(number + 1, "END-INTERNAL without BEGIN-INTERNAL")
            if public_start is not None:
                raise SectionError(
                    number + 1, f"END-INTERNAL inside the BEGIN-PUBLIC of line {public_start}"
                )
            out.append(Block("internal", internal_start, number + 1))
            internal_start = None
            common_start = number + 1
        elif word == b"BEGIN-PUBLIC":
            if internal_start is None:
                raise SectionError(number + 1, "BEGIN-PUBLIC outside an internal block")
            if public_start is not None:
                raise SectionError(
                    number + 1, f"BEGIN-PUBLIC nested in the one of line {public_start}"
                )
            public_start = number + 1  # the first stub line
        else:  # END-PUBLIC
            if public_start is None:
                raise SectionError(number + 1, "END-PUBLIC without BEGIN-PUBLIC")
            out.append(Block("public", public_start, number))
            public_start = None
    if internal_start is not None:
        raise SectionError(internal_start + 1, "BEGIN-INTERNAL is never closed")
    if len(lines) > common_start:
        out.append(Block("common", common_start, len(lines)))
    return out


def uncomment(line: bytes) -> bytes:
    """A stub line with one level of comment marker (and one space after it) removed."""
    match = _UNCOMMENT.match(line)
    if match is None:
        return line
    return match.group("indent") + match.group("body") + (match.group("eol") or b"")


@dataclass(frozen=True)
class Published:
    """A file's public text and how many internal blocks it lost."""

    data: bytes
    sections: int


def public_text(data: bytes) -> Published:
    """The public version of a text file (raises ``SectionError``)."""
    if not may_have_markers(data):
        return Published(data, 0)
    lines = split_lines(data)
    parts: list[bytes] = []
    count = 0
    for block in blocks(lines):
        if block.kind == "common":
            parts.extend(lines[block.start : block.end])
        elif block.kind == "public":
            parts.extend(uncomment(line) for line in lines[block.start : block.end])
        else:
            count += 1
    out = b"".join(parts)
    if out and not data.endswith((b"\n", b"\r")):
        # The source had no final newline; neither does its public version.
        out = out.removesuffix(b"\n").removesuffix(b"\r")
    for number, line in enumerate(split_lines(out), 1):
        if _WORD.search(line):
            raise SectionError(number, "a marker word is left in the published text")
    return Published(out, count)


def check_binary(data: bytes) -> None:
    """Binary files are never edited, so a marker in one is an error."""
    found = _WORD.search(data)
    if found is not None:
        line = data.count(b"\n", 0, found.start()) + 1
        raise SectionError(line, "a marker in a binary file, which is never edited")
