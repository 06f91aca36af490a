"""The repositories a run works in: the source, and a private staging repository.

New public objects never go into the source repository. They go into a bare staging repository
under ``<source git dir>/pubgate/public.git`` that borrows the source's objects through
``objects/info/alternates``; the target is fetched there and pushed from there. The source's
refs, index and working tree are never touched.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pygit2

from .config import Config, is_local
from .config import normalise_url as _normalise_url
from .errors import ConfigError, PubgateError
from .gitio import failure_detail
from .lock import WAIT_SECONDS, exclusive
from .objects import TMP_PACK_PREFIX
from .plain_backends import use_plain_backends
from .procs import tied


@dataclass(frozen=True)
class Source:
    repo: pygit2.Repository
    git_dir: Path  # the common git dir (a linked worktree shares its objects with the main one)
    branch: str
    tip: str
    # Where this target's state lives: its lock, staging repository and cache.
    state_dir: Path


def state_dir(git_dir: Path, target: str | None) -> Path:
    """``.git/pubgate``, or ``.git/pubgate/targets/NAME`` for one target of many."""
    base = git_dir / "pubgate"
    return base / "targets" / target if target else base


def _common_dir(repo: pygit2.Repository) -> Path:
    git_dir = Path(repo.path)
    commondir = git_dir / "commondir"
    if commondir.is_file():
        return (git_dir / commondir.read_text().strip()).resolve()
    return git_dir.resolve()


def _local_path(location: str) -> Path:
    return Path(location.removeprefix("file://"))


def open_repo(where: Path) -> pygit2.Repository:
    found = pygit2.discover_repository(str(where))
    if found is None:
        raise ConfigError(
            f"{where} is not inside a git repository",
            "run git pubgate inside the internal repository, or set source_repo",
        )
    return pygit2.Repository(found)


def open_source(config: Config, cwd: Path) -> Source:
    """Open the source repository and resolve the branch to publish."""
    remote = "origin"
    if config.source_repo is None:
        repo = open_repo(cwd)
    elif is_local(config.source_repo):
        path = _local_path(config.source_repo)
        if not path.exists():
            raise ConfigError(
                f"source_repo {path} does not exist", f"fix source_repo in {config.path}"
            )
        repo = open_repo(path)
    else:
        repo, remote = _repo_with_remote(cwd, config.source_repo, config)
    if repo.is_shallow:
        raise PubgateError(
            "refusing to publish from a shallow clone, since its oldest commits would be "
            "published as fake root commits",
            "run 'git fetch --unshallow' (in CI: actions/checkout with fetch-depth: 0)",
        )
    branch = config.source_branch or _head_branch(repo)
    tip = _resolve_branch(repo, branch, remote)
    git_dir = _common_dir(repo)
    return Source(repo, git_dir, branch, tip, state_dir(git_dir, config.name))


normalise_url = _normalise_url  # where hooks and publish import it from


def _repo_with_remote(cwd: Path, url: str, config: Config) -> tuple[pygit2.Repository, str]:
    """The repository we run in and the name of its remote that is ``source_repo``.

    CI checks out the internal repository with credentials already set up; cloning
    ``source_repo`` again would need credentials of its own.
    """
    found = pygit2.discover_repository(str(cwd))
    if found is not None:
        repo = pygit2.Repository(found)
        for remote in repo.remotes:
            if remote.name and remote.url and normalise_url(remote.url) == normalise_url(url):
                return repo, remote.name
    raise ConfigError(
        f"source_repo {url} is not a remote of the repository git pubgate runs in",
        "run git pubgate in a clone of the internal repository, or point source_repo at a "
        f"local path ({config.path})",
    )


def _head_branch(repo: pygit2.Repository) -> str:
    if repo.head_is_unborn:
        raise PubgateError("the source repository has no commits yet", "commit something first")
    if repo.head_is_detached:
        raise ConfigError(
            "the source repository's HEAD is detached, so there is no branch to publish",
            "set source_branch in the configuration",
        )
    return repo.head.shorthand


def _resolve_branch(repo: pygit2.Repository, branch: str, remote: str) -> str:
    for ref in (f"refs/heads/{branch}", f"refs/remotes/{remote}/{branch}"):
        found = repo.references.get(ref)
        if found is not None:
            return str(found.peel(pygit2.Commit).id)
    raise ConfigError(
        f"the source repository has no branch {branch!r}",
        "set source_branch to an existing branch (git branch --list)",
    )


# git's own gc.autoPackLimit and gc.auto: beyond them every object lookup gets slower.
PACK_LIMIT = 50
LOOSE_LIMIT = 6700
# Temporary files of a killed pack writer: ours, git index-pack's and git repack's.
_PACK_LEFTOVERS = (f"{TMP_PACK_PREFIX}*", "tmp_pack_*", "tmp_idx_*", ".tmp-*")
# git's automatic gc would run detached after a fetch, outside the pubgate lock, racing the next
# run and leaving lock files that run cannot tell from a crashed run's; staging packs itself.
# A fetch offers the server the history behind the alternate's (the source's) branches as what
# it already has, commit by commit, though a public commit is a source commit only when
# neither its trailer nor a rule changed it (the server then sends it again, nothing worse).
# A prefix no ref has keeps them out: fetching 50,000 public commits into a new staging
# repository cost 1.02 s of CPU with them, 0.74 s without (as with no alternate at all).
_SETTINGS = {
    "gc.auto": "0",
    "maintenance.auto": "false",
    "core.alternateRefsPrefixes": "refs/pubgate/not-offered/",
}


def clear_crash_leftovers(git_dir: Path) -> None:
    """Remove lock and temporary files a killed run left in the staging repository.

    Only called while holding the pubgate lock, and staging runs no background gc, so nothing
    else can be using them; without this a SIGKILL between writing ``ref.lock`` and renaming it
    would block every later run, and killed rewrites would each leave a pack-sized file behind.
    """
    pack_dir = git_dir / "objects" / "pack"
    for leftover in [
        *(git_dir / "refs").rglob("*.lock"),
        git_dir / "packed-refs.lock",
        git_dir / "config.lock",
        git_dir / "HEAD.lock",
        *(found for pattern in _PACK_LEFTOVERS for found in pack_dir.glob(pattern)),
    ]:
        leftover.unlink(missing_ok=True)


@contextlib.contextmanager
def locked_staging(
    source: Source, wait: float = WAIT_SECONDS, on_wait: Callable[[], None] | None = None
) -> Iterator[pygit2.Repository]:
    """Hold the pubgate lock, and the staging repository for ``source`` while holding it.

    Opening staging clears what killed runs left and may repack, which is safe only in the lock.
    """
    with exclusive(source.git_dir, wait=wait, on_wait=on_wait, state=source.state_dir):
        yield _staging_repo(source)


def _staging_repo(source: Source) -> pygit2.Repository:
    """Open (creating on first use) the staging repository for ``source``."""
    path = source.state_dir / "public.git"
    objects = (source.git_dir / "objects").resolve()
    if not (path / "HEAD").is_file():
        _create_staging(path)
    clear_crash_leftovers(path)
    alternates = path / "objects" / "info" / "alternates"
    if not alternates.is_file() or alternates.read_text().strip() != str(objects):
        alternates.parent.mkdir(parents=True, exist_ok=True)
        tmp = alternates.with_suffix(".tmp")
        tmp.write_text(f"{objects}\n")
        tmp.replace(alternates)
    repo = pygit2.Repository(str(path))
    _settle(repo)
    if _crowded(path / "objects"):
        _repack(path)
        repo = pygit2.Repository(str(path))
    use_plain_backends(repo)
    return repo


def _create_staging(path: Path) -> None:
    """Create the bare staging repository at ``path`` all at once.

    It is built beside ``path`` and renamed into place, because a run killed half-way through
    ``git init`` leaves ``HEAD.lock`` without ``HEAD``, which no later init gets past. Whatever
    sits at ``path`` without a ``HEAD`` is such a remnant: staging only holds what a rerun
    rewrites again, so it goes.
    """
    building = path.with_name(f"{path.name}.new")
    try:
        for remnant in (building, path):
            if remnant.exists():
                shutil.rmtree(remnant)
        pygit2.init_repository(str(building), bare=True)
        building.rename(path)
    except (OSError, pygit2.GitError) as e:
        raise PubgateError(
            f"cannot create the staging repository {path}: {e}",
            "check permissions on the source repository's .git directory",
        ) from e


def _settle(repo: pygit2.Repository) -> None:
    """Give staging its settings, on every open: also to one restored from an older CI cache."""
    config = repo.config
    for key, value in _SETTINGS.items():
        if key not in config or config[key] != value:
            config[key] = value


def _crowded(objects: Path) -> bool:
    """Too many packs or loose objects, the loose ones estimated from one fan-out directory
    as git's gc --auto does (ids are uniform, so each directory holds 1/256 of them)."""
    if len(list((objects / "pack").glob("*.pack"))) > PACK_LIMIT:
        return True
    sample = objects / "17"
    return sample.is_dir() and len(list(sample.iterdir())) * 256 > LOOSE_LIMIT


def _repack(path: Path) -> None:
    """Fold staging's packs into one. Only its own objects (-l): the source's stay borrowed."""
    done = subprocess.run(
        ["git", "--git-dir", str(path), "repack", "-a", "-d", "-l", "-q"],
        capture_output=True,
        stdin=subprocess.DEVNULL,
        check=False,
        preexec_fn=tied(),
    )
    if done.returncode != 0:
        detail = failure_detail(done)
        raise PubgateError(
            f"could not repack the staging repository {path}: {detail}",
            f"free disk space, or remove {path}: the next run builds it again",
        )
