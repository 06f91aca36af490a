"""leak_review with both sides on forges: the internal pull request (stage into approved) on a
GitHub or GitLab stand-in, the public one on the GitHub stand-in that checks every request and
response against GitHub's OpenAPI description. Two tokens, neither ever printed."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from .conftest import SECRETS, pubgate
from .factory import C, build, git
from .forgeservers import GitLabServer
from .githubserver import GitHubApiServer
from .githubsite import github_site
from .gitserver import GitHttpServer

INTERNAL_TOKEN = "glpat_leak_review_internal_token_3f9"
PUBLIC_TOKEN = "ghp_leak_review_public_token_never_8a1"
SECRETS.update({INTERNAL_TOKEN, PUBLIC_TOKEN})


class World:
    """An internal repository on a forge (with a clone to run in) and a public one on GitHub."""

    def __init__(self, tmp: Path, kind: str, internal: tuple[Any, Any], public: tuple[Any, Any]):
        (internal_git, self.internal_api), (public_git, self.public_api) = internal, public
        self.kind = kind
        self.remote = tmp / "internal-forge" / "org" / "internal.git"
        git("init", "-q", "--bare", "-b", "main", str(self.remote))
        self.public = tmp / "forge" / "org" / "public.git"
        git("init", "-q", "--bare", "-b", "main", str(self.public))
        build(self.public, [C("init", (), {"README.md": "Public\n"})], bare=True)
        self.clone = tmp / "clone"
        self.ids = build(
            self.clone,
            [
                C("a", (), {"src/app.py": "v1\n", "internal/plan.txt": "secret\n"}),
                C("b", ["a"], {"src/util.py": "u\n", "internal/deep/notes.md": "n\n"}),
            ],
        )
        url = internal_git.url("org/internal.git")
        git("remote", "add", "origin", url, cwd=self.clone)
        self.push_main()
        # The approved branch starts at the public repository's tip: the leak review then
        # shows exactly what is new.
        git("fetch", "-q", str(self.public), "main:pubgate/approved", cwd=self.remote)
        self.config = tmp / "pubgate.yaml"
        self.config.write_text(
            json.dumps(
                {
                    "source_repo": url,
                    "source_forge": kind,
                    "source_api_url": self.internal_api.api_url,
                    "source_token_env": "INTERNAL_TOKEN",
                    "target_repo": public_git.url("org/public.git"),
                    "forge": "github",
                    "api_url": self.public_api.api_url,
                    "github_token_env": "GH_TOKEN",
                    "exclude": ["internal/"],
                    "leak_review": True,
                }
            )
        )

    def push_main(self) -> None:
        header = base64.b64encode(f"x-access-token:{INTERNAL_TOKEN}".encode()).decode()
        git(
            "-c",
            f"http.extraHeader=Authorization: Basic {header}",
            "push",
            "-q",
            "origin",
            "main",
            cwd=self.clone,
        )

    def commit(self, *commits: C) -> None:
        self.ids = build(self.clone, commits, known=self.ids)

    def run(self, *args: str) -> tuple[int, dict[str, Any], str]:
        done = pubgate("--config", str(self.config), "--json", *args, cwd=self.clone)
        assert INTERNAL_TOKEN not in done.out + done.err
        assert PUBLIC_TOKEN not in done.out + done.err
        return done.code, json.loads(done.out) if done.out else {}, done.err

    def internal_pulls(self) -> list[dict[str, Any]]:
        return self.internal_api.pulls.get("org/internal", [])

    def branch(self, repo: Path, name: str) -> str | None:
        out = git("rev-parse", "--verify", "-q", f"refs/heads/{name}", cwd=repo, check=False)
        return out.strip() or None

    def merge_stage(self) -> str:
        """What the internal forge's merge button does with a merge commit."""
        stage, approved = (
            self.branch(self.remote, "pubgate/stage"),
            self.branch(self.remote, "pubgate/approved"),
        )
        assert stage and approved
        made = git(
            "commit-tree",
            f"{stage}^{{tree}}",
            "-p",
            approved,
            "-p",
            stage,
            "-m",
            "Merge pull request #1 from org/pubgate/stage",
            cwd=self.remote,
        ).strip()
        git("update-ref", "refs/heads/pubgate/approved", made, cwd=self.remote)
        return made


