"""Run a child process whose progress a person should see, without losing its last words.

stderr is read as it comes, scrubbed of the secret, passed to ``live`` (a terminal's status
stream) and kept, so a failure can still be reported in one line. stdout is not needed by the
callers (push, clone, fetch, twine upload) and is discarded.
"""

from __future__ import annotations

import codecs
import os
import subprocess
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path


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
    )
    assert process.stderr is not None
    kept: list[str] = []
    pending = ""
    fd = process.stderr.fileno()
    # A secret can straddle two reads: replace whole ones, then hold back the longest text that
    # could still be the start of one (one character less than the secret).
    hold = len(secret) - 1 if secret else 0
    decoder = codecs.getincrementaldecoder("utf-8")("replace")  # characters split across reads
    while chunk := os.read(fd, 4096):
        text = pending + decoder.decode(chunk)
        if secret:
            text = text.replace(secret, "***")
        cut = max(len(text) - hold, 0)
        ready, pending = text[:cut], text[cut:]
        if ready:
            live(ready)
            kept.append(ready)
    tail = pending + decoder.decode(b"", final=True)
    if tail:
        live(tail)
        kept.append(tail)
    process.stderr.close()
    return process.wait(), "".join(kept)
