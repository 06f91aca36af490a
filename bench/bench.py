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
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from history import EXCLUDE, FILTER_REPO_ARGS, append, generate, generate_topics  # noqa: E402

BIN = Path(sys.executable).parent


def measure(cmd: list[str], cwd: Path) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of the largest process ``cmd`` ran, in a fresh wrapper."""
    data = _measured(cmd, cwd)
    return data["wall"], data["rss_mb"]


def measure_cpu(cmd: list[str], cwd: Path) -> tuple[float, float]:
    """Wall seconds and CPU seconds (user + system, of every process ``cmd`` ran).

    On a shared machine the wall time of a short run mostly measures the queue for a core; the
    CPU time is what the run itself costs, so both are reported.
    """
    data = _measured(cmd, cwd)
    return data["wall"], data["cpu"]


def _measured(cmd: list[str], cwd: Path) -> dict[str, float]:
    wrapper = [sys.executable, __file__, "_measure", "--", *cmd]
    out = subprocess.run(wrapper, cwd=cwd, capture_output=True, check=True, text=True)
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


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


def trailers_cpu(repo: Path, ref: str) -> float:
    """CPU seconds git-pubgate spends reading every trailer of ``ref``'s history in ``repo``,
    opened as sync opens staging and under the same libgit2 limits, start-up excluded: the
    "cost of reading the public trailers" that issue 14's no-cache target adds 0.5 s to."""
    out = subprocess.run([sys.executable, __file__, "_trailers", str(repo), ref],
                         capture_output=True, check=True, text=True)
    return float(json.loads(out.stdout.strip().splitlines()[-1])["cpu"])


def _trailers_main(repo: str, ref: str) -> None:
    import pygit2

    from git_pubgate.libgit2_limits import bound_memory
    from git_pubgate.plain_backends import use_plain_backends
    from git_pubgate.state import read_synced

    bound_memory()
    staging = pygit2.Repository(repo)
    use_plain_backends(staging)  # opened as sync opens staging (workspace._staging_repo)
    tip = str(staging.revparse_single(ref).id)
    start = time.process_time()
    named = read_synced(staging, tip, "Pubgate-Source")
    print(json.dumps({"cpu": time.process_time() - start, "named": len(named)}))


def fetch_and_trailers_cpu(target: Path, branch: str, work: Path) -> float:
    """CPU seconds of fetching ``branch``'s commits (``--filter=tree:0``, as a fresh clone's
    sync does) into an empty repository, both ends of the fetch counted as the sync's own
    fetch is, plus reading their trailers: what a sync without ``.git/pubgate`` cannot skip."""
    empty = work / "inc-floor.git"
    shutil.rmtree(empty, ignore_errors=True)
    git("init", "-q", "--bare", str(empty))
    # A named remote: git records a filtered fetch's remote as the promisor of what it left out.
    git("-C", str(empty), "remote", "add", "target", str(target))
    git("-C", str(empty), "config", "remote.target.uploadpack",
        "git -c uploadpack.allowFilter=true upload-pack")
    _, fetched = measure_cpu(["git", "-C", str(empty), "fetch", "-q", "--no-tags",
                              "--filter=tree:0", "target",
                              f"+refs/heads/{branch}:refs/heads/{branch}"], work)
    total = fetched + trailers_cpu(empty, f"refs/heads/{branch}")
    shutil.rmtree(empty)
    return total


def git(*args: str, cwd: Path | None = None) -> str:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, check=True,
                          text=True).stdout.strip()


