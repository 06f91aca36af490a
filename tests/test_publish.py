"""git pubgate publish against a real pypiserver on 127.0.0.1 (htpasswd auth)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import httpx
import pytest

from .conftest import SECRETS, processes_naming, pubgate
from .factory import C, build, git
from .loopback import LoopbackServer, reply

PYPI_TOKEN = "pypi-AgEIcHlwaS5vcmc-test-token-never-printed"
SECRETS.add(PYPI_TOKEN)
BIN = Path(sys.executable).parent


@dataclass
class Index:
    url: str
    packages: Path


@pytest.fixture
def index(tmp_path: Path) -> Iterator[Index]:
    packages = tmp_path / "index-packages"
    packages.mkdir()
    htpasswd = tmp_path / "htpasswd"
    # passlib imports the deprecated crypt module: keep its warning out of this process.
    subprocess.run(
        [
            sys.executable,
            "-c",
            (
                "import sys; from passlib.apache import HtpasswdFile; "
                "f = HtpasswdFile(sys.argv[1], new=True); "
                "f.set_password('__token__', sys.argv[2]); f.save()"
            ),
            str(htpasswd),
            PYPI_TOKEN,
        ],
        check=True,
        capture_output=True,
    )
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = (tmp_path / "pypiserver.log").open("w")
    server = subprocess.Popen(
        [
            str(BIN / "pypi-server"),
            "run",
            "-i",
            "127.0.0.1",
            "-p",
            str(port),
            "-a",
            "update",
            "-P",
            str(htpasswd),
            "--disable-fallback",
            str(packages),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 20
    while True:
        try:
            httpx.get(url, timeout=1)
            break
        except httpx.HTTPError:
            assert time.monotonic() < deadline and server.poll() is None, "pypiserver did not start"
            time.sleep(0.1)
    yield Index(url, packages)
    server.terminate()
    server.wait(timeout=10)
    log.close()


def make_project(tmp_path: Path, index: Index, version: str = "0.1.0", **extra: object) -> Path:
    """A public repository holding a small package, and a clean checkout of it."""
    origin = tmp_path / "public.git"
    git("init", "-q", "--bare", "-b", "main", str(origin))
    checkout = tmp_path / "checkout"
    git("clone", "-q", str(origin), str(checkout))
    (checkout / "pubgate_sample").mkdir()
    (checkout / "pubgate_sample" / "__init__.py").write_text(f'__version__ = "{version}"\n')
    (checkout / "README.md").write_text("# pubgate-sample\n\nA package published by a test.\n")
    (checkout / "pyproject.toml").write_text(f"""\
