"""What sync wrote on top of the review branch, kept so the next run rewrites only what is new.

While a pull request is open the review branch does not name its commits, so without this
record every run would rewrite all of them (the first pull request holds the whole history).
Ids are deterministic, so reusing them gives what a run from scratch gives, as long as every
input of the rewrite is the same: the record's key fingerprints those inputs.

A run costs in proportion to what it adds, not to what the record holds: the source -> public
maps are sorted records looked up by binary search (``commit_map``), and the commit list is an
append-only file read only when something asks for its rows.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, overload

from . import commit_map
from .commit_map import CommitMap
from .report import PublicCommit

_FULL_ID = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")


@dataclass(frozen=True)
class PendingRecord:
    """The part of the sync cache that names the pending files (stored in its JSON).

    Attributes:
        key: fingerprint of the review tip, root parent, release overlay and rewrite settings.
        tip: the public commit of the newest source commit written; a staging ref keeps it and
            everything below it from being repacked away.
        created, pruned: how many commits were written, and how many pruned.
        rows_bytes: the length of the commit list that belongs to this record (a killed run may
            have appended more).
        rows, created_map, pruned_map, converged_map: file names in the cache directory
            (converged: absorbed commits that map onto existing public commits).
        seen: pattern -> a path the written commits hold that it matches, so a warning about
            patterns that match nothing covers the whole pull request, not only this run.
        identities: the authors and committers of the written commits, as published.
        findings: what the content rules and the tree guard found in the written commits'
            files (see ``Findings``), so the report and the pull request text describe the
            whole pull request, as a run from scratch does.
        root_parent: the review tip a first publication was rooted on (every written commit
            descends from it, and every commit between them was written), or None.
        exact: every written commit's trailers name exactly its own source and none was
            converged, so ``created_map`` is what the written commits' trailers say. False
            for a record stored before this was known.
    """

    key: str
    tip: str | None = None
    created: int = 0
    pruned: int = 0
    rows_bytes: int = 0
    rows: str | None = None
    created_map: str | None = None
    pruned_map: str | None = None
    converged_map: str | None = None
    seen: dict[str, str] = field(default_factory=dict)
    identities: list[str] = field(default_factory=list)
    findings: dict[str, list[Any]] = field(default_factory=dict)
    root_parent: str | None = None
    exact: bool = False

    @classmethod
    def from_dict(cls, data: Any) -> PendingRecord | None:
        if not isinstance(data, dict):
            return None
        try:
            record = cls(**data)
        except TypeError:
            return None
        names = (record.rows, record.created_map, record.pruned_map, record.converged_map)
        if any(name is not None and (not isinstance(name, str) or "/" in name) for name in names):
            return None
        if not isinstance(record.seen, dict) or not isinstance(record.identities, list):
            return None
        if not isinstance(record.findings, dict):
            return None
        if not isinstance(record.root_parent, str | None) or not isinstance(record.exact, bool):
            return None
        # Looked up in staging by id: an abbreviated or damaged one would make libgit2 raise.
        if any(
            c is not None and not _FULL_ID.fullmatch(c) for c in (record.tip, record.root_parent)
        ):
            return None
        return record


@dataclass(frozen=True)
class Findings:
    """What the content rules and the tree guard found in the files of written commits.

    Paths are the public layout's, as text (undecodable bytes kept by ``surrogateescape``).

    Attributes:
        held: files held back for their content (a secret, a config that cannot be scrubbed).
        sectioned: changed files that lost internal sections.
        leaving: symlinks that point out of the repository, as (path, target).
    """

    held: frozenset[str] = frozenset()
    sectioned: frozenset[str] = frozenset()
    leaving: frozenset[tuple[str, str]] = frozenset()

    @classmethod
    def of(cls, record: PendingRecord) -> Findings:
        data = record.findings
        try:
            return cls(
                frozenset(map(str, data.get("held", ()))),
                frozenset(map(str, data.get("sectioned", ()))),
                frozenset((str(p), str(t)) for p, t in data.get("leaving", ())),
            )
        except (TypeError, ValueError):
            return cls()

    def merged(self, other: Findings | None) -> Findings:
        if other is None:
            return self
        return Findings(
            self.held | other.held, self.sectioned | other.sectioned, self.leaving | other.leaving
        )

    def as_dict(self) -> dict[str, list[Any]]:
        return {
            "held": sorted(self.held),
            "sectioned": sorted(self.sectioned),
            "leaving": [list(pair) for pair in sorted(self.leaving)],
        }


class Pending:
    """The pending commits: lookups for the rewrite, and the commit list for the report."""

    def __init__(self, directory: Path, stem: str, record: PendingRecord):
        self._directory = directory
        self._stem = stem
        self.record = record
        self._created = _load(directory, record.created_map)
        self._pruned = _load(directory, record.pruned_map)
        self._converged = _load(directory, record.converged_map)

    @classmethod
    def empty(cls, directory: Path, stem: str, key: str, root_parent: str | None = None) -> Pending:
        """A record with nothing written yet (so every trailer written is known: exact)."""
        return cls(directory, stem, PendingRecord(key, root_parent=root_parent, exact=True))

    @classmethod
    def load(cls, directory: Path, stem: str, record: PendingRecord) -> Pending | None:
        """The record's files, or None when one is missing or damaged."""
        pending = cls(directory, stem, record)
        if record.created and pending._created is None:
            return None
        if record.pruned and pending._pruned is None:
            return None
        if record.converged_map and pending._converged is None:
            return None
        if record.created and not pending._rows_intact():
            return None
        return pending

    def _rows_path(self) -> Path:
        return self._directory / f"{self._stem}.pending-{self.record.key[:16]}.rows"

    def _rows_intact(self) -> bool:
        try:
            return self._rows_path().stat().st_size >= self.record.rows_bytes
        except OSError:
            return False

    def knows(self, source: str) -> bool:
        return self.image(source)[0]

    def image(self, source: str) -> tuple[bool, str | None]:
        """(known, public commit) for a source commit: a pruned one's stand-in may be None."""
        for found in (self._created, self._converged, self._pruned):
            public = self._get(found, source)
            if public is not None:
                return True, public or None
        return False, None

    def published(self, source: str) -> str | None:
        """The public commit written for ``source`` (not one it was pruned or converged onto)."""
        return self._get(self._created, source)

    def is_pruned(self, source: str) -> bool:
        return self._get(self._pruned, source) is not None

    @staticmethod
    def _get(found: CommitMap | None, source: str) -> str | None:
        return found.get(source) if found is not None else None

    def commits(self) -> PendingCommits:
        return PendingCommits(self._rows_path(), self.record.rows_bytes, self.record.created)

    def extend(
        self,
        tip: str | None,
        created: list[PublicCommit],
        pruned: list[tuple[str, str | None]],
        width: int,
        *,
        converged: Sequence[tuple[str, str]] = (),
        seen: dict[str, str] | None = None,
        identities: Iterable[str] = (),
        findings: Findings | None = None,
        trailers_exact: bool = False,
    ) -> Pending:
        """Store one more run's work on top of this record; return the new record's view.

        ``converged`` are absorbed commits that map onto existing public commits: known
        images, but no commits of the pull request. ``trailers_exact``: each commit this run
        wrote names exactly its own source in its trailers.
        """
        record = self.record
        rows_bytes = record.rows_bytes
        rows = record.rows
        if created:
            path = self._rows_path()
            rows = path.name
            self._directory.mkdir(parents=True, exist_ok=True)
            with path.open("ab") as out:
                out.truncate(rows_bytes)  # what a killed run appended belongs to no record
                out.seek(rows_bytes)
                out.write(b"".join(_row(c) for c in created))
                out.flush()
                os.fsync(out.fileno())
                rows_bytes = out.tell()
        created_map = record.created_map
        if created:
            images: dict[str, str | None] = {c.source: c.public for c in created}
            data = CommitMap.build(images, width, self._created)
            created_map = commit_map.save(self._directory, f"{self._stem}.created", data)
        converged_map = record.converged_map
        if converged:
            data = CommitMap.build(dict(converged), width, self._converged)
            converged_map = commit_map.save(self._directory, f"{self._stem}.converged", data)
        pruned_map = record.pruned_map
        if pruned:
            data = CommitMap.build(dict(pruned), width, self._pruned)
            pruned_map = commit_map.save(self._directory, f"{self._stem}.pruned", data)
        new = PendingRecord(
            record.key,
            tip,
            record.created + len(created),
            record.pruned + len(pruned),
            rows_bytes,
            rows,
            created_map,
            pruned_map,
            converged_map,
            {**record.seen, **(seen or {})},
            sorted(set(record.identities).union(identities)),
            Findings.of(record).merged(findings).as_dict(),
            record.root_parent,
            record.exact and trailers_exact and not converged and not record.converged_map,
        )
        return Pending(self._directory, self._stem, new)

    def tidy(self) -> None:
        """Remove pending files no longer named (other keys, older maps)."""
        commit_map.prune(self._directory, f"{self._stem}.created", self.record.created_map)
        commit_map.prune(self._directory, f"{self._stem}.pruned", self.record.pruned_map)
        commit_map.prune(self._directory, f"{self._stem}.converged", self.record.converged_map)
        for path in self._directory.glob(f"{self._stem}.pending-*.rows"):
            if path.name != self.record.rows:
                path.unlink(missing_ok=True)


