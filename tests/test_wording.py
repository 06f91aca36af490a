"""Output says what is true, in agreeing numbers: 1 path, 1 finding; a target without its
review branch gets no impossible "open a pull request into main"; a declared version that
the first release would pass over is pointed out with the way to keep it."""

from __future__ import annotations

import json
from pathlib import Path

from git_pubgate.wording import count

from .conftest import PublicRepos, pubgate
from .factory import C, build, git

PYPROJECT = '[project]\nname = "app"\nversion = "0.1.0"\n'


def test_count_agrees() -> None:
    assert [count(n, "path") for n in (0, 1, 2)] == ["0 paths", "1 path", "2 paths"]
    assert count(1, "finding") == "1 finding" and count(3, "entry", "entries") == "3 entries"


def test_a_first_release_into_a_path_target_without_main(
    tmp_path: Path, public: PublicRepos
) -> None:
    src, target = tmp_path / "src", public.bare()
    build(
        src,
        [
            C("a", (), {"pyproject.toml": PYPROJECT, "internal/x.md": "x\n"}),
            C("b", ["a"], {"src/app.py": "1\n"}, message="fix: one thing\n"),
        ],
    )
    config = tmp_path / "pubgate.yaml"
    config.write_text(
        json.dumps({"target_repo": str(target), "exclude": ["internal/"], "version": {}})
    )
    plan = pubgate("--config", str(config), "plan", cwd=src)
    assert plan.code == 0, plan.err
    assert "held back (1 excluded path touched):" in plan.err
    assert "version: 0.1.1, after source (0.1.0)" in plan.err
    assert (
        "  first release: the source declares 0.1.0; 'git pubgate sync --bump none' releases "
        "that version as it is"
    ) in plan.err.splitlines()
    synced = pubgate("--config", str(config), "sync", "--bump", "none", cwd=src)
    assert synced.code == 0, synced.err
    assert "first release" not in synced.err  # 0.1.0 is what goes out
    assert "open a pull request" not in synced.err
    assert synced.err.splitlines()[-1] == (
        "next: main does not exist on the target yet: review pubgate/release-v0.1.0, then "
        "'git pubgate sync --init' pushes the same commits to main directly (once)"
    )
    # audit of a target where one excluded path went out by hand: "1 finding".
    git("update-ref", "refs/heads/main", "refs/heads/pubgate/release-v0.1.0", cwd=target)
    tip = git("rev-parse", "main", cwd=target).strip()
    build(target, [C("leak", ["main"], {"internal/y.md": "y\n"})], bare=True, known={"main": tip})
    audit = pubgate("--config", str(config), "audit", cwd=src)
    assert audit.code == 1
    assert ": 1 finding, " in audit.err.splitlines()[-1], audit.err
