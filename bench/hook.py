"""Time the pre-push hook: a new branch of one commit on a long public history.

    python bench/hook.py                 # 3,000 commits, 7 runs of each

The same push is timed with the hook installed and with ``--no-verify``, alternating, in one
run; each push creates the branch on a local bare target, which is then deleted again. The
difference of the medians is what the hook costs (start-up of Python included).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def git(*args: str, cwd: Path, data: bytes | None = None) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, input=data, capture_output=True, check=True)
    return done.stdout.decode()


def history(repo: Path, commits: int) -> None:
    """``commits`` linear commits, each changing one of 500 files, written by fast-import."""
    stream = []
    for n in range(commits):
        content = f"{n}\n".encode()
        stream.append(
            b"commit refs/heads/main\n"
            + f"committer A <a@example.com> {1_600_000_000 + n} +0000\n".encode()
            + f"data {len(str(n))}\n{n}\n".encode()
            + f"M 100644 inline src/{n % 500}.py\ndata {len(content)}\n".encode()
            + content
            + b"\n"
        )
    git("fast-import", "--quiet", cwd=repo, data=b"".join(stream))
    git("reset", "-q", "--hard", "main", cwd=repo)


def timed(repo: Path, *args: str) -> tuple[float, float]:
    """Wall seconds, and CPU seconds of every process the push ran (steadier on a busy
    machine, where waiting for a core inflates wall time)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(["git", "push", "-q", *args], cwd=repo, check=True, capture_output=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--commits", type=int, default=3000)
    parser.add_argument("--runs", type=int, default=7)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        public, internal = root / "public.git", root / "internal"
        git("init", "-q", "--bare", "-b", "main", str(public), cwd=root)
        git("init", "-q", "-b", "main", str(internal), cwd=root)
        history(internal, options.commits)
        git("remote", "add", "public", str(public), cwd=internal)
        config = {"target_repo": str(public), "exclude": ["internal/", "*.pem"]}
        (internal / "pubgate.yaml").write_text(json.dumps(config))
        (internal / ".git" / "info" / "exclude").write_text("pubgate.yaml\n")
        pubgate = [sys.executable, "-m", "git_pubgate"]
        subprocess.run([*pubgate, "hook", "install"], cwd=internal, check=True, capture_output=True)
        git("push", "-q", "--no-verify", "public", "main", cwd=internal)
        git("checkout", "-q", "-b", "feature", cwd=internal)
        (internal / "src" / "new.py").write_text("new\n")
        git("add", "src/new.py", cwd=internal)
        git("commit", "-qm", "one new commit", cwd=internal)
        with_hook, without = [], []
        for _ in range(options.runs):
            with_hook.append(timed(internal, "public", "feature"))
            git("push", "-q", "--no-verify", "public", ":feature", cwd=internal)
            without.append(timed(internal, "--no-verify", "public", "feature"))
            git("push", "-q", "--no-verify", "public", ":feature", cwd=internal)
        print(
            f"new branch of 1 commit on {options.commits} public commits, median of {options.runs}:"
        )
        for index, what in enumerate(("wall", "cpu")):
            hook = statistics.median(t[index] for t in with_hook)
            plain = statistics.median(t[index] for t in without)
            print(
                f"  {what}: with the hook {hook:.3f} s, without {plain:.3f} s, "
                f"hook cost {hook - plain:.3f} s"
            )


if __name__ == "__main__":
    os.environ.setdefault("GIT_CONFIG_NOSYSTEM", "1")
    main()
