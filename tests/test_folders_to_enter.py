"""A whole-tree filter that enters only the folders a rule may act on gives the same trees.

``folders_to_enter`` lets ``TreeFilter.filter_root(whole=True)`` keep by id every folder that
holds no path an exclude pattern may match, no file the content rules could touch and no empty
folder. The property test compares it, on generated trees and rules, with the filter that
enters every folder, for the tree itself and for a changed tree filtered after it (the kept
folders are seeded, and a later commit is compared against them).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pygit2
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from git_pubgate.content import ContentError, ContentPolicy
from git_pubgate.content_prefilter import scan_for
from git_pubgate.folders_to_enter import dropped_folders, folders_to_enter, listing_of
from git_pubgate.objects import PackWriter
from git_pubgate.rewrite import TreeFilter
from git_pubgate.rules import Rules
from git_pubgate.secrets import SecretScanner

from .factory import git
from .test_content_prefilter import MARKED, _write_tree

RULE_SETS = [
    ["*.pem"],
    ["*.pem", "/internal/", "docs/internal/"],
    ["build/", "!build/keep.txt"],
    ["a/*"],  # every folder in a/, and what it holds, through the folder
    ["a/**/b", "*.log"],
    ["b"],  # a file or a folder of that name, at any depth
    ["b", "!b/"],  # the folder taken back: a pattern matches it, and it is kept
    ["/a/b/"],
    [],
]
NAMES = ["a", "b", "c", "build", "internal", "docs", "x.pem", "keep.txt", "z.log", "f.txt"]
CONTENTS = [b"plain\n", b"more plain\n", MARKED, b"token ghp_" + b"c" * 36 + b"\n"]

_paths = st.lists(st.sampled_from(NAMES), min_size=1, max_size=4).map("/".join)
_files = st.dictionaries(
    _paths.map(str.encode),
    st.one_of(
        st.tuples(st.just(0o100644), st.sampled_from(CONTENTS)),
        st.just((0o40000, b"")),  # an empty folder
        st.just((0o120000, b"x.pem")),
    ),
    min_size=1,
    max_size=25,
)


def _consistent(files: dict[bytes, tuple[int, bytes]]) -> dict[bytes, tuple[int, bytes]]:
    """Drop paths that would need a file and a folder of the same name."""
    kept: dict[bytes, tuple[int, bytes]] = {}
    folders: set[bytes] = set()
    for path in sorted(files, key=lambda p: (p.count(b"/"), p), reverse=True):
        parts = path.split(b"/")
        above = {b"/".join(parts[:i]) for i in range(1, len(parts))}
        if path in folders or above & kept.keys():
            continue
        if files[path][0] == 0o40000 and path in folders:
            continue
        kept[path] = files[path]
        folders |= above
    return kept


@pytest.fixture
def repo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[pygit2.Repository]:
    path = tmp_path_factory.mktemp("folders") / "repo.git"
    git("init", "-q", "--bare", str(path))
    yield pygit2.Repository(str(path))


def _filters(
    repo: pygit2.Repository, rules: Rules, content: bool
) -> tuple[TreeFilter, TreeFilter, list[PackWriter]]:
    writers = [PackWriter(Path(repo.path)) for _ in range(2)]
    policies = [ContentPolicy(scanner=SecretScanner()) if content else None for _ in range(2)]
    pair = [TreeFilter(repo, rules, w, p) for w, p in zip(writers, policies, strict=True)]
    return pair[0], pair[1], writers


def _outcome(filtering: Callable[[], bytes]) -> tuple[str, str]:
    """The public tree, or the refusal (a secret in a file the content rules read)."""
    try:
        return "published", filtering().hex()
    except ContentError as e:
        return "refused", str(e)


@settings(
    max_examples=120,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    files=_files,
    changes=_files,
    rule_set=st.sampled_from(RULE_SETS),
    content=st.booleans(),
)
@example(  # a folder a pattern matches and another takes back, holding internal sections
    files={b"b/f.txt": (0o100644, MARKED), b"c/b": (0o100644, b"plain\n")},
    changes={},
    rule_set=["b", "!b/"],
    content=True,
)
def test_entering_only_those_folders_gives_the_same_trees(
    repo: pygit2.Repository,
    files: dict[bytes, tuple[int, bytes]],
    changes: dict[bytes, tuple[int, bytes]],
    rule_set: list[str],
    content: bool,
) -> None:
    rules = Rules.compile(rule_set)
    first = _write_tree(repo, _consistent(files))
    second = _write_tree(repo, _consistent({**files, **changes}))
    quick, full, writers = _filters(repo, rules, content)
    try:
        assert _outcome(lambda: quick.filter_root(first, whole=True)) == _outcome(
            lambda: full.filter_root(first)
        )
        assert _outcome(lambda: quick.filter_root(second)) == _outcome(
            lambda: full.filter_root(second)
        )
    finally:
        for writer in writers:
            writer.abort()


def test_only_the_folders_above_what_a_rule_may_act_on_are_entered(
    repo: pygit2.Repository,
) -> None:
    files = {
        b"pkg/mod/a.py": (0o100644, b"a\n"),
        b"pkg/mod/b.py": (0o100644, b"b\n"),
        b"pkg/deploy.pem": (0o100644, b"key\n"),
        b"lib/deep/er/c.py": (0o100644, b"c\n"),
        b"lib/deep/marked.py": (0o100644, MARKED),
        b"other/d.py": (0o100644, b"d\n"),
    }
    tree = _write_tree(repo, files)
    rules = Rules.compile(["*.pem"])
    policy = ContentPolicy(scanner=SecretScanner())
    writer = PackWriter(Path(repo.path))
    try:
        trees = TreeFilter(repo, rules, writer, policy)
        public = trees.filter_root(tree, whole=True)
        asked = set(trees.paths_seen())
    except BaseException:
        writer.abort()
        raise
    writer.commit()
    # The rules are asked about pkg's own entries and lib/deep's, never about other/ or pkg/mod/.
    assert {"pkg/deploy.pem", "lib/deep/marked.py"} <= asked
    assert not {"pkg/mod/a.py", "other/d.py", "lib/deep/er/c.py"} & asked
    listing = git("ls-tree", "-r", "-t", "--name-only", public.hex(), cwd=Path(repo.path))
    assert "pkg/deploy.pem" not in listing.split("\n")  # excluded
    assert "other/d.py" in listing.split("\n")


def test_no_answer_when_rules_content_or_spelling_leave_nothing_to_tell(
    repo: pygit2.Repository,
) -> None:
    tree = _write_tree(repo, {b"a/b.txt": (0o100644, b"b\n")})

    def read(oid: bytes) -> bytes:
        return bytes(repo.odb.read(pygit2.Oid(raw=oid))[1])

    def enter(tree: bytes, rules: Rules, *, content: bool = False) -> frozenset[bytes] | None:
        return folders_to_enter(listing_of(tree, rules, read), None, content=content)

    pem = Rules.compile(["*.pem"])
    assert enter(tree, pem) == frozenset({b""})
    assert enter(tree, Rules.compile(["*.pem"], include=["a/"])) is None
    assert enter(tree, pem.keeping([b"a/b.txt"])) is None
    # Content rules without a scan may touch any file.
    assert enter(tree, pem, content=True) is None
    # A tree this repository does not have cannot be read.
    assert enter(b"\1" * 20, pem) is None
    # A folder that spells a mode as old git did must be read by the filter itself.
    blob = repo.create_blob(b"b\n").raw
    odd = repo.odb.write(pygit2.enums.ObjectType.TREE, b"100664 b.txt\0" + blob).raw
    root = repo.odb.write(pygit2.enums.ObjectType.TREE, b"40000 a\0" + odd).raw
    assert enter(root, pem) is None


def test_the_search_leaves_out_the_outermost_folders_the_rules_drop(
    repo: pygit2.Repository,
) -> None:
    files = {
        b"doc/guide.md": (0o100644, b"g\n"),
        b"doc/api/ref.md": (0o100644, MARKED),
        b"src/a.py": (0o100644, b"a\n"),
        b"src/tests/t.py": (0o100644, MARKED),
        b"src/doc/b.md": (0o100644, MARKED),  # not /doc/: public, and searched
        b"keys/x.pem": (0o100644, b"k\n"),
    }
    tree = _write_tree(repo, files)

    def read(oid: bytes) -> bytes:
        return bytes(repo.odb.read(pygit2.Oid(raw=oid))[1])

    rules = Rules.compile(["/doc/", "tests/", "*.pem"])
    listing = listing_of(tree, rules, read)
    assert listing is not None
    assert dropped_folders(listing, rules) == [b"doc", b"src/tests"]
    # The filter's search then lists only the public file with markers.
    policy = ContentPolicy(scanner=SecretScanner())
    scan = scan_for(Path(repo.path), tree, policy, skip=dropped_folders(listing, rules))
    assert scan is not None and scan.files == {b"src/doc/b.md"}
