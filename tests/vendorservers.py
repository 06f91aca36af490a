"""Azure DevOps and Bitbucket (Cloud, Data Center) pull-request APIs on 127.0.0.1, each checked
against the vendor's own API description (``contracts/``, trimmed; see its README).

Like the GitHub stand-in, they are backed by the bare repositories the git server serves (so they
know which branches exist). Every request is validated with openapi-core against the vendor's
description, and its JSON body once more for keys the description does not declare (typos pass
schemas that allow any key); every response the stand-in sends is validated too. What a
description cannot say (auth headers, Bitbucket's filter language, Data Center's versions, Azure
DevOps' ``api-version`` values and wire forms) is checked directly. Every deviation lands in
``errors``, which the owning test asserts empty.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qs, unquote, urlsplit

import pygit2
from openapi_core import OpenAPI
from openapi_core.datatypes import RequestParameters
from openapi_core.templating.responses.exceptions import ResponseNotFound
from werkzeug.datastructures import Headers, ImmutableMultiDict

from .contracts.swagger2 import to_openapi3
from .githubserver import Fault, _Request, _Response
from .loopback import LoopbackServer, reply

CONTRACTS = Path(__file__).resolve().parent / "contracts"
FILES = {
    "azure": "azure-devops.json",
    "bitbucket": "bitbucket-cloud.json",
    "bitbucket-server": "bitbucket-data-center.json",
}
WHEN = "2026-11-30T08:00:00Z"
Reply = tuple[int, Any, dict[str, str]]


def contract(kind: str) -> dict[str, Any]:
    """The vendor's trimmed description, as openapi-core reads it, served from any host."""
    spec: dict[str, Any] = json.loads((CONTRACTS / FILES[kind]).read_text())
    if kind == "azure":
        return to_openapi3(spec)  # Swagger 2.0 as Microsoft publishes it
    if kind == "bitbucket":
        # Described at https://api.bitbucket.org/2.0 only; the stand-in serves the same paths.
        spec["servers"].append(
            {"url": "http://{host}/2.0", "variables": {"host": {"default": "api.bitbucket.org"}}}
        )
        # openapi-core cannot check OAuth 2 requirements; the Basic and API-key alternatives
        # stay (the stand-in checks the Authorization header itself).
        for item in spec["paths"].values():
            for operation in item.values():
                if isinstance(operation, dict) and "security" in operation:
                    operation["security"] = [r for r in operation["security"] if "oauth2" not in r]
    return spec


def _resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        node: Any = spec
        for part in schema["$ref"].split("/")[1:]:
            node = node[part]
        schema = node
    return schema


def _properties(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any] | None:
    """Every property a schema declares, through allOf; None when it declares none."""
    schema = _resolve(spec, schema)
    found: dict[str, Any] | None = None
    if "properties" in schema:
        found = dict(schema["properties"])
    for part in schema.get("allOf", []):
        more = _properties(spec, part)
        if more is not None:
            found = {**(found or {}), **more}
    return found


def undeclared(spec: dict[str, Any], schema: dict[str, Any], value: Any, where: str) -> list[str]:
    """Keys of ``value`` that ``schema`` (resolved, through allOf) does not declare."""
    schema = _resolve(spec, schema)
    if isinstance(value, list) and "items" in schema:
        return [k for item in value for k in undeclared(spec, schema["items"], item, where + "[]")]
    if not isinstance(value, dict):
        return []
    declared = _properties(spec, schema)
    if declared is None:
        return []
    out = []
    for key, item in value.items():
        if key not in declared:
            out.append(f"{where}{key}")
        else:
            out += undeclared(spec, declared[key], item, f"{where}{key}.")
    return out


def _template(path: str) -> re.Pattern[str]:
    return re.compile(
        re.sub(r"\\\{([^/]*?)\\\}", lambda m: f"(?P<{m.group(1)}>[^/]+)", re.escape(path)) + "$"
    )


@dataclass
class Pull:
    """A pull request as every stand-in keeps it, whatever the vendor calls its fields."""

    number: int
    head: str
    base: str
    title: str
    body: str
    draft: bool = False
    state: str = "open"  # open, closed
    labels: list[str] = field(default_factory=list)
    reviewers: list[str] = field(default_factory=list)
    version: int = 0  # Bitbucket Data Center's optimistic lock


