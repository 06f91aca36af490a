"""Git LFS objects follow their pointers: real git-lfs against a real LFS server (giftless).

The server (tests/lfsserver.py) serves git and LFS on one 127.0.0.1 origin, as forges do, so
git-lfs finds the target's LFS endpoint from target_repo alone (``<url>/info/lfs``).
"""

from __future__ import annotations

import hashlib
import json
import os
import select
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from git_pubgate.lfs_pointer import Pointer, parse_pointer

from .conftest import SECRETS, PublicRepos, pubgate
from .factory import git

TOKEN = "ghs_LfsT0kenThatMustNeverLeak_93c1"
SECRETS.add(TOKEN)
REPO_ROOT = Path(__file__).resolve().parent.parent

KEPT_V1 = b"kept logo, first version\n" * 40
KEPT_V2 = b"kept logo, second version\n" * 40
KEPT_NEW = bytes(range(256)) * 8
SECRET_V1 = b"internal model weights\n" * 50
SECRET_V2 = b"internal model weights, retrained\n" * 50


def oid(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class LfsServer:
    port: int
    root: Path
    storage: Path
    log: Path

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/{name}"

    def stored(self, repo: str) -> set[str]:
        folder = self.storage / repo
        return {p.name for p in folder.iterdir()} if folder.exists() else set()

    def requests(self) -> list[str]:
        return self.log.read_text().splitlines() if self.log.exists() else []


@pytest.fixture
def lfs_server(tmp_path: Path) -> Iterator[LfsServer]:
    assert shutil.which("git-lfs"), "git-lfs must be installed (README: the test command)"
    root, storage, log = tmp_path / "served", tmp_path / "lfs-storage", tmp_path / "lfs.log"
    (root / "org").mkdir(parents=True)
    storage.mkdir()
    git("init", "-q", "--bare", "-b", "main", str(root / "org" / "public.git"))
    errors = (tmp_path / "lfsserver.err").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "tests.lfsserver", str(root), str(storage), str(log)],
        cwd=REPO_ROOT,
        env={**os.environ, "LFS_SERVER_TOKEN": TOKEN},
        stdout=subprocess.PIPE,
        stderr=errors,
    )
    assert server.stdout is not None
    ready, _, _ = select.select([server.stdout], [], [], 60)
    line = server.stdout.readline() if ready else b""
    assert line.strip().isdigit(), f"the LFS server did not start: {line!r}"
    yield LfsServer(int(line), root, storage, log)
    server.terminate()
    server.wait(timeout=10)
    server.stdout.close()
    errors.close()


def lfs_repo(path: Path) -> None:
    """A work tree whose repository runs the LFS filter (the tests blank the system config)."""
    git("lfs", "install", "--local", cwd=path)


def commit(src: Path, message: str, files: dict[str, bytes]) -> str:
    for name, data in files.items():
        target = src / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    git("add", "-A", cwd=src)
    git("commit", "-q", "-m", message, cwd=src)
    return git("rev-parse", "HEAD", cwd=src).strip()


def make_source(tmp_path: Path, target: str) -> Path:
    """Two commits with LFS files in a kept folder and in an excluded one."""
    src = tmp_path / "src"
    git("init", "-q", "-b", "main", str(src))
    lfs_repo(src)
    git("lfs", "track", "*.bin", cwd=src)
    commit(
        src,
        "first",
        {"README.md": b"hello\n", "assets/logo.bin": KEPT_V1, "internal/model.bin": SECRET_V1},
    )
    commit(
        src,
        "second",
        {"assets/logo.bin": KEPT_V2, "assets/new.bin": KEPT_NEW, "internal/model.bin": SECRET_V2},
    )
    (tmp_path / "pubgate.yaml").write_text(
        f'target_repo: "{target}"\nexclude: ["internal/"]\ngithub_token_env: "GH_TOKEN"\n'
    )
    return src


def sync(tmp_path: Path, src: Path, *args: str) -> tuple[int, str, str]:
    result = pubgate("--config", str(tmp_path / "pubgate.yaml"), *args, cwd=src)
    return result.code, result.out, result.err


def public_checkout(tmp_path: Path, url: str, branch: str) -> Path:
    """What a person gets: a clone of the public branch, then ``git lfs pull``."""
    clone = tmp_path / f"clone-{len(list(tmp_path.glob('clone-*')))}"
    git("clone", "-q", "--branch", branch, url, str(clone))
    lfs_repo(clone)
    git("lfs", "pull", cwd=clone)
    return clone


