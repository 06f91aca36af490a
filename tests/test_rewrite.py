from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pygit2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from git_pubgate.objects import PackWriter, RawCommit
from git_pubgate.rewrite import Rewriter, RewriteResult
from git_pubgate.rules import Rules

from .conftest import PublicRepos, pubgate
from .factory import EXEC, GITLINK, LINK, C, build, git, random_history


def rewrite(path: Path, exclude: list[str], trailer: str | None = None) -> RewriteResult:
    repo = pygit2.Repository(str(path))
    writer = PackWriter(Path(repo.path))
    rewriter = Rewriter(repo, Rules.compile(exclude), writer, trailer)
    result = rewriter.rewrite(str(repo.head.target), {}, lambda _: None)
    writer.commit()
    return result


def public_files(repo_path: Path, commit: str) -> list[str]:
    out = git("ls-tree", "-r", "-z", "--name-only", commit, cwd=repo_path)
    return [p for p in out.split("\0") if p]


def test_history_without_excluded_paths_keeps_every_id(tmp_path: Path) -> None:
    ids = build(tmp_path / "src", random_history(seed=7, count=60))
    result = rewrite(tmp_path / "src", ["nothing-matches/"])
    assert result.tip == ids["tip"]  # trailer off: byte-identical commits
    assert result.pruned == []


def test_trailer_on_keeps_tree_ids(tmp_path: Path) -> None:
    build(tmp_path / "src", random_history(seed=8, count=40))
    repo = pygit2.Repository(str(tmp_path / "src"))
    result = rewrite(tmp_path / "src", ["nothing-matches/"], trailer="Pubgate-Source")
    for source, public in result.created:
        assert repo[source].tree_id == repo[public].tree_id
        assert repo[public].raw_message.endswith(f"\n\nPubgate-Source: {source}\n".encode())


def test_excluded_paths_go_and_empty_commits_are_pruned(tmp_path: Path) -> None:
    ids = build(
        tmp_path / "src",
        [
            C("a", (), {"README.md": "r\n", "internal/x": "secret\n", "k.pem": "key\n"}),
            C("b", ["a"], {"internal/x": "more secret\n"}),
            C("c", ["b"], {"src/app.py": "print()\n", "deep/er/k.pem": "key\n"}),
        ],
    )
    result = rewrite(tmp_path / "src", ["/internal/", "*.pem"])
    assert [s for s, _ in result.created] == [ids["a"], ids["c"]]
    assert result.pruned == [ids["b"]]
    assert public_files(tmp_path / "src", result.tip or "") == ["README.md", "src/app.py"]


def test_commit_empty_in_source_is_kept(tmp_path: Path) -> None:
    build(
        tmp_path / "src",
        [
            C("a", (), {"README.md": "r\n"}),
            C("empty", ["a"], {}),
            C("b", ["empty"], {"x": "x\n"}),
        ],
    )
    result = rewrite(tmp_path / "src", ["*.pem"])
    assert len(result.created) == 3


def test_odd_modes_survive_in_kept_trees_and_written_trees_are_canonical(tmp_path: Path) -> None:
    repo = pygit2.init_repository(str(tmp_path / "src"), bare=True)
    blob = repo.create_blob(b"x\n")
    # git.git's first commit has a 100664 entry; libgit2's TreeBuilder would normalise it, and
    # change the id of a tree no rule touches. A tree sync writes is written as git writes.
    sub = repo.odb.write(pygit2.enums.ObjectType.TREE, b"100664 odd.txt\0" + blob.raw)
    key = repo.create_blob(b"key\n")
    root_data = (
        b"100664 a.txt\0" + blob.raw + b"100644 k.pem\0" + key.raw + b"40000 sub\0" + sub.raw
    )
    root = repo.odb.write(pygit2.enums.ObjectType.TREE, root_data)
    sig = pygit2.Signature("A", "a@x", 1_600_000_000, 0)
    commit = repo.create_commit("refs/heads/main", sig, sig, "odd\n", root, [])
    repo.set_head("refs/heads/main")
    result = rewrite(tmp_path / "src", ["*.pem"])
    new_tree = repo[result.tip or ""].peel(pygit2.Commit).tree_id
    data = repo.odb.read(new_tree)[1]
    assert data == b"100644 a.txt\0" + blob.raw + b"40000 sub\0" + sub.raw
    assert repo.odb.read(sub)[1] == b"100664 odd.txt\0" + blob.raw  # kept, not rewritten
    assert str(commit) != result.tip


