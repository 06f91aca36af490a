"""The forges pull requests can be opened on, as the man page and the README list them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ForgeKind:
    name: str  # the value of forge: / source_forge:
    title: str
    recognised: str  # what target_repo looks like for the forge to be detected
    token: str  # the token's own variable setting (github_token_env works for all)
    api: str  # the default api_url
    options: str  # what pr.draft, pr.labels and pr.reviewers do there


KINDS = (
    ForgeKind(
        "github",
        "GitHub and GitHub Enterprise Server",
        "github.com, or a host named github.*",
        "github_token_env (or github_app)",
        "https://api.github.com; https://HOST/api/v3",
        "draft, labels and reviewers (user names)",
    ),
    ForgeKind(
        "gitlab",
        "GitLab (gitlab.com or self-managed)",
        "gitlab.com, or a host named gitlab.*",
        "gitlab_token_env",
        "https://HOST/api/v4",
        "draft (a Draft: title) and labels; reviewers refused (GitLab needs numeric ids)",
    ),
    ForgeKind(
        "gitea",
        "Gitea and Forgejo",
        "codeberg.org, or a host named gitea.*",
        "gitea_token_env",
        "https://HOST/api/v1",
        "draft (a WIP: title) and reviewers; labels refused (Gitea needs numeric ids)",
    ),
    ForgeKind(
        "azure",
        "Azure DevOps Services and Server",
        "dev.azure.com, ORG.visualstudio.com, ssh.dev.azure.com, or any URL with /_git/",
        "azure_token_env",
        "https://dev.azure.com/ORG; https://HOST/COLLECTION",
        "draft, labels and reviewers (identity ids); reviewer names refused",
    ),
    ForgeKind(
        "bitbucket",
        "Bitbucket Cloud",
        "bitbucket.org",
        "bitbucket_token_env",
        "https://api.bitbucket.org/2.0",
        "draft and reviewers (account UUIDs); labels refused (Bitbucket has none)",
    ),
    ForgeKind(
        "bitbucket-server",
        "Bitbucket Data Center and Server",
        "a host named bitbucket.* other than bitbucket.org",
        "bitbucket_token_env",
        "https://HOST/rest/api/latest",
        "draft (Data Center 8.18+) and reviewers (user names); labels refused (it has none)",
    ),
)
