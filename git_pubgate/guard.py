"""Tree entries that must not go out, whatever the rules say: checked on what a commit adds.

Git refuses some names outright: ``.`` and ``..``, ``.git`` in any spelling a case-insensitive,
HFS+ or NTFS file system reads as ``.git`` (``.GIT``, ``.git.``, ``git~1``, ``.g\u200cit``), an
empty name or one holding ``/``, and a ``.gitmodules`` that is a symlink (``verify_path`` in
read-cache.c, ``fsck_tree`` in fsck.c). A clone of a public repository holding them fails or,
on an old git, writes into the cloner's ``.git``. A symlink that points into an excluded path
names an internal path and dangles publicly. Both stop a sync, naming commit and path. A
symlink that leaves the repository (``/etc/passwd``, ``../../x``) is legal but worth a
reviewer's look: it is recorded for ``plan`` and the pull request.

Only what a commit changes is looked at: each directory is compared with the last one looked at
in the same place (at first, the first parent's), subtrees with the same id are skipped, so a
commit costs what it changed and an incremental run only its new commits. A tree that never
leaves through sync (already public, or pushed by hand) is audit's to check.
"""

from __future__ import annotations

import functools
import posixpath
import unicodedata
from dataclasses import dataclass

import pygit2

from .errors import PubgateError
from .objects import EMPTY_TREE, TreeEntry, parse_tree, shared_entries
from .rules import Rules

SYMLINK = b"120000"
# Code points HFS+ ignores when it compares names (git's utf8.c, next_hfs_char).
_HFS_IGNORED = dict.fromkeys(
    [*range(0x200C, 0x2010), *range(0x202A, 0x202F), *range(0x206A, 0x2070), 0xFEFF]
)


def _ntfs_alias(name: bytes, word: bytes, short: bytes) -> bool:
    """Whether NTFS reads ``name`` as ``word``: case aside, trailing spaces and dots, an
    alternate data stream (``:``) or a backslash ending it, or its 8.3 short name."""
    lowered = name.lower()
    for stem in (word, short):
        if lowered.startswith(stem):
            rest = lowered[len(stem) :]
            cut = min((i for i in (rest.find(b":"), rest.find(b"\\")) if i >= 0), default=None)
            if not rest[:cut].strip(b". "):
                return True
    return False


def _hfs_alias(name: bytes, word: str) -> bool:
    """Whether HFS+ reads ``name`` as ``word``: case and ignorable code points aside."""
    try:
        text = name.decode("utf-8")
    except UnicodeDecodeError:
        return False
    folded = unicodedata.normalize("NFC", text.translate(_HFS_IGNORED)).casefold()
    return folded == word


@functools.lru_cache(maxsize=8192)  # the same few directory names come back on every path
def forbidden(name: bytes, mode: bytes) -> str | None:
    """Why git refuses a tree entry with this name and mode, or None when it takes it."""
    if not name:
        return "an empty name"
    if b"/" in name or b"\0" in name:
        return "a name holding '/' or NUL"
    if name in (b".", b".."):
        return f"the name {name.decode()!r}"
    if _hfs_alias(name, ".git") or _ntfs_alias(name, b".git", b"git~1"):
        return "a name that file systems read as '.git'"
    if mode == SYMLINK and (
        _hfs_alias(name, ".gitmodules") or _ntfs_alias(name, b".gitmodules", b"gitmod~1")
    ):
        return "'.gitmodules' as a symlink"
    return None


def _shown(path: bytes) -> str:
    return path.decode("utf-8", "backslashreplace")


@dataclass(slots=True)
class _Last:
    """The last tree looked at in one place: its bytes and the offset of every entry."""

    oid: bytes
    data: bytes
    starts: list[int]  # start of every entry, then len(data)


