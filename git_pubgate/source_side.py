"""The leak review's branches on the source's side: in its remote, or in the repository itself.

When ``source_repo`` is a URL, the stage branch is pushed there and the approved branch read
from there (fetched into staging, so the source's refs stay untouched). When the source is the
repository sync runs in, or a local path, both branches are that repository's own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pygit2

from .config import Config
from .errors import PubgateError
from .gitio import Remote
from .source_remote import hand_to_source, source_remote
from .workspace import Source

SOURCE_NS = "refs/pubgate/leak-review/"  # staging's copies of the source's review branches
_HANDED = "refs/pubgate/leak-review-handed"  # what staging hands to a local source


@dataclass(frozen=True)
class SourceSide:
    """Where the stage branch is written and the approved branch read."""

    source: Source
    staging: pygit2.Repository
    remote: Remote | None  # None: the source repository itself

    @classmethod
    def of(cls, config: Config, source: Source, staging: pygit2.Repository) -> SourceSide:
        return cls(source, staging, source_remote(config, staging))

    @property
    def display(self) -> str:
        """The source's remote (never with credentials), or the source repository's path."""
        if self.remote is not None:
            return self.remote.display
        return str(self.source.git_dir)

    def tips(self, branches: Sequence[str]) -> dict[str, str]:
        """The tips of those ``branches`` that exist, every commit of them readable in staging."""
        if self.remote is None:
            found = {}
            for branch in branches:
                ref = self.source.repo.references.get(f"refs/heads/{branch}")
                if ref is not None:
                    found[branch] = str(ref.peel(pygit2.Commit).id)
            return found  # staging borrows the source's objects
        heads = self.remote.heads(list(branches))
        missing = []
        for branch, tip in heads.items():
            if tip in self.staging:
                self.staging.references.create(f"{SOURCE_NS}{branch}", tip, force=True)
            else:
                missing.append(f"+refs/heads/{branch}:{SOURCE_NS}{branch}")
        if missing:
            self.remote.fetch(missing)
        return heads

    def write(self, branch: str, commit: str, expected: str | None) -> None:
        """Point ``branch`` at ``commit``, only if it still is at ``expected`` (None: absent)."""
        if self.remote is not None:
            self.remote.push(commit, branch, expected)
            return
        self._hand_over(branch, commit, expected)

    def approve_command(self, branch: str, commit: str) -> str:
        """The one git command that approves ``commit``: ``branch`` fast-forwarded to it (or
        created at it). A push only fast-forwards, so it never drops an earlier approval."""
        if self.remote is not None:
            return f"git push {self.remote.display} {commit}:refs/heads/{branch}"
        return f"git -C {self.source.git_dir} push . {commit}:refs/heads/{branch}"

    def _hand_over(self, branch: str, commit: str, expected: str | None) -> None:
        """Write ``branch`` in the source repository, fetched from staging with its objects.

        git moves the ref only once every object is stored, so a killed run leaves the branch
        where it was; the lease makes a branch someone moved meanwhile an error, not a loss.
        """
        current = self.source.repo.references.get(f"refs/heads/{branch}")
        now = str(current.peel(pygit2.Commit).id) if current is not None else None
        if now == commit:
            return
        if now != expected:
            raise PubgateError(
                f"refusing to move {branch} in the source repository, since it moved while "
                "sync ran",
                "rerun git pubgate sync",
            )
        self.staging.references.create(_HANDED, commit, force=True)
        hand_to_source(self.source, self.staging, _HANDED, branch)
