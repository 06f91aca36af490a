"""Child processes: tied to our life, and run with their progress shown to a person.

``run_live`` reads stderr as it comes, scrubs the secret, passes it to ``live`` (a terminal's
status stream) and keeps it, so a failure can still be reported in one line. stdout is not needed
by the callers (push, clone, fetch, twine upload) and is discarded.
"""

from __future__ import annotations

import codecs
import functools
import os
import re
import signal
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


@functools.cache
def _prctl() -> Callable[..., Any] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes  # noqa: PLC0415 (6 ms of start-up that --version and hooks skip)

        prctl: Callable[..., Any] = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    return prctl


def tied() -> Callable[[], None] | None:
    """A ``preexec_fn`` that ends the child with SIGTERM when this process dies (Linux).

    A run killed with SIGKILL would otherwise leave its ``git fetch`` writing the staging
    repository's refs while the rerun writes the same ones (the crash loop caught exactly
    that). SIGTERM lets git remove its lock files on the way out. Elsewhere the orphan runs on
    and a rerun started at that moment can fail; the one after it converges. (``preexec_fn``
    is unsafe in a process with threads; git-pubgate starts none.)
    """
    prctl = _prctl()
    if prctl is None:
        return None
    parent = os.getpid()

    def die_with_parent() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:  # the parent died before the line above took effect
            os._exit(1)

    return die_with_parent


class Scrubber:
    """Decodes a child's output as it comes and replaces every secret in it with ``***``.

    A secret can straddle two reads, so the text is held back from where one could still be
    coming: the last characters (one less than the longest secret), and any whole secret that
    reaches into them, since a longer secret may begin with a shorter one. What is released
    is scrubbed exactly as the whole output would be.
    """

    def __init__(self, secrets: Sequence[str]):
        # Longest first: at each position the longest secret that matches is replaced whole.
        ordered = sorted({s for s in secrets if s}, key=len, reverse=True)
        self._pattern = re.compile("|".join(map(re.escape, ordered))) if ordered else None
        self._hold = len(ordered[0]) - 1 if ordered else 0
        self._pending = ""
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")  # split characters

    def scrub(self, text: str) -> str:
        return self._pattern.sub("***", text) if self._pattern is not None else text

    def feed(self, chunk: bytes) -> str:
        """The text that is safe to show now."""
        text = self._pending + self._decoder.decode(chunk)
        cut = max(len(text) - self._hold, 0)
        if self._pattern is not None:
            for found in self._pattern.finditer(text):
                if found.start() >= cut:
                    break
                if found.end() > cut:  # reaches into what is held: hold all of it
                    cut = found.start()
                    break
        ready, self._pending = text[:cut], text[cut:]
        return self.scrub(ready)

    def close(self) -> str:
        """What was held back, once the output has ended."""
        tail = self.scrub(self._pending + self._decoder.decode(b"", final=True))
        self._pending = ""
        return tail


def run_live(
    command: Sequence[str],
    env: Mapping[str, str],
    live: Callable[[str], None],
    *,
    secret: str | None = None,
    cwd: Path | None = None,
) -> tuple[int, str]:
    """Returns the exit code and everything the child wrote to stderr (scrubbed)."""
    process = subprocess.Popen(
        list(command),
        cwd=cwd,
        env=dict(env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        preexec_fn=tied(),
    )
    assert process.stderr is not None
    kept: list[str] = []
    scrubber = Scrubber([secret] if secret else [])
    fd = process.stderr.fileno()
    while chunk := os.read(fd, 4096):
        ready = scrubber.feed(chunk)
        if ready:
            live(ready)
            kept.append(ready)
    tail = scrubber.close()
    if tail:
        live(tail)
        kept.append(tail)
    process.stderr.close()
    return process.wait(), "".join(kept)
