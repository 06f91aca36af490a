"""Paths as people read them: quoted the way git quotes them (``core.quotePath``, its default).

A file name may hold a newline, a tab, escape sequences or bytes that are not UTF-8. Printed as
they are, they forge lines ("held back" entries that do not exist) or drive the terminal. Every
repository path that reaches human-readable output goes through ``quote_path``; ``--json``
keeps the real path, which JSON's own string escapes make safe.
"""

from __future__ import annotations

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


def _needs_quoting(byte: int) -> bool:
    return byte < 0x20 or byte >= 0x7F or byte in (0x22, 0x5C)


def quote_path(path: str | bytes) -> str:
    """``path`` as ``git ls-files`` prints it: unchanged when plain, else in double quotes with
    C escapes (``\\n``, ``\\t``, ``\\"``, ``\\\\``) and octal for other control and non-ASCII
    bytes. A ``str`` is taken as decoded with ``surrogateescape`` (its bytes come back exactly).
    """
    raw = path if isinstance(path, bytes) else path.encode("utf-8", "surrogateescape")
    if not any(_needs_quoting(b) for b in raw):
        return raw.decode("ascii")
    out = ['"']
    for byte in raw:
        if byte in _ESCAPES:
            out.append(_ESCAPES[byte])
        elif _needs_quoting(byte):
            out.append(f"\\{byte:03o}")
        else:
            out.append(chr(byte))
    out.append('"')
    return "".join(out)
