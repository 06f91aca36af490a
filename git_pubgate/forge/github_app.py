"""GitHub App authentication: an app id and private key become a one-hour installation token.

For organisations that forbid personal tokens. The JWT is signed RS256 with ``cryptography``
(iat 60 s in the past for clock drift, exp under GitHub's 10-minute cap, iss the app id); the
installation is looked up for the target repository, and the token it yields serves both the
https push (as ``x-access-token``) and the REST API. The key comes only from the environment.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable

import httpx
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from ..errors import ConfigError, PubgateError
from .base import Location
from .github import API_VERSION
from .http import Api


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def app_jwt(app_id: str, private_key_pem: str, now: float) -> str:
    """The short-lived JWT that authenticates as the app itself."""
    try:
        key = serialization.load_pem_private_key(private_key_pem.encode(), password=None)
    except (ValueError, TypeError) as e:
        raise ConfigError(
            "the GitHub App private key is not a PEM private key",
            "put the contents of the .pem file GitHub generated in the variable "
            "github_app.private_key_env names",
        ) from e
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ConfigError("the GitHub App private key is not an RSA key", "GitHub signs RS256")
    header = _b64(json.dumps({"alg": "RS256", "typ": "JWT"}).encode())
    claims = {"iat": int(now) - 60, "exp": int(now) + 540, "iss": app_id}
    payload = _b64(json.dumps(claims, separators=(",", ":")).encode())
    signing_input = f"{header}.{payload}".encode()
    signature = key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
    return f"{header}.{payload}.{_b64(signature)}"


def installation_token(
    client: httpx.Client,
    api_url: str,
    repo: Location,
    app_id: str,
    private_key_pem: str,
    *,
    clock: Callable[[], float] = time.time,
) -> str:
    """Exchange the app's JWT for an installation token for ``repo``."""
    headers = {
        "Accept": "application/vnd.github+json",
        "X-GitHub-Api-Version": API_VERSION,
        "Authorization": f"Bearer {app_jwt(app_id, private_key_pem, clock())}",
    }
    api = Api(client, api_url, headers, forge="GitHub", repo=repo.slug)
    installation = api.request("GET", f"/repos/{repo.slug}/installation")
    installation_id = int(installation.json()["id"])
    response = api.request(
        "POST", f"/app/installations/{installation_id}/access_tokens", allow=(201,)
    )
    token = response.json().get("token")
    if not isinstance(token, str) or not token:
        raise PubgateError(
            "GitHub gave no installation token", "check the app's permissions on the repository"
        )
    return token  # formats change (ghs_..., longer ones): never assume a length
