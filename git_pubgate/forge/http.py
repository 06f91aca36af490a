"""The request loop every forge client shares: bounded retries, rate limits, plain errors."""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Mapping
from typing import Any

import httpx

from ..errors import PubgateError

RETRIES = 3
MAX_WAIT = 300.0  # seconds of rate-limit waiting before giving up


class Api:
    """One forge's REST API, reached through the run's single ``httpx.Client``.

    Args:
        forge: the forge's name, for messages ("GitHub").
        repo: ``owner/name``, for messages.
        variable: the environment variable the token came from, named by the hint of a 401.
        sleep, clock: how to wait and what time it is; real ones unless a test passes its own.
    """

    def __init__(
        self,
        client: httpx.Client,
        base_url: str,
        headers: Mapping[str, str],
        *,
        forge: str,
        repo: str,
        variable: str | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
    ):
        self._client = client
        self._base = base_url.rstrip("/")
        self._headers = {"User-Agent": "git-pubgate", **headers}
        self.forge = forge
        self.repo = repo
        self._variable = variable
        self._sleep = sleep
        self._clock = clock

    @property
    def base(self) -> str:
        """The API's base URL, without a trailing slash."""
        return self._base

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        allow: Collection[int] = (200,),
    ) -> httpx.Response:
        """Send one request, waiting out rate limits and retrying failures within bounds.

        Returns the response when its status is in ``allow``; raises ``PubgateError`` for
        anything else, with a one-line message that never includes a credential.
        """
        waited = 0.0
        failures = 0
        while True:
            try:
                response = self._client.request(
                    method, self._base + path, params=params, json=json, headers=self._headers
                )
            except httpx.HTTPError as e:
                failures += 1
                if failures >= RETRIES:
                    raise PubgateError(
                        f"cannot reach the {self.forge} API at {self._base}: {type(e).__name__}",
                        "check api_url and the network; a rerun is safe",
                    ) from e
                self._sleep(2.0**failures)
                continue
            status = response.status_code
            if status in allow:
                return response
            pause = self._rate_limit_pause(response)
            if pause is not None:
                if waited + pause > MAX_WAIT:
                    raise PubgateError(
                        f"{self.forge}'s rate limit holds {method} {path} for {pause:.0f} s more",
                        "rerun later: the push is done, and a rerun only opens the pull request",
                    )
                waited += pause
                self._sleep(pause)
                continue
            if status >= 500:
                failures += 1
                if failures >= RETRIES:
                    raise PubgateError(
                        f"{self.forge} answered {status} to {method} {path}, {failures} times",
                        f"{self.forge} may be having trouble; a rerun is safe",
                    )
                self._sleep(2.0**failures)
                continue
            raise self.error(response)

    def _rate_limit_pause(self, response: httpx.Response) -> float | None:
        """Seconds to wait when the response is a rate limit, as the forges document it."""
        if response.status_code not in (403, 429):
            return None
        headers = response.headers
        retry_after = headers.get("retry-after")
        if retry_after is not None:
            try:
                return max(float(retry_after), 0.0)
            except ValueError:
                return 60.0
        for prefix in ("x-ratelimit-", "ratelimit-"):  # GitHub, then GitLab
            if headers.get(prefix + "remaining") == "0":
                try:
                    return max(float(headers.get(prefix + "reset") or "") - self._clock(), 0) + 1
                except ValueError:
                    return 60.0
        if response.status_code == 429 or "rate limit" in explain(response).lower():
            return 60.0  # GitHub: "wait at least one minute" when it gives no time
        return None

    def error(self, response: httpx.Response) -> PubgateError:
        status = response.status_code
        why = explain(response)
        if status in (401, 203):  # Azure DevOps answers a bad token with 203 and a sign-in page
            return PubgateError(
                f"{self.forge} rejected the token: {why}",
                "the token is wrong or expired; set a valid one in "
                + (
                    f"${self._variable}"
                    if self._variable
                    else "the variable github_token_env names"
                ),
            )
        if status == 403:
            return PubgateError(
                f"{self.forge} refused access to {self.repo}: {why}",
                "the token must be allowed to open pull requests on that repository",
            )
        if status == 404:
            return PubgateError(
                f"{self.forge} has no repository {self.repo}, or the token cannot see it",
                "check target_repo, and that the token has access to that repository",
            )
        return PubgateError(f"{self.forge} answered {status}: {why}", "a rerun is safe")


def explain(response: httpx.Response) -> str:
    """The forge's own words for a failed response, in one line."""
    try:
        data = response.json()
    except ValueError:
        return f"HTTP {response.status_code}"
    if not isinstance(data, dict):
        return f"HTTP {response.status_code}"
    message = data.get("message", data.get("error", f"HTTP {response.status_code}"))
    if isinstance(message, list):  # GitLab sends a list of messages
        message = "; ".join(map(str, message))
    if isinstance(message, dict):  # Bitbucket Cloud: {"error": {"message", "detail"}}
        detail = message.get("detail")
        message = str(message.get("message", "")) + (f": {detail}" if detail else "")
    details = [
        str(e.get("message") or e.get("code"))
        for e in data.get("errors", [])
        if isinstance(e, dict)
    ]
    if details and "message" not in data and "error" not in data:
        return "; ".join(details)  # Bitbucket Data Center: {"errors": [{"message"}]}
    return str(message) + (f" ({'; '.join(details)})" if details else "")
