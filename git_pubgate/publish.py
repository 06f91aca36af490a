"""``git pubgate publish``: pre-publish commands, a reproducible build, checks, upload, tag.

Runs in a checkout of the target (the usual CI case) at a commit that the target's
``review_branch`` contains, or outside any checkout (it then clones that branch). It builds in a
clean export of that commit (``reviewed.py``), never in the checkout. Nothing is uploaded before
every check has passed, and the tag is pushed only after the upload: a rerun after any failure
converges (files already on the index with the same bytes count as published; a tag already on
the same commit is left alone).
"""

from __future__ import annotations

import contextlib
import email.parser
import hashlib
import os
import re
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import httpx
import pygit2
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version
from pygit2.enums import SortMode

from .config import Config
from .errors import ConfigError, PubgateError
from .forge import resolve_token
from .gitio import Remote, config_value
from .procs import tied
from .reviewed import Checkout, clean_export, open_checkout, require_reviewed
from .trailer import RELEASE_TRAILER, values
from .version_files import detect
from .versions import maybe_version

PYPI_UPLOAD = "https://upload.pypi.org/legacy/"
TESTPYPI_UPLOAD = "https://test.pypi.org/legacy/"
DEFAULT_TAG_PREFIX = "v"
_JSON_API = {PYPI_UPLOAD: "https://pypi.org/pypi/", TESTPYPI_UPLOAD: "https://test.pypi.org/pypi/"}

_ANSI = re.compile(r"\x1b\[[0-9;]*m")

# Runs one command in a directory with the given (whole) environment, streaming its output;
# returns the exit code. The seam tests and callers use: publish never calls subprocess for
# commands itself.
Runner = Callable[[str, Path, Mapping[str, str]], int]


def shell_runner(command: str, cwd: Path, env: Mapping[str, str]) -> int:
    return subprocess.run(command, shell=True, cwd=cwd, env=dict(env), check=False).returncode


def untrusted_env(config: Config) -> dict[str, str]:
    """The environment for code publish runs but does not control (pre_publish_commands, the
    build backend): ours, less every credential the configuration names. Only git's
    credential helper and twine get a token, each through its own environment."""
    secret = {
        config.github_token_env,
        config.gitlab_token_env,
        config.gitea_token_env,
        config.azure_token_env,
        config.bitbucket_token_env,
        config.github_app_key_env,
        config.source_token_env,
        config.pypi_token_env,
        "PUBGATE_GIT_TOKEN",
        "PUBGATE_LFS_TOKEN",
        "TWINE_PASSWORD",
    }
    return {k: v for k, v in os.environ.items() if k not in secret}


@dataclass(frozen=True)
class PublishOptions:
    dry_run: bool = False
    repository_url: str | None = None
    isolation: bool = True
    # Where twine's and git's own progress goes (a terminal), if anywhere.
    live: Callable[[str], None] | None = field(default=None, compare=False)


@dataclass
class PublishReport:
    package: str = ""
    version: str = ""
    commit: str = ""
    repository_url: str = ""
    files: dict[str, str] = field(default_factory=dict)  # file name -> sha256
    uploaded: list[str] = field(default_factory=list)
    already_published: bool = False
    tag: str = ""
    tagged: bool = False
    dry_run: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "package": self.package,
            "version": self.version,
            "commit": self.commit,
            "repository_url": self.repository_url,
            "files": self.files,
            "uploaded": self.uploaded,
            "already_published": self.already_published,
            "tag": self.tag,
            "tagged": self.tagged,
            "dry_run": self.dry_run,
        }


def run(
    config: Config,
    cwd: Path,
    options: PublishOptions,
    client: httpx.Client,
    runner: Runner = shell_runner,
) -> PublishReport:
    if not config.pypi_package_name:
        raise ConfigError(
            f"{config.path}: pypi_package_name is not set",
            "set it to the package's name on the index",
        )
    if not config.target_repo:
        raise ConfigError(
            f"{config.path}: target_repo is not set, so publish cannot ask the public "
            "repository what was reviewed",
            "set target_repo to the public repository",
        )
    with contextlib.ExitStack() as stack:
        checkout = _checkout(config, cwd, client, stack)
        remote = _target(config, checkout.git_dir, client)
        require_reviewed(checkout, remote, config.review_branch)
        return _publish(config, checkout, remote, options, client, runner)


