"""Monorepos: a folder as the public root, moves, and many targets from one configuration.

Each public history is compared with git-filter-repo's on a copy of the same generated monorepo:
``--subdirectory-filter`` and the excludes in one pass (a filename callback, since two passes
of filter-repo are not one: its second pass prunes merges the first one kept).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from git_pubgate.lock import exclusive

from .conftest import PublicRepos, Result, pubgate
from .factory import C, build, git
from .monorepo import monorepo_history
from .test_rewrite import filter_repo, log_shape

EXCLUDE = ["/internal/", "*.pem"]


def split_with_filter_repo(src: Path, dest: Path, lib: str, *, license_move: bool = False) -> str:
    """filter-repo's public history of ``libs/<lib>/`` (and LICENSE, when moved); its tip."""
    keep_license = "if filename == b'LICENSE':\n    return filename\n" if license_move else ""
    callback = (
        f"{keep_license}"
        f"if not filename.startswith(b'libs/{lib}/'):\n    return None\n"
        f"rest = filename[len(b'libs/{lib}/'):]\n"
        "if rest.startswith(b'internal/') or rest.endswith(b'.pem'):\n    return None\n"
        "return rest\n"
    )
    filter_repo(src, dest, ["--filename-callback", callback])
    return git("rev-parse", "main", cwd=dest).strip()


def same_history(ours: Path, ours_tip: str, theirs: Path, theirs_tip: str) -> None:
    count = ["rev-list", "--count"]
    merges = [*count, "--min-parents=2"]
    assert git(*count, ours_tip, cwd=ours) == git(*count, theirs_tip, cwd=theirs)
    assert git(*merges, ours_tip, cwd=ours) == git(*merges, theirs_tip, cwd=theirs)
    # Parents, authors in order, dates and trees: then the very same commits.
    assert log_shape(ours, ours_tip) == log_shape(theirs, theirs_tip)
    assert ours_tip == theirs_tip


def write_config(src: Path, settings: dict[str, Any]) -> None:
    (src / "pubgate.yaml").write_text(json.dumps(settings), encoding="utf-8")
    (src / ".git" / "info" / "exclude").write_text("pubgate.yaml\n")


def tip_of(repo: Path, branch: str = "pubgate/sync") -> str:
    return git("rev-parse", branch, cwd=repo).strip()


@pytest.mark.parametrize(("seed", "lib"), [(1, "a"), (2, "b"), (3, "a")])
def test_root_gives_what_filter_repo_gives(
    tmp_path: Path, public: PublicRepos, seed: int, lib: str
) -> None:
    src = tmp_path / "src"
    history = monorepo_history(seed, 160)
    build(src, history)
    target = public.bare()
    write_config(
        src,
        {
            "target_repo": str(target),
            "root": f"libs/{lib}/",
            "exclude": EXCLUDE,
            "message": {"trailer": False},
        },
    )
    result = pubgate("--json", "sync", "--no-pr", cwd=src)
    assert result.code == 0, result.err
    report = json.loads(result.out)
    assert report["pruned"] > 0 and report["commits"]
    theirs = split_with_filter_repo(src, tmp_path / "fr.git", lib)
    same_history(target, tip_of(target), tmp_path / "fr.git", theirs)
    # Held-back paths are named as the public tree would have them, never libs/...
    assert "internal/" in report["excluded_paths"]
    assert not any(p.startswith("libs/") for p in report["excluded_paths"])


def test_move_gives_what_filter_repo_gives(tmp_path: Path, public: PublicRepos) -> None:
    src = tmp_path / "src"
    build(src, monorepo_history(4, 120))
    target = public.bare()
    write_config(
        src,
        {
            "target_repo": str(target),
            "root": "libs/a",
            "move": {"LICENSE": "LICENSE"},
            "exclude": EXCLUDE,
            "message": {"trailer": False},
        },
    )
    result = pubgate("sync", "--no-pr", cwd=src)
    assert result.code == 0, result.err
    theirs = split_with_filter_repo(src, tmp_path / "fr.git", "a", license_move=True)
    same_history(target, tip_of(target), tmp_path / "fr.git", theirs)
    assert git("show", "pubgate/sync:LICENSE", cwd=target) == git("show", "main:LICENSE", cwd=src)


