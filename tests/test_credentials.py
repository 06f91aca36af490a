"""A password or token written into target_repo or source_repo is refused, and never repeated."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from git_pubgate.credentials import has_credentials, redacted

from .conftest import SECRETS, pubgate
from .factory import C, build, git
from .gitserver import GitHttpServer

PASSWORD = "S3cret-never-shown-0451"
TOKEN = "ghp_" + "Z" * 36
SECRETS.update({PASSWORD, TOKEN})


@pytest.mark.parametrize(
    ("location", "secret"),
    [
        ("https://github.com/o/r.git", False),
        ("git@github.com:o/r.git", False),
        ("ssh://git@ssh.github.com:443/o/r.git", False),
        ("https://alice@git.example/r.git", False),  # a user name alone: credential helpers
        ("/srv/git/r.git", False),
        ("file:///srv/a:b@c/r.git", False),
        (f"https://deployer:{PASSWORD}@git.example/r.git", True),
        (f"http://deployer:{PASSWORD}@127.0.0.1:8080/r.git", True),
        (f"https://{TOKEN}@github.com/o/r.git", True),  # a token as the user name
        (f"https://x-access-token:{TOKEN}@github.com/o/r.git", True),
        (f"ssh://git:{PASSWORD}@host/r.git", True),
        (f"deployer:{PASSWORD}@host:r.git", True),  # scp syntax
    ],
)
def test_credentials_are_found_and_redacted(location: str, secret: bool) -> None:
    assert has_credentials(location) is secret
    shown = redacted(location)
    assert PASSWORD not in shown and TOKEN not in shown
    if secret:
        assert "***@" in shown


def _repo(tmp_path: Path) -> Path:
    src = tmp_path / "internal"
    build(src, [C("a", (), {"README.md": "hello\n"})])
    return src


@pytest.mark.parametrize("key", ["target_repo", "source_repo"])
@pytest.mark.parametrize(
    "url",
    [f"https://deployer:{PASSWORD}@git.example/x.git", f"https://{TOKEN}@github.com/o/x.git"],
)
def test_a_password_in_a_repository_url_is_a_config_error(
    tmp_path: Path, key: str, url: str
) -> None:
    src = _repo(tmp_path)
    settings = {"target_repo": str(tmp_path / "public.git"), key: url}
    (src / "pubgate.yaml").write_text(json.dumps(settings) + "\n")
    for command in ("plan", "sync", "audit", "publish"):
        result = pubgate(command, cwd=src)
        assert result.code == 2, (command, result.err)
        assert PASSWORD not in result.err + result.out and TOKEN not in result.err + result.out
        lines = result.err.splitlines()
        assert len(lines) == 2 and "Traceback" not in result.err
        assert lines[0].startswith(f"error: {src / 'pubgate.yaml'}:1: {key}: https://***@")
        variable = "source_token_env" if key == "source_repo" else "github_token_env"
        assert variable in lines[1] and lines[1].startswith("hint: ")
    assert not (src / ".git" / "pubgate").exists()  # refused before any work
    # The user's own file holds the secret; the suite's final check finds it nowhere else.
    (src / "pubgate.yaml").unlink()


def test_the_same_refusal_through_git_config_and_pyproject(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`git -c pubgate.config=FILE pubgate ...` and [tool.pubgate] are read by the same
    validator."""
    src = _repo(tmp_path)
    elsewhere = tmp_path / "settings.yaml"
    elsewhere.write_text(f'target_repo: "https://ci:{PASSWORD}@git.example/x.git"\n')
    monkeypatch.setenv("GIT_CONFIG_PARAMETERS", f"'pubgate.config'='{elsewhere}'")
    result = pubgate("plan", cwd=src)
    assert result.code == 2 and PASSWORD not in result.err
    assert result.err.startswith(f"error: {elsewhere}:1: target_repo: https://***@git.example")
    monkeypatch.delenv("GIT_CONFIG_PARAMETERS")

    (src / "pyproject.toml").write_text(
        f'[tool.pubgate]\ntarget_repo = "https://ci:{PASSWORD}@git.example/x.git"\n'
    )
    result = pubgate("plan", cwd=src)
    assert result.code == 2 and PASSWORD not in result.err
    assert "target_repo: https://***@git.example/x.git holds a password" in result.err
    assert not (src / ".git" / "pubgate").exists()  # refused before any work
    # The user's own files hold the secret; the suite's final check finds it nowhere else.
    elsewhere.unlink()
    (src / "pyproject.toml").unlink()


def test_the_hook_never_repeats_a_password_from_the_remote_url(tmp_path: Path) -> None:
    """git hands the pre-push hook the remote's URL as configured, credentials included; the
    refusal names the public repository without them."""
    # Not in SECRETS: the user's own .git/config holds it, which is the point of the test.
    remote_token = "remote-url-token-0934"
    (tmp_path / "served").mkdir()
    git("init", "-q", "--bare", "-b", "main", str(tmp_path / "served" / "public.git"))
    with GitHttpServer(tmp_path / "served", remote_token) as server:
        src = tmp_path / "internal"
        build(src, [C("a", (), {"README.md": "r\n", "internal/x.md": "secret\n"})])
        url = server.url("public.git")
        with_token = url.replace("http://", f"http://x-access-token:{remote_token}@")
        git("remote", "add", "public", with_token, cwd=src)
        settings = {"target_repo": url, "exclude": ["internal/"]}
        (src / "pubgate.yaml").write_text(json.dumps(settings))
        (src / ".git" / "info" / "exclude").write_text("pubgate.yaml\n")
        assert pubgate("hook", "install", cwd=src).code == 0
        pushed = subprocess.run(
            ["git", "push", "public", "main"], cwd=src, capture_output=True, text=True, check=False
        )
    assert pushed.returncode == 1 and "excluded path internal/x.md" in pushed.stderr
    assert "http://***@127.0.0.1" in pushed.stderr
    assert remote_token not in pushed.stderr
