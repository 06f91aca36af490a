"""Time the pre-push hook: a new branch of one commit on a long public history.

    python bench/hook.py                 # 3,000 commits over 500 files, 7 runs of each
    git archive main | tar -x -C /tmp/base
    python bench/hook.py --baseline /tmp/base   # this code and main's, side by side

The same push is timed with the hook installed and with ``--no-verify``, in one rotation; each
push creates the branch on a local bare target, which is then deleted again. The difference of
the medians is what the hook costs (start-up of Python included). With ``--baseline``, the
hook also runs the ``git_pubgate`` package of that source tree (first on ``PYTHONPATH``), with
the hook script that version installs, in the same rotation.

Each hook runs twice in the rotation: with Python's bytecode cache, as in any installed copy
(kept in a scratch ``PYTHONPYCACHEPREFIX``, filled by a first untimed push), and without it
(``PYTHONDONTWRITEBYTECODE=1`` and no cache: every module compiled from source on every push,
as in an editable install on a machine that sets that variable).
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


def history(repo: Path, commits: int, files: int) -> None:
    """``commits`` linear commits, each changing one of ``files`` files, written by
    fast-import (every file exists once ``commits`` reaches ``files``)."""
    stream = []
    for n in range(commits):
        content = f"{n}\n".encode()
        stream.append(
            b"commit refs/heads/main\n"
            + f"committer A <a@example.com> {1_600_000_000 + n} +0000\n".encode()
            + f"data {len(str(n))}\n{n}\n".encode()
            + f"M 100644 inline src/{n % files}.py\ndata {len(content)}\n".encode()
            + content
            + b"\n"
        )
    git("fast-import", "--quiet", cwd=repo, data=b"".join(stream))
    git("reset", "-q", "--hard", "main", cwd=repo)


def environment(source: Path | None, cache: Path | None) -> dict[str, str]:
    """The push's environment: ``source``, the tree whose ``git_pubgate`` the hook runs
    (None: the installed one); ``cache``, where Python keeps bytecode (None: it writes none,
    so git_pubgate, whose source tree has none, is compiled on every run; the installed
    libraries still load theirs)."""
    env = dict(os.environ)
    if source is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(source), env.get("PYTHONPATH")]))
    if cache is None:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        env.pop("PYTHONPYCACHEPREFIX", None)
    else:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(cache)
    return env


def package_dir(env: dict[str, str]) -> Path:
    """Where the git_pubgate that ``env`` runs lives."""
    done = subprocess.run(
        [sys.executable, "-c", "import git_pubgate; print(git_pubgate.__file__)"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return Path(done.stdout.strip()).parent


def timed(repo: Path, *args: str, env: dict[str, str]) -> tuple[float, float]:
    """Wall seconds, and CPU seconds of every process the push ran (steadier on a busy
    machine, where waiting for a core inflates wall time)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(["git", "push", "-q", *args], cwd=repo, check=True, capture_output=True, env=env)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def hook_script(repo: Path, env: dict[str, str]) -> str:
    """The pre-push hook that the git_pubgate of ``env`` installs."""
    pubgate = [sys.executable, "-m", "git_pubgate"]
    subprocess.run(
        [*pubgate, "hook", "install"], cwd=repo, check=True, env=env, capture_output=True
    )
    return (repo / ".git" / "hooks" / "pre-push").read_text()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--commits", type=int, default=3000)
    parser.add_argument("--files", type=int, default=500, help="files the history spreads over")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument(
        "--baseline",
        type=Path,
        help="a source tree of another version (with git_pubgate/ at its top), timed alongside",
    )
    options = parser.parse_args()
    baseline = options.baseline.resolve() if options.baseline else None
    if baseline is not None and not (baseline / "git_pubgate" / "__init__.py").is_file():
        parser.error(f"{baseline} has no git_pubgate package at its top")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        public, internal = root / "public.git", root / "internal"
        git("init", "-q", "--bare", "-b", "main", str(public), cwd=root)
        git("init", "-q", "-b", "main", str(internal), cwd=root)
        history(internal, options.commits, options.files)
        git("remote", "add", "public", str(public), cwd=internal)
        config = {"target_repo": str(public), "exclude": ["internal/", "*.pem"]}
        (internal / "pubgate.yaml").write_text(json.dumps(config))
        (internal / ".git" / "info" / "exclude").write_text("pubgate.yaml\n")
        git("push", "-q", "--no-verify", "public", "main", cwd=internal)
        git("checkout", "-q", "-b", "feature", cwd=internal)
        (internal / "src" / "new.py").write_text("new\n")
        git("add", "src/new.py", cwd=internal)
        git("commit", "-qm", "one new commit", cwd=internal)
        cache = root / "pycache"
        sources = {"this code": None} | ({"baseline": baseline} if baseline else {})
        # label -> (the push's arguments, its environment, the hook script in place)
        variants: dict[str, tuple[tuple[str, ...], dict[str, str], str | None]] = {}
        for name, source in sources.items():
            script = hook_script(internal, environment(source, cache))
            if (package_dir(environment(source, None)) / "__pycache__").exists():
                parser.error(f"{name}'s git_pubgate has a __pycache__: remove it first")
            for label, where in ((name, cache), (f"{name}, no bytecode cache", None)):
                variants[label] = (("public", "feature"), environment(source, where), script)
        variants["--no-verify"] = (
            ("--no-verify", "public", "feature"),
            environment(None, cache),
            None,
        )
        hook = internal / ".git" / "hooks" / "pre-push"
        times: dict[str, list[tuple[float, float]]] = {label: [] for label in variants}
        for run in range(options.runs + 1):
            for label, (args, env, script) in variants.items():
                if script is not None:
                    hook.write_text(script)
                measured = timed(internal, *args, env=env)
                git("push", "-q", "--no-verify", "public", ":feature", cwd=internal)
                if run:  # the first round fills the bytecode cache
                    times[label].append(measured)
        print(
            f"new branch of 1 commit on {options.commits} public commits over "
            f"{options.files} files, median of {options.runs}:"
        )
        plain = [statistics.median(t[i] for t in times["--no-verify"]) for i in (0, 1)]
        print(f"  --no-verify: cpu {plain[1]:.3f} s, wall {plain[0]:.3f} s")
        for label, measured in times.items():
            if label == "--no-verify":
                continue
            wall, cpu = (statistics.median(t[i] for t in measured) for i in (0, 1))
            print(
                f"  {label}: cpu {cpu:.3f} s (hook cost {cpu - plain[1]:.3f} s), "
                f"wall {wall:.3f} s (hook cost {wall - plain[0]:.3f} s)"
            )


if __name__ == "__main__":
    os.environ.setdefault("GIT_CONFIG_NOSYSTEM", "1")
    main()