def _publish(  # noqa: PLR0917
    config: Config,
    checkout: Checkout,
    remote: Remote,
    options: PublishOptions,
    client: httpx.Client,
    runner: Runner,
) -> PublishReport:
    report = PublishReport(dry_run=options.dry_run)
    url = options.repository_url or config.pypi_repository_url or PYPI_UPLOAD
    report.repository_url = url.rstrip("/") + "/"
    repo = checkout.repo
    head = repo[checkout.commit].peel(pygit2.Commit)
    report.commit = checkout.commit
    prefix = config.version.tag_prefix if config.version else DEFAULT_TAG_PREFIX

    if config.version is not None and _version_from_tags(repo, head):
        # setuptools-scm and hatch-vcs read the version from the tag on HEAD: tag before the
        # export, which takes the checkout's tags along.
        released = _released_version(repo, head)
        if released is not None:
            _create_tag(checkout.workdir, f"{prefix}{released}", released, report.commit)

    env = untrusted_env(config)
    with (
        clean_export(checkout) as export,
        tempfile.TemporaryDirectory(prefix="pubgate-dist-") as dist_dir,
    ):
        for command in config.pre_publish_commands:
            code = runner(command, export, env)
            if code != 0:
                raise PubgateError(
                    f"pre-publish command failed with exit code {code}: {command}",
                    "fix what it reports and rerun; nothing was built or uploaded",
                )
        dist = Path(dist_dir)
        _build(export, dist, head.commit_time, options.isolation, env)
        files = sorted(dist.iterdir())
        _twine(["check", "--strict", *map(str, files)], {}, "twine check")
        name, version = _metadata(files)
        report.version = str(version)
        report.package = name
        report.files = {f.name: hashlib.sha256(f.read_bytes()).hexdigest() for f in files}
        if canonicalize_name(name) != canonicalize_name(config.pypi_package_name or ""):
            raise PubgateError(
                f"refusing to upload {name}, since pypi_package_name is {config.pypi_package_name}",
                "fix [project].name in pyproject.toml or pypi_package_name in the config",
            )
        report.tag = f"{prefix}{version}"
        on_target = remote.tag_commit(report.tag)
        local = repo.references.get(f"refs/tags/{report.tag}")
        tag_at = on_target or (str(local.peel(pygit2.Commit).id) if local is not None else None)
        if tag_at is not None and tag_at != report.commit:
            raise PubgateError(
                f"refusing to publish {version}, since tag {report.tag} already marks "
                f"{tag_at[:12]}, not {report.commit[:12]}",
                "bump the version: a published version never moves to another commit",
            )
        _tags_agree(repo, head, version, prefix)
        published = _published(client, report.repository_url, name, str(version))
        missing = _compare(report.files, published, str(version))
        report.already_published = not missing
        if options.dry_run:
            return report
        if missing:
            _upload(config, report.repository_url, [dist / f for f in missing], options.live)
            report.uploaded = missing
    if on_target is None:
        # Also when a run stopped after tagging locally: the tag still has to reach the target.
        _tag(checkout.workdir, remote, report.tag, str(version), report.commit)
        report.tagged = True
    return report


def _checkout(
    config: Config, cwd: Path, client: httpx.Client, stack: contextlib.ExitStack
) -> Checkout:
    """The work tree git pubgate runs in (the usual CI case), whatever its remotes say: the
    target is asked about its commit later. Outside any work tree, a fresh clone of
    review_branch, removed afterwards."""
    found = pygit2.discover_repository(str(cwd))
    repo = pygit2.Repository(found) if found is not None else None
    if repo is not None and repo.workdir is not None:
        return open_checkout(Path(repo.workdir).resolve())
    assert config.target_repo is not None  # run() refuses a config without it
    clone = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="pubgate-publish-")))
    remote = Remote(
        url=config.target_repo,
        git_dir=clone,
        token=resolve_token(config, client)
        if config.target_repo.startswith(("https://", "http://"))
        else None,
    )
    remote.clone(clone / "public", config.review_branch)
    return open_checkout(clone / "public")


