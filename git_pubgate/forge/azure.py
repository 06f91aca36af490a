"""Azure DevOps pull requests over the Git REST API (``_apis/git``), Services and Server.

A repository is ``{organisation or collection}/{project}/_git/{name}``: the organisation (or,
on Azure DevOps Server, the collection URL) is the API's base, the project and repository name
the path. Every call names its ``api-version``; a personal access token goes in Basic auth
with an empty user name, as Microsoft documents. Retries, rate limits (``Retry-After``,
``X-RateLimit-*``) and error wording live in ``http.Api``.
"""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import httpx

from ..errors import PubgateError
from .base import Location, PullRequest, PullRequestOptions, superseded_text
from .http import Api, explain
from .options import refuse_unsupported

SERVICES_API_VERSION = "7.1"  # dev.azure.com
SERVER_API_VERSION = "6.0"  # Azure DevOps Server 2020 and later understand it
# Azure DevOps refuses a longer pull request description (TF401180).
DESCRIPTION_LIMIT = 4000
CUT_NOTE = "\n\n[cut to Azure DevOps' 4000-character limit]"


def _parts(host: str, owner: str, name: str) -> tuple[list[str], str]:
    """The organisation or collection path, and the project, from a repository's location."""
    segments = [unquote(s) for s in owner.split("/") if s]
    if segments and segments[-1] == "_git":
        segments = segments[:-1]  # https://HOST/[COLLECTION/]PROJECT/_git/NAME
    elif segments and segments[0] == "v3":
        segments = segments[1:]  # git@ssh.dev.azure.com:v3/ORG/PROJECT/NAME
    on_services = host in ("dev.azure.com", "ssh.dev.azure.com")
    if (on_services and len(segments) == 1) or not segments:
        return segments, unquote(name)  # .../ORG/_git/NAME: the project shares the name
    return segments[:-1], segments[-1]


def default_api_url(host: str, owner: str) -> str:
    collection, _ = _parts(host, owner, "")
    if host in ("dev.azure.com", "ssh.dev.azure.com"):
        return f"https://dev.azure.com/{quote(collection[0] if collection else '')}"
    if host.endswith(".visualstudio.com"):
        # ORG.visualstudio.com/[DefaultCollection/]PROJECT, or vs-ssh.visualstudio.com:v3/ORG/..
        org = collection[0] if host == "vs-ssh.visualstudio.com" and collection else host[:-17]
        return f"https://dev.azure.com/{quote(org)}"
    return f"https://{host}/" + "/".join(quote(c) for c in collection)


def _fit(text: str) -> str:
    if len(text) <= DESCRIPTION_LIMIT:
        return text
    return text[: DESCRIPTION_LIMIT - len(CUT_NOTE)] + CUT_NOTE


class Azure:
    def __init__(self, api: Api, project: str, name: str, version: str):
        self._api = api
        repo = f"/{quote(project, safe='')}/_apis/git/repositories/{quote(name, safe='')}"
        self._pulls = f"{repo}/pullrequests"
        self._version = {"api-version": version}
        self._page = f"{api.base}/{quote(project, safe='')}/_git/{quote(name, safe='')}"

    @classmethod
    def connect(
        cls,
        client: httpx.Client,
        api_url: str,
        repo: Location,
        token: str,
        variable: str | None = None,
    ) -> Azure:
        _, project = _parts(repo.host, repo.owner, repo.name)
        user, colon, secret = token.partition(":")
        # A bare personal access token is the password of an empty user name.
        pair = f"{user}:{secret}" if colon else f":{token}"
        headers = {
            "Accept": "application/json",
            "Authorization": "Basic " + base64.b64encode(pair.encode()).decode(),
            # A rejected token then answers 401, not 203 and a sign-in page.
            "X-TFS-FedAuthRedirect": "Suppress",
        }
        host = urlsplit(api_url).hostname or ""
        services = host == "dev.azure.com" or host.endswith(".visualstudio.com")
        api = Api(
            client,
            api_url,
            headers,
            forge="Azure DevOps",
            repo=f"{project}/{repo.name}",
            variable=variable,
        )
        version = SERVICES_API_VERSION if services else SERVER_API_VERSION
        return cls(api, project, unquote(repo.name), version)

    def open_or_update(
        self, head: str, base: str, title: str, body: str, options: PullRequestOptions
    ) -> PullRequest:
        refuse_unsupported("azure", options.labels, options.reviewers)
        existing = self._find_open(head, base)
        if existing is not None:
            return self._update(existing, title, body)
        request: dict[str, Any] = {
            "sourceRefName": f"refs/heads/{head}",
            "targetRefName": f"refs/heads/{base}",
            "title": title,
            "description": _fit(body),
            "isDraft": options.draft,
        }
        if options.labels:
            request["labels"] = [{"name": label} for label in options.labels]
        if options.reviewers:
            request["reviewers"] = [{"id": r.strip("{}")} for r in options.reviewers]
        response = self._api.request(
            "POST", self._pulls, params=self._version, json=request, allow=(201, 409)
        )
        if response.status_code == 409:
            # TF401179: one is open for these branches (another run, or a lagging listing).
            existing = self._find_open(head, base)
            if existing is None:
                raise PubgateError(
                    f"Azure DevOps refused the pull request: {explain(response)}",
                    "close the conflicting pull request, then rerun",
                )
            return self._update(existing, title, body)
        number = int(response.json()["pullRequestId"])
        return PullRequest(number, self._url(number), created=True)

    def close_superseded(self, head: str, base: str, note: str) -> int | None:
        found = self._open(head, base)
        if not found:
            return None
        number, text = int(found[0]["pullRequestId"]), found[0].get("description") or ""
        self._api.request(
            "PATCH",
            f"{self._pulls}/{number}",
            params=self._version,
            json={"status": "abandoned", "description": _fit(superseded_text(note, text))},
        )
        return number

    def _find_open(self, head: str, base: str) -> int | None:
        found = self._open(head, base)
        return int(found[0]["pullRequestId"]) if found else None

    def _open(self, head: str, base: str) -> list[dict[str, Any]]:
        response = self._api.request(
            "GET",
            self._pulls,
            params={
                "searchCriteria.sourceRefName": f"refs/heads/{head}",
                "searchCriteria.targetRefName": f"refs/heads/{base}",
                "searchCriteria.status": "active",
                **self._version,
            },
        )
        # The wire form of a list is {"count": N, "value": [...]}; the description says a bare
        # array, so take either.
        data = response.json()
        found: list[dict[str, Any]] = data["value"] if isinstance(data, dict) else data
        return found

    def _update(self, number: int, title: str, body: str) -> PullRequest:
        self._api.request(
            "PATCH",
            f"{self._pulls}/{number}",
            params=self._version,
            json={"title": title, "description": _fit(body)},
        )
        return PullRequest(number, self._url(number), created=False)

    def _url(self, number: int) -> str:
        return f"{self._page}/pullrequest/{number}"
