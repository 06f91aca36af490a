"""Benchmark git-pubgate's rewrite against git-filter-repo, and its incremental syncs.

    python bench/bench.py                      # generated 50,000-commit history, all parts
    python bench/bench.py --commits 10000 --runs 5
    python bench/bench.py --repo ~/src/sympy --exclude /doc/ /examples/ '*.png' '/*/tests/' \\
        --filter-repo-args "--path doc/ --path examples/ --path-glob *.png --path-glob */tests/*"

Every figure is a median over ``--runs`` runs on fresh copies; the full-rewrite runs alternate
which tool goes first. Peak memory is the largest single process of the run (ru_maxrss of the
children), as /usr/bin/time reports it. Only ratios measured in the same run mean anything on a
shared machine.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shlex
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from history import EXCLUDE, FILTER_REPO_ARGS, append, generate  # noqa: E402

BIN = Path(sys.executable).parent


def measure(cmd: list[str], cwd: Path) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of the largest process ``cmd`` ran, in a fresh wrapper."""
    data = _measured(cmd, cwd)
    return data["wall"], data["rss_mb"]


def _measured(cmd: list[str], cwd: Path) -> dict[str, float]:
    wrapper = [sys.executable, __file__, "_measure", "--", *cmd]
    out = subprocess.run(wrapper, cwd=cwd, capture_output=True, check=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _measure_main(cmd: list[str]) -> None:
    start = time.perf_counter()
    done = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        sys.stderr.write(done.stderr.decode(errors="replace"))
        raise SystemExit(f"benchmark command failed: {shlex.join(cmd)}")
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    # CPU seconds of every child (git included): what a run costs whatever else the machine does.
    print(json.dumps({"wall": wall, "rss_mb": usage.ru_maxrss / 1024,
                      "cpu": usage.ru_utime + usage.ru_stime}))


def git(*args: str, cwd: Path | None = None) -> str:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, check=True,
                          text=True).stdout.strip()


def config(path: Path, source: Path, target: Path, exclude: list[str], **extra: object) -> Path:
    path.write_text(json.dumps({"source_repo": str(source), "target_repo": str(target),
                                "exclude": exclude, **extra}))
    return path


def listing(repo: Path, rev: str) -> list[bytes]:
    out = subprocess.run(["git", "ls-tree", "-r", "-z", rev], cwd=repo, capture_output=True,
                         check=True).stdout
    return [line for line in out.split(b"\0") if line]


def expected_tip(source: Path, branch: str, exclude: list[str]) -> list[bytes]:
    from git_pubgate.rules import Rules

    rules = Rules.compile(exclude)
    return [row for row in listing(source, branch) if rules.is_public(row.split(b"\t", 1)[1])]


def history(work: Path, commits: int, files: int) -> Path:
    path = work / f"history-{commits}-{files}.git"
    if not (path / "HEAD").exists():
        print(f"generating a {commits}-commit history (kept in {path}) ...", flush=True)
        generate(path, commits=commits, files=files)
    return path


def fresh(source: Path, dest: Path) -> Path:
    shutil.rmtree(dest, ignore_errors=True)
    git("clone", "-q", "--bare", "--no-local", str(source), str(dest))
    return dest


def full(source: Path, branch: str, work: Path, runs: int, exclude: list[str],
         fr_args: list[str]) -> dict[str, object]:
    ours: list[tuple[float, float]] = []
    theirs: list[tuple[float, float]] = []
    their_push: list[float] = []
    tips: dict[str, str] = {}
    loose: dict[str, int] = {}
    for run in range(runs):
        for tool in (("ours", "theirs") if run % 2 == 0 else ("theirs", "ours")):
            copy = fresh(source, work / f"{tool}.git")
            if tool == "ours":
                target = work / "target.git"
                shutil.rmtree(target, ignore_errors=True)
                git("init", "-q", "--bare", str(target))
                cfg = config(work / "bench-config.yaml", copy, target, exclude)
                ours.append(measure([str(BIN / "git-pubgate"), "-q", "--config", str(cfg),
                                     "sync", "--no-pr"], work))
                tips["ours"] = listing(target, "pubgate/sync")
                loose["ours"] = int(git("count-objects", cwd=target).split()[0])
            else:
                theirs.append(measure([str(BIN / "git-filter-repo"), "--force", "--quiet",
                                       *fr_args], copy))
                tips["filter-repo"] = listing(copy, branch)
                loose["filter-repo"] = int(git("count-objects", cwd=copy).split()[0])
                # What ours includes and filter-repo does not: publishing the result into a
                # target (git's pack-objects here, index-pack there).
                pushed = work / "theirs-target.git"
                shutil.rmtree(pushed, ignore_errors=True)
                git("init", "-q", "--bare", str(pushed))
                their_push.append(measure(["git", "push", "-q", str(pushed),
                                           f"{branch}:refs/heads/{branch}"], copy)[0])
    expected = set(expected_tip(source, branch, exclude))
    med = {name: (statistics.median(w for w, _ in rows), statistics.median(m for _, m in rows))
           for name, rows in (("ours", ours), ("filter-repo", theirs))}
    return {
        "commits": int(git("rev-list", "--count", branch, cwd=source)),
        "ours_wall": med["ours"][0], "ours_rss_mb": med["ours"][1],
        "filter_repo_wall": med["filter-repo"][0], "filter_repo_rss_mb": med["filter-repo"][1],
        "wall_ratio": med["ours"][0] / med["filter-repo"][0],
        "filter_repo_push_wall": statistics.median(their_push),
        "wall_ratio_with_push": med["ours"][0]
        / (med["filter-repo"][0] + statistics.median(their_push)),
        # Checked against the source tip filtered independently (ls-tree + the rules), not
        # against each other: filter-repo assumes merges are not "evil" and can drift.
        "tip_entries_differing_from_source": {
            name: len(set(rows) ^ expected) for name, rows in tips.items()
        },
        "loose_objects_after": loose,
    }


