"""Sync opens or updates the review pull request on a local GitHub API that checks every
request and response against GitHub's own OpenAPI description."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from .conftest import pubgate
from .factory import C, git
from .githubserver import Fault, GitHubApiServer
from .githubsite import TOKEN, Site, github_site


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    with github_site(tmp_path, monkeypatch) as world:
        yield world


def initial_readme(site: Site) -> None:
    site.initial_readme()


def test_first_pull_request_then_update_not_duplicate(site: Site) -> None:
    initial_readme(site)
    site.commit(C("a", (), {"src/a.py": "a\n", "internal/x": "s\n"}), C("b", ["a"], {"b": "b\n"}))
    code, report, err = site.sync()
    assert code == 0, err
    pull = report["pull_request"]
    assert isinstance(pull, dict) and pull["created"] is True and pull["number"] == 1
    opened = site.api.pulls["org/public"][0]
    assert opened["head"] == "pubgate/sync" and opened["base"] == "main"
    assert opened["title"] == "Sync 2 commits from main"
    assert "`internal/`" in opened["body"] and report["head"] in opened["body"]
    # The first publication is rooted on the forge's initial commit, so it can merge.
    main = git("rev-parse", "main", cwd=site.bare).strip()
    assert git("merge-base", "main", "pubgate/sync", cwd=site.bare).strip() == main

    site.commit(C("c", ["b"], {"c": "c\n"}))
    code, report, err = site.sync()
    assert code == 0, err
    assert report["pull_request"] == {"number": 1, "url": pull["url"], "created": False}
    assert len(site.api.pulls["org/public"]) == 1
    assert site.api.pulls["org/public"][0]["title"] == "Sync 3 commits from main"


def test_missing_review_branch_is_refused_then_init(site: Site) -> None:
    site.commit(C("a", (), {"src/a.py": "a\n"}))
    code, _, err = site.sync()
    assert code == 1
    assert "main does not exist on the target" in err and "--init" in err
    assert git("for-each-ref", cwd=site.bare) == ""  # nothing pushed

    result = pubgate("--config", str(site.config), "sync", "--init", cwd=site.src)
    assert result.code == 0, result.err
    assert "sync would push" in result.err  # the plan is shown before the push
    assert git("for-each-ref", "--format=%(refname)", cwd=site.bare).split() == ["refs/heads/main"]
    assert "org/public" not in site.api.pulls  # no pull request for the deliberate exception
    again = pubgate("--config", str(site.config), "sync", "--init", cwd=site.src)
    assert again.code == 1 and "refusing --init" in again.err


def test_already_exists_falls_back_to_update(site: Site) -> None:
    initial_readme(site)
    site.commit(C("a", (), {"src/a.py": "a\n"}))
    assert site.sync("--no-pr")[0] == 0
    site.api.pulls["org/public"] = [
        {
            "number": 7,
            "state": "open",
            "head": "pubgate/sync",
            "base": "main",
            "title": "old",
            "body": "old",
        }
    ]
    # The listing lags behind (a pull request opened a moment ago): the create gets a 422.
    site.api.faults.append(Fault("GET", "/pulls", 200, body=[]))
    code, report, err = site.sync()
    assert code == 0, err
    assert report["pull_request"]["number"] == 7 and report["pull_request"]["created"] is False
    assert [m for m, _, s in site.api.log if m == "POST" and s == 422]
    assert site.api.pulls["org/public"][0]["title"] == "Sync 1 commit from main"


def test_rate_limits_and_server_errors_are_waited_out(site: Site) -> None:
    initial_readme(site)
    site.commit(C("a", (), {"src/a.py": "a\n"}))
    site.api.faults += [
        Fault(
            "GET",
            "/pulls",
            403,
            {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(time.time()) + 1)},
            {"message": "API rate limit exceeded"},
        ),
        Fault(
            "POST",
            "/pulls",
            403,
            {"retry-after": "1"},
            {"message": "You have exceeded a secondary rate limit."},
        ),
        Fault("POST", "/pulls", 502, body={"message": "Server Error"}),
    ]
    started = time.monotonic()
    code, report, err = site.sync()
    assert code == 0, err
    assert time.monotonic() - started >= 2  # it did wait: reset, retry-after, backoff
    assert report["pull_request"]["created"] is True
    assert [s for m, _, s in site.api.log if m == "POST"] == [403, 502, 201]


def test_bad_token_is_a_clean_error_and_a_rerun_completes(site: Site) -> None:
    initial_readme(site)
    site.commit(C("a", (), {"src/a.py": "a\n"}))
    site.api.token = "a-different-token"
    code, _, err = site.sync()
    assert code == 1
    assert err.startswith("error: GitHub rejected the token") and "\nhint: " in err
    assert git("rev-parse", "--verify", "pubgate/sync", cwd=site.bare)  # the push happened
    site.api.token = TOKEN
    code, report, err = site.sync()  # the rerun opens the pull request it missed
    assert code == 0, err
    assert report["already_pushed"] is True and report["pull_request"]["created"] is True


def test_missing_repository_and_missing_token(
    site: Site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    initial_readme(site)
    site.commit(C("a", (), {"src/a.py": "a\n"}))
    site.api.root = tmp_path / "elsewhere"  # the API knows no such repository
    code, _, err = site.sync()
    assert code == 1 and "GitHub has no repository org/public" in err
    site.api.root = tmp_path / "forge"
    monkeypatch.delenv("GH_TOKEN")
    code, _, err = site.sync()
    assert code == 1 and "$GH_TOKEN is not set" in err and "--no-pr" in err


def test_the_contract_check_catches_what_github_would_not_accept(tmp_path: Path) -> None:
    git("init", "-q", "--bare", "-b", "main", str(tmp_path / "org" / "public.git"))
    headers = {
        "Authorization": "Bearer t",
        "Accept": "application/vnd.github+json",
        "X-GitHub-Api-Version": "2022-11-28",
    }
    with GitHubApiServer(tmp_path, "t") as api:
        pulls = f"{api.api_url}/repos/org/public/pulls"
        httpx.post(
            pulls,
            headers=headers,
            json={"head": "x", "base": "main", "title": "t", "mantainer_can_modify": False},
        )
        httpx.get(pulls, headers=headers, params={"head": "pubgate/sync"})
        httpx.get(
            pulls, headers={**headers, "Accept": "application/json"}, params={"head": "org:x"}
        )
    assert len(api.errors) == 3
    assert "strict contract" in api.errors[0] and "mantainer_can_modify" in api.errors[0]
    assert "GitHub would ignore it" in api.errors[1]
    assert "Accept header" in api.errors[2]


def test_pr_options_templates_labels_reviewers_draft(site: Site) -> None:
    initial_readme(site)
    site.commit(C("a", (), {"src/a.py": "a\n", "internal/x": "s\n"}))
    settings = json.loads(site.config.read_text())
    settings["pr"] = {
        "title": "Release candidate: {count} change{plural}",
        "body": "From {source_branch}.\n\n{held_back}",
        "labels": ["sync", "internal"],
        "reviewers": ["octocat"],
        "draft": True,
    }
    site.config.write_text(json.dumps(settings))
    code, _, err = site.sync()
    assert code == 0, err
    (opened,) = site.api.pulls["org/public"]
    assert opened["title"] == "Release candidate: 1 change"
    assert opened["body"] == "From main.\n\nHeld back by the exclude rules (1):\n\n- `internal/`\n"
    assert opened["draft"] is True and opened["labels"] == ["sync", "internal"]
    assert opened["reviewers"] == ["octocat"]
    calls = [p.rsplit("/", 1)[-1] for m, p, s in site.api.log if m == "POST"]
    assert calls == ["pulls", "labels", "requested_reviewers"]


def test_github_app_installation_token(
    site: Site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    site.api.app_id = "4242"
    site.api.app_public_key = key.public_key()
    site.api.installation_token = TOKEN  # what the git server accepts for the push, too
    site.api.token = "no personal token here"
    monkeypatch.delenv("GH_TOKEN")
    monkeypatch.setenv("APP_KEY", pem)
    initial_readme(site)
    site.commit(C("a", (), {"src/a.py": "a\n"}))
    settings = json.loads(site.config.read_text())
    del settings["github_token_env"]
    settings["github_app"] = {"app_id": 4242, "private_key_env": "APP_KEY"}
    site.config.write_text(json.dumps(settings))
    code, report, err = site.sync()
    assert code == 0, err
    assert report["pull_request"]["created"] is True  # type: ignore[index]
    calls = [(m, p.removeprefix("/api/v3")) for m, p, _ in site.api.log][:2]
    assert calls == [
        ("GET", "/repos/org/public/installation"),
        ("POST", "/app/installations/77/access_tokens"),
    ]
    secret_line = pem.splitlines()[1].encode()
    for path in tmp_path.rglob("*"):
        if path.is_file() and not path.is_symlink():
            assert secret_line not in path.read_bytes()

    monkeypatch.setenv("APP_KEY", "not a key")
    result = pubgate("--config", str(site.config), "sync", cwd=site.src)
    assert result.code == 2 and "not a PEM private key" in result.err


def test_release_pull_request_is_superseded_by_a_bigger_release(site: Site) -> None:
    initial_readme(site)
    site.config.write_text(
        json.dumps(
            {
                "target_repo": site.git.url("org/public.git"),
                "forge": "github",
                "api_url": site.api.api_url,
                "github_token_env": "GH_TOKEN",
                "version": {"major_on_zero": True},
            }
        )
    )
    pyproject = '[project]\nname = "p"\nversion = "0.0.0"\n'
    site.commit(C("a", (), {"pyproject.toml": pyproject}, message="feat: one\n"))
    code, report, err = site.sync()
    assert code == 0, err
    first = site.api.pulls["org/public"][0]
    assert (first["head"], first["title"]) == ("pubgate/release-v0.1.0", "Release 0.1.0")
    assert "Version **0.1.0**: minor: 1 feature" in first["body"]

    # More work of the same size updates the same pull request.
    site.commit(C("b", ["a"], {"b": "b\n"}, message="fix: two\n"))
    code, report, err = site.sync()
    assert code == 0, err
    assert report["pull_request"]["created"] is False  # type: ignore[index]
    assert len(site.api.pulls["org/public"]) == 1

    # A breaking change makes it 1.0.0: a new branch and pull request; the old one is closed
    # with a pointer to the new one, and its branch deleted.
    site.commit(C("c", ["b"], {"c": "c\n"}, message="feat!: three\n"))
    old_tip = git("rev-parse", "pubgate/release-v0.1.0", cwd=site.bare).strip()
    code, report, err = site.sync()
    assert code == 0, err
    pulls = site.api.pulls["org/public"]
    assert [(p["head"], p["state"]) for p in pulls] == [
        ("pubgate/release-v0.1.0", "closed"),
        ("pubgate/release-v1.0.0", "open"),
    ]
    url = report["pull_request"]["url"]  # type: ignore[index]
    assert pulls[0]["body"].startswith(f"Superseded by {url} (pubgate/release-v1.0.0)")
    assert report["superseded_branches"] == ["pubgate/release-v0.1.0"]
    branches = git("for-each-ref", "--format=%(refname:short)", "refs/heads", cwd=site.bare)
    assert branches.split() == ["main", "pubgate/release-v1.0.0"]
    # A rerun is a no-op on the pull requests: nothing more is closed or opened.
    code, report, err = site.sync()
    assert code == 0, err
    assert report["already_pushed"] is True and report["superseded_branches"] == []
    assert len(site.api.pulls["org/public"]) == 2

    # A run killed between closing the old pull request and deleting its branch, on a runner
    # without the staging repository: the rerun deletes the branch all the same.
    git("update-ref", "refs/heads/pubgate/release-v0.1.0", old_tip, cwd=site.bare)
    shutil.rmtree(site.src / ".git" / "pubgate")
    code, report, err = site.sync()
    assert code == 0, err
    assert report["superseded_branches"] == ["pubgate/release-v0.1.0"]
    branches = git("for-each-ref", "--format=%(refname:short)", "refs/heads", cwd=site.bare)
    assert branches.split() == ["main", "pubgate/release-v1.0.0"]
    assert [p["state"] for p in site.api.pulls["org/public"]] == ["closed", "open"]
