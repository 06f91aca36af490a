"""Benchmark many targets from one monorepo: N targets against one, side by side.

    python bench/monorepo.py                       # 50,000 commits, 10 targets, 3 runs
    python bench/monorepo.py --commits 10000 --runs 1

The generated history of ``bench/history.py`` is a monorepo: ``pkg00/`` ... ``pkg21/`` are its
libraries, each commit changes one to three files anywhere. Target ``tNN`` publishes
``pkgNN/`` as the root of its own bare repository (``*.pem`` held back).

1. **First sync**: ``git pubgate sync --no-pr --target t00`` (one target) and ``git pubgate sync
   --no-pr`` (all N) on fresh copies of the history, alternating which goes first; medians.
   With ``--separate``, also N one-target processes one after the other (what a loop over
   the targets without a shared reader costs), in the first run only.
2. **Incremental**: after the all-N sync and a fast-forward "merge" of each pull request, one
   new commit (it changes ``pkg01/`` and ``internal/``) and ``git pubgate sync --no-pr`` for all
   N, process start included; medians of wall time and of CPU time (every process of the run),
   with the start-up floor (``--version``) measured after each run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bench import BIN, fresh, git, history, measure, measure_cpu  # noqa: E402
from history import append  # noqa: E402


def configure(work: Path, source: Path, count: int, tag: str) -> Path:
    targets = {}
    for i in range(count):
        target = work / f"{tag}-t{i:02d}.git"
        shutil.rmtree(target, ignore_errors=True)
        git("init", "-q", "--bare", "-b", "main", str(target))
        targets[f"t{i:02d}"] = {"root": f"pkg{i:02d}/", "target_repo": str(target)}
    path = work / f"{tag}-config.yaml"
    settings = {"source_repo": str(source), "exclude": ["*.pem"], "targets": targets}
    path.write_text(json.dumps(settings))
    return path


def sync(config: Path, *args: str) -> list[str]:
    return [str(BIN / "git-pubgate"), "-q", "--config", str(config), "sync", "--no-pr", *args]


def first_sync(
    source: Path, work: Path, runs: int, count: int, separate_too: bool
) -> dict[str, object]:
    one: list[float] = []
    many: list[float] = []
    separate = None
    for run in range(runs):
        order = ("one", "many") if run % 2 == 0 else ("many", "one")
        for kind in order:
            copy = fresh(source, work / f"mono-{kind}.git")
            config = configure(work, copy, count, f"mono-{kind}")
            args = ("--target", "t00") if kind == "one" else ()
            wall = measure(sync(config, *args), work)[0]
            (one if kind == "one" else many).append(wall)
        if run == 0 and separate_too:
            copy = fresh(source, work / "mono-separate.git")
            config = configure(work, copy, count, "mono-separate")
            separate = sum(
                measure(sync(config, "--target", f"t{i:02d}"), work)[0] for i in range(count)
            )
    result: dict[str, object] = {
        "one_target": statistics.median(one),
        f"{count}_targets": statistics.median(many),
        "ratio": statistics.median(many) / statistics.median(one),
        "runs_one": one,
        "runs_many": many,
    }
    if separate is not None:
        result[f"{count}_separate_processes_first_run"] = separate
        result["separate_ratio_first_run"] = separate / one[0]
    return result


def incremental(source: Path, work: Path, runs: int, count: int) -> dict[str, object]:
    copy = fresh(source, work / "mono-inc.git")
    config = configure(work, copy, count, "mono-inc")
    subprocess.run(sync(config), check=True, capture_output=True)  # the first sync: not timed

    def merge() -> None:
        for i in range(count):
            target = work / f"mono-inc-t{i:02d}.git"
            git("update-ref", "refs/heads/main", "refs/heads/pubgate/sync", cwd=target)

    merge()
    walls: list[float] = []
    cpus: list[float] = []
    floor: list[float] = []
    for run in range(runs):
        append(copy, 1, tag=f"mono{run}")
        wall, cpu = measure_cpu(sync(config), work)
        walls.append(wall)
        cpus.append(cpu)
        # The start-up floor beside each run: on a shared machine wall time is mostly the queue.
        floor.append(measure_cpu([str(BIN / "git-pubgate"), "--version"], work)[1])
        merge()
    return {
        "new_1_all_targets": statistics.median(walls),
        "new_1_all_targets_cpu": statistics.median(cpus),
        "startup_cpu": statistics.median(floor),
        "runs": walls,
        "runs_cpu": cpus,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--commits", type=int, default=50_000)
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--targets", type=int, default=10)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--work", type=Path, default=Path("/tmp/pubgate-bench"))
    parser.add_argument("--only", choices=["first", "incremental"])
    parser.add_argument("--separate", action="store_true", help="also N one-target processes")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    source = history(args.work, args.commits, args.files)
    report: dict[str, object] = {"commits": args.commits, "targets": args.targets}
    if args.only in (None, "first"):
        report["first_sync"] = first_sync(
            source, args.work, args.runs, args.targets, args.separate
        )
        print(json.dumps(report["first_sync"], indent=2), flush=True)
    if args.only in (None, "incremental"):
        load = os.getloadavg()
        report["incremental"] = incremental(source, args.work, args.runs, args.targets)
        report["load_before_after"] = [load, os.getloadavg()]
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