[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"

[project]
name = "pubgate-sample"
version = "{version}"
description = "A package published by git-pubgate's tests"
readme = "README.md"
requires-python = ">=3.8"
""")
    settings = {
        "target_repo": str(origin),
        "review_branch": "main",
        "pypi_package_name": "pubgate_sample",  # PEP 503: the same name as pubgate-sample
        "pypi_token_env": "PYPI_TOKEN",
        "pypi_repository_url": index.url,
        "pre_publish_commands": [f"{sys.executable} -c \"print('checks pass')\""],
        **extra,
    }
    (checkout / "pubgate.yaml").write_text(json.dumps(settings))
    git("add", "-A", cwd=checkout)
    git("commit", "-qm", "Release 0.1.0", cwd=checkout)
    git("push", "-q", "origin", "main", cwd=checkout)
    return checkout


def publish(checkout: Path, *args: str) -> tuple[int, dict[str, object], str]:
    result = pubgate("--json", "publish", *args, cwd=checkout)
    assert PYPI_TOKEN not in result.out + result.err
    return result.code, json.loads(result.out) if result.out else {}, result.err


def on_index(index: Index) -> list[str]:
    return sorted(p.name for p in index.packages.iterdir())


@pytest.fixture
def token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYPI_TOKEN", PYPI_TOKEN)


@pytest.fixture(autouse=True)
def build_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The build tools publish runs (pip, the backend) cache under HOME, as they would for a
    user; here that HOME is this test's, so the suite's guard on the real one still holds."""
    monkeypatch.setenv("HOME", str(tmp_path / "build-home"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "build-home" / "cache"))


@pytest.mark.usefixtures("token")
def test_publish_then_install_from_the_index(tmp_path: Path, index: Index) -> None:
    checkout = make_project(tmp_path, index)
    code, report, err = publish(checkout)  # isolated build: the normal package index serves it
    assert code == 0, err
    assert on_index(index) == [
        "pubgate_sample-0.1.0-py3-none-any.whl",
        "pubgate_sample-0.1.0.tar.gz",
    ]
    assert report["tagged"] is True and report["tag"] == "v0.1.0"
    origin = tmp_path / "public.git"
    assert git("cat-file", "-t", "v0.1.0", cwd=origin).strip() == "tag"  # annotated
    assert git("rev-parse", "v0.1.0^{commit}", cwd=origin) == git("rev-parse", "main", cwd=origin)

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    scratch = tmp_path / "pip-home"
    env = {**os.environ, "HOME": str(scratch), "XDG_CACHE_HOME": str(scratch / "cache")}
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(venv / "bin" / "python"),
            "install",
            "-q",
            "--no-deps",
            "--index-url",
            index.url + "simple/",
            "pubgate-sample==0.1.0",
        ],
        check=True,
        capture_output=True,
        env=env,
    )
    imported = subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-c",
            "import pubgate_sample; print(pubgate_sample.__version__)",
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    assert imported.stdout.strip() == "0.1.0"


@pytest.mark.usefixtures("token")
def test_republish_is_a_no_op_and_new_bytes_are_refused(tmp_path: Path, index: Index) -> None:
    checkout = make_project(tmp_path, index)
    assert publish(checkout, "--no-isolation")[0] == 0
    files = on_index(index)
    code, report, err = publish(checkout, "--no-isolation")
    assert code == 0 and report["already_published"] is True and report["uploaded"] == []
    assert report["tagged"] is False and on_index(index) == files
    plain = pubgate("publish", "--no-isolation", cwd=checkout)
    assert plain.code == 0 and "already published" in plain.err

    # Same version, different bytes (and no tag in the way): the index's files win.
    git("tag", "-d", "v0.1.0", cwd=checkout)
    git("push", "-q", "origin", ":refs/tags/v0.1.0", cwd=checkout)
    (checkout / "README.md").write_text("# pubgate-sample\n\nChanged after the release.\n")
    git("commit", "-qam", "Change the readme", cwd=checkout)
    git("push", "-q", "origin", "main", cwd=checkout)
    code, _, err = publish(checkout, "--no-isolation")
    assert code == 1 and "already on the index with different files" in err
    assert on_index(index) == files


@pytest.mark.usefixtures("token")
def test_dry_run_builds_reproducibly_and_uploads_nothing(tmp_path: Path, index: Index) -> None:
    checkout = make_project(tmp_path, index)
    code, first, err = publish(checkout, "--dry-run", "--no-isolation")
    assert code == 0, err
    code, second, _ = publish(checkout, "--dry-run", "--no-isolation")
    assert first["files"] == second["files"]  # byte-identical builds of one commit
    assert on_index(index) == [] and first["tagged"] is False
    assert git("tag", cwd=checkout) == ""


def test_wrong_password_uploads_and_tags_nothing(
    tmp_path: Path, index: Index, monkeypatch: pytest.MonkeyPatch
) -> None:
    checkout = make_project(tmp_path, index)
    monkeypatch.setenv("PYPI_TOKEN", "pypi-wrong-token")
    code, _, err = publish(checkout, "--no-isolation")
    assert code == 1 and err.startswith(f"error: uploading to {index.url} failed")
    assert "pypi-wrong-token" not in err
    assert on_index(index) == [] and git("tag", cwd=checkout) == ""
    assert git("ls-remote", "--tags", str(tmp_path / "public.git")) == ""
    monkeypatch.delenv("PYPI_TOKEN")
    code, _, err = publish(checkout, "--no-isolation")
    assert code == 1 and "$PYPI_TOKEN is not set" in err and "id-token: write" in err


