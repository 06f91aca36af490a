"""git's rules for reference names (``git check-ref-format``), without loading libgit2.

The configuration is validated on every run, the pre-push hook's included, whose start-up is
paid on every push: importing pygit2 only for this check cost it a third of its time.
"""

from __future__ import annotations

# Bytes git refuses anywhere in a name (refs.c refname_disposition): controls, space and
# the characters revision syntax uses.
_FORBIDDEN = frozenset(" ~^:?*[\\\x7f") | frozenset(chr(c) for c in range(0x20))


def is_valid_ref(name: str) -> bool:
    """Whether ``name`` (a full name such as ``refs/heads/x``) is a valid reference name."""
    if not name or name == "@" or name.endswith(".") or "@{" in name or ".." in name:
        return False
    if any(c in _FORBIDDEN for c in name):
        return False
    return all(
        part and not part.startswith(".") and not part.endswith(".lock") for part in name.split("/")
    )
