"""Commit ids quoted in messages, rewritten to the ids of their public images.

"Revert 3f2a1c9", "Fix for d5cd4f8d", "(cherry picked from commit ...)": published as they are,
these name internal commits nobody outside can see. As git-filter-repo does by default
(``_translate_commit_hash``), every word of 7 to 40 lowercase hex digits that names a source
commit with a public image becomes that image's id, abbreviated to the same length.

What may be rewritten is decided by the quoting commit's own history, never by what else the
repository or the run holds, so the same source, rules and state give the same bytes whether a
commit is rewritten from scratch or incrementally:
- only ancestors of the quoting commit are candidates (a message cannot name a later commit,
  and a commit on another branch may not have been published, or may be published later);
- an abbreviation two ancestors share is ambiguous and stays as it is;
- an id of a commit that was pruned (it only touched excluded paths), or of one that is not an
  ancestor, stays as it is, as git-filter-repo leaves ids of commits it removed.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pygit2
from pygit2.enums import SortMode

# git-filter-repo's _hash_re: lowercase only, as git prints ids.
_QUOTED = re.compile(rb"\b[0-9a-f]{7,40}\b")
_SHORTEST = 7


class QuotedIds:
    """Rewrites quoted source ids in the messages of one run.

    Args:
        repo: reads the source commits.
        tip: the source commit the run publishes; every quoting commit is among its ancestors.
        published_before: the public commit that an earlier run published for a source commit
            (its trailer names it), or None.
    """

    def __init__(
        self,
        repo: pygit2.Repository,
        tip: str,
        published_before: Callable[[str], str | None],
    ):
        self._repo = repo
        self._tip = tip
        self._published_before = published_before
        self.published: dict[str, str] = {}  # source -> public, for commits this run wrote
        self._by_prefix: dict[str, list[str]] | None = None
        self._is_ancestor: Callable[[str, str], bool] = self._stored_is_ancestor

    def use_ancestry(self, is_ancestor: Callable[[str, str], bool]) -> None:
        """Answer ancestry with ``is_ancestor(maybe_ancestor, commit)``: the rewrite's graph of
        generation numbers, where libgit2's walk for each quoted id cost a real history
        (sympy, 242 quoted ids) 32 s."""
        self._is_ancestor = is_ancestor

    def _stored_is_ancestor(self, maybe_ancestor: str, commit: str) -> bool:
        return maybe_ancestor == commit or bool(self._repo.descendant_of(commit, maybe_ancestor))

    def rewrite(self, commit: str, message: bytes) -> bytes:
        """``message`` of source ``commit`` with every quoted id of a published ancestor
        replaced by the public id, abbreviated to the length it was quoted at."""
        if _QUOTED.search(message) is None:
            return message  # most messages quote nothing: no history is read for them
        return _QUOTED.sub(lambda found: self._translate(commit, found.group(0)), message)

    def _translate(self, commit: str, quoted: bytes) -> bytes:
        prefix = quoted.decode("ascii")
        candidates = [
            c
            for c in self._commits_by_prefix().get(prefix[:_SHORTEST], ())
            if c.startswith(prefix) and c != commit and self._is_ancestor(c, commit)
        ]
        if len(candidates) != 1:
            return quoted  # no such ancestor, or an ambiguous abbreviation
        public = self.published.get(candidates[0]) or self._published_before(candidates[0])
        if public is None:
            return quoted  # pruned: it has no public image of its own
        return public[: len(prefix)].encode("ascii")

    def _commits_by_prefix(self) -> dict[str, list[str]]:
        """Every commit in the tip's history by its first 7 hex digits (read once, when a
        message first quotes something that looks like an id)."""
        if self._by_prefix is None:
            self._by_prefix = {}
            for found in self._repo.walk(self._tip, SortMode.NONE):
                full = str(found.id)
                self._by_prefix.setdefault(full[:_SHORTEST], []).append(full)
        return self._by_prefix