class TreeGuard:
    """Checks the public entries each new commit adds; collects symlinks leaving the repo.

    Like the tree filter, it remembers the last tree it looked at in each place and compares
    the next one with it byte for byte: only the entries in between the shared start and end
    are parsed, and only the changed ones looked at.
    """

    def __init__(self, repo: pygit2.Repository, rules: Rules):
        self._odb = repo.odb
        self._rules = rules
        self._last: dict[bytes, _Last] = {}
        self._public_files: dict[bytes, bool] = {}
        self._kept_dirs: dict[bytes, bool] = {}
        self._targets: dict[bytes, bytes] = {}  # symlink blob id -> its target
        # Symlinks that point out of the repository: path -> target, for plan and the PR.
        self.leaving: dict[bytes, bytes] = {}

    def check(self, commit: str, tree: bytes, parent_tree: bytes | None) -> None:
        """Refuse ``commit`` if an entry its ``tree`` adds must not go out.

        Added means: not in the last tree looked at in the same place, or, the first time a
        place is looked at, not in ``parent_tree`` there (what the parent commit published).
        """
        # (tree, the parent's tree in that place, path prefix, a refused directory above)
        stack: list[tuple[bytes, bytes | None, bytes, tuple[bytes, str] | None]] = [
            (tree, parent_tree, b"", None)
        ]
        while stack:
            new, old, prefix, refused = stack.pop()
            for (mode, name, oid, _, is_tree), was in self._changed(new, old, prefix):
                path = prefix + name
                why = forbidden(name, mode)
                if is_tree:
                    if self._keeps_dir(path):
                        # A refused directory name matters once anything below it goes out.
                        below = refused or ((path, why) if why else None)
                        old_child = was[2] if was is not None and was[4] else None
                        stack.append((oid, old_child, path + b"/", below))
                    continue
                if refused is None and why is None and mode != SYMLINK:
                    continue  # most files: nothing to refuse, so the rules need not be asked
                if not self._is_public(path):
                    continue
                if refused is not None or why is not None:
                    where, reason = refused or (path, why or "")
                    raise PubgateError(
                        f"refusing to publish {commit[:12]}, since its tree holds "
                        f"{_shown(where)!r}: {reason}, which git refuses",
                        "rename or remove it in the source, or exclude that path",
                    )
                if mode == SYMLINK:
                    self._symlink(commit, tree, path, oid)

    def _changed(
        self, new: bytes, old: bytes | None, prefix: bytes
    ) -> list[tuple[TreeEntry, TreeEntry | None]]:
        """The entries of ``new`` that differ from the last tree seen at ``prefix`` (else from
        ``old``), each with the entry of the same name there, if any."""
        last = self._last.get(prefix)
        if last is not None and last.oid == new:
            return []
        if last is None and old is not None:
            if old == new:
                return []
            old_data = self._read(old)
            starts = [e[3] for e in self._parse(old, old_data)] + [len(old_data)]
            last = _Last(old, old_data, starts)
        data = self._read(new)
        if last is None:
            entries = self._parse(new, data)
            self._last[prefix] = _Last(new, data, [e[3] for e in entries] + [len(data)])
            return [(e, None) for e in entries]
        head, tail = shared_entries(data, last.data, last.starts)
        middle_end = len(data) - (len(last.data) - last.starts[tail])
        middle = parse_tree(data, last.starts[head], middle_end)
        before = parse_tree(last.data, last.starts[head], last.starts[tail])
        if middle is None or before is None:
            raise PubgateError(
                f"tree {new.hex()} at {_shown(prefix) or '/'} is corrupt",
                "run 'git fsck' on the source repository",
            )
        shift = len(data) - len(last.data)
        self._last[prefix] = _Last(
            new,
            data,
            last.starts[:head]
            + [e[3] for e in middle]
            + [o + shift for o in last.starts[tail:-1]]
            + [len(data)],
        )
        by_name = {e[1]: e for e in before}
        changed = []
        for entry in middle:
            was = by_name.get(entry[1])
            if was is None or was[0] != entry[0] or was[2] != entry[2]:
                changed.append((entry, was))
        return changed

    def _read(self, oid: bytes) -> bytes:
        return b"" if oid == EMPTY_TREE else self._odb.read(pygit2.Oid(raw=oid))[1]

    def _parse(self, oid: bytes, data: bytes) -> list[TreeEntry]:
        entries = parse_tree(data, 0, len(data))
        if entries is None:
            raise PubgateError(
                f"tree {oid.hex()} is corrupt", "run 'git fsck' on the source repository"
            )
        return entries

    def _keeps_dir(self, path: bytes) -> bool:
        kept = self._kept_dirs.get(path)
        if kept is None:
            kept = self._kept_dirs[path] = self._rules.keeps_dir(path, True)
        return kept

    def _is_public(self, path: bytes) -> bool:
        public = self._public_files.get(path)
        if public is None:
            public = self._public_files[path] = self._rules.is_public(path)
        return public

    def _public(self, path: bytes, is_dir: bool) -> bool:
        """Whether a file at ``path`` goes out, or (``is_dir``) a directory may hold public
        files: no directory on the way is excluded."""
        if not is_dir:
            return self._rules.is_public(path)
        parts = path.split(b"/")
        return all(
            self._rules.keeps_dir(b"/".join(parts[:depth]), True)
            for depth in range(1, len(parts) + 1)
        )

    def _symlink(self, commit: str, root: bytes, path: bytes, blob: bytes) -> None:
        target = self._targets.get(blob)
        if target is None:
            target = self._targets[blob] = self._read_blob(blob)
        resolved = posixpath.normpath(posixpath.join(posixpath.dirname(path), target))
        if target.startswith(b"/") or resolved == b".." or resolved.startswith(b"../"):
            self.leaving[path] = target
            return
        if resolved == b"." or self._public(resolved, self._is_dir(root, resolved)):
            return
        raise PubgateError(
            f"refusing to publish {commit[:12]}, since its symlink {_shown(path)!r} points "
            f"into the excluded path {_shown(resolved)!r}",
            "the link would name an internal path and dangle publicly: remove it, point it at "
            "a public path, or exclude the link too",
        )

    def _read_blob(self, oid: bytes) -> bytes:
        return self._odb.read(pygit2.Oid(raw=oid))[1]

    def _is_dir(self, root: bytes, path: bytes) -> bool:
        """Whether ``path`` names a directory in the tree ``root`` (False if it is missing)."""
        tree = root
        for part in path.split(b"/"):
            data = self._read(tree)
            found = next((e for e in self._parse(tree, data) if e[1] == part), None)
            if found is None or not found[4]:
                return False
            tree = found[2]
        return True
