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

from .conftest import PublicRepos, pubgate
from .factory import build, git, random_history

RUNS = 50


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
        process = subprocess.Popen(
            command, cwd=src, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        time.sleep(rng.uniform(0.0, window))
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            killed += 1
        process.wait()
        rerun = pubgate("--config", str(config), "sync", "--no-pr", cwd=src)
        assert rerun.code == 0, rerun.err
        assert git("rev-parse", "pubgate/sync", cwd=target).strip() == expected
        assert git("for-each-ref", "--format=%(refname)", cwd=target).split() == [
            "refs/heads/pubgate/sync"
        ]
        assert git("for-each-ref", cwd=src) == source_refs
        assert git("status", "--porcelain", "--ignored", cwd=src) == source_status
    assert killed >= RUNS // 4, "the kills must land while sync is running"