def scan_cost(source: Path, work: Path, runs: int, exclude: list[str]) -> dict[str, object]:
    """A first sync with the secret scan on against the same sync with ``secrets: false``.

    Both runs remove internal sections (always on); alternating which goes first, each on a
    fresh copy into an empty target.
    """
    walls: dict[str, list[float]] = {"on": [], "off": []}
    cpus: dict[str, list[float]] = {"on": [], "off": []}
    heads: dict[str, str] = {}
    for run in range(runs):
        for mode in (("on", "off") if run % 2 == 0 else ("off", "on")):
            copy = fresh(source, work / f"scan-{mode}.git")
            target = work / f"scan-{mode}-target.git"
            shutil.rmtree(target, ignore_errors=True)
            git("init", "-q", "--bare", str(target))
            extra = {} if mode == "on" else {"secrets": False}
            cfg = config(work / f"scan-{mode}.yaml", copy, target, exclude, **extra)
            done = _measured([str(BIN / "git-pubgate"), "-q", "--config", str(cfg),
                              "sync", "--no-pr"], work)
            walls[mode].append(done["wall"])
            cpus[mode].append(done["cpu"])
            heads[mode] = git("rev-parse", "pubgate/sync", cwd=target)
    on, off = statistics.median(walls["on"]), statistics.median(walls["off"])
    cpu_on, cpu_off = statistics.median(cpus["on"]), statistics.median(cpus["off"])
    return {"commits": int(git("rev-list", "--count", "main", cwd=source)),
            "scan_on_wall": on, "scan_off_wall": off, "ratio": on / off,
            "scan_on_cpu": cpu_on, "scan_off_cpu": cpu_off, "cpu_ratio": cpu_on / cpu_off,
            "runs_on": walls["on"], "runs_off": walls["off"],
            "cpu_on": cpus["on"], "cpu_off": cpus["off"],
            "same_head": heads["on"] == heads["off"]}


def incremental(source: Path, work: Path, runs: int, exclude: list[str]) -> dict[str, float]:
    src = fresh(source, work / "inc-src.git")
    target = work / "inc-target.git"
    shutil.rmtree(target, ignore_errors=True)
    git("init", "-q", "--bare", "-b", "main", str(target))
    cfg = config(work / "inc-config.yaml", src, target, exclude)
    sync = [str(BIN / "git-pubgate"), "-q", "--config", str(cfg), "sync", "--no-pr"]

    def merge() -> None:  # the pull request, merged by fast-forward
        git("update-ref", "refs/heads/main", "refs/heads/pubgate/sync", cwd=target)

    subprocess.run(sync, check=True, capture_output=True)  # the first, full sync: not timed
    merge()
    result: dict[str, float] = {}
    for count in (1, 100):
        walls = []
        for run in range(runs):
            append(src, count, tag=f"n{count}r{run}")
            walls.append(measure(sync, work)[0])
            merge()
        result[f"new_{count}"] = statistics.median(walls)
    result["ratio_100_to_1"] = result["new_100"] / result["new_1"]
    return result


def main() -> None:
    if sys.argv[1:2] == ["_measure"]:
        _measure_main(sys.argv[3:])
        return
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--commits", type=int, default=50_000)
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--work", type=Path, default=Path("/tmp/pubgate-bench"))
    parser.add_argument("--repo", type=Path, help="an existing repository instead of a generated one")
    parser.add_argument("--branch", default="main")
    parser.add_argument("--exclude", nargs="+", default=EXCLUDE)
    parser.add_argument("--filter-repo-args", default=shlex.join(FILTER_REPO_ARGS))
    parser.add_argument("--only", choices=["full", "incremental", "scan"])
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("GIT_CONFIG_NOSYSTEM", "1")
    report: dict[str, object] = {
        "git": git("--version"), "python": sys.version.split()[0], "cpus": os.cpu_count(),
        "filter_repo": git("filter-repo", "--version") if shutil.which("git-filter-repo") else
        subprocess.run([str(BIN / "git-filter-repo"), "--version"], capture_output=True,
                       text=True).stdout.strip(),
    }
    if args.only in (None, "full"):
        source = args.repo or history(args.work, args.commits, args.files)
        report["full"] = full(source, args.branch, args.work, args.runs, args.exclude,
                              shlex.split(args.filter_repo_args))
        print(json.dumps(report["full"], indent=2), flush=True)
    if args.only in (None, "scan"):
        source = args.repo or history(args.work, args.commits, args.files)
        report["scan"] = scan_cost(source, args.work, args.runs, args.exclude)
        print(json.dumps(report["scan"], indent=2), flush=True)
    if args.only in (None, "incremental"):
        sizes = [None] if args.repo else [10_000, args.commits]
        for size in sizes:
            source = args.repo or history(args.work, size or args.commits, args.files)
            key = f"incremental_{size or 'repo'}"
            report[key] = incremental(source, args.work, args.runs, args.exclude)
            print(key, json.dumps(report[key], indent=2), flush=True)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
