"""The pre-push hook, installed in a real repository and run by a real git push."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from git_pubgate.errors import ConfigError
from git_pubgate.hooks import CONFIG_HOOKS_SINCE, git_version, parse_pre_push

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
        f"refusing to push {ids['b'][:12]}: excluded path 'internal/x y.md' (exclude 'internal/')"
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
    assert blocked.returncode == 1 and "'deploy/key.pem'" in blocked.stderr


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
    assert blocked.returncode == 1 and "'line\\nbreak.pem'" in blocked.stderr
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
        assert f"refusing to push {ids['leak'][:12]}: excluded path 'internal/plan.md'" in (
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
