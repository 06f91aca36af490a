"""Whose object a target refused: one from the source history, or one git-pubgate wrote.

A target that checks what it receives (``receive.fsckObjects``, as GitHub and most hosting
services do) names the object it refuses. The staging repository reads the source's objects
through ``objects/info/alternates`` and keeps only what sync wrote (and what it fetched from the
target, which the target already accepted) in its own object store, so where the object lives
says who made it: a source object is the source history's problem, a new one is our bug.
"""

from __future__ import annotations

import re
from pathlib import Path

_REFUSED = re.compile(r"\bobject ([0-9a-f]{40}(?:[0-9a-f]{24})?)\b")
_CHECKS = "the target checks every object it receives (receive.fsckObjects, as GitHub does)"


def refused_object_hint(git_dir: Path, said: str) -> str:
    """The hint for a push that the target refused in its object check; ``said`` is git's
    stderr, ``git_dir`` the repository pushed from."""
    found = _REFUSED.search(said)
    sources = _alternates(git_dir)
    if found is None or not sources:
        return (
            f"{_CHECKS} and refused an object; 'git fsck --strict' in the source names it if it "
            "comes from there (then repair that history); if not, git-pubgate wrote it: that is "
            "a bug, please report it"
        )
    oid = found.group(1)
    if any(_holds(objects, oid) for objects in sources):
        return (
            f"{_CHECKS} and refused {oid[:12]}, an object of the source history: "
            "'git fsck --strict' in the source names it; repair that history there"
        )
    return (
        f"{_CHECKS} and refused {oid[:12]}, an object git-pubgate wrote: that is a bug in "
        "git-pubgate, please report it with the error above"
    )


def _alternates(git_dir: Path) -> list[Path]:
    try:
        lines = (git_dir / "objects" / "info" / "alternates").read_text().splitlines()
    except OSError:
        return []
    return [Path(line) for line in lines if line and not line.startswith("#")]


def _holds(objects: Path, oid: str) -> bool:
    # Imported here: this module is loaded by every command, and libgit2's bindings cost
    # 0.06 s of start-up that --version and the pre-push hook need not pay.
    import pygit2  # noqa: PLC0415

    try:
        return oid in pygit2.Odb(str(objects))
    except (pygit2.GitError, ValueError):
        return False