def test_a_moved_file_goes_to_its_new_name_and_leaves_the_old_one(
    tmp_path: Path, public: PublicRepos
) -> None:
    src = tmp_path / "src"
    build(
        src,
        [
            C("a", (), {"tools/ci/lint.toml": "x = 1\n", "app.py": "a\n", "docs/d.md": "d\n"}),
            C("b", ["a"], {"tools/ci/lint.toml": "x = 2\n"}),
            C("c", ["b"], {"tools/other.sh": "s\n"}),
        ],
    )
    target = public.bare()
    write_config(src, {"target_repo": str(target), "move": {"tools/ci/lint.toml": ".lint.toml"}})
    result = pubgate("--json", "sync", "--no-pr", cwd=src)
    assert result.code == 0, result.err
    files = git("ls-tree", "-r", "--name-only", "pubgate/sync", cwd=target).split()
    assert files == [".lint.toml", "app.py", "docs/d.md", "tools/other.sh"]
    assert git("show", "pubgate/sync:.lint.toml", cwd=target) == "x = 2\n"
    assert len(json.loads(result.out)["commits"]) == 3


def monorepo_with_targets(
    tmp_path: Path, public: PublicRepos, *, seed: int = 5, count: int = 140, trailer: bool = True
) -> tuple[Path, dict[str, Path]]:
    src = tmp_path / "src"
    build(src, monorepo_history(seed, count))
    repos = {"a": public.bare("a.git"), "b": public.bare("b.git")}
    settings: dict[str, Any] = {
        "exclude": ["/internal/"],
        "targets": {
            "a": {"root": "libs/a/", "target_repo": str(repos["a"]), "exclude": ["*.pem"]},
            "b": {"root": "libs/b/", "target_repo": str(repos["b"]), "exclude": ["*.pem"]},
        },
    }
    if not trailer:
        settings["message"] = {"trailer": False}
    write_config(src, settings)
    return src, repos


def test_each_target_gets_its_own_split(tmp_path: Path, public: PublicRepos) -> None:
    src, repos = monorepo_with_targets(tmp_path, public, trailer=False)
    result = pubgate("sync", "--no-pr", cwd=src)
    assert result.code == 0, result.err
    summary = result.err.splitlines()[-2:]
    assert summary[0].startswith(f"a: pushed {tip_of(repos['a'])[:12]} to ")
    assert summary[1].startswith(f"b: pushed {tip_of(repos['b'])[:12]} to ")
    for lib, repo in repos.items():
        theirs = split_with_filter_repo(src, tmp_path / f"fr-{lib}.git", lib)
        same_history(repo, tip_of(repo), tmp_path / f"fr-{lib}.git", theirs)
    # Each target keeps its state apart from the others.
    state = src / ".git" / "pubgate" / "targets"
    assert sorted(p.name for p in state.iterdir()) == ["a", "b"]
    assert all((state / name / "public.git" / "HEAD").is_file() for name in ("a", "b"))
    assert not (src / ".git" / "pubgate" / "public.git").exists()

    again = pubgate("--json", "sync", "--no-pr", cwd=src)
    assert again.code == 0, again.err
    body = json.loads(again.out)
    assert [t["name"] for t in body["targets"]] == ["a", "b"]
    assert all(t["exit_code"] == 0 and t["already_pushed"] for t in body["targets"])
    assert body["targets"][0]["head"] == tip_of(repos["a"])


def merge_head(repo: Path) -> None:
    """What a fast-forward merge of the pull request does: main takes the head branch's tip."""
    git("update-ref", "refs/heads/main", tip_of(repo), cwd=repo)


