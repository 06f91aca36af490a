from __future__ import annotations

import re
import warnings

import pathspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from git_pubgate.rules import Rules

PUBLISHED = [".git/", ".github/workflows/internal_ci.yml", "docs/internal/"]


@pytest.mark.parametrize(
    ("path", "public"),
    [
        (b"docs/internal/plan.md", False),
        (b"docs/internal/deep/x.md", False),
        (b"docs/public.md", True),
        (b"docs/internal.md", True),
        (b".github/workflows/internal_ci.yml", False),
        (b".github/workflows/ci.yml", True),
        (b"src/docs/internal/x.md", True),  # a middle slash anchors "docs/internal/" at the root
    ],
)
def test_published_example_rules(path: bytes, public: bool) -> None:
    assert Rules.compile(PUBLISHED).is_public(path) is public


def test_gitignore_semantics() -> None:
    rules = Rules.compile(["/top.txt", "*.pem", "!keep.pem", "build/"])
    assert not rules.is_public(b"top.txt")
    assert rules.is_public(b"sub/top.txt")  # anchored by the leading slash
    assert not rules.is_public(b"a/b/c/key.pem")  # basename pattern: any depth
    assert rules.is_public(b"a/keep.pem")  # re-included
    assert not rules.is_public(b"x/build/out.o")  # a directory pattern takes what is under it
    assert rules.is_public(b"x/build")  # ...but only directories


def test_excluded_directory_cannot_be_reincluded_below() -> None:
    # git's rule: "It is not possible to re-include a file if a parent directory is excluded."
    rules = Rules.compile(["secret/", "!secret/readme.md"])
    assert not rules.is_public(b"secret/readme.md")


def test_include_is_an_allow_list_applied_first() -> None:
    rules = Rules.compile(exclude=["*.pem"], include=["src/", "README.md"])
    assert rules.is_public(b"README.md")
    assert rules.is_public(b"src/a/b.py")
    assert not rules.is_public(b"src/a/key.pem")
    assert not rules.is_public(b"tools/x.py")


def test_non_utf8_paths_match() -> None:
    rules = Rules.compile(["*.pem"])
    assert not rules.is_public(b"caf\xe9/key.pem")
    assert rules.is_public(b"caf\xe9/notes.txt")


def test_untouched_subtrees_are_only_those_no_rule_reaches() -> None:
    rules = Rules.compile(["docs/internal/", "/ci/secret.yml"])
    assert rules.dir_state(b"src", True).untouched
    assert not rules.dir_state(b"docs", True).untouched
    assert rules.dir_state(b"docs/public", True).untouched
    assert not Rules.compile(["*.pem"]).dir_state(b"src", True).untouched


def _oracle(patterns: list[str], path: str) -> bool:
    """git's rule stated directly: excluded if any parent directory or the path matches."""
    spec = pathspec.GitIgnoreSpec.from_lines(patterns)
    parts = path.split("/")
    for depth in range(1, len(parts)):
        if spec.match_file("/".join(parts[:depth]) + "/"):
            return False
    return not spec.match_file(path)


segment = st.sampled_from(["a", "b", "docs", "internal", "x.pem", "keep.pem", "c.txt"])
pattern = st.sampled_from(
    ["a/", "/a/", "docs/internal/", "*.pem", "!keep.pem", "b/*.txt", "**/c.txt", "/docs/", "x*"]
)


@settings(derandomize=True, max_examples=300)
@given(st.lists(pattern, max_size=4), st.lists(segment, min_size=1, max_size=5))
def test_rules_agree_with_gitignore_oracle(patterns: list[str], parts: list[str]) -> None:
    path = "/".join(parts)
    assert Rules.compile(patterns).is_public(path.encode()) == _oracle(patterns, path)


_glob = st.text(alphabet="ab*?[]!/\\. #", min_size=1, max_size=8)
_name = st.text(alphabet="ab.[]*# ", min_size=1, max_size=4)


@settings(derandomize=True, max_examples=400)
@given(st.lists(_glob, max_size=5), st.lists(_name, min_size=1, max_size=4), st.booleans())
def test_one_search_for_any_pattern_agrees_with_pathspec(
    patterns: list[str], parts: list[str], as_dir: bool
) -> None:
    """``matches`` first asks one expression joined from all patterns' expressions."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # re: "possible nested set"
            rules = Rules.compile(patterns)
    except (ValueError, re.error):  # pathspec refuses some malformed globs
        return
    joined = rules.exclude.any_pattern
    assert joined is not None
    path = "/".join(parts) + ("/" if as_dir else "")
    assert rules.exclude.matches(path) == rules.exclude.spec.match_file(path)
    # It matches exactly where one of the patterns' own expressions does.
    own = [p.regex for p in rules.exclude.spec.patterns if p.include is not None and p.regex]
    assert bool(joined.search(path)) == any(r.search(path) for r in own)
