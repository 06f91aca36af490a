"""Absorb brings public contributions back into the source, and the next sync converges on them.

Real repositories throughout: an internal work tree, a bare public repository, contributors'
commits written straight onto the public branch as a forge's merge button would.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pygit2
import pytest

from .conftest import PublicRepos, Result, pubgate
from .factory import EXEC, C, build, git

EXCLUDE = ["internal/", "*.pem"]


@dataclass
class World:
    """An internal repository synced into a public one, with helpers for both sides."""

    tmp: Path
    public: Path
    src: Path
    config: Path
    ids: dict[str, str] = field(default_factory=dict)
    pub: dict[str, str] = field(default_factory=dict)

    def pubgate(self, *args: str) -> Result:
        return pubgate("--config", str(self.config), *args, cwd=self.src)

    def absorb(self, *args: str) -> dict[str, Any]:
        done = self.pubgate("--json", "absorb", *args)
        assert done.code == 0, done.err
        report: dict[str, Any] = json.loads(done.out)
        return report

    def sync(self) -> dict[str, Any]:
        done = self.pubgate("--json", "sync", "--no-pr")
        assert done.code == 0, done.err
        report: dict[str, Any] = json.loads(done.out)
        return report

    def merge_sync(self) -> str:
        """Sync, then merge the head branch into main by fast-forward, as a reviewer would."""
        report = self.sync()
        if not report["up_to_date"]:
            git("update-ref", "refs/heads/main", report["head"], cwd=self.public)
        return self.tip()

    def tip(self, ref: str = "main") -> str:
        return git("rev-parse", ref, cwd=self.public).strip()

    def internal(self, *commits: C) -> None:
        self.ids = build(self.src, commits, known=self.ids)

    def contribute(self, *commits: C) -> None:
        """Commits on the public main, as merged contributions (other author, other dates)."""
        known = {**self.pub, "main": self.tip()}
        self.pub = build(self.public, commits, bare=True, known=known)

    def source(self, ref: str) -> str:
        return git("rev-parse", ref, cwd=self.src).strip()

    def merge_absorbed(self, *, no_ff: bool = False) -> None:
        """Merge pubgate/absorb into the internal main, as a person would."""
        flags = ["--no-ff", "-m", "Merge public contributions"] if no_ff else ["--ff"]
        git("merge", "-q", *flags, "pubgate/absorb", cwd=self.src)
        self.ids["main"] = self.source("main")

    def from_scratch_head(self) -> str:
        """What a sync computes with no cache and no staging repository at all."""
        shutil.rmtree(self.src / ".git" / "pubgate")
        done = self.pubgate("--json", "sync", "--dry-run")
        assert done.code == 0, done.err
        head: str = json.loads(done.out)["head"]
        return head


def make_world(tmp_path: Path, public: PublicRepos, **settings: Any) -> World:
    bare = public.bare()
    src = tmp_path / "src"
    config = tmp_path / "pubgate.yaml"
    config.write_text(json.dumps({"target_repo": str(bare), "exclude": EXCLUDE, **settings}))
    world = World(tmp_path, bare, src, config)
    world.internal(
        C(
            "a",
            (),
            {
                "src/app.py": "print('v1')\n",
                "src/internal/notes.txt": "kept inside\n",
                "internal/plan.txt": "secret plan\n",
                "README.md": "readme\n",
                "key.pem": "KEY\n",
            },
        ),
        C("b", ["a"], {"src/util.py": "util\n"}),
    )
    world.merge_sync()
    return world


@pytest.fixture
def world(tmp_path: Path, public: PublicRepos) -> World:
    return make_world(tmp_path, public)


def tree_files(repo: Path, rev: str) -> dict[str, str]:
    out = git("ls-tree", "-r", "--format=%(objectmode) %(objectname) %(path)", rev, cwd=repo)
    files = {}
    for line in out.splitlines():
        mode, oid, path = line.split(" ", 2)
        files[path] = f"{mode} {oid}"
    return files


def test_contribution_comes_back_with_its_author_and_converges(world: World) -> None:
    world.contribute(
        C(
            "p1",
            ["main"],
            {"src/app.py": "print('v2')\n"},
            message="Fix app\n\nBody.\n",
            author="Zoe Contributor",
        )
    )
    p1 = world.pub["p1"]
    before = world.source("main")
    report = world.absorb()
    assert [c["public"] for c in report["commits"]] == [p1]
    absorbed = world.source("pubgate/absorb")
    assert report["head"] == absorbed and report["written"]
    assert world.source("main") == before, "absorb must not move the source branch"

    repo = pygit2.Repository(str(world.src))
    original = pygit2.Repository(str(world.public))[p1].peel(pygit2.Commit)
    commit = repo[absorbed].peel(pygit2.Commit)
    assert commit.author.raw_name == b"Zoe Contributor"
    assert (commit.author.time, commit.author.offset) == (
        original.author.time,
        original.author.offset,
    )
    assert (commit.committer.raw_name, commit.committer.time) == (
        original.committer.raw_name,
        original.committer.time,
    )
    assert commit.raw_message == b"Fix app\n\nBody.\n\nPubgate-Absorbed: " + p1.encode() + b"\n"
    assert [str(p) for p in commit.parent_ids] == [world.ids["b"]]
    files = tree_files(world.src, absorbed)
    base = tree_files(world.src, world.ids["b"])
    changed = {p for p in files.keys() | base.keys() if files.get(p) != base.get(p)}
    assert changed == {"src/app.py"}, "internal files stay untouched"
    assert git("show", f"{absorbed}:src/app.py", cwd=world.src) == "print('v2')\n"

    # Merged internally by fast-forward: the next sync has nothing to publish.
    world.merge_absorbed()
    assert world.sync()["up_to_date"]
    # New internal work goes out on top of the contribution, which keeps its public id.
    world.internal(C("c", ["main"], {"src/more.py": "more\n", "internal/plan.txt": "v2\n"}))
    report = world.sync()
    assert report["divergence"] == [] and len(report["commits"]) == 1
    head = report["head"]
    assert git("rev-parse", f"{head}^", cwd=world.public).strip() == p1
    assert world.from_scratch_head() == head


def test_rerun_gives_identical_ids_and_changes_nothing(world: World) -> None:
    world.contribute(C("p1", ["main"], {"src/app.py": "v2\n"}, author="Zoe Contributor"))
    first = world.absorb()
    again = world.absorb()
    assert again["up_to_date"] and again["commits"] == []
    assert world.source("pubgate/absorb") == first["head"]
    # From nothing (no staging repository, no branch): the same ids.
    shutil.rmtree(world.src / ".git" / "pubgate")
    git("branch", "-D", "pubgate/absorb", cwd=world.src)
    third = world.absorb()
    assert third["head"] == first["head"] and third["commits"] == first["commits"]


def test_a_lock_a_killed_run_left_on_the_absorb_branch_does_not_stop_the_next(
    world: World,
) -> None:
    # git killed while it moved pubgate/absorb (its parent was SIGKILLed) leaves the lock.
    world.contribute(C("p1", ["main"], {"src/app.py": "v2\n"}, author="Zoe Contributor"))
    lock = world.src / ".git" / "refs" / "heads" / "pubgate" / "absorb.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    lock.write_text("0" * 40 + "\n")
    report = world.absorb()
    assert world.source("pubgate/absorb") == report["head"] and not lock.exists()


def test_chain_across_two_absorb_runs(world: World) -> None:
    world.contribute(C("p1", ["main"], {"src/app.py": "v2\n"}, author="Zoe Contributor"))
    first = world.absorb()["head"]
    world.contribute(C("p2", ["p1"], {"src/util.py": "util v2\n"}, author="Yan Helper"))
    report = world.absorb()
    assert [c["public"] for c in report["commits"]] == [world.pub["p2"]]
    assert report["already_absorbed"] == 1
    second = report["head"]
    assert git("rev-parse", f"{second}^", cwd=world.src).strip() == first
    world.merge_absorbed()
    assert world.sync()["up_to_date"]
    world.internal(C("c", ["main"], {"src/new.py": "new\n"}))
    head = world.sync()["head"]
    assert git("rev-parse", f"{head}^", cwd=world.public).strip() == world.pub["p2"]
    assert world.from_scratch_head() == head


def test_interleaved_with_synced_commits(world: World) -> None:
    world.contribute(C("p1", ["main"], {"src/app.py": "v2\n"}, author="Zoe Contributor"))
    world.absorb()
    # Internal work went on meanwhile; the absorb branch is merged with a merge commit.
    world.internal(C("c", ["b"], {"src/c.py": "c\n", "internal/plan.txt": "c\n"}))
    world.merge_absorbed(no_ff=True)
    merged = world.merge_sync()
    public = pygit2.Repository(str(world.public))
    parents = [str(p) for p in public[merged].peel(pygit2.Commit).parent_ids]
    assert parents[1] == world.pub["p1"], "the internal merge goes out as a merge onto p1"
    # A second contribution on top of the synced merge, then more internal work.
    world.contribute(C("p2", ["main"], {"README.md": "better readme\n"}, author="Yan Helper"))
    report = world.absorb()
    assert [c["public"] for c in report["commits"]] == [world.pub["p2"]]
    assert git("rev-parse", f"{report['head']}^", cwd=world.src).strip() == world.ids["main"]
    world.merge_absorbed()
    world.internal(C("d", ["main"], {"src/d.py": "d\n"}))
    head = world.sync()["head"]
    assert git("rev-parse", f"{head}^", cwd=world.public).strip() == world.pub["p2"]
    assert world.from_scratch_head() == head


def test_contributor_merge_commit(world: World) -> None:
    world.contribute(
        C("p1", ["main"], {"src/app.py": "v2\n"}, author="Zoe Contributor"),
        C("p2", ["main"], {"src/util.py": "util v2\n"}, author="Yan Helper"),
        C("pm", ["p1", "p2"], {"src/util.py": "util v2\n"}, message="Merge pull request #7\n"),
    )
    report = world.absorb()
    assert {c["public"] for c in report["commits"]} == {world.pub[n] for n in ("p1", "p2", "pm")}
    repo = pygit2.Repository(str(world.src))
    merge = repo[report["head"]].peel(pygit2.Commit)
    images = {c["public"]: c["internal"] for c in report["commits"]}
    assert [str(p) for p in merge.parent_ids] == [
        images[world.pub["p1"]],
        images[world.pub["p2"]],
    ]
    assert git("show", f"{report['head']}:internal/plan.txt", cwd=world.src) == "secret plan\n"
    world.merge_absorbed()
    assert world.sync()["up_to_date"]
    world.internal(C("c", ["main"], {"src/c.py": "c\n"}))
    head = world.sync()["head"]
    assert git("rev-parse", f"{head}^", cwd=world.public).strip() == world.pub["pm"]
    assert world.from_scratch_head() == head


def test_deletion_rename_mode_change_and_binary(world: World) -> None:
    clone = world.tmp / "contributor"
    git("clone", "-q", str(world.public), str(clone))
    (clone / "docs").mkdir(exist_ok=True)
    git("mv", "README.md", "docs/README.md", cwd=clone)
    git("rm", "-q", "src/util.py", cwd=clone)
    (clone / "src" / "app.py").chmod(0o755)
    (clone / "logo.png").write_bytes(bytes(range(256)) * 4 + b"\0\r\n\r")
    git("add", "-A", cwd=clone)
    git("-c", "core.filemode=true", "commit", "-q", "-m", "Tidy up", cwd=clone)
    git("push", "-q", "origin", "main", cwd=clone)
    report = world.absorb()
    head = report["head"]
    status = git("show", "-M", "--name-status", "--format=", head, cwd=world.src)
    assert sorted(status.splitlines()) == sorted(
        ["R100\tREADME.md\tdocs/README.md", "D\tsrc/util.py", "M\tsrc/app.py", "A\tlogo.png"]
    )
    files = tree_files(world.src, head)
    assert files["src/app.py"].startswith("100755 ")
    assert (
        git("cat-file", "blob", f"{head}:logo.png", cwd=world.src).encode(
            "utf-8", "surrogateescape"
        )
        == bytes(range(256)) * 4 + b"\0\r\n\r"
    )
    assert "internal/plan.txt" in files and "src/internal/notes.txt" in files
    world.merge_absorbed()
    assert world.sync()["up_to_date"]


def test_deleting_a_folder_publicly_keeps_what_is_internal_in_it(world: World) -> None:
    world.contribute(C("p1", ["main"], {"src/app.py": None, "src/util.py": None}))
    head = world.absorb()["head"]
    files = tree_files(world.src, head)
    assert "src/internal/notes.txt" in files and "src/app.py" not in files
    world.merge_absorbed()
    assert world.sync()["up_to_date"]


def test_mode_change_alone(world: World) -> None:
    world.contribute(C("p1", ["main"], {"src/app.py": (EXEC, "print('v1')\n")}))
    head = world.absorb()["head"]
    assert tree_files(world.src, head)["src/app.py"].startswith("100755 ")


def refused(world: World, *needles: str) -> str:
    """Absorb must refuse with one error and one hint, exit 1, writing nothing to the source."""
    refs = git("for-each-ref", cwd=world.src)
    status = git("status", "--porcelain", "--ignored", cwd=world.src)
    done = world.pubgate("absorb")
    assert done.code == 1, done.err
    lines = done.err.splitlines()
    assert [line.split(":")[0] for line in lines] == ["error", "hint"], done.err
    for needle in needles:
        assert needle in done.err
    assert git("for-each-ref", cwd=world.src) == refs
    assert git("status", "--porcelain", "--ignored", cwd=world.src) == status
    return done.err


@pytest.mark.parametrize("path", ["internal/new.txt", "src/internal/notes.txt", "deploy.pem"])
def test_refuses_a_public_change_to_an_excluded_path(world: World, path: str) -> None:
    world.contribute(C("p1", ["main"], {"src/app.py": "v2\n", path: "from outside\n"}))
    err = refused(world, world.pub["p1"][:12], path, "excluded")
    assert "secret plan" not in err


def test_refuses_submodule_changes(world: World) -> None:
    gitlink = (0o160000, world.ids["a"])
    world.contribute(C("p1", ["main"], {"vendor/lib": gitlink}))
    refused(world, world.pub["p1"][:12], "vendor/lib", "submodule")


def test_refuses_octopus_merges(world: World) -> None:
    world.contribute(
        C("p1", ["main"], {"x.txt": "1\n"}),
        C("p2", ["main"], {"y.txt": "2\n"}),
        C("p3", ["main"], {"z.txt": "3\n"}),
        C("pm", ["p1", "p2", "p3"], {"y.txt": "2\n", "z.txt": "3\n"}),
    )
    refused(world, world.pub["pm"][:12], "octopus")


def test_refuses_unrelated_roots(world: World) -> None:
    world.contribute(
        C("root", (), {"other.txt": "unrelated\n"}),
        C("pm", ["main", "root"], {"other.txt": "unrelated\n"}),
    )
    refused(world, world.pub["root"][:12], "root")


def test_refuses_a_public_history_that_lost_absorbed_commits(world: World) -> None:
    before = world.tip()
    world.contribute(C("p1", ["main"], {"src/app.py": "v2\n"}))
    world.absorb()
    world.merge_absorbed()
    git("update-ref", "refs/heads/main", before, cwd=world.public)  # a force-push
    world.contribute(C("p2", ["main"], {"src/app.py": "v3\n"}))
    refused(world, world.pub["p1"][:12], "force-pushed")


def test_refuses_a_squashed_absorb_branch(world: World) -> None:
    world.contribute(C("p1", ["main"], {"src/app.py": "v2\n"}, author="Zoe Contributor"))
    world.absorb()
    world.internal(C("c", ["b"], {"src/c.py": "c\n"}))
    message = git("log", "-1", "--format=%B", "pubgate/absorb", cwd=world.src)
    git("merge", "-q", "--squash", "pubgate/absorb", cwd=world.src)
    git("commit", "-q", "-m", message, cwd=world.src)
    git("branch", "-D", "-q", "pubgate/absorb", cwd=world.src)
    err = refused(world, "squashed, rebased or amended")
    assert "merge commit or a fast-forward" in err


def test_refuses_when_nothing_was_synced(tmp_path: Path, public: PublicRepos) -> None:
    bare = public.bare()
    build(bare, [C("init", (), {"README.md": "Public\n"})], bare=True)
    src = tmp_path / "src"
    build(src, [C("a", (), {"src/a.py": "a\n"})])
    config = tmp_path / "pubgate.yaml"
    config.write_text(json.dumps({"target_repo": str(bare)}))
    done = pubgate("--config", str(config), "absorb", cwd=src)
    assert done.code == 1 and "holds no commit synced" in done.err and "hint:" in done.err


def test_refuses_without_trailers(world: World) -> None:
    world.config.write_text(
        json.dumps({"target_repo": str(world.public), "message": {"trailer": False}})
    )
    refused(world, "message.trailer")


def test_dry_run_writes_no_branch(world: World) -> None:
    world.contribute(C("p1", ["main"], {"src/app.py": "v2\n"}))
    refs = git("for-each-ref", cwd=world.src)
    report = world.absorb("--dry-run")
    assert report["dry_run"] and len(report["commits"]) == 1 and not report["written"]
    assert git("for-each-ref", cwd=world.src) == refs
    assert world.absorb()["head"] == report["head"]


def test_sync_refusal_names_absorb_and_plan_lists_waiting_commits(world: World) -> None:
    world.contribute(C("p1", ["main"], {"src/app.py": "v2\n"}, message="Fix the app\n"))
    world.internal(C("c", ["b"], {"src/c.py": "c\n"}))
    done = world.pubgate("sync", "--no-pr")
    assert done.code == 1 and "git pubgate absorb" in done.err
    plan = world.pubgate("--json", "plan")
    assert plan.code == 0, plan.err
    waiting = json.loads(plan.out)["absorb"]
    assert [w["public"] for w in waiting] == [world.pub["p1"]]
    assert waiting[0]["subject"] == "Fix the app"
    shown = world.pubgate("plan")
    assert "waiting to be absorbed" in shown.err and world.pub["p1"][:12] in shown.err


PYPROJECT = '[project]\nname = "demo"\nversion = "0.1.0"\ndependencies = []\n'


def released_world(tmp_path: Path, public: PublicRepos) -> World:
    """A world whose first sync is a release: pyproject.toml and CHANGELOG.md are owned."""
    bare = public.bare()
    src = tmp_path / "src"
    config = tmp_path / "pubgate.yaml"
    config.write_text(json.dumps({"target_repo": str(bare), "exclude": EXCLUDE, "version": {}}))
    world = World(tmp_path, bare, src, config)
    world.internal(
        C(
            "a",
            (),
            {"src/app.py": "v1\n", "internal/plan.txt": "secret\n", "pyproject.toml": PYPROJECT},
        ),
        C("b", ["a"], {"src/util.py": "u\n"}, message="feat: util\n"),
    )
    done = world.pubgate("--json", "sync", "--no-pr", "--bump", "minor")
    assert done.code == 0, done.err
    git("update-ref", "refs/heads/main", json.loads(done.out)["head"], cwd=bare)
    return world


def test_releases_own_files_refused_and_other_changes_converge(
    tmp_path: Path, public: PublicRepos
) -> None:
    world = released_world(tmp_path, public)
    released = git("show", "main:pyproject.toml", cwd=world.public)
    assert 'version = "0.2.0"' in released
    world.contribute(C("p0", ["main"], {"CHANGELOG.md": "# rewritten\n"}))
    refused(world, world.pub["p0"][:12], "CHANGELOG.md", "releases write")
    git("update-ref", "refs/heads/main", "main~1", cwd=world.public)  # withdrawn

    world.contribute(C("p1", ["main"], {"src/app.py": "v2\n"}, message="fix: app\n"))
    head = world.absorb()["head"]
    # The internal version file stays the internal one; the contribution is all that changes.
    assert git("show", f"{head}:pyproject.toml", cwd=world.src) == PYPROJECT
    world.merge_absorbed()
    report = world.pubgate("--json", "sync", "--no-pr")
    assert report.code == 0, report.err
    assert json.loads(report.out)["up_to_date"]


def test_refuses_a_file_where_an_internal_directory_is(world: World) -> None:
    world.contribute(C("p1", ["main"], {"src/internal": "a file now\n"}))
    refused(world, world.pub["p1"][:12], "src/internal", "internal directory")


def test_sync_does_not_take_a_trailer_that_does_not_round_trip(world: World) -> None:
    world.contribute(C("p1", ["main"], {"src/app.py": "v2\n"}))
    p1 = world.pub["p1"]
    # Claims to be p1, but holds other content: sync must not reuse p1 for it.
    world.internal(
        C("fake", ["b"], {"src/app.py": "v3\n"}, message=f"Fix\n\nPubgate-Absorbed: {p1}\n")
    )
    done = world.pubgate("--json", "sync", "--no-pr", "--allow-divergence")
    assert done.code == 0, done.err
    report = json.loads(done.out)
    assert report["head"] != p1 and [c["source"] for c in report["commits"]] == [world.ids["fake"]]
    assert report["divergence"] == ["src/app.py"]


def test_refuses_public_content_holding_section_markers(world: World) -> None:
    text = "a = 1\n# BEGIN-INTERNAL\nb = 2\n# END-INTERNAL\n"
    world.contribute(C("p1", ["main"], {"src/app.py": text}))
    refused(world, world.pub["p1"][:12], "src/app.py", "internal-section markers")


def test_a_divergent_sync_merged_on_the_public_side_comes_back_as_a_merge(world: World) -> None:
    world.contribute(C("p1", ["main"], {"README.md": "public readme\n"}, author="Zoe Contributor"))
    world.internal(C("c", ["b"], {"src/c.py": "c\n", "internal/plan.txt": "c\n"}))
    done = world.pubgate("--json", "sync", "--no-pr", "--allow-divergence")
    assert done.code == 0, done.err
    synced = json.loads(done.out)["head"]
    # The forge merges the pull request with a merge commit of both sides.
    world.contribute(C("merge", ["main", synced], {"src/c.py": "c\n"}, message="Merge #2\n"))
    report = world.absorb()
    assert [c["public"] for c in report["commits"]] == [world.pub["p1"], world.pub["merge"]]
    repo = pygit2.Repository(str(world.src))
    merge = repo[report["head"]].peel(pygit2.Commit)
    assert [str(p) for p in merge.parent_ids] == [report["commits"][0]["internal"], world.ids["c"]]
    assert git("show", f"{report['head']}:internal/plan.txt", cwd=world.src) == "c\n"
    world.merge_absorbed()
    assert world.sync()["up_to_date"]
    world.internal(C("d", ["main"], {"src/d.py": "d\n"}))
    head = world.sync()["head"]
    assert git("rev-parse", f"{head}^", cwd=world.public).strip() == world.pub["merge"]
    assert world.from_scratch_head() == head


SECTIONED = (
    "def run():\n"
    "    setup()\n"
    "    # BEGIN-INTERNAL\n"
    "    call_internal_service()\n"
    "    # END-INTERNAL\n"
    "    work()\n"
    "    return 1\n"
)


def sectioned_world(tmp_path: Path, public: PublicRepos) -> World:
    world = make_world(tmp_path, public)
    world.internal(C("s", ["b"], {"src/svc.py": SECTIONED}))
    world.merge_sync()
    assert "call_internal_service" not in git("show", "main:src/svc.py", cwd=world.public)
    return world


def test_a_public_edit_merges_around_internal_sections(tmp_path: Path, public: PublicRepos) -> None:
    world = sectioned_world(tmp_path, public)
    published = git("show", "main:src/svc.py", cwd=world.public)
    world.contribute(C("p1", ["main"], {"src/svc.py": published.replace("return 1", "return 2")}))
    head = world.absorb()["head"]
    assert git("show", f"{head}:src/svc.py", cwd=world.src) == SECTIONED.replace(
        "return 1", "return 2"
    )
    world.merge_absorbed()
    assert world.sync()["up_to_date"]


def test_a_conflict_stops_and_continue_takes_the_resolution(
    tmp_path: Path, public: PublicRepos
) -> None:
    world = sectioned_world(tmp_path, public)
    published = git("show", "main:src/svc.py", cwd=world.public)
    edited = published.replace(
        "    setup()\n    work()\n", "    setup()\n    more_work()\n    work()\n"
    )
    assert edited != published
    world.contribute(C("p1", ["main"], {"src/svc.py": edited}, author="Zoe Contributor"))
    p1 = world.pub["p1"]
    refs = git("for-each-ref", cwd=world.src)
    stopped = world.pubgate("absorb")
    assert stopped.code == 1, stopped.err
    assert p1[:12] in stopped.err and "src/svc.py" in stopped.err and "--continue" in stopped.err
    assert "call_internal_service" not in stopped.err
    assert git("for-each-ref", cwd=world.src) == refs, "nothing written before it is resolved"
    work = world.src / ".git" / "pubgate" / "absorb" / "tree" / "src" / "svc.py"
    assert "<<<<<<<" in work.read_text()
    # A plain rerun says an absorb is stopped.
    again = world.pubgate("absorb")
    assert again.code == 1 and "--continue" in again.err
    # Markers left in: refused.
    bad = world.pubgate("absorb", "--continue")
    assert bad.code == 1 and "conflict markers" in bad.err
    # A resolution that loses the contribution does not round-trip: refused.
    work.write_text(SECTIONED)
    bad = world.pubgate("absorb", "--continue")
    assert bad.code == 1 and "does not publish back" in bad.err
    resolved = SECTIONED.replace("    work()\n", "    more_work()\n    work()\n")
    work.write_text(resolved)
    done = world.pubgate("--json", "absorb", "--continue")
    assert done.code == 0, done.err
    head = json.loads(done.out)["head"]
    assert git("show", f"{head}:src/svc.py", cwd=world.src) == resolved
    assert not (world.src / ".git" / "pubgate" / "absorb").exists()
    world.merge_absorbed()
    assert world.sync()["up_to_date"]


def test_abort_forgets_a_stopped_absorb(tmp_path: Path, public: PublicRepos) -> None:
    world = sectioned_world(tmp_path, public)
    published = git("show", "main:src/svc.py", cwd=world.public)
    edited = published.replace("    setup()\n    work()\n", "    setup()\n    x()\n    work()\n")
    world.contribute(C("p1", ["main"], {"src/svc.py": edited}))
    assert world.pubgate("absorb").code == 1
    done = world.pubgate("--json", "absorb", "--abort")
    assert done.code == 0 and json.loads(done.out)["aborted"], done.err
    assert not (world.src / ".git" / "pubgate" / "absorb").exists()
    nothing = world.pubgate("absorb", "--abort")
    assert nothing.code == 1 and "nothing to abort" in nothing.err
    assert world.pubgate("absorb", "--continue").code == 1
