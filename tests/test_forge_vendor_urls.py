"""Which forge a repository URL names, where its API is, and what a wrong one is told."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pygit2
import pytest

from git_pubgate.config import load
from git_pubgate.errors import PubgateError
from git_pubgate.forge import _default_api_url, credential
from git_pubgate.forge.azure import _parts
from git_pubgate.forge.base import detect_location, locate_repository, shape_problem
from git_pubgate.forge.kinds import KINDS
from git_pubgate.forge.options import refusal, refuse_unsupported
from git_pubgate.gitio import split_credential
from git_pubgate.policy import build as build_policy

from .conftest import pubgate
from .factory import C, build

README = Path(__file__).resolve().parents[1] / "README.md"


@pytest.mark.parametrize(
    ("url", "kind", "api", "project"),
    [
        (
            "https://dev.azure.com/org/My%20Project/_git/app",
            "azure",
            "https://dev.azure.com/org",
            "My Project",
        ),
        (
            "https://org@dev.azure.com/org/proj/_git/app",
            "azure",
            "https://dev.azure.com/org",
            "proj",
        ),
        ("https://dev.azure.com/org/_git/app", "azure", "https://dev.azure.com/org", "app"),
        ("git@ssh.dev.azure.com:v3/org/proj/app", "azure", "https://dev.azure.com/org", "proj"),
        (
            "https://org.visualstudio.com/proj/_git/app",
            "azure",
            "https://dev.azure.com/org",
            "proj",
        ),
        (
            "https://org.visualstudio.com/DefaultCollection/proj/_git/app",
            "azure",
            "https://dev.azure.com/org",
            "proj",
        ),
        (
            "org@vs-ssh.visualstudio.com:v3/org/proj/app",
            "azure",
            "https://dev.azure.com/org",
            "proj",
        ),
        (
            "https://tfs.corp.example/tfs/DefaultCollection/proj/_git/app",
            "azure",
            "https://tfs.corp.example/tfs/DefaultCollection",
            "proj",
        ),
        ("https://bitbucket.org/team/app.git", "bitbucket", "https://api.bitbucket.org/2.0", ""),
        ("git@bitbucket.org:team/app.git", "bitbucket", "https://api.bitbucket.org/2.0", ""),
        (
            "https://bitbucket.corp.example/scm/PRJ/app.git",
            "bitbucket-server",
            "https://bitbucket.corp.example/rest/api/latest",
            "",
        ),
        (
            "ssh://git@bitbucket.corp.example:7999/prj/app.git",
            "bitbucket-server",
            "https://bitbucket.corp.example/rest/api/latest",
            "",
        ),
        ("https://git.corp.example/scm/PRJ/app.git", "none", "", ""),
    ],
)
def test_forge_and_api_from_the_url(url: str, kind: str, api: str, project: str) -> None:
    location = locate_repository(url)
    assert location is not None
    assert detect_location(location) == kind
    if kind != "none":
        assert shape_problem(kind, location) is None
        assert _default_api_url(kind, location) == api
    if kind == "azure":
        assert _parts(location.host, location.owner, location.name)[1] == project


def test_a_data_center_behind_a_context_path_takes_it_into_its_api() -> None:
    location = locate_repository("https://git.corp.example/bitbucket/scm/PRJ/app.git")
    assert location is not None
    assert _default_api_url("bitbucket-server", location) == (
        "https://git.corp.example/bitbucket/rest/api/latest"
    )


@pytest.mark.parametrize(
    ("kind", "url"),
    [
        ("azure", "https://dev.azure.com/org/proj/app.git"),  # no _git: not a repository URL
        ("bitbucket", "https://bitbucket.org/team/sub/app.git"),
        ("bitbucket-server", "https://bitbucket.corp.example/projects/PRJ/repos/app"),
    ],
)
def test_a_url_the_forge_cannot_hold_is_a_config_error(
    kind: str, url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FORGE_TOKEN", "t")
    build(tmp_path / "src", [C("a", (), {"a": "a\n"})])
    config = tmp_path / "pubgate.yaml"
    config.write_text(
        json.dumps({"target_repo": url, "forge": kind, "github_token_env": "FORGE_TOKEN"})
    )
    done = pubgate("--config", str(config), "sync", cwd=tmp_path / "src")
    assert done.code == 2, done.err
    assert done.err.startswith(f"error: forge {kind} cannot find a repository in target_repo")
    assert "\nhint: write target_repo as " in done.err


def test_an_unknown_forge_is_refused_with_the_six(tmp_path: Path) -> None:
    build(tmp_path / "src", [C("a", (), {"a": "a\n"})])
    config = tmp_path / "pubgate.yaml"
    config.write_text('target_repo: "https://bitbucket.org/t/a.git"\nforge: bitbucket-cloud\n')
    done = pubgate("--config", str(config), "plan", cwd=tmp_path / "src")
    assert done.code == 2
    assert "expected one of github, gitlab, gitea, azure, bitbucket, bitbucket-server" in done.err


def test_credentials_for_git_and_each_api() -> None:
    assert credential("bitbucket", "tok") == "x-token-auth:tok"
    assert credential("bitbucket", "ada:app-password") == "ada:app-password"
    assert credential("azure", "pat") == credential("bitbucket-server", "pat") == "pat"
    assert split_credential("x-token-auth:tok") == ("x-token-auth", "tok")
    assert split_credential("ghp_abc") == ("x-access-token", "ghp_abc")


def test_the_readme_forge_table_lists_every_forge() -> None:
    text = README.read_text()
    table = text[text.index("| `forge:` |") :].split("\n\n", 1)[0]
    rows = re.findall(r"^\| `([a-z-]+)` \|", table, re.MULTILINE)
    assert rows == [kind.name for kind in KINDS] and len(rows) == 6
    for section in ("## Azure DevOps", "## Bitbucket"):
        assert f"\n{section}" in text


def test_the_token_of_a_user_token_value_is_a_secret_alone(tmp_path: Path) -> None:
    """BITBUCKET_TOKEN=ada:SECRET: a file holding SECRET without the user is refused too."""
    repo = tmp_path / "src"
    build(repo, [C("a", (), {"a": "a\n"})])
    (tmp_path / "pubgate.yaml").write_text('target_repo: "/x.git"\nbitbucket_token_env: "BB"\n')
    config = load(tmp_path / "pubgate.yaml")
    secret = "q8Zr-bitbucket-secret-value-77"
    policy = build_policy(config, pygit2.Repository(str(repo)), environ={"BB": f"ada:{secret}"})
    assert policy.content is not None and policy.content.scanner is not None
    (finding,) = policy.content.scanner.scan(f"token = {secret}\n".encode())
    assert finding.kind == "the value of $BB" and finding.line == 1


@pytest.mark.parametrize(
    ("kind", "labels", "reviewers", "refused"),
    [
        ("github", ["x"], ["ada"], None),
        ("gitlab", ["x"], [], None),
        ("gitlab", [], ["ada"], "pr.reviewers"),
        ("gitea", [], ["ada"], None),
        ("gitea", ["x"], [], "pr.labels"),
        ("azure", ["x"], ["3411ebc1-d5aa-464f-9615-0b527bc66719"], None),
        ("azure", [], ["ada"], "pr.reviewers"),
        ("bitbucket", [], ["{504c3b62-8120-4f0c-a7bc-87800b9d6f70}"], None),
        ("bitbucket", [], ["ada"], "pr.reviewers"),
        ("bitbucket", ["x"], [], "pr.labels"),
        ("bitbucket-server", [], ["ada"], None),
        ("bitbucket-server", ["x"], [], "pr.labels"),
    ],
)
def test_what_each_forge_can_take(
    kind: str, labels: list[str], reviewers: list[str], refused: str | None
) -> None:
    found = refusal(kind, labels, reviewers)
    assert (found[0] if found else None) == refused
    if found is not None:
        with pytest.raises(PubgateError, match=f"^{refused}: "):
            refuse_unsupported(kind, labels, reviewers)
