"""Incremental syncs by several versions of git-pubgate, side by side, in one rotation.

    git archive main | tar -x -C /tmp/main          # any version's source tree
    python bench/versions_incremental.py --commits 50000 main=/tmp/main now=.

The scenario is ``bench.py``'s: a first sync of the generated history into a target whose
review branch holds a forge's initial commit, then one sync with the pull request still open;
both by the last version named (the cache it leaves is read by each version as its own would
be: a version that does not know a field of the pending record treats the record as absent,
as it does after any merge). Then each round restores that state and times, for every
version in turn (the rotation starts one later each round), with one new source commit:

- ``first_after_merge``: the pull request merged by fast-forward, then ``sync --no-pr``;
- ``no_cache``: the same, with ``.git/pubgate/cache`` removed first;
- ``startup``: ``--version``, after each timed run.

Each version runs as ``python -m git_pubgate`` with its tree first on ``PYTHONPATH``. CPU time
is of every process (user + system); every version must leave the same head.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bench import _measured, config, git, history  # noqa: E402
from history import EXCLUDE, append  # noqa: E402
from versions import version_trees  # noqa: E402

CASES = ("first_after_merge", "no_cache")


def run(tree: Path, args: list[str], cwd: Path) -> dict[str, float]:
    before = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(tree), before]))
    try:
        return _measured([sys.executable, "-m", "git_pubgate", *args], cwd)
    finally:
        if before is None:
            del os.environ["PYTHONPATH"]
        else:
            os.environ["PYTHONPATH"] = before


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("versions", nargs="+", metavar="NAME=TREE")
    parser.add_argument("--commits", type=int, default=50_000)
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--work", type=Path, default=Path("/tmp/pubgate-bench"))
    options = parser.parse_args()
    trees = version_trees(parser, options.versions)
    options.work.mkdir(parents=True, exist_ok=True)
    source = history(options.work, options.commits, options.files)
    work = (options.work / f"versions-incremental-{options.commits}").resolve()
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    src, target, kept = work / "src.git", work / "target.git", work / "open"
    git("clone", "-q", "--bare", "--no-local", str(source), str(src))
    git("init", "-q", "--bare", "-b", "main", str(target))
    seed = work / "seed"  # a forge's new repository: one initial commit on the review branch
    git("init", "-q", "-b", "main", str(seed))
    (seed / "README.md").write_text("public\n")
    git("add", "README.md", cwd=seed)
    git("-c", "user.name=Forge", "-c", "user.email=forge@example.com", "commit", "-q", "-m",
        "Initial commit", cwd=seed)
    git("push", "-q", str(target), "main:refs/heads/main", cwd=seed)
    cfg = config(work / "config.yaml", src, target, EXCLUDE)
    sync = ["-q", "--config", str(cfg), "sync", "--no-pr"]
    last = list(trees.values())[-1]
    for step in ("first", "open"):  # untimed: the first sync, then one with the PR open
        if step == "open":
            append(src, 1, tag="open", branch="main")
        run(last, sync, work)
    kept.mkdir()
    shutil.copytree(target, kept / "target.git", symlinks=True)
    shutil.copytree(src / "pubgate", kept / "pubgate", symlinks=True)
    tip = git("rev-parse", "main", cwd=src)

    def restore(case: str, tag: str) -> None:
        shutil.rmtree(target)
        shutil.copytree(kept / "target.git", target, symlinks=True)
        shutil.rmtree(src / "pubgate")
        shutil.copytree(kept / "pubgate", src / "pubgate", symlinks=True)
        git("update-ref", "refs/heads/main", tip, cwd=src)
        git("update-ref", "refs/heads/main", "refs/heads/pubgate/sync", cwd=target)  # merged
        if case == "no_cache":
            shutil.rmtree(src / "pubgate" / "cache")
        append(src, 1, tag=tag, branch="main")

    names = list(trees)
    cpu: dict[tuple[str, str], list[float]] = {}
    heads: dict[tuple[str, int], set[str]] = {}
    for r in range(options.runs):
        for case in CASES:
            for name in names[r % len(names):] + names[:r % len(names)]:
                restore(case, f"r{r}")
                done = run(trees[name], sync, work)
                heads.setdefault((case, r), set()).add(git("rev-parse", "pubgate/sync", cwd=target))
                floor = run(trees[name], ["--version"], work)
                cpu.setdefault((case, name), []).append(done["cpu"])
                cpu.setdefault(("startup", name), []).append(floor["cpu"])
                print(f"  run {r + 1} {case}, {name}: cpu {done['cpu']:.2f} s, "
                      f"wall {done['wall']:.2f} s, start-up {floor['cpu']:.2f} s", flush=True)
    if any(len(found) != 1 for found in heads.values()):
        raise SystemExit(f"the versions left different heads: {heads}")
    print(f"{options.commits} commits, CPU seconds, median of {options.runs} (every run):")
    for case in (*CASES, "startup"):
        for name in names:
            values = cpu[(case, name)]
            shown = " / ".join(f"{v:.2f}" for v in values)
            print(f"  {case:18s} {name:10s} {statistics.median(values):.2f}  ({shown})")


if __name__ == "__main__":
    main()