def test_pointer_files_as_the_spec_spells_them() -> None:
    good = (
        b"version https://git-lfs.github.com/spec/v1\noid sha256:" + b"a" * 64 + b"\nsize 12345\n"
    )
    assert parse_pointer(good) == Pointer("a" * 64, 12345)
    extended = good.replace(b"oid", b"ext-0-foo sha256:" + b"b" * 64 + b"\noid", 1)
    assert parse_pointer(extended) == Pointer("a" * 64, 12345)
    for bad in (
        good.replace(b"size 12345\n", b"size 12345"),  # every line ends in LF
        good.replace(b"oid sha256:", b"oid sha1:"),
        good + b"extra\n",
        good.replace(b"size 12345", b"size 012"),
        b"version https://git-lfs.github.com/spec/v1\n" + b"x" * 2000,
        b"hello\n",
    ):
        assert parse_pointer(bad) is None, bad


def test_sync_uploads_kept_objects_before_the_branch_and_never_excluded_ones(
    tmp_path: Path, lfs_server: LfsServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = lfs_server.url("org/public.git")
    src = make_source(tmp_path, url)
    monkeypatch.setenv("GH_TOKEN", TOKEN)
    code, out, err = sync(tmp_path, src, "--json", "sync", "--no-pr")
    assert code == 0, err

    kept = {oid(KEPT_V1), oid(KEPT_V2), oid(KEPT_NEW)}
    assert lfs_server.stored("org/public") == kept
    assert json.loads(out)["lfs"] == {"objects": 3, "fetched": 0, "uploaded": True}
    log = lfs_server.requests()
    uploads = [i for i, line in enumerate(log) if line.startswith("PUT ") and line.endswith(" 200")]
    push = next(i for i, line in enumerate(log) if "git-receive-pack" in line and "POST" in line)
    assert len(uploads) == 3 and max(uploads) < push, log
    assert not any(oid(SECRET_V1) in line or oid(SECRET_V2) in line for line in log)

    clone = public_checkout(tmp_path, url, "pubgate/sync")
    assert (clone / "assets" / "logo.bin").read_bytes() == KEPT_V2
    assert (clone / "assets" / "new.bin").read_bytes() == KEPT_NEW
    assert not (clone / "internal").exists()
    git("checkout", "-q", "HEAD~1", cwd=clone)
    git("lfs", "pull", cwd=clone)
    assert (clone / "assets" / "logo.bin").read_bytes() == KEPT_V1

    # Nothing new: no LFS request at all.
    before = len(lfs_server.requests())
    code, _, err = sync(tmp_path, src, "sync", "--no-pr")
    assert code == 0 and "already points at" in err
    assert not [line for line in lfs_server.requests()[before:] if "/info/lfs/" in line]

    for text in (out, err):
        assert TOKEN not in text
    staging = src / ".git" / "pubgate" / "public.git" / "config"
    assert "credential" not in staging.read_text() and "lfs" not in staging.read_text()


def test_a_wrong_token_uploads_nothing_and_pushes_nothing(
    tmp_path: Path, lfs_server: LfsServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = lfs_server.url("org/public.git")
    src = make_source(tmp_path, url)
    monkeypatch.setenv("GH_TOKEN", "ghs_NotTheRightTokenAtAll_0000")
    code, _, err = sync(tmp_path, src, "sync", "--no-pr")
    assert code == 1, err
    assert "error: uploading 3 Git LFS objects to" in err and "hint:" in err
    assert "NotTheRightToken" not in err
    assert lfs_server.stored("org/public") == set()
    assert git("branch", "--list", cwd=lfs_server.root / "org" / "public.git").strip() == ""


def _internal_remote(tmp_path: Path, src: Path) -> Path:
    """The source's own server: a bare repository holding its LFS objects (file:// transfer)."""
    internal = tmp_path / "internal.git"
    git("init", "-q", "--bare", "-b", "main", str(internal))
    git("remote", "add", "origin", internal.as_uri(), cwd=src)
    git("push", "-q", "origin", "main", cwd=src)  # git-lfs's pre-push hook uploads the objects
    return internal


def _ci_clone(tmp_path: Path, internal: Path) -> Path:
    """A CI checkout: full history, LFS objects of none of it (GIT_LFS_SKIP_SMUDGE)."""
    ci = tmp_path / "ci"
    git("clone", "-q", internal.as_uri(), str(ci))
    lfs_repo(ci)
    assert not (ci / ".git" / "lfs" / "objects").exists()
    return ci


def test_objects_missing_locally_come_from_the_source_lfs_server(
    tmp_path: Path, lfs_server: LfsServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = lfs_server.url("org/public.git")
    src = make_source(tmp_path, url)
    internal = _internal_remote(tmp_path, src)
    ci = _ci_clone(tmp_path, internal)
    monkeypatch.setenv("GH_TOKEN", TOKEN)
    monkeypatch.setenv("GIT_LFS_SKIP_SMUDGE", "1")  # as CI sets it; fetching must not obey it
    code, out, err = sync(tmp_path, ci, "--json", "sync", "--no-pr")
    assert code == 0, err
    assert json.loads(out)["lfs"] == {"objects": 3, "fetched": 3, "uploaded": True}
    assert lfs_server.stored("org/public") == {oid(KEPT_V1), oid(KEPT_V2), oid(KEPT_NEW)}
    # Only what is public was fetched: the excluded objects stay on the internal server.
    local = {p.name for p in (ci / ".git" / "lfs" / "objects").rglob("*") if p.is_file()}
    assert local == {oid(KEPT_V1), oid(KEPT_V2), oid(KEPT_NEW)}


def test_an_object_missing_everywhere_names_commit_path_and_oid(
    tmp_path: Path, lfs_server: LfsServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = lfs_server.url("org/public.git")
    src = make_source(tmp_path, url)
    first = git("rev-parse", "HEAD~1", cwd=src).strip()
    internal = _internal_remote(tmp_path, src)
    lost = oid(KEPT_V1)
    shutil.rmtree(internal / "lfs" / "objects" / lost[:2] / lost[2:4])
    ci = _ci_clone(tmp_path, internal)
    monkeypatch.setenv("GH_TOKEN", TOKEN)
    code, _, err = sync(tmp_path, ci, "sync", "--no-pr")
    assert code == 1, err
    assert f"error: refusing to publish {first[:12]}, since assets/logo.bin points at" in err
    assert lost in err and "hint:" in err
    assert lfs_server.stored("org/public") == set()
    assert git("branch", "--list", cwd=lfs_server.root / "org" / "public.git").strip() == ""


def _path_without_git_lfs(tmp_path: Path) -> str:
    bin_dir = tmp_path / "bin-without-lfs"
    bin_dir.mkdir()
    git_binary = shutil.which("git")
    assert git_binary is not None
    (bin_dir / "git").symlink_to(git_binary)
    return str(bin_dir)


def test_without_git_lfs_pointers_are_refused_with_the_install_hint(
    tmp_path: Path, public: PublicRepos, monkeypatch: pytest.MonkeyPatch
) -> None:
    bare = public.bare()
    src = make_source(tmp_path, str(bare))
    monkeypatch.setenv("PATH", _path_without_git_lfs(tmp_path))
    plan = sync(tmp_path, src, "plan")
    assert plan[0] == 0 and "sync would refuse: 3 Git LFS objects must reach" in plan[2]
    code, _, err = sync(tmp_path, src, "sync", "--no-pr")
    assert code == 1
    assert "git-lfs is not installed" in err and "hint: install git-lfs" in err
    assert git("branch", "--list", cwd=bare).strip() == ""


def test_a_repository_without_lfs_never_runs_git_lfs(
    tmp_path: Path, public: PublicRepos, monkeypatch: pytest.MonkeyPatch
) -> None:
    bare = public.bare()
    src = tmp_path / "src"
    git("init", "-q", "-b", "main", str(src))
    # Text that merely mentions LFS is not a pointer.
    commit(src, "one", {"README.md": b"we do not use git-lfs\nversion 1\n", "a.txt": b"a\n"})
    (tmp_path / "pubgate.yaml").write_text(f'target_repo: "{bare}"\n')
    spy = tmp_path / "spy"
    spy.mkdir()
    calls = tmp_path / "git-lfs-calls"
    (spy / "git-lfs").write_text(f'#!/bin/sh\necho "$@" >> {calls}\nexit 1\n')
    (spy / "git-lfs").chmod(0o755)
    monkeypatch.setenv("PATH", f"{spy}{os.pathsep}{os.environ['PATH']}")
    code, out, err = sync(tmp_path, src, "--json", "sync", "--no-pr")
    assert code == 0, err
    assert json.loads(out)["lfs"] is None
    assert not calls.exists()


def test_path_and_file_url_targets_get_the_objects_in_their_own_store(
    tmp_path: Path, public: PublicRepos
) -> None:
    bare = public.bare()
    src = make_source(tmp_path, str(bare))
    code, _, err = sync(tmp_path, src, "sync", "--no-pr")
    assert code == 0, err
    stored = {p.name for p in (bare / "lfs" / "objects").rglob("*") if p.is_file()}
    assert stored == {oid(KEPT_V1), oid(KEPT_V2), oid(KEPT_NEW)}
    clone = public_checkout(tmp_path, bare.as_uri(), "pubgate/sync")
    assert (clone / "assets" / "logo.bin").read_bytes() == KEPT_V2


def test_audit_lfs_finds_every_object_the_store_lacks(
    tmp_path: Path, lfs_server: LfsServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = lfs_server.url("org/public.git")
    src = make_source(tmp_path, url)
    monkeypatch.setenv("GH_TOKEN", TOKEN)
    assert sync(tmp_path, src, "sync", "--init")[0] == 0
    code, out, err = sync(tmp_path, src, "--json", "audit", "--lfs")
    assert code == 0, err
    report = json.loads(out)
    assert report["clean"] and report["lfs"] == {"pointers": 3, "objects": 3, "missing": []}
    assert json.loads(sync(tmp_path, src, "--json", "audit")[1])["lfs"] is None

    (lfs_server.storage / "org" / "public" / oid(KEPT_V1)).unlink()
    code, out, err = sync(tmp_path, src, "--json", "audit", "--lfs")
    assert code == 1
    first = git("rev-parse", "main~1", cwd=lfs_server.root / "org" / "public.git").strip()
    assert json.loads(out)["lfs"]["missing"] == [
        {"commit": first, "path": "assets/logo.bin", "oid": oid(KEPT_V1)}
    ]
    code, _, err = sync(tmp_path, src, "audit", "--lfs")
    assert code == 1
    assert f"{first[:12]}: assets/logo.bin points at Git LFS object {oid(KEPT_V1)}" in err
    assert TOKEN not in out + err


def test_audit_lfs_of_a_path_target_looks_in_its_store(tmp_path: Path, public: PublicRepos) -> None:
    bare = public.bare()
    src = make_source(tmp_path, str(bare))
    assert sync(tmp_path, src, "sync", "--init")[0] == 0
    assert sync(tmp_path, src, "audit", "--lfs")[0] == 0
    lost = oid(KEPT_NEW)
    (bare / "lfs" / "objects" / lost[:2] / lost[2:4] / lost).unlink()
    code, _, err = sync(tmp_path, src, "audit", "--lfs")
    assert code == 1 and f"assets/new.bin points at Git LFS object {lost}" in err


CONTRIBUTED = b"a contributor's large file\n" * 30


def _push_with_token(clone: Path, *args: str) -> None:
    helper = '!f() { echo username=x-access-token; echo "password=$LFS_TEST_TOKEN"; }; f'
    env = {
        **os.environ,
        "LFS_TEST_TOKEN": TOKEN,
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": "credential.helper",
        "GIT_CONFIG_VALUE_0": helper,
    }
    subprocess.run(["git", "push", "-q", *args], cwd=clone, env=env, check=True)


def _contribute(tmp_path: Path, url: str) -> None:
    """A contributor clones the public repository, adds an LFS file and pushes to main."""
    clone = tmp_path / "contributor"
    git("clone", "-q", url, str(clone))
    lfs_repo(clone)
    commit(clone, "Add a contributed asset", {"assets/contributed.bin": CONTRIBUTED})
    _push_with_token(clone, "origin", "main")


def test_absorb_brings_a_contributed_lfs_object_back(
    tmp_path: Path, lfs_server: LfsServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = lfs_server.url("org/public.git")
    src = make_source(tmp_path, url)
    monkeypatch.setenv("GH_TOKEN", TOKEN)
    assert sync(tmp_path, src, "sync", "--init")[0] == 0
    _contribute(tmp_path, url)
    assert oid(CONTRIBUTED) in lfs_server.stored("org/public")

    code, out, err = sync(tmp_path, src, "--json", "absorb", "--no-pr")
    assert code == 0, err
    assert json.loads(out)["written"]
    stored = src / ".git" / "lfs" / "objects" / oid(CONTRIBUTED)[:2] / oid(CONTRIBUTED)[2:4]
    assert (stored / oid(CONTRIBUTED)).read_bytes() == CONTRIBUTED
    git("checkout", "-q", "pubgate/absorb", cwd=src)
    assert (src / "assets" / "contributed.bin").read_bytes() == CONTRIBUTED
    assert (src / "internal" / "model.bin").read_bytes() == SECRET_V2


def test_absorb_refuses_a_pointer_whose_object_the_target_lacks(
    tmp_path: Path, lfs_server: LfsServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = lfs_server.url("org/public.git")
    src = make_source(tmp_path, url)
    monkeypatch.setenv("GH_TOKEN", TOKEN)
    assert sync(tmp_path, src, "sync", "--init")[0] == 0
    _contribute(tmp_path, url)
    (lfs_server.storage / "org" / "public" / oid(CONTRIBUTED)).unlink()

    code, _, err = sync(tmp_path, src, "absorb", "--no-pr")
    assert code == 1
    assert (
        f"error: refusing to absorb, since assets/contributed.bin points at Git LFS object "
        f"{oid(CONTRIBUTED)}, which the target's LFS store does not have"
    ) in err
    assert git("branch", "--list", "pubgate/absorb", cwd=src).strip() == ""


def test_a_plan_before_the_sync_does_not_hide_pointers_from_it(
    tmp_path: Path, public: PublicRepos
) -> None:
    """Plan leaves a cache that spares sync from reading unchanged files again; with the LFS
    attributes in a subfolder's .gitattributes only, the objects must still go out."""
    bare = public.bare()
    src = tmp_path / "src"
    git("init", "-q", "-b", "main", str(src))
    lfs_repo(src)
    commit(
        src, "attributes", {"assets/.gitattributes": b"*.bin filter=lfs diff=lfs merge=lfs -text\n"}
    )
    commit(src, "first", {"assets/logo.bin": KEPT_V1, "README.md": b"hi\n"})
    (tmp_path / "pubgate.yaml").write_text(f'target_repo: "{bare}"\n')
    assert sync(tmp_path, src, "plan")[0] == 0
    code, out, err = sync(tmp_path, src, "--json", "sync", "--no-pr")
    assert code == 0, err
    assert json.loads(out)["lfs"]["objects"] == 1
    stored = {p.name for p in (bare / "lfs" / "objects").rglob("*") if p.is_file()}
    assert stored == {oid(KEPT_V1)}


def test_absorb_uploads_contributed_objects_to_the_source_lfs_server(
    tmp_path: Path, lfs_server: LfsServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With source_repo a URL, absorb pushes its branch there: the objects go first."""
    git("init", "-q", "--bare", "-b", "main", str(lfs_server.root / "org" / "internal.git"))
    internal_url = lfs_server.url("org/internal.git")
    url = lfs_server.url("org/public.git")
    src = make_source(tmp_path, url)
    git("remote", "add", "origin", internal_url, cwd=src)
    _push_with_token(src, "origin", "main")
    assert oid(SECRET_V2) in lfs_server.stored("org/internal")
    config = tmp_path / "pubgate.yaml"
    config.write_text(
        config.read_text() + f'source_repo: "{internal_url}"\nsource_token_env: "SRC_TOKEN"\n'
    )
    monkeypatch.setenv("GH_TOKEN", TOKEN)
    monkeypatch.setenv("SRC_TOKEN", TOKEN)
    assert sync(tmp_path, src, "sync", "--init")[0] == 0
    _contribute(tmp_path, url)

    code, out, err = sync(tmp_path, src, "--json", "absorb", "--no-pr")
    assert code == 0, err
    assert json.loads(out)["pushed"]
    assert oid(CONTRIBUTED) in lfs_server.stored("org/internal")
    log = lfs_server.requests()
    upload = max(i for i, line in enumerate(log) if f"storage/{oid(CONTRIBUTED)}" in line)
    push = max(i for i, line in enumerate(log) if "internal.git/git-receive-pack" in line)
    assert upload < push


def test_the_pre_push_hook_treats_pointer_files_as_files_and_keeps_git_lfs_hook(
    tmp_path: Path, public: PublicRepos
) -> None:
    bare = public.bare()
    src = make_source(tmp_path, str(bare))
    (tmp_path / "pubgate.yaml").rename(src / "pubgate.yaml")
    (src / ".git" / "info" / "exclude").write_text("pubgate.yaml\n")
    git("remote", "add", "public", str(bare), cwd=src)
    result = pubgate("hook", "install", cwd=src)  # git lfs install left its own pre-push hook
    assert result.code == 0, result.err

    blocked = subprocess.run(
        ["git", "push", "public", "main"], cwd=src, capture_output=True, text=True, check=False
    )
    assert blocked.returncode == 1
    assert "excluded path internal/model.bin" in blocked.stderr
    assert not (bare / "lfs").exists()  # git-lfs's hook did not run for a refused push

    git("checkout", "-q", "--orphan", "clean", cwd=src)
    git("rm", "-q", "-r", "--cached", "internal", cwd=src)
    git("commit", "-q", "-m", "public only", cwd=src)
    done = subprocess.run(
        ["git", "push", "public", "clean"], cwd=src, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    stored = {p.name for p in (bare / "lfs" / "objects").rglob("*") if p.is_file()}
    assert stored == {oid(KEPT_V2), oid(KEPT_NEW)}  # git-lfs's hook ran after ours
