"""git pubgate audit over real public histories: clean after sync, and everything planted found."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .conftest import PublicRepos, pubgate
from .factory import GITLINK, LINK, C, build, git, random_history


def setup(tmp_path: Path, public: PublicRepos, **extra: object) -> tuple[Path, Path, Path]:
    src = tmp_path / "src"
    build(
        src,
        [C("a", (), {"README.md": "r\n", "internal/x": "s\n"}), C("b", ["a"], {"src/b.py": "b\n"})],
    )
    target = public.bare()
    config = tmp_path / "pubgate.yaml"
    config.write_text(
        json.dumps(
            {
                "target_repo": str(target),
                "exclude": ["internal/"],
                "message": {"forbid": ["(?i)bluebird"]},
                **extra,
            }
        )
    )
    return src, target, config


def run(config: Path, src: Path, *args: str) -> tuple[int, dict[str, object], str]:
    result = pubgate("--config", str(config), *args, cwd=src)
    return result.code, json.loads(result.out) if result.out.strip() else {}, result.err


def test_a_synced_history_audits_clean(tmp_path: Path, public: PublicRepos) -> None:
    src, target, config = setup(tmp_path, public)
    assert run(config, src, "sync", "--no-pr")[0] == 0
    git("update-ref", "refs/heads/main", "refs/heads/pubgate/sync", cwd=target)
    code, report, err = run(config, src, "--json", "audit")
    assert code == 0, err
    assert report["clean"] is True and report["commits"] == 2
    assert report["source_checked"] == git("rev-parse", "main", cwd=src).strip()


def test_everything_planted_by_hand_is_reported(tmp_path: Path, public: PublicRepos) -> None:
    src, target, config = setup(tmp_path, public)
    assert run(config, src, "sync", "--no-pr")[0] == 0
    git("update-ref", "refs/heads/main", "refs/heads/pubgate/sync", cwd=target)
    work = tmp_path / "public-clone"
    git("clone", "-q", str(target), str(work))
    ids = build(
        work,
        [
            C(
                "evil",
                ["main"],
                {
                    "internal/leak.md": "secret\n",
                    "link": (LINK, "internal/leak.md"),
                    "escape": (LINK, "../../etc/passwd"),
                    "vendor/lib": (GITLINK, "1" * 40),
                },
                message="Ship Bluebird\n",
            )
        ],
        known={"main": git("rev-parse", "main", cwd=work).strip()},
    )
    git("push", "-q", "origin", "main", cwd=work)
    git("tag", "v0", ids["evil"], cwd=work)
    git("push", "-q", "origin", "v0", cwd=work)
    code, report, _ = run(config, src, "--json", "audit")
    assert code == 1
    found = {f["finding"] for f in report["findings"]}  # type: ignore[union-attr,index]
    assert found == {
        "excluded path internal/leak.md",
        "symlink link points into excluded path internal/leak.md",
        "symlink escape points out of the repository",
        "gitlink (submodule) at vendor/lib",
        "message matches forbid rule '(?i)bluebird'",
    }
    assert "tags/v0" in report["refs"]  # type: ignore[operator]
    human = pubgate("--config", str(config), "audit", cwd=src)
    assert human.code == 1 and human.err.splitlines()[-1].startswith("audit of 3 refs")


def test_a_public_tree_that_drifted_from_the_source(tmp_path: Path, public: PublicRepos) -> None:
    src, target, config = setup(tmp_path, public)
    assert run(config, src, "sync", "--no-pr")[0] == 0
    work = tmp_path / "public-clone"
    git("clone", "-q", "-b", "pubgate/sync", str(target), str(work))
    (work / "extra.txt").write_text("slipped in\n")
    git("add", "extra.txt", cwd=work)
    git("commit", "-q", "--amend", "--no-edit", cwd=work)  # the trailer stays, the tree moves
    git("push", "-q", "origin", "HEAD:refs/heads/main", cwd=work)
    code, report, _ = run(config, src, "--json", "audit")
    assert code == 1 and report["source_differences"] == ["extra.txt"]


def test_every_advertised_ref_is_read(tmp_path: Path, public: PublicRepos) -> None:
    """A branch pushed by hand past the hook, a pull request ref, a custom ref and a tag on a
    bare tree: all public, all audited, none of them the branches sync writes."""
    src, target, config = setup(tmp_path, public)
    assert run(config, src, "sync", "--no-pr")[0] == 0
    git("update-ref", "refs/heads/main", "refs/heads/pubgate/sync", cwd=target)
    assert run(config, src, "audit")[0] == 0
    internal = git("rev-parse", "main", cwd=src).strip()
    git("push", "-q", "--no-verify", str(target), f"{internal}:refs/heads/leak", cwd=src)
    code, report, _ = run(config, src, "--json", "audit")
    assert code == 1 and "heads/leak" in report["refs"]  # type: ignore[operator]
    assert {f["finding"] for f in report["findings"]} == {  # type: ignore[union-attr,index]
        "excluded path internal/x"
    }
    git("update-ref", "-d", "refs/heads/leak", cwd=target)
    first = git("rev-list", "--max-parents=0", "main", cwd=src).strip()
    git("push", "-q", str(target), f"{first}:refs/pull/7/head", cwd=src)
    tree = git("rev-parse", f"{internal}^{{tree}}", cwd=src).strip()
    git("push", "-q", str(target), f"{tree}:refs/tags/a-tree", cwd=src)
    code, report, _ = run(config, src, "--json", "audit")
    assert code == 1
    assert {"pull/7/head", "tags/a-tree"} <= set(report["refs"])  # type: ignore[arg-type]
    marked = {f["commit"] for f in report["findings"]}  # type: ignore[union-attr,index]
    assert marked == {first, tree}


EXCLUDES = ["/internal/", "*.pem", "internal/deep/", "docs/", "a/b/", "**/f1*.txt"]


@settings(
    derandomize=True,
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(seed=st.integers(0, 10_000), exclude=st.lists(st.sampled_from(EXCLUDES), min_size=1))
def test_any_history_and_rules_sync_to_a_clean_audit(
    tmp_path_factory: pytest.TempPathFactory, seed: int, exclude: list[str]
) -> None:
    tmp = tmp_path_factory.mktemp("audit-prop")
    build(tmp / "src", random_history(seed=seed, count=40))
    target = tmp / "public.git"
    git("init", "-q", "--bare", "-b", "main", str(target))
    config = tmp / "pubgate.yaml"
    config.write_text(json.dumps({"target_repo": str(target), "exclude": exclude}))
    code, _, err = run(config, tmp / "src", "sync", "--no-pr")
    if code == 1 and "every path is excluded" in err:
        return
    assert code == 0, err
    git("update-ref", "refs/heads/main", "refs/heads/pubgate/sync", cwd=target)
    code, report, err = run(config, tmp / "src", "--json", "audit")
    assert code == 0 and report["clean"] is True, report
    git("fsck", "--strict", "--no-progress", cwd=target)
