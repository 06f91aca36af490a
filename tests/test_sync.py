"""End to end: sync into real bare repositories, merge the head branch the four ways a forge
can, and sync again."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pathspec
import pytest

from git_pubgate.config import load
from git_pubgate.progress import Progress
from git_pubgate.sync import SyncOptions, run

from .conftest import PublicRepos, pubgate
from .factory import C, build, git

EXCLUDE = ["internal/", "*.pem"]
HEAD = "pubgate/sync"


def oracle_listing(repo: Path, rev: str) -> list[str]:
    """The public tree of ``rev`` computed independently of the engine: ls-tree + gitignore."""
    spec = pathspec.GitIgnoreSpec.from_lines(EXCLUDE)
    out = git("ls-tree", "-r", "-z", rev, cwd=repo)
    keep = []
    for line in filter(None, out.split("\0")):
        path = line.split("\t", 1)[1]
        parts = path.split("/")
        hidden = any(spec.match_file("/".join(parts[:i]) + "/") for i in range(1, len(parts)))
        if not hidden and not spec.match_file(path):
            keep.append(line)
    return keep


def listing(repo: Path, rev: str) -> list[str]:
    return [line for line in git("ls-tree", "-r", "-z", rev, cwd=repo).split("\0") if line]


class World:
    """A source repository, a public bare repository and a clone to merge pull requests in."""

    def __init__(self, tmp: Path, public: PublicRepos, with_readme: bool):
        self.tmp = tmp
        self.src = tmp / "src"
        self.target = public.bare()
        self.ids: dict[str, str] = {}
        self.config = tmp / "pubgate.yaml"
        self.config.write_text(
            f"target_repo: {self.target}\nexclude: {json.dumps(EXCLUDE)}\n", encoding="utf-8"
        )
        self.prs = 0
        if with_readme:  # a repository created on a forge with an initial README
            build(self.target, [C("init", (), {"README.md": "Public project\n"})], bare=True)

    def commit(self, *commits: C) -> None:
        self.ids = build(self.src, commits, known=self.ids)

    def sync(self, *args: str) -> tuple[int, str, str]:
        result = pubgate("--config", str(self.config), *args, cwd=self.src)
        return result.code, result.out, result.err

    def sync_checked(self) -> str:
        """Sync, then check that a from-scratch rewrite (no cache, no staging repository)
        gives the very same head: the incremental fast path may only save time."""
        code, out, err = self.sync("--json", "sync", "--no-pr")
        assert code == 0, err
        head = json.loads(out)["head"]
        staging = self.src / ".git" / "pubgate"
        aside = self.tmp / f"staging-aside-{self.prs}"
        staging.rename(aside)
        try:
            code, out, err = self.sync("--json", "sync", "--dry-run")
            assert code == 0, err
            assert json.loads(out)["head"] == head
        finally:
            shutil.rmtree(staging)
            aside.rename(staging)
        return head

    def heads(self) -> dict[str, str]:
        out = git("ls-remote", "--heads", str(self.target))
        return {
            ref.removeprefix("refs/heads/"): oid
            for oid, ref in (line.split("\t") for line in out.splitlines())
        }

    def merge(self, strategy: str) -> None:
        """Merge the head branch into main the way a forge's merge button would."""
        self.prs += 1
        work = self.tmp / f"merge{self.prs}"
        git("clone", "-q", str(self.target), str(work))
        git("checkout", "-q", "main", cwd=work)
        if strategy == "ff":
            git("merge", "-q", "--ff-only", f"origin/{HEAD}", cwd=work)
        elif strategy == "merge":
            git(
                "merge",
                "-q",
                "--no-ff",
                "-m",
                f"Merge pull request #{self.prs} from org/{HEAD}",
                f"origin/{HEAD}",
                cwd=work,
            )
        elif strategy == "rebase":
            git("checkout", "-q", "-b", "pr", f"origin/{HEAD}", cwd=work)
            git("rebase", "-q", "--force-rebase", "main", cwd=work)
            git("checkout", "-q", "main", cwd=work)
            git("merge", "-q", "--ff-only", "pr", cwd=work)
        elif strategy == "squash":
            # GitHub's default squash message: the title, then each squashed commit's message.
            messages = git("log", "--reverse", "--format=* %B", f"main..origin/{HEAD}", cwd=work)
            git("merge", "-q", "--squash", f"origin/{HEAD}", cwd=work)
            git("commit", "-q", "-m", f"Sync from internal (#{self.prs})\n\n{messages}", cwd=work)
        else:
            raise AssertionError(strategy)
        git("push", "-q", "origin", "main", cwd=work)


