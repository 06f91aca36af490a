"""The tree guard takes the tree filter's comparisons and skips trees that passed in the same
place before: it must still refuse everything a guard comparing every tree itself refuses."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pygit2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from git_pubgate.content import ContentPolicy
from git_pubgate.errors import PubgateError
from git_pubgate.guard import TreeDiff, TreeGuard, forbidden
from git_pubgate.objects import PackWriter, TreeEntry, parse_tree, shared_entries
from git_pubgate.rewrite import Rewriter
from git_pubgate.rules import Rules

from .test_hostile import raw_commit, raw_tree

SYMLINK = b"120000"  # the reference guard below compares modes as the guard did then

FILE, DIR, LINK = b"100644", b"40000", b"120000"
# A flat tree: path -> (mode, content); a symlink's content is its target.
Files = dict[str, tuple[bytes, bytes]]


def write_tree(repo: pygit2.Repository, files: Files) -> pygit2.Oid:
    """Nested raw trees (any name, even one git refuses) for a flat path -> file mapping."""
    children: dict[str, dict[bytes, tuple[bytes, pygit2.Oid]]] = {"": {}}
    for path, (mode, content) in files.items():
        parts = path.split("/")
        for depth in range(1, len(parts)):
            children.setdefault("/".join(parts[:depth]), {})
        children["/".join(parts[:-1])][parts[-1].encode()] = (mode, repo.create_blob(content))
    for folder in sorted(children, key=lambda p: p.count("/") if p else -1, reverse=True):
        if folder:
            parent, _, name = folder.rpartition("/")
            children[parent][name.encode()] = (DIR, raw_tree(repo, children[folder]))
    return raw_tree(repo, children[""])


@dataclass
class Step:
    """A commit on ``parents`` (indices of earlier commits; none: a root) setting ``files`` on
    the first parent's (None deletes a path), or taking commit ``tree_of``'s tree."""

    parents: list[int]
    files: dict[str, tuple[bytes, bytes] | None]
    tree_of: int | None = None


def history(path: Path, steps: list[Step]) -> tuple[pygit2.Repository, list[str]]:
    repo = pygit2.init_repository(str(path), bare=True)
    flat: list[Files] = []
    ids: list[pygit2.Oid] = []
    for number, step in enumerate(steps):
        if step.tree_of is not None:
            files = dict(flat[step.tree_of])
        else:
            files = dict(flat[step.parents[0]]) if step.parents else {}
            for name, spec in step.files.items():
                if spec is None:
                    files.pop(name, None)
                else:
                    # A path is a file or a directory, never both at once.
                    files = {p: f for p, f in files.items() if not p.startswith(name + "/")}
                    if not any(name.startswith(p + "/") for p in files):
                        files[name] = spec
        flat.append(files)
        when = b"%d +0000" % (1_600_000_000 + 60 * number)
        parents = [ids[p] for p in step.parents]
        ids.append(raw_commit(repo, write_tree(repo, files), parents, when, b"c%d\n" % number))
    repo.references.create("refs/heads/main", ids[-1])
    return repo, [str(i) for i in ids]


class ComparingGuard(TreeGuard):
    """The guard as it was before it took the filter's comparisons: every changed directory is
    read and compared with the last tree looked at in the same place, by the guard itself."""

    def __init__(self, repo: pygit2.Repository, rules: Rules):
        super().__init__(repo, rules)
        self._seen: dict[bytes, tuple[bytes, bytes, list[int]]] = {}

    def check(
        self,
        commit: str,
        tree: bytes,
        parent_tree: bytes | None,
        diffs: object = None,
    ) -> None:
        stack: list[tuple[bytes, bytes | None, bytes, tuple[bytes, str] | None]] = [
            (tree, parent_tree, b"", None)
        ]
        while stack:
            new, old, prefix, refused = stack.pop()
            for (mode, name, oid, _, is_tree), was in self._compared(new, old, prefix):
                path = prefix + name
                why = forbidden(name, mode)
                if is_tree:
                    if self._keeps_dir(path):
                        below = refused or ((path, why) if why else None)
                        old_child = was[2] if was is not None and was[4] else None
                        stack.append((oid, old_child, path + b"/", below))
                    continue
                if refused is None and why is None and mode != SYMLINK:
                    continue
                if not self._is_public(path):
                    continue
                if refused is not None or why is not None:
                    where, reason = refused or (path, why or "")
                    raise PubgateError(
                        f"refusing to publish {commit[:12]}, since its tree holds "
                        f"{where.decode('utf-8', 'backslashreplace')!r}: {reason}, which git "
                        "refuses",
                        "rename or remove it in the source, or exclude that path",
                    )
                if mode == SYMLINK:
                    self._symlink(commit, tree, path, oid)

    def _compared(
        self, new: bytes, old: bytes | None, prefix: bytes
    ) -> list[tuple[TreeEntry, TreeEntry | None]]:
        last = self._seen.get(prefix)
        if last is not None and last[0] == new:
            return []
        if last is None and old is not None:
            if old == new:
                return []
            data = self._read(old)
            last = (old, data, [e[3] for e in self._parse(old, data)] + [len(data)])
        data = self._read(new)
        entries = self._parse(new, data)
        self._seen[prefix] = (new, data, [e[3] for e in entries] + [len(data)])
        if last is None:
            return [(e, None) for e in entries]
        head, tail = shared_entries(data, last[1], last[2])
        middle_end = len(data) - (len(last[1]) - last[2][tail])
        middle = parse_tree(data, last[2][head], middle_end) or []
        before = parse_tree(last[1], last[2][head], last[2][tail]) or []
        by_name = {e[1]: e for e in before}
        changed: list[tuple[TreeEntry, TreeEntry | None]] = []
        for entry in middle:
            was = by_name.get(entry[1])
            if was is None or was[0] != entry[0] or was[2] != entry[2]:
                changed.append((entry, was))
        return changed


@dataclass
class Outcome:
    refusal: str | None
    leaving: dict[bytes, bytes]


def run(
    repo: pygit2.Repository,
    tip: str,
    exclude: list[str],
    *,
    content: bool,
    comparing: bool = False,
) -> Outcome:
    rules = Rules.compile(exclude)
    writer = PackWriter(Path(repo.path))
    policy = ContentPolicy(user_exclude=exclude) if content else None
    rewriter = Rewriter(repo, rules, writer, None, content=policy)
    if comparing:
        rewriter.guard = ComparingGuard(repo, rules)
    try:
        rewriter.rewrite(tip, {}, lambda _: None)
    except PubgateError as e:
        return Outcome(e.message, rewriter.guard.leaving)
    finally:
        writer.abort()
    return Outcome(None, rewriter.guard.leaving)


@pytest.mark.parametrize("content", [False, True])
def test_a_directory_the_filter_takes_whole_is_still_looked_at(
    tmp_path: Path, content: bool
) -> None:
    # Without content rules the filter keeps lib/ by id (no rule can match below it), and
    # takes .GIT/lib/ from its memo (a floating rule: the result does not depend on place).
    lib: Files = {"lib/x.py": (FILE, b"x\n"), "lib/deep/y.py": (FILE, b"y\n")}
    for exclude in (["/internal/"], ["*.pem"]):
        repo, ids = history(
            tmp_path / f"src-{exclude[0][1:4]}",
            [
                Step([], {**lib, "README": (FILE, b"r\n")}),
                Step([0], {".GIT/lib/x.py": (FILE, b"x\n"), ".GIT/lib/deep/y.py": (FILE, b"y\n")}),
            ],
        )
        outcome = run(repo, ids[1], exclude, content=content)
        assert outcome.refusal == (
            f"refusing to publish {ids[1][:12]}, since its tree holds '.GIT': a name that file "
            "systems read as '.git', which git refuses"
        )


def test_a_directory_holding_a_symlink_is_looked_at_again_when_it_comes_back(
    tmp_path: Path,
) -> None:
    # src/ holds a link to "../internal" while no internal/ exists (a public file path then);
    # then the link goes, internal/ comes, and src/ comes back as it was: the link now
    # points into an excluded directory. A directory holding a symlink never counts as
    # passed, so it is compared again.
    src: Files = {"src/a.py": (FILE, b"a\n"), "src/link": (LINK, b"../internal")}
    repo, ids = history(
        tmp_path / "src",
        [
            Step([], {**src, "README": (FILE, b"r\n")}),
            Step([0], {"src/link": None}),
            Step([1], {"internal/notes": (FILE, b"secret\n"), "README": (FILE, b"r2\n")}),
            Step([2], {"src/link": (LINK, b"../internal")}),
        ],
    )
    for content in (False, True):
        outcome = run(repo, ids[3], ["internal/"], content=content)
        assert outcome.refusal == (
            f"refusing to publish {ids[3][:12]}, since its symlink 'src/link' points into "
            "the excluded path 'internal'"
        )


def test_a_tree_that_passed_is_skipped_when_it_comes_back(tmp_path: Path) -> None:
    # Directly on the guard: the second time src/ holds the same tree, nothing below is read.
    repo, ids = history(
        tmp_path / "src",
        [
            Step([], {"src/a.py": (FILE, b"a\n"), "README": (FILE, b"r\n")}),
            Step([0], {"src/a.py": (FILE, b"b\n")}),
            Step([1], {"src/a.py": (FILE, b"a\n"), "README": (FILE, b"r2\n")}),
        ],
    )
    commits = [repo[i].peel(pygit2.Commit) for i in ids]
    trees = [c.tree_id.raw for c in commits]
    src = [c.tree["src"].id.raw for c in commits]
    guard = TreeGuard(repo, Rules.compile(["internal/"]))
    guard.check(ids[0], trees[0], None)
    guard.check(ids[1], trees[1], trees[0])
    # A comparison that claims src/ changed in a way that would be refused: it is not taken,
    # since src/ holds a tree that passed in that place already.
    bad = (b"100644", b".git", src[0], 0, False)
    lie = TreeDiff(src[0], b"", src[1], b"", [0, 0], 0, 0, [bad])
    guard.check(ids[2], trees[2], trees[1], {b"src/": lie})
    # The same comparison for a tree that never passed there is taken.
    fresh = TreeGuard(repo, Rules.compile(["internal/"]))
    fresh.check(ids[1], trees[1], None)
    with pytest.raises(PubgateError, match=r"'src/\.git'"):
        fresh.check(ids[2], trees[2], trees[1], {b"src/": lie})


def test_a_comparison_with_a_tree_that_did_not_pass_is_not_taken(tmp_path: Path) -> None:
    # The filter compares with the last tree it filtered in a place, which may be one the guard
    # never looked at (a pruned commit's): such a comparison says nothing about what passed.
    repo, ids = history(
        tmp_path / "src",
        [
            Step([], {"src/a.py": (FILE, b"a\n"), "README": (FILE, b"r\n")}),
            Step([0], {"src/.git": (FILE, b"x\n")}),
        ],
    )
    commits = [repo[i].peel(pygit2.Commit) for i in ids]
    trees = [c.tree_id.raw for c in commits]
    src = [c.tree["src"].id.raw for c in commits]
    guard = TreeGuard(repo, Rules.compile(["internal/"]))
    guard.check(ids[0], trees[0], None)
    # "src/ is the same as some other tree but for nothing": the guard compares itself.
    unrelated = TreeDiff(src[1], b"", trees[0], b"", [0, 0], 0, 0, [])
    with pytest.raises(PubgateError, match=r"'src/\.git'"):
        guard.check(ids[1], trees[1], trees[0], {b"src/": unrelated})


# Names that mix what git refuses, what the rules exclude, and plain ones (more of those, so
# that most histories go on for a while); kinds are fixed so that a path is always a file or
# always a directory.
DIRS = ["a", "b", "c", "a", "b", "c", "internal", ".GIT", "git~1"]
FILES = ["f", "g", "h", "f", "g", "h", "x.pem", ".git", "gitmod~1"]
TARGETS = [b"f", b"../a", b"../internal", b"../internal/f", b"/etc/passwd", b"../../up", b"."]
paths = st.builds(
    lambda dirs, name: "/".join([*dirs, name]),
    st.lists(st.sampled_from(DIRS), min_size=0, max_size=2),
    st.sampled_from(FILES),
)
specs = st.one_of(
    st.none(),
    st.builds(lambda n: (FILE, b"%d\n" % n), st.integers(0, 3)),
    st.builds(lambda t: (LINK, t), st.sampled_from(TARGETS)),
)


@st.composite
def histories(draw: st.DrawFn) -> list[Step]:
    steps = [Step([], draw(st.dictionaries(paths, specs.filter(bool), min_size=1, max_size=4)))]
    for number in range(1, draw(st.integers(2, 9))):
        kind = draw(st.sampled_from(["change", "change", "merge", "revert"]))
        first = draw(st.integers(0, number - 1))
        if kind == "merge" and number >= 2:
            second = draw(st.integers(0, number - 2))
            parents = [first, second if second < first else second + 1]
        else:
            parents = [first]
        if kind == "revert":
            steps.append(Step(parents, {}, tree_of=draw(st.integers(0, number - 1))))
        else:
            steps.append(Step(parents, draw(st.dictionaries(paths, specs, max_size=3))))
    return steps


@settings(
    derandomize=True,
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    steps=histories(),
    exclude=st.sampled_from([["internal/"], ["/a/internal/", "*.pem"], ["b/"], []]),
    content=st.booleans(),
)
def test_refuses_all_a_guard_comparing_every_tree_itself_refuses(
    tmp_path_factory: pytest.TempPathFactory, steps: list[Step], exclude: list[str], content: bool
) -> None:
    repo, ids = history(tmp_path_factory.mktemp("h") / "src.git", steps)
    shared = run(repo, ids[-1], exclude, content=content)
    comparing = run(repo, ids[-1], exclude, content=content, comparing=True)
    if comparing.refusal is not None or shared.refusal is None:
        # The same refusal, naming the same commit, or none at all; what leaves is listed.
        assert shared.refusal == comparing.refusal
        assert shared.leaving.keys() >= comparing.leaving.keys()
    else:
        # More can only be a symlink whose target became an excluded directory while the link
        # stayed: the comparing guard never looked at the link again.
        assert "symlink" in shared.refusal and "points into the excluded path" in shared.refusal
