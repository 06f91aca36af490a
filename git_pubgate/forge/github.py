"""GitHub and GitHub Enterprise Server pull requests over the REST API.

Follows GitHub's documented conventions: versioned media type and API version header, Bearer
auth, and ``head=owner:branch`` when listing (a bare branch is silently ignored and lists every
open pull request). Retries, rate limits and error wording live in ``http.Api``.
"""

from __future__ import annotations

from typing import Any

import httpx

from ..errors import PubgateError
from .base import Location, PullRequest, PullRequestOptions, superseded_text
from .http import Api, explain

API_VERSION = "2022-11-28"


class GitHub:
    def __init__(self, api: Api, repo: Location):
        self._api = api
        self._repo = repo

    @classmethod
    def connect(
        cls,
        client: httpx.Client,
        api_url: str,
        repo: Location,
        token: str,
        variable: str | None = None,
    ) -> GitHub:
        headers = {
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": API_VERSION,
            "Authorization": f"Bearer {token}",
        }
        return cls(
            Api(client, api_url, headers, forge="GitHub", repo=repo.slug, variable=variable), repo
        )

    def open_or_update(
        self, head: str, base: str, title: str, body: str, options: PullRequestOptions
    ) -> PullRequest:
        existing = self._find_open(head, base)
        if existing is not None:
            return self._update(existing, title, body)
        request = {
            "head": head,
            "base": base,
            "title": title,
            "body": body,
            "maintainer_can_modify": False,
            "draft": options.draft,
        }
        response = self._api.request(
            "POST", f"/repos/{self._repo.slug}/pulls", json=request, allow=(201, 422)
        )
        if response.status_code == 422:
            if "already exists" in explain(response):
                # Opened meanwhile (another run, or a listing that lagged): update that one.
                existing = self._find_open(head, base)
                if existing is not None:
                    return self._update(existing, title, body)
            raise PubgateError(
                f"GitHub refused to open a pull request from {head} into {base}: "
                f"{explain(response)}",
                f"check that {base} exists on {self._repo.slug} and that {head} differs from it",
            )
        data = response.json()
        number = int(data["number"])
        if options.labels:
            self._api.request(
                "POST",
                f"/repos/{self._repo.slug}/issues/{number}/labels",
                json={"labels": list(options.labels)},
            )
        if options.reviewers:
            self._api.request(
                "POST",
                f"/repos/{self._repo.slug}/pulls/{number}/requested_reviewers",
                json={"reviewers": list(options.reviewers)},
                allow=(201,),
            )
        return PullRequest(number, str(data["html_url"]), created=True)

    def close_superseded(self, head: str, base: str, note: str) -> int | None:
        found = self._open_pulls(head, base)
        if not found:
            return None
        number, body = int(found[0]["number"]), found[0].get("body") or ""
        # The contract has no comment endpoint: the note goes on top of the body instead.
        self._api.request(
            "PATCH",
            f"/repos/{self._repo.slug}/pulls/{number}",
            json={"state": "closed", "body": superseded_text(note, body)},
        )
        return number

    def _find_open(self, head: str, base: str) -> int | None:
        pulls = self._open_pulls(head, base)
        return int(pulls[0]["number"]) if pulls else None

    def _open_pulls(self, head: str, base: str) -> list[dict[str, Any]]:
        response = self._api.request(
            "GET",
            f"/repos/{self._repo.slug}/pulls",
            params={"head": f"{self._repo.owner}:{head}", "base": base, "state": "open"},
        )
        pulls: list[dict[str, Any]] = response.json()
        return pulls

    def _update(self, number: int, title: str, body: str) -> PullRequest:
        # No "draft" here: GitHub's update endpoint does not take it.
        response = self._api.request(
            "PATCH", f"/repos/{self._repo.slug}/pulls/{number}", json={"title": title, "body": body}
        )
        return PullRequest(number, str(response.json()["html_url"]), created=False)
