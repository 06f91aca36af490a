"""Where sync and absorb write on the source's side: its remote, its forge, its own branches.

Absorb (its internal pull request) and the leak review (its stage branch) both write to the
source: pushed to ``source_repo`` when that is a URL, or handed straight into the source
repository otherwise. They reach it the same way, so the way lives here once.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pygit2

from .config import Config, is_local
from .errors import PubgateError
from .forge import credential, make_forge_for, source_forge_kind
from .gitio import Remote, failure_detail
from .procs import tied
from .workspace import Source

if TYPE_CHECKING:
    import httpx


def source_remote(config: Config, staging: pygit2.Repository) -> Remote | None:
    """The source's remote when ``source_repo`` is a URL, else None (the repository itself)."""
    url = config.source_repo
    if url is None or is_local(url):
        return None
    token = None
    if url.startswith(("https://", "http://")) and config.source_token_env:
        # As its forge wants it (a bare Bitbucket Cloud token pushes as x-token-auth).
        token = credential(source_forge_kind(config), os.environ.get(config.source_token_env))
    return Remote(url=url, git_dir=Path(staging.path), token=token)


def source_forge(config: Config, client: httpx.Client) -> Any:
    """The forge an internal pull request goes to, or None (a plain git source)."""
    assert config.source_repo is not None
    variable = config.source_token_env
    token = (os.environ.get(variable) or None) if variable else None
    return make_forge_for(
        client,
        url=config.source_repo,
        kind=config.source_forge,
        api_url=config.source_api_url,
        token=token,
        variable=variable,
        key="source_repo",
        token_key="source_token_env",
    )


def hand_to_source(
    source: Source, staging: pygit2.Repository, handed: str, branch: str, *, owned: bool = False
) -> None:
    """Point the source's ``branch`` at staging's ref ``handed``, with every object it needs.

    The source fetches the branch from staging, so git copies exactly the missing objects and
    moves the ref only once they are stored: a run killed half-way leaves the branch as it was,
    and, killed while git held the branch's lock, that lock. For a branch only git-pubgate
    writes (``owned``: absorb's), this run, holding git-pubgate's lock, removes it first;
    another branch's is the user's to look at (the error names it).
    """
    lock = source.git_dir / "refs" / "heads" / f"{branch}.lock"
    if owned:
        lock.unlink(missing_ok=True)
    done = subprocess.run(
        [
            "git",
            "--git-dir",
            str(source.git_dir),
            # No background gc or maintenance in the user's repository on our account.
            "-c",
            "gc.auto=0",
            "-c",
            "maintenance.auto=false",
            "fetch",
            "--quiet",
            "--no-tags",
            "--no-write-fetch-head",
            "--end-of-options",
            staging.path,
            f"+{handed}:refs/heads/{branch}",
        ],
        capture_output=True,
        check=False,
        stdin=subprocess.DEVNULL,
        preexec_fn=tied(),
    )
    if done.returncode != 0:
        detail = failure_detail(done)
        hint = f"if {branch} is checked out, switch to another branch; then rerun"
        if lock.exists():
            hint = (
                f"a git command killed while it moved {branch} left {lock}: if none is running, "
                "remove that file and rerun"
            )
        raise PubgateError(f"could not write {branch} in the source repository: {detail}", hint)
