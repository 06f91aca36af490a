"""A public repository on a local GitHub: git over smart HTTP plus the contract-checked REST
API, behind one token. Shared by the pull-request and network-fault tests."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from .conftest import SECRETS, pubgate
from .factory import C, build, git
from .githubserver import GitHubApiServer
from .gitserver import GitHttpServer

TOKEN = "ghp_pr_test_token_never_printed_7c1"
SECRETS.add(TOKEN)


class Site:
    """The public repository ``org/public``, a source repository and a config that joins them."""

    def __init__(self, tmp: Path, git_server: GitHttpServer, api: GitHubApiServer):
        self.tmp, self.git, self.api = tmp, git_server, api
        self.bare = tmp / "forge" / "org" / "public.git"
        git("init", "-q", "--bare", "-b", "main", str(self.bare))
        self.src = tmp / "src"
        self.ids: dict[str, str] = {}
        self.config = tmp / "pubgate.yaml"
        self.configure()

    def configure(self, **extra: object) -> None:
        settings = {
            "target_repo": self.git.url("org/public.git"),
            "forge": "github",
            "api_url": self.api.api_url,
            "github_token_env": "GH_TOKEN",
            "exclude": ["internal/"],
            **extra,
        }
        self.config.write_text(json.dumps(settings))

    def commit(self, *commits: C) -> None:
        self.ids = build(self.src, commits, known=self.ids)

    def initial_readme(self) -> None:
        """What a forge's "initialize with a README" leaves: one commit on main."""
        build(self.bare, [C("init", (), {"README.md": "Public\n"})], bare=True)

    def sync(self, *args: str) -> tuple[int, dict[str, object], str]:
        result = pubgate("--config", str(self.config), "--json", "sync", *args, cwd=self.src)
        assert TOKEN not in result.out + result.err
        return result.code, json.loads(result.out) if result.out else {}, result.err

    def head(self, branch: str = "pubgate/sync") -> str | None:
        out = git("ls-remote", "--heads", str(self.bare), branch)
        return out.split()[0] if out else None


@contextmanager
def github_site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    """Start both servers; at the end, every request must have kept GitHub's contract and the
    public repository must pass ``git fsck --strict``."""
    monkeypatch.setenv("GH_TOKEN", TOKEN)
    (tmp_path / "forge").mkdir()
    with (
        GitHttpServer(tmp_path / "forge", TOKEN) as git_server,
        GitHubApiServer(tmp_path / "forge", TOKEN) as api,
    ):
        world = Site(tmp_path, git_server, api)
        yield world
        assert api.errors == [], "requests or responses broke GitHub's contract"
    git("fsck", "--strict", "--no-progress", cwd=world.bare)
