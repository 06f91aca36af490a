"""What sync needs from a forge, and which forge a target repository lives on."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol


def superseded_text(note: str, text: str) -> str:
    """A superseded release's description: the pointer to the newer release on top, the old
    text kept below a rule, the same on every forge."""
    return f"{note}\n\n---\n\n{text}"


@dataclass(frozen=True)
class PullRequest:
    number: int
    url: str  # the page a person opens
    created: bool  # False: an open one for the same head was updated


@dataclass(frozen=True)
class PullRequestOptions:
    """What a new pull request gets besides title and body (``pr:`` in the config)."""

    labels: tuple[str, ...] = ()
    reviewers: tuple[str, ...] = ()
    draft: bool = False


class Forge(Protocol):
    def open_or_update(
        self, head: str, base: str, title: str, body: str, options: PullRequestOptions
    ) -> PullRequest:
        """Open a pull request from ``head`` into ``base``, or update the open one's text."""
        ...

    def close_superseded(self, head: str, base: str, note: str) -> int | None:
        """Close the open pull request from ``head``, ``note`` on top of its text.

        Returns its number, or None when ``head`` has no open pull request.
        """
        ...


@dataclass(frozen=True)
class Location:
    """A repository on a forge: host and ``owner/name``."""

    host: str
    owner: str
    name: str

    @property
    def slug(self) -> str:
        return f"{self.owner}/{self.name}"


def locate_repository(url: str) -> Location | None:
    """Host and owner/name from an https, ssh or scp-style git URL (None for a local path)."""
    match = re.match(r"^(?:https?|ssh|git)://(?:[^@/]+@)?([^/:]+)(?::\d+)?/(.+?)(?:\.git)?/?$", url)
    if match is None:
        match = re.match(r"^(?:[^@/]+@)?([^/:]+):(?!/)(.+?)(?:\.git)?/?$", url)
    if match is None:
        return None
    host, path = match.groups()
    owner, _, name = path.rpartition("/")
    if not owner or not name:
        return None
    return Location(host.lower(), owner, name)


def default_api_url(forge: str, host: str) -> str:
    """The REST API of ``forge`` at ``host`` (Azure DevOps and Bitbucket Data Center need the
    repository's path too: see their modules)."""
    if forge == "github":
        return "https://api.github.com" if host == "github.com" else f"https://{host}/api/v3"
    if forge == "gitlab":
        return f"https://{host}/api/v4"
    if forge == "gitea":
        return f"https://{host}/api/v1"
    if forge == "bitbucket":
        return "https://api.bitbucket.org/2.0"
    raise ValueError(forge)


def detect(host: str) -> str:
    """The forge a host runs, as far as its name tells ("none" when it does not)."""
    for forge in ("github", "gitlab", "gitea"):
        if host == f"{forge}.com" or host.startswith(f"{forge}."):
            return forge
    if host == "codeberg.org":
        return "gitea"
    if host in ("dev.azure.com", "ssh.dev.azure.com") or host.endswith(".visualstudio.com"):
        return "azure"
    if host == "bitbucket.org":
        return "bitbucket"
    if host.startswith("bitbucket."):
        return "bitbucket-server"  # bitbucket.corp.example: a Data Center by its name
    return "none"


def detect_location(location: Location) -> str:
    """The forge of a repository: Azure DevOps Server by its ``/_git/`` path, else by host."""
    if location.owner.endswith("/_git") or location.owner == "_git":
        return "azure"
    return detect(location.host)


# What a repository URL must look like on the forges whose paths have a fixed shape.
_SHAPES = {
    "azure": "https://dev.azure.com/ORG/PROJECT/_git/REPO (or git@ssh.dev.azure.com:v3/ORG/"
    "PROJECT/REPO; Azure DevOps Server: https://HOST/COLLECTION/PROJECT/_git/REPO)",
    "bitbucket": "https://bitbucket.org/WORKSPACE/REPO.git or git@bitbucket.org:WORKSPACE/REPO.git",
    "bitbucket-server": "https://HOST/scm/PROJECT/REPO.git or ssh://git@HOST:7999/PROJECT/REPO.git",
}


def shape_problem(forge: str, location: Location) -> str | None:
    """How a repository URL should look, when ``location`` cannot be a repository on ``forge``."""
    segments = location.owner.split("/")
    if forge == "azure":
        fits = segments[-1] == "_git" or (segments[0] == "v3" and len(segments) == 3)
    elif forge == "bitbucket":
        fits = len(segments) == 1
    elif forge == "bitbucket-server":
        fits = len(segments) == 1 or segments[-2] == "scm"
    else:
        return None
    return None if fits else _SHAPES[forge]