def test_incremental_equals_from_scratch_for_every_target(
    tmp_path: Path, public: PublicRepos
) -> None:
    history = monorepo_history(6, 150)
    src = tmp_path / "src"
    first, rest = history[:110], history[110:]
    repos = {"a": public.bare("a.git"), "b": public.bare("b.git")}
    config = {
        "exclude": ["/internal/", "*.pem"],
        "targets": {lib: {"root": f"libs/{lib}", "target_repo": str(repos[lib])} for lib in "ab"},
    }
    ids = build(src, first)
    write_config(src, config)
    assert pubgate("sync", "--no-pr", cwd=src).code == 0
    for repo in repos.values():
        merge_head(repo)
    build(src, rest, known=ids)
    incremental = pubgate("--json", "sync", "--no-pr", cwd=src)
    assert incremental.code == 0, incremental.err
    body = json.loads(incremental.out)
    assert all(t["last_synced_source"] for t in body["targets"])  # it did continue

    scratch_src = tmp_path / "scratch"
    git("clone", "-q", "--no-local", str(src), str(scratch_src))
    scratch = {lib: public.bare(f"scratch-{lib}.git") for lib in "ab"}
    config["targets"] = {
        lib: {"root": f"libs/{lib}", "target_repo": str(scratch[lib])} for lib in "ab"
    }
    write_config(scratch_src, config)
    assert pubgate("sync", "--no-pr", cwd=scratch_src).code == 0
    for lib in "ab":
        assert tip_of(repos[lib]) == tip_of(scratch[lib])


def test_one_target_never_waits_for_or_reads_another_targets_state(
    tmp_path: Path, public: PublicRepos
) -> None:
    src, repos = monorepo_with_targets(tmp_path, public)
    assert pubgate("sync", "--no-pr", "--target", "a", cwd=src).code == 0
    state = src / ".git" / "pubgate" / "targets"
    # Another run holds a's lock, and a's state is garbage: b does not care.
    shutil.rmtree(state / "a" / "public.git")
    (state / "a" / "public.git").write_text("not a repository")
    with exclusive(src / ".git", wait=0, state=state / "a"):
        result = pubgate("sync", "--no-pr", "--target", "b", cwd=src)
    assert result.code == 0, result.err
    assert "waiting" not in result.err
    (state / "a" / "public.git").unlink()
    alone = public.bare("b-alone.git")
    write_config(src, {"target_repo": str(alone), "root": "libs/b/", "exclude": EXCLUDE})
    assert pubgate("sync", "--no-pr", cwd=src).code == 0
    assert tip_of(alone) == tip_of(repos["b"])  # the same as b synced without a beside it


def run_json(*args: str, cwd: Path) -> tuple[Result, dict[str, Any]]:
    result = pubgate("--json", *args, cwd=cwd)
    return result, json.loads(result.out) if result.out.strip() else {}


def test_a_failing_target_does_not_stop_the_others(tmp_path: Path, public: PublicRepos) -> None:
    src, repos = monorepo_with_targets(tmp_path, public)
    settings = json.loads((src / "pubgate.yaml").read_text())
    settings["targets"]["gone"] = {"root": "libs/a/", "target_repo": str(tmp_path / "nothing")}
    settings["targets"]["typo"] = {"root": "libs/zz/", "target_repo": str(public.bare("z.git"))}
    write_config(src, settings)
    result = pubgate("sync", "--no-pr", cwd=src)
    assert result.code == 2  # the worst: typo's missing root is a configuration error
    assert f"error: gone: target_repo {tmp_path / 'nothing'} is not a git repository" in result.err
    assert "hint: gone: create it first" in result.err
    assert "error: typo: root libs/zz/ does not exist on main" in result.err
    assert "hint: typo: set root to a folder of main" in result.err
    assert git("rev-parse", "--verify", "-q", "pubgate/sync", cwd=repos["a"], check=False)
    assert git("rev-parse", "--verify", "-q", "pubgate/sync", cwd=repos["b"], check=False)

    result, body = run_json("sync", "--no-pr", "--target", "gone", "--target", "b", cwd=src)
    assert result.code == 1
    assert [(t["name"], t["exit_code"]) for t in body["targets"]] == [("gone", 1), ("b", 0)]
    assert "not a git repository" in body["targets"][0]["error"]["message"]


