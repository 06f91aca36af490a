"""Forges: where pull requests are opened. Each gets an ``httpx.Client`` passed in."""

from __future__ import annotations

import os
from collections.abc import Callable

import httpx

from ..config import Config
from ..errors import ConfigError, PubgateError
from .base import (
    Forge,
    Location,
    PullRequestOptions,
    default_api_url,
    detect,
    locate_repository,
)
from .gitea import Gitea
from .github import GitHub
from .gitlab import GitLab

__all__ = ["Forge", "PullRequestOptions", "forge_kind", "make_forge", "token_variable"]

_Connect = Callable[[httpx.Client, str, Location, str], Forge]
_CLIENTS: dict[str, _Connect] = {
    "github": GitHub.connect,
    "gitlab": GitLab.connect,
    "gitea": Gitea.connect,
}


def forge_kind(config: Config) -> str:
    """github, gitlab, gitea or none: from the config, else from target_repo's host."""
    if config.forge:
        return config.forge
    location = locate_repository(config.target_repo or "")
    return detect(location.host) if location else "none"


def token_variable(config: Config) -> str | None:
    """The variable holding the token for this target (github_token_env works for all)."""
    kind = forge_kind(config)
    specific = {"gitlab": config.gitlab_token_env, "gitea": config.gitea_token_env}.get(kind)
    return specific or config.github_token_env


def make_forge(config: Config, client: httpx.Client) -> Forge | None:
    """The forge that pull requests for ``config.target_repo`` go to; None for plain git."""
    kind = forge_kind(config)
    if kind == "none":
        return None
    location = locate_repository(config.target_repo or "")
    if location is None:
        raise ConfigError(
            f"forge {kind} needs target_repo to be a URL naming the repository "
            f"(got {config.target_repo})",
            "use https://HOST/OWNER/REPO.git or git@HOST:OWNER/REPO.git, or set forge: none",
        )
    variable = token_variable(config)
    token = os.environ.get(variable) if variable else None
    if not token:
        raise PubgateError(
            "refusing to push, since no pull request could be opened: "
            + (f"${variable} is not set" if variable else "github_token_env is not set"),
            f"export {variable or 'GH_TOKEN'}=<token allowed to open pull requests>, "
            "or pass --no-pr",
        )
    api_url = config.api_url or default_api_url(kind, location.host)
    return _CLIENTS[kind](client, api_url, location, token)
