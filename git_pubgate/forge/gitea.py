"""Gitea and Forgejo pull requests (``/api/v1``), e.g. Codeberg.

An open pull request is found by base and head directly; a duplicate create is answered
with 409, which falls back to finding and updating. Gitea answers an edit with 201.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx

from ..errors import PubgateError
from .base import Location, PullRequest, PullRequestOptions, superseded_text
from .http import Api, explain
from .options import refuse_unsupported


class Gitea:
    def __init__(self, api: Api, repo: Location):
        self._api = api
        self._repo = f"/repos/{repo.slug}"

    @classmethod
    def connect(
        cls,
        client: httpx.Client,
        api_url: str,
        repo: Location,
        token: str,
        variable: str | None = None,
    ) -> Gitea:
        return cls(
            Api(
                client,
                api_url,
                {"Authorization": f"token {token}"},
                forge="Gitea",
                repo=repo.slug,
                variable=variable,
            ),
            repo,
        )

    def open_or_update(
        self, head: str, base: str, title: str, body: str, options: PullRequestOptions
    ) -> PullRequest:
        refuse_unsupported("gitea", options.labels, options.reviewers)
        existing = self._find_open(head, base)
        if existing is not None:
            return self._update(existing, title, body)
        response = self._api.request(
            "POST",
            f"{self._repo}/pulls",
            json={
                "head": head,
                "base": base,
                "body": body,
                "title": f"WIP: {title}" if options.draft else title,
            },
            allow=(201, 409),
        )
        if response.status_code == 409:
            existing = self._find_open(head, base)
            if existing is None:
                raise PubgateError(
                    f"Gitea refused the pull request: {explain(response)}",
                    "close the conflicting pull request, then rerun",
                )
            return self._update(existing, title, body)
        data = response.json()
        number = int(data["number"])
        if options.reviewers:
            self._api.request(
                "POST",
                f"{self._repo}/pulls/{number}/requested_reviewers",
                json={"reviewers": list(options.reviewers)},
                allow=(201,),
            )
        return PullRequest(number, str(data["html_url"]), created=True)

    def close_superseded(self, head: str, base: str, note: str) -> int | None:
        found = self._open(head, base)
        if found is None:
            return None
        number, body = int(found["number"]), found.get("body") or ""
        self._api.request(
            "PATCH",
            f"{self._repo}/pulls/{number}",
            json={"state": "closed", "body": superseded_text(note, body)},
            allow=(200, 201),
        )
        return number

    def _find_open(self, head: str, base: str) -> int | None:
        found = self._open(head, base)
        return int(found["number"]) if found is not None else None

    def _open(self, head: str, base: str) -> dict[str, Any] | None:
        response = self._api.request(
            "GET",
            f"{self._repo}/pulls/{quote(base, safe='')}/{quote(head, safe='')}",
            allow=(200, 404),
        )
        if response.status_code == 404:
            return None
        data: dict[str, Any] = response.json()
        return data if data.get("state") == "open" else None

    def _update(self, number: int, title: str, body: str) -> PullRequest:
        response = self._api.request(
            "PATCH",
            f"{self._repo}/pulls/{number}",
            json={"title": title, "body": body},
            allow=(200, 201),
        )
        return PullRequest(number, str(response.json()["html_url"]), created=False)