def test_mistakes_in_targets_are_configuration_errors(tmp_path: Path, public: PublicRepos) -> None:
    src, repos = monorepo_with_targets(tmp_path, public)
    result = pubgate("plan", "--target", "c", cwd=src)
    assert result.code == 2
    assert "error: unknown target 'c'" in result.err and "are: a, b" in result.err

    settings = json.loads((src / "pubgate.yaml").read_text())
    settings["targets"]["b"]["target_repo"] = str(repos["a"])
    write_config(src, settings)
    result = pubgate("sync", "--no-pr", cwd=src)
    assert result.code == 2
    assert f"pushes to {repos['a']} branch main, as target 'a' does" in result.err
    settings["targets"]["b"]["review_branch"] = "other"
    write_config(src, settings)
    assert "branch pubgate/sync, as target 'a'" in pubgate("plan", cwd=src).err

    settings["targets"]["b"] = {"root": "libs/b/", "target_repo": str(repos["b"]), "rooot": "x"}
    write_config(src, settings)
    result = pubgate("plan", cwd=src)
    assert result.code == 2 and "targets.b.rooot: unknown key" in result.err
    assert "did you mean 'root'?" in result.err

    settings["targets"]["b"] = {"root": "libs/b/", "target_repo": str(repos["b"])}
    settings["move"] = {"docs/guide.md": "README.md"}
    write_config(src, settings)
    result = pubgate("plan", "--target", "a", cwd=src)
    assert result.code == 2
    assert "move docs/guide.md -> README.md collides with libs/a/README.md" in result.err

    write_config(src, {"target_repo": str(repos["a"]), "root": "libs/a"})
    result = pubgate("sync", "--target", "a", cwd=src)
    assert result.code == 2 and "has no targets" in result.err


def test_targets_lists_names_for_a_ci_matrix(tmp_path: Path, public: PublicRepos) -> None:
    src, repos = monorepo_with_targets(tmp_path, public)
    result, body = run_json("targets", cwd=src)
    assert result.code == 0
    assert body["names"] == ["a", "b"]
    assert body["targets"][1] == {
        "name": "b",
        "root": "libs/b/",
        "target_repo": str(repos["b"]),
        "review_branch": "main",
        "state_dir": ".git/pubgate/targets/b",
    }
    assert pubgate("targets", cwd=src).out == "a\nb\n"


PYPROJECT = '[project]\nname = "{name}"\nversion = "{version}"\n'


def test_each_target_releases_its_own_version(tmp_path: Path, public: PublicRepos) -> None:
    src = tmp_path / "src"
    build(
        src,
        [
            C("r", (), {"LICENSE": "MIT\n", "tools/x.sh": "x\n"}),
            C(
                "a",
                ["r"],
                {
                    "libs/a/pyproject.toml": PYPROJECT.format(name="a", version="1.2.0"),
                    "libs/b/pyproject.toml": PYPROJECT.format(name="b", version="0.3.0"),
                },
                message="chore: start\n",
            ),
            C("b", ["a"], {"libs/a/a.py": "A\n"}, message="feat: a grows\n"),
            C("c", ["b"], {"libs/b/b.py": "B\n"}, message="fix: b mends\n"),
        ],
    )
    repos = {"a": public.bare("a.git"), "b": public.bare("b.git")}
    for lib, version in (("a", "1.2.0"), ("b", "0.3.0")):
        # Both were released before: the tags say so.
        build(repos[lib], [C("init", (), {"README.md": f"{lib}\n"})], bare=True)
        git("tag", f"v{version}", "main", cwd=repos[lib])
    write_config(
        src,
        {
            "version": {},
            "move": {"LICENSE": "LICENSE"},
            "targets": {
                "a": {"root": "libs/a", "target_repo": str(repos["a"])},
                "b": {"root": "libs/b", "target_repo": str(repos["b"])},
            },
        },
    )
    result, body = run_json("sync", "--no-pr", cwd=src)
    assert result.code == 0, result.err
    by_name = {t["name"]: t for t in body["targets"]}
    assert by_name["a"]["release"]["version"] == "1.3.0"
    assert by_name["b"]["release"]["version"] == "0.3.1"
    assert by_name["a"]["target"]["head_branch"] == "pubgate/release-v1.3.0"
    head_a = tip_of(repos["a"], "pubgate/release-v1.3.0")
    assert 'version = "1.3.0"' in git("show", f"{head_a}:pyproject.toml", cwd=repos["a"])
    assert "a grows" in git("show", f"{head_a}:CHANGELOG.md", cwd=repos["a"])
    files_b = git("ls-tree", "--name-only", "pubgate/release-v0.3.1", cwd=repos["b"]).split()
    assert files_b == ["CHANGELOG.md", "LICENSE", "b.py", "pyproject.toml"]
    assert "a grows" not in git("show", "pubgate/release-v0.3.1:CHANGELOG.md", cwd=repos["b"])


