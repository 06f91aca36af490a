"""Shared fixtures: an isolated git environment, real repositories, and checks on the results."""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pygit2
import pytest
from hypothesis import HealthCheck, settings

from git_pubgate.cli import _main
from git_pubgate.content import ContentPolicy, Outcome

from .factory import git

# No property test may depend on how fast the machine is: on a busy machine one example can take
# longer than Hypothesis's default 200 ms deadline, and generating one longer than its "too slow"
# health check allows. Every test's own @settings inherits these.
settings.register_profile("pubgate", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("pubgate")

# Every credential a test hands the tool; none may appear in any file the suite leaves behind.
SECRETS: set[str] = set()


@pytest.fixture(scope="session", autouse=True)
def no_secret_on_disk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """After the whole suite: grep everything written under the temporary directories."""
    yield
    root = tmp_path_factory.getbasetemp()
    needles = [s.encode() for s in SECRETS]
    hits = []
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink():
            data = path.read_bytes()
            hits += [f"{path}: {n[:6].decode()}..." for n in needles if n in data]
    assert not hits, f"test credentials reached the disk: {hits}"


@pytest.fixture(scope="session", autouse=True)
def isolated_git(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Blank the user's git configuration and pin identities; fail if anything writes to ~."""
    home = tmp_path_factory.mktemp("home")
    saved = dict(os.environ)
    os.environ.update(
        {
            "HOME": str(home),
            "XDG_CONFIG_HOME": str(home / ".config"),
            "XDG_CACHE_HOME": str(home / ".cache"),
            "GIT_CONFIG_GLOBAL": "/dev/null",
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_AUTHOR_NAME": "Test Author",
            "GIT_AUTHOR_EMAIL": "author@test.example",
            "GIT_AUTHOR_DATE": "1600000000 +0000",
            "GIT_COMMITTER_NAME": "Test Committer",
            "GIT_COMMITTER_EMAIL": "committer@test.example",
            "GIT_COMMITTER_DATE": "1600000000 +0000",
            "GIT_TERMINAL_PROMPT": "0",
        }
    )
    for var in ("GIT_DIR", "GIT_WORK_TREE", "GIT_CONFIG_COUNT", "GH_TOKEN", "GITHUB_TOKEN"):
        os.environ.pop(var, None)
    for level in (
        pygit2.enums.ConfigLevel.GLOBAL,
        pygit2.enums.ConfigLevel.XDG,
        pygit2.enums.ConfigLevel.SYSTEM,
    ):
        pygit2.settings.search_path[level] = str(home / "no-config")
    yield home
    os.environ.clear()
    os.environ.update(saved)
    leftovers = [p.name for p in home.iterdir()]
    assert not leftovers, f"tests wrote to the home directory: {leftovers}"


@dataclass
class Result:
    code: int
    out: str
    err: str


def pubgate(*args: str, cwd: Path) -> Result:
    """Run ``git pubgate`` in-process, exactly as the console script does."""
    out, err = io.StringIO(), io.StringIO()
    code = _main(["-C", str(cwd), *args], out, err)
    return Result(code, out.getvalue(), err.getvalue())


class PublicRepos:
    """Bare repositories standing in for the public side; each is fsck'ed at teardown."""

    def __init__(self, root: Path):
        self.root = root
        self.made: list[Path] = []

    def bare(self, name: str = "public.git", branch: str = "main") -> Path:
        path = self.root / name
        git("init", "-q", "--bare", "-b", branch, str(path))
        self.made.append(path)
        return path

    def fsck(self) -> None:
        for path in self.made:
            git("fsck", "--strict", "--no-progress", cwd=path)


@pytest.fixture
def public(tmp_path: Path) -> Iterator[PublicRepos]:
    repos = PublicRepos(tmp_path)
    yield repos
    repos.fsck()


def processes_naming(needle: str | Path) -> list[str]:
    """Command lines of the live processes that have ``needle`` in their arguments."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue  # gone, or not a process
        if any(str(needle).encode() in arg for arg in argv):
            found.append(" ".join(a.decode(errors="replace") for a in argv))
    return found


@pytest.fixture
def scanned_blobs(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """Every blob the content rules read, in order (they still check them): each is scanned
    for secrets, most by the one search that shows it holds nothing any rule looks for."""
    scanned: list[bytes] = []
    real_publish = ContentPolicy.publish

    def counting(  # noqa: PLR0917 (the signature of ContentPolicy.publish)
        self: ContentPolicy,
        path: bytes,
        mode: bytes,
        blob: bytes,
        read: Callable[[bytes], bytes],
        write: Callable[[bytes], bytes],
    ) -> Outcome:
        def reading(oid: bytes) -> bytes:
            data = read(oid)
            scanned.append(data)
            return data

        return real_publish(self, path, mode, blob, reading, write)

    monkeypatch.setattr(ContentPolicy, "publish", counting)
    return scanned