ROUND_1 = [
    C(
        "a",
        (),
        {
            "README.md": "Public project\n",
            "src/app.py": "v1\n",
            "internal/plan.md": "codename\n",
            "deploy.pem": "key\n",
        },
    ),
    C("b", ["a"], {"src/app.py": "v2\n"}),
    C("c", ["b"], {"internal/plan.md": "codename 2\n"}),  # only excluded paths: pruned
]
ROUND_2_MERGES = [
    C("d", ["c"], {"src/util.py": "u\n"}),
    C("e", ["d"], {"docs/guide.md": "g\n", "internal/x": "x\n"}),  # a side branch
    C("f", ["d"], {"src/app.py": "v3\n"}),
    C("g", ["f", "e"], {"docs/guide.md": "g\n", "internal/x": "x\n"}),
]
ROUND_2_LINEAR = [
    C("d", ["c"], {"src/util.py": "u\n"}),
    C("f", ["d"], {"src/app.py": "v3\n", "internal/y": "y\n"}),
]
ROUND_3 = [C("h", ["g"], {"CHANGELOG.md": "h\n"})]


@pytest.mark.parametrize("strategy", ["ff", "merge", "rebase", "squash"])
def test_merge_strategies_then_sync_again(
    tmp_path: Path, public: PublicRepos, strategy: str
) -> None:
    world = World(tmp_path, public, with_readme=True)
    world.commit(*ROUND_1)
    world.sync_checked()
    world.merge(strategy)
    assert listing(world.target, "main") == oracle_listing(world.src, "main")

    round_2 = ROUND_2_LINEAR if strategy == "rebase" else ROUND_2_MERGES
    world.commit(*round_2)
    world.sync_checked()
    code, _, err = world.sync("plan")
    assert code == 0, err
    # c only touched excluded paths, so no public commit names it: b is the last synced.
    assert "last synced source commit: " + world.ids["b"][:12] in err
    world.merge(strategy)  # raises if the merge does not apply cleanly
    assert listing(world.target, "main") == oracle_listing(world.src, "main")

    world.commit(C("h", [round_2[-1].name], {"CHANGELOG.md": "h\n"}))
    world.sync_checked()
    code, _, err = world.sync("plan")
    assert "1 public commit:" in err  # only the new commit is rewritten
    world.merge(strategy)
    assert listing(world.target, "main") == oracle_listing(world.src, "main")

    code, _, err = world.sync("sync", "--no-pr")
    assert code == 0 and "up to date" in err


def test_first_sync_into_empty_target_then_fast_forward(
    tmp_path: Path, public: PublicRepos
) -> None:
    world = World(tmp_path, public, with_readme=False)
    world.commit(*ROUND_1)
    code, _, err = world.sync("sync", "--no-pr")
    assert code == 0, err
    heads = world.heads()
    assert list(heads) == [HEAD]  # nothing reaches main without review
    assert listing(world.target, HEAD) == oracle_listing(world.src, "main")
    log = git("log", "--format=%an|%ad|%s%n%b", "--date=raw", HEAD, cwd=world.target)
    assert f"Pubgate-Source: {world.ids['b']}" in log
    assert "Ada Author|1600000060 +0100|b" in log

    code, _, err = world.sync("sync", "--no-pr")  # unchanged source: nothing to push
    assert code == 0 and "already points at" in err
    git("update-ref", "refs/heads/main", heads[HEAD], cwd=world.target)
    world.commit(*ROUND_2_MERGES)
    code, _, err = world.sync("sync", "--no-pr")
    assert code == 0, err
    world.merge("ff")
    assert listing(world.target, "main") == oracle_listing(world.src, "main")


def test_same_input_gives_same_ids(tmp_path: Path, public: PublicRepos) -> None:
    world = World(tmp_path, public, with_readme=True)
    world.commit(*ROUND_1, *ROUND_2_MERGES)
    assert world.sync("sync", "--no-pr")[0] == 0
    first = world.heads()[HEAD]
    other = public.bare("other.git")
    build(other, [C("init", (), {"README.md": "Public project\n"})], bare=True)
    world.config.write_text(
        f"target_repo: {other}\nexclude: {json.dumps(EXCLUDE)}\n", encoding="utf-8"
    )
    git("-C", str(world.src), "rev-parse", "--git-dir")
    (world.src / ".git" / "pubgate").rename(tmp_path / "old-staging")  # no cache at all
    assert world.sync("sync", "--no-pr")[0] == 0
    assert git("rev-parse", HEAD, cwd=other).strip() == first


