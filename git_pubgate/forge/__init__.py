"""Forges: where pull requests are opened. Each gets an ``httpx.Client`` passed in."""

from __future__ import annotations

import os

import httpx

from ..config import Config
from ..errors import ConfigError, PubgateError
from .base import Forge, default_api_url, detect, locate_repository
from .github import GitHub

__all__ = ["Forge", "make_forge"]


def make_forge(config: Config, client: httpx.Client) -> Forge | None:
    """The forge that pull requests for ``config.target_repo`` go to; None for plain git."""
    location = locate_repository(config.target_repo or "")
    kind = config.forge or (detect(location.host) if location else "none")
    if kind == "none":
        return None
    if location is None:
        raise ConfigError(
            f"forge {kind} needs target_repo to be a URL naming the repository "
            f"(got {config.target_repo})",
            "use https://HOST/OWNER/REPO.git or git@HOST:OWNER/REPO.git, or set forge: none",
        )
    variable = config.github_token_env
    token = os.environ.get(variable) if variable else None
    if not token:
        raise PubgateError(
            "refusing to push, since no pull request could be opened: "
            + (f"${variable} is not set" if variable else "github_token_env is not set"),
            f"export {variable or 'GH_TOKEN'}=<token with pull_requests: write>, or pass --no-pr",
        )
    return GitHub(client, config.api_url or default_api_url(kind, location.host), location, token)
