"""Commit ids quoted in messages name the public commits, as git-filter-repo rewrites them."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pygit2
import pytest

from .conftest import PublicRepos, pubgate
from .factory import C, build, git
from .githubsite import github_site

COMMIT = pygit2.enums.ObjectType.COMMIT


def sync(src: Path, target: Path, **message: object) -> dict[str, object]:
    config = {"target_repo": str(target), "exclude": ["internal/"], "message": message}
    (src.parent / "pubgate.yaml").write_text(json.dumps(config))
    result = pubgate(
        "--config", str(src.parent / "pubgate.yaml"), "--json", "sync", "--no-pr", cwd=src
    )
    assert result.code == 0, result.err
    report: dict[str, object] = json.loads(result.out)
    return report


def message_of(repo: Path, commit: str) -> str:
    return str(pygit2.Repository(str(repo))[commit].peel(pygit2.Commit).message)


def public_of(repo: Path, tip: str) -> dict[str, str]:
    """Source id -> public id, from the trailers of ``tip``'s history."""
    found = {}
    for line in git(
        "log", "--format=%H %(trailers:key=Pubgate-Source,valueonly,separator=)", tip, cwd=repo
    ).splitlines():
        public, _, source = line.partition(" ")
        if source:
            found[source] = public
    return found


def history(src: Path) -> dict[str, str]:
    """A (public), B (internal only: pruned), C (public), then D and E quoting them."""
    ids = build(
        src,
        [
            C("A", (), {"app.py": "1\n", "internal/x": "1\n"}),
            C("B", ("A",), {"internal/x": "2\n"}),
            C("C", ("B",), {"app.py": "2\n"}),
        ],
    )
    a, b, c = ids["A"], ids["B"], ids["C"]
    never = "0123abcd" * 5  # no commit of the source
    return build(
        src,
        [
            C(
                "D",
                ("C",),
                {"app.py": "1\n"},
                message=f"fix: revert {c[:7]}\n\nThis reverts commit {c}.\n"
                f"Fixes {a[:10]} ({b[:8]} only touched internal files; {never[:9]} is no commit).\n"
                f"Not hex: {c[:7].upper()}, {c[:6]}, x{c[:8]}.\n",
            ),
            C(
                "E",
                ("D",),
                {"app.py": "3\n"},
                message=f"feat: more\n\n(cherry picked from commit {a})\n",
            ),
        ],
        known=ids,
    )


def test_quoted_ids_of_published_commits_become_public_ids(
    tmp_path: Path, public: PublicRepos
) -> None:
    ids = history(tmp_path / "src")
    target = public.bare()
    report = sync(tmp_path / "src", target)
    head = str(report["head"])
    image = public_of(target, head)
    a, b, c, d = (ids[n] for n in "ABCD")
    assert b not in image and {a, c, d} <= set(image)
    a2, c2 = image[a], image[c]
    said = message_of(target, image[d])
    assert said.startswith(f"fix: revert {c2[:7]}\n\nThis reverts commit {c2}.\n")
    assert f"Fixes {a2[:10]} ({b[:8]} only touched internal files; 0123abcd0 is no commit)" in said
    assert f"Not hex: {c[:7].upper()}, {c[:6]}, x{c[:8]}.\n" in said  # not word-bounded ids
    assert said.endswith(f"\nPubgate-Source: {d}\n")  # the trailer keeps the source id
    assert f"(cherry picked from commit {a2})" in message_of(target, image[ids["E"]])
    assert [commit["subject"] for commit in report["commits"]][-2] == f"fix: revert {c2[:7]}"  # type: ignore[index]


def test_rewrite_ids_false_keeps_the_message_bytes(tmp_path: Path, public: PublicRepos) -> None:
    ids = history(tmp_path / "src")
    target = public.bare()
    report = sync(tmp_path / "src", target, rewrite_ids=False)
    image = public_of(target, str(report["head"]))
    for name in "DE":
        source = message_of(tmp_path / "src", ids[name])
        assert (
            message_of(target, image[ids[name]])
            == f"{source.rstrip()}\n\nPubgate-Source: {ids[name]}\n"
        )


