"""Absorb pushes its branch to an internal repository on a forge and opens the pull request
there: on the GitHub stand-in (every request checked against GitHub's contract) and GitLab's."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from .conftest import SECRETS, PublicRepos, pubgate
from .factory import C, build, git
from .forgeservers import GitLabServer
from .githubserver import GitHubApiServer
from .gitserver import GitHttpServer

TOKEN = "glpat_internal_absorb_token_never_shown_91"
SECRETS.add(TOKEN)


class Internal:
    """An internal repository on a forge, a clone of it to run in, and a local public one."""

    def __init__(self, tmp: Path, kind: str, git_server: GitHttpServer, api: Any, bare: Path):
        self.api = api
        self.kind = kind
        self.remote = tmp / "forge" / "org" / "internal.git"
        git("init", "-q", "--bare", "-b", "main", str(self.remote))
        self.clone = tmp / "clone"
        self.ids = build(
            self.clone,
            [
                C("a", (), {"src/app.py": "v1\n", "internal/plan.txt": "secret\n"}),
                C("b", ["a"], {"src/util.py": "u\n"}),
            ],
        )
        url = git_server.url("org/internal.git")
        git("remote", "add", "origin", url, cwd=self.clone)
        self.public = bare
        self.config = tmp / "pubgate.yaml"
        self.config.write_text(
            json.dumps(
                {
                    "source_repo": url,
                    "target_repo": str(bare),
                    "exclude": ["internal/"],
                    "source_forge": kind,
                    "source_api_url": api.api_url,
                    "source_token_env": "INTERNAL_TOKEN",
                }
            )
        )
        # The clone pushes with the token the way CI would have set it up.
        git(
            "-c",
            f"http.extraHeader=Authorization: Basic {_basic()}",
            "push",
            "-q",
            "origin",
            "main",
            cwd=self.clone,
        )

    def run(self, *args: str) -> tuple[int, dict[str, Any], str]:
        done = pubgate("--config", str(self.config), "--json", *args, cwd=self.clone)
        assert TOKEN not in done.out + done.err
        return done.code, json.loads(done.out) if done.out else {}, done.err


def _basic() -> str:
    return base64.b64encode(f"x-access-token:{TOKEN}".encode()).decode()


@pytest.fixture(params=["github", "gitlab"])
def internal(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    public: PublicRepos,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Internal]:
    monkeypatch.setenv("INTERNAL_TOKEN", TOKEN)
    (tmp_path / "forge").mkdir()
    with ExitStack() as stack:
        git_server = stack.enter_context(GitHttpServer(tmp_path / "forge", TOKEN))
        server = GitHubApiServer if request.param == "github" else GitLabServer
        api = stack.enter_context(server(tmp_path / "forge", TOKEN))
        world = Internal(tmp_path, request.param, git_server, api, public.bare())
        yield world
        assert api.errors == [], "requests or responses broke the forge's contract"
    git("fsck", "--strict", "--no-progress", cwd=world.remote)


def test_absorb_pushes_its_branch_and_opens_one_pull_request(internal: Internal) -> None:
    code, report, err = internal.run("sync", "--no-pr")
    assert code == 0, err
    git("update-ref", "refs/heads/main", report["head"], cwd=internal.public)
    build(
        internal.public,
        [C("p1", ["main"], {"src/app.py": "v2\n"}, author="Zoe Contributor")],
        bare=True,
        known={"main": report["head"]},
    )
    code, report, err = internal.run("absorb")
    assert code == 0, err
    assert report["pushed"] and report["pull_request"]["created"] is True
    head = report["head"]
    assert git("rev-parse", "pubgate/absorb", cwd=internal.remote).strip() == head
    (opened,) = internal.api.pulls["org/internal"]
    head_key, base_key = (
        ("head", "base")
        if internal.kind == "github"
        else (
            "source_branch",
            "target_branch",
        )
    )
    assert (opened[head_key], opened[base_key]) == ("pubgate/absorb", "main")
    assert "Zoe Contributor" in json.dumps(opened)
    # A second contribution: the same pull request is updated, never a second one.
    tip = git("rev-parse", "main", cwd=internal.public).strip()
    build(
        internal.public,
        [C("p2", ["main"], {"src/util.py": "u2\n"}, author="Yan Helper")],
        bare=True,
        known={"main": tip},
    )
    code, again, err = internal.run("absorb")
    assert code == 0, err
    assert again["pull_request"]["created"] is False
    assert again["pull_request"]["number"] == report["pull_request"]["number"]
    assert len(internal.api.pulls["org/internal"]) == 1
    assert git("rev-parse", f"{again['head']}^", cwd=internal.remote).strip() == head
    # Rerun with nothing new: nothing pushed, nothing opened.
    code, third, err = internal.run("absorb")
    assert code == 0 and third["up_to_date"] and not third["pushed"], err


def test_no_pr_only_pushes(internal: Internal) -> None:
    code, report, err = internal.run("sync", "--no-pr")
    assert code == 0, err
    git("update-ref", "refs/heads/main", report["head"], cwd=internal.public)
    build(
        internal.public,
        [C("p1", ["main"], {"src/app.py": "v2\n"})],
        bare=True,
        known={"main": report["head"]},
    )
    code, report, err = internal.run("absorb", "--no-pr")
    assert code == 0, err
    assert report["pushed"] and report["pull_request"] is None
    assert internal.api.pulls.get("org/internal", []) == []
