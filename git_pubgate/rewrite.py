"""The engine: filtered trees and rewritten commits, straight from the object database.

Takes an open ``pygit2.Repository`` and compiled rules; reads no argv and no environment.
History is walked in a loop in topological order (parents first), never recursively, and trees
are filtered with an explicit stack, so neither long histories nor deep paths hit Python's
recursion limit.

Pruning follows git-filter-repo's defaults (``--prune-empty auto``, ``--prune-degenerate auto``,
see ``_maybe_trim_extra_parents`` and ``_prunable`` in git_filter_repo.py) so that the public
history has the shape people already get from that tool.
"""

from __future__ import annotations

from collections.abc import Callable, Container, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import pygit2
from pygit2.enums import SortMode

from .authors import IdentityError, People
from .content import ContentError, ContentPolicy
from .content_prefilter import ContentScan, scan_for
from .errors import PubgateError
from .folders_to_enter import dropped_folders, folders_to_enter, listing_of
from .guard import TreeDiff, TreeGuard
from .messages import MessagePolicy
from .objects import (
    EMPTY_TREE,
    OBJ_BLOB,
    OBJ_COMMIT,
    OBJ_TREE,
    PackWriter,
    RawCommit,
    TreeEntry,
    canonical_entry,
    common_prefix,
    common_suffix,
    has_odd_modes,
    parse_tree,
    same_entries,
    shared_entries,
    tree_entry,
)
from .quoted_ids import QuotedIds
from .quoting import quote_path
from .rules import DirState, Rules
from .trailer import ABSORBED_TRAILER, add_trailer, source_ids

_MemoKey = tuple[bytes, bytes | None, bool]


@dataclass(slots=True)
class _Seen:
    """The last tree filtered at one path: its bytes, entry offsets and per-entry output."""

    data: bytes
    starts: list[int]  # start of every entry, then len(data)
    outs: list[bytes]  # the public bytes of every entry; b"" where it was dropped
    public: bytes | None  # id of the public tree (None: nothing of it is public)
    public_data: bytes  # its bytes: the delta base for the next version of this tree
    oid: bytes  # the id of the tree filtered


# What the tree filter learnt under one root .gitattributes: memo, seen trees, seeds.
_Context = tuple[
    dict[_MemoKey, bytes | None], dict[bytes, _Seen], dict[bytes, tuple[bytes, bytes | None]]
]


@dataclass(slots=True)
class _Frame:
    oid: bytes
    prefix: bytes  # b"" for the root, else b"dir/sub/"
    state: DirState
    key: _MemoKey
    data: bytes
    entries: list[TreeEntry]  # only the entries that differ from the last tree seen here
    head: _Seen | None  # that last tree, when its first ``skip_head`` entries are reused
    skip_head: int
    skip_tail: int  # index of its first entry reused at the end
    pos: int = 0
    out: list[bytes] = field(default_factory=list)