def _build(
    source: Path, dist: Path, commit_time: int, isolation: bool, env: Mapping[str, str]
) -> None:
    """sdist, then the wheel from the sdist; dates pinned to the commit, so rebuilding the same
    commit gives the same bytes."""
    command = [sys.executable, "-m", "build", "--outdir", str(dist)]
    if not isolation:
        command.append("--no-isolation")
    done = subprocess.run(
        [*command, str(source)],
        capture_output=True,
        text=True,
        env={**env, "SOURCE_DATE_EPOCH": str(commit_time), "PYTHONHASHSEED": "0"},
        check=False,
        preexec_fn=tied(),
    )
    if done.returncode != 0:
        tail = (done.stdout + done.stderr).strip().splitlines()[-1:] or ["(no output)"]
        raise PubgateError(
            f"building the package failed: {tail[0]}",
            "run 'python -m build' in a clean checkout of that commit to see the whole output; "
            "nothing was uploaded",
        )


_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def _twine(args: list[str], env: Mapping[str, str], what: str, secret: str | None = None) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "twine", "--no-color", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        check=False,
        preexec_fn=tied(),
    )
    output = _ANSI.sub("", done.stdout + done.stderr).strip()
    if secret:
        output = output.replace(secret, "***")
    if done.returncode != 0:
        lines = [line for line in output.splitlines() if line.strip()]
        reason = next(
            (line for line in reversed(lines) if "ERROR" in line or "Error" in line),
            next((line for line in lines if "WARNING" in line), None)
            or (lines[-1] if lines else f"exit {done.returncode}"),
        )
        hint = "see the index's message; nothing was tagged"
        if args[0] == "check":
            hint = "fix the package's metadata (twine check --strict); nothing was uploaded"
        raise PubgateError(f"{what} failed: {' '.join(reason.split())}", hint)
    return output


def _metadata(files: list[Path]) -> tuple[str, Version]:
    wheel = next((f for f in files if f.suffix == ".whl"), None)
    if wheel is None:
        raise PubgateError("the build made no wheel", "check the build backend's configuration")
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        metadata = email.parser.HeaderParser().parsestr(archive.read(name).decode())
    try:
        version = Version(metadata["Version"])
    except InvalidVersion as e:
        raise PubgateError(
            f"the built version {metadata['Version']!r} is not PEP 440", "fix the version"
        ) from e
    if version.local:
        raise PubgateError(
            f"refusing to upload {version}: indexes refuse local versions",
            "drop the +local part of the version",
        )
    return str(metadata["Name"]), version


def _version_from_tags(repo: pygit2.Repository, head: pygit2.Commit) -> bool:
    """Whether the project takes its version from git tags (setuptools-scm, hatch-vcs, ...),
    as the commit being published says."""

    def read(path: str) -> bytes | None:
        try:
            blob = head.tree[path]
        except KeyError:
            return None
        return blob.data if isinstance(blob, pygit2.Blob) else None

    try:
        return detect(read).from_tags
    except PubgateError:
        return False


def _released_version(repo: pygit2.Repository, head: pygit2.Commit) -> str | None:
    """The version the newest release commit in HEAD's history names (its trailer)."""
    for commit in repo.walk(head.id, SortMode.TOPOLOGICAL):
        found = values(commit.raw_message, RELEASE_TRAILER)
        versions = [v for v in map(maybe_version, found) if v is not None]
        if versions:
            return str(max(versions))
    return None


def _tags_agree(
    repo: pygit2.Repository, head: pygit2.Commit, version: Version, prefix: str
) -> None:
    """A release tag on the commit must name the version that was built."""
    for ref in repo.references:
        if not ref.startswith(f"refs/tags/{prefix}"):
            continue
        if repo.references[ref].peel(pygit2.Commit).id != head.id:
            continue
        try:
            tagged = Version(ref.removeprefix(f"refs/tags/{prefix}"))
        except InvalidVersion:
            continue
        if tagged != version:
            raise PubgateError(
                f"refusing to upload {version}, since this commit is tagged {ref[10:]}",
                "make the version files and the release tag agree",
            )


def _target(config: Config, git_dir: Path, client: httpx.Client) -> Remote:
    assert config.target_repo is not None
    url = config.target_repo
    return Remote(
        url=url,
        git_dir=git_dir,
        token=resolve_token(config, client) if url.startswith(("https://", "http://")) else None,
    )


