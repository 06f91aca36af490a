"""A release's changelog section, in Keep a Changelog style, and where it goes in the file.

Pure. Writing the section for a version that the file already has replaces that section, so a
re-sync of the same commits never adds it twice.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from .versions import GROUPS, OTHER_GROUP, Change

MARKER = "<!-- pubgate: new releases go below this line -->"
NEW_FILE = """\
# Changelog

All notable changes to this project are documented in this file, in the style of
[Keep a Changelog](https://keepachangelog.com/en/1.1.0/).

"""
_HEADING = re.compile(r"^## (?:\[(?P<bracketed>[^\]]+)\]|(?P<bare>\S+))", re.M)
_ORDER = (*GROUPS.values(), OTHER_GROUP)


def section(version: str, date: str, changes: Sequence[Change]) -> str:
    """``## [1.2.0] - 2026-11-24`` and one list per group, newest commit first."""
    lines = [f"## [{version}] - {date}", ""]
    for group in _ORDER:
        items = [c for c in changes if c.group == group]
        if not items:
            continue
        lines += [f"### {group}", ""]
        for change in items:
            scope = f"**{change.scope}:** " if change.scope else ""
            lines.append(f"- {scope}{_one_line(change.subject)} ({change.commit[:7]})")
        lines.append("")
    if not changes:
        lines += ["No public changes.", ""]
    return "\n".join(lines).rstrip("\n") + "\n"


def _one_line(text: str) -> str:
    return " ".join(text.split())


def insert(existing: str | None, version: str, text: str) -> str:
    """``existing`` with the section ``text`` for ``version`` in its place.

    The place: where a section for the same version is (replaced), else below the marker line,
    else below an ``[Unreleased]`` section, else above the newest release, else at the end.
    """
    if not existing or not existing.strip():
        return NEW_FILE + text
    headings = list(_HEADING.finditer(existing))

    def name(match: re.Match[str]) -> str:
        return (match["bracketed"] or match["bare"]).strip()

    def end_of(index: int) -> int:
        return headings[index + 1].start() if index + 1 < len(headings) else len(existing)

    for i, heading in enumerate(headings):
        if name(heading) == version:
            return existing[: heading.start()] + text + _after(existing[end_of(i) :])
    marker = existing.find(MARKER)
    if marker >= 0:
        cut = existing.find("\n", marker)
        cut = len(existing) if cut < 0 else cut + 1
        return existing[:cut] + "\n" + text + _after(existing[cut:])
    for i, heading in enumerate(headings):
        if name(heading).lower() == "unreleased":
            cut = end_of(i)
            return _before(existing[:cut]) + text + _after(existing[cut:])
    if headings:
        cut = headings[0].start()
        return _before(existing[:cut]) + text + _after(existing[cut:])
    return _before(existing) + text


def _before(text: str) -> str:
    """Text that a section follows: ends with exactly one blank line."""
    return text.rstrip("\n") + "\n\n" if text.strip() else ""


def _after(text: str) -> str:
    """Text that follows a section, one blank line below it."""
    return "\n" + text.lstrip("\n") if text.strip() else ""