def test_audit_and_publish_understand_targets(tmp_path: Path, public: PublicRepos) -> None:
    src, repos = monorepo_with_targets(tmp_path, public)
    assert pubgate("sync", "--no-pr", cwd=src).code == 0
    for repo in repos.values():
        merge_head(repo)
    result, body = run_json("audit", cwd=src)
    assert result.code == 0, result.err
    assert [(t["name"], t["clean"], bool(t["source_checked"])) for t in body["targets"]] == [
        ("a", True, True),
        ("b", True, True),
    ]
    # Someone pushes a key straight to b's public repository: b's audit finds it, a's does not.
    work = tmp_path / "b-work"
    git("clone", "-q", str(repos["b"]), str(work))
    (work / "deploy.pem").write_text("key\n")
    git("add", "deploy.pem", cwd=work)
    git("commit", "-qm", "oops", cwd=work)
    git("push", "-q", "origin", "main", cwd=work)
    result = pubgate("audit", cwd=src)
    assert result.code == 1
    assert "a: ok" in result.err and "b: failed (exit 1)" in result.err
    assert "excluded path deploy.pem" in result.err

    result = pubgate("publish", "--dry-run", cwd=src)
    assert result.code == 2
    assert "has 2 targets and this is not a clone of one of them" in result.err
    assert "--target NAME" in result.err


def test_init_writes_a_starter_for_one_folder(tmp_path: Path) -> None:
    src = tmp_path / "src"
    build(src, [C("a", (), {"libs/tracing/x.py": "x\n"})])
    result = pubgate("init", "--root", "libs/tracing/", cwd=src)
    assert result.code == 0, result.err
    text = (src / "pubgate.yaml").read_text()
    assert 'root: "libs/tracing/"' in text
    assert "relative to it" in text
    missing = pubgate("init", "--force", "--root", "libs/nope", cwd=src)
    assert missing.code == 2 and "--root libs/nope: no such folder" in missing.err