class TreeFilter:
    """Filters trees bottom-up.

    Three things keep this cheap on long histories. Results are memoised by ``(tree id,
    position, include state)``, so a subtree that did not change costs one dict lookup. A subtree
    under which no rule can match is kept by id without being read. And a changed tree is compared
    byte for byte with the last tree filtered at the same path (usually the parent commit's):
    the entries both share at the start and at the end reuse their earlier output, so only the
    few entries a commit touched are parsed and matched.
    """

    def __init__(
        self,
        repo: pygit2.Repository,
        rules: Rules,
        sink: PackWriter,
        content: ContentPolicy | None = None,
    ):
        self._odb = repo.odb
        self._git_dir = Path(repo.path)
        self._rules = rules
        self._sink = sink
        self._content = content
        # Whether content rules leave a tree's result independent of where it sits.
        self._content_free = content is None or content.position_free
        self._memo: dict[_MemoKey, bytes | None] = {}
        self._seen: dict[bytes, _Seen] = {}
        # Per root .gitattributes (it decides which files are binary): memo and seen trees.
        self._contexts: dict[bytes | None, _Context] = {}
        # Among the entries that differed from the last tree seen at their place: files that
        # lost internal sections, and files the content rules held back (an .npmrc's token).
        self.sectioned: set[bytes] = set()
        self.held_by_content: set[bytes] = set()
        self._file_rule: dict[tuple[bytes, bool], bool] = {}
        self._dir_rule: dict[tuple[bytes, bool], DirState | None] = {}
        self._seeds: dict[bytes, tuple[bytes, bytes | None]] = {}
        self._root_state = rules.dir_state(b"", False)  # asked for once per commit otherwise
        # While filtering a whole tree: the only files of it the content rules could touch,
        # and the only folders holding a path some rule may act on (folders_to_enter).
        self._scan: ContentScan | None = None
        self._enter: frozenset[bytes] | None = None
        # Whether a tree read so far spells a mode as old git did (``040000``, ``100664``).
        # Until one does, every tree written is canonical as it is and ids compare as git does;
        # from then on written trees are respelled, and kept by ``written`` for comparisons.
        self.odd_modes = False
        self.written: dict[bytes, bytes] = {}
        # How each tree the last ``filter_root`` read differs from the last one filtered in its
        # place, by path prefix: the tree guard takes these instead of comparing them again.
        self.compared: dict[bytes, TreeDiff] = {}

    def paths_seen(self) -> list[str]:
        """Every path the rules were asked about so far (directories as ``dir/``)."""
        files = {path for path, _ in self._file_rule}
        dirs = {path + b"/" for path, _ in self._dir_rule}
        return [p.decode("utf-8", "surrogateescape") for p in files | dirs]

    def seed(self, source_root: bytes, public_root: bytes) -> None:
        """Start from a known result: ``public_root`` is the filtered ``source_root``.

        It must have been computed by this filter under these same rules (the sync cache
        guarantees it). A later commit is then compared against it level by level, so an
        incremental run reads only the directories its new commits changed.
        """
        if self._content is not None:
            self._enter_attributes(source_root)
        state = self._rules.dir_state(b"", False)
        self._memo[self._key(source_root, b"", state)] = (
            None if public_root == EMPTY_TREE else public_root
        )
        self._seeds[b""] = (source_root, public_root)

    def _seen_from_seed(self, prefix: bytes) -> _Seen | None:
        seed = self._seeds.pop(prefix, None)
        if seed is None:
            return None
        source, public = seed
        data = self._odb.read(pygit2.Oid(raw=source))[1]
        entries = parse_tree(data, 0, len(data))
        public_data = self._odb.read(pygit2.Oid(raw=public))[1] if public else b""
        public_entries = parse_tree(public_data, 0, len(public_data))
        if entries is None or public_entries is None:
            return None
        self._note_modes(entries)
        by_name = {
            e[1]: public_data[e[3] : e[3] + len(e[0]) + len(e[1]) + 22] for e in public_entries
        }
        public_ids = {e[1]: e[2] for e in public_entries}
        for _, name, oid, _, is_tree in entries:
            if is_tree:
                self._seeds[prefix + name + b"/"] = (oid, public_ids.get(name))
        outs = [by_name.get(e[1], b"") for e in entries]
        starts = [e[3] for e in entries] + [len(data)]
        seen = _Seen(data, starts, outs, public, public_data, source)
        self._seen[prefix] = seen
        return seen

    def filter_root(self, tree: bytes, *, whole: bool = False) -> bytes:
        """Return the raw id of the public version of the root tree ``tree``.

        Args:
            whole: no tree near this one was filtered (nor seeded): the content rules would
                read every file of it, so one ``git grep`` first lists those they could touch
                (content_prefilter).

        Raises ContentError for a file that cannot be published as it is.
        """
        self.compared = {}
        if self._content is not None:
            self._enter_attributes(tree)
        elif self._rules.is_empty:
            return tree
        state = self._root_state
        if state.untouched and self._content is None:
            return tree
        if whole and pygit2.Oid(raw=tree) in self._odb:
            listing = listing_of(tree, self._rules, self._read)
            if self._content is not None:
                # What the rules drop whole is never published: the search need not read it.
                dropped = dropped_folders(listing, self._rules) if listing is not None else []
                self._scan = scan_for(self._git_dir, tree, self._content, skip=dropped)
            self._enter = folders_to_enter(listing, self._scan, content=self._content is not None)
        try:
            result = self._filter(tree, state)
        finally:
            self._scan = None
            self._enter = None
        return EMPTY_TREE if result is None else result

    def _key(self, oid: bytes, prefix: bytes, state: DirState) -> _MemoKey:
        free = state.position_free and self._content_free
        return (oid, None if free else prefix, state.included)

    def _enter_attributes(self, root: bytes) -> None:
        """Use the memo of this commit's root ``.gitattributes`` (usually the same as before)."""
        assert self._content is not None
        data = b"" if root == EMPTY_TREE else self._odb.read(pygit2.Oid(raw=root))[1]
        blob = ContentPolicy.root_attributes(data)
        before = self._content.attributes_id
        if self._content.use_attributes(blob, self._read):
            self._contexts[before] = (self._memo, self._seen, self._seeds)
            self._memo, self._seen, self._seeds = self._contexts.pop(blob, ({}, {}, {}))
            self._content_free = self._content.position_free

    def _read(self, oid: bytes) -> bytes:
        """The raw bytes of an object (a blob, a tree), by raw id."""
        return bytes(self._odb.read(pygit2.Oid(raw=oid))[1])

    def _file_entry(self, data: bytes, entry: TreeEntry, path: bytes) -> bytes:
        """The public tree entry of a kept file: as it is, or pointing at its public blob."""
        mode, name, oid, start, _ = entry
        raw = data[start : start + len(mode) + len(name) + 22]
        if self._content is None or (self._scan is not None and not self._scan.may_touch(path)):
            return raw
        outcome = self._content.publish(
            path, mode, oid, self._read, lambda public: self._sink.add(OBJ_BLOB, public)
        )
        if outcome.sections:
            self.sectioned.add(path)
        if outcome.blob is None:
            self.held_by_content.add(path)
            return b""
        return raw if outcome.blob == oid else tree_entry(mode, name, outcome.blob)

    def _keeps_file(self, path: bytes, included: bool) -> bool:
        key = (path, included)
        kept = self._file_rule.get(key)
        if kept is None:
            kept = self._file_rule[key] = self._rules.keeps_file(path, included)
        return kept

    def _dir(self, path: bytes, included: bool) -> DirState | None:
        """The state below directory ``path``, or None when the directory is excluded."""
        key = (path, included)
        if key in self._dir_rule:
            return self._dir_rule[key]
        rules = self._rules
        state = rules.dir_state(path, included) if rules.keeps_dir(path, included) else None
        self._dir_rule[key] = state
        return state

    def _frame(self, oid: bytes, prefix: bytes, state: DirState, key: _MemoKey) -> _Frame:
        data = self._odb.read(pygit2.Oid(raw=oid))[1]
        seen = self._seen.get(prefix) or self._seen_from_seed(prefix)
        if seen is not None:
            head, tail = shared_entries(data, seen.data, seen.starts)
            middle_end = len(data) - (len(seen.data) - seen.starts[tail])
            entries = parse_tree(data, seen.starts[head], middle_end)
            if entries is not None:
                self._note_modes(entries)
                self.compared[prefix] = TreeDiff(
                    oid, data, seen.oid, seen.data, seen.starts, head, tail, entries
                )
                return _Frame(oid, prefix, state, key, data, entries, seen, head, tail)
        entries = parse_tree(data, 0, len(data))
        if entries is None:
            raise PubgateError(
                f"tree {oid.hex()} at {quote_path(prefix) if prefix else '/'} is corrupt",
                "run 'git fsck' on the source repository",
            )
        self._note_modes(entries)
        self.compared[prefix] = TreeDiff(oid, data, None, b"", [], 0, 0, entries)
        return _Frame(oid, prefix, state, key, data, entries, None, 0, 0)

    def _filter(self, root: bytes, root_state: DirState) -> bytes | None:
        memo = self._memo
        root_key = self._key(root, b"", root_state)
        if root_key in memo:
            return memo[root_key]
        stack = [self._frame(root, b"", root_state, root_key)]
        while True:
            frame = stack[-1]
            entries = frame.entries
            out = frame.out
            data = frame.data
            included = frame.state.included
            descended = False
            while frame.pos < len(entries):
                mode, name, oid, start, is_tree = entries[frame.pos]
                path = frame.prefix + name
                if not is_tree:
                    if self._keeps_file(path, included):
                        out.append(self._file_entry(data, entries[frame.pos], path))
                    else:
                        out.append(b"")
                    frame.pos += 1
                    continue
                child_state = self._dir(path, included)
                if child_state is None:
                    out.append(b"")
                    frame.pos += 1
                    continue
                if child_state.untouched and self._content is None:
                    out.append(data[start : start + len(mode) + len(name) + 22])
                    frame.pos += 1
                    continue
                key = self._key(oid, path, child_state)
                if key in memo:
                    self._take(frame, memo[key])
                    continue
                if self._enter is not None and path not in self._enter:
                    # Public as it is; seeded, so a later commit changing it is compared
                    # against it entry by entry, as against the sync cache's seed.
                    out.append(data[start : start + len(mode) + len(name) + 22])
                    memo[key] = oid
                    self._seeds[path + b"/"] = (oid, oid)
                    frame.pos += 1
                    continue
                stack.append(self._frame(oid, path + b"/", child_state, key))
                descended = True
                break
            if descended:
                continue
            result = self._finish(frame)
            memo[frame.key] = result
            stack.pop()
            if not stack:
                return result
            self._take(stack[-1], result)

    def _take(self, frame: _Frame, result: bytes | None) -> None:
        mode, name, oid, start, _ = frame.entries[frame.pos]
        frame.pos += 1
        if result is None:  # the directory became empty: git has no empty directories
            frame.out.append(b"")
        elif result == oid:
            frame.out.append(frame.data[start : start + len(mode) + len(name) + 22])
        else:
            frame.out.append(tree_entry(mode, name, result))

    def _finish(self, frame: _Frame) -> bytes | None:
        seen = frame.head
        if seen is None:
            outs = frame.out
            starts = [e[3] for e in frame.entries]
        else:
            shift = len(frame.data) - len(seen.data)
            outs = seen.outs[: frame.skip_head] + frame.out + seen.outs[frame.skip_tail :]
            starts = (
                seen.starts[: frame.skip_head]
                + [e[3] for e in frame.entries]
                + [o + shift for o in seen.starts[frame.skip_tail : -1]]
            )
        starts.append(len(frame.data))
        # Kept entries are a subsequence of git's sorted order, so the new tree is sorted as git
        # sorts. A tree the rules left alone keeps its id (``040000`` modes and all); a new one
        # is written as git writes trees, with canonical modes.
        public = b"".join(outs)
        result: bytes | None
        if public == frame.data:
            result = frame.oid
        elif not public:
            result = None
        else:
            if self.odd_modes:
                public = b"".join(map(canonical_entry, outs))
            result = self._write(public, frame)
            if self.odd_modes:
                self.written[result] = public
        self._seen[frame.prefix] = _Seen(frame.data, starts, outs, result, public, frame.oid)
        return result

    def _note_modes(self, entries: list[TreeEntry]) -> None:
        if not self.odd_modes and has_odd_modes(entries):
            self._spell_as_old_git()

    def _spell_as_old_git(self) -> None:
        """From now on compare trees as git does and keep the bytes of those written.

        Trees written before were kept nowhere but in the pack being written, which git cannot
        read yet; a later commit may be compared with one (its parent's public tree), so that
        pack is stored first (a run whose history spells a mode the old way only after some
        commits crashed reading one back).
        """
        self.odd_modes = True
        self._sink.checkpoint()

    def read_public(self, tree: bytes) -> bytes:
        """The bytes of a public tree: one written by this filter, or one in the repository."""
        written = self.written.get(tree)
        return written if written is not None else self._odb.read(pygit2.Oid(raw=tree))[1]

    def _write(self, public: bytes, frame: _Frame) -> bytes:
        """Write a new tree, as a delta on the last public tree at its place when possible."""
        before = self._seen.get(frame.prefix)
        if before is None or before.public is None or not before.public_data:
            return self._sink.add(OBJ_TREE, public)
        base = before.public_data
        # Reused entries are the bytes both trees share, unless respelling changed them.
        if frame.head is before and not self.odd_modes:
            # The reused entries at both ends are the bytes the two trees share.
            same_start = sum(map(len, before.outs[: frame.skip_head]))
            same_end = sum(map(len, before.outs[frame.skip_tail :]))
        else:
            same_start = common_prefix(public, base)
            same_end = common_suffix(public, base, min(len(public), len(base)) - same_start)
        return self._sink.add_delta(OBJ_TREE, public, before.public, base, (same_start, same_end))