@pytest.mark.usefixtures("token")
def test_failing_pre_publish_command_stops_everything(tmp_path: Path, index: Index) -> None:
    checkout = make_project(tmp_path, index, pre_publish_commands=["true", "exit 3"])
    code, _, err = publish(checkout, "--no-isolation")
    assert code == 1
    assert err.splitlines()[0] == "error: pre-publish command failed with exit code 3: exit 3"
    assert on_index(index) == []


@pytest.mark.usefixtures("token")
def test_refusals_before_anything_is_uploaded(tmp_path: Path, index: Index) -> None:
    checkout = make_project(tmp_path, index, pypi_package_name="another-name")
    code, _, err = publish(checkout, "--no-isolation")
    assert code == 1 and "refusing to upload pubgate-sample" in err
    settings = json.loads((checkout / "pubgate.yaml").read_text())
    settings["pypi_package_name"] = "pubgate-sample"
    (checkout / "pubgate.yaml").write_text(json.dumps(settings))
    code, _, err = publish(checkout, "--no-isolation")
    assert code == 1 and "work tree with changes" in err
    git("commit", "-qam", "Fix the name", cwd=checkout)
    fixed = git("rev-parse", "HEAD", cwd=checkout).strip()
    code, _, err = publish(checkout, "--no-isolation")  # committed, but nobody reviewed it
    assert code == 1 and err.startswith(
        f"error: refusing to publish {fixed[:12]}, since main on {tmp_path / 'public.git'} "
        "does not contain it"
    )
    assert on_index(index) == []
    git("push", "-q", "origin", "main", cwd=checkout)
    git("checkout", "-q", "--detach", cwd=checkout)  # a detached HEAD at a reviewed commit
    code, report, err = publish(checkout, "--no-isolation", "--dry-run")
    assert code == 0 and report["commit"] == fixed, err


@pytest.mark.usefixtures("token")
def test_outside_a_checkout_publish_clones_the_target(tmp_path: Path, index: Index) -> None:
    checkout = make_project(tmp_path, index)
    elsewhere = tmp_path / "ci-workspace"
    elsewhere.mkdir()
    (elsewhere / "pubgate.yaml").write_text((checkout / "pubgate.yaml").read_text())
    code, report, err = publish(elsewhere, "--no-isolation")
    assert code == 0, err
    assert report["tagged"] is True and len(on_index(index)) == 2
    origin = tmp_path / "public.git"
    assert git("rev-parse", "v0.1.0^{commit}", cwd=origin) == git("rev-parse", "main", cwd=origin)
    assert list(elsewhere.iterdir()) == [elsewhere / "pubgate.yaml"]  # the clone is gone


@pytest.mark.usefixtures("token")
def test_a_run_stopped_between_upload_and_tag_is_completed(tmp_path: Path, index: Index) -> None:
    checkout = make_project(tmp_path, index)
    origin = tmp_path / "public.git"
    hook = origin / "hooks" / "pre-receive"
    hook.write_text(
        "#!/bin/sh\ngrep -q refs/tags/ && { echo 'tags frozen' >&2; exit 1; }\nexit 0\n"
    )
    hook.chmod(0o755)
    code, _, err = publish(checkout, "--no-isolation")
    assert code == 1 and "pushing refs/tags/v0.1.0" in err
    assert len(on_index(index)) == 2  # the upload happened; the tag did not reach the origin
    assert git("ls-remote", "--tags", str(origin)) == ""
    # The local tag is left behind, as a run killed between tagging and pushing would leave it.
    assert git("tag", cwd=checkout).split() == ["v0.1.0"]
    hook.unlink()
    code, report, err = publish(checkout, "--no-isolation")
    assert code == 0, err
    assert report["already_published"] is True and report["tagged"] is True
    assert "refs/tags/v0.1.0^{}" in git("ls-remote", "--tags", str(origin))


