"""The section parser, the replacement rules and the secret scanner: pure functions."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from git_pubgate.content import ContentError, ContentPolicy
from git_pubgate.objects import OBJ_BLOB, object_id
from git_pubgate.replace import ReplaceError, Replacement, Replacer, compile_rule
from git_pubgate.secrets import SecretScanner, fingerprint
from git_pubgate.sections import SectionError, blocks, public_text, split_lines

STYLES = [
    ("# ", ""),
    ("## ", ""),
    ("// ", ""),
    ("-- ", ""),
    ("; ", ""),
    ("% ", ""),
    ("<!-- ", " -->"),
    ("/* ", " */"),
    ("{# ", " #}"),
    ("rem ", ""),
    ("REM ", ""),
]


@pytest.mark.parametrize(("opener", "closer"), STYLES)
def test_every_comment_style_removes_its_block(opener: str, closer: str) -> None:
    begin, end = f"{opener}BEGIN-INTERNAL{closer}", f"{opener}END-INTERNAL{closer}"
    text = f"keep 1\n  {begin}\nsecret\n  {end}\nkeep 2\n"
    done = public_text(text.encode())
    assert done.data == b"keep 1\nkeep 2\n"
    assert done.sections == 1


@pytest.mark.parametrize(("opener", "closer"), STYLES)
def test_public_stub_loses_one_comment_level(opener: str, closer: str) -> None:
    text = (
        f"a\n{opener}BEGIN-INTERNAL{closer}\nhost = 'db.corp'\n{opener}BEGIN-PUBLIC{closer}\n"
        f"    {opener}host = 'localhost'{closer}\n{opener}END-PUBLIC{closer}\n"
        f"{opener}END-INTERNAL{closer}\nb\n"
    )
    assert public_text(text.encode()).data == b"a\n    host = 'localhost'\nb\n"


def test_crlf_and_missing_final_newline_survive() -> None:
    text = b"a\r\n# BEGIN-INTERNAL\r\nx\r\n# END-INTERNAL\r\nb\r\nc"
    assert public_text(text).data == b"a\r\nb\r\nc"
    # The block is the end of the file: its public version still has no final newline.
    assert public_text(b"a\n# BEGIN-INTERNAL\nx\n# END-INTERNAL").data == b"a"
    assert public_text(b"a\n# BEGIN-INTERNAL\nx\n# END-INTERNAL\n").data == b"a\n"
    assert public_text(b"no markers\r\nat all").data == b"no markers\r\nat all"


@pytest.mark.parametrize(
    ("text", "line", "problem"),
    [
        (b"# BEGIN-INTERNAL\n# BEGIN-INTERNAL\n# END-INTERNAL\n", 2, "nested"),
        (b"a\n# BEGIN-INTERNAL\nsecret\n", 2, "never closed"),
        (b"a\n# END-INTERNAL\n", 2, "without BEGIN-INTERNAL"),
        (b"# BEGIN-PUBLIC\n# END-PUBLIC\n", 1, "outside an internal block"),
        (b"# BEGIN-INTERNAL\n# END-PUBLIC\n# END-INTERNAL\n", 2, "without BEGIN-PUBLIC"),
        (b"# BEGIN-INTERNAL\n# BEGIN-PUBLIC\n# END-INTERNAL\n", 3, "inside the BEGIN-PUBLIC"),
        (b"x = 1  # BEGIN-INTERNAL\n", 1, "outside a marker line"),
        (b"ok\nprint('END-INTERNAL')\n", 2, "outside a marker line"),
        (b"# BEGIN-INTERNAL: why\n# END-INTERNAL\n", 1, "outside a marker line"),
        (
            b"# BEGIN-INTERNAL\n# BEGIN-PUBLIC\n# # BEGIN-INTERNAL\n# END-PUBLIC\n# END-INTERNAL\n",
            3,
            "outside a marker line",
        ),
    ],
)
def test_malformed_markers_name_the_line(text: bytes, line: int, problem: str) -> None:
    with pytest.raises(SectionError) as caught:
        public_text(text)
    assert caught.value.line == line
    assert problem in caught.value.problem


def _policy(**kwargs: object) -> tuple[ContentPolicy, dict[bytes, bytes]]:
    store: dict[bytes, bytes] = {}
    return ContentPolicy(**kwargs), store  # type: ignore[arg-type]


def _publish(policy: ContentPolicy, store: dict[bytes, bytes], path: str, data: bytes) -> bytes:
    def write(public: bytes) -> bytes:
        oid = object_id(OBJ_BLOB, public)
        store[oid] = public
        return oid

    blob = write(data)
    outcome = policy.publish(path.encode(), b"100644", blob, store.__getitem__, write)
    assert outcome.blob is not None
    return store[outcome.blob]


def test_binary_files_are_never_edited_and_a_marker_in_one_is_refused() -> None:
    policy, store = _policy()
    image = b"\x89PNG\0\0" + b"data # not a marker\n"
    assert _publish(policy, store, "logo.png", image) == image
    with pytest.raises(ContentError) as caught:
        _publish(policy, store, "blob.bin", b"\0\0\n# BEGIN-INTERNAL\nx\n# END-INTERNAL\n")
    assert caught.value.line == 2 and "binary" in caught.value.problem


def test_gitattributes_binary_means_never_edited() -> None:
    policy, store = _policy()
    attributes = b"*.dat binary\n*.txt -text\n"
    oid = object_id(OBJ_BLOB, attributes)
    store[oid] = attributes
    policy.use_attributes(oid, store.__getitem__)
    sectioned = b"# BEGIN-INTERNAL\nx\n# END-INTERNAL\n"
    for path in ("a.dat", "sub/b.txt"):
        with pytest.raises(ContentError):
            _publish(policy, store, path, sectioned)
    assert _publish(policy, store, "c.py", sectioned) == b""


def test_replacements_apply_to_their_paths_after_sections() -> None:
    policy, store = _policy(
        replacements=(
            Replacement(r"pypi\.corp\.example", "pypi.org"),
            Replacement(r"^# Copyright (\d+) Corp.*$", r"# Copyright \1 The Authors", ("*.py",)),
        )
    )
    text = b"# Copyright 2024 Corp Inc.\n# BEGIN-INTERNAL\nurl=pypi.corp.example\n# END-INTERNAL\n"
    text += b"index = 'https://pypi.corp.example/simple'\n"
    assert _publish(policy, store, "src/m.py", text) == (
        b"# Copyright 2024 The Authors\nindex = 'https://pypi.org/simple'\n"
    )
    assert _publish(policy, store, "NOTICE", b"# Copyright 2024 Corp Inc.\n") == (
        b"# Copyright 2024 Corp Inc.\n"
    )
    assert Replacer.compile(policy.replacements).rules_for(b"NOTICE") == (0,)


def test_bad_replacements_are_refused() -> None:
    with pytest.raises(ReplaceError) as caught:
        compile_rule(Replacement("(", "x"))
    assert caught.value.field == "pattern"
    with pytest.raises(ReplaceError) as caught:
        compile_rule(Replacement("a(b)", r"\2"))
    assert caught.value.field == "with"
    with pytest.raises(ReplaceError):
        compile_rule(Replacement("a", r"\g<name>"))


KEY = (
    b"-----BEGIN RSA PRIVATE KEY-----\n"
    b"MIIEpAIBAAKCAQEA3Tz2mr7SZiAMfQyuvBjM9Oi6sYh5A9p1nZ8zN2Z0K1x9Q3o7\n"
    b"-----END RSA PRIVATE KEY-----\n"
)
SAMPLES = {
    "private key": KEY,
    "GCP service-account key": b'{"type": "service_account", "private_key": "-----BEGIN PRIVATE'
    b' KEY-----\\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7\\n-----END"}',
    "AWS access key id": b"key = AKIAZ3MSJV4WWNKWW5FG\n",
    "AWS secret access key": b"aws_secret_access_key = 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\n",
    "GitHub token": b"token: ghp_" + b"a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8" + b"\n",
    "GitLab token": b"glpat-" + b"Ab3dEf6hIj9kLm2nOp5q",
    "PyPI token": b"password = pypi-AgEIcHlwaS5vcmc" + b"x" * 60 + b"\n",
    "Slack token": b"xoxb-" + b"1234567890-abcdefghij",
    "npm token": b"//registry.npmjs.org/:_authToken=npm_" + b"a" * 36 + b"\n",
}


@pytest.mark.parametrize("kind", sorted(SAMPLES))
def test_each_kind_of_secret_is_found(kind: str) -> None:
    found = SecretScanner().scan(b"first line\n" + SAMPLES[kind])
    assert [f.kind for f in found][:1] == [kind]
    assert found[0].line == 2
    assert re.fullmatch(r"[0-9a-f]{20}", found[0].fingerprint)


def test_documented_examples_and_plain_text_are_not_secrets() -> None:
    scanner = SecretScanner()
    assert scanner.scan(b"AKIAIOSFODNN7EXAMPLE\nghp_short\n-----BEGIN PRIVATE KEY-----\n") == []
    assert scanner.scan(b"def main():\n    return 0\n") == []


def test_allow_takes_one_fingerprint_and_token_values_are_secrets() -> None:
    data = SAMPLES["GitHub token"]
    mark = SecretScanner().scan(data)[0].fingerprint
    assert SecretScanner(allow=[mark]).scan(data) == []
    scanner = SecretScanner([("DEPLOY_TOKEN", "s3cr3t-value-123")])
    found = scanner.scan(b"a\nb = 's3cr3t-value-123'\n")
    assert [(f.kind, f.line) for f in found] == [("the value of $DEPLOY_TOKEN", 2)]
    assert found[0].fingerprint == fingerprint("the value of $DEPLOY_TOKEN", b"s3cr3t-value-123")


def _every_finding(scanner: SecretScanner, data: bytes) -> list[tuple[str, int]]:
    """What scan would find if it tried every kind on every blob."""
    found = []
    for kind, pattern in scanner._kinds:
        for match in pattern.finditer(data):
            found.append((kind, data.count(b"\n", 0, match.start()) + 1))
    return sorted(found, key=lambda f: f[1])


_SECRET_PIECES = st.sampled_from(
    [
        b"aws_secret_access_key = ",
        b"AWS_SECRET_KEY: ",
        b"aWs_SeCrEt_AcCeSs_KeY='",
        b"Zk8vQ2xLr4Tn0Wq9s7Yb3Hc1Jd6Mf5Pa2Xe8Ug4R",
        b"-----BEGIN ",
        b"AKIAZ3MSJV4WWNKWW5FG",
        b"ghp_" + b"a1B2" * 9,
        b"s3cr3t-value-123",
        b"SECRET",
        b"\n",
        b" ",
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(_SECRET_PIECES, st.binary(max_size=8)), max_size=12).map(b"".join))
def test_the_fast_prefilter_never_misses_what_the_expression_matches(data: bytes) -> None:
    """may_hold (a cased search, then words in the lowercased bytes) is never False where the
    one expression with its case-insensitive branch matches, and scan finds what every kind
    tried on the blob finds."""
    scanner = SecretScanner([("DEPLOY_TOKEN", "s3cr3t-value-123")])
    if scanner.prefilter.search(data) is not None:
        assert scanner.may_hold(data)
    assert [(f.kind, f.line) for f in scanner.scan(data)] == _every_finding(scanner, data)


# A line never holds a marker word by accident: generated lines use a small alphabet.
_plain = st.text(alphabet="abcxyz =#-/;%<>!{}*\t", max_size=12).filter(
    lambda s: "\n" not in s and "\r" not in s
)


@st.composite
def _file(draw: st.DrawFn) -> tuple[bytes, list[bytes], list[bytes]]:
    """A file with random sections: its bytes, the public lines and the internal lines."""
    eol = draw(st.sampled_from(["\n", "\r\n"]))
    out: list[str] = []
    public: list[bytes] = []
    internal: list[bytes] = []
    for index in range(draw(st.integers(0, 6))):
        opener, closer = draw(st.sampled_from(STYLES))
        if draw(st.booleans()):
            line = f"pub{index}-" + draw(_plain)
            out.append(line + eol)
            public.append(line.encode())
            continue
        out.append(f"{opener}BEGIN-INTERNAL{closer}{eol}")
        for inner in range(draw(st.integers(0, 3))):
            line = f"INT{index}.{inner}-" + draw(_plain)
            out.append(line + eol)
            internal.append(line.encode())
        out.append(f"{opener}END-INTERNAL{closer}{eol}")
    text = "".join(out)
    if text and draw(st.booleans()):
        text = text.removesuffix(eol)
    return text.encode(), public, internal


@settings(deadline=None, max_examples=300)
@given(_file())
def test_property_no_marker_and_no_internal_line_is_published(
    case: tuple[bytes, list[bytes], list[bytes]],
) -> None:
    data, public, internal = case
    done = public_text(data)
    lines = [line.rstrip(b"\r\n") for line in split_lines(done.data)]
    assert lines == public
    assert not any(word in done.data for word in (b"BEGIN-", b"END-", b"INT"))
    assert not any(line in done.data for line in internal)
    assert done.sections == data.count(b"BEGIN-INTERNAL")
    common = sum(b.end - b.start for b in blocks(split_lines(data)) if b.kind == "common")
    assert common == len(public)
    # The same file through the content policy, as the rewrite publishes it.
    policy, store = _policy()
    assert _publish(policy, store, "f.txt", data) == done.data