def test_divergence_is_refused_unless_allowed(tmp_path: Path, public: PublicRepos) -> None:
    world = World(tmp_path, public, with_readme=True)
    world.commit(*ROUND_1)
    assert world.sync("sync", "--no-pr")[0] == 0
    world.merge("merge")
    fix = tmp_path / "hotfix"
    git("clone", "-q", str(world.target), str(fix))
    (fix / "src" / "app.py").write_text("public hotfix\n")
    (fix / "NOTICE").write_text("n\n")
    git("commit", "-qam", "Hotfix on the public side", cwd=fix)
    git("add", "NOTICE", cwd=fix)
    git("commit", "-qm", "Add NOTICE", cwd=fix)
    git("push", "-q", "origin", "main", cwd=fix)
    world.commit(C("d", ["c"], {"docs/new.md": "d\n"}))
    before = world.heads()

    code, _, err = world.sync("sync", "--no-pr")
    assert code == 1
    assert err.startswith("error: refusing to sync since main on the target has changes")
    assert "NOTICE, src/app.py" in err and "--allow-divergence" in err
    assert world.heads() == before  # nothing pushed

    code, out, err = world.sync("--json", "plan")
    assert code == 0 and json.loads(out)["divergence"] == ["NOTICE", "src/app.py"]

    code, _, err = world.sync("sync", "--no-pr", "--allow-divergence")
    assert code == 0, err
    world.merge("merge")  # carries the public change instead of reverting it
    assert git("show", "main:src/app.py", cwd=world.target) == "public hotfix\n"
    assert git("show", "main:docs/new.md", cwd=world.target) == "d\n"


def test_shallow_source_is_refused(tmp_path: Path, public: PublicRepos) -> None:
    world = World(tmp_path, public, with_readme=False)
    world.commit(*ROUND_1)
    shallow = tmp_path / "shallow"
    git("clone", "-q", "--depth", "1", f"file://{world.src}", str(shallow))
    result = pubgate("--config", str(world.config), "sync", "--no-pr", cwd=shallow)
    assert result.code == 1
    assert "shallow clone" in result.err and "git fetch --unshallow" in result.err
    assert world.heads() == {}


def test_plan_and_dry_run_push_nothing(tmp_path: Path, public: PublicRepos) -> None:
    world = World(tmp_path, public, with_readme=False)
    world.commit(*ROUND_1)
    code, out, _ = world.sync("plan", "--json")
    assert code == 0
    plan = json.loads(out)
    assert [c["source"] for c in plan["commits"]] == [world.ids["a"], world.ids["b"]]
    assert plan["pruned"] == 1
    # An excluded directory is named, not its contents: the list may go into a public PR.
    assert plan["excluded_paths"] == ["deploy.pem", "internal/"]
    assert plan["pushed"] is False
    code, out, _ = world.sync("sync", "--dry-run", "--json")
    assert code == 0 and json.loads(out)["head"] == plan["head"]
    assert world.heads() == {}
    code, out, _ = world.sync("sync", "--no-pr", "--json")
    assert json.loads(out)["pushed"] is True
    assert world.heads() == {HEAD: plan["head"]}


def test_source_defaults_to_the_repository_it_runs_in(tmp_path: Path, public: PublicRepos) -> None:
    world = World(tmp_path, public, with_readme=False)
    world.commit(*ROUND_1)
    (world.src / "pubgate.yaml").write_text(
        f"target_repo: {world.target}\nexclude: {json.dumps(EXCLUDE)}\n"
    )
    result = pubgate("sync", "--no-pr", cwd=world.src / "src")  # from a subdirectory
    assert result.code == 0, result.err
    assert listing(world.target, HEAD) == oracle_listing(world.src, "main")


def test_quiet_prints_only_the_outcome(tmp_path: Path, public: PublicRepos) -> None:
    world = World(tmp_path, public, with_readme=False)
    world.commit(*ROUND_1)
    assert world.sync("-q", "plan")[2] == ""
    code, _, err = world.sync("sync", "-q", "--no-pr")
    assert code == 0
    assert err.splitlines() == [f"pushed {world.heads()[HEAD][:12]} to {world.target} {HEAD}"]


