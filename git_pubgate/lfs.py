"""Git LFS: pointer files, where their objects are, and the git-lfs client that moves them.

A repository using LFS commits small pointer blobs (``version https://git-lfs.github.com/
spec/v1``, ``oid sha256:<hex>``, ``size <n>``); the content lives on an LFS server and in each
clone's ``.git/lfs/objects``. The rewrite carries pointers through like any file, so the
objects they name must reach the target's LFS store too, or public clones fail with "object
does not exist on the server".

Transport goes through the ``git-lfs`` client, as git's goes through git: it already knows the
user's credential helpers, SSH, proxies, ``url.*.insteadOf``, and how every forge derives its
LFS endpoint from a repository URL (``<url>.git/info/lfs``; a ``file://`` remote gets the
objects in its own ``lfs/objects``). A token is handed over as to git (``gitio``): through the
child's environment only.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pygit2

from .config import is_local
from .errors import PubgateError
from .gitio import credential_env, split_credential, summarise
from .lfs_pointer import MAX_POINTER_SIZE, Pointer, parse_pointer
from .procs import tied

INSTALL_HINT = (
    "install git-lfs (Debian and Ubuntu: apt-get install git-lfs; macOS: brew install "
    "git-lfs; others: https://git-lfs.com) and rerun"
)
# What a git process inherited from a hook would point at the wrong repository.
_FOREIGN = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY")


@dataclass(frozen=True)
class LfsFile:
    """A pointer file of the public history: its blob, a path it has there, what it names."""

    blob: str
    path: bytes
    pointer: Pointer

    @property
    def shown_path(self) -> str:
        return self.path.decode("utf-8", "backslashreplace")


def gitattributes_use_lfs(data: bytes) -> bool:
    """Whether a ``.gitattributes`` file sends some path through the LFS filter."""
    return b"filter=lfs" in data


def pointers_between(
    repo: pygit2.Repository, tips: Sequence[str], known: Iterable[str]
) -> list[LfsFile]:
    """The pointer files among the blobs reachable from ``tips`` but from none of ``known``.

    Each blob is read once (the first path git lists it at names it); only blobs small enough
    to be pointers are read at all, and git lists them (``rev-list --objects``) without the
    sizes of the others being looked at by Python.
    """
    git_dir = str(repo.path)
    exclude = [f"^{k}" for k in known if k in repo]
    listing = subprocess.Popen(
        ["git", "--git-dir", git_dir, "rev-list", "--objects", "--stdin"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=_clean_env(os.environ),
        preexec_fn=tied(),
    )
    sizes = subprocess.Popen(
        [
            "git",
            "--git-dir",
            git_dir,
            "cat-file",
            "--batch-check=%(objectname) %(objecttype) %(objectsize) %(rest)",
        ],
        stdin=listing.stdout,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=_clean_env(os.environ),
        preexec_fn=tied(),
    )
    assert listing.stdin is not None and listing.stdout is not None
    listing.stdin.write("\n".join([*tips, *exclude]).encode() + b"\n")
    listing.stdin.close()
    listing.stdout.close()  # the second process holds it now
    out, _ = sizes.communicate()
    if listing.wait() != 0 or sizes.returncode != 0:
        raise PubgateError(
            "listing the new public objects for Git LFS pointers failed",
            "check the staging repository with 'git fsck' and rerun",
        )
    found: dict[str, LfsFile] = {}
    for line in out.splitlines():
        parts = line.split(b" ", 3)
        if len(parts) < 3 or parts[1] != b"blob" or int(parts[2]) >= MAX_POINTER_SIZE:
            continue
        blob = parts[0].decode()
        if blob in found:
            continue
        pointer = parse_pointer(repo[blob].peel(pygit2.Blob).data)
        if pointer is not None:
            found[blob] = LfsFile(blob, parts[3] if len(parts) > 3 else b"", pointer)
    return list(found.values())


def storage_of(repo: pygit2.Repository, git_dir: Path) -> Path:
    """Where git-lfs keeps a clone's objects: ``lfs.storage``, else ``<git dir>/lfs``."""
    try:
        configured = repo.config["lfs.storage"]
    except KeyError:
        configured = None
    if not configured:
        return git_dir / "lfs"
    return (git_dir / configured).resolve()  # a relative value is relative to the git dir


