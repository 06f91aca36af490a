"""Bitbucket Cloud pull requests (``api.bitbucket.org/2.0``).

The token is an access token (repository, project or workspace: Bearer auth; git pushes with
it as ``x-token-auth``) or ``USER:APP_PASSWORD`` (Basic auth for both). Bitbucket pull requests
have no labels, and reviewers are named by account UUID since its 2019 privacy change: other
names are refused before anything is pushed. A superseded release's pull request gets the note
on top of its description and is then declined.
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

ACCESS_TOKEN_USER = "x-token-auth"  # the user name git needs with an access token


def authorization(token: str) -> str:
    """Bearer for an access token (bare, or as git's ``x-token-auth:TOKEN``), else Basic."""
    user, colon, secret = token.partition(":")
    if not colon or user == ACCESS_TOKEN_USER:
        return f"Bearer {secret if colon else token}"
    return "Basic " + base64.b64encode(token.encode()).decode()


class Bitbucket:
    def __init__(self, api: Api, repo: Location):
        self._api = api
        self._pulls = f"/repositories/{quote(repo.owner, safe='')}/{quote(repo.name, safe='')}"
        self._pulls += "/pullrequests"

    @classmethod
    def connect(
        cls,
        client: httpx.Client,
        api_url: str,
        repo: Location,
        token: str,
        variable: str | None = None,
    ) -> Bitbucket:
        headers = {"Accept": "application/json", "Authorization": authorization(token)}
        return cls(
            Api(client, api_url, headers, forge="Bitbucket", repo=repo.slug, variable=variable),
            repo,
        )

    def open_or_update(
        self, head: str, base: str, title: str, body: str, options: PullRequestOptions
    ) -> PullRequest:
        refuse_unsupported("bitbucket", options.labels, options.reviewers)
        existing = self._find_open(head, base)
        if existing is not None:
            return self._update(existing, title, body)
        request: dict[str, Any] = {
            "type": "pullrequest",
            "title": title,
            "description": body,
            "source": {"branch": {"name": head}},
            "destination": {"branch": {"name": base}},
            "draft": options.draft,
        }
        if options.reviewers:
            request["reviewers"] = [{"type": "user", "uuid": r} for r in options.reviewers]
        response = self._api.request("POST", self._pulls, json=request, allow=(201, 400, 409))
        if response.status_code != 201:
            # Opened meanwhile (another run, or a listing that lagged): update that one.
            existing = self._find_open(head, base)
            if existing is None:
                raise PubgateError(
                    f"Bitbucket refused to open a pull request from {head} into {base}: "
                    f"{explain(response)}",
                    f"check that {base} exists and that {head} differs from it",
                )
            return self._update(existing, title, body)
        data = response.json()
        return PullRequest(int(data["id"]), _page(data), created=True)

    def close_superseded(self, head: str, base: str, note: str) -> int | None:
        found = self._open(head, base)
        if not found:
            return None
        number = int(found[0]["id"])
        text = found[0].get("description") or (found[0].get("summary") or {}).get("raw") or ""
        # Decline takes no message: the note goes on top of the description first.
        self._put(number, found[0]["title"], superseded_text(note, text))
        self._api.request("POST", f"{self._pulls}/{number}/decline")
        return number

    def _find_open(self, head: str, base: str) -> int | None:
        found = self._open(head, base)
        return int(found[0]["id"]) if found else None

    def _open(self, head: str, base: str) -> list[dict[str, Any]]:
        response = self._api.request(
            "GET",
            self._pulls,
            params={
                "state": "OPEN",
                # Bitbucket's filter language; the answer is checked again below.
                "q": f"source.branch.name = {_quoted(head)} AND "
                f"destination.branch.name = {_quoted(base)}",
            },
        )
        values: list[dict[str, Any]] = response.json().get("values", [])
        return [
            v
            for v in values
            if v["source"]["branch"]["name"] == head and v["destination"]["branch"]["name"] == base
        ]

    def _update(self, number: int, title: str, body: str) -> PullRequest:
        return PullRequest(number, _page(self._put(number, title, body)), created=False)

    def _put(self, number: int, title: str, body: str) -> dict[str, Any]:
        # Fields left out of a PUT keep their values (reviewers, branches, draft).
        response = self._api.request(
            "PUT",
            f"{self._pulls}/{number}",
            json={"type": "pullrequest", "title": title, "description": body},
        )
        data: dict[str, Any] = response.json()
        return data


def _quoted(text: str) -> str:
    """A string literal of Bitbucket's filter language."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _page(data: dict[str, Any]) -> str:
    return str(data["links"]["html"]["href"])