def test_old_branch_merged_late_and_corrupt_cache(tmp_path: Path, public: PublicRepos) -> None:
    world = World(tmp_path, public, with_readme=True)
    world.commit(*ROUND_1, C("d", ["c"], {"src/d.py": "d\n"}))
    world.sync_checked()
    world.merge("merge")
    # A branch forked from the very first commit, merged only now: its parent is older than
    # anything the cache remembers, so the public history must be read further back.
    world.commit(
        C("old", ["a"], {"src/old.py": "old\n"}),
        C("m", ["d", "old"], {"src/old.py": "old\n"}),
    )
    head = world.sync_checked()
    parents = git("log", "-1", "--format=%P", head, cwd=world.target).split()
    assert len(parents) == 2
    world.merge("merge")
    assert listing(world.target, "main") == oracle_listing(world.src, "main")

    for cache in (world.src / ".git" / "pubgate" / "cache").iterdir():
        cache.write_text("{not json")
    world.commit(C("n", ["m"], {"src/n.py": "n\n"}))
    world.sync_checked()


def test_held_back_paths_are_those_the_new_commits_touch(
    tmp_path: Path, public: PublicRepos
) -> None:
    world = World(tmp_path, public, with_readme=True)
    # ROUND_1 ends with a pruned commit, which a sync covers until a public one follows it.
    world.commit(*ROUND_1, C("d", ["c"], {"src/d.py": "d\n"}))
    world.sync_checked()
    world.merge("ff")
    world.commit(C("k", ["d"], {"keys/new.pem": "k\n", "src/k.py": "k\n"}))
    code, out, err = world.sync("--json", "plan")
    assert code == 0, err
    assert json.loads(out)["excluded_paths"] == ["keys/new.pem"]
    shutil.rmtree(world.src / ".git" / "pubgate")  # the same answer without any cache
    assert json.loads(world.sync("--json", "plan")[1])["excluded_paths"] == ["keys/new.pem"]


def test_progress_line_counts_done_and_total(tmp_path: Path, public: PublicRepos) -> None:
    world = World(tmp_path, public, with_readme=False)
    world.commit(*ROUND_1, *ROUND_2_MERGES)
    stream = io.StringIO()
    progress = Progress("rewriting", stream, enabled=True)
    run(load(world.config), world.src, SyncOptions(push=False), progress)
    progress.close()
    shown = stream.getvalue().split("\r")
    total = len(ROUND_1) + len(ROUND_2_MERGES)
    assert any(f"rewriting: {total}/{total} commits (" in part for part in shown)
    assert shown[-1] == "\x1b[K"  # the line is cleared at the end
    quiet = Progress("rewriting", io.StringIO(), enabled=False)
    assert quiet.enabled is False


def test_push_progress_reaches_a_terminal(tmp_path: Path, public: PublicRepos) -> None:
    world = World(tmp_path, public, with_readme=False)
    world.commit(*ROUND_1)
    stream = io.StringIO()
    progress = Progress("rewriting", stream, enabled=True)
    report = run(load(world.config), world.src, SyncOptions(no_pr=True), progress)
    assert report.pushed
    assert "Writing objects" in stream.getvalue() or "Total " in stream.getvalue()


def test_staging_restored_on_another_runner_gives_the_same_result(
    tmp_path: Path, public: PublicRepos
) -> None:
    """CI can cache .git/pubgate between runs (actions/cache): restored into a fresh clone at
    another path, it must give what a run from scratch gives."""
    src = tmp_path / "src"
    target = public.bare()
    ids = build(src, ROUND_1)
    config = tmp_path / "pubgate.yaml"
    config.write_text(json.dumps({"target_repo": str(target), "exclude": EXCLUDE}))

    def runner(name: str) -> Path:
        clone = tmp_path / name
        git("clone", "-q", str(src), str(clone))
        return clone

    def sync(where: Path, *args: str) -> dict[str, object]:
        result = pubgate("--config", str(config), "--json", "sync", *args, cwd=where)
        assert result.code == 0, result.err
        return json.loads(result.out)

    first = runner("run1")
    sync(first, "--no-pr")
    git("update-ref", "refs/heads/main", "refs/heads/pubgate/sync", cwd=target)  # merged
    build(src, [C("d", ["c"], {"src/new.py": "n\n", "internal/n": "s\n"})], known=ids)
    second = runner("run2")
    shutil.copytree(first / ".git" / "pubgate", second / ".git" / "pubgate")
    shutil.rmtree(first)  # the objects the restored staging repository borrowed are gone
    restored = sync(second, "--no-pr")
    assert restored["last_synced_source"] is not None and len(restored["commits"]) == 1
    assert sync(second, "--no-pr")["already_pushed"] is True
    shutil.rmtree(second / ".git" / "pubgate")
    assert sync(second, "--dry-run")["head"] == restored["head"]
