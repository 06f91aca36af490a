"""Sync decisions that used to surprise: what plan says, what is held back, squash merges
without trailers, newly excluded public paths, patterns matching nothing, new identities."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from git_pubgate.config import load
from git_pubgate.report import pull_request_text
from git_pubgate.sync import SyncOptions, run

from .conftest import PublicRepos
from .factory import C, git
from .test_absorb import make_world
from .test_sync import EXCLUDE, HEAD, ROUND_1, World


def _plan(world: World) -> Any:
    code, out, err = world.sync("--json", "plan")
    assert code == 0, err
    return json.loads(out)


def test_plan_says_when_sync_would_refuse(tmp_path: Path, public: PublicRepos) -> None:
    world = World(tmp_path, public, with_readme=True)
    world.commit(*ROUND_1)
    assert world.sync("sync", "--no-pr")[0] == 0
    world.merge("merge")
    fix = tmp_path / "hotfix"
    git("clone", "-q", str(world.target), str(fix))
    (fix / "NOTICE").write_text("n\n")
    git("add", "NOTICE", cwd=fix)
    git("commit", "-qm", "Add NOTICE", cwd=fix)
    git("push", "-q", "origin", "main", cwd=fix)
    world.commit(C("d", ["c"], {"docs/new.md": "d\n"}))

    code, _, err = world.sync("plan")
    assert code == 0, err
    last = err.splitlines()
    assert any(
        line.startswith("sync would refuse: main on the target has changes that did not come")
        for line in last
    ), err
    assert "sync would push" not in err
    plan = _plan(world)
    assert plan["would_refuse"] and "NOTICE" in plan["would_refuse"][0]["reason"]
    code, _, err = world.sync("sync", "--no-pr")
    assert code == 1 and "refusing to sync since main on the target has changes" in err


def test_held_back_list_does_not_depend_on_the_cache_or_the_order(
    tmp_path: Path, public: PublicRepos
) -> None:
    world = World(tmp_path, public, with_readme=True)
    world.commit(*ROUND_1, C("d", ["c"], {"src/d.py": "d\n"}))
    assert world.sync("sync", "--no-pr")[0] == 0
    world.merge("ff")
    world.commit(
        C("k", ["d"], {"internal/new.md": "n\n", "src/k.py": "k\n"}),
        C("l", ["k"], {"src/l.py": "l\n"}),
    )
    expected = ["internal/"]
    staging = world.src / ".git" / "pubgate"
    assert _plan(world)["excluded_paths"] == expected  # plan, then sync
    code, out, err = world.sync("--json", "sync", "--no-pr")
    assert code == 0, err
    assert json.loads(out)["excluded_paths"] == expected
    assert _plan(world)["excluded_paths"] == expected  # sync, then plan
    shutil.rmtree(staging)
    assert _plan(world)["excluded_paths"] == expected  # without .git/pubgate
    code, out, err = world.sync("--json", "sync", "--no-pr")
    assert json.loads(out)["excluded_paths"] == expected
    # A path no new commit touched is never listed, whatever an earlier run left behind.
    world.commit(C("m", ["l"], {"src/m.py": "m\n"}))
    assert _plan(world)["excluded_paths"] == expected
    shutil.rmtree(staging)
    assert _plan(world)["excluded_paths"] == expected


def test_held_back_list_of_a_first_publication_is_the_same_twice(
    tmp_path: Path, public: PublicRepos
) -> None:
    world = World(tmp_path, public, with_readme=False)
    world.commit(
        C("a", (), {"README.md": "r\n", "internal/x.md": "x\n", "deploy.pem": "k\n"}),
        C("b", ["a"], {"src/app.py": "v1\n"}),
    )
    expected = ["deploy.pem", "internal/"]
    assert _plan(world)["excluded_paths"] == expected
    code, out, err = world.sync("--json", "sync", "--no-pr")
    assert code == 0, err
    assert json.loads(out)["excluded_paths"] == expected
    assert _plan(world)["excluded_paths"] == expected


def _configure(world: World, exclude: list[str], **extra: object) -> None:
    world.config.write_text(
        json.dumps({"target_repo": str(world.target), "exclude": exclude, **extra}),
        encoding="utf-8",
    )


def _show(world: World, rev: str) -> str:
    return git("show", rev, cwd=world.target)


def test_newly_excluded_public_path_is_never_deleted_silently(
    tmp_path: Path, public: PublicRepos
) -> None:
    world = World(tmp_path, public, with_readme=True)
    world.commit(*ROUND_1, C("d", ["c"], {"docs/notes.md": "public notes\n", "docs/a.md": "a\n"}))
    world.sync_checked()
    world.merge("merge")
    # From now on docs/notes.md is to stay internal; the public copy is already out.
    _configure(world, [*EXCLUDE, "docs/notes.md"])
    world.commit(C("e", ["d"], {"docs/notes.md": "internal only now\n", "src/e.py": "e\n"}))
    before = world.heads()

    for extra in ((), ("--allow-divergence",)):
        code, _, err = world.sync("sync", "--no-pr", *extra)
        assert code == 1, err
        assert err.startswith(
            "error: refusing to sync since docs/notes.md is public on main and excluded now: "
            "the next pull request would delete it from main, and public history keeps it "
            "('git pubgate audit' lists where)"
        ), err
        assert "keep_public" in err and "--delete-excluded" in err
        assert "did not come from the source" not in err
        assert world.heads() == before
    plan = _plan(world)
    assert plan["newly_excluded"] == ["docs/notes.md"] and plan["divergence"] == []
    assert "excluded now" in plan["would_refuse"][0]["reason"]

    # Keep it public as it is: the internal edits never go out, nothing is deleted.
    _configure(world, [*EXCLUDE, "docs/notes.md"], keep_public=["docs/notes.md"])
    plan = _plan(world)
    assert plan["kept_public"] == ["docs/notes.md"] and plan["would_refuse"] == []
    assert plan["excluded_paths"] == ["docs/notes.md"]  # its internal change is held back
    world.sync_checked()  # a run from scratch gives the same head
    world.merge("merge")
    assert _show(world, "main:docs/notes.md") == "public notes\n"
    assert _show(world, "main:src/e.py") == "e\n"
    world.commit(C("f", ["e"], {"docs/notes.md": "more internal\n", "src/f.py": "f\n"}))
    world.sync_checked()
    world.merge("rebase")
    assert _show(world, "main:docs/notes.md") == "public notes\n"
    code, _, err = world.sync("sync", "--no-pr")
    assert code == 0 and "up to date" in err
    code, _, err = world.sync("audit")  # kept by decision: no finding, no difference
    assert code == 0 and err.rstrip().endswith("clean; source checked at " + world.ids["f"][:12])


def test_newly_excluded_public_path_deleted_when_asked(tmp_path: Path, public: PublicRepos) -> None:
    world = World(tmp_path, public, with_readme=True)
    world.commit(*ROUND_1, C("d", ["c"], {"docs/notes.md": "public notes\n", "docs/a.md": "a\n"}))
    world.sync_checked()
    world.merge("squash")
    _configure(world, [*EXCLUDE, "docs/"])
    world.commit(C("e", ["d"], {"src/e.py": "e\n"}))
    code, _, err = world.sync("plan")
    assert "sync would refuse: docs/a.md, docs/notes.md are public on main" in err, err
    code, out, err = world.sync("--json", "sync", "--no-pr", "--delete-excluded")
    assert code == 0, err
    assert json.loads(out)["newly_excluded"] == ["docs/a.md", "docs/notes.md"]
    world.merge("squash")
    assert "docs" not in git("ls-tree", "--name-only", "main", cwd=world.target).split()
    assert _show(world, "main:src/e.py") == "e\n"
    plan = _plan(world)
    assert plan["newly_excluded"] == [] and plan["up_to_date"] is True
    code, _, err = world.sync("audit")  # as promised: history keeps them, audit says where
    assert code == 1 and "excluded path docs/notes.md" in err


def _squash_without_trailers(world: World) -> None:
    """Squash the head branch into main with a message that names no source commit
    (GitLab's default squash message, or a hand-written one)."""
    world.prs += 1
    work = world.tmp / f"merge{world.prs}"
    git("clone", "-q", str(world.target), str(work))
    git("checkout", "-q", "main", cwd=work)
    git("merge", "-q", "--squash", "origin/pubgate/sync", cwd=work)
    git("commit", "-q", "-m", f"Sync from internal (!{world.prs})", cwd=work)
    git("push", "-q", "origin", "main", cwd=work)


def _tree_of(world: World, rev: str) -> str:
    return git("rev-parse", f"{rev}^{{tree}}", cwd=world.target).strip()


def test_squash_merge_that_lost_its_trailers(tmp_path: Path) -> None:
    """Side by side: a squash that kept the trailers (GitHub) and one that lost them (GitLab).
    The trailerless world must continue from the same place, publish the same commits with the
    same trees, and its runs from scratch must agree with its incremental ones."""
    worlds = {}
    for name in ("kept", "lost"):
        (tmp_path / name).mkdir()
        repos = PublicRepos(tmp_path / name)
        worlds[name] = (World(tmp_path / name, repos, with_readme=True), repos)
    squash = {"kept": lambda w: w.merge("squash"), "lost": _squash_without_trailers}

    def step(*commits: C, merge: str | None = None) -> dict[str, Any]:
        plans = {}
        for name, (world, _) in worlds.items():
            world.commit(*commits)
            plans[name] = _plan(world)
            world.sync_checked()  # incremental == from scratch
            after = _plan(world)  # what the sync left in .git/pubgate changes nothing
            for key in ("head", "squash_without_trailer", "excluded_paths", "last_synced_source"):
                assert after[key] == plans[name][key], key
            if merge == "merge":
                world.merge("merge")
            elif merge == "squash":
                squash[name](world)
        return plans

    step(*ROUND_1, merge="squash")  # the very first pull request, squashed
    plans = step(C("d", ["c"], {"src/d.py": "d\n"}), merge="squash")
    lost, kept = worlds["lost"][0], worlds["kept"][0]
    assert plans["lost"]["divergence"] == [] and plans["lost"]["would_refuse"] == []
    assert [c["source"] for c in plans["lost"]["commits"]] == [lost.ids["d"]]
    assert plans["lost"]["squash_without_trailer"] == {
        "source": lost.ids["b"],  # c only touched excluded paths: b is the last public one
        "public": git("rev-parse", "main~1", cwd=lost.target).strip(),
    }
    assert plans["kept"]["squash_without_trailer"] is None
    assert plans["lost"]["last_synced_source"] == plans["kept"]["last_synced_source"]
    assert plans["lost"]["excluded_paths"] == plans["kept"]["excluded_paths"]
    assert [c["subject"] for c in plans["lost"]["commits"]] == [
        c["subject"] for c in plans["kept"]["commits"]
    ]
    _, _, err = lost.sync("plan")
    assert "a squash merge that lost the trailers" in err

    # A later squash without trailers, after history that has them, is no divergence either.
    plans = step(C("e", ["d"], {"src/e.py": "e\n", "internal/e": "e\n"}), merge="merge")
    plans = step(C("f", ["e"], {"src/f.py": "f\n"}), merge="squash")
    plans = step(C("g", ["f"], {"docs/g.md": "g\n"}))
    assert plans["lost"]["divergence"] == [] and plans["lost"]["would_refuse"] == []
    assert len(plans["lost"]["commits"]) == 1
    assert _tree_of(lost, "pubgate/sync") == _tree_of(kept, "pubgate/sync")
    assert _tree_of(lost, "pubgate/sync~1") == _tree_of(lost, "main")  # built on the squash
    lost.merge("merge")  # applies without conflict
    kept.merge("merge")
    assert _tree_of(lost, "main") == _tree_of(kept, "main")
    for world, repos in worlds.values():
        assert world.sync("sync", "--no-pr")[0] == 0
        repos.fsck()


def test_patterns_that_match_nothing_are_warned_about(tmp_path: Path, public: PublicRepos) -> None:
    world = World(tmp_path, public, with_readme=True)
    typos = ["intenral/", "/home/alice/src/internal/", ".git/"]
    _configure(world, [*EXCLUDE, *typos, "tmp.key"], include=["src/", "README.md", "scr/"])
    world.commit(
        *ROUND_1,
        C("d", ["c"], {"tmp.key": "k\n"}),
        C("e", ["d"], {"tmp.key": None, "src/e.py": "e\n"}),  # only history has tmp.key
    )
    expected = [f"exclude pattern {p!r} matches no path" for p in typos] + [
        "include pattern 'scr/' matches no path"
    ]

    def warned(*args: str) -> list[str]:
        code, out, err = world.sync("--json", *args)
        assert code == 0, err
        warnings: list[str] = json.loads(out)["warnings"]
        assert len(warnings) == len(expected)
        for start, warning in zip(expected, warnings, strict=True):
            assert warning.startswith(start), warning
        return warnings

    first = warned("plan")
    assert "the file system" in first[1] and "never stores .git" in first[2]
    assert warned("sync", "--no-pr") == first
    code, _, err = world.sync("plan")
    assert code == 0 and "warning: exclude pattern 'intenral/' matches no path" in err
    code, _, err = world.sync("-q", "sync", "--no-pr")
    assert code == 0 and "warning: exclude pattern 'intenral/'" in err  # even when quiet
    world.merge("merge")
    world.commit(C("f", ["e"], {"src/f.py": "f\n"}))
    # Incremental: the tip and the new commit; tmp.key is only in history by now.
    later = [*expected[:3], "exclude pattern 'tmp.key' matches no path", expected[3]]
    expected[:] = later
    warned("plan")
    shutil.rmtree(world.src / ".git" / "pubgate")
    warned("plan")


def test_identities_public_for_the_first_time_are_listed(
    tmp_path: Path, public: PublicRepos
) -> None:
    world = World(tmp_path, public, with_readme=True)  # its README is Ada Author's
    world.commit(*ROUND_1)
    assert _plan(world)["new_identities"] == []
    world.sync_checked()
    world.merge("merge")
    world.commit(
        C("d", ["c"], {"src/d.py": "d\n"}, author="Bob Internal"),
        C("e", ["d"], {"internal/e.md": "e\n"}, author="Carol Hidden"),  # pruned: not public
        C("f", ["e"], {"src/f.py": "f\n"}),
    )
    bob = "Bob Internal <bob.internal@corp.example>"
    assert _plan(world)["new_identities"] == [bob]
    code, _, err = world.sync("plan")
    assert (
        code == 0
        and f"public for the first time (1 identity, as author or committer):\n  {bob}\n" in err
    )
    report = run(load(world.config), world.src, SyncOptions(push=False))
    _, body = pull_request_text(report)
    assert f"Public for the first time, as author or committer:\n\n- `{bob}`\n" in body
    assert "Carol" not in body
    world.sync_checked()
    world.merge("merge")
    world.commit(C("g", ["f"], {"src/g.py": "g\n"}, author="Bob Internal"))
    assert _plan(world)["new_identities"] == []  # public since the last merge
    shutil.rmtree(world.src / ".git" / "pubgate")
    assert _plan(world)["new_identities"] == []


def test_an_absorbed_contribution_is_not_taken_for_a_squash(
    tmp_path: Path, public: PublicRepos
) -> None:
    """A public contribution that absorb brought in and a --no-ff merge took, with nothing else:
    the merge's public tree is the contribution's, yet it is no squash of a sync."""
    world = make_world(tmp_path, public)
    world.contribute(C("p1", ["main"], {"src/app.py": "v2\n"}, author="Zoe Contributor"))
    world.absorb()
    world.merge_absorbed(no_ff=True)
    report = world.sync()
    assert report["squash_without_trailer"] is None and not report["up_to_date"]
    parents = git("log", "-1", "--format=%P", report["head"], cwd=world.public).split()
    assert parents[1] == world.pub["p1"]


def test_delete_excluded_is_remembered_until_the_deletion_is_merged(
    tmp_path: Path, public: PublicRepos
) -> None:
    """One --delete-excluded decides for those paths: the runs after it (a CI job on every
    push) keep deleting them without it; a path newly excluded later is refused again."""
    world = World(tmp_path, public, with_readme=True)
    world.commit(
        *ROUND_1,
        C("d", ["c"], {"docs/notes.md": "n\n", "docs/a.md": "a\n", "tools/t.sh": "t\n"}),
    )
    world.sync_checked()
    world.merge("merge")
    _configure(world, [*EXCLUDE, "docs/"])
    world.commit(C("e", ["d"], {"src/e.py": "e\n"}))
    code, _, err = world.sync("sync", "--no-pr", "--delete-excluded")
    assert code == 0, err
    world.commit(C("f", ["e"], {"src/f.py": "f\n"}))  # the pull request is still open
    code, out, err = world.sync("--json", "sync", "--no-pr")
    assert code == 0, err
    assert json.loads(out)["newly_excluded"] == ["docs/a.md", "docs/notes.md"]
    assert "docs" not in git("ls-tree", "--name-only", HEAD, cwd=world.target).split()
    assert _plan(world)["would_refuse"] == []
    # Another public path excluded now: not what was agreed, so refused, naming it.
    _configure(world, [*EXCLUDE, "docs/", "tools/"])
    code, _, err = world.sync("sync", "--no-pr")
    assert code == 1 and "since tools/t.sh is public on main and excluded now" in err, err
    _configure(world, [*EXCLUDE, "docs/"])
    code, _, err = world.sync("sync", "--no-pr")
    assert code == 0, err
    world.merge("merge")
    code, _, err = world.sync("sync", "--no-pr")
    assert code == 0, err
    assert not (world.src / ".git" / "pubgate" / "delete-excluded.json").exists()
    # The agreement is gone with the paths: excluding another public path asks again.
    _configure(world, [*EXCLUDE, "docs/", "tools/"])
    world.commit(C("g", ["f"], {"src/g.py": "g\n"}))
    code, _, err = world.sync("sync", "--no-pr")
    assert code == 1 and "tools/t.sh is public on main and excluded now" in err, err
