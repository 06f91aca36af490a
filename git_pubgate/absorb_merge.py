"""Bring a public edit into an internal file whose published form differs (internal sections).

A three-way merge, as the issue and josh's ``unapply`` prescribe: base = the file as published
at the contribution's parent, ours = the internal file, theirs = the contribution's file. The
result must publish back to exactly the contribution's file; anything else stops absorb and
leaves the file, with git's conflict markers, for a person to resolve (``--continue``).
"""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

import pygit2

from .absorb_state import AbsorbState
from .errors import PubgateError
from .procs import tied

CONFLICT_PREFIXES = (b"<<<<<<< ", b"=======", b">>>>>>> ", b"||||||| ")

# (internal path, blob) -> the blob it publishes as (None: held back).
Publish = Callable[[bytes, bytes], bytes | None]


class ConflictError(Exception):
    """The merge of ``path`` needs a person: ``merged`` holds git's conflict markers."""

    def __init__(
        self, path: bytes, merged: bytes, why: str, *, ours: bytes, base: bytes, theirs: bytes
    ):
        super().__init__(why)
        self.path, self.ours, self.base, self.theirs = path, ours, base, theirs
        self.merged = merged
        self.why = why


def has_conflict_markers(data: bytes) -> list[int]:
    """1-based numbers of the lines that are git conflict markers."""
    return [
        number
        for number, line in enumerate(data.splitlines(), 1)
        if line.startswith(CONFLICT_PREFIXES) or line == b"======="
    ]


class SectionMerge:
    """The ``merge`` hook of ``TreeReplay`` for one absorb run.

    Args:
        repo: reads the three blobs and stores the result (loose, readable at once).
        publish: the forward content transform of the filter (sections, replacements).
        state: resolutions a person gave earlier (``--continue``), used before merging.
    """

    def __init__(self, repo: pygit2.Repository, publish: Publish, state: AbsorbState):
        self._odb = repo.odb
        self._publish = publish
        self._state = state
        self.public = ""  # the public commit being replayed; set by the caller

    def _read(self, blob: bytes) -> bytes:
        return bytes(self._odb.read(pygit2.Oid(raw=blob))[1])

    def _write(self, data: bytes) -> bytes:
        return bytes(self._odb.write(pygit2.enums.ObjectType.BLOB, data).raw)

    def __call__(self, path: bytes, ours: bytes, base: bytes, theirs: bytes) -> bytes:
        text = path.decode("utf-8", "surrogateescape")
        resolved = self._state.resolutions.get(AbsorbState.key(self.public, text))
        if resolved is not None:
            return bytes.fromhex(resolved)
        merged, conflicts = merge_file(self._read(ours), self._read(base), self._read(theirs))
        blobs = {"ours": ours, "base": base, "theirs": theirs}
        if conflicts:
            raise ConflictError(path, merged, "conflicts with internal content", **blobs)
        blob = self._write(merged)
        if self._publish(path, blob) != theirs:
            raise ConflictError(
                path, merged, "merges cleanly but does not publish back to it", **blobs
            )
        return blob


def merge_file(ours: bytes, base: bytes, theirs: bytes) -> tuple[bytes, int]:
    """``git merge-file -p``: the merged bytes and the number of conflicts."""
    with tempfile.TemporaryDirectory(prefix="pubgate-absorb-") as tmp:
        names = []
        for name, data in (("internal", ours), ("published", base), ("public", theirs)):
            (Path(tmp) / name).write_bytes(data)
            names.append(str(Path(tmp) / name))
        done = subprocess.run(
            [
                "git",
                "merge-file",
                "-p",
                "-L",
                "internal",
                "-L",
                "published",
                "-L",
                "public",
                *names,
            ],
            capture_output=True,
            check=False,
            stdin=subprocess.DEVNULL,
            preexec_fn=tied(),
        )
    if done.returncode < 0 or done.returncode > 127:
        raise PubgateError(
            f"git merge-file failed: {done.stderr.decode('utf-8', 'replace').strip()}",
            "check that git is installed",
        )
    return done.stdout, done.returncode
