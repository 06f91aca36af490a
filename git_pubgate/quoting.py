"""Text from a repository as people read it: paths quoted the way git quotes them, and no
control character left to drive the terminal.

A file name may hold a newline, a tab, escape sequences or bytes that are not UTF-8. Printed as
they are, they forge lines ("held back" entries that do not exist) or drive the terminal. Every
repository path that reaches human-readable output goes through ``quote_path``; ``--json``
keeps the real path, which JSON's own string escapes make safe. Commit subjects and names are
not paths, but they reach the terminal too: ``printable`` escapes their control characters,
and every line the command line prints goes through it.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

_ESCAPES = {
    0x07: "\\a",
    0x08: "\\b",
    0x09: "\\t",
    0x0A: "\\n",
    0x0B: "\\v",
    0x0C: "\\f",
    0x0D: "\\r",
    0x22: '\\"',
    0x5C: "\\\\",
}


class _QuotePath:
    """``core.quotePath`` for the whole run: git's default until a command names the
    repository it runs in, then what git's configuration there says, read the first time a
    path with non-ASCII bytes is printed (most runs never print one)."""

    def __init__(self) -> None:
        self.directory: Path | None = None
        self.value: bool | None = True

    def quotes_non_ascii(self) -> bool:
        if self.value is None:
            done = subprocess.run(
                ["git", "config", "--type=bool", "--get", "core.quotePath"],
                cwd=self.directory,
                capture_output=True,
                text=True,
                check=False,
            )
            self.value = done.stdout.strip() != "false"
        return self.value


_QUOTE_PATH = _QuotePath()


def read_setting_in(directory: Path | None) -> None:
    """Take ``core.quotePath`` from the git configuration seen in ``directory`` (None: git's
    default, true)."""
    _QUOTE_PATH.directory = directory
    _QUOTE_PATH.value = None if directory is not None else True


def _needs_quoting(byte: int) -> bool:
    return byte < 0x20 or byte >= 0x7F or byte in (0x22, 0x5C)


def quote_path(path: str | bytes, *, quote_non_ascii: bool | None = None) -> str:
    """``path`` as ``git ls-files`` prints it: unchanged when plain, else in double quotes with
    C escapes (``\\n``, ``\\t``, ``\\"``, ``\\\\``) and octal for other control and non-ASCII
    bytes. A ``str`` is taken as decoded with ``surrogateescape`` (its bytes come back exactly).

    ``quote_non_ascii`` is ``core.quotePath`` (None: as the repository says, see
    ``read_setting_in``). When false, UTF-8 characters are printed as they are, as git does;
    unlike git, bytes that are not UTF-8 and C1 control characters are still escaped, since
    they cannot be printed as text or would drive the terminal.
    """
    raw = path if isinstance(path, bytes) else path.encode("utf-8", "surrogateescape")
    if not any(_needs_quoting(b) for b in raw):
        return raw.decode("ascii")
    if quote_non_ascii is None:
        quote_non_ascii = not any(b >= 0x80 for b in raw) or _QUOTE_PATH.quotes_non_ascii()
    pieces: list[str] = []
    quoted = False
    for char in raw.decode("utf-8", "surrogateescape"):
        code = ord(char)
        if 0xDC80 <= code <= 0xDCFF:  # a byte that is not UTF-8
            pieces.append(f"\\{code - 0xDC00:03o}")
        elif code < 0x80 and code in _ESCAPES:
            pieces.append(_ESCAPES[code])
        elif code < 0x80 and not _needs_quoting(code):
            pieces.append(char)
            continue
        elif quote_non_ascii or code < 0xA0:  # controls: C0, DEL and C1
            pieces.append("".join(f"\\{b:03o}" for b in char.encode("utf-8")))
        else:
            pieces.append(char)
            continue
        quoted = True
    return f'"{"".join(pieces)}"' if quoted else "".join(pieces)


_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")


def printable(text: str) -> str:
    """``text`` with each control character but newline and tab escaped (``\\x1b``), and each
    byte a ``surrogateescape`` decoding kept as ``\\xff``: a commit subject or an author name
    holding an escape sequence shows it, instead of recolouring or rewriting the terminal."""
    return _CONTROL.sub(_escaped, text) if _CONTROL.search(text) else text


def _escaped(match: re.Match[str]) -> str:
    code = ord(match.group())
    if 0xDC80 <= code <= 0xDCFF:
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"