def test_raw_headers_encoding_and_message_bytes(tmp_path: Path) -> None:
    repo = pygit2.init_repository(str(tmp_path / "src"), bare=True)
    tree = repo.TreeBuilder().write()
    blob = repo.create_blob(b"key")
    builder = repo.TreeBuilder()
    builder.insert("k.pem", blob, pygit2.enums.FileMode.BLOB)
    builder.insert("a", repo.create_blob(b"a"), pygit2.enums.FileMode.BLOB)
    tree = builder.write()
    raw = (
        b"tree " + str(tree).encode() + b"\n"
        b"author J\xf6rg <j@x> 1600000000 +0200\n"
        b"committer J\xf6rg <j@x> 1600000001 -0130\n"
        b"encoding ISO-8859-1\n"
        b"mergetag object 0000000000000000000000000000000000000000\n type commit\n tag internal\n"
        b"gpgsig -----BEGIN PGP SIGNATURE-----\n \n abc\n -----END PGP SIGNATURE-----\n"
        b"\n"
        b"Gr\xfc\xdfe aus dem Labor\n\nno trailing newline"
    )
    oid = repo.odb.write(pygit2.enums.ObjectType.COMMIT, raw)
    repo.references.create("refs/heads/main", oid)
    repo.set_head("refs/heads/main")
    result = rewrite(tmp_path / "src", ["*.pem"])
    out = repo.odb.read(pygit2.Oid(hex=result.tip or ""))[1]
    parsed = RawCommit.parse(out)
    assert parsed.other_headers == (
        b"author J\xf6rg <j@x> 1600000000 +0200\n"
        b"committer J\xf6rg <j@x> 1600000001 -0130\n"
        b"encoding ISO-8859-1\n"
    )
    assert parsed.message == b"Gr\xfc\xdfe aus dem Labor\n\nno trailing newline"
    assert b"gpgsig" not in out and b"mergetag" not in out and b"internal" not in out


def test_modes_symlinks_and_gitlinks_pass_through(tmp_path: Path) -> None:
    sub = "1234567890123456789012345678901234567890"
    build(
        tmp_path / "src",
        [
            C(
                "a",
                (),
                {
                    "bin/run": (EXEC, "#!/bin/sh\n"),
                    "link": (LINK, "bin/run"),
                    "vendor/lib": (GITLINK, sub),
                    "secret.pem": "k\n",
                },
            )
        ],
    )
    result = rewrite(tmp_path / "src", ["*.pem"])
    listing = git("ls-tree", "-r", result.tip or "", cwd=tmp_path / "src")
    assert listing.splitlines() == [
        f"100755 blob {git('rev-parse', 'HEAD:bin/run', cwd=tmp_path / 'src').strip()}\tbin/run",
        f"120000 blob {git('rev-parse', 'HEAD:link', cwd=tmp_path / 'src').strip()}\tlink",
        f"160000 commit {sub}\tvendor/lib",
    ]


def test_deep_paths_do_not_recurse(tmp_path: Path) -> None:
    deep = "/".join(["d"] * 1500)
    # Bare: a checkout this deep would defeat shutil.rmtree when pytest cleans up.
    build(
        tmp_path / "src", [C("a", (), {f"{deep}/x.txt": "x\n", f"{deep}/y.pem": "k\n"})], bare=True
    )
    result = rewrite(tmp_path / "src", ["*.pem"])
    assert public_files(tmp_path / "src", result.tip or "") == [f"{deep}/x.txt"]


EXCLUDE_POOL = [
    "/internal/",
    "*.pem",
    "internal/deep/",
    "docs/",
    "a/b/",
    "**/f1*.txt",
    "!keys/k1.pem",
]


