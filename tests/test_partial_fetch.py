"""A fresh clone's sync fetches the target's commits and tip trees only, and gets the same ids.

Each case syncs, merges the pull request on the target, adds source commits, then syncs
without ``.git/pubgate`` (a CI runner without a cache): once into a staging repository that
was fetched whole beforehand (the reference), once from nothing. Both must give the same ids,
on a local target and over git's smart HTTP, whether the server filters or ignores filters,
and the next run (with the cache, on the partial staging repository) must too.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pygit2
import pytest

from git_pubgate import partial_fetch, sync
from git_pubgate.gitio import Remote

from .conftest import SECRETS, PublicRepos, pubgate
from .factory import C, build, git
from .gitserver import GitHttpServer

TOKEN = "ghs_PartialFetchTokenNeverInConfig_0c7e"
SECRETS.add(TOKEN)

SECTIONED = "keep\n# BEGIN-INTERNAL\ninternal detail\n# END-INTERNAL\nend\n"


def history(start: int, count: int) -> list[C]:
    """Commits ``start`` .. ``start + count - 1`` on top of ``c{start - 1}``, one a merge,
    with a file whose public form differs from the source's (an internal section)."""
    commits = []
    for n in range(start, start + count):
        parents = [f"c{n - 1}"] if n else []
        files: dict[str, str | None] = {
            f"src/m{n % 4}/f{n}.py": f"v{n}\n",
            "internal/notes.md": f"n{n}\n",
            "src/sectioned.py": SECTIONED.replace("end", f"end {n}"),
        }
        if n % 5 == 3:
            commits.append(C(f"s{n}", [f"c{n - 1}"], {f"side/x{n}.txt": "side\n"}))
            parents.append(f"s{n}")
        commits.append(C(f"c{n}", parents, files))
    return commits


class Case:
    def __init__(self, tmp: Path, url: str, target: Path):
        self.tmp, self.url, self.target = tmp, url, target
        self.src = tmp / "src"
        self.ids = build(self.src, history(0, 12))
        self.config = tmp / "pubgate.yaml"
        self.config.write_text(
            f'target_repo: "{url}"\nexclude: ["internal/"]\ngithub_token_env: "GH_TOKEN"\n'
        )

    def sync(self, *args: str) -> dict[str, Any]:
        done = pubgate("--config", str(self.config), "--json", "sync", *args, cwd=self.src)
        assert done.code == 0, done.err
        assert TOKEN not in done.out + done.err
        return dict(json.loads(done.out))

    def merge(self) -> None:
        git("update-ref", "refs/heads/main", "refs/heads/pubgate/sync", cwd=self.target)

    def grow(self, start: int, count: int) -> None:
        self.ids = build(self.src, history(start, count), known=self.ids)

    @property
    def state(self) -> Path:
        return self.src / ".git" / "pubgate"

    @property
    def staging(self) -> Path:
        return self.state / "public.git"

    def whole_staging(self) -> None:
        """``.git/pubgate`` holding nothing but a staging repository fetched whole."""
        shutil.rmtree(self.state, ignore_errors=True)
        git("init", "-q", "--bare", str(self.staging))
        objects = self.src / ".git" / "objects"
        (self.staging / "objects" / "info" / "alternates").write_text(f"{objects}\n")
        everything = "+refs/heads/*:refs/pubgate/target/*"
        git("fetch", "-q", str(self.target), everything, cwd=self.staging)


def ids(report: dict[str, Any]) -> tuple[str, list[tuple[str, str]]]:
    commits = report["commits"]
    return report["head"], sorted((c["source"], c["public"]) for c in commits)


def lacking(staging: Path) -> int:
    """How many objects of the review branch's history staging does not have."""
    review = "refs/pubgate/target/main"
    listed = git("rev-list", "--objects", "--missing=print", review, cwd=staging)
    return sum(line.startswith("?") for line in listed.splitlines())


@contextmanager
def target(
    tmp: Path, public: PublicRepos, where: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[str, Path]]:
    bare = public.bare()
    if where == "local":
        yield str(bare), bare
        return
    if where == "http-filtering":
        git("config", "uploadpack.allowFilter", "true", cwd=bare)
    monkeypatch.setenv("GH_TOKEN", TOKEN)
    with GitHttpServer(public.root, TOKEN) as server:
        yield server.url("public.git"), bare


