from __future__ import annotations

import pytest

from git_pubgate.forge.base import Location, default_api_url, detect, locate_repository


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "git@github.com:your-org/public-project.git",
            Location("github.com", "your-org", "public-project"),
        ),
        (
            "https://github.com/your-org/public-project",
            Location("github.com", "your-org", "public-project"),
        ),
        ("https://x-access-token@github.com/o/r.git/", Location("github.com", "o", "r")),
        ("ssh://git@ghe.corp.example:2222/o/r.git", Location("ghe.corp.example", "o", "r")),
        ("git@gitlab.com:group/sub/project.git", Location("gitlab.com", "group/sub", "project")),
        ("https://codeberg.org/o/r.git", Location("codeberg.org", "o", "r")),
        ("/srv/git/public.git", None),
        ("file:///srv/git/public.git", None),
    ],
)
def test_owner_and_name_from_ssh_and_https_urls(url: str, expected: Location | None) -> None:
    assert locate_repository(url) == expected


def test_forge_and_api_from_the_host() -> None:
    assert detect("github.com") == "github" and default_api_url("github", "github.com") == (
        "https://api.github.com"
    )
    assert default_api_url("github", "ghe.corp.example") == "https://ghe.corp.example/api/v3"
    assert detect("gitlab.example.com") == "gitlab"
    assert detect("codeberg.org") == "gitea"
    assert detect("git.corp.example") == "none"