def test_incremental_run_gives_the_ids_of_a_run_from_scratch(
    tmp_path: Path, public: PublicRepos
) -> None:
    src = tmp_path / "src"
    ids = history(src)
    scratch = public.bare("scratch.git")
    expected = sync(src, scratch)["head"]
    shutil.rmtree(src / ".git" / "pubgate")

    # C is published and merged first; D quotes it (and A) in the next run.
    target = public.bare()
    git("update-ref", "refs/heads/main", ids["C"], cwd=src)
    for _ in range(2):
        head = str(sync(src, target)["head"])
        git("update-ref", "refs/heads/main", head, cwd=target)
        git("update-ref", "refs/heads/main", ids["E"], cwd=src)
    assert head == expected
    image = public_of(target, head)  # C came from the first run's state, not from this run
    assert f"revert {image[ids['C']][:7]}\n" in message_of(target, image[ids["D"]])
    again = sync(src, target)  # and a rerun changes nothing
    assert again["head"] == expected and again["up_to_date"] is True


def colliding_siblings(repo: pygit2.Repository, parent: pygit2.Oid) -> tuple[bytes, bytes]:
    """Two commits on ``parent`` whose ids share their first 7 hex digits (a birthday search
    over message numbers: about 20,000 SHA-1s, deterministic)."""
    tree = repo[parent].peel(pygit2.Commit).tree_id
    seen: dict[str, bytes] = {}
    for number in range(1_000_000):
        data = (
            f"tree {tree}\nparent {parent}\n"
            "author Ada <ada@corp.example> 1600000000 +0000\n"
            "committer Ada <ada@corp.example> 1600000000 +0000\n\n"
            f"attempt {number}\n"
        ).encode()
        oid = hashlib.sha1(b"commit %d\0" % len(data) + data).hexdigest()
        if oid[:7] in seen:
            return seen[oid[:7]], data
        seen[oid[:7]] = data
    raise AssertionError("no collision")


def test_an_abbreviation_two_ancestors_share_stays(tmp_path: Path, public: PublicRepos) -> None:
    src = tmp_path / "src"
    ids = build(src, [C("P", (), {"app.py": "1\n"})])
    repo = pygit2.Repository(str(src))
    one, two = (
        str(repo.odb.write(COMMIT, data))
        for data in colliding_siblings(repo, pygit2.Oid(hex=ids["P"]))
    )
    assert one[:7] == two[:7] and one != two
    longer = next(n for n in range(8, 41) if one[:n] != two[:n])
    ids = build(src, [C("M", (one, two), {"app.py": "2\n"})], known={**ids, one: one, two: two})
    ids = build(
        src,
        [C("X", ("M",), {"app.py": "3\n"}, message=f"Fix {one[:7]}, really {one[:longer]}\n")],
        known=ids,
    )
    target = public.bare()
    report = sync(src, target)
    image = public_of(target, str(report["head"]))
    said = message_of(target, image[ids["X"]])
    assert said.startswith(f"Fix {one[:7]}, really {image[one][:longer]}\n")
    assert image[one] != one  # (the trailer makes every public id new)


def test_pull_request_and_changelog_show_the_rewritten_subjects(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with github_site(tmp_path, monkeypatch) as site:
        site.initial_readme()
        site.configure(version={})
        site.commit(C("a", (), {"src/a.py": "a\n", "internal/x": "s\n"}, message="feat: start\n"))
        site.commit(C("b", ("a",), {"src/a.py": "b\n"}, message=f"fix: undo {site.ids['a'][:9]}\n"))
        code, report, err = site.sync()
        assert code == 0, err
        head = str(report["head"])
        image = public_of(site.bare, head)
        subject = f"fix: undo {image[site.ids['a']][:9]}"
        (opened,) = site.api.pulls["org/public"]
        assert subject in opened["body"] and site.ids["a"][:9] not in opened["body"]
        changelog = git("show", f"{head}:CHANGELOG.md", cwd=site.bare)
        assert f"undo {image[site.ids['a']][:9]}" in changelog
        assert site.ids["a"][:9] not in changelog
