"""Time writing a public tip's tree into a folder, as checks and preview do, against git.

    python bench/checkout.py                  # 20,000 files in 200 folders, 5 runs of each

``tree_files.write_tree`` (what ``check_commands``' checkout and ``preview`` use) and git's own
``read-tree`` + ``checkout-index -a`` into a fresh folder (what a checkout without filters
costs) write the same commit, alternating, ``--runs`` times; medians of wall time. The
repository is generated once (random content, 1 to 4 KB a file) and kept in ``--work``.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pygit2

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from git_pubgate.tree_files import write_tree


def generate(root: Path, folders: int, per_folder: int) -> str:
    repo = pygit2.init_repository(str(root), bare=True)
    rng = random.Random(1)
    top = repo.TreeBuilder()
    for d in range(folders):
        folder = repo.TreeBuilder()
        for f in range(per_folder):
            data = rng.randbytes(rng.randint(500, 2000)).hex().encode()
            folder.insert(f"f{f}.txt", repo.create_blob(data), pygit2.enums.FileMode.BLOB)
        top.insert(f"d{d}", folder.write(), pygit2.enums.FileMode.TREE)
    who = pygit2.Signature("bench", "bench@example.invalid", 0, 0)
    return str(repo.create_commit("refs/heads/main", who, who, "bench\n", top.write(), []))


def with_git(root: Path, tip: str, into: Path) -> None:
    env = {**os.environ, "GIT_INDEX_FILE": f"{into}.index"}
    for args in (["read-tree", tip], ["checkout-index", "-a"]):
        subprocess.run(
            ["git", "--git-dir", str(root), "--work-tree", str(into), *args], env=env, check=True
        )
    os.unlink(f"{into}.index")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--work", default="/tmp/pubgate-bench-checkout")
    parser.add_argument("--folders", type=int, default=200)
    parser.add_argument("--per-folder", type=int, default=100)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    work = Path(args.work)
    root = work / f"repo-{args.folders}x{args.per_folder}.git"
    if not root.exists():
        work.mkdir(parents=True, exist_ok=True)
        generate(root, args.folders, args.per_folder)
    repo = pygit2.Repository(str(root))
    tip = str(repo.references["refs/heads/main"].target)
    times: dict[str, list[float]] = {"write_tree": [], "git": []}
    for run in range(args.runs):
        order = ["write_tree", "git"] if run % 2 == 0 else ["git", "write_tree"]
        for kind in order:
            into = Path(tempfile.mkdtemp(dir=work))
            start = time.perf_counter()
            if kind == "write_tree":
                write_tree(repo, tip, into)
            else:
                with_git(root, tip, into)
            times[kind].append(time.perf_counter() - start)
            shutil.rmtree(into)
    ours, git = statistics.median(times["write_tree"]), statistics.median(times["git"])
    files = args.folders * args.per_folder
    print(f"{files} files: write_tree {ours:.2f} s, git read-tree + checkout-index {git:.2f} s")
    print(f"ratio {ours / git:.2f} (medians of {args.runs})")


if __name__ == "__main__":
    main()
