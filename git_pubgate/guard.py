"""Tree entries that must not go out, whatever the rules say: checked on what a commit adds.

Git refuses some names outright: ``.`` and ``..``, ``.git`` in any spelling a case-insensitive,
HFS+ or NTFS file system reads as ``.git`` (``.GIT``, ``.git.``, ``git~1``, ``.g\u200cit``), an
empty name or one holding ``/``, and a ``.gitmodules`` that is a symlink (``verify_path`` in
read-cache.c, ``fsck_tree`` in fsck.c). A clone of a public repository holding them fails or,
on an old git, writes into the cloner's ``.git``. A symlink that points into an excluded path
names an internal path and dangles publicly. Both stop a sync, naming commit and path. A
symlink that leaves the repository (``/etc/passwd``, ``../../x``) is legal but worth a
reviewer's look: it is recorded for ``plan`` and the pull request.

Only what a commit changes is looked at: each directory is compared with the one in the same
place in what its parent directory was compared with (at the top, the tree of the last commit
checked; at first, the first parent's), and only the entries that differ are looked at, so a
commit costs what it changed and an incremental run only its new commits. The tree filter has
made most of these comparisons already: it hands them over (``TreeDiff``), and the guard takes
one when it was made against the same tree, or against any tree that passed in that place.
A tree that passed in the same place before and holds no public symlink is not looked at again:
every check but a symlink's depends only on name, mode and path, so looking again could find
nothing (a symlink's also depends on what its target is in the commit, so trees holding one
are always compared). A tree that never leaves through sync (already public, or pushed by
hand) is audit's to check.
"""

from __future__ import annotations

import functools
import posixpath
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass

import pygit2

from .errors import PubgateError
from .objects import (
    EMPTY_TREE,
    TreeEntry,
    is_symlink_mode,
    is_tree_mode,
    parse_tree,
    shared_entries,
)
from .rules import Rules

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
    if is_symlink_mode(mode) and (
        _hfs_alias(name, ".gitmodules") or _ntfs_alias(name, b".gitmodules", b"gitmod~1")
    ):
        return "'.gitmodules' as a symlink"
    return None


def _shown(path: bytes) -> str:
    return path.decode("utf-8", "backslashreplace")


@dataclass(slots=True)
class TreeDiff:
    """How the tree filter found a tree to differ from the last one it filtered in its place.

    ``data`` repeats the first ``head`` entries of the tree ``base`` and its entries from index
    ``tail`` on; ``entries`` are the ones in between (every entry when ``base`` is None).
    """

    oid: bytes
    data: bytes
    base: bytes | None
    base_data: bytes
    base_starts: list[int]  # start of every entry of ``base``, then len(base_data)
    head: int
    tail: int
    entries: list[TreeEntry]


@dataclass(slots=True)
class _Last:
    """The last tree read in one place: its bytes and the offset of every entry."""

    oid: bytes
    data: bytes
    starts: list[int]  # start of every entry, then len(data)


@dataclass(slots=True)
class _Looked:
    """A tree looked at by one check, until it is known whether it passed as a whole."""

    prefix: bytes
    oid: bytes
    parent: int  # index of the tree holding it, -1 for the root
    # Compared with a tree that passed (or looked at whole), and no public symlink in what
    # changed; it passed as a whole when every directory it changed did too.
    clean: bool


# Changed entries, each with the id of the directory of that name it replaces, if any.
_Changed = list[tuple[TreeEntry, bytes | None]]
_NO_DIFFS: Mapping[bytes, TreeDiff] = {}


