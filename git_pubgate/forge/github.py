"""GitHub and GitHub Enterprise Server pull requests over the REST API.

Follows GitHub's documented conventions: versioned media type and API version header, Bearer
auth, ``head=owner:branch`` when listing (a bare branch is silently ignored and lists every
open pull request), serial requests, waiting out primary and secondary rate limits up to a
bound, and retrying 5xx a bounded number of times. Errors become one line that says what to
check; the token is never part of any message.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx

from ..errors import PubgateError
from .base import Location, PullRequest

API_VERSION = "2022-11-28"
_RETRIES_5XX = 3
_MAX_WAIT = 300.0  # seconds of rate-limit waiting before giving up


class GitHub:
    """A GitHub repository's pull requests.

    Args:
        client: the one HTTP client of this run (tests pass one aimed at a local server).
        api_url: ``https://api.github.com`` or ``https://HOST/api/v3``.
        repo: where the pull requests go.
        token: a token allowed to open pull requests (``pull_requests: write``).
        sleep, clock: how to wait and what time it is; real ones unless a test passes its own.
    """

    def __init__(
        self,
        client: httpx.Client,
        api_url: str,
        repo: Location,
        token: str,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
    ):
        self._client = client
        self._base = api_url.rstrip("/")
        self._repo = repo
        self._headers = {
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": API_VERSION,
            "Authorization": f"Bearer {token}",
            "User-Agent": "git-pubgate",
        }
        self._sleep = sleep
        self._clock = clock

    def open_or_update(self, head: str, base: str, title: str, body: str) -> PullRequest:
        existing = self._find_open(head, base)
        if existing is not None:
            return self._update(existing, title, body)
        response = self._request(
            "POST",
            f"/repos/{self._repo.slug}/pulls",
            json={
                "head": head,
                "base": base,
                "title": title,
                "body": body,
                "maintainer_can_modify": False,
            },
            allow={201, 422},
        )
        if response.status_code == 422:
            if _already_exists(response):
                # Opened meanwhile (another run, or a listing that lagged): update that one.
                existing = self._find_open(head, base)
                if existing is not None:
                    return self._update(existing, title, body)
            raise PubgateError(
                f"GitHub refused to open a pull request from {head} into {base}: "
                f"{_explain(response)}",
                f"check that {base} exists on {self._repo.slug} and that {head} differs from it",
            )
        data = response.json()
        return PullRequest(int(data["number"]), str(data["html_url"]), created=True)

    def _find_open(self, head: str, base: str) -> int | None:
        response = self._request(
            "GET",
            f"/repos/{self._repo.slug}/pulls",
            params={"head": f"{self._repo.owner}:{head}", "base": base, "state": "open"},
        )
        pulls = response.json()
        return int(pulls[0]["number"]) if pulls else None

    def _update(self, number: int, title: str, body: str) -> PullRequest:
        response = self._request(
            "PATCH",
            f"/repos/{self._repo.slug}/pulls/{number}",
            json={"title": title, "body": body},
        )
        data = response.json()
        return PullRequest(number, str(data["html_url"]), created=False)

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        json: dict[str, Any] | None = None,
        allow: frozenset[int] | set[int] = frozenset({200}),
    ) -> httpx.Response:
        waited = 0.0
        failures = 0
        while True:
            try:
                response = self._client.request(
                    method, self._base + path, params=params, json=json, headers=self._headers
                )
            except httpx.HTTPError as e:
                failures += 1
                if failures >= _RETRIES_5XX:
                    raise PubgateError(
                        f"cannot reach the GitHub API at {self._base}: {type(e).__name__}",
                        "check api_url and the network; a rerun is safe",
                    ) from e
                self._sleep(2.0**failures)
                continue
            status = response.status_code
            if status in allow or (status < 300 and not allow):
                return response
            pause = self._rate_limit_pause(response)
            if pause is not None:
                if waited + pause > _MAX_WAIT:
                    raise PubgateError(
                        f"GitHub's rate limit holds {method} {path} for {pause:.0f} s more",
                        "rerun later: the push is done, and a rerun only opens the pull request",
                    )
                waited += pause
                self._sleep(pause)
                continue
            if status >= 500:
                failures += 1
                if failures >= _RETRIES_5XX:
                    raise PubgateError(
                        f"GitHub answered {status} to {method} {path}, {failures} times",
                        "GitHub may be having trouble (githubstatus.com); a rerun is safe",
                    )
                self._sleep(2.0**failures)
                continue
            raise _error(response, self._repo)

    def _rate_limit_pause(self, response: httpx.Response) -> float | None:
        """Seconds to wait when the response is a rate limit, as GitHub documents it."""
        if response.status_code not in (403, 429):
            return None
        retry_after = response.headers.get("retry-after")
        if retry_after is not None:
            try:
                return max(float(retry_after), 0.0)
            except ValueError:
                return 60.0
        if response.headers.get("x-ratelimit-remaining") == "0":
            reset = response.headers.get("x-ratelimit-reset")
            try:
                return max(float(reset or "") - self._clock(), 0.0) + 1.0
            except ValueError:
                return 60.0
        if response.status_code == 429 or "secondary rate limit" in _explain(response).lower():
            return 60.0  # GitHub: "wait at least one minute" when it gives no time
        return None


def _explain(response: httpx.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        return f"HTTP {response.status_code}"
    message = str(data.get("message", f"HTTP {response.status_code}"))
    details = [
        str(e.get("message") or e.get("code"))
        for e in data.get("errors", [])
        if isinstance(e, dict)
    ]
    return message + (f" ({'; '.join(details)})" if details else "")


def _already_exists(response: httpx.Response) -> bool:
    return "already exists" in _explain(response)


def _error(response: httpx.Response, repo: Location) -> PubgateError:
    status = response.status_code
    why = _explain(response)
    if status == 401:
        return PubgateError(
            f"GitHub rejected the token: {why}",
            "the token is wrong or expired; set a valid one in the variable github_token_env names",
        )
    if status == 403:
        return PubgateError(
            f"GitHub refused access to {repo.slug}: {why}",
            "the token needs pull_requests: write (fine-grained) or repo scope (classic)",
        )
    if status == 404:
        return PubgateError(
            f"GitHub has no repository {repo.slug}, or the token cannot see it",
            "check target_repo, and that the token has access to that repository",
        )
    return PubgateError(f"GitHub answered {status}: {why}", "a rerun is safe")