@pytest.mark.usefixtures("token")
def test_version_from_the_release_tag_is_tagged_before_the_build(
    tmp_path: Path, index: Index
) -> None:
    """hatch-vcs computes the version from the tag on HEAD: publish puts the release commit's
    version there first, with the configured tag_prefix."""
    checkout = make_project(tmp_path, index)
    settings = json.loads((checkout / "pubgate.yaml").read_text())
    (checkout / "pubgate.yaml").write_text(
        json.dumps({**settings, "version": {"tag_prefix": "release-"}})
    )
    pyproject = (checkout / "pyproject.toml").read_text()
    pyproject = pyproject.replace(
        'requires = ["hatchling"]', 'requires = ["hatchling", "hatch-vcs"]'
    )
    pyproject = pyproject.replace('version = "0.1.0"', 'dynamic = ["version"]')
    (checkout / "pyproject.toml").write_text(pyproject + '\n[tool.hatch.version]\nsource = "vcs"\n')
    git(
        "commit",
        "-qam",
        "Release 0.3.0\n\nPubgate-Release: 0.3.0\nPubgate-Source: " + "a" * 40,
        cwd=checkout,
    )
    git("commit", "-q", "--allow-empty", "-m", "Merge pull request #3", cwd=checkout)
    git("push", "-q", "origin", "main", cwd=checkout)
    code, report, err = publish(checkout, "--no-isolation")
    assert code == 0, err
    assert report["version"] == "0.3.0" and report["tag"] == "release-0.3.0"
    assert on_index(index) == [
        "pubgate_sample-0.3.0-py3-none-any.whl",
        "pubgate_sample-0.3.0.tar.gz",
    ]
    origin = tmp_path / "public.git"
    assert "refs/tags/release-0.3.0^{}" in git("ls-remote", "--tags", str(origin))


