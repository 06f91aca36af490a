"""A first sync of the generated history by several versions of git-pubgate, side by side.

    git archive 2880913 | tar -x -C /tmp/before    # any version's source tree
    python bench/versions.py --commits 50000 before=/tmp/before now=.
    python bench/versions.py --commits 10000 --shape topics before=/tmp/before now=.

Each version is a source tree with ``git_pubgate/`` at its top, run as ``python -m git_pubgate``
with that tree first on ``PYTHONPATH`` (the libraries installed here serve them all). Every run
syncs a fresh bare copy of the history into an empty target, the versions taking turns in a
rotation that starts one later each round; medians of the CPU time of every process, of wall
time, and of the largest single process's peak RSS (as ``bench.py`` measures them).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bench import _measured, config, fresh, git, history  # noqa: E402
from history import EXCLUDE  # noqa: E402


def first_sync(source: Path, work: Path, name: str, tree: Path) -> dict[str, float | str]:
    """One first sync by the version in ``tree``: its measurements and the head it made."""
    copy = fresh(source, work / f"{name}.git")
    target = work / f"{name}-target.git"
    shutil.rmtree(target, ignore_errors=True)
    git("init", "-q", "--bare", str(target))
    cfg = config(work / f"{name}.yaml", copy, target, EXCLUDE)
    before = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(tree), before]))
    try:
        done: dict[str, float | str] = dict(_measured(
            [sys.executable, "-m", "git_pubgate", "-q", "--config", str(cfg), "sync", "--no-pr"],
            work))
    finally:
        if before is None:
            del os.environ["PYTHONPATH"]
        else:
            os.environ["PYTHONPATH"] = before
    done["head"] = git("rev-parse", "pubgate/sync", cwd=target)
    shutil.rmtree(copy)
    shutil.rmtree(target)
    return done


def version_trees(parser: argparse.ArgumentParser, specs: list[str]) -> dict[str, Path]:
    """NAME=TREE arguments: each TREE a source tree holding git_pubgate/, by name."""
    trees: dict[str, Path] = {}
    for spec in specs:
        name, _, tree = spec.partition("=")
        path = Path(tree).resolve()
        if not name or not (path / "git_pubgate" / "__init__.py").is_file():
            parser.error(f"{spec}: give NAME=TREE, TREE holding git_pubgate/")
        trees[name] = path
    return trees


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("versions", nargs="+", metavar="NAME=TREE")
    parser.add_argument("--commits", type=int, default=50_000)
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--shape", choices=["default", "topics"], default="default",
                        help="history shape, as bench.py --shapes (topics ignores --files)")
    parser.add_argument("--work", type=Path, default=Path("/tmp/pubgate-bench"))
    options = parser.parse_args()
    trees = version_trees(parser, options.versions)
    options.work.mkdir(parents=True, exist_ok=True)
    source = history(options.work, options.commits, options.files, options.shape)
    names = list(trees)
    results: dict[str, list[dict[str, float | str]]] = {name: [] for name in names}
    for run in range(options.runs):
        for name in names[run % len(names):] + names[:run % len(names)]:
            done = first_sync(source, options.work, name, trees[name])
            results[name].append(done)
            print(f"  run {run + 1}, {name}: cpu {done['cpu']:.1f} s, wall {done['wall']:.1f} s, "
                  f"peak {done['rss_mb']:.0f} MB, head {str(done['head'])[:12]}", flush=True)
    print(f"first sync of {options.commits} commits ({options.shape}), median of {options.runs}:")
    first = names[0]
    base_cpu = statistics.median(float(r["cpu"]) for r in results[first])
    for name in names:
        cpu = statistics.median(float(r["cpu"]) for r in results[name])
        wall = statistics.median(float(r["wall"]) for r in results[name])
        rss = statistics.median(float(r["rss_mb"]) for r in results[name])
        print(f"  {name}: cpu {cpu:.1f} s ({cpu / base_cpu:.2f}x {first}), wall {wall:.1f} s, "
              f"peak {rss:.0f} MB")


if __name__ == "__main__":
    main()