def object_path(storage: Path, oid: str) -> Path:
    return storage / "objects" / oid[:2] / oid[2:4] / oid


def has_object(storage: Path, pointer: Pointer) -> bool:
    try:
        return object_path(storage, pointer.oid).stat().st_size == pointer.size
    except OSError:
        return False


def require_client(count: int, where: str) -> None:
    """Refuse to go on without git-lfs when ``count`` pointers need their objects moved."""
    if shutil.which("git-lfs") is None:
        files = "file points" if count == 1 else "files point"
        raise PubgateError(
            f"refusing to publish, since {count} Git LFS pointer {files} at objects that "
            f"must reach {where}, and git-lfs is not installed",
            INSTALL_HINT,
        )


def lfs_url(location: str) -> str:
    """The remote as git-lfs takes it: a plain path becomes a ``file://`` URL."""
    if "://" in location or not is_local(location):
        return location
    return Path(location).resolve().as_uri()


_TOKEN_VAR = "PUBGATE_LFS_TOKEN"
_USER_VAR = "PUBGATE_LFS_USER"
_REFUSED_VAR = "PUBGATE_LFS_REFUSED"
# Not GIT_*: git-lfs copies every GIT_* variable into the error logs it writes under
# .git/lfs/logs. Otherwise gitio's helper, with one difference: git-lfs answers a 401 by
# rejecting the credentials and asking again, forever, when the helper keeps giving the same
# ones (git-lfs issue 2833). This one remembers a rejection in a file of the run's scratch
# folder and then gives nothing, so a wrong token fails once instead of looping.
_HELPER = (
    '!f() { if test "$1" = erase; then : > "$PUBGATE_LFS_REFUSED"; exit 0; fi; '
    'test "$1" = get || exit 0; test -e "$PUBGATE_LFS_REFUSED" && exit 0; '
    f'echo "username=${_USER_VAR}"; echo "password=${_TOKEN_VAR}"; }}; f'
)


def _environment(token: str | None, scratch: Path) -> dict[str, str]:
    """git-lfs's environment: no prompt, and ``token`` for https when there is one."""
    env = credential_env(None, _clean_env(os.environ))
    if token is None:
        return env
    env[_USER_VAR], env[_TOKEN_VAR] = split_credential(token)
    env[_REFUSED_VAR] = str(scratch / "credentials-refused")
    # An empty helper first: the user's own helpers (a 'store' one) never see the token.
    return _with_config(env, [("credential.helper", ""), ("credential.helper", _HELPER)])


def _clean_env(base: Mapping[str, str]) -> dict[str, str]:
    env = dict(base)
    for var in _FOREIGN:
        env.pop(var, None)
    return env


def _with_config(env: dict[str, str], pairs: Sequence[tuple[str, str]]) -> dict[str, str]:
    count = int(env.get("GIT_CONFIG_COUNT", "0") or "0")
    for offset, (key, value) in enumerate(pairs):
        env[f"GIT_CONFIG_KEY_{count + offset}"] = key
        env[f"GIT_CONFIG_VALUE_{count + offset}"] = value
    env["GIT_CONFIG_COUNT"] = str(count + len(pairs))
    return env


def _run(
    command: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    stdin: bytes,
    secret: str | None,
) -> tuple[int, str]:
    """Run git-lfs; its exit code and its stderr, scrubbed of ``secret``."""
    done = subprocess.run(
        ["git", *command],
        cwd=cwd,
        env=env,
        input=stdin,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        check=False,
        preexec_fn=tied(),
    )
    said = done.stderr.decode("utf-8", "replace")
    if secret:
        # A USER:SECRET token: its secret alone is as secret as the whole.
        for shown in (secret, split_credential(secret)[1]):
            said = said.replace(shown, "***")
    return done.returncode, said