class _Ancestry:
    """Ancestry answered from stored depths (generation numbers), as git-filter-repo's
    AncestryGraph does.

    Every commit this run adds gets a depth one above its deepest parent; a parent from before
    the run is an external root of depth 0. A check walks down from the younger commit and never
    below the depth of the older one, so it costs a short walk instead of a merge-base search.
    A walk that reaches external roots asks ``outside`` about them, so the answer is the real
    ancestry whatever part of the history this run happened to walk: an incremental run and a
    from-scratch one see the same graph.

    Args:
        outside: ancestry among commits from before this run.
        older_roots: True when commits of this run may be ancestors of the external roots (a
            source commit walked again below a known one), so those are asked too.
    """

    def __init__(self, outside: Callable[[str, str], bool], *, older_roots: bool) -> None:
        self._graph: dict[str, tuple[int, tuple[str, ...]]] = {}
        self._outside = outside
        self._older_roots = older_roots

    def add(self, commit: str, parents: Iterable[str]) -> None:
        parents = tuple(parents)
        graph = self._graph
        depth = 0
        for parent in parents:
            known = graph.get(parent)
            if known is not None and known[0] > depth:
                depth = known[0]
        graph[commit] = (depth + 1, parents)

    def is_ancestor(self, maybe_ancestor: str, commit: str) -> bool:
        """Whether ``maybe_ancestor`` is ``commit`` or one of its ancestors."""
        graph = self._graph
        known = graph.get(maybe_ancestor)
        floor = known[0] if known is not None else 0
        todo = [commit]
        seen: set[str] = set()
        outside: list[str] = []
        while todo:
            current = todo.pop()
            if current == maybe_ancestor:
                return True
            if current in seen:
                continue
            seen.add(current)
            node = graph.get(current)
            if node is None:
                outside.append(current)
            elif node[0] > floor:
                todo.extend(node[1])
        if known is not None and not self._older_roots:
            return False  # public commits of this run descend from the older ones, never below
        return any(self._outside(maybe_ancestor, root) for root in outside)


