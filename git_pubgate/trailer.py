"""The ``Pubgate-Source`` trailer: written into each public commit, read back as sync state.

Pure. The trailer travels in the message, so it survives every way a pull request can be merged
(fast-forward, merge commit, rebase, squash: GitHub's squash message quotes each commit's).
"""

from __future__ import annotations

import functools
import re

_TRAILER_LINE = re.compile(rb"^[A-Za-z0-9][A-Za-z0-9-]*: ")
# The trailer a release commit carries: the version it released (publish reads it back).
RELEASE_TRAILER = "Pubgate-Release"
# The trailer an internal commit carries when absorb brought it from public commit <id>.
ABSORBED_TRAILER = "Pubgate-Absorbed"


def _ends_with_trailer_block(message: bytes) -> bool:
    last = message.rsplit(b"\n\n", 1)[-1]
    lines = last.split(b"\n")
    # A message of one paragraph is a subject, never a trailer block (git reads it the same way).
    if b"\n\n" not in message:
        return False
    return all(_TRAILER_LINE.match(line) or line[:1] in (b" ", b"\t") for line in lines)


def add_trailer(message: bytes, name: str, value: str) -> bytes:
    """Append ``name: value`` as git interpret-trailers would; the bytes before it stay."""
    line = name.encode("ascii") + b": " + value.encode("ascii") + b"\n"
    body = message.rstrip(b"\n")
    if not body:
        return line
    separator = b"\n" if _ends_with_trailer_block(body) else b"\n\n"
    return body + separator + line


def values(message: bytes, name: str) -> list[str]:
    """Every value of the message's ``name:`` trailers, in order of appearance.

    All occurrences count, not just the last paragraph's: a squash merge concatenates the
    messages of every commit it squashed (and may bullet them with ``*`` or ``-``).
    """
    key = name.encode("ascii")
    if key not in message:
        return []  # most messages: reading a public history's state costs one search each
    return [m.group(1).decode("ascii", "replace") for m in _pattern(key).finditer(message)]


@functools.lru_cache(maxsize=16)
def _pattern(name: bytes) -> re.Pattern[bytes]:
    return re.compile(rb"^[ \t*-]*" + re.escape(name) + rb": (\S+)[ \t]*$", re.M)


def source_ids(message: bytes, name: str) -> list[str]:
    """Every source commit id the message's ``name:`` trailers name, in order of appearance."""
    key = name.encode("ascii")
    if key not in message:
        return []
    return [found.decode("ascii") for found in id_pattern(key).findall(message)]


@functools.lru_cache(maxsize=16)
def id_pattern(name: bytes) -> re.Pattern[bytes]:
    """The ``name:`` trailer lines whose value is an object id; group 1 is the id.

    The same lines as ``values`` followed by a check of each value: ``\\S+`` always takes the
    whole run of non-blanks, so requiring that run to be 40-64 hex digits in the pattern
    itself keeps exactly the values that check would keep, with no Python per value. Reading
    a public history's state is one ``findall`` per commit.
    """
    return re.compile(rb"^[ \t*-]*" + re.escape(name) + rb": ([0-9a-f]{40,64})[ \t]*$", re.M)