def test_the_matrix_example_pins_its_actions_and_caches_each_target(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[1]
    workflow = yaml.safe_load((root / "examples/github/monorepo-sync.yml").read_text())
    assert workflow["permissions"] == {}
    assert all(job["permissions"] == {"contents": "read"} for job in workflow["jobs"].values())
    steps = [s for job in workflow["jobs"].values() for s in job["steps"]]
    for step in steps:
        if "uses" in step:
            assert re.fullmatch(r"[\w-]+/[\w-]+@[0-9a-f]{40}", step["uses"]), step["uses"]
        if step.get("uses", "").startswith("actions/checkout@"):
            assert step["with"]["persist-credentials"] is False
    sync = workflow["jobs"]["sync"]
    assert sync["strategy"]["matrix"]["target"] == "${{ fromJSON(needs.targets.outputs.names) }}"
    cache = next(s for s in sync["steps"] if s.get("uses", "").startswith("actions/cache@"))
    assert cache["with"]["path"] == ".git/pubgate/targets/${{ matrix.target }}"
    assert "${{ matrix.target }}" in cache["with"]["key"]
    run = next(s for s in sync["steps"] if "sync --target" in s.get("run", ""))
    assert run["env"]["TARGET"] == "${{ matrix.target }}"
    jenkins = (root / "examples/jenkins/Jenkinsfile.monorepo").read_text()
    assert "parallel stages" in jenkins and "pubgate targets" in jenkins


def test_a_contribution_to_one_target_comes_back_under_its_root(
    tmp_path: Path, public: PublicRepos
) -> None:
    src = tmp_path / "src"
    ids = build(
        src,
        [
            C("r", (), {"LICENSE": "MIT\n", "tools/x.sh": "x\n"}),
            C("a", ["r"], {"libs/a/a.py": "A\n", "libs/a/internal/n.md": "n\n"}),
            C("b", ["a"], {"libs/b/b.py": "B\n"}),
        ],
    )
    repos = {lib: public.bare(f"{lib}.git") for lib in "ab"}
    write_config(
        src,
        {
            "exclude": ["/internal/"],
            "move": {"LICENSE": "LICENSE"},
            "targets": {
                lib: {"root": f"libs/{lib}", "target_repo": str(repos[lib])} for lib in "ab"
            },
        },
    )
    assert pubgate("sync", "--no-pr", cwd=src).code == 0
    for repo in repos.values():
        merge_head(repo)
    # A contributor fixes a.py and the LICENSE on a's public repository.
    build(
        repos["a"],
        [C("fix", ["main"], {"a.py": "A fixed\n", "LICENSE": "MIT, fixed\n"}, author="Cy Cole")],
        bare=True,
        known={"main": tip_of(repos["a"], "main")},
    )
    result, body = run_json("absorb", "--target", "a", cwd=src)
    assert result.code == 0, result.err
    assert len(body["targets"][0]["commits"]) == 1
    absorbed = "pubgate/absorb-a"
    assert git("show", f"{absorbed}:libs/a/a.py", cwd=src) == "A fixed\n"
    assert git("show", f"{absorbed}:LICENSE", cwd=src) == "MIT, fixed\n"
    assert git("show", f"{absorbed}:libs/a/internal/n.md", cwd=src) == "n\n"
    # On top of the internal commit a's public history came from, changing only what P did.
    assert git("rev-parse", f"{absorbed}^", cwd=src).strip() == ids["a"]
    changed = git("diff", "--name-only", f"{absorbed}^", absorbed, cwd=src).split()
    assert changed == ["LICENSE", "libs/a/a.py"]
    git("merge", "-q", "--no-ff", "-m", "Merge contributions", absorbed, cwd=src)
    # The next sync maps the absorbed commit back onto the contribution: nothing new for a;
    # b gets the LICENSE fix.
    result, body = run_json("sync", "--no-pr", cwd=src)
    assert result.code == 0, result.err
    by_name = {t["name"]: t for t in body["targets"]}
    assert by_name["a"]["up_to_date"], by_name["a"]["commits"]
    assert "fix" in [c["subject"] for c in by_name["b"]["commits"]]
    head_b = by_name["b"]["head"]
    assert git("show", f"{head_b}:LICENSE", cwd=repos["b"]) == "MIT, fixed\n"


def push(repo: Path, remote: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", "push", remote, "main"], cwd=repo, capture_output=True, text=True, check=False
    )


def test_the_pre_push_hook_checks_a_push_by_its_targets_rules(
    tmp_path: Path, public: PublicRepos
) -> None:
    src = tmp_path / "src"
    build(src, [C("a", (), {"README.md": "r\n", "src/a.py": "a\n"})])
    repos = {lib: public.bare(f"{lib}.git") for lib in "ab"}
    for lib, repo in repos.items():
        git("remote", "add", lib, str(repo), cwd=src)
    write_config(
        src,
        {
            "exclude": ["/internal/"],
            "targets": {
                "a": {"root": "libs/a", "target_repo": str(repos["a"])},
                "b": {"root": "libs/b", "target_repo": str(repos["b"]), "exclude": ["*.cred"]},
            },
        },
    )
    assert pubgate("hook", "install", cwd=src).code == 0
    base = git("rev-parse", "main", cwd=src).strip()
    build(src, [C("k", ["main"], {"deploy.cred": "key\n"})], known={"main": base})
    to_a = push(src, "a")
    assert to_a.returncode == 0, to_a.stderr  # a holds back internal/ only
    to_b = push(src, "b")
    assert to_b.returncode == 1
    assert "excluded path deploy.cred (exclude '*.cred')" in to_b.stderr
