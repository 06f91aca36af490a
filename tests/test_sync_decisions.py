"""Sync decisions that used to surprise: what plan says, what is held back, squash merges
without trailers, newly excluded public paths, patterns matching nothing, new identities."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from .conftest import PublicRepos
from .factory import C, git
from .test_sync import ROUND_1, World


def _plan(world: World) -> dict[str, object]:
    code, out, err = world.sync("--json", "plan")
    assert code == 0, err
    result: dict[str, object] = json.loads(out)
    return result


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
    assert plan["would_refuse"] and "NOTICE" in plan["would_refuse"][0]["reason"]  # type: ignore[index]
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