@pytest.mark.usefixtures("token")
def test_sigkill_between_upload_and_tag_then_rerun(tmp_path: Path, index: Index) -> None:
    """A real kill: the upload is done and the tag push hangs in the target's hook when the
    whole publish process group is killed. The rerun finds the files published and tags."""
    checkout = make_project(tmp_path, index)
    origin = tmp_path / "public.git"
    marker = tmp_path / "tag-push-started"
    hook = origin / "hooks" / "pre-receive"
    hook.write_text(
        f"#!/bin/sh\ngrep -q refs/tags/ && {{ touch '{marker}'; sleep 120; }}\nexit 0\n"
    )
    hook.chmod(0o755)
    # TMPDIR: what a killed run cannot clean up stays in this test's directory.
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1]), "TMPDIR": str(tmp_path)}
    command = [sys.executable, "-m", "git_pubgate", "-q", "publish", "--no-isolation"]
    process = subprocess.Popen(
        command,
        cwd=checkout,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 120
    while not marker.exists():
        assert process.poll() is None, "publish ended before it pushed the tag"
        assert time.monotonic() < deadline
        time.sleep(0.05)
    os.killpg(process.pid, 9)
    process.wait()
    assert len(on_index(index)) == 2
    assert git("ls-remote", "--tags", str(origin)) == ""
    hook.unlink()
    code, report, err = publish(checkout, "--no-isolation")
    assert code == 0, err
    assert report["already_published"] is True and report["uploaded"] == []
    assert report["tagged"] is True
    assert "refs/tags/v0.1.0^{}" in git("ls-remote", "--tags", str(origin))


class _HangingIndex(LoopbackServer):
    """An index that has nothing yet, and takes an upload in without ever answering it."""

    def __init__(self) -> None:
        super().__init__()
        self.uploading = threading.Event()
        self.release = threading.Event()

    def handle(self, request: BaseHTTPRequestHandler) -> None:
        if request.command == "GET":
            reply(request, 404, b"")
            return
        self.uploading.set()
        self.release.wait(30)
        reply(request, 500, b"")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
@pytest.mark.usefixtures("token")
def test_a_killed_publish_takes_its_upload_with_it(tmp_path: Path, index: Index) -> None:
    with _HangingIndex() as hanging:
        url = f"{hanging.base}/"
        checkout = make_project(tmp_path, index, pypi_repository_url=url)
        env = {
            **os.environ,
            "PYTHONPATH": str(Path(__file__).parents[1]),
            "TMPDIR": str(tmp_path),  # what the killed run cannot clean up stays here
        }
        with subprocess.Popen(
            [sys.executable, "-m", "git_pubgate", "-q", "publish", "--no-isolation"],
            cwd=checkout,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        ) as process:
            assert hanging.uploading.wait(60), "publish never started its upload"
            assert processes_naming(url), "twine upload should be running now"
            process.kill()  # only publish itself, as an OOM killer would
        # Its twine upload ends with it, rather than finishing behind the rerun's back.
        deadline = time.monotonic() + 60  # generous: a loaded machine reaps slowly
        while processes_naming(url) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not processes_naming(url), "twine upload outlived publish"
        hanging.release.set()


@pytest.mark.usefixtures("token")
def test_the_whole_release_cycle_twice(tmp_path: Path, index: Index) -> None:
    """Internal commits -> sync (release 0.1.0) -> merge -> publish (upload, tag) -> more
    commits -> sync picks up from the tag (0.2.0) -> merge -> publish."""
    origin = tmp_path / "public.git"
    git("init", "-q", "--bare", "-b", "main", str(origin))
    build(origin, [C("init", (), {"README.md": "# pubgate-sample\n"})], bare=True)
    src = tmp_path / "internal"
    pyproject = (
        '[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n\n'
        '[project]\nname = "pubgate-sample"\nversion = "0.0.0"\nreadme = "README.md"\n'
        'description = "A package released by a test"\nrequires-python = ">=3.8"\n'
    )
    settings = {
        "target_repo": str(origin),
        "publish_config": True,  # publish runs from the public side's copy
        "pypi_package_name": "pubgate-sample",
        "pypi_token_env": "PYPI_TOKEN",
        "pypi_repository_url": index.url,
        "version": {},
    }
    # The internal-only keys sit in an internal section, as git pubgate init writes them.
    config = "".join(f"{key}: {json.dumps(value)}\n" for key, value in settings.items())
    config += '# BEGIN-INTERNAL\nexclude: ["internal/"]\n# END-INTERNAL\n'
    files = {
        "pyproject.toml": pyproject,
        "README.md": "# pubgate-sample\n\nReleased twice by a test.\n",
        "pubgate_sample/__init__.py": "",
        "pubgate.yaml": config,
        "internal/notes.md": "not for the public\n",
    }
    ids = build(src, [C("a", (), files, message="feat: first public API\n")])

    def release_round() -> dict[str, object]:
        synced = pubgate("--json", "sync", "--no-pr", cwd=src)
        assert synced.code == 0, synced.err
        report = json.loads(synced.out)
        work = tmp_path / f"merge-{report['release']['version']}"  # type: ignore[index]
        git("clone", "-q", str(origin), str(work))
        branch = report["target"]["head_branch"]  # type: ignore[index]
        git("merge", "-q", "--no-ff", "-m", "Merge release", f"origin/{branch}", cwd=work)
        git("push", "-q", "origin", "main", cwd=work)
        code, published, err = publish(work, "--no-isolation")
        assert code == 0, err
        return {"sync": report, "publish": published}

    first = release_round()
    assert first["publish"]["version"] == "0.1.0" and first["publish"]["tag"] == "v0.1.0"  # type: ignore[index]
    build(
        src, [C("b", ["a"], {"pubgate_sample/io.py": "x = 1\n"}, message="feat: io\n")], known=ids
    )
    second = release_round()
    assert second["sync"]["release"]["previous_from"] == "tag v0.1.0"  # type: ignore[index]
    assert second["publish"]["version"] == "0.2.0"  # type: ignore[index]
    assert on_index(index) == [
        "pubgate_sample-0.1.0-py3-none-any.whl",
        "pubgate_sample-0.1.0.tar.gz",
        "pubgate_sample-0.2.0-py3-none-any.whl",
        "pubgate_sample-0.2.0.tar.gz",
    ]
    tags = git("ls-remote", "--tags", str(origin))
    assert "refs/tags/v0.1.0^{}" in tags and "refs/tags/v0.2.0^{}" in tags
    log = git("show", "main:CHANGELOG.md", cwd=origin)
    assert log.index("## [0.2.0]") < log.index("## [0.1.0]")
    public_config = git("show", "main:pubgate.yaml", cwd=origin)
    assert "exclude" not in public_config and "internal/" not in public_config


@pytest.mark.usefixtures("token")
def test_twine_check_failure_is_one_plain_line(tmp_path: Path, index: Index) -> None:
    checkout = make_project(tmp_path, index)
    pyproject = checkout / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('readme = "README.md"\n', ""))
    git("commit", "-qam", "no readme", cwd=checkout)
    git("push", "-q", "origin", "main", cwd=checkout)
    code, _, err = publish(checkout, "--no-isolation")
    assert code == 1
    lines = err.splitlines()
    assert len(lines) == 2 and "\x1b" not in err  # no terminal colour codes in an error
    assert lines[0].startswith("error: twine check failed: WARNING `long_description")
    assert (
        lines[1] == "hint: fix the package's metadata (twine check --strict); nothing was uploaded"
    )
    assert on_index(index) == []