class PendingCommits(Sequence[PublicCommit]):
    """The pending commits in the order they were written, read from disk on first use."""

    def __init__(self, path: Path, length: int, count: int):
        self._path = path
        self._length = length
        self._count = count
        self._lines: list[bytes] | None = None

    def __len__(self) -> int:
        return self._count

    def _rows(self) -> list[bytes]:
        if self._lines is None:
            self._lines = []
            if self._length:
                with self._path.open("rb") as source:
                    self._lines = source.read(self._length).splitlines()
        return self._lines

    @overload
    def __getitem__(self, index: int) -> PublicCommit: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[PublicCommit]: ...

    def __getitem__(self, index: int | slice) -> PublicCommit | Sequence[PublicCommit]:
        if isinstance(index, slice):
            return [_parse(line) for line in self._rows()[index]]
        return _parse(self._rows()[index])

    def __iter__(self) -> Iterator[PublicCommit]:
        return (_parse(line) for line in self._rows())


class Commits(Sequence[PublicCommit]):
    """The pending commits followed by this run's, without reading the pending ones."""

    def __init__(self, before: Sequence[PublicCommit], new: list[PublicCommit]):
        self._before = before
        self._new = new

    def __len__(self) -> int:
        return len(self._before) + len(self._new)

    @overload
    def __getitem__(self, index: int) -> PublicCommit: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[PublicCommit]: ...

    def __getitem__(self, index: int | slice) -> PublicCommit | Sequence[PublicCommit]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        before = len(self._before)
        return self._before[index] if index < before else self._new[index - before]

    def __iter__(self) -> Iterator[PublicCommit]:
        yield from self._before
        yield from self._new


def _load(directory: Path, name: str | None) -> CommitMap | None:
    return commit_map.load(directory / name) if name else None


def _row(commit: PublicCommit) -> bytes:
    fields = [commit.source, commit.public, commit.subject, commit.author]
    return json.dumps(fields, ensure_ascii=True).encode() + b"\n"


def _parse(line: bytes) -> PublicCommit:
    source, public, subject, author = json.loads(line)
    return PublicCommit(source, public, subject, author)
