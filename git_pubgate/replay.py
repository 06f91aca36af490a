"""Apply a public commit's changes to an internal tree, raw entry by raw entry.

The reverse of the filter for one commit: ``ours`` is the internal tree the public commit's
parent came from, ``base`` that parent's public tree and ``theirs`` the public commit's tree.
Entries the public commit did not change keep ``ours``' exact bytes (so excluded paths, and
internal versions of files, are inherited untouched); changed entries take ``theirs``. Only
the directories on the way to a change are read, so a one-file contribution costs a few trees.
"""

from __future__ import annotations

from dataclasses import dataclass

import pygit2

from .objects import TREE_MODES, parse_tree, tree_entry
from .rules import Rules

GITLINK = b"160000"


@dataclass(frozen=True, slots=True)
class _Entry:
    mode: bytes
    oid: bytes
    raw: bytes

    @property
    def is_tree(self) -> bool:
        return self.mode in TREE_MODES

    def same(self, other: _Entry | None) -> bool:
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


class TreeReplay:
    """Builds internal trees in ``repo`` (loose objects, readable at once).

    Args:
        repo: where the trees are read and written; it must see internal and public objects.
        rules: the path rules: a change to a path they hold back is refused.
        owned: paths sync writes itself (version files, changelog): a change there is refused.
    """

    def __init__(self, repo: pygit2.Repository, rules: Rules, owned: frozenset[str] = frozenset()):
        self._odb = repo.odb
        self.rules = rules
        self._owned = {p.encode() for p in owned}
        self._entries: dict[bytes, dict[bytes, _Entry]] = {}

    def _read(self, tree: bytes | None) -> dict[bytes, _Entry]:
        if tree is None:
            return {}
        found = self._entries.get(tree)
        if found is None:
            data = self._odb.read(pygit2.Oid(raw=tree))[1]
            entries = parse_tree(data, 0, len(data)) or []
            found = {
                name: _Entry(mode, oid, data[start : start + len(mode) + len(name) + 22])
                for mode, name, oid, start, _ in entries
            }
            self._entries[tree] = found
        return found

    def apply(self, ours: bytes, base: bytes, theirs: bytes) -> bytes:
        """``ours`` with the changes from ``base`` to ``theirs``; refuses what must not come."""
        result = self._apply(ours, base, theirs, b"")
        return result if result is not None else self._write({})

    def _apply(
        self, ours: bytes | None, base: bytes | None, theirs: bytes | None, prefix: bytes
    ) -> bytes | None:
        mine, old, new = self._read(ours), self._read(base), self._read(theirs)
        out = dict(mine)
        for name in sorted(set(old) | set(new)):
            b, t, o = old.get(name), new.get(name), mine.get(name)
            if (b is None and t is None) or (b is not None and b.same(t)):
                continue  # the public commit did not change it: ours stands
            path = prefix + name
            result = self._entry(o, b, t, path)
            if result is None:
                out.pop(name, None)
            else:
                out[name] = result
        if not out:
            return None
        if out == mine and ours is not None:
            return ours
        return self._write(out)

    def _entry(
        self, o: _Entry | None, b: _Entry | None, t: _Entry | None, path: bytes
    ) -> _Entry | None:
        """The internal entry at ``path``, which the public commit changed from ``b`` to ``t``."""
        for side in (b, t):
            if side is not None and side.mode == GITLINK:
                raise RefusedChangeError(_text(path), "changes a submodule")
        b_tree = b.oid if b is not None and b.is_tree else None
        if t is not None and t.is_tree:
            if o is not None and not o.is_tree:
                self._check_file(path)  # an internal file where the contribution puts a folder
                raise RefusedChangeError(_text(path), "puts a directory where an internal file is")
            sub = self._apply(o.oid if o is not None else None, b_tree, t.oid, path + b"/")
            return (
                None
                if sub is None
                else _Entry(b"40000", sub, tree_entry(b"40000", path_name(path), sub))
            )
        # t is a file, or gone.
        if o is not None and o.is_tree:
            # The public part of an internal directory goes; what the filter held back stays.
            rest = self._apply(o.oid, b_tree, None, path + b"/")
            if t is None:
                return (
                    None
                    if rest is None
                    else _Entry(o.mode, rest, tree_entry(o.mode, path_name(path), rest))
                )
            if rest is not None:
                raise RefusedChangeError(_text(path), "puts a file where an internal directory is")
        elif b is not None and b.is_tree:
            self._apply(None, b.oid, None, path + b"/")  # checks every path it removes
        self._check_file(path)
        return t

    def _check_file(self, path: bytes) -> None:
        if path in self._owned:
            raise RefusedChangeError(
                _text(path), "changes a file that releases write (version file or changelog)"
            )
        if not self.rules.is_public(path):
            why = self.rules.why_excluded(path)
            raise RefusedChangeError(_text(path), f"changes an excluded path ({why})")

    def _write(self, entries: dict[bytes, _Entry]) -> bytes:
        # git orders a directory as if its name ended with '/'.
        ordered = sorted(
            entries.items(), key=lambda item: item[0] + (b"/" if item[1].is_tree else b"")
        )
        data = b"".join(entry.raw for _, entry in ordered)
        return bytes(self._odb.write(pygit2.enums.ObjectType.TREE, data).raw)


def path_name(path: bytes) -> bytes:
    return path.rsplit(b"/", 1)[-1]


def _text(path: bytes) -> str:
    return path.decode("utf-8", "surrogateescape")


def differing_paths(
    repo: pygit2.Repository, a: bytes, b: bytes, limit: int | None = 5
) -> list[str]:
    """Up to ``limit`` paths whose entries differ between trees ``a`` and ``b``."""
    diff = (
        repo[pygit2.Oid(raw=a)]
        .peel(pygit2.Tree)
        .diff_to_tree(repo[pygit2.Oid(raw=b)].peel(pygit2.Tree))
    )
    out: list[str] = []
    for delta in diff.deltas:
        out.append(delta.new_file.path or delta.old_file.path)
        if limit is not None and len(out) >= limit:
            break
    return out
