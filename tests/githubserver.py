"""A local GitHub REST API for pull requests, on 127.0.0.1, checked against GitHub's contract.

Backed by the bare repositories the smart-HTTP git server serves (``root/OWNER/NAME.git``), so
it knows which branches exist. Every request and every response is validated with openapi-core
against ``contracts/github.json`` (GitHub's own description, trimmed); request bodies also
against a strict copy that forbids unknown keys (GitHub's own schemas allow them, so a typo
such as ``mantainer_can_modify`` would otherwise pass). What the contract cannot describe is
checked directly: the media type and API version headers, Bearer auth, and ``head=owner:branch``.
Any violation is recorded in ``errors`` and fails the test that owns the server.
"""

from __future__ import annotations

import base64
import copy
import json
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pygit2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from openapi_core import OpenAPI
from openapi_core.datatypes import RequestParameters
from openapi_core.templating.responses.exceptions import ResponseNotFound
from werkzeug.datastructures import Headers, ImmutableMultiDict

from .loopback import LoopbackServer, reply

CONTRACT = Path(__file__).resolve().parent / "contracts" / "github.json"
PREFIX = "/api/v3"


def examples_of(spec: dict[str, Any], name: str) -> Any:
    return copy.deepcopy(spec["components"]["examples"][name]["value"])


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _strict(spec: dict[str, Any]) -> dict[str, Any]:
    strict = copy.deepcopy(spec)
    for item in strict["paths"].values():
        for operation in item.values():
            body = operation.get("requestBody", {}) if isinstance(operation, dict) else {}
            schema = body.get("content", {}).get("application/json", {}).get("schema", {})
            if schema.get("type") == "object":
                schema["additionalProperties"] = False
    return strict


@dataclass
class _Request:
    host_url: str
    path: str
    method: str
    body: bytes | None
    content_type: str
    parameters: RequestParameters


@dataclass
class _Response:
    status_code: int
    data: bytes
    headers: Mapping[str, str]
    content_type: str = "application/json"


@dataclass
class Fault:
    method: str
    path_suffix: str
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None