def upload(
    storage: Path, remote: str, oids: Sequence[str], *, token: str | None, shown: str
) -> None:
    """Upload the objects ``oids`` from ``storage`` to the LFS store of ``remote``.

    git-lfs runs in a throwaway repository that knows nothing but where the objects are: the
    source's configuration (an ``lfs.url`` for the internal LFS server, say) must not decide
    where public objects go, and the staging repository's configuration stays free of the
    settings git-lfs writes back (``lfs.<url>.access``). The server is asked first, so objects
    it already has are not sent again.
    """
    if not oids:
        return
    with _throwaway(storage) as scratch:
        _push(scratch, remote, oids, token=token, shown=shown, scratch=scratch)


def upload_from_clone(
    clone: Path, remote: str, oids: Sequence[str], *, token: str | None, shown: str
) -> None:
    """Upload the objects ``oids`` of the clone at ``clone`` to ``remote``'s LFS store, as the
    clone's own git-lfs settings (``lfs.url``, ``.lfsconfig``) find it: absorb's way back."""
    if not oids:
        return
    with tempfile.TemporaryDirectory(prefix="pubgate-lfs-") as scratch:
        _push(clone, remote, oids, token=token, shown=shown, scratch=Path(scratch))


def _push(
    cwd: Path, remote: str, oids: Sequence[str], *, token: str | None, shown: str, scratch: Path
) -> None:
    env = _environment(token, scratch)
    # Locks are about work trees; a publication has none to verify.
    env = _with_config(env, [("lfs.locksverify", "false")])
    code, said = _run(
        ["lfs", "push", "--object-id", lfs_url(remote), "--stdin"],
        cwd=cwd,
        env=env,
        stdin="\n".join(oids).encode() + b"\n",
        secret=token,
    )
    if code != 0:
        count = f"{len(oids)} Git LFS object" + ("" if len(oids) == 1 else "s")
        raise PubgateError(
            f"uploading {count} to {shown} failed: {summarise(said) or f'git-lfs exited {code}'}",
            "check that the token may push to the repository and that its LFS storage is on "
            "and has room; a rerun uploads only what the server still lacks",
        )


@contextlib.contextmanager
def _throwaway(storage: Path, remote: str | None = None) -> Iterator[Path]:
    """A bare repository that knows only ``storage`` (and ``remote`` as origin), removed after."""
    with tempfile.TemporaryDirectory(prefix="pubgate-lfs-") as scratch:
        repo = pygit2.init_repository(scratch, bare=True)
        repo.config["lfs.storage"] = str(storage)
        if remote is not None:
            repo.config["remote.origin.url"] = lfs_url(remote)
        yield Path(scratch)


def fetch_into_clone(
    workdir: Path, files: Sequence[LfsFile], *, token: str | None
) -> list[LfsFile]:
    """Download the objects of ``files`` into the clone at ``workdir``, from its LFS server.

    git-lfs downloads through the clone's own remote, configuration and credentials (``git
    lfs smudge``, as a checkout does), into the clone's storage. Returns the files whose
    object could not be had.
    """
    with tempfile.TemporaryDirectory(prefix="pubgate-lfs-") as scratch:
        return _smudge_each(workdir, files, token, Path(scratch))


def fetch_from_remote(
    remote: str, storage: Path, files: Sequence[LfsFile], *, token: str | None
) -> list[LfsFile]:
    """Download the objects of ``files`` from ``remote``'s LFS store into ``storage``."""
    with _throwaway(storage, remote) as scratch:
        return _smudge_each(scratch, files, token, scratch)


def _smudge_each(
    cwd: Path, files: Sequence[LfsFile], token: str | None, scratch: Path
) -> list[LfsFile]:
    env = _environment(token, scratch)
    env.pop("GIT_LFS_SKIP_SMUDGE", None)  # set in CI clones: smudge would then do nothing
    # The clone's own fetch filters would keep exactly these objects out.
    env = _with_config(env, [("lfs.fetchinclude", ""), ("lfs.fetchexclude", "")])
    lost = []
    for file in files:
        pointer = (
            b"version https://git-lfs.github.com/spec/v1\n"
            + f"oid sha256:{file.pointer.oid}\nsize {file.pointer.size}\n".encode()
        )
        code, _ = _run(
            ["lfs", "smudge", "--", file.shown_path], cwd=cwd, env=env, stdin=pointer, secret=token
        )
        if code != 0:
            lost.append(file)
    return lost