class TreeGuard:
    """Checks the public entries each new commit adds; collects symlinks leaving the repo.

    Each directory of a commit's tree is compared with the tree in the same place one level up
    in what it is compared with (the last commit checked, at first the parent), byte for byte
    like the tree filter, or the filter's own comparison is taken: only the entries in between
    the shared start and end are parsed, and only the changed ones looked at.
    """

    def __init__(self, repo: pygit2.Repository, rules: Rules):
        self._odb = repo.odb
        self._rules = rules
        self._last: dict[bytes, _Last] = {}  # spares reading a tree again to compare with it
        self._last_root: bytes | None = None
        # Trees that passed in a place (path prefix -> ids) with no public symlink below.
        self._passed: dict[bytes, set[bytes]] = {}
        self._public_files: dict[bytes, bool] = {}
        self._kept_dirs: dict[bytes, bool] = {}
        self._targets: dict[bytes, bytes] = {}  # symlink blob id -> its target
        # Symlinks that point out of the repository: path -> target, for plan and the PR.
        self.leaving: dict[bytes, bytes] = {}

    def check(
        self,
        commit: str,
        tree: bytes,
        parent_tree: bytes | None,
        diffs: Mapping[bytes, TreeDiff] = _NO_DIFFS,
    ) -> None:
        """Refuse ``commit`` if an entry its ``tree`` adds must not go out.

        Added means: not in the tree of the last commit checked, or, the first time, not in
        ``parent_tree`` (what the parent commit published). ``diffs`` are the tree filter's
        comparisons for ``tree``, by path prefix.
        """
        base = self._last_root if self._last_root is not None else parent_tree
        self._last_root = tree
        passed = self._passed
        looked: list[_Looked] = []
        # (tree, the tree it is compared with, whether that one passed, path prefix, a refused
        # directory above, index of the tree holding it in ``looked``)
        stack: list[tuple[bytes, bytes | None, bool, bytes, tuple[bytes, str] | None, int]] = [
            (tree, base, base is not None and base in passed.get(b"", ()), b"", None, -1)
        ]
        while stack:
            new, old, old_passed, prefix, refused, parent = stack.pop()
            here = passed.get(prefix)
            if here is not None and new in here:
                continue  # it passed here before and holds no symlink: nothing new to find
            changed, clean = self._changed(
                new, old, prefix, old_passed=old_passed, diff=diffs.get(prefix), passed_here=here
            )
            index = len(looked)
            record = _Looked(prefix, new, parent, clean)
            looked.append(record)
            for (mode, name, oid, _, is_tree), old_child in changed:
                path = prefix + name
                why = forbidden(name, mode)
                if is_tree:
                    if self._keeps_dir(path):
                        # A refused directory name matters once anything below it goes out.
                        below = refused or ((path, why) if why else None)
                        stack.append((oid, old_child, clean, path + b"/", below, index))
                    continue
                if refused is None and why is None and not is_symlink_mode(mode):
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
                if is_symlink_mode(mode):
                    record.clean = False
                    self._symlink(commit, tree, path, oid)
        # A tree comes after the one holding it: going backwards, each is settled before it.
        for record in reversed(looked):
            if record.clean:
                passed.setdefault(record.prefix, set()).add(record.oid)
            elif record.parent >= 0:
                looked[record.parent].clean = False

    def _changed(
        self,
        new: bytes,
        old: bytes | None,
        prefix: bytes,
        *,
        old_passed: bool,
        diff: TreeDiff | None,
        passed_here: set[bytes] | None,
    ) -> tuple[_Changed, bool]:
        """The entries of ``new`` that differ from ``old`` (all of them when it is None), each
        with the id of the directory of the same name there, if any; and whether what they
        were compared with passed.

        The filter's comparison stands in for it when the filter compared ``new`` with ``old``
        or with a tree that passed in this place: the entries ``new`` shares with that one
        passed here already, and it holds no symlink, so any ``new`` holds is among the changed.
        """
        if old == new:
            return [], old_passed
        if diff is not None and diff.oid == new:
            if diff.base is None:
                return [(e, None) for e in diff.entries], True
            base_passed = passed_here is not None and diff.base in passed_here
            if diff.base == old or base_passed:
                # The filter parsed only the new side: the old one's entries are where the
                # offsets it found say, between those both trees share.
                between = range(diff.head, diff.tail)
                changed = _differing(
                    diff.entries, diff.data, diff.base_data, diff.base_starts, between
                )
                return changed, base_passed or old_passed
        data = self._read(new)
        if old is None:
            entries = self._parse(new, data)
            self._remember(prefix, new, data, _starts(entries, data))
            return [(e, None) for e in entries], True
        last = self._last.get(prefix)
        if last is None or last.oid != old:
            old_data = self._read(old)
            last = _Last(old, old_data, _starts(self._parse(old, old_data), old_data))
        head, tail = shared_entries(data, last.data, last.starts)
        middle_end = len(data) - (len(last.data) - last.starts[tail])
        middle = parse_tree(data, last.starts[head], middle_end)
        if middle is None:
            raise PubgateError(
                f"tree {new.hex()} at {_shown(prefix) or '/'} is corrupt",
                "run 'git fsck' on the source repository",
            )
        shift = len(data) - len(last.data)
        self._remember(
            prefix,
            new,
            data,
            last.starts[:head]
            + [e[3] for e in middle]
            + [o + shift for o in last.starts[tail:-1]]
            + [len(data)],
        )
        return _differing(middle, data, last.data, last.starts, range(head, tail)), old_passed

    def _remember(self, prefix: bytes, oid: bytes, data: bytes, starts: list[int]) -> None:
        self._last[prefix] = _Last(oid, data, starts)

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


def _differing(
    entries: list[TreeEntry],
    data: bytes,
    old_data: bytes,
    old_starts: list[int],
    between: range,
) -> _Changed:
    """Each of ``entries`` (of the tree ``data``) but those the entries ``between`` of the tree
    ``old_data`` (entry offsets ``old_starts``) hold as they are, with the id of the directory
    of the same name there, if any."""
    old: dict[bytes, bytes] = {}  # name -> the whole entry
    for index in between:
        start = old_starts[index]
        nul = old_data.index(b"\0", start)
        old[old_data[old_data.index(b" ", start, nul) + 1 : nul]] = old_data[
            start : old_starts[index + 1]
        ]
    changed: _Changed = []
    for entry in entries:
        mode, name, _, start, _ = entry
        was = old.get(name)
        if was is None:
            changed.append((entry, None))
        elif was != data[start : start + len(mode) + len(name) + 22]:
            changed.append((entry, was[-20:] if is_tree_mode(was[: was.index(b" ")]) else None))
    return changed


def _starts(entries: list[TreeEntry], data: bytes) -> list[int]:
    return [e[3] for e in entries] + [len(data)]
