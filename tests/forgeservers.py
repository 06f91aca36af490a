"""Small GitLab and Gitea API servers on 127.0.0.1, built from their documented shapes.

Like the GitHub one, they are backed by the bare repositories the git server serves (so they
know which branches exist), check the auth header each forge documents, refuse request keys
they do not know, and record every deviation in ``errors`` for the owning test to fail on.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pygit2

from .githubserver import Fault
from .loopback import LoopbackServer, reply_json

Reply = tuple[int, Any, dict[str, str]]


class _ForgeServer(LoopbackServer):
    prefix = ""

    def __init__(self, root: Path, token: str):
        super().__init__()
        self.root = root
        self.token = token
        self.errors: list[str] = []
        self.log: list[tuple[str, str, int]] = []
        self.pulls: dict[str, list[dict[str, Any]]] = {}
        self.faults: list[Fault] = []
        self._lock = threading.Lock()

    @property
    def api_url(self) -> str:
        return self.base + self.prefix

    def handle(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        split = urlsplit(handler.path)
        query = {k: v[0] for k, v in parse_qs(split.query).items()}
        with self._lock:
            status, payload, headers = self._dispatch(handler, split.path, query, raw)
        self.log.append((handler.command, split.path, status))
        reply_json(handler, status, payload, headers)

    def _dispatch(
        self, handler: BaseHTTPRequestHandler, path: str, query: dict[str, str], raw: bytes
    ) -> Reply:
        if not self.authorised(handler):
            return 401, {"message": "401 Unauthorized"}, {}
        for fault in self.faults:
            if fault.method == handler.command and path.endswith(fault.path_suffix):
                self.faults.remove(fault)
                return fault.status, fault.body if fault.body is not None else {}, fault.headers
        body = json.loads(raw) if raw else {}
        return self.route(handler.command, path.removeprefix(self.prefix), query, body)

    def _repo(self, slug: str) -> pygit2.Repository | None:
        path = self.root / f"{slug}.git"
        return pygit2.Repository(str(path)) if path.is_dir() else None

    def _strict(
        self, body: dict[str, Any], allowed: set[str], required: set[str], where: str
    ) -> None:
        if unknown := set(body) - allowed:
            self.errors.append(f"{where}: unknown keys {sorted(unknown)}")
        if missing := required - set(body):
            self.errors.append(f"{where}: missing {sorted(missing)}")

    def authorised(self, handler: BaseHTTPRequestHandler) -> bool:
        raise NotImplementedError

    def route(self, method: str, path: str, query: dict[str, str], body: Any) -> Reply:
        raise NotImplementedError


class GitLabServer(_ForgeServer):
    """``/api/v4`` merge requests: PRIVATE-TOKEN auth, project ids as URL-encoded paths."""

    prefix = "/api/v4"

    def authorised(self, handler: BaseHTTPRequestHandler) -> bool:
        return handler.headers.get("PRIVATE-TOKEN") == self.token

    def _mr(self, slug: str, mr: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": 1000 + mr["iid"],
            "iid": mr["iid"],
            "project_id": 1,
            "title": mr["title"],
            "description": mr["description"],
            "state": mr["state"],
            "source_branch": mr["source_branch"],
            "target_branch": mr["target_branch"],
            "labels": mr.get("labels", []),
            "draft": mr["title"].startswith("Draft:"),
            "web_url": f"{self.base}/{slug}/-/merge_requests/{mr['iid']}",
        }

    def route(self, method: str, path: str, query: dict[str, str], body: Any) -> Reply:
        parts = path.strip("/").split("/")
        if len(parts) < 3 or parts[0] != "projects" or parts[2] != "merge_requests":
            return 404, {"message": "404 Not Found"}, {}
        if "%2F" not in parts[1].upper():
            self.errors.append(f"project id {parts[1]!r} is not a URL-encoded path")
        slug = unquote(parts[1])
        repo = self._repo(slug)
        if repo is None:
            return 404, {"message": "404 Project Not Found"}, {}
        mrs = self.pulls.setdefault(slug, [])
        if method == "GET" and len(parts) == 3:
            found = [
                m
                for m in mrs
                if m["state"] == query.get("state")
                and m["source_branch"] == query.get("source_branch")
                and m["target_branch"] == query.get("target_branch", m["target_branch"])
            ]
            return 200, [self._mr(slug, m) for m in found], {}
        if method == "POST" and len(parts) == 3:
            self._strict(
                body,
                {"source_branch", "target_branch", "title", "description", "labels"},
                {"source_branch", "target_branch", "title"},
                "create",
            )
            if f"refs/heads/{body['target_branch']}" not in repo.references:
                return 400, {"message": ["Target branch does not exist"]}, {}
            if any(
                m["source_branch"] == body["source_branch"] and m["state"] == "opened" for m in mrs
            ):
                return (
                    409,
                    {
                        "message": [
                            "Another open merge request already exists for this source branch: !1"
                        ]
                    },
                    {},
                )
            mr = {
                "iid": len(mrs) + 1,
                "state": "opened",
                "description": "",
                **{k: v for k, v in body.items() if k != "labels"},
                "labels": body.get("labels", "").split(",") if body.get("labels") else [],
            }
            mrs.append(mr)
            return 201, self._mr(slug, mr), {}
        if method == "PUT" and len(parts) == 4:
            self._strict(body, {"title", "description", "state_event"}, set(), "update")
            mr = next((m for m in mrs if m["iid"] == int(parts[3])), None)
            if mr is None:
                return 404, {"message": "404 Not found"}, {}
            event = body.pop("state_event", None)
            if event is not None:
                mr["state"] = {"close": "closed", "reopen": "opened"}[event]
            mr.update(body)
            return 200, self._mr(slug, mr), {}
        return 404, {"message": "404 Not Found"}, {}


class GiteaServer(_ForgeServer):
    """``/api/v1`` pull requests: ``token`` auth, lookup by base/head, 201 on edit."""

    prefix = "/api/v1"

    def authorised(self, handler: BaseHTTPRequestHandler) -> bool:
        return handler.headers.get("Authorization") == f"token {self.token}"

    def _pr(self, slug: str, pr: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": 500 + pr["number"],
            "number": pr["number"],
            "title": pr["title"],
            "body": pr["body"],
            "state": pr["state"],
            "html_url": f"{self.base}/{slug}/pulls/{pr['number']}",
            "head": {"ref": pr["head"]},
            "base": {"ref": pr["base"]},
        }

    def route(self, method: str, path: str, query: dict[str, str], body: Any) -> Reply:
        parts = [unquote(p) for p in path.strip("/").split("/")]
        if len(parts) < 4 or parts[0] != "repos" or parts[3] != "pulls":
            return 404, {"message": "The target couldn't be found.", "errors": []}, {}
        slug = f"{parts[1]}/{parts[2]}"
        repo = self._repo(slug)
        if repo is None:
            return 404, {"message": "The target couldn't be found.", "errors": []}, {}
        prs = self.pulls.setdefault(slug, [])
        if method == "GET" and len(parts) == 6:
            base, head = parts[4], parts[5]
            found = [p for p in prs if p["base"] == base and p["head"] == head]
            if not found:
                return 404, {"message": "The target couldn't be found.", "errors": []}, {}
            return 200, self._pr(slug, found[-1]), {}
        if method == "POST" and len(parts) == 4:
            self._strict(
                body, {"head", "base", "title", "body"}, {"head", "base", "title"}, "create"
            )
            if f"refs/heads/{body['base']}" not in repo.references:
                return 404, {"message": "The target couldn't be found.", "errors": []}, {}
            if any(
                p["head"] == body["head"] and p["base"] == body["base"] and p["state"] == "open"
                for p in prs
            ):
                return 409, {"message": "pull request already exists for these targets"}, {}
            pr = {"number": len(prs) + 1, "state": "open", "body": "", **body}
            prs.append(pr)
            return 201, self._pr(slug, pr), {}
        if method == "PATCH" and len(parts) == 5:
            self._strict(body, {"title", "body", "state"}, set(), "edit")
            pr = next((p for p in prs if p["number"] == int(parts[4])), None)
            if pr is None:
                return 404, {"message": "The target couldn't be found.", "errors": []}, {}
            pr.update(body)
            return 201, self._pr(slug, pr), {}
        if method == "POST" and len(parts) == 6 and parts[5] == "requested_reviewers":
            self._strict(body, {"reviewers", "team_reviewers"}, {"reviewers"}, "reviewers")
            return 201, [], {}
        return 404, {"message": "The target couldn't be found.", "errors": []}, {}


SERVERS: dict[str, Callable[[Path, str], _ForgeServer]] = {
    "gitlab": GitLabServer,
    "gitea": GiteaServer,
}
