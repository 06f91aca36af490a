"""git's smart-HTTP backend on 127.0.0.1, behind a Basic-auth token check, for real pushes."""

from __future__ import annotations

import base64
import os
import subprocess
from http.server import BaseHTTPRequestHandler
from pathlib import Path

from .loopback import LoopbackServer, reply


class GitHttpServer(LoopbackServer):
    """Serves every repository under ``root`` at ``http://127.0.0.1:PORT/<name>``.

    Requests without ``x-access-token:<token>`` get 401, as GitHub answers a push without
    credentials. ``seen_auth`` records which usernames authenticated.
    """

    def __init__(self, root: Path, token: str):
        super().__init__()
        self.root = root
        self.token = token
        self.seen_auth: list[str] = []
        self.rejected = 0

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/{name}"

    def _authorised(self, request: BaseHTTPRequestHandler) -> str | None:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return None
        user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        return user if user == "x-access-token" and password == self.token else None

    def _body(self, request: BaseHTTPRequestHandler) -> bytes:
        if request.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(request.rfile.readline().strip(), 16)
                if size == 0:
                    request.rfile.readline()
                    return b"".join(chunks)
                chunks.append(request.rfile.read(size))
                request.rfile.readline()
        length = int(request.headers.get("Content-Length") or 0)
        return request.rfile.read(length) if length else b""

    def handle(self, request: BaseHTTPRequestHandler) -> None:
        body = self._body(request)
        user = self._authorised(request)
        if user is None:
            self.rejected += 1
            reply(request, 401, b"", {"WWW-Authenticate": 'Basic realm="git"'})
            return
        self.seen_auth.append(user)
        path, _, query = request.path.partition("?")
        env = {
            "PATH": os.environ["PATH"],
            "GIT_PROJECT_ROOT": str(self.root),
            "GIT_HTTP_EXPORT_ALL": "1",
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": "/dev/null",
            "REQUEST_METHOD": request.command,
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "CONTENT_TYPE": request.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)),
            "REMOTE_USER": user,  # http-backend enables receive-pack for authenticated users
            "REMOTE_ADDR": "127.0.0.1",
            "GIT_PROTOCOL": request.headers.get("Git-Protocol", ""),
            "HTTP_CONTENT_ENCODING": request.headers.get("Content-Encoding", ""),
        }
        done = subprocess.run(
            ["git", "http-backend"], input=body, env=env, capture_output=True, check=False
        )
        head, _, payload = done.stdout.partition(b"\r\n\r\n")
        status = 200
        headers = {}
        for line in head.decode("latin-1").split("\r\n"):
            name, _, value = line.partition(":")
            if name.lower() == "status":
                status = int(value.strip().split()[0])
            elif name:
                headers[name] = value.strip()
        reply(request, status, payload, headers)
