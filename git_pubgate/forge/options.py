"""Which pull request options each forge can honour: checked when the configuration loads (a
file:line error) and again by each client before anything is pushed."""

from __future__ import annotations

import re
from collections.abc import Sequence

from ..errors import PubgateError

_GUID = re.compile(r"^\{?[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}\}?$")
_UUID = re.compile(r"^\{[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}\}$")


def refusal(
    kind: str, labels: Sequence[str], reviewers: Sequence[str]
) -> tuple[str, str, str] | None:
    """The key, problem and hint of the first option ``kind`` cannot honour, else None."""
    if labels and kind in ("gitea", "bitbucket", "bitbucket-server"):
        why = {
            "gitea": "Gitea, which needs numeric label ids",
            "bitbucket": "Bitbucket, whose pull requests have no labels",
            "bitbucket-server": "Bitbucket Data Center, whose pull requests have no labels",
        }[kind]
        return "pr.labels", f"not supported on {why}", "remove pr.labels"
    if reviewers and kind == "gitlab":
        return (
            "pr.reviewers",
            "not supported on GitLab, which needs numeric user ids",
            "remove pr.reviewers, or set default reviewers in the GitLab project",
        )
    if kind == "azure" and (names := [r for r in reviewers if not _GUID.match(r)]):
        return (
            "pr.reviewers",
            f"Azure DevOps takes identity ids, not names: {', '.join(names)}",
            "list the reviewers' ids (GUIDs, shown by 'az devops user show --user NAME'), or "
            "require reviewers with a branch policy instead",
        )
    if kind == "bitbucket" and (names := [r for r in reviewers if not _UUID.match(r)]):
        return (
            "pr.reviewers",
            f"Bitbucket takes account UUIDs, not names: {', '.join(names)}",
            "write each reviewer as '{UUID}' (GET /2.0/users/NAME shows it), or set default "
            "reviewers in the repository settings",
        )
    return None


def refuse_unsupported(kind: str, labels: Sequence[str], reviewers: Sequence[str]) -> None:
    """Raise when ``kind`` cannot honour the options (before anything is pushed)."""
    found = refusal(kind, labels, reviewers)
    if found is not None:
        key, problem, hint = found
        raise PubgateError(f"{key}: {problem}", hint)
