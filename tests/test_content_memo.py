"""The content policy's shortcuts decide exactly as its full path does, and remember little.

Most blobs hold nothing any content rule looks for; the policy lets one search show that and
keeps such a blob as its id alone. These tests hold the shortcut to the full path (every rule
run on every blob) over generated contents and paths, outcome for outcome and refusal for
refusal, and check what the memo keeps.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from git_pubgate.content import ConfigFile, ContentError, ContentPolicy, root_attributes
from git_pubgate.objects import OBJ_BLOB, canonical_mode, object_id, parse_tree
from git_pubgate.replace import Replacement
from git_pubgate.secrets import SecretScanner

# The search the tree filter made before root_attributes: the reference it must equal.
_ATTRIBUTES = re.compile(rb"(?:^|\x00.{20})100(?:644|755) \.gitattributes\x00(.{20})", re.DOTALL)


class _EveryRule(ContentPolicy):
    """The policy without its shortcut: every blob goes through every rule."""

    def _is_quiet(self, data: bytes, replace: tuple[int, ...]) -> bool:
        return False


_RULES: dict[str, object] = {
    "replacements": [
        Replacement("acme-internal", "example"),
        Replacement(r"^password = .*$", "password = ***", ("conf/",)),
    ],
    "scanner": SecretScanner([("DEPLOY_TOKEN", "s3cr3t-value-123")]),
    "config_file": ConfigFile(b"pubgate.yaml", "yaml"),
}

_PIECES = (
    b"plain text\n",
    b"x = 1\r\n",
    b"no newline",
    b"\0\x01binary",
    b"# BEGIN-INTERNAL\n",
    b"# END-INTERNAL\n",
    b"# BEGIN-PUBLIC\n",
    b"# # stub\n",
    b"# END-PUBLIC\n",
    b"NON-PUBLIC word\n",
    b"prefix-INTERNAL\n",
    b"uses acme-internal here\n",
    b"password = hunter2\n",
    b"token ghp_" + b"a1B2" * 9 + b"\n",
    b"AKIAABCDEFGHIJKLMNOP\n",
    b"AWS_Secret_Access_Key: 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\n",
    b"aWs_sEcReT = 'Zk8vQ2xLr4Tn0Wq9s7Yb3Hc1Jd6Mf5Pa2Xe8Ug4R'\n",
    b"-----BEGIN CERTIFICATE-----\n",
    b"deploy s3cr3t-value-123\n",
    b"//registry.npmjs.org/:_authToken=abc\n",
    b"source_repo: /internal\n",
    b"name: demo\n",
)
_PATHS = (b"a.py", b"conf/app.ini", b".npmrc", b"pubgate.yaml", b"docs/guide.md", b"logo.dat")


def _attempt(policy: ContentPolicy, store: dict[bytes, bytes], path: bytes, data: bytes) -> object:
    """What publishing ``data`` at ``path`` gives: public bytes and section count, or the
    refusal's details."""

    def write(public: bytes) -> bytes:
        oid = object_id(OBJ_BLOB, public)
        store[oid] = public
        return oid

    blob = write(data)
    try:
        outcome = policy.publish(path, b"100644", blob, store.__getitem__, write)
    except ContentError as e:
        return ("refused", e.path, e.line, e.problem, e.fingerprint)
    public = None if outcome.blob is None else store[outcome.blob]
    return ("published", public, outcome.sections)


@settings(max_examples=300, deadline=None)
@given(
    files=st.lists(
        st.tuples(
            st.sampled_from(_PATHS),
            st.lists(st.sampled_from(_PIECES), max_size=6).map(b"".join),
        ),
        min_size=1,
        max_size=12,
    ),
    attributes=st.booleans(),
)
def test_the_shortcut_decides_as_every_rule_does(
    files: list[tuple[bytes, bytes]], attributes: bool
) -> None:
    """Same public bytes, section counts and refusals, also when a blob comes back (from the
    memo or the unchanged set) and when the same blob sits at paths of other classes."""
    quick, full = ContentPolicy(**_RULES), _EveryRule(**_RULES)  # type: ignore[arg-type]
    store: dict[bytes, bytes] = {}
    if attributes:
        marks = b"*.dat binary\n"
        oid = object_id(OBJ_BLOB, marks)
        store[oid] = marks
        quick.use_attributes(oid, store.__getitem__)
        full.use_attributes(oid, store.__getitem__)
    for _ in range(2):
        for path, data in files:
            for where in (path, b"other/" + path):
                assert _attempt(quick, store, where, data) == _attempt(full, store, where, data)


