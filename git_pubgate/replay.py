"""Apply a public commit's changes to an internal tree, raw entry by raw entry.

The reverse of the filter for one commit: ``base`` is the public tree of the commit's parent,
``theirs`` the public commit's tree and ``ours`` the internal tree the parent came from. The
file-level changes from ``base`` to ``theirs`` are found by walking only the directories that
differ, mapped to internal paths, checked against the rules, and applied to ``ours``; every
other entry keeps ``ours``' exact bytes (so excluded paths, and files the contribution did not
touch, are inherited untouched). A one-file contribution costs a few tree reads.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pygit2

from .objects import is_gitlink_mode, is_symlink_mode, is_tree_mode, parse_tree, tree_entry
from .rules import Rules

# The marker words of internal sections: in public content they would hide text on the way back.
MARKER_WORDS = (b"BEGIN-INTERNAL", b"END-INTERNAL", b"BEGIN-PUBLIC", b"END-PUBLIC")


@dataclass(frozen=True, slots=True)
class Entry:
    mode: bytes
    oid: bytes

    @property
    def is_tree(self) -> bool:
        return is_tree_mode(self.mode)

    def same(self, other: Entry | None) -> bool:
        # 40000 and 040000 are one mode to git (old histories wrote the padded one).
        return (
            other is not None
            and self.oid == other.oid
            and (self.mode == other.mode or (self.is_tree and other.is_tree))
        )


class RefusedChangeError(Exception):
    """A public change absorb will not bring in: the path and why (the caller names the commit)."""

    def __init__(self, path: str, why: str):
        super().__init__(f"{path}: {why}")
        self.path = path
        self.why = why


# (internal path, internal blob, published blob, contribution's blob) -> the internal blob.
BlobMerge = Callable[[bytes, bytes, bytes, bytes], bytes]
# A public path -> the internal path it comes from (None: it has none).
PathReverse = Callable[[bytes], bytes | None]


class TreeReplay:
    """Builds internal trees in ``repo`` (loose objects, readable at once).

    Args:
        repo: where the trees are read and written; it must see internal and public objects.
        rules: the path rules: a change to a path they hold back is refused.
        owned: public paths sync writes itself (version files, changelog): changes are refused.
        reverse: maps public paths back to internal ones (monorepo roots and moves).
        forward: its inverse, internal paths to public ones (None: not published).
        merge: brings a public edit into an internal file whose published form differs from
            it (internal sections); None when no file can differ.
    """

    def __init__(
        self,
        repo: pygit2.Repository,
        rules: Rules,
        owned: frozenset[str] = frozenset(),
        *,
        reverse: PathReverse | None = None,
        forward: PathReverse | None = None,
        merge: BlobMerge | None = None,
    ):
        self._odb = repo.odb
        self.rules = rules
        self._owned = {p.encode() for p in owned}
        self._reverse = reverse
        self._forward = forward
        self._merge = merge
        self._entries: dict[bytes, dict[bytes, Entry]] = {}

    def is_public(self, internal_path: bytes) -> bool:
        """Whether an internal path is published (where the layout places it, by the rules)."""
        if self._forward is None:
            return self.rules.is_public(internal_path)
        public = self._forward(internal_path)
        return public is not None and self.rules.is_public(public)

    def _read(self, tree: bytes | None) -> dict[bytes, Entry]:
        if tree is None:
            return {}
        found = self._entries.get(tree)
        if found is None:
            data = self._odb.read(pygit2.Oid(raw=tree))[1]
            found = {
                name: Entry(mode, oid)
                for mode, name, oid, _, _ in parse_tree(data, 0, len(data)) or []
            }
            self._entries[tree] = found
        return found

    def apply(self, ours: bytes, base: bytes, theirs: bytes) -> bytes:
        """``ours`` with the changes from ``base`` to ``theirs``; refuses what must not come."""
        edits: dict[bytes, Entry | None] = {}
        for path, old, new in self.changes(base, theirs):
            self._check(path, old, new)
            internal = self._reverse(path) if self._reverse is not None else path
            if internal is None:
                raise RefusedChangeError(_text(path), "has no place in the source (root/move)")
            if not self.rules.is_public(internal):
                raise RefusedChangeError(
                    _text(path), f"changes an excluded path ({self.rules.why_excluded(internal)})"
                )
            edits[internal] = new
            if old is not None and new is not None and self._merge is not None:
                edits[internal] = self._merged(ours, internal, old, new)
        result = self._edit(ours, edits, b"")
        return result if result is not None else self._write({})

    def changes(
        self, base: bytes | None, theirs: bytes | None, prefix: bytes = b""
    ) -> Iterator[tuple[bytes, Entry | None, Entry | None]]:
        """Every file-level change from ``base`` to ``theirs``: (path, old entry, new entry).

        A directory replaced by a file (or the reverse) shows as the files of one side going
        and those of the other coming. Explicit stack, so deep paths cannot hit recursion limits.
        """
        stack = [(base, theirs, prefix)]
        while stack:
            b_tree, t_tree, at = stack.pop()
            old, new = self._read(b_tree), self._read(t_tree)
            for name in sorted(set(old) | set(new)):
                b, t = old.get(name), new.get(name)
                if b is not None and b.same(t):
                    continue
                path = at + name
                b_sub = b.oid if b is not None and b.is_tree else None
                t_sub = t.oid if t is not None and t.is_tree else None
                if b_sub is not None or t_sub is not None:
                    stack.append((b_sub, t_sub, path + b"/"))
                b_file = b if b is not None and not b.is_tree else None
                t_file = t if t is not None and not t.is_tree else None
                if b_file is not None or t_file is not None:
                    yield path, b_file, t_file

    def _check(self, path: bytes, old: Entry | None, new: Entry | None) -> None:
        if any(e is not None and is_gitlink_mode(e.mode) for e in (old, new)):
            raise RefusedChangeError(_text(path), "changes a submodule")
        if path in self._owned:
            raise RefusedChangeError(
                _text(path), "changes a file that releases write (version file or changelog)"
            )
        if new is not None and not (is_symlink_mode(new.mode) or is_gitlink_mode(new.mode)):
            data = self._odb.read(pygit2.Oid(raw=new.oid))[1]
            if any(word in data for word in MARKER_WORDS):
                raise RefusedChangeError(_text(path), "holds internal-section markers")

    def _merged(self, ours: bytes, path: bytes, old: Entry, new: Entry) -> Entry:
        """The contribution's edit of a file, brought into the internal version of it."""
        assert self._merge is not None
        current = self._lookup(ours, path)
        if (
            current is None
            or current.is_tree
            or is_symlink_mode(old.mode)
            or is_symlink_mode(new.mode)
        ):
            return new
        if current.oid == old.oid:
            return new  # published as it is inside: the contribution's file is the file
        return Entry(new.mode, self._merge(path, current.oid, old.oid, new.oid))

    def _lookup(self, tree: bytes, path: bytes) -> Entry | None:
        entry: Entry | None = None
        current: bytes | None = tree
        for part in path.split(b"/"):
            if current is None:
                return None
            entry = self._read(current).get(part)
            if entry is None:
                return None
            current = entry.oid if entry.is_tree else None
        return entry

    def _edit(
        self, tree: bytes | None, edits: dict[bytes, Entry | None], at: bytes
    ) -> bytes | None:
        """``tree`` with ``edits`` (relative path -> entry, None deletes) applied; None if empty."""
        entries = dict(self._read(tree))
        here: dict[bytes, Entry | None] = {}
        below: dict[bytes, dict[bytes, Entry | None]] = {}
        for path, entry in edits.items():
            head, slash, rest = path.partition(b"/")
            if slash:
                below.setdefault(head, {})[rest] = entry
            else:
                here[head] = entry
        for name in sorted(set(here) | set(below)):
            current = entries.get(name)
            path = at + name
            sub: bytes | None = None
            if name in below:
                file_stays = current is not None and not current.is_tree
                if file_stays and not (name in here and here[name] is None):
                    raise RefusedChangeError(
                        _text(path), "puts a directory where an internal file is"
                    )
                inner = current.oid if current is not None and current.is_tree else None
                sub = self._edit(inner, below[name], path + b"/")
            elif current is not None and current.is_tree:
                sub = current.oid
            if name in here and here[name] is not None:
                if sub is not None:
                    raise RefusedChangeError(
                        _text(path), "puts a file where an internal directory is"
                    )
                entry = here[name]
                assert entry is not None
                entries[name] = entry
            elif sub is not None:
                keep = current is not None and current.is_tree
                entries[name] = Entry(current.mode if keep and current else b"40000", sub)
            else:
                entries.pop(name, None)
        if not entries:
            return None
        return self._write(entries)

    def _write(self, entries: dict[bytes, Entry]) -> bytes:
        # git orders a directory as if its name ended with '/'.
        ordered = sorted(
            entries.items(), key=lambda item: item[0] + (b"/" if item[1].is_tree else b"")
        )
        data = b"".join(tree_entry(e.mode, name, e.oid) for name, e in ordered)
        return bytes(self._odb.write(pygit2.enums.ObjectType.TREE, data).raw)


def _text(path: bytes) -> str:
    return path.decode("utf-8", "surrogateescape")


def differing_paths(
    repo: pygit2.Repository, a: bytes, b: bytes, limit: int | None = 5
) -> list[str]:
    """Up to ``limit`` paths whose entries differ between trees ``a`` and ``b``."""
    old = repo[pygit2.Oid(raw=a)].peel(pygit2.Tree)
    diff = old.diff_to_tree(repo[pygit2.Oid(raw=b)].peel(pygit2.Tree))
    out: list[str] = []
    for delta in diff.deltas:
        out.append(delta.new_file.path or delta.old_file.path)
        if limit is not None and len(out) >= limit:
            break
    return out
