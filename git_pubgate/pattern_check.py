"""Warn about ``exclude``/``include`` patterns that match nothing: a typo (``intenral/``), a file
system path (``/home/me/repo/secrets``) or ``.git/`` hides nothing, and publishes what it meant
to hide.

"Matches nothing" means: no path of the source tip's tree, and no path the commits this run
rewrites add or change. A first sync rewrites the whole history, so there it means the whole
history of the source branch; an incremental run looks at the tip and at what is new, never at
all of history again. A ``!pattern`` is checked without its ``!``.

The paths come from the tree filter, which looked at them anyway, from the paths earlier runs
saw each pattern match (still in the tip?), and from one ``git ls-tree`` of the tip, run only
while some pattern is still unmatched.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import pathspec
import pygit2


def _body(pattern: str) -> str:
    text = pattern.strip()
    return text[1:] if text.startswith("!") else text


def _line_regex(pattern: str) -> re.Pattern[str] | None:
    """The pattern's regex, for searching many paths joined by newlines at once."""
    compiled = pathspec.GitIgnoreSpec.from_lines([_body(pattern)]).patterns
    if not compiled or compiled[0].regex is None:
        return None
    # A negated class like [^/] must not run across the newline between two paths.
    source = compiled[0].regex.pattern.replace("[^", "[^\n")
    return re.compile(source, re.MULTILINE)


class PatternCheck:
    """Patterns not matched yet, and the paths that can still match them.

    A path that matched a pattern is remembered (``witnesses``); the next run checks that the
    path is still in the tip, a few tree reads, before listing the whole tip. It only saves time:
    the verdict is the same with or without the memory.
    """

    def __init__(self, exclude: Sequence[str], include: Sequence[str] | None):
        self._pending: dict[tuple[str, str], re.Pattern[str] | None] = {}
        for kind, patterns in (("exclude", exclude), ("include", include or ())):
            for pattern in patterns:
                if pattern.strip() and not pattern.lstrip().startswith("#"):
                    self._pending[(kind, pattern)] = _line_regex(pattern)
        self.witnesses: dict[str, str] = {}  # pattern -> a path it matched

    def see(self, paths: Iterable[str]) -> None:
        """Mark the patterns that any of ``paths`` (``dir/`` for directories) matches."""
        if not self._pending:
            return
        plain: list[str] = []
        odd: list[str] = []
        for path in paths:
            (odd if "\n" in path else plain).append(path)
        text = "\n".join(plain)
        for key, regex in list(self._pending.items()):
            found = regex.search(text) if regex is not None else None
            if found is not None:
                start = text.rfind("\n", 0, found.start()) + 1
                end = text.find("\n", found.start())
                self.witnesses[key[1]] = text[start : end if end >= 0 else len(text)]
                del self._pending[key]
            elif odd and pathspec.GitIgnoreSpec.from_lines([_body(key[1])]).match_files(odd):
                del self._pending[key]

    def see_witnesses(self, repo: pygit2.Repository, commit: str, known: Mapping[str, str]) -> None:
        """Mark the patterns whose remembered path (``known``) is in ``commit``'s tree."""
        tree = repo[commit].peel(pygit2.Tree)
        for key in list(self._pending):
            path = known.get(key[1])
            if path is None:
                continue
            try:
                tree[path.rstrip("/")]
            except (KeyError, UnicodeError, ValueError):
                continue
            self.see([path])

    def see_tree(self, git_dir: Path, commit: str) -> None:
        """Mark the patterns a path of ``commit``'s tree matches (one ``git ls-tree``)."""
        if not self._pending:
            return
        listing = subprocess.run(
            ["git", "--git-dir", str(git_dir), "ls-tree", "-r", "-z", "--name-only", commit],
            capture_output=True,
            check=True,
        ).stdout
        self.see(p.decode("utf-8", "surrogateescape") for p in listing.split(b"\0") if p)

    def warnings(self) -> list[str]:
        out = []
        for kind, pattern in self._pending:
            why = ""
            body = _body(pattern).strip("/")
            if body == ".git" or body.startswith(".git/"):
                why = " (git never stores .git in a commit)"
            elif pattern.startswith("/") and body.count("/") >= 2:
                why = " (a leading / means the repository root, not the file system's)"
            out.append(
                f"{kind} pattern {pattern!r} matches no path in the source tip or in the "
                f"commits this run rewrites{why}: a typo there publishes what it meant to hide"
            )
        return out


def load_witnesses(path: Path) -> dict[str, str]:
    """The paths earlier runs saw patterns match (empty when missing or unreadable)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {k: v for k, v in data.items() if isinstance(k, str) and isinstance(v, str)}


def save_witnesses(path: Path, witnesses: Mapping[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(dict(witnesses), sort_keys=True), encoding="utf-8")
    tmp.replace(path)  # atomic: a reader sees the old file or the new one