@pytest.mark.usefixtures("token")
def test_publish_in_the_internal_repository_publishes_nothing(tmp_path: Path, index: Index) -> None:
    """The internal clone has a remote whose URL is target_repo (added to look at the public
    side): that proves nothing. The target's main does not hold the internal commit, so
    publish refuses naming it, before any pre-publish command, build, upload or tag."""
    origin = tmp_path / "public.git"
    git("init", "-q", "--bare", "-b", "main", str(origin))
    src = tmp_path / "internal"
    marker = tmp_path / "pre-publish-ran"
    settings = {
        "target_repo": str(origin),
        "exclude": ["internal/", "secrets.env"],
        "pypi_package_name": "pubgate-sample",
        "pypi_token_env": "PYPI_TOKEN",
        "pypi_repository_url": index.url,
        "pre_publish_commands": [f"touch '{marker}'"],
    }
    pyproject = (
        '[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n\n'
        '[project]\nname = "pubgate-sample"\nversion = "0.1.0"\nreadme = "README.md"\n'
        'description = "A package"\nrequires-python = ">=3.8"\n'
        '[tool.hatch.build.targets.sdist]\ninclude = ["*"]\n'
    )
    files = {
        "pyproject.toml": pyproject,
        "README.md": "# pubgate-sample\n\nA test package.\n",
        "pubgate_sample/__init__.py": "",
        "pubgate.yaml": json.dumps(settings),
        "secrets.env": "API_KEY=internal-only\n",
        "internal/runbook.md": "page the on-call\n",
    }
    build(src, [C("a", (), files)])
    synced = pubgate("sync", "--no-pr", cwd=src)
    assert synced.code == 0, synced.err
    git("update-ref", "refs/heads/main", "refs/heads/pubgate/sync", cwd=origin)
    git("remote", "add", "public", str(origin), cwd=src)
    git("fetch", "-q", "public", cwd=src)
    internal = git("rev-parse", "HEAD", cwd=src).strip()

    code, _, err = publish(src, "--no-isolation")
    assert code == 1
    assert err.startswith(
        f"error: refusing to publish {internal[:12]}, since main on {origin} does not contain it"
    )
    assert not marker.exists() and on_index(index) == []
    assert git("ls-remote", "--tags", str(origin)) == "" and git("tag", cwd=src) == ""
    assert git("status", "--porcelain", cwd=src) == ""

    # The same refusal from a detached HEAD or another branch: what counts is the commit.
    git("checkout", "-q", "--detach", cwd=src)
    code, _, err = publish(src, "--no-isolation")
    assert code == 1 and f"refusing to publish {internal[:12]}" in err and not marker.exists()


