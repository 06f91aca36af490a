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