class GitHubApiServer(LoopbackServer):
    def __init__(self, root: Path, token: str):
        super().__init__()
        self.root = root
        self.token = token
        spec = json.loads(CONTRACT.read_text())
        self._api = OpenAPI.from_dict(spec)
        self._strict = OpenAPI.from_dict(_strict(spec))
        examples = spec["components"]["examples"]
        self._example = examples["pull-request"]["value"]
        self._label_example = examples["label-items"]["value"][0]
        self._review_example = examples["pull-request-review-request"]["value"]
        self.errors: list[str] = []
        self.log: list[tuple[str, str, int]] = []
        self.pulls: dict[str, list[dict[str, Any]]] = {}
        self.faults: list[Fault] = []
        # A GitHub App: its id, public key, and the installation token it hands out.
        self.app_id: str | None = None
        self.app_public_key: Any = None
        self.installation_token: str | None = None
        self._installation_example = examples_of(spec, "installation")
        self._token_example = examples_of(spec, "installation-token")
        self._lock = threading.Lock()

    @property
    def api_url(self) -> str:
        return f"{self.base}{PREFIX}"

    # -- plumbing -------------------------------------------------------------------------
    def handle(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else None
        split = urlsplit(handler.path)
        request = _Request(
            host_url=self.base,
            path=split.path,
            method=handler.command.lower(),
            body=body,
            content_type=(handler.headers.get("Content-Type") or "").lower(),
            parameters=RequestParameters(
                query=ImmutableMultiDict(
                    [(k, v) for k, vs in parse_qs(split.query).items() for v in vs]
                ),
                header=Headers(list(handler.headers.items())),
            ),
        )
        with self._lock:
            faults_before = len(self.faults)
            status, payload, headers = self._respond(request, handler)
            injected = len(self.faults) < faults_before
        data = json.dumps(payload).encode()
        self.log.append((handler.command, split.path, status))
        # GitHub's description has no 401 responses and no 404 for listing pulls, and documents
        # rate limits and 5xx only for some operations, though GitHub sends all of these on
        # every one: those, and an injected fault of a status the operation does not describe,
        # cannot be checked. Everything else must match.
        if status not in (401, 404):
            try:
                self._api.validate_response(request, _Response(status, data, headers))
            except ResponseNotFound:
                if not injected:
                    self.errors.append(f"{handler.command} {split.path}: undescribed {status}")
            except Exception as e:  # any contract violation fails the owning test
                reason = e.__cause__ or e
                self.errors.append(f"response to {handler.command} {split.path}: {reason!r}")
        reply(handler, status, data, {**headers, "Content-Type": "application/json"})

    def _respond(
        self, request: _Request, handler: BaseHTTPRequestHandler
    ) -> tuple[int, Any, dict[str, str]]:
        h = handler.headers
        app_call = request.path.endswith("/installation") or "/app/installations/" in request.path
        if app_call:
            if not self._valid_app_jwt(h.get("Authorization", "")):
                return 401, {"message": "A JSON web token could not be decoded"}, {}
        elif h.get("Authorization") != f"Bearer {self.token}":
            return 401, {"message": "Bad credentials", "status": "401"}, {}
        if h.get("Accept") != "application/vnd.github+json":
            self.errors.append(f"Accept header was {h.get('Accept')!r}")
        if h.get("X-GitHub-Api-Version") != "2022-11-28":
            self.errors.append(f"X-GitHub-Api-Version was {h.get('X-GitHub-Api-Version')!r}")
        for validator, name in ((self._api, "contract"), (self._strict, "strict contract")):
            try:
                validator.validate_request(request)
            except Exception as e:  # any contract violation fails the owning test
                reason = e.__cause__ or e
                self.errors.append(f"{name}: {request.method} {request.path}: {reason}")
                return (
                    422,
                    {
                        "message": "Invalid request.",
                        "documentation_url": "https://docs.github.com/rest",
                    },
                    {},
                )
        for fault in self.faults:
            if fault.method == request.method.upper() and request.path.endswith(fault.path_suffix):
                self.faults.remove(fault)
                body = fault.body if fault.body is not None else {"message": "fault"}
                return fault.status, body, fault.headers
        parts = request.path.removeprefix(PREFIX).strip("/").split("/")
        if app_call:
            return self._app(request, parts)
        if len(parts) < 4 or parts[0] != "repos" or parts[3] not in ("pulls", "issues"):
            return 404, {"message": "Not Found"}, {}
        owner, name = parts[1], parts[2]
        repo_path = self.root / owner / f"{name}.git"
        if not repo_path.is_dir():
            return 404, {"message": "Not Found"}, {}
        repo = pygit2.Repository(str(repo_path))
        pulls = self.pulls.setdefault(f"{owner}/{name}", [])
        body = json.loads(request.body) if request.body else {}
        if request.method == "get" and len(parts) == 4:
            query = request.parameters.query
            head = query.get("head", "")
            if ":" not in head:
                self.errors.append(f"list with head={head!r}: GitHub would ignore it")
            branch = head.split(":", 1)[-1]
            found = [
                p
                for p in pulls
                if p["state"] == query.get("state", "open")
                and p["head"] == branch
                and p["base"] == query.get("base", p["base"])
            ]
            return 200, [self._pull(owner, name, repo, p) for p in found], {}
        if request.method == "post" and len(parts) == 4:
            for key in ("head", "base"):
                if f"refs/heads/{body[key]}" not in repo.references:
                    return 422, self._invalid(key, "invalid"), {}
            if any(p["head"] == body["head"] and p["state"] == "open" for p in pulls):
                return (
                    422,
                    {
                        "message": "Validation Failed",
                        "errors": [
                            {
                                "resource": "PullRequest",
                                "code": "custom",
                                "message": f"A pull request already exists for "
                                f"{owner}:{body['head']}.",
                            }
                        ],
                        "documentation_url": "https://docs.github.com/rest",
                    },
                    {},
                )
            pull = {
                "number": len(pulls) + 1,
                "state": "open",
                "head": body["head"],
                "base": body["base"],
                "title": body["title"],
                "body": body.get("body", ""),
                "draft": body.get("draft", False),
            }
            pulls.append(pull)
            return 201, self._pull(owner, name, repo, pull), {}
        if request.method == "post" and parts[3] == "issues" and parts[-1] == "labels":
            pull = next((p for p in pulls if p["number"] == int(parts[4])), None)
            if pull is None:
                return 404, {"message": "Not Found"}, {}
            pull["labels"] = list(body["labels"])
            return 200, [{**self._label_example, "name": n} for n in pull["labels"]], {}
        if request.method == "post" and parts[-1] == "requested_reviewers":
            pull = next((p for p in pulls if p["number"] == int(parts[4])), None)
            if pull is None:
                return 404, {"message": "Not Found"}, {}
            pull["reviewers"] = list(body.get("reviewers", []))
            simple = copy.deepcopy(self._review_example)
            # GitHub's example has requested_teams entries without the required "type".
            simple.update(
                {
                    "number": pull["number"],
                    "title": pull["title"],
                    "draft": False,
                    "requested_teams": [],
                }
            )
            for side in ("head", "base"):
                simple[side]["repo"]["language"] = None
            return 201, simple, {}
        if request.method == "patch" and len(parts) == 5:
            pull = next((p for p in pulls if p["number"] == int(parts[4])), None)
            if pull is None:
                return 404, {"message": "Not Found"}, {}
            pull.update({k: body[k] for k in ("title", "body", "state") if k in body})
            return 200, self._pull(owner, name, repo, pull), {}
        return 404, {"message": "Not Found"}, {}

    def _valid_app_jwt(self, authorization: str) -> bool:
        """RS256 signature by the app's key, iss the app id, iat past, lifetime <= 10 min."""
        if self.app_public_key is None or not authorization.startswith("Bearer "):
            return False
        try:
            header, payload, signature = authorization[7:].split(".")
            self.app_public_key.verify(
                _unb64(signature),
                f"{header}.{payload}".encode(),
                padding.PKCS1v15(),
                hashes.SHA256(),
            )
            claims = json.loads(_unb64(payload))
        except Exception:  # any malformed or forged JWT is a 401, as on GitHub
            return False
        now = time.time()
        return (
            json.loads(_unb64(header)) == {"alg": "RS256", "typ": "JWT"}
            and str(claims["iss"]) == self.app_id
            and claims["iat"] <= now < claims["exp"] <= claims["iat"] + 600
        )

    def _app(self, request: _Request, parts: list[str]) -> tuple[int, Any, dict[str, str]]:
        if request.method == "get" and parts[-1] == "installation":
            if not (self.root / parts[1] / f"{parts[2]}.git").is_dir():
                return 404, {"message": "Not Found"}, {}
            return 200, {**self._installation_example, "id": 77}, {}
        if request.method == "post" and parts[:2] == ["app", "installations"]:
            if parts[2] != "77":
                return 404, {"message": "Not Found"}, {}
            assert self.installation_token is not None
            self.token = self.installation_token  # from now on the API accepts it
            return 201, {**self._token_example, "token": self.installation_token}, {}
        return 404, {"message": "Not Found"}, {}

    def _invalid(self, field_name: str, code: str) -> dict[str, Any]:
        return {
            "message": "Validation Failed",
            "documentation_url": "https://docs.github.com/rest",
            "errors": [{"resource": "PullRequest", "field": field_name, "code": code}],
        }

    def _pull(self, owner: str, name: str, repo: pygit2.Repository, pull: dict[str, Any]) -> Any:
        out = copy.deepcopy(self._example)
        base_url = self.base
        out.update(
            {
                "number": pull["number"],
                "state": pull["state"],
                "title": pull["title"],
                "body": pull["body"],
                "draft": False,
                "requested_teams": [],
                "html_url": f"{base_url}/{owner}/{name}/pull/{pull['number']}",
                "url": f"{self.api_url}/repos/{owner}/{name}/pulls/{pull['number']}",
            }
        )
        for side in ("head", "base"):
            ref = repo.references.get(f"refs/heads/{pull[side]}")
            out[side]["ref"] = pull[side]
            out[side]["label"] = f"{owner}:{pull[side]}"
            out[side]["sha"] = str(ref.target) if ref is not None else "0" * 40
            out[side]["repo"]["language"] = None  # the example omits a required field
        return out
