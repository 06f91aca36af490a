"""One self-rewriting status line on a terminal, at most ten times a second (git-filter-repo's
ProgressWriter); nothing at all when stderr is not a terminal or under -q."""

from __future__ import annotations

import sys
import time
from typing import Protocol, TextIO


class Reporter(Protocol):
    """What long work reports to: counts, and a child process's own progress text."""

    def __call__(self, done: int, total: int | None = None) -> None: ...

    def passthrough(self, text: str) -> None: ...


class Progress:
    def __init__(self, label: str, stream: TextIO | None = None, enabled: bool | None = None):
        self._stream = stream or sys.stderr
        self._label = label
        self.enabled = self._stream.isatty() if enabled is None else enabled
        self._start = time.monotonic()
        self._last = 0.0
        self._shown = False

    def __call__(self, done: int, total: int | None = None) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self._last < 0.1 and done != total:
            return
        self._last = now
        rate = done / max(now - self._start, 1e-9)
        line = f"{self._label}: {done}"
        if total:
            left = (total - done) / rate if rate else 0.0
            line += f"/{total} commits ({rate:.0f}/s, {int(left) // 60}:{int(left) % 60:02d} left)"
        else:
            line += f" commits ({rate:.0f}/s)"
        self._stream.write(f"\r{line}\x1b[K")
        self._stream.flush()
        self._shown = True

    def passthrough(self, text: str) -> None:
        """Show a child's own progress (git's, twine's) on the same terminal line."""
        if not self.enabled:
            return
        if self._shown:
            self._stream.write("\r\x1b[K")
            self._shown = False
        self._stream.write(text)
        self._stream.flush()

    def close(self) -> None:
        if self._shown:
            self._stream.write("\r\x1b[K")
            self._stream.flush()
