"""Tree entries git refuses and symlinks into excluded paths stop a sync; symlinks leaving the
repository are listed by plan and in the pull request."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pygit2
import pytest

from git_pubgate.guard import forbidden

from .conftest import PublicRepos, pubgate
from .factory import LINK, C, build, git
from .githubsite import Site, github_site
from .test_hostile import raw_commit, raw_tree

FILE, DIR, SYMLINK = b"100644", b"40000", b"120000"


@pytest.mark.parametrize(
    ("name", "mode"),
    [
        (b".", DIR),
        (b"..", DIR),
        (b"..", FILE),
        (b".git", DIR),
        (b".git", FILE),
        (b".GIT", DIR),
        (b".Git", FILE),
        (b".git.", DIR),  # NTFS drops trailing dots and spaces
        (b".git . ", DIR),
        (b"git~1", DIR),  # NTFS short name
        (b"GIT~1", FILE),
        (b".git::$INDEX_ALLOCATION", DIR),  # NTFS alternate data stream
        (".g\u200cit".encode(), DIR),  # HFS+ ignores zero-width joiners
        (".\ufeffGIT".encode(), FILE),
        (b".gitmodules", SYMLINK),
        (b".GITMODULES", SYMLINK),
        (b"gitmod~1", SYMLINK),
        (b"", FILE),
        (b"a/b", FILE),
    ],
)
def test_names_git_refuses(name: bytes, mode: bytes) -> None:
    assert forbidden(name, mode) is not None


@pytest.mark.parametrize(
    ("name", "mode"),
    [
        (b".github", DIR),
        (b".gitignore", FILE),
        (b".gitmodules", FILE),  # only a symlinked one is refused
        (b".gitattributes", SYMLINK),
        (b"git", DIR),
        (b"a.git", DIR),
        (b".gitx", FILE),
        (b"...", FILE),
        (b"..a", FILE),
        (b"back\\slash", FILE),
        (b"caf\xe9", FILE),  # not UTF-8: no HFS+ reading of it
    ],
)
def test_names_git_takes(name: bytes, mode: bytes) -> None:
    assert forbidden(name, mode) is None


def _source(tmp_path: Path, bad: bytes, mode: bytes = DIR) -> tuple[Path, str, str]:
    """A source whose second commit adds ``bad`` (a directory holding one file, or a file)."""
    src = tmp_path / "src"
    repo = pygit2.init_repository(str(src), bare=True)
    blob = repo.create_blob(b"x\n")
    readme = raw_tree(repo, {b"README.md": (FILE, blob)})
    first = raw_commit(repo, readme, [], b"1600000000 +0000", b"first\n")
    inner = raw_tree(repo, {b"config": (FILE, blob)}) if mode == DIR else blob
    second = raw_commit(
        repo,
        raw_tree(
            repo, {b"README.md": (FILE, blob), b"src": (DIR, raw_tree(repo, {bad: (mode, inner)}))}
        ),
        [first],
        b"1600000060 +0000",
        b"add a name git refuses\n",
    )
    repo.references.create("refs/heads/main", second)
    repo.set_head("refs/heads/main")
    return src, str(first), str(second)


@pytest.mark.parametrize(
    ("bad", "mode", "way_out"),
    [(b"..", DIR, "src/"), (b".git", DIR, "src/.git/"), (b".GIT", FILE, "src/.GIT")],
)
def test_a_name_git_refuses_stops_the_sync(
    tmp_path: Path, public: PublicRepos, bad: bytes, mode: bytes, way_out: str
) -> None:
    src, _, second = _source(tmp_path, bad, mode)
    target = public.bare()
    config = tmp_path / "pubgate.yaml"
    config.write_text(json.dumps({"target_repo": str(target)}))
    refusal = f"refusing to publish {second[:12]}, since its tree holds 'src/{bad.decode()}'"
    result = pubgate("--config", str(config), "sync", "--no-pr", cwd=src)
    lines = result.err.splitlines()
    assert result.code == 1 and len(lines) == 2, result.err
    assert lines[0].startswith(f"error: {refusal}") and lines[1].startswith("hint: ")
    plan = pubgate("--config", str(config), "plan", cwd=src)
    assert refusal in plan.err  # plan tells the same
    assert git("for-each-ref", cwd=target) == ""  # nothing pushed
    # Excluding it is the way out (the published example excludes .git/ already).
    config.write_text(json.dumps({"target_repo": str(target), "exclude": [way_out]}))
    result = pubgate("--config", str(config), "sync", "--no-pr", cwd=src)
    assert result.code == 0, result.err


def test_symlinks_into_excluded_paths_and_out_of_the_repository(
    tmp_path: Path, public: PublicRepos
) -> None:
    src = tmp_path / "src"
    ids = build(
        src,
        [
            C("a", (), {"README.md": "r\n", "internal/notes.md": "secret\n", "docs/a.md": "a\n"}),
            C(
                "b",
                ["a"],
                {
                    "src/ok": (LINK, "../docs/a.md"),  # public target: fine
                    "src/here": (LINK, "."),
                    "escape": (LINK, "/etc/passwd"),
                    "src/up": (LINK, "../../outside"),
                    "internal/self": (LINK, "notes.md"),  # excluded itself: never public
                },
            ),
            C("c", ["b"], {"src/link": (LINK, "../internal/notes.md")}),
            C("d", ["c"], {"src/dir": (LINK, "../internal")}),
        ],
    )
    target = public.bare()
    config = tmp_path / "pubgate.yaml"
    settings = {"target_repo": str(target), "exclude": ["internal/"], "source_branch": "main"}
    config.write_text(json.dumps(settings))
    result = pubgate("--config", str(config), "sync", "--no-pr", cwd=src)
    lines = result.err.splitlines()
    assert result.code == 1 and len(lines) == 2
    assert lines[0] == (
        f"error: refusing to publish {ids['c'][:12]}, since its symlink 'src/link' points into "
        "the excluded path 'internal/notes.md'"
    )
    assert git("for-each-ref", cwd=target) == ""

    # Up to b: the symlinks leaving the repository are listed, the sync goes through.
    git("branch", "-f", "upto-b", ids["b"], cwd=src)
    config.write_text(json.dumps({**settings, "source_branch": "upto-b"}))
    result = pubgate("--config", str(config), "--json", "plan", cwd=src)
    assert result.code == 0, result.err
    assert json.loads(result.out)["symlinks_leaving"] == [
        {"path": "escape", "target": "/etc/passwd"},
        {"path": "src/up", "target": "../../outside"},
    ]
    human = pubgate("--config", str(config), "plan", cwd=src)
    assert "symlinks leaving the repository (2):" in human.err
    assert "  escape -> /etc/passwd" in human.err and "  src/up -> ../../outside" in human.err

    # A link to an excluded directory is refused too (d), once c is fixed by excluding it.
    config.write_text(json.dumps({**settings, "exclude": ["internal/", "src/link"]}))
    result = pubgate("--config", str(config), "sync", "--no-pr", cwd=src)
    assert (
        result.code == 1
        and "symlink 'src/dir' points into the excluded path 'internal'" in result.err
    )


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    with github_site(tmp_path, monkeypatch) as world:
        yield world


def test_the_pull_request_lists_symlinks_leaving_the_repository(site: Site) -> None:
    site.initial_readme()
    site.commit(C("a", (), {"src/a.py": "a\n", "src/passwd": (LINK, "/etc/passwd")}))
    code, report, err = site.sync()
    assert code == 0, err
    assert report["symlinks_leaving"] == [{"path": "src/passwd", "target": "/etc/passwd"}]
    body = site.api.pulls["org/public"][0]["body"]
    assert "Symlinks that point out of the repository (1):" in body
    assert "- `src/passwd` -> `/etc/passwd`" in body


def test_a_symlink_target_cannot_forge_lines_of_output(tmp_path: Path, public: PublicRepos) -> None:
    src = tmp_path / "src"
    build(src, [C("a", (), {"README.md": "r\n", "odd": (LINK, "/tmp/x\nup to date: forged")})])
    config = tmp_path / "pubgate.yaml"
    config.write_text(json.dumps({"target_repo": str(public.bare())}))
    result = pubgate("--config", str(config), "plan", cwd=src)
    assert result.code == 0, result.err
    assert '  odd -> "/tmp/x\\nup to date: forged"' in result.err.splitlines()
    assert "up to date: forged" not in result.err.splitlines()