def test_a_blob_no_rule_changes_is_kept_as_its_id_alone() -> None:
    """Only what a rule changed or held back gets a memo entry; the rest are ids in a set."""
    policy = ContentPolicy(**_RULES)  # type: ignore[arg-type]
    store: dict[bytes, bytes] = {}
    for i in range(50):
        assert _attempt(policy, store, f"pkg/m{i}.py".encode(), f"x = {i}\n".encode())[0] == (
            "published"
        )
    # Also a blob that holds a marker word's tail but no block: the full path says unchanged.
    assert _attempt(policy, store, b"doc.md", b"NON-PUBLIC word\n") == (
        "published",
        b"NON-PUBLIC word\n",
        0,
    )
    assert policy._memo == {}
    changed = b"# BEGIN-INTERNAL\nx\n# END-INTERNAL\nkept\n"
    assert _attempt(policy, store, b"a.py", changed) == ("published", b"kept\n", 1)
    assert len(policy._memo) == 1


@pytest.mark.parametrize("scanner", [None, SecretScanner()])
def test_a_secret_or_marker_is_never_skipped(scanner: SecretScanner | None) -> None:
    """The one search finds every kind of content a rule acts on, also with the scan off."""
    policy = ContentPolicy(scanner=scanner)
    store: dict[bytes, bytes] = {}
    marked = b"a\n# BEGIN-INTERNAL\nb\n# END-INTERNAL\n"
    assert _attempt(policy, store, b"a.py", marked) == ("published", b"a\n", 1)
    token = b"ghp_" + b"a1B2" * 9
    found = _attempt(policy, store, b"b.py", b"x " + token + b"\n")
    if scanner is None:
        assert found == ("published", b"x " + token + b"\n", 0)
    else:
        assert found[:4] == ("refused", b"b.py", 1, "a GitHub token")


def test_root_attributes_reads_the_mode_as_git_does() -> None:
    blob = bytes(range(20))
    readme = b"100644 README\0" + bytes(20)
    for mode, found in [
        (b"100644", blob),
        (b"100600", blob),  # a regular file to git, in a spelling no git writes
        (b"0100755", blob),
        (b"120000", None),  # a symlink named .gitattributes: git reads no attributes from it
        (b"40700", None),
        (b"160000", None),
    ]:
        tree = readme + mode + b" .gitattributes\0" + blob
        assert root_attributes(tree) == found, mode


_ENTRY_MODES = (b"100644", b"100755", b"40000", b"120000", b"160000", b"100664")
_ENTRY_NAMES = (b".gitattributes", b"a", b"x .gitattributes", b".gitattributes\0", b".github")


@settings(max_examples=500, deadline=None)
@given(
    parts=st.lists(
        st.one_of(
            st.tuples(
                st.sampled_from(_ENTRY_MODES),
                st.sampled_from(_ENTRY_NAMES),
                st.binary(min_size=20, max_size=20),
            ).map(lambda e: e[0] + b" " + e[1] + b"\0" + e[2]),
            st.binary(max_size=30),
            st.just(b" .gitattributes\0"),
        ),
        max_size=8,
    ),
    cut=st.integers(min_value=0, max_value=30),
)
def test_root_attributes_finds_what_the_old_search_found(parts: list[bytes], cut: int) -> None:
    """Entry trees, truncated trees, ids holding NULs and names holding the name: the same
    answer as the regular expression the tree filter used before, and where that found
    nothing, the file git reads in a tree that parses whole (a mode such as ``100664``)."""
    tree = b"".join(parts)
    tree = tree[: max(0, len(tree) - cut)] if cut % 3 == 0 else tree
    found = _ATTRIBUTES.search(tree)
    expected = found.group(1) if found else None
    if expected is None:
        files = [
            oid
            for mode, name, oid, _, is_tree in parse_tree(tree, 0, len(tree)) or []
            if name == b".gitattributes" and canonical_mode(mode) in (b"100644", b"100755")
        ]
        expected = files[0] if files else None
    assert root_attributes(tree) == expected
