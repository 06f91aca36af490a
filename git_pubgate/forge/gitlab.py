"""GitLab merge requests (``/api/v4``), gitlab.com or self-managed.

The project is addressed by its URL-encoded path, so nested groups work. A duplicate is
answered with 409; that falls back to finding and updating the open one.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx

from ..errors import PubgateError
from .base import Location, PullRequest, PullRequestOptions, superseded_text
from .http import Api, explain
from .options import refuse_unsupported


class GitLab:
    def __init__(self, api: Api, repo: Location):
        self._api = api
        self._project = f"/projects/{quote(repo.slug, safe='')}"

    @classmethod
    def connect(
        cls,
        client: httpx.Client,
        api_url: str,
        repo: Location,
        token: str,
        variable: str | None = None,
    ) -> GitLab:
        return cls(
            Api(
                client,
                api_url,
                {"PRIVATE-TOKEN": token},
                forge="GitLab",
                repo=repo.slug,
                variable=variable,
            ),
            repo,
        )

    def open_or_update(
        self, head: str, base: str, title: str, body: str, options: PullRequestOptions
    ) -> PullRequest:
        refuse_unsupported("gitlab", options.labels, options.reviewers)
        existing = self._find_open(head, base)
        if existing is not None:
            return self._update(existing, title, body)
        request: dict[str, Any] = {
            "source_branch": head,
            "target_branch": base,
            "title": f"Draft: {title}" if options.draft else title,
            "description": body,
        }
        if options.labels:
            request["labels"] = ",".join(options.labels)
        response = self._api.request(
            "POST", f"{self._project}/merge_requests", json=request, allow=(201, 409)
        )
        if response.status_code == 409:
            existing = self._find_open(head, base)
            if existing is None:
                raise PubgateError(
                    f"GitLab refused the merge request: {explain(response)}",
                    "close the conflicting merge request, then rerun",
                )
            return self._update(existing, title, body)
        data = response.json()
        return PullRequest(int(data["iid"]), str(data["web_url"]), created=True)

    def close_superseded(self, head: str, base: str, note: str) -> int | None:
        found = self._open(head, base)
        if not found:
            return None
        iid, text = int(found[0]["iid"]), found[0].get("description") or ""
        self._api.request(
            "PUT",
            f"{self._project}/merge_requests/{iid}",
            json={"state_event": "close", "description": superseded_text(note, text)},
        )
        return iid

    def _find_open(self, head: str, base: str) -> int | None:
        found = self._open(head, base)
        return int(found[0]["iid"]) if found else None

    def _open(self, head: str, base: str) -> list[dict[str, Any]]:
        response = self._api.request(
            "GET",
            f"{self._project}/merge_requests",
            params={"state": "opened", "source_branch": head, "target_branch": base},
        )
        found: list[dict[str, Any]] = response.json()
        return found

    def _update(self, iid: int, title: str, body: str) -> PullRequest:
        response = self._api.request(
            "PUT",
            f"{self._project}/merge_requests/{iid}",
            json={"title": title, "description": body},
        )
        return PullRequest(iid, str(response.json()["web_url"]), created=False)
