"""The content prefilter: the strings derived from each expression, the ``git grep`` that finds
them, and the tree filter giving exactly the same trees, errors and findings with it as
without it."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from pathlib import Path

import pygit2
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from git_pubgate.content import ConfigFile, ContentError, ContentPolicy, Outcome, PathClass
from git_pubgate.content_prefilter import grep, needles, required_strings, scan_for
from git_pubgate.objects import PackWriter
from git_pubgate.pattern_check import PatternCheck
from git_pubgate.policy import DEFAULT_EXCLUDES
from git_pubgate.replace import Replacement
from git_pubgate.rewrite import TreeFilter
from git_pubgate.rules import Rules
from git_pubgate.secrets import SecretScanner

from .factory import git

TOKEN = "tok-" + "Q7" * 8  # a configured token variable's value, made at run time


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        (rb"internal\.corp\.example", {b"internal.corp.example"}),
        (rb"(?i)Acme(Corp|Inc)", {b"AcmeCorp", b"AcmeInc"}),
        (rb"colou?r", {b"color", b"colour"}),
        (rb"gh[pousr]_", {b"ghp_", b"gho_", b"ghu_", b"ghs_", b"ghr_"}),
        (rb"^\s*host = (db|cache)\.corp$", {b"host = db.corp", b"host = cache.corp"}),
        (rb"(?x) a b c  # spaces are not literals here", {b"abc"}),
        (rb"line one\nline two!", {b"line two!"}),  # git grep matches within a line
        (rb"x(?:abc)+y", {b"abc"}),
        (rb"[^/]+\.pem", {b".pem"}),
        (rb"xyz|a(bc|de)f", {b"xyz", b"abcf", b"adef"}),
    ],
)
def test_required_strings(pattern: bytes, expected: set[bytes]) -> None:
    assert required_strings(re.compile(pattern, re.MULTILINE)) == frozenset(expected)


@pytest.mark.parametrize(
    "pattern",
    [rb"\d{4}", rb"[a-z]+", rb"x*", rb"ab?", rb"xyz|\d", rb"(?L)abcd", "é+".encode()],
)
def test_no_required_strings(pattern: bytes) -> None:
    assert required_strings(re.compile(pattern)) is None
    assert needles([re.compile(rb"BEGIN-INTERNAL"), re.compile(pattern)]) is None


def test_every_search_of_the_policy_gives_strings() -> None:
    policy = ContentPolicy(
        replacements=[Replacement(r"corp\.example", "example.org")],
        scanner=SecretScanner([("TOKEN", TOKEN)]),
    )
    found = needles(policy.searches())
    assert found is not None
    assert {b"BEGIN-INTERNAL", b"corp.example", TOKEN.encode(), b"-----BEGIN "} <= found
    assert {b"_authToken", b"aws_secret", b"xoxb-", b"ghp_"} <= found


# Random expressions over a small alphabet, and random texts over the same one: whenever an
# expression matches, the text holds one of its strings.
_ATOMS = ["abc", "Ab_", "x-y", r"a\.b", "[ab]c", "[^a]", ".", r"\d", "(?:ab|ba)c", "(a|bb)", "^"]
_REGEX = st.recursive(
    st.sampled_from(_ATOMS),
    lambda inner: st.one_of(
        st.lists(inner, min_size=1, max_size=5).map("".join),
        st.tuples(inner, st.sampled_from(["?", "*", "+", "{2}", "{0,2}", "+?"])).map(
            lambda t: f"(?:{t[0]}){t[1]}"
        ),
        st.lists(inner, min_size=2, max_size=3).map(lambda xs: "(?:" + "|".join(xs) + ")"),
        inner.map(lambda x: f"(?i:{x})"),
    ),
    max_leaves=10,
)
_PIECES = [b"abc", b"ABC", b"ab_", b"x-y", b"a.b", b"bc", b"ac", b"bbc", b"abac", b"a", b"b", b"1"]
_TEXT = st.lists(st.sampled_from([*_PIECES, b"\n", b"\0", b"_", b"-"]), max_size=24).map(b"".join)


@settings(derandomize=True, max_examples=600, suppress_health_check=[HealthCheck.filter_too_much])
@given(_REGEX, _TEXT)
def test_a_match_always_holds_a_required_string(regex: str, text: bytes) -> None:
    pattern = re.compile(regex.encode(), re.MULTILINE)
    strings = required_strings(pattern)
    assume(strings is not None)
    assert strings is not None
    if pattern.search(text):
        assert any(s.lower() in text.lower() for s in strings)


# Fragments of what the content rules look for, and near misses.
_FRAGMENTS = [
    b"# BEGIN-INTERNAL\n",
    b"# END-INTERNAL\n",
    b"// begin-internal\n",
    b"BEGIN-PUBLIC",
    b"x-INTERNAL",
    b"\0",
    b"\r\n",
    b"plain text\n",
    b"corp.example",
    b"CORP.EXAMPLE",
    b"corp_example",
    b"AKIA" + b"Z" * 16,
    b"aws_secret_access_key = " + b"k" * 40,
    b"ghp_" + b"a" * 36,
    b"-----BEGIN RSA PRIVATE KEY-----\n" + b"M" * 64 + b"\n",
    b"version https://git-lfs.github.com/spec/v1\n",
    b"oid sha256:" + b"0" * 64 + b"\n",
    b"_authToken=abc\n",
    TOKEN.encode(),
    TOKEN[:-2].encode(),
    b"plain text\n",  # more often than the rest
    b"corp example\n",
    b"BEGIN INTERNAL\n",
    b"version 2\n",
]


@functools.cache
def _property_policy(binary: bool) -> tuple[ContentPolicy, frozenset[bytes]]:
    policy = ContentPolicy(
        replacements=[
            Replacement(r"corp\.example", "example.org"),
            Replacement(r"(?i)CORP_EXAMPLE", "x", ("docs/",)),
        ],
        scanner=SecretScanner([("TOKEN", TOKEN)]),
    )
    if binary:
        policy.use_attributes(b"attrs", lambda _: b"*.dat binary\n")
    found = needles(policy.searches())
    assert found is not None
    return policy, found


@settings(derandomize=True, max_examples=300)
@given(
    st.lists(st.sampled_from(_FRAGMENTS), max_size=6).map(b"".join),
    st.sampled_from([b"src/a.py", b"docs/b.md", b".npmrc", b"x.dat"]),
    st.booleans(),
)
def test_a_blob_without_any_string_publishes_as_it_is(
    data: bytes, path: bytes, binary: bool
) -> None:
    policy, found = _property_policy(binary)
    assume(not any(s.lower() in data.lower() for s in found))
    blob = pygit2.hash(data).raw
    outcome = policy.publish(path, b"100644", blob, lambda _: data, lambda _: b"written")
    assert outcome == Outcome(blob)
    assert not policy.lfs_seen


def test_the_class_of_a_path_does_not_read_content() -> None:
    """``publish`` depends on the blob only through ``_transform`` and ``_scan``: a path class
    is made of the path alone (so the prefilter may skip a blob whatever its path)."""
    assert set(PathClass.__dataclass_fields__) == {"binary_attr", "replace", "special"}


def _write_tree(repo: pygit2.Repository, files: dict[bytes, tuple[int, bytes]]) -> bytes:
    """Nested trees for path -> (mode, content) with any bytes in names (gitlinks: hex id)."""
    entries: list[tuple[bytes, bytes, bytes]] = []
    folders: dict[bytes, dict[bytes, tuple[int, bytes]]] = {}
    for path, (mode, content) in files.items():
        head, slash, rest = path.partition(b"/")
        if slash:
            folders.setdefault(head, {})[rest] = (mode, content)
            continue
        if mode == 0o40000:  # an empty tree, which git never writes but a tree may hold
            oid = repo.odb.write(pygit2.enums.ObjectType.TREE, b"").raw
        elif mode == 0o160000:
            oid = bytes.fromhex(content.decode())
        else:
            oid = repo.create_blob(content).raw
        entries.append((b"%o" % mode, head, oid))
    for name, below in folders.items():
        entries.append((b"40000", name, _write_tree(repo, below)))
    entries.sort(key=lambda e: e[1] + (b"/" if e[0] == b"40000" else b""))
    data = b"".join(mode + b" " + name + b"\0" + oid for mode, name, oid in entries)
    return repo.odb.write(pygit2.enums.ObjectType.TREE, data).raw


MARKED = b"keep\n# BEGIN-INTERNAL\nhidden\n# BEGIN-PUBLIC\n# shown\n# END-PUBLIC\n# END-INTERNAL\n"
POINTER = b"version https://git-lfs.github.com/spec/v1\noid sha256:" + b"a" * 64 + b"\nsize 9\n"
CONFIG = b"target_repo: x\n# BEGIN-INTERNAL\nexclude: [secret/]\n# END-INTERNAL\n"


def _rich_files(commit: str) -> dict[bytes, tuple[int, bytes]]:
    clean = {
        f"src/deep/d{i}/f{j}.txt".encode(): (0o100644, b"text %d\n" % j)
        for i in range(4)
        for j in range(5)
    }
    return {
        **clean,
        b"src/deep/d2/marked.py": (0o100755, MARKED),
        b"src/app.py": (0o100644, b"print('hello')\r\n"),
        b"src/hosts.txt": (0o100644, b"HOST = PYPI.CORP.EXAMPLE"),  # -i finds it: read, unchanged
        b"docs/guide.md": (0o100644, b"see https://pypi.corp.example/simple\n"),
        b"docs/old.md": (0o100644, b"CORP_EXAMPLE only in docs/\n"),
        b"bin/blob.dat": (0o100644, b"\0\1\2 corp.example \0"),  # binary: never edited
        b"bin/big.txt": (0o100644, b"filler line\n" * 100_000 + b"corp.example at the end"),
        b"bin/big.bin": (0o100644, b"\0" * 1_100_000),
        b"odd/tab\tname.txt": (0o100644, b"corp.example\n"),
        b"odd/new\nline.md": (0o100644, MARKED),
        b"odd/\xff\xfe latin-1.txt": (0o100644, b"caf\xe9 corp.example\n"),
        b"odd/-dash:colon.txt": (0o100644, b"nothing\n"),
        b"cfg/.npmrc": (0o100644, b"//registry/:_authToken=abc123\n"),
        b"lfs/model.bin": (0o100644, POINTER),
        b"link": (0o120000, b"src/app.py"),
        b"vendor/lib": (0o160000, commit.encode()),
        b"pubgate.yaml": (0o100644, CONFIG),
        b"secret/notes.md": (0o100644, b"# BEGIN-INTERNAL\nnever read\n"),  # excluded
        b".gitattributes": (0o100644, b"*.dat binary\n"),
        b"src/deep/d1/empty": (0o40000, b""),  # dropped, also where no rule reaches
    }


@pytest.fixture
def repo(tmp_path: Path) -> pygit2.Repository:
    path = tmp_path / "repo.git"
    git("init", "-q", "--bare", str(path))
    # Configuration that would change what git grep reports, were it not overridden.
    for key, value in [
        ("grep.patternType", "perl"),
        ("grep.lineNumber", "true"),
        ("submodule.recurse", "true"),
        ("core.bigFileThreshold", "1k"),
        ("grep.threads", "4"),
    ]:
        git("config", key, value, cwd=path)
    return pygit2.Repository(str(path))


def _policies() -> dict[str, ContentPolicy]:
    return {
        "defaults": ContentPolicy(scanner=SecretScanner()),
        "everything": ContentPolicy(
            replacements=[
                Replacement(r"pypi\.corp\.example", "pypi.org"),
                Replacement(r"corp\.example", "example.org"),
                Replacement(r"(?i)CORP_EXAMPLE", "EXAMPLE", ("docs/",)),
            ],
            scanner=SecretScanner([("TOKEN", TOKEN)]),
            config_file=ConfigFile(b"pubgate.yaml", "yaml"),
        ),
        "no literal": ContentPolicy(replacements=[Replacement(r"\d{3}", "N")]),
        "no defaults": ContentPolicy(defaults=False, scanner=SecretScanner()),
    }


@pytest.fixture
def writers() -> Iterator[list[PackWriter]]:
    made: list[PackWriter] = []
    yield made
    for writer in made:
        writer.abort()


def _filter(  # noqa: PLR0917
    repo: pygit2.Repository,
    writers: list[PackWriter],
    rules: Rules,
    policy: ContentPolicy,
    tree: bytes,
    whole: bool,
) -> tuple[TreeFilter, bytes]:
    writers.append(PackWriter(Path(repo.path)))
    trees = TreeFilter(repo, rules, writers[-1], policy)
    return trees, trees.filter_root(tree, whole=whole)


def _matched(rules: Rules, trees: TreeFilter) -> set[str]:
    """The patterns that matched a path the filter asked about."""
    check = PatternCheck(rules.exclude.lines, None)
    check.see(trees.paths_seen())
    return set(check.witnesses)


RULE_SETS = {
    "floating": Rules.compile([*DEFAULT_EXCLUDES, "/secret/"]),
    "anchored": Rules.compile(["/secret/"]),  # leaves whole folders untouched
}


@pytest.mark.parametrize("rules", list(RULE_SETS))
@pytest.mark.parametrize("name", list(_policies()))
def test_the_same_trees_with_the_prefilter_as_without(
    repo: pygit2.Repository, writers: list[PackWriter], rules: str, name: str
) -> None:
    commit = "1" * 40
    tree = _write_tree(repo, _rich_files(commit))
    read, scanned = _policies()[name], _policies()[name]
    full, expected = _filter(repo, writers, RULE_SETS[rules], read, tree, False)
    quick, got = _filter(repo, writers, RULE_SETS[rules], scanned, tree, True)
    assert got == expected
    assert scanned.lfs_seen == read.lfs_seen is True
    assert quick.sectioned == full.sectioned and quick.held_by_content == full.held_by_content
    # Folders that hold no path a pattern may match are not entered (folders_to_enter), so
    # fewer paths are asked about; every pattern still meets the paths it matches.
    assert set(quick.paths_seen()) <= set(full.paths_seen())
    assert _matched(RULE_SETS[rules], quick) == _matched(RULE_SETS[rules], full)

    # The next commit, filtered after each: a clean folder changed, a marked file added.
    files = _rich_files(commit)
    files[b"src/deep/d1/f3.txt"] = (0o100644, b"changed corp.example\n")
    files[b"src/deep/d0/new.md"] = (0o100644, MARKED)
    files[b"odd/tab\tname.txt"] = (0o100644, b"ghp_" + b"b" * 36 + b"\n")
    files[b"odd/tab\tname.txt"] = (0o100644, b"gone\n")
    after = _write_tree(repo, files)
    assert quick.filter_root(after) == full.filter_root(after)
    assert (
        quick.filter_root(after)
        == _filter(repo, writers, RULE_SETS[rules], _policies()[name], after, False)[1]
    )


def test_the_prefilter_lists_only_files_a_rule_could_touch(repo: pygit2.Repository) -> None:
    commit = "1" * 40
    tree = _write_tree(repo, _rich_files(commit))
    found = scan_for(Path(repo.path), tree, _policies()["everything"])
    assert found is not None
    assert found.files == {
        b"src/deep/d2/marked.py",
        b"src/hosts.txt",
        b"docs/guide.md",
        b"docs/old.md",
        b"bin/blob.dat",
        b"bin/big.txt",
        b"odd/tab\tname.txt",
        b"odd/new\nline.md",
        b"odd/\xff\xfe latin-1.txt",
        b"cfg/.npmrc",
        b"lfs/model.bin",
        b"pubgate.yaml",  # the configuration file: always read
        b"secret/notes.md",  # excluded by the path rules, which the filter asks first
    }
    assert scan_for(Path(repo.path), tree, _policies()["no literal"]) is None


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"ok\n# BEGIN-INTERNAL\nnever closed\n", "BEGIN-INTERNAL is never closed"),
        (b"\0binary # END-INTERNAL\n", "a marker in a binary file, which is never edited"),
        (b"key = AKIA" + b"Q" * 16 + b"\n", "a AWS access key id"),
        (b"x\n" * 3 + TOKEN.encode(), "a the value of $TOKEN"),
    ],
)
def test_the_same_refusal_with_the_prefilter_as_without(
    repo: pygit2.Repository, writers: list[PackWriter], content: bytes, problem: str
) -> None:
    files = _rich_files("1" * 40)
    files[b"src/deep/d3/bad.txt"] = (0o100644, content)
    tree = _write_tree(repo, files)
    errors = []
    for whole in (False, True):
        with pytest.raises(ContentError) as caught:
            _filter(repo, writers, RULE_SETS["floating"], _policies()["everything"], tree, whole)
        errors.append((caught.value.path, caught.value.line, caught.value.problem))
    assert errors[0] == errors[1]
    assert errors[0][0] == b"src/deep/d3/bad.txt" and errors[0][2] == problem


def test_git_grep_reads_blobs_as_bytes(repo: pygit2.Repository) -> None:
    files = {
        b"a/nul-first": (0o100644, b"\0" * 9000 + b"x\0-----BEGIN RSA\0"),
        b"a/cr-only": (0o100644, b"one\rtwo BEGIN-INTERNAL\r"),
        b"a/no-final-newline": (0o100644, b"glpat-x"),
        b"a/upper": (0o100644, b"GLPAT-X"),
        b"a/split": (0o100644, b"glp\nat-"),  # not one line: not there
        b"a/near-miss": (0o100644, b"glpat_"),
        b"a/big": (0o100644, b"y" * 3_000_000 + b"glpat-"),  # above core.bigFileThreshold
        b"b/\xff\xfe": (0o100644, b"glpat-"),
        b"b/link": (0o120000, b"glpat-"),  # a symlink's target: never edited, not listed
        b"b/old-mode": (0o100664, b"glpat-"),  # a regular file as old git spelled it
        b"b/gitlink": (0o160000, b"2" * 40),
    }
    tree = _write_tree(repo, files)
    found = grep(Path(repo.path), tree, [b"glpat-", b"-----BEGIN ", b"begin-internal"])
    assert found is not None
    assert set(found) == {
        b"a/nul-first",
        b"a/cr-only",
        b"a/no-final-newline",
        b"a/upper",
        b"a/big",
        b"b/\xff\xfe",
        b"b/old-mode",
    }


def test_no_scan_when_git_cannot_read_the_tree(repo: pygit2.Repository) -> None:
    assert grep(Path(repo.path), b"\1" * 20, [b"glpat-"]) is None
