"""Kill a sync under leak review at random moments, while the source grows and reviewers
approve: nothing the leak review has not approved ever appears on the target, and a plain rerun
converges (the approved tip published, the newest public tip staged, no other ref touched)."""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

from .conftest import PublicRepos, pubgate
from .factory import C, build, git, random_history
from .test_crash import kill_within

RUNS = 40


def branch(repo: Path, name: str) -> str | None:
    out = git("rev-parse", "--verify", "-q", f"refs/heads/{name}", cwd=repo, check=False)
    return out.strip() or None


def refs_but_stage(repo: Path) -> list[str]:
    listing = git("for-each-ref", cwd=repo).splitlines()
    return [line for line in listing if not line.endswith("\trefs/heads/pubgate/stage")]


def approved_candidate(src: Path) -> str:
    """The commit the approved branch approves: approval merges followed into their merged
    side, down to a commit sync made (it names its source commit)."""
    commit = branch(src, "pubgate/approved") or ""
    while "Pubgate-Source: " not in git("log", "-1", "--format=%B", commit, cwd=src):
        commit = git("rev-parse", f"{commit}^2", cwd=src).strip()
    return commit


def assert_only_approved_on(target: Path, src: Path) -> None:
    for line in git("for-each-ref", "--format=%(objectname) %(refname)", cwd=target).split("\n"):
        if line:
            commit, ref = line.split(" ", 1)
            contained = subprocess.run(
                ["git", "merge-base", "--is-ancestor", commit, "refs/heads/pubgate/approved"],
                cwd=src,
                capture_output=True,
                check=False,
            )
            assert contained.returncode == 0, f"{ref} at {commit} was never approved"


def approve(src: Path, rng: random.Random) -> None:
    """A reviewer merges the stage into the approved branch (merge commit or fast-forward)."""
    stage, approved = branch(src, "pubgate/stage"), branch(src, "pubgate/approved")
    assert stage is not None and approved is not None
    done = subprocess.run(
        ["git", "merge-base", "--is-ancestor", stage, approved], cwd=src, check=False
    )
    if done.returncode == 0:
        return  # approved already: a forge has nothing to merge
    ahead = subprocess.run(
        ["git", "merge-base", "--is-ancestor", approved, stage], cwd=src, check=False
    )
    if ahead.returncode == 0 and rng.random() < 0.5:
        git("update-ref", "refs/heads/pubgate/approved", stage, cwd=src)
        return
    merge = git(
        "commit-tree",
        f"{stage}^{{tree}}",
        "-p",
        approved,
        "-p",
        stage,
        "-m",
        "Merge branch 'pubgate/stage' into 'pubgate/approved'",
        cwd=src,
    ).strip()
    git("update-ref", "refs/heads/pubgate/approved", merge, cwd=src)


def test_sigkill_under_leak_review_never_publishes_unapproved(
    tmp_path: Path, public: PublicRepos
) -> None:
    src = tmp_path / "src"
    ids = build(src, random_history(seed=31, count=100, excluded_share=0.2))
    target = public.bare()
    config = tmp_path / "pubgate.yaml"
    config.write_text(
        json.dumps(
            {"target_repo": str(target), "exclude": ["/internal/", "*.pem"], "leak_review": True}
        )
    )
    first = pubgate("--config", str(config), "sync", cwd=src)
    assert first.code == 1 and "pubgate/approved does not exist" in first.err
    git("update-ref", "refs/heads/pubgate/approved", branch(src, "pubgate/stage") or "", cwd=src)

    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])}
    command = [sys.executable, "-m", "git_pubgate", "--config", str(config), "-q", "sync"]
    shutil.rmtree(src / ".git" / "pubgate")
    started = time.monotonic()
    subprocess.run(command, cwd=src, env=env, check=True, capture_output=True)
    window = time.monotonic() - started
    assert branch(target, "pubgate/sync") == branch(src, "pubgate/approved")

    rng = random.Random(20261130)
    killed = 0
    tip = branch(src, "main") or ""
    seen: set[str] = set()  # the approved tips published, so the loop did publish
    for run in range(RUNS):
        roll = rng.random()
        if roll < 0.35:  # the source moves on
            ids = build(
                src,
                [C(f"n{run}", [tip], {f"src/n{run % 5}.py": f"{run}\n", "internal/x": f"{run}\n"})],
                known=ids,
            )
            tip = ids[f"n{run}"]
        elif roll < 0.7 and branch(src, "pubgate/stage"):
            approve(src, rng)
        if rng.random() < 0.4:  # sometimes from nothing, so kills land in a full rewrite
            shutil.rmtree(src / ".git" / "pubgate", ignore_errors=True)
        if rng.random() < 0.3:  # sometimes the head branch must be pushed again
            git("update-ref", "-d", "refs/heads/pubgate/sync", cwd=target, check=False)
        others = refs_but_stage(src)
        status = git("status", "--porcelain", "--ignored", cwd=src)

        killed += kill_within(command, src, env, rng.uniform(0.0, window))
        assert_only_approved_on(target, src)
        rerun = pubgate("--config", str(config), "--json", "sync", cwd=src)
        assert rerun.code == 0, rerun.err
        assert_only_approved_on(target, src)

        # Converged: the approved tip is on the target, the newest public tip is staged (or
        # approved already), and nothing else in the source moved.
        published = approved_candidate(src)
        seen.add(published)
        assert branch(target, "pubgate/sync") == published
        plan = json.loads(pubgate("--config", str(config), "--json", "plan", cwd=src).out)
        waiting = plan["leak_review"]["staged"]
        assert plan["leak_review"]["publishing"] == published and plan["already_pushed"]
        if waiting is not None:
            assert branch(src, "pubgate/stage") == waiting
        assert refs_but_stage(src) == others
        assert git("status", "--porcelain", "--ignored", cwd=src) == status
        again = json.loads(pubgate("--config", str(config), "--json", "sync", cwd=src).out)
        assert again["leak_review"]["stage_pushed"] is False and again["already_pushed"]
    assert killed >= RUNS // 4, "the kills must land while sync is running"
    assert len(seen) >= 5, "approvals must have been published along the way"
    git("fsck", "--strict", "--no-progress", cwd=src)