@settings(
    derandomize=True,
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(seed=st.integers(0, 10_000), exclude=st.lists(st.sampled_from(EXCLUDE_POOL), min_size=1))
def test_no_public_tree_ever_holds_an_excluded_path(
    tmp_path_factory: pytest.TempPathFactory, seed: int, exclude: list[str]
) -> None:
    path = tmp_path_factory.mktemp("prop")
    build(path, random_history(seed=seed, count=40))
    result = rewrite(path, exclude, trailer="Pubgate-Source")
    rules = Rules.compile(exclude)
    source = pygit2.Repository(str(path))
    for src, public in result.created:
        files = public_files(path, public)
        assert all(rules.is_public(f.encode()) for f in files)
        expected = [f for f in public_files(path, src) if rules.is_public(f.encode())]
        assert files == expected
        assert source[public].peel(pygit2.Commit).author == source[src].peel(pygit2.Commit).author


def filter_repo(source: Path, dest: Path, args: list[str]) -> None:
    git("clone", "-q", "--bare", "--no-local", str(source), str(dest))
    # The test dependency installs it beside the interpreter, whether or not a venv is active.
    exe = shutil.which("git-filter-repo", path=str(Path(sys.executable).parent))
    assert exe, "git-filter-repo is a test dependency"
    subprocess.run([exe, "--force", "--quiet", *args], cwd=dest, check=True, capture_output=True)


def log_shape(repo: Path, rev: str) -> list[str]:
    return git(
        "log", "--topo-order", "--format=%P|%an|%ae|%ad|%cn|%ce|%cd|%T", "--date=raw", rev, cwd=repo
    ).splitlines()


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_same_history_as_git_filter_repo(tmp_path: Path, public: PublicRepos, seed: int) -> None:
    history = random_history(seed=seed, count=150, excluded_share=0.3)
    assert any(len(c.parents) > 2 for c in history), "the history needs octopus merges"
    build(tmp_path / "src", history)
    (tmp_path / "src" / "pubgate.yaml").write_text(
        f"target_repo: {public.bare()}\nexclude: ['/internal/', '*.pem']\n"
        "message:\n  trailer: false\n"
    )
    result = pubgate("sync", "--no-pr", cwd=tmp_path / "src")
    assert result.code == 0, result.err
    ours = public.root / "public.git"
    filter_repo(
        tmp_path / "src",
        tmp_path / "fr.git",
        ["--path", "internal/", "--path-glob", "*.pem", "--invert-paths"],
    )
    theirs_tip = git("rev-parse", "main", cwd=tmp_path / "fr.git").strip()
    ours_tip = git("rev-parse", "pubgate/sync", cwd=ours).strip()
    merges = "--min-parents=2"
    count = ["rev-list", "--count"]
    assert git(*count, ours_tip, cwd=ours) == git(*count, theirs_tip, cwd=tmp_path / "fr.git")
    assert git(*count, merges, ours_tip, cwd=ours) == git(
        *count, merges, theirs_tip, cwd=tmp_path / "fr.git"
    )
    assert log_shape(ours, ours_tip) == log_shape(tmp_path / "fr.git", theirs_tip)
    # Same trees, parents, people, dates and messages: the very same commits.
    assert ours_tip == theirs_tip


def test_same_subtree_at_two_places_is_filtered_for_each_place(tmp_path: Path) -> None:
    # One tree id at docs/ and at old/docs/: the anchored rule applies to only one of them, so
    # the memo must not let one answer stand for both (a floating rule beside it too).
    same = {"internal/x.md": "x\n", "a.txt": "a\n"}
    files = {f"docs/{k}": v for k, v in same.items()} | {
        f"old/docs/{k}": v for k, v in same.items()
    }
    for order in (files, dict(reversed(list(files.items())))):
        path = tmp_path / f"src{len(list(tmp_path.iterdir()))}"
        build(path, [C("a", (), order)], bare=True)
        assert git("rev-parse", "main:docs", cwd=path) == git(
            "rev-parse", "main:old/docs", cwd=path
        )
        result = rewrite(path, ["docs/internal/", "*.pem"])
        assert public_files(path, result.tip or "") == [
            "docs/a.txt",
            "old/docs/a.txt",
            "old/docs/internal/x.md",
        ]