# The commits a rewrite reads: (tip, synced commits to leave out with their ancestors) ->
# (id, parsed commit), parents first. Targets of one run share one reading of the history.
CommitSource = Callable[[str, Iterable[str]], Iterable[tuple[str, RawCommit]]]


def _read_commit(odb: pygit2.Odb, commit: str) -> bytes:
    """The raw bytes of a commit, straight from the object database."""
    return bytes(odb.read(pygit2.Oid(hex=commit))[1])


def walk_commits(repo: pygit2.Repository) -> CommitSource:
    """Read the commits from ``repo``, in topological order, parents first."""

    def commits(tip: str, hidden: Iterable[str]) -> Iterator[tuple[str, RawCommit]]:
        walker = repo.walk(tip, SortMode.TOPOLOGICAL | SortMode.REVERSE)
        for known in hidden:
            if known in repo:
                walker.hide(known)
        for commit in walker:
            yield str(commit.id), RawCommit.parse(commit.read_raw())

    return commits


@dataclass(frozen=True)
class RewriteResult:
    """What one rewrite produced.

    Attributes:
        tip: public id of the source tip, or None when nothing in it is public.
        created: ``(source id, public id)`` for each public commit written, parents first.
        pruned: source commits that became empty or degenerate and were dropped.
        converged: ``(source id, public id)`` for absorbed commits mapped back onto the public
            commit they came from (nothing new written for them).
    """

    tip: str | None
    created: list[tuple[str, str]]
    pruned: list[str]
    converged: list[tuple[str, str]] = field(default_factory=list)