@pytest.mark.usefixtures("token")
def test_the_tag_push_goes_through_the_checkouts_pre_push_hook(
    tmp_path: Path, index: Index
) -> None:
    """No push of ours skips the hooks: the tag push runs the checkout's pre-push hook like
    any push made there, and a hook that refuses stops it (the rerun tags once it passes)."""
    checkout = make_project(tmp_path, index)
    seen = tmp_path / "hook-saw"
    hook = checkout / ".git" / "hooks" / "pre-push"
    hook.write_text(f"#!/bin/sh\ncat >> '{seen}'\nexit 1\n")
    hook.chmod(0o755)
    code, _, err = publish(checkout, "--no-isolation")
    assert code == 1 and "pushing refs/tags/v0.1.0" in err
    assert "refs/tags/v0.1.0" in seen.read_text()
    assert git("ls-remote", "--tags", str(tmp_path / "public.git")) == ""
    hook.write_text(f"#!/bin/sh\ncat >> '{seen}'\n")
    code, report, err = publish(checkout, "--no-isolation")
    assert code == 0 and report["tagged"] is True, err


def test_a_failed_upload_leaves_the_checkout_clean_for_the_rerun(
    tmp_path: Path, index: Index, monkeypatch: pytest.MonkeyPatch
) -> None:
    """setuptools writes <name>.egg-info into the tree it builds; that tree is a clean export
    of the commit, never the checkout, so the rerun after a wrong token finds it clean."""
    checkout = make_project(tmp_path, index)
    (checkout / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools>=61"]\nbuild-backend = "setuptools.build_meta"\n'
        '\n[project]\nname = "pubgate-sample"\nversion = "0.1.0"\nreadme = "README.md"\n'
        'description = "A package built by setuptools"\nrequires-python = ">=3.8"\n\n'
        '[tool.setuptools]\npackages = ["pubgate_sample"]\n'
    )
    settings = json.loads((checkout / "pubgate.yaml").read_text())
    settings["pre_publish_commands"] = ["echo generated > generated.txt"]  # writes into its cwd
    (checkout / "pubgate.yaml").write_text(json.dumps(settings))
    git("commit", "-qam", "Build with setuptools", cwd=checkout)
    git("push", "-q", "origin", "main", cwd=checkout)
    monkeypatch.setenv("PYPI_TOKEN", "pypi-wrong-token")
    code, _, err = publish(checkout, "--no-isolation")
    assert code == 1 and "uploading to" in err, err
    assert git("status", "--porcelain", "--ignored", cwd=checkout) == ""
    monkeypatch.setenv("PYPI_TOKEN", PYPI_TOKEN)
    code, report, err = publish(checkout, "--no-isolation")
    assert code == 0, err
    assert report["uploaded"] == [
        "pubgate_sample-0.1.0-py3-none-any.whl",
        "pubgate_sample-0.1.0.tar.gz",
    ]
    assert git("status", "--porcelain", "--ignored", cwd=checkout) == ""


@pytest.mark.usefixtures("token")
def test_pre_publish_commands_and_the_build_never_see_a_token(
    tmp_path: Path, index: Index, monkeypatch: pytest.MonkeyPatch
) -> None:
    """pre_publish_commands run arbitrary code: the tokens the config names are not in their
    environment (git's credential helper and twine get theirs directly)."""
    monkeypatch.setenv("GH_TOKEN", "gh-token-for-the-tag-push")
    dump = tmp_path / "env-seen"
    checkout = make_project(
        tmp_path,
        index,
        github_token_env="GH_TOKEN",
        pre_publish_commands=[f"env > '{dump}'"],
    )
    code, _, err = publish(checkout, "--no-isolation", "--dry-run")
    assert code == 0, err
    seen = dump.read_text()
    assert "PATH=" in seen
    assert "gh-token-for-the-tag-push" not in seen and PYPI_TOKEN not in seen
