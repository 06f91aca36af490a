"""Kill sync at random moments: a plain rerun always converges to the uninterrupted result."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from .conftest import SECRETS, PublicRepos, pubgate
from .factory import C, build, git, random_history
from .githubserver import GitHubApiServer
from .gitserver import GitHttpServer

RUNS = 100
PYPROJECT = '[project]\nname = "crash"\nversion = "0.0.0"\n'


def kill_within(command: list[str], cwd: Path, env: dict[str, str], delay: float) -> int:
    """Start ``command`` and SIGKILL it after ``delay`` seconds; 1 if it was still running."""
    process = subprocess.Popen(
        command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    time.sleep(delay)
    running = process.poll() is None
    if running:
        process.send_signal(signal.SIGKILL)
    process.wait()
    return int(running)


def test_sigkill_anywhere_then_rerun_converges(tmp_path: Path, public: PublicRepos) -> None:
    src = tmp_path / "src"
    build(src, random_history(seed=11, count=300, excluded_share=0.2))
    config = tmp_path / "pubgate.yaml"

    # The uninterrupted result, into a target of its own.
    reference = public.bare("reference.git")
    config.write_text(
        json.dumps({"target_repo": str(reference), "exclude": ["/internal/", "*.pem"]})
    )
    assert pubgate("--config", str(config), "sync", "--no-pr", cwd=src).code == 0
    expected = git("rev-parse", "pubgate/sync", cwd=reference).strip()
    shutil.rmtree(src / ".git" / "pubgate")

    target = public.bare()
    config.write_text(json.dumps({"target_repo": str(target), "exclude": ["/internal/", "*.pem"]}))
    source_refs = git("for-each-ref", cwd=src)
    source_status = git("status", "--porcelain", "--ignored", cwd=src)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])}
    command = [
        sys.executable,
        "-m",
        "git_pubgate",
        "--config",
        str(config),
        "-q",
        "sync",
        "--no-pr",
    ]
    # Kill within the time a cold run takes here, so kills land mid-run on any machine.
    shutil.rmtree(src / ".git" / "pubgate", ignore_errors=True)
    started = time.monotonic()
    subprocess.run(command, cwd=src, env=env, check=True, capture_output=True)
    window = time.monotonic() - started
    git("update-ref", "-d", "refs/heads/pubgate/sync", cwd=target)
    rng = random.Random(20261124)
    killed = 0
    for _ in range(RUNS):
        if rng.random() < 0.5:  # sometimes from nothing, so kills land in a full rewrite too
            shutil.rmtree(src / ".git" / "pubgate", ignore_errors=True)
        if rng.random() < 0.5:  # sometimes the head branch must be pushed again
            git("update-ref", "-d", "refs/heads/pubgate/sync", cwd=target, check=False)
        killed += kill_within(command, src, env, rng.uniform(0.0, window))
        rerun = pubgate("--config", str(config), "sync", "--no-pr", cwd=src)
        assert rerun.code == 0, rerun.err
        assert git("rev-parse", "pubgate/sync", cwd=target).strip() == expected
        assert git("for-each-ref", "--format=%(refname)", cwd=target).split() == [
            "refs/heads/pubgate/sync"
        ]
        assert git("for-each-ref", cwd=src) == source_refs
        assert git("status", "--porcelain", "--ignored", cwd=src) == source_status
    assert killed >= RUNS // 4, "the kills must land while sync is running"


RELEASE_RUNS = 40


def test_sigkill_during_a_release_with_pull_requests(tmp_path: Path) -> None:
    """Kills land while rewriting, writing the release commit, pushing, opening the pull
    request and closing the one it supersedes; each rerun ends with one open pull request for
    the same release commit, the superseded one closed, and no stray branch."""
    token = "ghp_crash_loop_token_never_shown_4d2"
    SECRETS.add(token)
    (tmp_path / "forge").mkdir()
    bare = tmp_path / "forge" / "org" / "public.git"
    git("init", "-q", "--bare", "-b", "main", str(bare))
    build(bare, [C("init", (), {"README.md": "Public\n"})], bare=True)
    src = tmp_path / "src"
    history = random_history(seed=5, count=150, excluded_share=0.2)
    history[0].files = {**history[0].files, "pyproject.toml": PYPROJECT}
    ids = build(src, history)
    with (
        GitHttpServer(tmp_path / "forge", token) as git_server,
        GitHubApiServer(tmp_path / "forge", token) as api,
    ):
        config = tmp_path / "pubgate.yaml"
        config.write_text(
            json.dumps(
                {
                    "target_repo": git_server.url("org/public.git"),
                    "forge": "github",
                    "api_url": api.api_url,
                    "github_token_env": "GH_TOKEN",
                    "exclude": ["/internal/", "*.pem"],
                    "version": {},
                }
            )
        )
        env = {**os.environ, "GH_TOKEN": token, "PYTHONPATH": str(Path(__file__).parents[1])}
        base = [sys.executable, "-m", "git_pubgate", "--config", str(config), "-q", "sync"]
        # An open release pull request that the next, bigger release supersedes.
        subprocess.run([*base, "--bump", "patch"], cwd=src, env=env, check=True)
        old_branch = "pubgate/release-v0.0.1"
        old_tip = git("rev-parse", old_branch, cwd=bare).strip()
        ids = build(
            src, [C("big", ["tip"], {"src/api.py": "v2\n"}, message="feat!: new API\n")], known=ids
        )
        preview = subprocess.run(
            [*base[:-2], "--json", "sync", "--dry-run"],
            cwd=src,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        expected = json.loads(preview.stdout)["head"]
        branch = "pubgate/release-v0.1.0"

        started = time.monotonic()
        subprocess.run(base, cwd=src, env=env, check=True)
        window = time.monotonic() - started
        source_refs = git("for-each-ref", cwd=src)
        rng = random.Random(20261125)
        killed = 0
        for _ in range(RELEASE_RUNS):
            if rng.random() < 0.5:
                shutil.rmtree(src / ".git" / "pubgate", ignore_errors=True)
            if rng.random() < 0.4:
                git("update-ref", "-d", f"refs/heads/{branch}", cwd=bare, check=False)
            if rng.random() < 0.4:  # the superseded pull request is back, as if reopened
                git("update-ref", f"refs/heads/{old_branch}", old_tip, cwd=bare)
                api.pulls["org/public"][0]["state"] = "open"
            killed += kill_within(base, src, env, rng.uniform(0.0, window))
            rerun = subprocess.run(
                base, cwd=src, env=env, capture_output=True, text=True, check=False
            )
            assert rerun.returncode == 0, rerun.stderr
            heads = git(
                "for-each-ref", "--format=%(refname:short) %(objectname)", "refs/heads", cwd=bare
            )
            assert heads.split("\n")[1:] == [f"{branch} {expected}", ""]
            pulls = [(p["head"], p["state"]) for p in api.pulls["org/public"]]
            assert pulls == [(old_branch, "closed"), (branch, "open")]
            assert git("for-each-ref", cwd=src) == source_refs
        assert api.errors == []
    assert killed >= RELEASE_RUNS // 4, "the kills must land while sync is running"
    git("fsck", "--strict", "--no-progress", cwd=bare)


ABSORB_RUNS = 40


def test_sigkill_during_absorb_then_rerun_converges(tmp_path: Path, public: PublicRepos) -> None:
    """Kills land while absorb reads the target, replays, checks and writes its branch; each
    rerun leaves the branch at the uninterrupted result and every other source ref as it was."""
    src = tmp_path / "src"
    build(src, random_history(seed=23, count=120, excluded_share=0.2))
    target = public.bare()
    config = tmp_path / "pubgate.yaml"
    config.write_text(json.dumps({"target_repo": str(target), "exclude": ["/internal/", "*.pem"]}))
    assert pubgate("--config", str(config), "sync", "--no-pr", cwd=src).code == 0
    git("update-ref", "refs/heads/main", "pubgate/sync", cwd=target)
    rng = random.Random(20261130)
    known = {"main": git("rev-parse", "main", cwd=target).strip()}
    contributions = []
    for i in range(12):  # a chain with a side branch merged by a merge commit
        parent = ["main"] if i == 0 else [f"p{i - 1}"]
        contributions.append(C(f"p{i}", parent, {f"src/p{i % 4}.txt": f"{rng.random()}\n"}))
    contributions.append(C("side", ["p3"], {"docs/side.txt": "side\n"}, author="Bo Baker"))
    contributions.append(C("merge", ["p11", "side"], {"docs/side.txt": "side\n"}))
    build(target, contributions, bare=True, known=known)

    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])}
    command = [sys.executable, "-m", "git_pubgate", "--config", str(config), "-q", "absorb"]
    started = time.monotonic()
    subprocess.run(command, cwd=src, env=env, check=True, capture_output=True)
    window = time.monotonic() - started
    expected = git("rev-parse", "pubgate/absorb", cwd=src).strip()
    git("branch", "-D", "-q", "pubgate/absorb", cwd=src)
    source_refs = git("for-each-ref", cwd=src)
    source_status = git("status", "--porcelain", "--ignored", cwd=src)
    killed = 0
    for _ in range(ABSORB_RUNS):
        if rng.random() < 0.5:
            shutil.rmtree(src / ".git" / "pubgate", ignore_errors=True)
        if rng.random() < 0.5:
            git("branch", "-D", "-q", "pubgate/absorb", cwd=src, check=False)
        killed += kill_within(command, src, env, rng.uniform(0.0, window))
        rerun = pubgate("--config", str(config), "absorb", cwd=src)
        assert rerun.code == 0, rerun.err
        assert git("rev-parse", "pubgate/absorb", cwd=src).strip() == expected
        git("branch", "-D", "-q", "pubgate/absorb", cwd=src)
        assert git("for-each-ref", cwd=src) == source_refs
        assert git("status", "--porcelain", "--ignored", cwd=src) == source_status
    assert killed >= ABSORB_RUNS // 4, "the kills must land while absorb is running"
    # The result still converges: merged internally, the next sync publishes nothing new.
    git("merge", "-q", "--ff-only", expected, cwd=src)
    done = pubgate("--config", str(config), "--json", "sync", "--no-pr", cwd=src)
    assert done.code == 0 and json.loads(done.out)["up_to_date"], done.err
    git("fsck", "--strict", "--no-progress", cwd=src)
