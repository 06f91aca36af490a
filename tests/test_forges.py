"""GitLab merge requests and Gitea pull requests: the GitHub scenarios, against small local
servers built from each forge's documented request and response shapes."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import SECRETS, pubgate
from .factory import C, build, git
from .forgeservers import SERVERS
from .githubserver import Fault
from .gitserver import GitHttpServer

TOKEN = "glpat-forge-test-token-never-printed"
SECRETS.add(TOKEN)


class Site:
    def __init__(self, tmp: Path, kind: str, git_server: GitHttpServer, api: object):
        self.tmp, self.kind, self.git, self.api = tmp, kind, git_server, api
        self.bare = tmp / "forge" / "org" / "public.git"
        git("init", "-q", "--bare", "-b", "main", str(self.bare))
        build(self.bare, [C("init", (), {"README.md": "Public\n"})], bare=True)
        self.src = tmp / "src"
        self.ids: dict[str, str] = {}
        self.config = tmp / "pubgate.yaml"

    def configure(self, **extra: object) -> None:
        settings = {
            "target_repo": self.git.url("org/public.git"),
            "forge": self.kind,
            "api_url": self.api.api_url,  # type: ignore[attr-defined]
            f"{self.kind}_token_env": "FORGE_TOKEN",
            "exclude": ["internal/"],
            **extra,
        }
        self.config.write_text(json.dumps(settings))

    def commit(self, *commits: C) -> None:
        self.ids = build(self.src, commits, known=self.ids)

    def sync(self, *args: str) -> tuple[int, dict[str, object], str]:
        result = pubgate("--config", str(self.config), "--json", "sync", *args, cwd=self.src)
        assert TOKEN not in result.out + result.err
        return result.code, json.loads(result.out) if result.out else {}, result.err


@pytest.fixture(params=["gitlab", "gitea"])
def site(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Site]:
    monkeypatch.setenv("FORGE_TOKEN", TOKEN)
    (tmp_path / "forge").mkdir()
    with (
        GitHttpServer(tmp_path / "forge", TOKEN) as git_server,
        SERVERS[request.param](tmp_path / "forge", TOKEN) as api,
    ):
        world = Site(tmp_path, request.param, git_server, api)
        world.configure()
        yield world
        assert api.errors == []
    git("fsck", "--strict", "--no-progress", cwd=world.bare)


def test_open_then_update_never_a_second(site: Site) -> None:
    site.commit(C("a", (), {"src/a.py": "a\n", "internal/x": "s\n"}))
    code, report, err = site.sync()
    assert code == 0, err
    pull = report["pull_request"]
    assert isinstance(pull, dict) and pull["created"] is True
    site.commit(C("b", ["a"], {"b": "b\n"}))
    code, report, err = site.sync()
    assert code == 0, err
    assert report["pull_request"] == {**pull, "created": False}
    (opened,) = site.api.pulls["org/public"]  # type: ignore[attr-defined]
    assert opened["title"] == "Sync 2 commits from main"


def test_duplicate_409_falls_back_to_update(site: Site) -> None:
    site.commit(C("a", (), {"src/a.py": "a\n"}))
    assert site.sync()[0] == 0
    lagging = (
        Fault("GET", "/merge_requests", 200, body=[])
        if site.kind == "gitlab"
        else Fault("GET", "/pulls/main/pubgate%2Fsync", 404, body={"message": "not found"})
    )
    site.api.faults.append(lagging)  # type: ignore[attr-defined]
    site.commit(C("b", ["a"], {"b": "b\n"}))
    code, report, err = site.sync()
    assert code == 0, err
    assert report["pull_request"]["created"] is False  # type: ignore[index]
    assert [s for m, _, s in site.api.log if m == "POST"] == [201, 409]  # type: ignore[attr-defined]


def test_rate_limit_and_server_error_then_success(site: Site) -> None:
    site.commit(C("a", (), {"src/a.py": "a\n"}))
    headers = (
        {"ratelimit-remaining": "0", "ratelimit-reset": str(int(time.time()) + 1)}
        if site.kind == "gitlab"
        else {"retry-after": "1"}
    )
    site.api.faults += [
        Fault(
            "POST",
            "/merge_requests" if site.kind == "gitlab" else "/pulls",  # type: ignore[attr-defined]
            429,
            headers,
            {"message": "429 Too Many Requests"},
        ),
        Fault(
            "POST",
            "/merge_requests" if site.kind == "gitlab" else "/pulls",
            503,
            body={"message": "unavailable"},
        ),
    ]
    code, _, err = site.sync()
    assert code == 0, err
    assert [s for m, _, s in site.api.log if m == "POST"] == [429, 503, 201]  # type: ignore[attr-defined]


def test_bad_token_and_missing_project(site: Site, tmp_path: Path) -> None:
    site.commit(C("a", (), {"src/a.py": "a\n"}))
    site.api.token = "another"  # type: ignore[attr-defined]
    code, _, err = site.sync()
    name = {"gitlab": "GitLab", "gitea": "Gitea"}[site.kind]
    assert code == 1 and err.startswith(f"error: {name} rejected the token")
    site.api.token = TOKEN  # type: ignore[attr-defined]
    site.api.root = tmp_path / "nowhere"  # type: ignore[attr-defined]
    code, _, err = site.sync()
    assert code == 1 and f"{name} has no repository org/public" in err


def test_options_a_forge_cannot_honour_are_refused(site: Site) -> None:
    site.commit(C("a", (), {"src/a.py": "a\n"}))
    site.configure(pr={"reviewers": ["ada"]} if site.kind == "gitlab" else {"labels": ["x"]})
    code, _, err = site.sync()
    assert code == 2 and "not supported on" in err  # a config error: nothing was pushed
    assert git("ls-remote", str(site.bare), "refs/heads/pubgate/*", cwd=site.tmp) == ""


def test_superseded_release_is_closed_with_a_pointer(site: Site) -> None:
    site.configure(version={"bump": "patch"})
    site.commit(C("a", (), {"pyproject.toml": '[project]\nname="p"\nversion="1.0.0"\n'}))
    code, _, err = site.sync()
    assert code == 0, err
    code, second, err = site.sync("--bump", "minor")
    assert code == 0, err
    assert second["target"]["head_branch"] == "pubgate/release-v1.1.0"  # type: ignore[index]
    old, new = site.api.pulls["org/public"]  # type: ignore[attr-defined]
    assert old["state"] == "closed" and new["state"] in ("open", "opened")
    text = old["description" if site.kind == "gitlab" else "body"]
    assert text.startswith(f"Superseded by {second['pull_request']['url']}")  # type: ignore[index]
    assert second["superseded_branches"] == ["pubgate/release-v1.0.1"]
