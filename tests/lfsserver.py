"""git and Git LFS on one 127.0.0.1 origin, as GitHub, GitLab and Gitea serve them.

Repositories under ROOT are served by ``git http-backend``; ``<repo>.git/info/lfs/`` by
giftless (a real LFS server, PyPI) with its local storage in STORAGE, where each object lands as
``STORAGE/<org>/<repo>/<oid>``. Reads are anonymous, as for a public repository; a push or an
LFS upload without ``x-access-token:<token>`` gets 401 (so clients ask their credential helpers,
as they do against a forge), a wrong token 401 too. Every request is logged to LOG as
``METHOD PATH USER STATUS``.

It runs as a child process (``python -m tests.lfsserver ROOT STORAGE LOG``, token in
``$LFS_SERVER_TOKEN``; it prints its port): giftless is a Flask application, and a server of its
own keeps Flask's import and its threads out of the test process.
"""

from __future__ import annotations

import base64
import io
import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from giftless.app import init_app
from giftless.auth.identity import Identity, Permission
from werkzeug.serving import make_server

StartResponse = Callable[..., Any]
Environ = dict[str, Any]


class _Authorised(Identity):
    """Whoever reached giftless: the WSGI layer below already checked the token.

    (giftless 0.6.2's anonymous identities refuse object-level checks, so they cannot be used.)
    """

    def is_authorized(
        self, organization: str, repo: str, permission: Permission, oid: str | None = None
    ) -> bool:
        return True


def anyone(_: object) -> Identity:
    """giftless authenticator: every request that got this far may do anything."""
    return _Authorised("tester")


def _giftless(storage: Path) -> Callable[[Environ, StartResponse], Iterable[bytes]]:
    return init_app(
        additional_config={
            "LEGACY_ENDPOINTS": False,
            "AUTH_PROVIDERS": ["tests.lfsserver:anyone"],
            "PRE_AUTHORIZED_ACTION_PROVIDER": None,
            "TRANSFER_ADAPTERS": {
                "basic": {
                    "factory": "giftless.transfer.basic_streaming:factory",
                    "options": {
                        "storage_class": "giftless.storage.local_storage:LocalStorage",
                        "storage_options": {"path": str(storage)},
                    },
                }
            },
        }
    )


class Server:
    def __init__(self, root: Path, storage: Path, log: Path, token: str):
        self.root = root
        self.token = token
        self.lfs = _giftless(storage)
        self.log = log
        self.lock = threading.Lock()

    def user(self, environ: Environ) -> str | None:
        """'x-access-token' for the right token, '' for none, None for wrong credentials."""
        header = environ.get("HTTP_AUTHORIZATION", "")
        if not header:
            return ""
        if not header.startswith("Basic "):
            return None
        user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        return user if user == "x-access-token" and password == self.token else None

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        if environ.get("wsgi.input_terminated"):  # chunked: werkzeug ends the stream for us
            body = environ["wsgi.input"].read()
        else:
            body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        path = environ.get("PATH_INFO", "")
        user = self.user(environ)
        writes = self._writes(environ, path, body)
        status = 401 if user is None or (writes and not user) else 0
        if status:
            start_response(
                "401 Unauthorized",
                [("WWW-Authenticate", 'Basic realm="git"'), ("Content-Length", "0")],
            )
            result: Iterable[bytes] = [b""]
        elif "/info/lfs/" in path:
            result = self._lfs(environ, start_response, path, user or "-")
            return result
        else:
            status, result = self._git(environ, start_response, body, user or "")
        self._note(environ["REQUEST_METHOD"], path, user or "-", status)
        return result

    def _note(self, method: str, path: str, user: str, status: int) -> None:
        with self.lock, self.log.open("a") as log:
            log.write(f"{method} {path} {user} {status}\n")

    @staticmethod
    def _writes(environ: Environ, path: str, body: bytes) -> bool:
        if "/info/lfs/" in path:
            if path.endswith("/objects/batch"):
                return bool(json.loads(body or b"{}").get("operation") == "upload")
            return environ["REQUEST_METHOD"] != "GET"  # an upload (PUT) or its verify (POST)
        query = environ.get("QUERY_STRING", "")
        return "git-receive-pack" in path or "service=git-receive-pack" in query

    def _lfs(
        self, environ: Environ, start_response: StartResponse, path: str, user: str
    ) -> Iterable[bytes]:
        seen: list[int] = []

        def noting(status: str, headers: list[tuple[str, str]], *rest: Any) -> Any:
            seen.append(int(status.split(maxsplit=1)[0]))
            return start_response(status, headers, *rest)

        chunks = list(self.lfs(environ, noting))
        self._note(environ["REQUEST_METHOD"], path, user, seen[0] if seen else 0)
        return chunks

    def _git(
        self, environ: Environ, start_response: StartResponse, body: bytes, user: str
    ) -> tuple[int, Iterable[bytes]]:
        env = {
            "PATH": os.environ["PATH"],
            "GIT_PROJECT_ROOT": str(self.root),
            "GIT_HTTP_EXPORT_ALL": "1",
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": "/dev/null",
            "REQUEST_METHOD": environ["REQUEST_METHOD"],
            "PATH_INFO": environ.get("PATH_INFO", ""),
            "QUERY_STRING": environ.get("QUERY_STRING", ""),
            "CONTENT_TYPE": environ.get("CONTENT_TYPE", ""),
            "CONTENT_LENGTH": str(len(body)),
            "REMOTE_ADDR": "127.0.0.1",
            "GIT_PROTOCOL": environ.get("HTTP_GIT_PROTOCOL", ""),
            "HTTP_CONTENT_ENCODING": environ.get("HTTP_CONTENT_ENCODING", ""),
        }
        if user:
            env["REMOTE_USER"] = user  # http-backend enables receive-pack for authenticated users
        done = subprocess.run(
            ["git", "http-backend"], input=body, env=env, capture_output=True, check=False
        )
        head, _, payload = done.stdout.partition(b"\r\n\r\n")
        status = 200
        headers = []
        for line in head.decode("latin-1").split("\r\n"):
            name, _, value = line.partition(":")
            if name.lower() == "status":
                status = int(value.strip().split()[0])
            elif name:
                headers.append((name, value.strip()))
        headers.append(("Content-Length", str(len(payload))))
        start_response(f"{status} -", headers)
        return status, [payload]


def main(argv: list[str]) -> None:
    root, storage, log = (Path(a) for a in argv)
    app = Server(root, storage, log, os.environ["LFS_SERVER_TOKEN"])
    server = make_server("127.0.0.1", 0, app, threaded=True)
    print(server.server_port, flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main(sys.argv[1:])
