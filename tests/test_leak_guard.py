"""Messages scrubbed and checked, identities mapped: in the engine and through sync."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from git_pubgate.authors import IdentityError, People
from git_pubgate.messages import MessagePolicy

from .conftest import PublicRepos, pubgate
from .factory import C, build, git

GERRIT = (
    b"Fix the parser\n\nLonger text.\n\n"
    b"Change-Id: I0123456789abcdef0123456789abcdef01234567\n"
    b"Reviewed-on: https://gerrit.corp.example/c/42\n"
    b"Signed-off-by: Ada <ada@example.org>\n"
)


def test_default_scrub_removes_review_trailers_only() -> None:
    out = MessagePolicy.compile().apply(GERRIT)
    assert out == b"Fix the parser\n\nLonger text.\n\nSigned-off-by: Ada <ada@example.org>\n"
    assert MessagePolicy.compile(defaults=False).apply(GERRIT) == GERRIT


def test_untouched_messages_keep_every_byte() -> None:
    odd = b"\n\nsubject\n\n\n\nbody with  spaces\n\n\n"
    assert MessagePolicy.compile(scrub=["^Internal-Bug: .*$"]).apply(odd) == odd


def test_custom_scrub_keep_only_and_forbid() -> None:
    policy = MessagePolicy.compile(
        scrub=[r"^Internal-Bug: \d+\n?", r"(?s)BEGIN_INTERNAL.*?END_INTERNAL\n?"],
        forbid=[r"(?i)bluebird"],
    )
    message = b"Add X\n\nBEGIN_INTERNAL\nsecret\nEND_INTERNAL\nPublic text.\nInternal-Bug: 7\n"
    assert policy.apply(message) == b"Add X\n\nPublic text.\n"
    assert policy.violation(b"Ship Bluebird\n") == "(?i)bluebird"
    keep = MessagePolicy.compile(keep_only=[r"(?s)BEGIN_PUBLIC\n(?P<public>.*?)END_PUBLIC"])
    assert keep.apply(b"internal\nBEGIN_PUBLIC\nPublic summary\nEND_PUBLIC\nmore\n") == (
        b"Public summary\n"
    )
    assert keep.apply(b"nothing public here\n") == b"Internal change\n"


def test_identities_exact_domain_coauthors_and_fail_on() -> None:
    people = People.compile(
        {
            "ada@corp.example": "Ada Lovelace <ada@example.org>",
            "@corp.example": "{name} <{local}@users.noreply.example.org>",
        },
        fail_on=["corp.example"],
    )
    headers = (
        b"author Ada <ada@corp.example> 1600000000 +0200\n"
        b"committer Bo B <bo@eng.corp.example> 1600000001 -0100\nencoding UTF-8\n"
    )
    assert people.headers(headers) == (
        b"author Ada Lovelace <ada@example.org> 1600000000 +0200\n"
        b"committer Bo B <bo@users.noreply.example.org> 1600000001 -0100\nencoding UTF-8\n"
    )
    assert people.message(b"x\n\nCo-authored-by: Cy <cy@corp.example>\n") == (
        b"x\n\nCo-authored-by: Cy <cy@users.noreply.example.org>\n"
    )
    strict = People.compile({}, fail_on=["corp.example"])
    with pytest.raises(IdentityError):
        strict.headers(b"author Dee <dee@corp.example> 1 +0000\n")


def world(tmp_path: Path, public: PublicRepos, **settings: object) -> tuple[Path, Path]:
    src = tmp_path / "src"
    build(
        src,
        [
            C("a", (), {"README.md": "r\n"}, author="Ada Author"),
            C("b", ["a"], {"x.py": "x\n"}, message=GERRIT.decode(), author="Bo Baker"),
        ],
    )
    target = public.bare()
    (tmp_path / "pubgate.yaml").write_text(json.dumps({"target_repo": str(target), **settings}))
    return src, target


def test_sync_publishes_scrubbed_messages_and_mapped_people(
    tmp_path: Path, public: PublicRepos
) -> None:
    (tmp_path / "src").mkdir()
    src, target = world(
        tmp_path,
        public,
        authors={
            "map": {"@corp.example": "{name} <{local}@users.noreply.example.org>"},
            "fail_on": ["corp.example"],
        },
    )
    result = pubgate("--config", str(tmp_path / "pubgate.yaml"), "sync", "--no-pr", cwd=src)
    assert result.code == 0, result.err
    log = git("log", "--format=%an <%ae>|%cn <%ce>|%B", "pubgate/sync", cwd=target)
    assert "corp.example" not in log and "Change-Id" not in log and "gerrit" not in log
    assert "Bo Baker <bo.baker@users.noreply.example.org>" in log
    assert "Signed-off-by: Ada <ada@example.org>" in log
    # The dates did not move.
    assert git("log", "-1", "--format=%ad %cd", "--date=raw", "pubgate/sync", cwd=target) == (
        git("log", "-1", "--format=%ad %cd", "--date=raw", "main", cwd=src)
    )


def test_sync_refuses_forbidden_text_and_internal_identities(
    tmp_path: Path, public: PublicRepos
) -> None:
    (tmp_path / "src").mkdir()
    src, target = world(tmp_path, public, message={"forbid": ["(?i)longer text"]})
    result = pubgate("--config", str(tmp_path / "pubgate.yaml"), "sync", "--no-pr", cwd=src)
    assert result.code == 1 and "forbid rule '(?i)longer text'" in result.err
    assert git("for-each-ref", cwd=target) == ""
    (tmp_path / "pubgate.yaml").write_text(
        json.dumps({"target_repo": str(target), "authors": {"fail_on": ["corp.example"]}})
    )
    result = pubgate("--config", str(tmp_path / "pubgate.yaml"), "sync", "--no-pr", cwd=src)
    assert result.code == 1 and "from the internal domain corp.example" in result.err
    assert git("for-each-ref", cwd=target) == ""


def test_mailmap_is_honoured_when_asked(tmp_path: Path, public: PublicRepos) -> None:
    src = tmp_path / "src"
    build(
        src,
        [
            C(
                "a",
                (),
                {".mailmap": "Ada L <ada@example.org> <ada.author@corp.example>\n", "x": "x\n"},
            )
        ],
    )
    target = public.bare()
    (tmp_path / "pubgate.yaml").write_text(
        json.dumps({"target_repo": str(target), "authors": {"mailmap": True}})
    )
    result = pubgate("--config", str(tmp_path / "pubgate.yaml"), "sync", "--no-pr", cwd=src)
    assert result.code == 0, result.err
    assert git("log", "-1", "--format=%an <%ae>", "pubgate/sync", cwd=target).strip() == (
        "Ada L <ada@example.org>"
    )
