"""What ``publish`` may build: a commit the target's review branch holds, exported clean.

Publish must never build what nobody reviewed. A local remote whose URL equals ``target_repo``
proves nothing (the internal clone may have one, added to look at the public side), so the
target itself is asked: its ``review_branch`` must contain the commit checked out here, and the
work tree must be clean at that commit. The build then runs in a fresh clone of that one commit
in a temporary directory, so nothing a build or a pre-publish command writes (``*.egg-info``,
caches, generated files) can reach the checkout and block the rerun of a failed upload.
"""

from __future__ import annotations

import contextlib
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pygit2

from .errors import PubgateError
from .gitio import Remote


@dataclass(frozen=True)
class Checkout:
    """The repository publish runs in and the commit it will build."""

    repo: pygit2.Repository
    git_dir: Path
    workdir: Path
    commit: str


def open_checkout(workdir: Path) -> Checkout:
    """The work tree at ``workdir`` and the commit it has checked out; refuses changes."""
    repo = pygit2.Repository(str(workdir))
    if repo.head_is_unborn:
        raise PubgateError(
            f"refusing to publish from {workdir}, since it has no commits",
            "run git pubgate publish in a checkout of the public repository",
        )
    commit = str(repo.head.peel(pygit2.Commit).id)
    status = _git(workdir, "status", "--porcelain", "--untracked-files=normal")
    if status.strip():
        raise PubgateError(
            f"refusing to publish {commit[:12]} from a work tree with changes, since the build "
            "would not be the reviewed commit",
            "commit, stash or remove them (git status), then rerun",
        )
    return Checkout(repo, Path(repo.path).resolve(), workdir, commit)


def require_reviewed(checkout: Checkout, remote: Remote, review_branch: str) -> str:
    """Refuse unless ``review_branch`` on the target contains the checked-out commit.

    Returns the branch's tip. Its history is fetched into the checkout's object store when
    missing (objects only: no ref or FETCH_HEAD is written), since only the target can say what
    was reviewed.
    """
    commit = checkout.commit
    tip = remote.heads([review_branch]).get(review_branch)
    if tip is None:
        raise PubgateError(
            f"refusing to publish {commit[:12]}, since {review_branch} does not exist on "
            f"{remote.display}",
            "publish releases what was merged into review_branch; sync and merge first",
        )
    repo = checkout.repo
    if tip != commit and tip not in repo:
        remote.fetch([f"refs/heads/{review_branch}"])
    if tip == commit or (tip in repo and repo.descendant_of(tip, commit)):
        return tip
    shallow = " (this clone is shallow: git fetch --unshallow)" if repo.is_shallow else ""
    raise PubgateError(
        f"refusing to publish {commit[:12]}, since {review_branch} on {remote.display} does "
        f"not contain it{shallow}",
        f"publish builds only reviewed commits: check out one that {review_branch} holds "
        f"(git checkout {tip[:12]}), or run git pubgate publish outside any checkout, where "
        "it clones the target",
    )


@contextlib.contextmanager
def clean_export(checkout: Checkout) -> Iterator[Path]:
    """A fresh work tree of exactly the checked-out commit, in a temporary directory.

    A shared clone (objects borrowed, nothing copied) with the commit checked out detached, so
    tag-based version tools (setuptools-scm, hatch-vcs) still find their tags; its ``origin``
    is removed, so nothing run in it can push back into the checkout.
    """
    with tempfile.TemporaryDirectory(prefix="pubgate-build-") as scratch:
        export = Path(scratch) / "src"
        _git(
            Path(scratch),
            "clone",
            "--quiet",
            "--shared",
            "--no-checkout",
            "--end-of-options",
            str(checkout.workdir),
            str(export),
        )
        _git(export, "remote", "remove", "origin")
        _git(export, "checkout", "--quiet", "--detach", checkout.commit)
        yield export


def _git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise PubgateError(
            f"git {args[0]} failed: {done.stderr.strip()}", "see git's message; nothing was built"
        )
    return done.stdout
