"""Forges: where pull requests are opened. Each gets an ``httpx.Client`` passed in.

The clients (and httpx and cryptography with them) are imported only when one is made: a sync
into a plain git target never pays for them.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import httpx

from ..config import Config, is_local
from ..errors import ConfigError, PubgateError
from .base import (
    Forge,
    Location,
    PullRequestOptions,
    default_api_url,
    detect_location,
    locate_repository,
    shape_problem,
)

__all__ = [
    "Forge",
    "PullRequestOptions",
    "credential",
    "forge_kind",
    "make_forge",
    "make_forge_for",
    "resolve_token",
    "source_forge_kind",
    "token_variable",
]


class _Connect(Protocol):
    def __call__(
        self,
        client: httpx.Client,
        api_url: str,
        repo: Location,
        token: str,
        variable: str | None = None,
    ) -> Forge: ...


def _connector(kind: str) -> _Connect:
    if kind == "github":
        from .github import GitHub

        return GitHub.connect
    if kind == "gitlab":
        from .gitlab import GitLab

        return GitLab.connect
    if kind == "azure":
        from .azure import Azure

        return Azure.connect
    if kind == "bitbucket":
        from .bitbucket import Bitbucket

        return Bitbucket.connect
    if kind == "bitbucket-server":
        from .bitbucket_server import BitbucketServer

        return BitbucketServer.connect
    from .gitea import Gitea

    return Gitea.connect


def _default_api_url(kind: str, location: Location) -> str:
    if kind == "azure":
        from . import azure

        return azure.default_api_url(location.host, location.owner)
    if kind == "bitbucket-server":
        from . import bitbucket_server

        return bitbucket_server.default_api_url(location.host, location.owner)
    return default_api_url(kind, location.host)


def forge_kind(config: Config) -> str:
    """A forge of config.FORGES: from the config, else from target_repo."""
    if config.forge:
        return config.forge
    location = locate_repository(config.target_repo or "")
    return detect_location(location) if location else "none"


def token_variable(config: Config) -> str | None:
    """The variable holding the token for this target (github_token_env works for all)."""
    kind = forge_kind(config)
    specific = {
        "gitlab": config.gitlab_token_env,
        "gitea": config.gitea_token_env,
        "azure": config.azure_token_env,
        "bitbucket": config.bitbucket_token_env,
        "bitbucket-server": config.bitbucket_token_env,
    }.get(kind)
    return specific or config.github_token_env


def source_forge_kind(config: Config) -> str:
    """Where absorb and the leak review open their pull requests: source_forge, else from
    source_repo; a local source is on no forge."""
    if config.source_repo is None or is_local(config.source_repo):
        return "none"
    if config.source_forge:
        return config.source_forge
    location = locate_repository(config.source_repo or "")
    return detect_location(location) if location else "none"


def credential(kind: str, token: str | None) -> str | None:
    """The token as git and the forge's client take it: a bare Bitbucket Cloud access token
    pushes as ``x-token-auth`` (the user name Bitbucket requires), which also tells its client
    to send it as a Bearer token."""
    if token and kind == "bitbucket" and ":" not in token:
        from .bitbucket import ACCESS_TOKEN_USER

        return f"{ACCESS_TOKEN_USER}:{token}"
    return token


def resolve_token(config: Config, client: httpx.Client | None) -> str | None:
    """The token for this target: a GitHub App installation token when ``github_app`` is
    set (exchanged once per run), else the value of the configured variable, if set."""
    if config.github_app_id and config.github_app_key_env:
        location = locate_repository(config.target_repo or "")
        key = os.environ.get(config.github_app_key_env)
        if location is None or forge_kind(config) != "github":
            raise ConfigError(
                "github_app needs target_repo to be a GitHub repository URL",
                "remove github_app, or point target_repo at GitHub",
            )
        if not key:
            raise PubgateError(
                f"${config.github_app_key_env} is not set, so the GitHub App cannot sign in",
                f"export {config.github_app_key_env} with the app's private key (PEM)",
            )
        if client is None:
            return None
        from .github_app import installation_token

        api_url = config.api_url or default_api_url("github", location.host)
        return installation_token(client, api_url, location, config.github_app_id, key)
    variable = token_variable(config)
    token = (os.environ.get(variable) or None) if variable else None
    return credential(forge_kind(config), token)


def make_forge(config: Config, client: httpx.Client, token: str | None) -> Forge | None:
    """The forge that pull requests for ``config.target_repo`` go to; None for plain git."""
    return make_forge_for(
        client,
        url=config.target_repo or "",
        kind=forge_kind(config),
        api_url=config.api_url,
        token=token,
        variable=token_variable(config),
        key="target_repo",
        token_key="github_token_env",
    )


def make_forge_for(
    client: httpx.Client,
    *,
    url: str,
    kind: str | None,
    api_url: str | None,
    token: str | None,
    variable: str | None,
    key: str,
    token_key: str,
) -> Forge | None:
    """The forge hosting the repository at ``url``; None for plain git.

    Args:
        kind: a forge of config.FORGES; None detects it from the URL.
        variable: the name of the variable the token came from, for messages.
        key, token_key: the config keys naming the repository and the token variable.
    """
    location = locate_repository(url)
    if kind is None:
        kind = detect_location(location) if location else "none"
    if kind == "none":
        return None
    if location is None:
        raise ConfigError(
            f"forge {kind} needs {key} to be a URL naming the repository (got {url})",
            "use https://HOST/OWNER/REPO.git or git@HOST:OWNER/REPO.git, or set the forge to none",
        )
    if shape := shape_problem(kind, location):
        raise ConfigError(
            f"forge {kind} cannot find a repository in {key} {url}", f"write {key} as {shape}"
        )
    if not token:
        raise PubgateError(
            "refusing to push, since no pull request could be opened: "
            + (f"${variable} is not set" if variable else f"{token_key} is not set"),
            f"export {variable or 'GH_TOKEN'}=<token allowed to open pull requests>, "
            "or pass --no-pr",
        )
    api = api_url or _default_api_url(kind, location)
    return _connector(kind)(client, api, location, credential(kind, token) or token, variable)
