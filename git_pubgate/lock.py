"""One sync or audit at a time per source repository.

An advisory ``flock`` on ``.git/pubgate/lock``: the kernel releases it when the holder exits,
however it exits (SIGKILL included), so a crashed run can never leave it stuck.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from .errors import PubgateError

WAIT_SECONDS = 60.0


@contextlib.contextmanager
def exclusive(
    git_dir: Path,
    wait: float = WAIT_SECONDS,
    on_wait: Callable[[], None] | None = None,
    *,
    state: Path | None = None,
) -> Iterator[None]:
    """Hold the repository's pubgate lock, waiting up to ``wait`` seconds for another run.

    Args:
        state: the directory of the state the lock guards (default: ``<git_dir>/pubgate``;
            each target of a multi-target configuration has its own, so they never wait on
            one another).
    """
    path = (state if state is not None else git_dir / "pubgate") / "lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + wait
        told = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise PubgateError(
                        f"another git pubgate run holds {path} (waited {wait:.0f} s)",
                        "let it finish and rerun; a run that crashed releases it by itself",
                    ) from None
                if not told and on_wait is not None:
                    on_wait()
                    told = True
                time.sleep(0.1)
        yield
    finally:
        os.close(fd)  # closing releases the lock
