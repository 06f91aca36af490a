"""Counted nouns in output: "1 path", "2 paths", never "1 paths"."""

from __future__ import annotations


def count(number: int, singular: str, plural: str | None = None) -> str:
    """``number`` and the noun that agrees with it (``plural`` defaults to ``singular + 's'``)."""
    return f"{number} {singular if number == 1 else plural or singular + 's'}"