class EarlierRewrite(Protocol):
    """What an earlier run of the same rewrite produced, for commits this run does not walk."""

    def knows(self, source: str) -> bool: ...

    def image(self, source: str) -> tuple[bool, str | None]: ...

    def is_pruned(self, source: str) -> bool: ...


class Rewriter:
    """Rewrites source commits into public ones, incrementally.

    Args:
        repo: a repository that can read the source objects (directly or through alternates).
        rules: the compiled path rules.
        sink: where new objects go; nothing is readable from it until it is committed.
        trailer: name of the trailer that records each public commit's source, or None.
        quoted_ids: rewrites source commit ids quoted in messages to public ids, if given.
    """

    def __init__(
        self,
        repo: pygit2.Repository,
        rules: Rules,
        sink: PackWriter,
        trailer: str | None,
        *,
        messages: MessagePolicy | None = None,
        people: People | None = None,
        overlay: Callable[[bytes], bytes] | None = None,
        commits: CommitSource | None = None,
        content: ContentPolicy | None = None,
        quoted_ids: QuotedIds | None = None,
    ):
        self._repo = repo
        self._commits = commits or walk_commits(repo)
        self._quoted_ids = quoted_ids
        self._overlay = overlay
        self._trailer = trailer
        self._messages = messages
        self._people = people if people is not None and not people.is_empty else None
        self._sink = sink
        self.trees = TreeFilter(repo, rules, sink, content)
        # Refuses names git forbids and symlinks into excluded paths in what commits add.
        self.guard = TreeGuard(repo, rules)
        self._image: dict[str, str | None] = {}
        self._pruned: set[str] = set()
        self._converged: set[str] = set()
        self._earlier: EarlierRewrite | None = None
        self._source_tree: dict[str, bytes] = {}
        self._public_tree: dict[str, bytes] = {}
        self._graph = _Ancestry(self._stored_is_ancestor, older_roots=False)  # public
        self._orig_graph = _Ancestry(self._stored_is_ancestor, older_roots=True)  # source
        # Whether a message written already held the trailer's name before sync added its
        # own: then its trailers may name more than its source (see PendingRecord.exact).
        self.trailer_in_text = False
        if quoted_ids is not None:
            # Every quoting commit is rewritten after its ancestors, so they are in the graph.
            quoted_ids.use_ancestry(self._orig_graph.is_ancestor)

    def seed_from(self, source_commit: str, public_tree: str) -> None:
        """Seed the tree filter with a source commit's known public tree (see TreeFilter.seed)."""
        self.trees.seed(
            self._input_tree(self._tree_of_source(source_commit)), bytes.fromhex(public_tree)
        )

    def public_tree(self, tree: bytes) -> bytes:
        """The raw id of the public version of the source tree ``tree`` (absorb's round trip)."""
        return self._filter(f"tree {tree.hex()}", tree)

    def filtered_tree_of(self, source_commit: str, *, whole: bool = False) -> bytes:
        """The raw id of the public tree of a source commit (``whole``: see
        ``TreeFilter.filter_root``)."""
        return self._filter(source_commit, self._tree_of_source(source_commit), whole=whole)

    def _filter(self, source_commit: str, tree: bytes, *, whole: bool = False) -> bytes:
        try:
            return self.trees.filter_root(self._input_tree(tree), whole=whole)
        except ContentError as e:
            raise content_refusal(source_commit, e) from None

    def public_tree_of(self, public_commit: str) -> bytes:
        """The raw tree id of a public commit (one this rewriter wrote, or an existing one)."""
        return self._tree_of_public(public_commit)

    def _input_tree(self, tree: bytes) -> bytes:
        """What the filter sees: the source tree, with release-owned files as released."""
        return self._overlay(tree) if self._overlay is not None else tree

    def _tree_of_source(self, commit: str) -> bytes:
        tree = self._source_tree.get(commit)
        if tree is None:
            tree = self._repo[commit].peel(pygit2.Commit).tree_id.raw
            self._source_tree[commit] = tree
        return tree

    def _tree_of_public(self, commit: str | None) -> bytes:
        if commit is None:
            return EMPTY_TREE
        tree = self._public_tree.get(commit)
        if tree is None:
            tree = self._repo[commit].peel(pygit2.Commit).tree_id.raw
            self._public_tree[commit] = tree
        return tree

    def reuse(self, earlier: EarlierRewrite) -> None:
        """Take over what an earlier run of the same rewrite produced (the sync cache's
        pending record): those commits are then known, with the same images and pruning
        decisions a walk over them would give."""
        self._earlier = earlier

    def rewrite(
        self,
        tip: str,
        synced: Container[str],
        image_of_old: Callable[[str], str | None],
        root_parent: str | None = None,
        on_commit: Callable[[int, int | None], None] | None = None,
    ) -> RewriteResult:
        """Rewrite the commits reachable from ``tip`` without passing a known one.

        Args:
            tip: the source commit to publish.
            synced: source commits already in public history; the walk stops at them (and at
                preloaded ones), so it reads only the new commits, never the history below.
            image_of_old: public id for a commit the walk stopped at, or for an ancestor of
                one that ``synced`` does not name (one that was pruned, say); None when it has
                none.
            root_parent: public commit that rewritten root commits take as their parent.
            on_commit: called with the number of commits done so far and the total (None when
                it is not known in advance), for progress.
        """
        created: list[tuple[str, str]] = []
        pruned: list[str] = []
        converged: list[tuple[str, str]] = []
        commits, total = self._walk(tip, synced)
        for done, (source, commit) in enumerate(commits, 1):
            public = self._rewrite_one(source, commit, image_of_old, root_parent)
            if public is None or source in self._pruned:
                pruned.append(source)
            elif source in self._converged:
                converged.append((source, public))
            else:
                created.append((source, public))
            if on_commit is not None:
                on_commit(done, total)
        return RewriteResult(self._lookup(tip, image_of_old), created, pruned, converged)

    def _walk(
        self, tip: str, synced: Container[str]
    ) -> tuple[Iterable[tuple[str, RawCommit]], int | None]:
        """The commits to rewrite, parents first, and how many when that is known."""
        image = self._image
        earlier = self._earlier
        if tip in image or tip in synced or (earlier is not None and earlier.knows(tip)):
            return [], 0
        if not image and not synced and earlier is None:
            # Nothing is known (a first sync): one topological walk, shared by the targets of
            # a run when they share the reading of the history.
            return self._commits(tip, ()), None
        # Depth first from the tip, stopping at known commits; a commit is emitted after its
        # parents. An explicit stack: histories are far deeper than Python's recursion limit.
        odb = self._repo.odb
        order: list[tuple[str, RawCommit]] = []
        visited: set[str] = set()
        stack: list[tuple[str, RawCommit | None]] = [(tip, None)]
        while stack:
            source, expanded = stack.pop()
            if expanded is not None:
                order.append((source, expanded))
                continue
            if source in visited:  # reached again through another child: already emitted
                continue
            visited.add(source)
            commit = RawCommit.parse(_read_commit(odb, source))
            stack.append((source, commit))
            for parent in reversed(commit.parents):
                if parent in visited or parent in image or parent in synced:
                    continue
                if earlier is None or not earlier.knows(parent):
                    stack.append((parent, None))
        return order, len(order)

    def _was_pruned(self, source: str) -> bool:
        if source in self._pruned:
            return True
        return self._earlier is not None and self._earlier.is_pruned(source)

    def image_of(self, source: str) -> str | None:
        """The public commit this run gave ``source`` (for a pruned one: what stands for it)."""
        return self._image.get(source)

    def _lookup(self, source: str, image_of_old: Callable[[str], str | None]) -> str | None:
        if source in self._image:
            return self._image[source]
        if self._earlier is not None:
            known, public = self._earlier.image(source)
            if known:
                self._image[source] = public
                return public
        public = image_of_old(source)
        self._image[source] = public
        return public

    def _rewrite_one(
        self,
        source: str,
        commit: RawCommit,
        image_of_old: Callable[[str], str | None],
        root_parent: str | None,
    ) -> str | None:
        tree = bytes.fromhex(commit.tree)
        self._source_tree[source] = tree
        self._orig_graph.add(source, commit.parents)
        new_tree = self._filter(source, tree)
        orig = list(commit.parents)
        mapped = [self._lookup(p, image_of_old) for p in orig]
        original = self._absorbed_original(commit.message, mapped, new_tree)
        if original is not None:
            # Absorbed from the public side: it *is* that public commit, so the two sides
            # converge instead of the contribution coming back as a duplicate.
            self._public_tree[original] = new_tree
            self._graph.add(original, [p for p in mapped if p])
            self._image[source] = original
            self._converged.add(source)
            return original
        parents, new_first = self._trim_parents(orig, mapped)

        base = new_first or (parents[0] if parents else None)
        if self._prunable(
            orig=orig,
            parents=parents,
            new_first=new_first,
            tree=tree,
            new_tree=new_tree,
            base=base,
        ):
            self._image[source] = base
            self._pruned.add(source)
            return base

        parent_tree = self._input_tree(self._tree_of_source(orig[0])) if orig else None
        self.guard.check(source, self._input_tree(tree), parent_tree, self.trees.compared)
        if not parents and root_parent is not None:
            parents = [root_parent]
        if new_tree == EMPTY_TREE:
            # git synthesises the empty tree locally; a remote must be sent it to have it.
            self._sink.add(OBJ_TREE, b"")
        message, headers = self._public_text(source, commit)
        if self._trailer:
            if self._trailer.encode("ascii") in message:
                self.trailer_in_text = True
            message = add_trailer(message, self._trailer, source)
        data = commit.serialise(new_tree.hex(), parents, message, headers)
        public = self._sink.add(OBJ_COMMIT, data).hex()
        if self._quoted_ids is not None:
            self._quoted_ids.published[source] = public
        self._public_tree[public] = new_tree
        self._graph.add(public, parents)
        self._image[source] = public
        return public

    def _absorbed_original(
        self, message: bytes, mapped: list[str | None], new_tree: bytes
    ) -> str | None:
        """The public commit ``P`` an absorbed commit names (``Pubgate-Absorbed: P``), when
        its mapped parents are ``P``'s parents and its filtered tree is ``P``'s tree."""
        if ABSORBED_TRAILER.encode() not in message:
            return None
        for public in source_ids(message, ABSORBED_TRAILER):
            oid = pygit2.Oid(hex=public)
            if oid not in self._repo.odb:
                continue  # not fetched (another target, or a history without it)
            kind, raw = self._repo.odb.read(oid)
            if kind != OBJ_COMMIT:
                continue
            original = RawCommit.parse(raw)
            if list(original.parents) == mapped and bytes.fromhex(original.tree) == new_tree:
                return public
        return None

    def _public_text(self, source: str, commit: RawCommit) -> tuple[bytes, bytes | None]:
        """The message and headers a public commit carries; refuses what must not go out."""
        message = commit.message
        if self._quoted_ids is not None:  # first, so the rules below see the public ids
            message = self._quoted_ids.rewrite(source, message)
        if self._messages is not None:
            message = self._messages.apply(message)
            rule = self._messages.violation(message)
            if rule is not None:
                raise PubgateError(
                    f"refusing to publish {source[:12]}, since its message still matches the "
                    f"forbid rule {rule!r} after scrubbing",
                    "reword the commit, or add a message.scrub rule for that text",
                )
        if self._people is None:
            return message, None
        try:
            return self._people.message(message), self._people.headers(commit.other_headers)
        except IdentityError as e:
            raise PubgateError(
                f"refusing to publish {source[:12]}, since it would publish {e.who} "
                f"from the internal domain {e.domain}",
                "map that address, or its whole domain, under authors.map",
            ) from e

    def _trim_parents(
        self, orig: list[str], mapped: list[str | None]
    ) -> tuple[list[str], str | None]:
        """Drop parents that pruning made missing or redundant (filter-repo's trim).

        Returns the parents and, when the commit would stop being a merge, the parent it would
        collapse onto. Parents already redundant in the source (a ``--no-ff`` merge) stay.
        """
        rows = [(p, o, self._was_pruned(o)) for p, o in zip(mapped, orig, strict=True) if p]
        if not rows:
            return [], None
        parents = [p for p, _, _ in rows]
        if len(rows) < 2:
            return parents, None
        seen: set[str] = set()
        unique = []
        for row in rows:
            if row[0] not in seen or not row[2]:
                unique.append(row)
            seen.add(row[0])
        if len(unique) < 2:
            return parents, unique[0][0]
        removable = []
        for i, (p, o, rewritten) in enumerate(unique):
            if not rewritten:
                continue
            for j, (other, other_orig, _) in enumerate(unique):
                if i == j or not self._graph.is_ancestor(p, other):
                    continue
                if self._orig_graph.is_ancestor(o, other_orig):
                    continue
                removable.append(i)
                break
        kept = [row for i, row in enumerate(unique) if i not in removable]
        if len(kept) < 2:
            return parents, kept[0][0]
        return [p for p, _, _ in kept], None

    def _same_entries(self, a: bytes, b: bytes, *, public: bool) -> bool:
        """Whether two trees are the same as git compares them (fast-export, filter-repo): ids
        differ for the same entries only when a mode is spelled the old way somewhere."""
        if a == b or not self.trees.odd_modes:
            return a == b
        read = self.trees.read_public if public else self._read_source
        return same_entries(a, b, read)

    def _read_source(self, tree: bytes) -> bytes:
        return bytes(self._repo.odb.read(pygit2.Oid(raw=tree))[1])

    def _stored_is_ancestor(self, maybe_ancestor: str, commit: str) -> bool:
        """Ancestry among commits stored before this run (libgit2 walks for it)."""
        return maybe_ancestor == commit or bool(self._repo.descendant_of(commit, maybe_ancestor))

    def _prunable(
        self,
        *,
        orig: list[str],
        parents: list[str],
        new_first: str | None,
        tree: bytes,
        new_tree: bytes,
        base: str | None,
    ) -> bool:
        """filter-repo's ``_prunable`` expressed on trees instead of fast-export file changes."""
        if len(parents) >= 2 and new_first is None:
            return False
        same_as_base = self._same_entries(new_tree, self._tree_of_public(base), public=True)
        if len(parents) < 2:
            orig_first_tree = self._tree_of_source(orig[0]) if orig else EMPTY_TREE
            had_changes = not self._same_entries(tree, orig_first_tree, public=False)
            if not had_changes:
                # A commit that was empty in the source stays, unless its parents were pruned.
                parents_pruned = len(parents) < len(orig) or (
                    len(orig) == 1 and self._was_pruned(orig[0])
                )
                return same_as_base and parents_pruned
        return same_as_base


def content_refusal(commit: str, error: ContentError) -> PubgateError:
    """The error for a file that cannot go out: commit, path, line, what; never the content."""
    if error.fingerprint is not None:
        return PubgateError(
            f"refusing to publish {commit[:12]}, since {error.where} holds {error.problem} "
            f"(fingerprint {error.fingerprint})",
            "remove it from the source history (and revoke it), or, if it is no secret, add "
            f"'{error.fingerprint}' to secrets.allow",
        )
    return PubgateError(
        f"refusing to publish {commit[:12]}, since {error.where}: {error.problem}",
        error.hint
        or "fix the BEGIN-INTERNAL/END-INTERNAL markers in the source, or exclude the path "
        "(a malformed block in an old commit cannot be published safely)",
    )
