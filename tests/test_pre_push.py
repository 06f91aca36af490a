"""The pre-push hook, installed in a real repository and run by a real git push."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pygit2
import pytest

from git_pubgate import hook_rules
from git_pubgate.added_files import added_files
from git_pubgate.catfile import CatFile
from git_pubgate.config import Config, load
from git_pubgate.errors import ConfigError, PubgateError
from git_pubgate.hooks import (
    CONFIG_HOOKS_SINCE,
    PushedRef,
    check_push,
    git_version,
    is_target,
    parse_pre_push,
    pushed_range,
)

from .conftest import PublicRepos, pubgate
from .factory import C, build, git

ZERO = "0" * 40
ROOT = Path(__file__).resolve().parents[1]


def test_protocol_lines_split_from_the_right() -> None:
    a, b = "a" * 40, "b" * 64
    refs = parse_pre_push(
        f"refs/heads/with space {a} refs/heads/x {ZERO}\n(delete) {'0' * 64} refs/heads/gone {b}\n"
    )
    assert refs[0].local_ref == "refs/heads/with space" and refs[0].remote_oid == ZERO
    assert refs[1].deletes and not refs[0].deletes
    assert parse_pre_push("") == []
    with pytest.raises(ConfigError):
        parse_pre_push("garbage\n")


def head(repo: Path) -> str:
    return git("rev-parse", "main", cwd=repo).strip()


def push(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": os.environ["PATH"]}
    return subprocess.run(
        ["git", "push", *args], cwd=repo, capture_output=True, text=True, env=env, check=False
    )


@pytest.fixture
def repo(tmp_path: Path, public: PublicRepos) -> Path:
    """An internal repository with the hook installed, a public remote and another one."""
    src = tmp_path / "internal"
    build(src, [C("a", (), {"README.md": "r\n", "src/a.py": "a\n"})])
    public_url = public.bare()
    other = public.bare("mirror.git")
    git("remote", "add", "public", str(public_url), cwd=src)
    git("remote", "add", "mirror", str(other), cwd=src)
    (src / "pubgate.yaml").write_text(
        json.dumps(
            {
                "target_repo": str(public_url),
                "exclude": ["internal/", "*.pem"],
                "message": {"forbid": ["(?i)codename bluebird"]},
            }
        )
    )
    (src / ".git" / "info" / "exclude").write_text("pubgate.yaml\n")
    result = pubgate("hook", "install", cwd=src)
    assert result.code == 0, result.err
    return src


def test_clean_push_passes_and_excluded_paths_are_blocked(repo: Path) -> None:
    assert push(repo, "public", "main").returncode == 0
    ids = build(
        repo, [C("b", ["main"], {"internal/x y.md": "secret\n"})], known={"main": head(repo)}
    )
    blocked = push(repo, "public", "main")
    assert blocked.returncode == 1
    assert (
        f"refusing to push {ids['b'][:12]}: excluded path internal/x y.md (exclude 'internal/')"
    ) in blocked.stderr
    assert "--no-verify" in blocked.stderr
    assert push(repo, "mirror", "main").returncode == 0  # another remote is not checked
    assert push(repo, "--no-verify", "public", "main").returncode == 0


def test_a_path_that_enters_through_a_merge_is_blocked(repo: Path) -> None:
    git("checkout", "-q", "-b", "side", cwd=repo)
    build(
        repo,
        [C("s", ["main"], {"deploy/key.pem": "k\n"})],
        branch="side",
        known={"main": head(repo)},
    )
    git("checkout", "-q", "main", cwd=repo)
    git("merge", "-q", "--no-ff", "-m", "merge side", "side", cwd=repo)
    git("rm", "-q", "deploy/key.pem", cwd=repo)
    git("commit", "-qm", "drop the key again", cwd=repo)
    # The tip no longer has the key, but the merge commit does: it would still be published.
    blocked = push(repo, "public", "main")
    assert blocked.returncode == 1 and "excluded path deploy/key.pem" in blocked.stderr


def test_forbidden_messages_tags_deletions_and_odd_names(repo: Path) -> None:
    assert push(repo, "public", "main").returncode == 0
    build(
        repo,
        [C("m", ["main"], {"ok.txt": "ok\n"}, message="Ship Codename BLUEBIRD\n")],
        known={"main": head(repo)},
    )
    blocked = push(repo, "public", "main")
    assert blocked.returncode == 1 and "forbid rule" in blocked.stderr
    git("reset", "-q", "--hard", "HEAD~1", cwd=repo)
    build(repo, [C("n", ["main"], {"line\nbreak.pem": "k\n"})], known={"main": head(repo)})
    git("tag", "-a", "-m", "release", "v1", cwd=repo)
    blocked = push(repo, "public", "refs/tags/v1")  # an annotated tag is checked too
    assert blocked.returncode == 1 and 'excluded path "line\\nbreak.pem"' in blocked.stderr
    git("push", "-q", "--no-verify", "public", "main:refs/heads/old", cwd=repo)
    assert push(repo, "public", ":refs/heads/old").returncode == 0  # deleting passes


def test_existing_hook_still_runs_and_uninstall_restores_it(tmp_path: Path, repo: Path) -> None:
    pubgate("hook", "uninstall", cwd=repo)
    hook = repo / ".git" / "hooks" / "pre-push"
    marker = tmp_path / "legacy-ran"
    hook.write_text(f'#!/bin/sh\ncat > "{marker}"\necho "$1 $2" >> "{marker}"\n')
    hook.chmod(0o755)
    assert pubgate("hook", "install", cwd=repo).code == 0
    assert (repo / ".git" / "hooks" / "pre-push.legacy").exists()
    assert push(repo, "public", "main").returncode == 0
    seen = marker.read_text()
    assert "refs/heads/main" in seen and seen.rstrip().endswith(
        f"public {git('remote', 'get-url', 'public', cwd=repo).strip()}"
    )
    assert pubgate("hook", "uninstall", cwd=repo).code == 0
    assert (
        "cat >" in hook.read_text() and not (repo / ".git" / "hooks" / "pre-push.legacy").exists()
    )


def test_hooks_path_is_not_clobbered(repo: Path) -> None:
    pubgate("hook", "uninstall", cwd=repo)
    git("config", "core.hooksPath", ".githooks", cwd=repo)
    result = pubgate("hook", "install", cwd=repo)
    assert result.code == 1 and "core.hooksPath" in result.err and "hook pre-push" in result.err


def test_pre_commit_runs_the_hook_from_the_manifest(tmp_path: Path, repo: Path) -> None:
    clean = head(repo)
    ids = build(
        repo, [C("leak", ["main"], {"internal/plan.md": "secret\n"})], known={"main": clean}
    )
    url = git("remote", "get-url", "public", cwd=repo).strip()
    # A user's setup: this repository's manifest, pinned to a commit. (pre-commit 4.7's
    # try-repo did not hand the pre-push remote variables to the hook; run does.)
    rev = git("rev-parse", "HEAD", cwd=ROOT).strip()
    (repo / ".pre-commit-config.yaml").write_text(
        f"repos:\n- repo: {ROOT}\n  rev: {rev}\n  hooks:\n  - id: pubgate\n"
    )
    (repo / ".git" / "info" / "exclude").write_text("pubgate.yaml\n.pre-commit-config.yaml\n")
    scratch = tmp_path / "pre-commit-home"
    env = {
        **os.environ,
        "PRE_COMMIT_HOME": str(scratch / "cache"),
        "HOME": str(scratch),
        "XDG_CACHE_HOME": str(scratch / "xdg"),
    }

    def pre_push(to_ref: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [
                str(Path(sys.executable).parent / "pre-commit"),
                "run",
                "--config",
                ".pre-commit-config.yaml",
                "--hook-stage",
                "pre-push",
                "--from-ref",
                clean,
                "--to-ref",
                to_ref,
                "--remote-name",
                "public",
                "--remote-url",
                url,
                "--local-branch",
                "refs/heads/main",
                "--remote-branch",
                "refs/heads/main",
                "--verbose",
            ],
            cwd=repo,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )

    try:
        blocked = pre_push(ids["leak"])
        assert blocked.returncode == 1, blocked.stdout + blocked.stderr
        assert f"refusing to push {ids['leak'][:12]}: excluded path internal/plan.md" in (
            blocked.stdout
        )
        passed = pre_push(clean)
        assert passed.returncode == 0, passed.stdout
    finally:
        # pre-commit keeps a clone of this repository, test modules (and their fake tokens)
        # included: it is not the tool's output, and must not trip the suite's secret check.
        shutil.rmtree(scratch, ignore_errors=True)


def test_config_hooks_need_git_2_54(repo: Path) -> None:
    result = pubgate("hook", "install", "--via-config", cwd=repo)
    if git_version() < CONFIG_HOOKS_SINCE:
        assert result.code == 1 and "config hooks (they came in git 2.54)" in result.err
        assert git("config", "--get-regexp", "^hook\\.", cwd=repo, check=False) == ""
    else:
        assert result.code == 0, result.err
        assert "hook pre-push" in git("config", "hook.pubgate.command", cwd=repo)


def test_a_deliberate_exception_does_not_block_later_pushes(repo: Path) -> None:
    """After one 'git push --no-verify' of an internal commit to another public branch, pushes
    to the public remote are checked for what they add, not for what is already there."""
    assert push(repo, "public", "main").returncode == 0
    clean = head(repo)
    ids = build(repo, [C("leak", ["main"], {"internal/plan.md": "p\n"})], known={"main": clean})
    assert push(repo, "--no-verify", "public", f"{ids['leak']}:refs/heads/leak").returncode == 0
    git("reset", "-q", "--hard", clean, cwd=repo)
    build(repo, [C("fine", ["main"], {"src/b.py": "b\n"})], known={"main": clean})
    later = push(repo, "public", "main")
    assert later.returncode == 0, later.stderr
    assert ids["leak"][:12] not in later.stderr
    # A new branch on top of the already-public leak that adds one clean commit (its tree no
    # longer holds the file) passes too: the leak itself is not part of this push.
    git("checkout", "-q", "-b", "on-leak", ids["leak"], cwd=repo)
    build(
        repo,
        [C("next", ["leak"], {"internal/plan.md": None, "src/c.py": "c\n"})],
        branch="on-leak",
        known=ids,
    )
    assert push(repo, "public", "on-leak").returncode == 0


def test_a_new_branch_is_checked_for_the_commits_it_adds_only(repo: Path) -> None:
    history = [C("c0", ["main"], {"src/0.py": "0\n"})]
    history += [C(f"c{i}", [f"c{i - 1}"], {f"src/{i}.py": f"{i}\n"}) for i in range(1, 300)]
    ids = build(repo, history, known={"main": head(repo)})
    assert push(repo, "--no-verify", "public", "main").returncode == 0
    git("checkout", "-q", "-b", "feature", cwd=repo)
    new = build(repo, [C("f", ["c299"], {"src/f.py": "f\n"})], branch="feature", known=ids)["f"]
    url = git("remote", "get-url", "public", cwd=repo).strip()
    pushed = [PushedRef("refs/heads/feature", new, "refs/heads/feature", ZERO)]
    # Named remote, and the same repository pushed to by URL (no remote-tracking branches
    # by that name: the remote whose URL it is stands in).
    for remote in ("public", url):
        revisions = pushed_range(repo, remote, url, pushed)
        listed = git("rev-list", *revisions, cwd=repo).split()
        assert listed == [new]
    # A URL that no remote tracks: what the repository advertises is what it has.
    git("remote", "remove", "public", cwd=repo)
    listed = git("rev-list", *pushed_range(repo, url, url, pushed), cwd=repo).split()
    assert listed == [new]


def test_equivalent_urls_are_the_same_target() -> None:
    target = "git@github.com:o/r.git"
    same = [
        "https://www.github.com/o/r.git",
        "https://github.com/o/r",
        "https://GitHub.com/O/R.git/",
        "ssh://git@ssh.github.com:443/o/r.git",
        "ssh://git@github.com/o/r",
        "git+ssh://git@github.com/o/r.git",
        "https://user@github.com/o/r.git",
        "github.com:o/r",
    ]
    for url in same:
        assert is_target(url, target), url
        assert is_target(target, url), url
    for other in ("git@github.com:o/r2.git", "https://gitlab.com/o/r.git", "/srv/o/r.git"):
        assert not is_target(other, target), other


def test_a_checkout_without_configuration_is_still_protected(repo: Path) -> None:
    """The rules saved when the hook was installed (and refreshed by each plan or sync) stand
    in when the checked-out commit has no pubgate.yaml; other remotes are never blocked."""
    config = repo / "pubgate.yaml"
    settings = json.loads(config.read_text())
    settings["exclude"].append("secret/")
    config.write_text(json.dumps(settings))
    assert pubgate("plan", cwd=repo).code == 0  # saves the new rules for the hook
    config.unlink()
    assert push(repo, "public", "main").returncode == 0
    ids = build(repo, [C("s", ["main"], {"secret/k.txt": "k\n"})], known={"main": head(repo)})
    assert push(repo, "mirror", "main").returncode == 0, "another remote is never blocked"
    assert push(repo, "origin-less", "main").returncode != 0  # (no such remote: git's own error)
    blocked = push(repo, "public", "main")
    assert blocked.returncode == 1, blocked.stderr
    assert f"refusing to push {ids['s'][:12]}: excluded path secret/k.txt" in blocked.stderr
    # A broken configuration: pushes elsewhere go, the public one is checked with saved rules.
    config.write_text("target_repo: [unclosed\n")
    assert push(repo, "mirror", "main").returncode == 0
    blocked = push(repo, "public", "main")
    assert blocked.returncode == 1 and "secret/k.txt" in blocked.stderr
    assert "checking with the rules saved by the last sync" in blocked.stderr


def test_no_configuration_and_nothing_saved_blocks_nothing(tmp_path: Path, repo: Path) -> None:
    saved = repo / ".git" / "pubgate" / "hook-rules.json"
    assert json.loads(saved.read_text())["targets"], "hook install saved the rules"
    saved.unlink()
    (repo / "pubgate.yaml").unlink()
    build(repo, [C("s", ["main"], {"internal/x": "x\n"})], known={"main": head(repo)})
    assert push(repo, "mirror", "main").returncode == 0
    assert push(repo, "public", "main").returncode == 0  # nothing says it is public


def test_saved_rules_never_hold_a_password(tmp_path: Path) -> None:
    secret = "hunter2-" + "x" * 8
    # The configuration refuses such a URL; the saved rules do not rely on that.
    url = f"https://deployer:{secret}@git.example/o/r.git"
    git_dir = tmp_path / "git"
    hook_rules.save(git_dir, Config(path=tmp_path / "pubgate.yaml", target_repo=url))
    text = (git_dir / "pubgate" / "hook-rules.json").read_text()
    assert secret not in text and "deployer" not in text
    [saved] = hook_rules.load(git_dir)
    assert saved.target == "https://git.example/o/r.git"
    assert is_target("https://git.example/o/r", saved.target)


def test_saved_rules_keep_each_target(tmp_path: Path) -> None:
    config = tmp_path / "pubgate.yaml"
    config.write_text(
        json.dumps(
            {
                "exclude": ["/internal/"],
                "targets": {
                    "a": {"root": "libs/a", "target_repo": str(tmp_path / "a.git")},
                    "b": {"root": "libs/b", "target_repo": str(tmp_path / "b.git")},
                },
            }
        )
    )
    git_dir = tmp_path / "git"
    whole = load(config)
    hook_rules.save(git_dir, whole)
    assert sorted(r.target for r in hook_rules.load(git_dir)) == [
        str(tmp_path / "a.git"),
        str(tmp_path / "b.git"),
    ]
    # A sync of one target refreshes its own entry and keeps the other's.
    only_a = next(t for t in whole.targets if t.name == "a")
    hook_rules.save(git_dir, dataclasses.replace(only_a, exclude=("*.pem",)))
    saved = {r.target: r.exclude for r in hook_rules.load(git_dir)}
    assert saved == {str(tmp_path / "a.git"): ("*.pem",), str(tmp_path / "b.git"): ("/internal/",)}


# A GitHub-shaped token, assembled so that no test source holds one.
TOKEN = "ghp_" + "Qw7" * 12


def test_added_files_are_what_no_parent_has(tmp_path: Path) -> None:
    repo_dir = tmp_path / "r"
    ids = build(
        repo_dir,
        [
            C("a", (), {"lib/x.py": "x\n", "lib/y.py": "y\n", "doc/d.md": "d\n"}),
            C("b", ["a"], {"lib/x.py": "x2\n", "run.sh": "r\n"}),
            C("c", ["b"], {"run.sh": (0o100755, "r\n"), "lib/y.py": None, "lib/z.py": "y\n"}),
            C("side", ["a"], {"doc/s.md": "s\n"}),
            C("m", ["c", "side"], {"doc/s.md": "s\n", "both.txt": "new\n"}),
        ],
    )
    repo = pygit2.Repository(str(repo_dir))
    reads: list[bytes] = []

    def read(oid: bytes) -> bytes:
        reads.append(oid)
        return bytes(repo.odb.read(pygit2.Oid(raw=oid))[1])

    def added(name: str, *parents: str) -> list[str]:
        tree = repo[ids[name]].peel(pygit2.Commit).tree_id.raw
        bases = [repo[ids[p]].peel(pygit2.Commit).tree_id.raw for p in parents]
        return sorted(f"{p.decode()} {m.decode()}" for p, m, _ in added_files(read, tree, bases))

    assert added("a") == ["doc/d.md 100644", "lib/x.py 100644", "lib/y.py 100644"]
    reads.clear()
    assert added("b", "a") == ["lib/x.py 100644", "run.sh 100644"]
    doc_tree = next(e.id.raw for e in repo[ids["b"]].peel(pygit2.Commit).tree if e.name == "doc")
    assert doc_tree not in reads, "a subtree equal to the parent's is never read"
    # A mode change and a rename are additions, even of a blob the parent holds elsewhere.
    assert added("c", "b") == ["lib/z.py 100644", "run.sh 100755"]
    # A merge: what either parent holds at the same path is not added; the rest is.
    assert added("m", "c", "side") == ["both.txt 100644"]
    assert added("m", "c") == ["both.txt 100644", "doc/s.md 100644"]


def test_the_hook_reads_only_the_files_a_push_adds(repo: Path, scanned_blobs: list[bytes]) -> None:
    """A one-file commit on a public tree of 60 files scans that file, not the 60."""
    files = {f"pkg/m{i}.py": f"x = {i}\n" for i in range(60)}
    ids = build(repo, [C("wide", ["main"], files)], known={"main": head(repo)})
    assert push(repo, "--no-verify", "public", "main").returncode == 0
    git("fetch", "-q", "public", cwd=repo)
    ids = build(repo, [C("one", ["wide"], {"pkg/m7.py": "x = 700\n"})], known=ids)
    url = git("remote", "get-url", "public", cwd=repo).strip()
    config = load(repo / "pubgate.yaml")
    pushed = [PushedRef("refs/heads/main", ids["one"], "refs/heads/main", ids["wide"])]
    assert check_push(repo, "public", url, pushed, hook_rules.from_config(config)) == []
    assert scanned_blobs == [b"x = 700\n"]


def test_what_a_push_adds_is_refused_wherever_it_enters(repo: Path) -> None:
    """A secret and an internal section added by new commits are refused as before, also when
    a merge brings them in and a later commit makes the tree equal to an earlier one."""
    assert push(repo, "public", "main").returncode == 0
    clean = head(repo)
    git("checkout", "-q", "-b", "side", cwd=repo)
    side = build(
        repo,
        [
            C("s1", ["main"], {"notes.txt": f"token {TOKEN}\n"}),
            C("s2", ["s1"], {"src/a.py": "a\n# BEGIN-INTERNAL\nx\n# END-INTERNAL\n"}),
        ],
        branch="side",
        known={"main": clean},
    )
    git("checkout", "-q", "main", cwd=repo)
    git("merge", "-q", "--no-ff", "-m", "merge side", "side", cwd=repo)
    git("checkout", "-q", clean, "--", ".", cwd=repo)
    git("rm", "-q", "notes.txt", cwd=repo)
    git("commit", "-qm", "back to the clean tree", cwd=repo)
    # The tip's tree is the public one again, but the commits below it would publish both.
    assert git("rev-parse", "main^{tree}", cwd=repo) == git(
        "rev-parse", f"{clean}^{{tree}}", cwd=repo
    )
    blocked = push(repo, "public", "main")
    assert blocked.returncode == 1, blocked.stderr
    assert f"refusing to push {side['s1'][:12]}: notes.txt:1 holds a GitHub token" in blocked.stderr
    assert f"refusing to push {side['s2'][:12]}: 'src/a.py' holds an internal section" in (
        blocked.stderr
    )
    assert TOKEN not in blocked.stderr


def test_objects_are_read_through_one_git_process(tmp_path: Path) -> None:
    ids = build(tmp_path / "r", [C("a", (), {"f.txt": "f\n"})])
    with CatFile(tmp_path / "r") as objects:
        tree = objects.commit_tree(ids["a"])
        assert tree is not None and b"f.txt" in objects.read(tree)
        assert objects.get("0" * 40) is None and objects.commit_tree("1" * 40) is None
        blob = git("rev-parse", f"{ids['a']}:f.txt", cwd=tmp_path / "r").strip()
        assert objects.get(blob) == ("blob", b"f\n") and objects.commit_tree(blob) is None
        with pytest.raises(PubgateError, match="is missing from the repository"):
            objects.read(b"\x01" * 20)
