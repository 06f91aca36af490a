"""What every test server shares: a threaded HTTP server on 127.0.0.1 that hands each request
to one method, started and stopped as a context manager, and can break the connection on
purpose (``network_faults``) the ways real networks do."""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

# What a network fault does to one request:
#   reset      close the connection with a TCP reset, before any response
#   timeout    say nothing for ``stall`` seconds, then close
#   truncated  promise a body and close the connection partway through it
#   500        answer 500 Internal Server Error
NETWORK_FAULTS = ("reset", "timeout", "truncated", "500")


def reply(
    request: BaseHTTPRequestHandler,
    status: int,
    body: bytes,
    headers: dict[str, str] | None = None,
) -> None:
    """Send one complete response: status, headers, Content-Length and the body."""
    request.send_response(status)
    for name, value in (headers or {}).items():
        request.send_header(name, value)
    request.send_header("Content-Length", str(len(body)))
    request.end_headers()
    request.wfile.write(body)


def reply_json(
    request: BaseHTTPRequestHandler, status: int, payload: Any, headers: dict[str, str]
) -> None:
    reply(
        request,
        status,
        json.dumps(payload).encode(),
        {**headers, "Content-Type": "application/json"},
    )


@dataclass
class NetworkFault:
    """Break the next request whose path contains ``path_part`` (every request if empty)."""

    kind: str
    path_part: str = ""
    method: str = ""


class LoopbackServer:
    """Subclasses implement ``handle(request)``; every method (GET, POST, PUT, PATCH) goes there."""

    stall = 3.0  # how long a "timeout" fault keeps the client waiting

    def __init__(self) -> None:
        self.network_faults: list[NetworkFault] = []
        self.faulted: list[tuple[str, str, str]] = []  # (kind, method, path) as injected
        self._lock = threading.Lock()
        # The listening socket exists only between __enter__ and __exit__: a subclass whose
        # constructor fails after this point (a missing contract file, say) leaves nothing
        # open behind it.
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                server._serve(self)

            def do_POST(self) -> None:
                server._serve(self)

            def do_PUT(self) -> None:
                server._serve(self)

            def do_PATCH(self) -> None:
                server._serve(self)

        return Handler

    @property
    def port(self) -> int:
        assert self._httpd is not None, "the server listens only inside its with block"
        return int(self._httpd.server_address[1])

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def handle(self, request: BaseHTTPRequestHandler) -> None:
        raise NotImplementedError

    def _serve(self, request: BaseHTTPRequestHandler) -> None:
        with self._lock:
            fault = next(
                (
                    f
                    for f in self.network_faults
                    if f.path_part in request.path and f.method in ("", request.command)
                ),
                None,
            )
            if fault is not None:
                self.network_faults.remove(fault)
                self.faulted.append((fault.kind, request.command, request.path))
        if fault is None:
            self.handle(request)
            return
        request.close_connection = True
        if fault.kind == "reset":
            # SO_LINGER with a zero timeout makes close() send RST instead of FIN.
            request.connection.setsockopt(
                socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
            )
            request.connection.close()
        elif fault.kind == "timeout":
            time.sleep(self.stall)
        elif fault.kind == "truncated":
            request.send_response(200)
            request.send_header("Content-Type", "application/octet-stream")
            request.send_header("Content-Length", "100000")
            request.end_headers()
            request.wfile.write(b"0000" * 8)
            request.wfile.flush()
        elif fault.kind == "500":
            reply_json(request, 500, {"message": "Internal Server Error"}, {})
        else:
            raise AssertionError(f"unknown network fault {fault.kind!r}")

    def __enter__(self) -> Self:
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._httpd is not None and self._thread is not None
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join()
        self._httpd = self._thread = None
