"""Public paths a person agreed to delete with ``--delete-excluded``, until they are gone.

A sync refuses to delete from the review branch a public path the exclude rules take now,
unless ``--delete-excluded`` says so. That is a decision about those paths, not about one run:
the runs after it (a CI job on every push) would otherwise refuse again, for the same paths,
until the pull request that deletes them is merged. So the paths are remembered in the
target's state directory; a later run deletes them without the option, a path not among them
is refused as before, and once none is left to delete the record goes.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterable
from pathlib import Path

FILE_NAME = "delete-excluded.json"


def _file(state_dir: Path) -> Path:
    return state_dir / FILE_NAME


def agreed(state_dir: Path) -> frozenset[str]:
    """The paths an earlier ``--delete-excluded`` run agreed to delete (none if unreadable)."""
    try:
        data = json.loads(_file(state_dir).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return frozenset()
    paths = data.get("paths") if isinstance(data, dict) else None
    if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
        return frozenset()
    return frozenset(paths)


def remember(state_dir: Path, paths: Iterable[str]) -> None:
    """Agree to delete ``paths`` (with those agreed before); written atomically."""
    every = sorted(agreed(state_dir) | set(paths))
    state_dir.mkdir(parents=True, exist_ok=True)
    temporary = _file(state_dir).with_suffix(".tmp")
    temporary.write_text(json.dumps({"paths": every}, indent=1) + "\n", encoding="utf-8")
    os.replace(temporary, _file(state_dir))


def forget(state_dir: Path) -> None:
    """Nothing is left to delete: the agreement has been carried out."""
    with contextlib.suppress(FileNotFoundError):
        _file(state_dir).unlink()