@pytest.fixture(params=["github", "gitlab"])
def world(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[World]:
    monkeypatch.setenv("INTERNAL_TOKEN", INTERNAL_TOKEN)
    monkeypatch.setenv("GH_TOKEN", PUBLIC_TOKEN)
    internal_root, public_root = tmp_path / "internal-forge", tmp_path / "forge"
    internal_root.mkdir()
    public_root.mkdir()
    with ExitStack() as stack:
        server = GitHubApiServer if request.param == "github" else GitLabServer
        internal = (
            stack.enter_context(GitHttpServer(internal_root, INTERNAL_TOKEN)),
            stack.enter_context(server(internal_root, INTERNAL_TOKEN)),
        )
        public = (
            stack.enter_context(GitHttpServer(public_root, PUBLIC_TOKEN)),
            stack.enter_context(GitHubApiServer(public_root, PUBLIC_TOKEN)),
        )
        made = World(tmp_path, request.param, internal, public)
        yield made
        assert made.internal_api.errors == [], "requests broke the internal forge's contract"
        assert made.public_api.errors == [], "requests broke GitHub's contract"
    for repo in (made.remote, made.public):
        git("fsck", "--strict", "--no-progress", cwd=repo)


def test_internal_pull_request_then_approval_then_public_pull_request(world: World) -> None:
    public_before = git("ls-remote", str(world.public))
    code, report, err = world.run("sync")
    assert code == 0, err
    stage = world.branch(world.remote, "pubgate/stage")
    assert stage is not None and report["leak_review"]["staged"] == stage
    assert git("ls-remote", str(world.public)) == public_before  # nothing reached the target
    assert world.public_api.pulls.get("org/public", []) == []
    (opened,) = world.internal_pulls()
    head_key, base_key = (
        ("head", "base") if world.kind == "github" else ("source_branch", "target_branch")
    )
    assert (opened[head_key], opened[base_key]) == ("pubgate/stage", "pubgate/approved")
    assert report["leak_review"]["pull_request"]["created"] is True
    body = opened["body"] if world.kind == "github" else opened["description"]
    assert "`internal/`" in body and stage[:12] in body and "| b |" in body
    assert "://" not in body  # no link anywhere, the public repository named by its path only
    assert "`org/public`" in body

    # More commits before anyone approved: the same pull request is updated.
    world.commit(C("c", ["b"], {"src/c.py": "c\n", "internal/c": "x\n"}))
    code, report, err = world.run("sync")
    assert code == 0, err
    assert report["leak_review"]["pull_request"]["created"] is False
    assert len(world.internal_pulls()) == 1
    staged = world.branch(world.remote, "pubgate/stage")
    assert staged != stage and git("ls-remote", str(world.public)) == public_before

    # Approved with a merge commit: the next sync pushes the staged tip itself and opens the
    # public pull request; no second internal one.
    merge = world.merge_stage()
    code, report, err = world.run("sync")
    assert code == 0, err
    assert world.branch(world.public, "pubgate/sync") == staged
    assert git("cat-file", "-e", merge, cwd=world.public, check=False) == ""
    (public_pull,) = world.public_api.pulls["org/public"]
    assert (public_pull["head"], public_pull["base"]) == ("pubgate/sync", "main")
    assert report["pull_request"]["created"] is True and report["head"] == staged
    assert len(world.internal_pulls()) == 1
    assert report["leak_review"]["staged"] is None


def test_plain_git_target_still_gets_the_internal_pull_request(
    world: World, tmp_path: Path
) -> None:
    target = tmp_path / "plain-public.git"
    git("init", "-q", "--bare", "-b", "main", str(target))
    git("fetch", "-q", str(world.public), "main:main", cwd=target)  # where approved starts
    before = git("for-each-ref", cwd=target)
    settings = json.loads(world.config.read_text())
    settings.update(target_repo=str(target), forge="none")
    world.config.write_text(json.dumps(settings))
    code, report, err = world.run("sync")
    assert code == 0, err
    assert report["leak_review"]["pull_request"]["created"] is True
    assert report["leak_review"]["approve_command"] is None
    assert len(world.internal_pulls()) == 1
    assert git("for-each-ref", cwd=target) == before
    # --no-pr: the stage is pushed and the approving command printed instead.
    world.commit(C("c", ["b"], {"src/c.py": "c\n"}))
    code, report, err = world.run("sync", "--no-pr")
    assert code == 0, err
    assert report["leak_review"]["stage_pushed"] and report["leak_review"]["pull_request"] is None
    command = report["leak_review"]["approve_command"]
    assert command.startswith("git push http") and command.endswith(":refs/heads/pubgate/approved")
    assert INTERNAL_TOKEN not in command


def test_first_publication_with_init_is_reviewed_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with github_site(tmp_path, monkeypatch) as site:
        site.configure(leak_review=True)
        site.commit(C("a", (), {"src/a.py": "a\n", "internal/x": "s\n"}))
        code, _, err = site.sync()
        assert code == 1 and "main does not exist on the target" in err and "--init" in err
        # --init goes through the leak review too: the hint must not promise a direct push.
        assert "stages the public tip for the leak review" in err, err
        assert git("for-each-ref", cwd=site.bare) == ""
        code, _, err = site.sync("--init")
        assert code == 1 and "pubgate/approved does not exist" in err
        stage = git("rev-parse", "pubgate/stage", cwd=site.src).strip()
        assert git("for-each-ref", cwd=site.bare) == ""  # staged inside only

        git("branch", "pubgate/approved", stage, cwd=site.src)
        code, report, err = site.sync("--init")
        assert code == 0, err
        assert report["pushed_to_review_branch"] and report["head"] == stage
        assert git("for-each-ref", "--format=%(refname) %(objectname)", cwd=site.bare).split() == [
            "refs/heads/main",
            stage,
        ]
        assert "org/public" not in site.api.pulls