def config(path: Path, source: Path, target: Path, exclude: list[str], branch: str = "main",
           **extra: object) -> Path:
    path.write_text(json.dumps({"source_repo": str(source), "target_repo": str(target),
                                "source_branch": branch, "review_branch": branch,
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


def history(work: Path, commits: int, files: int, shape: str = "default") -> Path:
    name = f"history-{commits}-{files}.git" if shape == "default" else f"topics-{commits}.git"
    path = work / name
    if not (path / "HEAD").exists():
        print(f"generating a {commits}-commit history (kept in {path}) ...", flush=True)
        if shape == "default":
            generate(path, commits=commits, files=files)
        else:
            generate_topics(path, commits=commits)
    return path


def fresh(source: Path, dest: Path) -> Path:
    shutil.rmtree(dest, ignore_errors=True)
    git("clone", "-q", "--bare", "--no-local", str(source), str(dest))
    return dest


def full(source: Path, branch: str, work: Path, runs: int, exclude: list[str],
         fr_args: list[str]) -> dict[str, object]:
    """Our sync against filter-repo, and against filter-repo plus pushing its result."""
    ours: list[tuple[float, float]] = []
    theirs: list[tuple[float, float]] = []
    their_push: list[float] = []
    cpu: dict[str, list[float]] = {"ours": [], "filter-repo": [], "filter-repo push": []}
    tips: dict[str, list[bytes]] = {}
    loose: dict[str, int] = {}
    for run in range(runs):
        for tool in (("ours", "theirs") if run % 2 == 0 else ("theirs", "ours")):
            copy = fresh(source, work / f"{tool}.git")
            if tool == "ours":
                target = work / "target.git"
                shutil.rmtree(target, ignore_errors=True)
                git("init", "-q", "--bare", str(target))
                cfg = config(work / "bench-config.yaml", copy, target, exclude, branch)
                data = _measured([str(BIN / "git-pubgate"), "-q", "--config", str(cfg),
                                  "sync", "--no-pr"], work)
                ours.append((data["wall"], data["rss_mb"]))
                cpu["ours"].append(data["cpu"])
                tips["ours"] = listing(target, "pubgate/sync")
                loose["ours"] = int(git("count-objects", cwd=target).split()[0])
            else:
                data = _measured([str(BIN / "git-filter-repo"), "--force", "--quiet", *fr_args],
                                 copy)
                theirs.append((data["wall"], data["rss_mb"]))
                cpu["filter-repo"].append(data["cpu"])
                tips["filter-repo"] = listing(copy, branch)
                loose["filter-repo"] = int(git("count-objects", cwd=copy).split()[0])
                # What ours includes and filter-repo does not: publishing the result into a
                # bare target (git's pack-objects here, index-pack there), right after.
                pushed = work / "theirs-target.git"
                shutil.rmtree(pushed, ignore_errors=True)
                git("init", "-q", "--bare", str(pushed))
                data = _measured(["git", "push", "-q", str(pushed),
                                  f"{branch}:refs/heads/{branch}"], copy)
                their_push.append(data["wall"])
                cpu["filter-repo push"].append(data["cpu"])
    expected = set(expected_tip(source, branch, exclude))
    med = {name: (statistics.median(w for w, _ in rows), statistics.median(m for _, m in rows))
           for name, rows in (("ours", ours), ("filter-repo", theirs))}
    with_push = statistics.median(w + p for (w, _), p in zip(theirs, their_push, strict=True))
    return {
        "commits": int(git("rev-list", "--count", branch, cwd=source)),
        "merges": int(git("rev-list", "--count", "--merges", branch, cwd=source)),
        "ours_wall": med["ours"][0], "ours_rss_mb": med["ours"][1],
        "ours_walls": [w for w, _ in ours],
        "filter_repo_wall": med["filter-repo"][0], "filter_repo_rss_mb": med["filter-repo"][1],
        "filter_repo_walls": [w for w, _ in theirs],
        "filter_repo_push_walls": their_push,
        "filter_repo_with_push_wall": with_push,
        "cpu": {name: statistics.median(rows) for name, rows in cpu.items()},
        "cpus": cpu,
        # CPU seconds of every process each tool ran: on a shared machine this is what the
        # work costs; wall time adds the queue for a core.
        "cpu_ratio": statistics.median(cpu["ours"]) / statistics.median(cpu["filter-repo"]),
        "cpu_ratio_both_push": statistics.median(cpu["ours"]) / statistics.median(
            a + b for a, b in zip(cpu["filter-repo"], cpu["filter-repo push"], strict=True)),
        "wall_ratio": med["ours"][0] / med["filter-repo"][0],
        # The fair one: both tools end with the result in a bare target.
        "wall_ratio_both_push": med["ours"][0] / with_push,
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


class Incremental:
    """One source copy and one bare target, with the state after the first full sync kept, so
    each timed case starts from the same place."""

    def __init__(self, source: Path, work: Path, exclude: list[str], branch: str):
        self.work = work
        self.branch = branch
        self.src = fresh(source, work / "inc-src.git")
        self.target = work / "inc-target.git"
        shutil.rmtree(self.target, ignore_errors=True)
        git("init", "-q", "--bare", "-b", branch, str(self.target))
        # A forge's new repository: one initial commit on the review branch, unrelated.
        seed = work / "inc-seed"
        shutil.rmtree(seed, ignore_errors=True)
        git("init", "-q", "-b", branch, str(seed))
        (seed / "README.md").write_text("public\n")
        git("add", "README.md", cwd=seed)
        git("-c", "user.name=Forge", "-c", "user.email=forge@example.com", "commit", "-q",
            "-m", "Initial commit", cwd=seed)
        git("push", "-q", str(self.target), f"{branch}:refs/heads/{branch}", cwd=seed)
        cfg = config(work / "inc-config.yaml", self.src, self.target, exclude, branch)
        self.sync = [str(BIN / "git-pubgate"), "-q", "--config", str(cfg), "sync", "--no-pr"]
        subprocess.run(self.sync, check=True, capture_output=True)  # first full sync: untimed
        self.snapshot = self._save("first")

    def _save(self, name: str) -> Path:
        """Copies of the target and of .git/pubgate, and the source tip."""
        where = self.work / f"inc-snapshot-{name}"
        shutil.rmtree(where, ignore_errors=True)
        where.mkdir()
        shutil.copytree(self.target, where / "target.git", symlinks=True)
        shutil.copytree(self.src / "pubgate", where / "pubgate", symlinks=True)
        (where / "tip").write_text(git("rev-parse", self.branch, cwd=self.src))
        return where

    def restore(self, where: Path) -> None:
        shutil.rmtree(self.target)
        shutil.copytree(where / "target.git", self.target, symlinks=True)
        shutil.rmtree(self.src / "pubgate", ignore_errors=True)
        shutil.copytree(where / "pubgate", self.src / "pubgate", symlinks=True)
        git("update-ref", f"refs/heads/{self.branch}", (where / "tip").read_text().strip(),
            cwd=self.src)

    def merge(self) -> None:
        """The pull request, merged by fast-forward."""
        git("update-ref", f"refs/heads/{self.branch}", "refs/heads/pubgate/sync", cwd=self.target)

    def timed(self, count: int, tag: str) -> tuple[float, float]:
        append(self.src, count, tag=tag, branch=self.branch)
        return measure_cpu(self.sync, self.work)


def incremental(source: Path, work: Path, runs: int, exclude: list[str],
                branch: str, open_pr_no_cache: bool = False) -> dict[str, object]:
    """Every case of an incremental sync, each a median over ``runs``; walls kept for noise."""
    inc = Incremental(source, work, exclude, branch)
    walls: dict[str, list[float]] = {}
    cpus: dict[str, list[float]] = {}
    startup = [str(BIN / "git-pubgate"), "--version"]

    def case(name: str, count: int, before: Callable[[], None] | None = None,
             after: Callable[[], None] | None = None,
             floor: Callable[[], float] | None = None) -> None:
        walls[name], cpus[name] = [], []
        walls.setdefault("startup", [])
        cpus.setdefault("startup", [])
        for run in range(runs):
            if before is not None:
                before()
            wall, cpu = inc.timed(count, f"{name}r{run}")
            walls[name].append(wall)
            cpus[name].append(cpu)
            # The floor, measured beside every run: starting Python and importing the CLI.
            wall, cpu = measure_cpu(startup, work)
            walls["startup"].append(wall)
            cpus["startup"].append(cpu)
            if floor is not None:
                # What the case cannot skip (its target is this plus 0.5 s), right after it.
                cpus.setdefault(f"{name}_trailers", []).append(floor())
            if after is not None:
                after()

    # The pull request stays open: the review branch holds only the forge's initial commit.
    case("open_pr_1", 1)
    case("open_pr_100", 100)
    open_state = inc._save("open")
    if open_pr_no_cache:
        # The pull request open and no cache: sync never takes state from the head branch, so
        # it rewrites the whole pull request (here the whole history) again. Slow: on request.
        case("open_pr_no_cache_1", 1, before=lambda: (
            inc.restore(open_state), shutil.rmtree(inc.src / "pubgate" / "cache")))
    # The first sync after the first pull request was merged: the whole history is new on the
    # review branch, and its trailers are read once.
    case("first_after_merge_1", 1, before=lambda: (inc.restore(open_state), inc.merge()))
    # Merged, then business as usual: every pull request merged before the next push.
    inc.restore(open_state)
    inc.merge()
    subprocess.run(inc.sync, check=True, capture_output=True)
    inc.merge()
    case("merged_1", 1, after=inc.merge)
    case("merged_100", 100, after=inc.merge)
    # CI without a cache: .git/pubgate/cache missing (staging kept), or all of .git/pubgate
    # missing (a fresh clone: the public history is fetched into a new staging repository).
    staging, review_ref = inc.src / "pubgate" / "public.git", f"refs/pubgate/target/{branch}"
    case("no_cache_1", 1, before=lambda: shutil.rmtree(inc.src / "pubgate" / "cache"),
         after=inc.merge, floor=lambda: trailers_cpu(staging, review_ref))
    case("fresh_clone_1", 1, before=lambda: shutil.rmtree(inc.src / "pubgate"), after=inc.merge,
         floor=lambda: fetch_and_trailers_cpu(inc.target, branch, work))
    # The first sync after the first merge reads the trailers of the commits its merge added
    # besides the record of what sync wrote; their cost is at most reading all of them.
    cpus["first_after_merge_1_trailers"] = cpus["no_cache_1_trailers"]
    med = {name: statistics.median(w) for name, w in walls.items()}
    cpu = {name: statistics.median(c) for name, c in cpus.items()}
    result: dict[str, object] = {"wall": med, "cpu": cpu, "walls": walls, "cpus": cpus}
    for kind, table in (("wall", med), ("cpu", cpu)):
        result[f"open_pr_ratio_100_to_1_{kind}"] = table["open_pr_100"] / table["open_pr_1"]
        result[f"merged_ratio_100_to_1_{kind}"] = table["merged_100"] / table["merged_1"]
    for name in ("no_cache_1", "fresh_clone_1", "first_after_merge_1"):
        # Issue 14's target for these: the trailers' cost (measured beside each run) + 0.5 s.
        result[f"{name}_over_trailers_cpu"] = cpu[name] - cpu[f"{name}_trailers"]
    return result


def main() -> None:
    if sys.argv[1:2] == ["_measure"]:
        _measure_main(sys.argv[3:])
        return
    if sys.argv[1:2] == ["_trailers"]:
        _trailers_main(sys.argv[2], sys.argv[3])
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
    parser.add_argument("--shapes", nargs="+", choices=["default", "topics"],
                        default=["default", "topics"],
                        help="history shapes for the full rewrite (generated histories only)")
    parser.add_argument("--open-pr-no-cache", action="store_true",
                        help="also the open pull request without a cache (a full rewrite)")
    parser.add_argument("--sizes", nargs="+", type=int, default=None,
                        help="history sizes for the incremental cases (default: 10000 and "
                        "--commits)")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("GIT_CONFIG_NOSYSTEM", "1")
    # Measured as installed: with PYTHONDONTWRITEBYTECODE set, every run compiles the package
    # again (0.08 s of CPU on each sync), which no user's runs do.
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    report: dict[str, object] = {
        "git": git("--version"), "python": sys.version.split()[0], "cpus": os.cpu_count(),
        "load_before": os.getloadavg(),
        "filter_repo": git("filter-repo", "--version") if shutil.which("git-filter-repo") else
        subprocess.run([str(BIN / "git-filter-repo"), "--version"], capture_output=True,
                       text=True).stdout.strip(),
    }
    if args.only in (None, "full"):
        for shape in ([None] if args.repo else args.shapes):
            source = args.repo or history(args.work, args.commits, args.files, shape or "")
            key = f"full_{shape or 'repo'}"
            report[key] = full(source, args.branch, args.work, args.runs, args.exclude,
                               shlex.split(args.filter_repo_args))
            print(key, json.dumps(report[key], indent=2), flush=True)
    if args.only in (None, "scan"):
        source = args.repo or history(args.work, args.commits, args.files)
        report["scan"] = scan_cost(source, args.work, args.runs, args.exclude)
        print(json.dumps(report["scan"], indent=2), flush=True)
    if args.only in (None, "incremental"):
        sizes = [None] if args.repo else (args.sizes or [10_000, args.commits])
        for size in sizes:
            source = args.repo or history(args.work, size or args.commits, args.files)
            key = f"incremental_{size or 'repo'}"
            report[key] = incremental(source, args.work, args.runs, args.exclude, args.branch,
                                      args.open_pr_no_cache)
            print(key, json.dumps(report[key], indent=2), flush=True)
    report["load_after"] = os.getloadavg()
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