class ContractServer(LoopbackServer):
    kind: ClassVar[str]
    prefix: ClassVar[str]  # the path where the description's paths begin
    media: ClassVar[str] = "application/json"
    # Request keys a vendor documents in prose but not in its schema: (method, path) -> keys.
    documented: ClassVar[dict[tuple[str, str], set[str]]] = {}

    def __init__(self, root: Path, token: str):
        super().__init__()
        self.root = root
        self.token = token
        self.spec = contract(self.kind)
        self._api = OpenAPI.from_dict(self.spec)
        self._operations = [
            (method, path, _template(path), operation)
            for path, item in self.spec["paths"].items()
            for method, operation in item.items()
            if method != "parameters"
        ]
        self.errors: list[str] = []
        self.log: list[tuple[str, str, int]] = []
        self.bodies: list[tuple[str, str, Any]] = []
        self.pulls: dict[str, list[Pull]] = {}
        self.faults: list[Fault] = []
        self.operations: set[tuple[str, str]] = set()  # (method, path) of each call seen
        self.suppress_redirect = False  # Azure DevOps: the request asked for 401, not 203
        self._lock = threading.Lock()

    @property
    def api_url(self) -> str:
        raise NotImplementedError

    def handle(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else None
        split = urlsplit(handler.path)
        pairs = [(k, v) for k, vs in parse_qs(split.query).items() for v in vs]
        request = _Request(
            host_url=self.base,
            path=split.path,
            method=handler.command.lower(),
            body=body,
            content_type=(handler.headers.get("Content-Type") or "").lower(),
            parameters=RequestParameters(
                query=ImmutableMultiDict(pairs), header=Headers(list(handler.headers.items()))
            ),
        )
        with self._lock:
            faults_before = len(self.faults)
            status, payload, headers = self._respond(request, handler, dict(pairs))
            injected = len(self.faults) < faults_before
        data = json.dumps(payload).encode()
        self.log.append((handler.command, split.path, status))
        if not injected:
            self._check_response(request, status, payload, headers)
        reply(handler, status, data, {**headers, "Content-Type": self.media})

    def _check_response(
        self, request: _Request, status: int, payload: Any, headers: dict[str, str]
    ) -> None:
        described_status, described = self.described(request.method, status, payload)
        data = json.dumps(described).encode()
        response = _Response(described_status, data, headers, self.media)
        try:
            self._api.validate_response(request, response)
        except ResponseNotFound:
            # Vendors describe few of their error answers; those follow their documented shape.
            if status < 400:
                self.errors.append(f"{request.method} {request.path}: undescribed {status}")
        except Exception as e:  # any contract violation fails the owning test
            reason = e.__cause__ or e
            self.errors.append(f"response to {request.method} {request.path}: {reason!r}")

    def _respond(
        self, request: _Request, handler: BaseHTTPRequestHandler, query: dict[str, str]
    ) -> Reply:
        self.suppress_redirect = handler.headers.get("X-TFS-FedAuthRedirect") == "Suppress"
        if not self.authorised(handler.headers.get("Authorization") or ""):
            return self.unauthorised()
        try:
            self._api.validate_request(request)
        except Exception as e:  # any contract violation fails the owning test
            reason = e.__cause__ or e
            self.errors.append(f"contract: {request.method} {request.path}: {reason}")
            return 400, self.error_body(f"invalid request: {reason}"), {}
        path = request.path.removeprefix(self.prefix)
        found = self._operation(request.method, path)
        if found is None:
            self.errors.append(f"{request.method} {path}: not in the contract")
            return 404, self.error_body("not found"), {}
        template, operation, params = found
        self.operations.add((request.method, template))
        body = json.loads(request.body) if request.body else None
        self.bodies.append((request.method.upper(), path, body))
        schema = (
            operation.get("requestBody", {})
            .get("content", {})
            .get("application/json", {})
            .get("schema")
        )
        if schema is not None and body is not None:
            allowed = self.documented.get((request.method, template), set())
            unknown = [k for k in undeclared(self.spec, schema, body, "") if k not in allowed]
            if unknown:
                self.errors.append(f"{request.method} {path}: undeclared keys {unknown}")
        for fault in self.faults:
            if fault.method == request.method.upper() and path.endswith(fault.path_suffix):
                self.faults.remove(fault)
                payload = fault.body if fault.body is not None else self.error_body("fault")
                return fault.status, payload, fault.headers
        return self.route(request.method, template, params, query, body or {})

    def _operation(
        self, method: str, path: str
    ) -> tuple[str, dict[str, Any], dict[str, str]] | None:
        for candidate, template, pattern, operation in self._operations:
            match = pattern.match(path)
            if candidate == method and match:
                return template, operation, {k: unquote(v) for k, v in match.groupdict().items()}
        return None

    def _repo(self, *parts: str) -> pygit2.Repository | None:
        path = self.root.joinpath(*parts[:-1], f"{parts[-1]}.git")
        return pygit2.Repository(str(path)) if path.is_dir() else None

    @staticmethod
    def _tip(repo: pygit2.Repository, branch: str) -> str | None:
        ref = repo.references.get(f"refs/heads/{branch}")
        return str(ref.target) if ref is not None else None

    def _basic_password(self, authorization: str) -> str | None:
        if not authorization.startswith("Basic "):
            return None
        _, _, password = base64.b64decode(authorization[6:]).decode().partition(":")
        return password

    def described(self, method: str, status: int, payload: Any) -> tuple[int, Any]:
        """The status and body the description names for what the vendor sends on the wire."""
        return status, payload

    def authorised(self, authorization: str) -> bool:
        raise NotImplementedError

    def unauthorised(self) -> Reply:
        raise NotImplementedError

    def error_body(self, message: str) -> Any:
        raise NotImplementedError

    def route(
        self,
        method: str,
        template: str,
        params: dict[str, str],
        query: dict[str, str],
        body: dict[str, Any],
    ) -> Reply:
        raise NotImplementedError


class AzureDevOpsServer(ContractServer):
    """``/{organization}/{project}/_apis/git/repositories/{repositoryId}/pullrequests``; the
    repository ``{root}/{organization}/{project}/_git/{repositoryId}.git``."""

    kind = "azure"
    prefix = ""
    API_VERSIONS: ClassVar[set[str]] = {"7.1", "6.0"}
    DESCRIPTION_LIMIT = 4000

    @property
    def api_url(self) -> str:
        return f"{self.base}/org"

    def authorised(self, authorization: str) -> bool:
        return self._basic_password(authorization) == self.token

    def unauthorised(self) -> Reply:
        # With X-TFS-FedAuthRedirect: Suppress, a bad personal access token gets 401 (without
        # it, 203 and a sign-in page, which the client also reads as a rejected token).
        if self.suppress_redirect is False:
            return 203, {}, {}
        return 401, {}, {}

    def error_body(self, message: str) -> Any:
        return {"$id": "1", "innerException": None, "message": message, "errorCode": 0}

    def described(self, method: str, status: int, payload: Any) -> tuple[int, Any]:
        # Microsoft's own recorded examples (httpExamples/pullRequests/ beside git.json) show
        # what the description does not: a create answers 201, a list is {"count", "value"}.
        if method == "post" and status == 201:
            return 200, payload
        if method == "get" and status == 200:
            if payload.get("count") != len(payload.get("value", [])):
                self.errors.append(f"list count {payload.get('count')} is wrong")
            return 200, payload["value"]
        return status, payload

    def _pr(self, params: dict[str, str], pull: Pull) -> dict[str, Any]:
        org, project, name = params["organization"], params["project"], params["repositoryId"]
        api = f"{self.base}/{org}/{project}/_apis/git/repositories/{name}"
        return {
            "pullRequestId": pull.number,
            "codeReviewId": pull.number,
            "status": "active" if pull.state == "open" else "abandoned",
            "title": pull.title,
            "description": pull.body,
            "sourceRefName": f"refs/heads/{pull.head}",
            "targetRefName": f"refs/heads/{pull.base}",
            "isDraft": pull.draft,
            "mergeStatus": "succeeded",
            "creationDate": WHEN,
            "createdBy": {"id": str(uuid.uuid5(uuid.NAMESPACE_URL, "bot")), "displayName": "Bot"},
            "repository": {
                "id": str(uuid.uuid5(uuid.NAMESPACE_URL, api)),
                "name": name,
                "url": api,
                "project": {"id": str(uuid.uuid5(uuid.NAMESPACE_URL, project)), "name": project},
            },
            "labels": [
                {"id": str(uuid.uuid5(uuid.NAMESPACE_URL, n)), "name": n, "active": True}
                for n in pull.labels
            ],
            "reviewers": [{"id": r, "vote": 0} for r in pull.reviewers],
            "url": f"{api}/pullRequests/{pull.number}",
            "supportsIterations": True,
        }

    def route(
        self,
        method: str,
        template: str,
        params: dict[str, str],
        query: dict[str, str],
        body: dict[str, Any],
    ) -> Reply:
        if query.get("api-version") not in self.API_VERSIONS:
            self.errors.append(f"api-version was {query.get('api-version')!r}")
        org, project, name = params["organization"], params["project"], params["repositoryId"]
        repo = self._repo(org, project, "_git", name)
        if repo is None:
            return 404, self.error_body(f"TF401019: The Git repository {name} does not exist"), {}
        pulls = self.pulls.setdefault(f"{org}/{project}/{name}", [])
        if len(body.get("description", "")) > self.DESCRIPTION_LIMIT:
            return 400, self.error_body("The description exceeds 4000 characters"), {}
        if method == "get":
            wanted = {"active": "open", "abandoned": "closed"}[query["searchCriteria.status"]]
            found = [
                p
                for p in pulls
                if p.state == wanted
                and f"refs/heads/{p.head}" == query["searchCriteria.sourceRefName"]
                and f"refs/heads/{p.base}" == query["searchCriteria.targetRefName"]
            ]
            return 200, {"count": len(found), "value": [self._pr(params, p) for p in found]}, {}
        if method == "post":
            head = body["sourceRefName"].removeprefix("refs/heads/")
            base = body["targetRefName"].removeprefix("refs/heads/")
            if self._tip(repo, base) is None or self._tip(repo, head) is None:
                message = "TF401398: The pull request cannot be activated because the source "
                return (
                    400,
                    self.error_body(message + "and/or the target branch no longer exists"),
                    {},
                )
            if any(p.head == head and p.base == base and p.state == "open" for p in pulls):
                message = "TF401179: An active pull request for the source and target branch "
                return 409, self.error_body(message + "already exists."), {}
            pull = Pull(
                len(pulls) + 1,
                head,
                base,
                body["title"],
                body.get("description", ""),
                draft=body.get("isDraft", False),
                labels=[label["name"] for label in body.get("labels", [])],
                reviewers=[r["id"] for r in body.get("reviewers", [])],
            )
            pulls.append(pull)
            return 201, self._pr(params, pull), {}
        pull = next((p for p in pulls if p.number == int(params["pullRequestId"])), None)
        if pull is None:
            return 404, self.error_body("TF401180: The requested pull request was not found."), {}
        pull.title = body.get("title", pull.title)
        pull.body = body.get("description", pull.body)
        if body.get("status") == "abandoned":
            pull.state = "closed"
        return 200, self._pr(params, pull), {}


class BitbucketCloudServer(ContractServer):
    """``/2.0/repositories/{workspace}/{repo_slug}/pullrequests``; the repository
    ``{root}/{workspace}/{repo_slug}.git``."""

    kind = "bitbucket"
    prefix = "/2.0"
    PULLS = "/repositories/{workspace}/{repo_slug}/pullrequests"
    # Bitbucket's create operation documents "description - a string" in its prose only.
    documented: ClassVar[dict[tuple[str, str], set[str]]] = {
        ("post", PULLS): {"description"},
        ("put", PULLS + "/{pull_request_id}"): {"description"},
    }
    FILTER = re.compile(
        r'^source\.branch\.name = "((?:[^"\\]|\\.)*)" AND '
        r'destination\.branch\.name = "((?:[^"\\]|\\.)*)"$'
    )

    @property
    def api_url(self) -> str:
        return f"{self.base}/2.0"

    def authorised(self, authorization: str) -> bool:
        return authorization == f"Bearer {self.token}" or (
            self._basic_password(authorization) == self.token
        )

    def unauthorised(self) -> Reply:
        return 401, self.error_body("Token is invalid or not supported for this endpoint."), {}

    def error_body(self, message: str) -> Any:
        return {"type": "error", "error": {"message": message}}

    def _pr(self, params: dict[str, str], repo: pygit2.Repository, pull: Pull) -> dict[str, Any]:
        workspace, slug = params["workspace"], params["repo_slug"]
        page = f"{self.base}/{workspace}/{slug}/pull-requests/{pull.number}"

        def end(branch: str) -> dict[str, Any]:
            tip = self._tip(repo, branch) or "0" * 40
            return {
                "branch": {"name": branch},
                "commit": {"hash": tip[:12]},
                "repository": {"type": "repository", "full_name": f"{workspace}/{slug}"},
            }

        return {
            "type": "pullrequest",
            "id": pull.number,
            "title": pull.title,
            "description": pull.body,
            "summary": {"raw": pull.body, "markup": "markdown", "html": ""},
            "state": "OPEN" if pull.state == "open" else "DECLINED",
            "draft": pull.draft,
            "source": end(pull.head),
            "destination": end(pull.base),
            "author": {
                "type": "user",
                "display_name": "Bot",
                "uuid": "{" + str(uuid.UUID(int=1)) + "}",
            },
            "reviewers": [{"type": "user", "uuid": r} for r in pull.reviewers],
            "participants": [],
            "close_source_branch": False,
            "comment_count": 0,
            "task_count": 0,
            "created_on": WHEN,
            "updated_on": WHEN,
            "links": {"html": {"href": page}, "self": {"href": f"{self.api_url}/x/{pull.number}"}},
        }

    def route(
        self,
        method: str,
        template: str,
        params: dict[str, str],
        query: dict[str, str],
        body: dict[str, Any],
    ) -> Reply:
        repo = self._repo(params["workspace"], params["repo_slug"])
        if repo is None:
            return 404, self.error_body("Repository not found"), {}
        pulls = self.pulls.setdefault(f"{params['workspace']}/{params['repo_slug']}", [])
        if method == "get":
            wanted = self.FILTER.match(query.get("q", ""))
            if wanted is None:
                self.errors.append(f"filter q={query.get('q')!r} is not the one expected")
                return 400, self.error_body("Invalid filter"), {}
            head, base = (json.loads(f'"{g}"') for g in wanted.groups())
            found = [
                p
                for p in pulls
                if p.head == head
                and p.base == base
                and (p.state == "open") == (query.get("state") == "OPEN")
            ]
            values = [self._pr(params, repo, p) for p in found]
            return 200, {"values": values, "pagelen": 10, "size": len(values), "page": 1}, {}
        if template == self.PULLS:
            head = body["source"]["branch"]["name"]
            base = body.get("destination", {}).get("branch", {}).get("name", "main")
            if body.get("type") != "pullrequest":
                self.errors.append(f"create without type 'pullrequest': {body.get('type')!r}")
            if self._tip(repo, base) is None or self._tip(repo, head) is None:
                return 400, self.error_body(f"branch not found: {base}"), {}
            if any(p.head == head and p.base == base and p.state == "open" for p in pulls):
                return 400, self.error_body("There is already an open pull request"), {}
            pull = Pull(
                len(pulls) + 1,
                head,
                base,
                body["title"],
                body.get("description", ""),
                draft=body.get("draft", False),
                reviewers=[r["uuid"] for r in body.get("reviewers", [])],
            )
            pulls.append(pull)
            return 201, self._pr(params, repo, pull), {}
        pull = next((p for p in pulls if p.number == int(params["pull_request_id"])), None)
        if pull is None:
            return 404, self.error_body("Pull request not found"), {}
        if template.endswith("/decline"):
            pull.state = "closed"
        else:
            if pull.state != "open":
                return 400, self.error_body("Only open pull requests can be updated"), {}
            pull.title = body.get("title", pull.title)
            pull.body = body.get("description", pull.body)
        return 200, self._pr(params, repo, pull), {}


class BitbucketDataCenterServer(ContractServer):
    """``/rest/api/latest/projects/{projectKey}/repos/{repositorySlug}/pull-requests``; the
    repository ``{root}/scm/{projectKey}/{repositorySlug}.git``."""

    kind = "bitbucket-server"
    prefix = "/rest"
    media = "application/json;charset=UTF-8"
    PULLS = "/api/latest/projects/{projectKey}/repos/{repositorySlug}/pull-requests"

    @property
    def api_url(self) -> str:
        return f"{self.base}/rest/api/latest"

    def authorised(self, authorization: str) -> bool:
        return authorization == f"Bearer {self.token}" or (
            self._basic_password(authorization) == self.token
        )

    def unauthorised(self) -> Reply:
        return 401, self.error_body("Authentication failed. Please check your credentials."), {}

    def error_body(self, message: str, exception: str = "") -> Any:
        error = {"message": message}
        if exception:
            error["exceptionName"] = exception
        return {"errors": [error]}

    def _pr(self, params: dict[str, str], repo: pygit2.Repository, pull: Pull) -> dict[str, Any]:
        key, slug = params["projectKey"], params["repositorySlug"]

        def ref(branch: str) -> dict[str, Any]:
            return {
                "id": f"refs/heads/{branch}",
                "displayId": branch,
                "latestCommit": self._tip(repo, branch) or "0" * 40,
                "repository": {"slug": slug, "name": slug, "project": {"key": key}},
            }

        def person(name: str, role: str) -> dict[str, Any]:
            user = {"name": name, "slug": name, "displayName": name.title(), "active": True}
            return {"user": user, "role": role, "approved": False, "status": "UNAPPROVED"}

        open_ = pull.state == "open"
        return {
            "id": pull.number,
            "version": pull.version,
            "title": pull.title,
            "description": pull.body,
            "state": "OPEN" if open_ else "DECLINED",
            "open": open_,
            "closed": not open_,
            "draft": pull.draft,
            "locked": False,
            "createdDate": 1_796_000_000_000,
            "updatedDate": 1_796_000_000_000 + pull.version,
            "fromRef": ref(pull.head),
            "toRef": ref(pull.base),
            "author": person("bot", "AUTHOR"),
            "reviewers": [person(r, "REVIEWER") for r in pull.reviewers],
            "participants": [],
        }

    def route(
        self,
        method: str,
        template: str,
        params: dict[str, str],
        query: dict[str, str],
        body: dict[str, Any],
    ) -> Reply:
        key, slug = params["projectKey"], params["repositorySlug"]
        repo = self._repo("scm", key, slug)
        if repo is None:
            message = f"Repository {key}/{slug} does not exist."
            return (
                404,
                self.error_body(
                    message, "com.atlassian.bitbucket.repository.NoSuchRepositoryException"
                ),
                {},
            )
        pulls = self.pulls.setdefault(f"{key}/{slug}", [])
        if method == "get":
            if query.get("direction", "INCOMING") != "OUTGOING":
                self.errors.append("listing by 'at' without direction=OUTGOING matches targets")
            found = [
                p
                for p in pulls
                if f"refs/heads/{p.head}" == query.get("at")
                and (p.state == "open") == (query.get("state") == "OPEN")
            ]
            values = [self._pr(params, repo, p) for p in found]
            page = {"size": len(values), "limit": 25, "isLastPage": True, "start": 0}
            return 200, {**page, "values": values}, {}
        if template == self.PULLS:
            refs = (body["fromRef"], body["toRef"])
            for ref in refs:
                where = ref.get("repository", {})
                if (where.get("slug"), where.get("project", {}).get("key")) != (slug, key):
                    self.errors.append(f"ref {ref} names another repository")
            head, base = (r["id"].removeprefix("refs/heads/") for r in refs)
            if self._tip(repo, base) is None or self._tip(repo, head) is None:
                return 400, self.error_body(f"Repository {slug} does not have branch {base}."), {}
            if any(p.head == head and p.base == base and p.state == "open" for p in pulls):
                return (
                    409,
                    self.error_body(
                        "Only one pull request may be open for a given source and target branch",
                        "com.atlassian.bitbucket.pull.DuplicatePullRequestException",
                    ),
                    {},
                )
            pull = Pull(
                len(pulls) + 1,
                head,
                base,
                body["title"],
                body.get("description", ""),
                draft=body.get("draft", False),
                reviewers=[r["user"]["name"] for r in body.get("reviewers", [])],
            )
            pulls.append(pull)
            return 201, self._pr(params, repo, pull), {}
        pull = next((p for p in pulls if p.number == int(params["pullRequestId"])), None)
        if pull is None:
            return 404, self.error_body("No such pull request"), {}
        version = query.get("version") if template.endswith("/decline") else body.get("version")
        if str(version) != str(pull.version):
            return (
                409,
                self.error_body(
                    "You are attempting to modify a pull request based on out-of-date information.",
                    "com.atlassian.bitbucket.pull.PullRequestOutOfDateException",
                ),
                {},
            )
        pull.version += 1
        if template.endswith("/decline"):
            pull.state = "closed"
        else:
            pull.title = body.get("title", pull.title)
            pull.body = body.get("description", pull.body)
            pull.reviewers = [r["user"]["name"] for r in body.get("reviewers", [])]
        return 200, self._pr(params, repo, pull), {}


SERVERS: dict[str, Callable[[Path, str], ContractServer]] = {
    "azure": AzureDevOpsServer,
    "bitbucket": BitbucketCloudServer,
    "bitbucket-server": BitbucketDataCenterServer,
}
