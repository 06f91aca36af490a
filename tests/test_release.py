"""Releases end to end: sync adds a release commit (version files, changelog) on a
``pubgate/release-vX.Y.Z`` branch, merged the ways a forge merges, then released again."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import pytest

from .conftest import PublicRepos, pubgate
from .factory import C, build, git

PYPROJECT = """\
[project]
name = "demo"  # the distribution
version = "0.0.0"
dependencies = []
"""


class ReleaseWorld:
    def __init__(self, tmp: Path, public: PublicRepos, version: dict[str, Any] | None = None):
        self.tmp = tmp
        self.src = tmp / "src"
        self.target = public.bare()
        build(self.target, [C("init", (), {"README.md": "Public\n"})], bare=True)
        self.ids: dict[str, str] = {}
        self.config = tmp / "pubgate.yaml"
        self.configure(version if version is not None else {})
        self.merges = 0

    def configure(self, version: dict[str, Any], **extra: Any) -> None:
        settings = {
            "target_repo": str(self.target),
            "exclude": ["internal/"],
            "version": version,
            **extra,
        }
        self.config.write_text(json.dumps(settings), encoding="utf-8")

    def commit(self, *commits: C) -> None:
        self.ids = build(self.src, commits, known=self.ids)

    def run(self, *args: str) -> tuple[int, dict[str, Any], str]:
        result = pubgate("--config", str(self.config), "--json", *args, cwd=self.src)
        return result.code, json.loads(result.out) if result.out else {}, result.err

    def sync(self, *args: str) -> dict[str, Any]:
        code, report, err = self.run("sync", "--no-pr", *args)
        assert code == 0, err
        return report

    def show(self, rev: str, path: str) -> str:
        return git("show", f"{rev}:{path}", cwd=self.target)

    def heads(self) -> dict[str, str]:
        out = git("ls-remote", "--heads", str(self.target))
        return {
            r.removeprefix("refs/heads/"): o for o, r in (x.split("\t") for x in out.splitlines())
        }

    def merge(self, branch: str, strategy: str) -> None:
        self.merges += 1
        work = self.tmp / f"merge{self.merges}"
        git("clone", "-q", str(self.target), str(work))
        head = f"origin/{branch}"
        if strategy == "merge":
            git("merge", "-q", "--no-ff", "-m", f"Merge #{self.merges}", head, cwd=work)
        elif strategy == "ff":
            git("merge", "-q", "--ff-only", head, cwd=work)
        elif strategy == "squash":
            messages = git("log", "--reverse", "--format=* %B", f"main..{head}", cwd=work)
            git("merge", "-q", "--squash", head, cwd=work)
            git("commit", "-q", "-m", f"Release (#{self.merges})\n\n{messages}", cwd=work)
        elif strategy == "rebase":
            git("checkout", "-q", "-b", "pr", head, cwd=work)
            git("rebase", "-q", "--force-rebase", "main", cwd=work)
            git("checkout", "-q", "main", cwd=work)
            git("merge", "-q", "--ff-only", "pr", cwd=work)
        git("push", "-q", "origin", "main", cwd=work)

    def tag(self, name: str, rev: str = "main") -> None:
        """What publish does after an upload: an annotated tag on the released commit."""
        git("tag", "-a", "-m", name, name, rev, cwd=self.target)


@pytest.mark.parametrize("strategy", ["merge", "ff", "squash", "rebase"])
def test_two_releases_in_a_row(tmp_path: Path, public: PublicRepos, strategy: str) -> None:
    w = ReleaseWorld(tmp_path, public)
    w.commit(
        C("a", (), {"pyproject.toml": PYPROJECT, "src/app.py": "1\n", "internal/x": "s\n"}),
        C("b", ["a"], {"src/app.py": "2\n"}, message="feat: the first feature\n"),
    )
    first = w.sync()
    release = first["release"]
    assert (release["version"], release["previous"]) == ("0.1.0", None)
    assert release["previous_from"] == "source (0.0.0)"
    assert release["reason"].startswith("minor: 1 feature (")
    branch = first["target"]["head_branch"]
    assert branch == "pubgate/release-v0.1.0"
    head = w.heads()[branch]
    assert head == first["head"] == release["commit"]
    assert 'version = "0.1.0"' in w.show(head, "pyproject.toml")
    log = w.show(head, "CHANGELOG.md")
    assert "## [0.1.0] - " in log and "- the first feature (" in log
    message = git("log", "-1", "--format=%an <%ae>%n%B", head, cwd=w.target)
    assert message.startswith("git-pubgate <release-bot@git-pubgate.invalid>\nRelease 0.1.0\n")
    assert "Pubgate-Release: 0.1.0" in message

    # The same sync again changes nothing: the release commit is deterministic.
    assert w.sync()["already_pushed"] is True

    w.merge(branch, strategy)
    w.tag("v0.1.0")
    w.commit(
        # Internal version bumps must not reach public history: the release owns the version.
        C("c", ["b"], {"pyproject.toml": PYPROJECT.replace("0.0.0", "0.0.1.dev0")}),
        C(
            "d",
            ["c"],
            {"pyproject.toml": PYPROJECT.replace("0.0.0", "0.0.1.dev0").replace("[]", '["httpx"]')},
            message="feat: talk HTTP\n",
        ),
        C("e", ["d"], {"src/app.py": "3\n"}, message="fix: off by one\n"),
    )
    second = w.sync()
    assert second["divergence"] == []
    assert second["release"]["version"] == "0.2.0"
    assert second["release"]["previous"] == "0.1.0"
    assert second["release"]["previous_from"] in ("tag v0.1.0", "review branch")
    assert second["pruned"] == 1  # "c" only moved the internal version
    branch = second["target"]["head_branch"]
    assert branch == "pubgate/release-v0.2.0"
    heads = w.heads()
    assert "pubgate/release-v0.1.0" not in heads or strategy in ("merge", "ff")
    head = heads[branch]
    # Every synced commit below the release commit carries the released version 0.1.0 (never
    # the source's 0.0.x), with the internal dependency change kept.
    versions = []
    for rev in git("rev-list", f"main..{head}", cwd=w.target).split():
        versions.append(tomllib.loads(w.show(rev, "pyproject.toml"))["project"]["version"])
    assert versions == ["0.2.0", "0.1.0", "0.1.0"]
    project = tomllib.loads(w.show(head, "pyproject.toml"))["project"]
    assert project["dependencies"] == ["httpx"]
    log = w.show(head, "CHANGELOG.md")
    assert log.count("## [0.2.0]") == 1 and log.count("## [0.1.0]") == 1
    assert log.index("## [0.2.0]") < log.index("## [0.1.0]")
    assert "### Features\n\n- talk HTTP" in log and "### Fixes\n\n- off by one" in log

    w.merge(branch, strategy)
    again = w.sync()
    assert again["up_to_date"] is True
    assert again["target"]["head_branch"] is None  # nothing to release, so no release branch
    # The audit agrees the public history holds nothing excluded.
    code, out, err = w.run("audit")
    assert code == 0, (out, err)


def test_refuses_a_version_that_is_not_above_the_public_ones(
    tmp_path: Path, public: PublicRepos
) -> None:
    w = ReleaseWorld(tmp_path, public, {"bump": "none"})
    w.commit(C("a", (), {"pyproject.toml": PYPROJECT.replace("0.0.0", "1.0.0")}))
    w.tag("v5.0.0", "main")
    code, _, err = w.run("sync", "--no-pr")
    assert code == 1
    assert "error: refusing to release 1.0.0, since 5.0.0 is already public (tag v5.0.0)" in err
    assert "hint:" in err
    assert set(w.heads()) == {"main"}
    # An explicit bump moves on from the highest public version.
    report = w.sync("--bump", "major")
    assert report["release"]["version"] == "6.0.0"


def test_semver_tags_and_prereleases(tmp_path: Path, public: PublicRepos) -> None:
    w = ReleaseWorld(tmp_path, public, {"prerelease": "rc", "tag_prefix": "release/"})
    w.commit(C("a", (), {"pyproject.toml": PYPROJECT}, message="feat: x\n"))
    w.tag("release/1.2.0-rc.1")  # a SemVer spelling written by another tool
    w.tag("v9.0.0")  # another prefix: not ours
    report = w.sync()
    assert report["release"]["version"] == "1.2.0rc2"
    assert report["release"]["tag"] == "release/1.2.0rc2"
    w.configure({"tag_prefix": "release/"})
    assert w.sync()["release"]["version"] == "1.2.0"  # a plain bump finalises


def test_plan_shows_the_version_and_why(tmp_path: Path, public: PublicRepos) -> None:
    w = ReleaseWorld(tmp_path, public)
    w.commit(
        C("a", (), {"pyproject.toml": PYPROJECT}),
        C("b", ["a"], {"x": "1"}, message="fix(io): short reads\n"),
    )
    result = pubgate("--config", str(w.config), "plan", cwd=w.src)
    assert result.code == 0, result.err
    assert "version: 0.0.1, after source (0.0.0)" in result.err
    assert "why: patch: 1 fix (" in result.err
    assert "short reads" in result.err
    assert set(w.heads()) == {"main"}


def test_python_and_text_version_files(tmp_path: Path, public: PublicRepos) -> None:
    w = ReleaseWorld(
        tmp_path, public, {"files": ["src/pkg/__init__.py", "VERSION"], "changelog": False}
    )
    init = '"""Pkg."""\n\n__version__ = "2.0.0"  # set by releases\n'
    w.commit(C("a", (), {"src/pkg/__init__.py": init, "VERSION": "2.0.0\n"}, message="fix: y\n"))
    head = w.sync()["head"]
    assert w.show(head, "src/pkg/__init__.py") == init.replace("2.0.0", "2.0.1")
    assert w.show(head, "VERSION") == "2.0.1\n"
    assert "CHANGELOG.md" not in git("ls-tree", "--name-only", head, cwd=w.target)


def test_dynamic_version_only_tags(tmp_path: Path, public: PublicRepos) -> None:
    w = ReleaseWorld(tmp_path, public)
    pyproject = (
        '[project]\nname = "d"\ndynamic = ["version"]\n[tool.hatch.version]\nsource = "vcs"\n'
    )
    w.commit(C("a", (), {"pyproject.toml": pyproject}, message="feat: z\n"))
    report = w.sync()
    assert report["release"]["version"] == "0.1.0"
    assert report["release"]["version_files"] == []
    assert w.show(report["head"], "pyproject.toml") == pyproject
    assert "## [0.1.0]" in w.show(report["head"], "CHANGELOG.md")


def test_an_excluded_version_file_is_a_config_error(tmp_path: Path, public: PublicRepos) -> None:
    w = ReleaseWorld(tmp_path, public, {"changelog": "internal/CHANGES.md"})
    w.commit(C("a", (), {"pyproject.toml": PYPROJECT}))
    code, _, err = w.run("sync", "--no-pr")
    assert code == 2
    assert "internal/CHANGES.md is written by releases but the exclude rules hold it back" in err


def test_public_edit_of_the_changelog_is_divergence(tmp_path: Path, public: PublicRepos) -> None:
    w = ReleaseWorld(tmp_path, public)
    w.commit(C("a", (), {"pyproject.toml": PYPROJECT}, message="feat: a\n"))
    w.merge(w.sync()["target"]["head_branch"], "merge")
    work = tmp_path / "edit"
    git("clone", "-q", str(w.target), str(work))
    (work / "CHANGELOG.md").write_text("rewritten by hand\n")
    git("commit", "-q", "-am", "edit changelog", cwd=work)
    git("push", "-q", "origin", "main", cwd=work)
    w.commit(C("b", ["a"], {"y": "1"}, message="fix: b\n"))
    code, _, err = w.run("sync", "--no-pr")
    assert code == 1
    assert "CHANGELOG.md" in err and "did not come from the source" in err


def test_changelog_takes_scrubbed_subjects_only(tmp_path: Path, public: PublicRepos) -> None:
    w = ReleaseWorld(tmp_path, public)
    w.configure({}, message={"scrub": [r"\[PROJ-\d+\] "]})
    w.commit(
        C("a", (), {"pyproject.toml": PYPROJECT}),
        C("b", ["a"], {"x": "1"}, message="feat: [PROJ-42] fast path\n"),
    )
    report = w.sync()
    log = w.show(report["head"], "CHANGELOG.md")
    assert "- fast path (" in log and "PROJ-42" not in log
    assert "PROJ-42" not in git("log", "--format=%B", report["head"], cwd=w.target)


def test_init_publishes_the_first_release_straight_to_the_review_branch(
    tmp_path: Path, public: PublicRepos
) -> None:
    w = ReleaseWorld(tmp_path, public)
    git("update-ref", "-d", "refs/heads/main", cwd=w.target)  # a target with no branch yet
    w.commit(C("a", (), {"pyproject.toml": PYPROJECT}, message="feat: hello\n"))
    code, report, err = w.run("sync", "--init")
    assert code == 0, err
    assert report["pushed_to_review_branch"] is True
    assert report["release"]["version"] == "0.1.0"
    assert set(w.heads()) == {"main"}
    assert 'version = "0.1.0"' in w.show("main", "pyproject.toml")
    w.commit(C("b", ["a"], {"b": "1"}, message="fix: next\n"))
    assert w.sync()["release"]["version"] == "0.1.1"