@pytest.mark.parametrize("where", ["local", "http-filtering", "http-no-filters"])
def test_fresh_clone_gets_the_ids_of_a_whole_staging_repository(
    tmp_path: Path, public: PublicRepos, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    with target(tmp_path, public, where, monkeypatch) as (url, bare):
        case = Case(tmp_path, url, bare)
        case.sync("--no-pr")
        case.merge()
        case.grow(12, 4)
        case.whole_staging()
        reference = case.sync("--dry-run")

        shutil.rmtree(case.state)
        fresh = case.sync("--no-pr")
        assert ids(fresh) == ids(reference) and fresh["head"]
        assert git("rev-parse", "pubgate/sync", cwd=bare).strip() == fresh["head"]
        config = (case.staging / "config").read_text()
        assert "127.0.0.1" not in config and str(bare) not in config and "credential" not in config
        state_files = [p for p in case.state.rglob("*") if p.is_file() and not p.is_symlink()]
        assert not [p for p in state_files if TOKEN.encode() in p.read_bytes()]
        if where == "http-no-filters":
            # The server sent everything, as into a new staging repository before.
            assert lacking(case.staging) == 0
        else:
            assert f"{partial_fetch.PARTIAL_KEY}=true" in git("config", "-l", cwd=case.staging)
            assert lacking(case.staging) > 0

        # The next run works on what the fresh clone left: the cache and a partial staging.
        case.merge()
        case.grow(16, 3)
        later = case.sync("--no-pr")
        case.whole_staging()
        assert ids(later) == ids(case.sync("--dry-run"))


@pytest.mark.parametrize("where", ["local", "http-filtering"])
def test_audit_after_a_fresh_clone_reads_the_whole_history(
    tmp_path: Path, public: PublicRepos, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    with target(tmp_path, public, where, monkeypatch) as (url, bare):
        case = Case(tmp_path, url, bare)
        case.sync("--no-pr")
        case.merge()
        case.grow(12, 2)
        shutil.rmtree(case.state)
        case.sync("--no-pr")
        case.merge()
        repo = pygit2.Repository(str(case.staging))
        first = repo.revparse_single("refs/pubgate/target/main~3").peel(pygit2.Commit)
        assert first.tree_id not in repo  # an older commit's tree was not fetched
        done = pubgate("--config", str(case.config), "--json", "audit", cwd=case.src)
        assert done.code == 0, done.err
        report = json.loads(done.out)
        assert report["clean"] and report["commits"] >= 14
        assert partial_fetch.PARTIAL_KEY not in git("config", "-l", cwd=case.staging)
        assert first.tree_id in pygit2.Repository(str(case.staging))


def test_a_server_that_cannot_send_trees_by_id_gets_a_whole_fetch(
    tmp_path: Path, public: PublicRepos, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Protocol version 0 takes only advertised tips in ``want``: a tree cannot be asked for
    by id. A fresh clone's sync asks for none while every tree it needs is one it wrote; once
    it must read a public tree it did not write (what a new rule drops from it), the partial
    path is undone and the history fetched whole."""
    bare = public.bare()
    git("config", "uploadpack.allowFilter", "true", cwd=bare)
    monkeypatch.setenv("GH_TOKEN", TOKEN)
    monkeypatch.setenv("GIT_CONFIG_COUNT", "1")
    monkeypatch.setenv("GIT_CONFIG_KEY_0", "protocol.version")
    monkeypatch.setenv("GIT_CONFIG_VALUE_0", "0")
    with GitHttpServer(public.root, TOKEN) as server:
        case = Case(tmp_path, server.url("public.git"), bare)
        case.sync("--no-pr")
        case.merge()
        case.grow(12, 2)
        case.whole_staging()
        reference = case.sync("--dry-run")
        shutil.rmtree(case.state)
        fresh = case.sync("--no-pr")
        assert ids(fresh) == ids(reference)
        assert partial_fetch.PARTIAL_KEY in git("config", "-l", cwd=case.staging)

        # A new rule, on a fresh clone: the last public tree is not the one sync now makes
        # of the last synced commit, and what it drops is read from that tree.
        case.merge()
        rule = '"internal/", "sectioned.py"'
        case.config.write_text(case.config.read_text().replace('"internal/"', rule))
        case.grow(14, 1)
        shutil.rmtree(case.state)
        done = pubgate("--config", str(case.config), "--json", "plan", cwd=case.src)
        assert done.code == 0, done.err
        assert json.loads(done.out)["newly_excluded"] == ["src/sectioned.py"]
        assert partial_fetch.PARTIAL_KEY not in git("config", "-l", cwd=case.staging)
        assert lacking(case.staging) == 0


def test_a_fetch_into_staging_offers_no_source_commit(
    tmp_path: Path, public: PublicRepos, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Staging borrows the source's objects, but a public commit is not a source commit: a
    fetch that offered the source's history as what it has would send the server every
    source commit in vain (the first fetch of a fresh clone paid 40% more for them)."""
    bare = public.bare()
    case = Case(tmp_path, str(bare), bare)
    case.sync("--no-pr")
    case.merge()
    case.grow(12, 2)
    packets = tmp_path / "packets.log"
    monkeypatch.setenv("GIT_TRACE_PACKET", str(packets))
    for state_kept in (False, True):  # a fresh clone, then a fetch into the staging it left
        if not state_kept:
            shutil.rmtree(case.state)
        else:
            # A commit made on the public side, which staging must fetch.
            case.merge()
            tree = git("rev-parse", "main^{tree}", cwd=bare).strip()
            made = git("commit-tree", tree, "-p", "main", "-m", "Public fix", cwd=bare).strip()
            git("update-ref", "refs/heads/main", made, cwd=bare)
            case.grow(14, 1)
        case.sync("--no-pr")
    traced = packets.read_text(errors="replace")
    offered = set(re.findall(r"> have ([0-9a-f]{40})", traced))
    sources = set(git("rev-list", "--all", cwd=case.src).split())
    assert offered  # the fetch into the kept staging offered its public commits
    assert not offered & sources


@dataclass(frozen=True)
class CountedRemote(Remote):
    """The target as sync reaches it, noting the refspecs of every fetch it runs."""

    fetched: list[list[str]] = field(default_factory=list)

    def fetch(self, refspecs: Sequence[str], **options: Any) -> None:
        if refspecs:
            self.fetched.append(list(refspecs))
        super().fetch(refspecs, **options)


def test_branches_at_one_commit_are_fetched_once_and_a_moved_one_as_it_is(
    tmp_path: Path, public: PublicRepos
) -> None:
    bare = public.bare()
    case = Case(tmp_path, str(bare), bare)
    case.sync("--no-pr")
    case.merge()
    tip = git("rev-parse", "main", cwd=bare).strip()
    heads = {"main": tip, "pubgate/sync": tip}

    staging = pygit2.init_repository(str(tmp_path / "once.git"), bare=True)
    remote = CountedRemote(str(bare), Path(staging.path))
    sync._fetch_missing(staging, remote, heads)
    assert remote.fetched == [["+refs/heads/main:refs/pubgate/target/main"]]
    for branch in heads:
        assert str(staging.references[f"refs/pubgate/target/{branch}"].target) == tip

    # Between reading the tips and fetching, main was force-pushed to an unrelated commit:
    # the other branch is fetched as it is, not pointed at a commit staging lacks.
    empty = git("hash-object", "-t", "tree", "-w", "--stdin", cwd=bare, input=b"").strip()
    other = git("commit-tree", empty, "-m", "Unrelated", cwd=bare).strip()
    git("update-ref", "refs/heads/main", other, cwd=bare)
    staging = pygit2.init_repository(str(tmp_path / "moved.git"), bare=True)
    remote = CountedRemote(str(bare), Path(staging.path))
    sync._fetch_missing(staging, remote, heads)
    assert len(remote.fetched) == 2
    assert str(staging.references["refs/pubgate/target/main"].target) == other
    assert str(staging.references["refs/pubgate/target/pubgate/sync"].target) == tip
    assert tip in staging
