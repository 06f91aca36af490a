"""What a sync holds back: the excluded paths whose content the new commits change.

Computed from two source trees only, the last synced source commit's and the source tip's, so
the answer depends on nothing a run leaves behind (cache, staging, the order of plan and sync):
an excluded path is listed when it exists in the tip and differs from (or is absent in) the last
synced commit; on a first publication, every excluded path of the tip. A path the new commits
add and delete again, or delete, is not listed: nothing of it is held back from the result.
Paths are named at the level where the rules cut, so an excluded directory appears once as
``internal/`` and never with the names inside it (the list goes into a public pull request).
"""

from __future__ import annotations

import pygit2

from .rules import Rules


def held_back(
    repo: pygit2.Repository, rules: Rules, last_source: str | None, tip: str
) -> list[str]:
    """The excluded paths of ``tip`` that differ from ``last_source``, at the level they are cut.

    libgit2 compares the two trees and skips every subtree whose id did not change, so an
    incremental run pays for what changed, not for the size of the tree.
    """
    if rules.is_empty:
        return []
    new = repo[tip].peel(pygit2.Commit).tree
    if last_source is None:
        diff = new.diff_to_tree(swap=True)  # from the empty tree
    else:
        old = repo[last_source].peel(pygit2.Commit).tree
        if old.id == new.id:
            return []
        diff = old.diff_to_tree(new)
    cut = _Cutter(rules)
    found: set[bytes] = set()
    for delta in diff.deltas:
        if delta.status == pygit2.enums.DeltaStatus.DELETED:
            continue
        level = cut.level(delta.new_file.raw_path)
        if level is not None:
            found.add(level)
    return sorted(p.decode("utf-8", "surrogateescape") for p in found)


class _Cutter:
    """Where the rules cut a path: its first excluded directory (``dir/``), or the file itself."""

    def __init__(self, rules: Rules):
        self._rules = rules
        self._dirs: dict[bytes, tuple[bytes | None, bool]] = {}

    def _dir(self, path: bytes) -> tuple[bytes | None, bool]:
        """(the cut directory at or above ``path``, or None; whether include matched above).

        A loop down the path, never recursion: paths can be thousands of levels deep.
        """
        known = self._dirs.get(path)
        if known is not None:
            return known
        parts = path.split(b"/")
        cut: bytes | None = None
        included = self._rules.include is None
        for depth in range(1, len(parts) + 1):
            prefix = b"/".join(parts[:depth])
            known = self._dirs.get(prefix)
            if known is None:
                if cut is None:
                    if not self._rules.keeps_dir(prefix, included):
                        cut = prefix + b"/"
                    else:
                        included = self._rules.dir_state(prefix, included).included
                known = self._dirs[prefix] = (cut, included)
            cut, included = known
        return cut, included

    def level(self, path: bytes) -> bytes | None:
        parent, _, _ = path.rpartition(b"/")
        cut, included = self._dir(parent) if parent else (None, self._rules.include is None)
        if cut is not None:
            return cut
        return None if self._rules.keeps_file(path, included) else path
