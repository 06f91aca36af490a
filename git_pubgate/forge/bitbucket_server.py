"""Bitbucket Data Center (and Server) pull requests over REST (``/rest/api/latest``).

A repository is ``https://HOST[/CONTEXT]/scm/PROJECT/REPO.git`` (or ``ssh://HOST:7999/PROJECT/
REPO.git``); its API is ``https://HOST[/CONTEXT]/rest/api/latest`` unless ``api_url`` says
otherwise. An HTTP access token goes in Bearer auth (project and repository tokens take no
other), ``USER:TOKEN`` in Basic. Every change names the pull request's ``version`` (Bitbucket's
optimistic locking). Data Center pull requests have no labels: ``pr.labels`` is refused.
"""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import quote

import httpx

from ..errors import PubgateError
from .base import Location, PullRequest, PullRequestOptions, superseded_text
from .http import Api, explain
from .options import refuse_unsupported

API_ROOT = "/rest/api/latest"


def _project(owner: str) -> tuple[str, str]:
    """The context path and project key of ``[CONTEXT/]scm/PROJECT`` (or ssh's ``PROJECT``)."""
    context, _, project = owner.rpartition("/")
    context = context.removesuffix("scm").rstrip("/")
    return (f"/{context}" if context else ""), project


def default_api_url(host: str, owner: str) -> str:
    return f"https://{host}{_project(owner)[0]}{API_ROOT}"


def authorization(token: str) -> str:
    return (
        "Basic " + base64.b64encode(token.encode()).decode() if ":" in token else f"Bearer {token}"
    )


class BitbucketServer:
    def __init__(self, api: Api, project: str, slug: str):
        self._api = api
        self._project, self._slug = project, slug
        self._pulls = f"/projects/{quote(project, safe='~')}/repos/{quote(slug, safe='')}"
        self._pulls += "/pull-requests"
        site = api.base.removesuffix(API_ROOT).removesuffix("/rest/api/1.0")
        self._page = f"{site}{self._pulls}"

    @classmethod
    def connect(
        cls,
        client: httpx.Client,
        api_url: str,
        repo: Location,
        token: str,
        variable: str | None = None,
    ) -> BitbucketServer:
        _, project = _project(repo.owner)
        headers = {"Accept": "application/json", "Authorization": authorization(token)}
        api = Api(
            client,
            api_url,
            headers,
            forge="Bitbucket",
            repo=f"{project}/{repo.name}",
            variable=variable,
        )
        return cls(api, project, repo.name)

    def open_or_update(
        self, head: str, base: str, title: str, body: str, options: PullRequestOptions
    ) -> PullRequest:
        refuse_unsupported("bitbucket-server", options.labels, options.reviewers)
        existing = self._open(head, base)
        if existing:
            return self._update(existing[0], title, body)
        request: dict[str, Any] = {
            "title": title,
            "description": body,
            "fromRef": self._ref(head),
            "toRef": self._ref(base),
            "reviewers": [{"user": {"name": r}} for r in options.reviewers],
        }
        if options.draft:
            request["draft"] = True  # Data Center 8.18 and later; older ones refuse drafts
        response = self._api.request("POST", self._pulls, json=request, allow=(201, 409))
        if response.status_code == 409:
            # DuplicatePullRequestException: one is open for these branches already.
            existing = self._open(head, base)
            if not existing:
                raise PubgateError(
                    f"Bitbucket refused the pull request: {explain(response)}",
                    "close the conflicting pull request, then rerun",
                )
            return self._update(existing[0], title, body)
        number = int(response.json()["id"])
        return PullRequest(number, f"{self._page}/{number}", created=True)

    def close_superseded(self, head: str, base: str, note: str) -> int | None:
        found = self._open(head, base)
        if not found:
            return None
        number, text = int(found[0]["id"]), found[0].get("description") or ""
        updated = self._put(found[0], found[0]["title"], superseded_text(note, text))
        self._api.request(
            "POST",
            f"{self._pulls}/{number}/decline",
            params={"version": str(updated["version"])},
        )
        return number

    def _ref(self, branch: str) -> dict[str, Any]:
        return {
            "id": f"refs/heads/{branch}",
            "repository": {"slug": self._slug, "project": {"key": self._project}},
        }

    def _open(self, head: str, base: str) -> list[dict[str, Any]]:
        response = self._api.request(
            "GET",
            self._pulls,
            params={"state": "OPEN", "direction": "OUTGOING", "at": f"refs/heads/{head}"},
        )
        values: list[dict[str, Any]] = response.json().get("values", [])
        return [
            v
            for v in values
            if v["fromRef"]["id"] == f"refs/heads/{head}"
            and v["toRef"]["id"] == f"refs/heads/{base}"
        ]

    def _update(self, found: dict[str, Any], title: str, body: str) -> PullRequest:
        number = int(found["id"])
        self._put(found, title, body)
        return PullRequest(number, f"{self._page}/{number}", created=False)

    def _put(self, found: dict[str, Any], title: str, body: str) -> dict[str, Any]:
        response = self._api.request(
            "PUT",
            f"{self._pulls}/{int(found['id'])}",
            json={
                "version": found["version"],
                "title": title,
                "description": body,
                # Reviewers left out of an update would be removed: keep who is there.
                "reviewers": [
                    {"user": {"name": r["user"]["name"]}} for r in found.get("reviewers", [])
                ],
            },
        )
        data: dict[str, Any] = response.json()
        return data