def _published(client: httpx.Client, upload_url: str, name: str, version: str) -> dict[str, str]:
    """Files of ``name`` ``version`` already on the index: file name -> sha256."""
    json_api = _JSON_API.get(upload_url)
    try:
        if json_api is not None:
            response = client.get(f"{json_api}{canonicalize_name(name)}/{version}/json")
            if response.status_code == 404:
                return {}
            response.raise_for_status()
            return {u["filename"]: u["digests"]["sha256"] for u in response.json()["urls"]}
        index = urljoin(upload_url.rstrip("/") + "/", f"simple/{canonicalize_name(name)}/")
        response = client.get(index)
        if response.status_code == 404:
            return {}
        response.raise_for_status()
    except httpx.HTTPError as e:
        raise PubgateError(
            f"cannot read the index at {upload_url}: {e}",
            "check pypi_repository_url and the network; nothing was uploaded",
        ) from e
    found = {}
    for href, filename in re.findall(r'<a[^>]*href="([^"]+)"[^>]*>([^<]+)</a>', response.text):
        digest = re.search(r"#sha256=([0-9a-f]{64})", href)
        if digest and f"-{version}" in filename:
            found[filename.strip()] = digest.group(1)
    return found


def _compare(built: dict[str, str], published: dict[str, str], version: str) -> list[str]:
    """The built files the index lacks; refuses when it holds any with other bytes."""
    changed = [n for n, digest in built.items() if n in published and published[n] != digest]
    if changed:
        raise PubgateError(
            f"refusing to upload, since version {version} is already on the index with "
            f"different files: {', '.join(changed)}",
            "bump the version: an index never takes new bytes for a published file",
        )
    return [n for n in built if n not in published]


def _upload(
    config: Config, url: str, files: list[Path], live: Callable[[str], None] | None
) -> None:
    variable = config.pypi_token_env
    token = os.environ.get(variable) if variable else None
    env = {"TWINE_NON_INTERACTIVE": "1"}
    if token:
        env |= {"TWINE_USERNAME": "__token__", "TWINE_PASSWORD": token}
    elif (
        url in (PYPI_UPLOAD, TESTPYPI_UPLOAD)
        and os.environ.get("ACTIONS_ID_TOKEN_REQUEST_URL")
        and os.environ.get("ACTIONS_ID_TOKEN_REQUEST_TOKEN")
    ):
        pass  # trusted publishing: twine exchanges the GitHub OIDC token itself
    else:
        missing = f"${variable} is not set" if variable else "pypi_token_env is not set"
        raise PubgateError(
            f"no credentials to upload with: {missing}",
            "set the token variable, or for PyPI trusted publishing run in GitHub Actions with "
            "'permissions: id-token: write'",
        )
    _twine(
        [
            "upload",
            "--non-interactive",
            "--disable-progress-bar",
            "--repository-url",
            url,
            *map(str, files),
        ],
        env,
        f"uploading to {url}",
        secret=token,
    )


def _tag(checkout: Path, remote: Remote, tag: str, version: str, commit: str) -> None:
    """Create the annotated release tag (unless a stopped run already did) and push it."""
    _create_tag(checkout, tag, version, commit)
    remote.push_ref(f"refs/tags/{tag}")


def _create_tag(checkout: Path, tag: str, version: str, commit: str) -> None:
    """The annotated release tag in the checkout, unless it exists already."""
    exists = subprocess.run(
        ["git", "rev-parse", "--verify", "--quiet", f"refs/tags/{tag}"],
        cwd=checkout,
        capture_output=True,
        check=False,
    )
    if exists.returncode != 0:
        env = dict(os.environ)
        if not config_value(checkout, "user.email"):
            env |= {
                "GIT_COMMITTER_NAME": "git-pubgate",
                "GIT_COMMITTER_EMAIL": "git-pubgate@localhost",
            }
        done = subprocess.run(
            ["git", "tag", "-a", "-m", f"Release {version}", "--", tag, commit],
            cwd=checkout,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise PubgateError(
                f"could not create tag {tag}: {done.stderr.strip()}",
                "create and push the tag by hand, or rerun once the cause is fixed",
            )
