"""A stopped absorb: the conflict left for a person, and what ``--continue`` needs.

Lives in ``<source git dir>/pubgate/absorb/``: ``state.json`` (written whole, then renamed,
so a kill leaves the old state or the new one) and ``tree/<path>``, the conflicted file to
edit. Resolutions are kept by public commit and path, so a rerun replays every commit again
and gives the same ids.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .errors import PubgateError

STATE_DIR = ("pubgate", "absorb")


@dataclass
class Stop:
    """Where absorb stopped: public commit, internal path, and the three blobs (hex)."""

    public: str
    path: str
    ours: str
    base: str
    theirs: str


@dataclass
class AbsorbState:
    resolutions: dict[str, str] = field(default_factory=dict)  # "<public>:<path>" -> blob hex
    stop: Stop | None = None

    @staticmethod
    def key(public: str, path: str) -> str:
        return f"{public}:{path}"


def directory(git_dir: Path) -> Path:
    return git_dir.joinpath(*STATE_DIR)


def work_file(git_dir: Path, path: str) -> Path:
    return directory(git_dir) / "tree" / path


def load(git_dir: Path) -> AbsorbState | None:
    found = directory(git_dir) / "state.json"
    if not found.is_file():
        return None
    try:
        data = json.loads(found.read_text(encoding="utf-8"))
        stop = Stop(**data["stop"]) if data.get("stop") else None
        return AbsorbState(dict(data.get("resolutions", {})), stop)
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise PubgateError(
            f"the stopped absorb's state {found} cannot be read: {e}",
            "run git pubgate absorb --abort and start again",
        ) from e


def save(git_dir: Path, state: AbsorbState) -> None:
    place = directory(git_dir)
    place.mkdir(parents=True, exist_ok=True)
    tmp = place / "state.json.tmp"
    tmp.write_text(json.dumps(asdict(state), indent=1, sort_keys=True), encoding="utf-8")
    os.replace(tmp, place / "state.json")


def clear(git_dir: Path) -> bool:
    """Remove the stopped absorb, if any; whether there was one."""
    place = directory(git_dir)
    if not place.exists():
        return False
    shutil.rmtree(place)
    return True


def keep_blob(git_dir: Path, blob: bytes, data: bytes) -> None:
    """Keep a resolved file's bytes beside the state, for a rerun with a fresh staging."""
    place = directory(git_dir) / "resolved"
    place.mkdir(parents=True, exist_ok=True)
    tmp = place / f"{blob.hex()}.tmp"
    tmp.write_bytes(data)
    os.replace(tmp, place / blob.hex())


def kept_blob(git_dir: Path, blob: str) -> bytes:
    try:
        return (directory(git_dir) / "resolved" / blob).read_bytes()
    except OSError as e:
        raise PubgateError(
            f"a resolved file of the stopped absorb is missing: {e}",
            "run git pubgate absorb --abort and start again",
        ) from e
