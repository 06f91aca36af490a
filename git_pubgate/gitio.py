"""The git CLI for transport: ls-remote, fetch and push.

Transport goes through git itself because it already knows the user's SSH agent, credential
helpers and proxies. A token is handed over only through the child's environment: an inline
credential helper (set via ``GIT_CONFIG_*`` variables, so not even the helper is in argv) echoes
``$GIT_PUBGATE_TOKEN``. The user's own helpers are reset for that call, so a ``store`` helper can
never write the token to disk, and every line git prints is scrubbed of it before we show it.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from .errors import PubgateError
from .procs import run_live

_TOKEN_VAR = "GIT_PUBGATE_TOKEN"
_HELPER = (
    '!f() { test "$1" = get || exit 0; echo username=x-access-token; '
    f'echo "password=${_TOKEN_VAR}"; }}; f'
)


def credential_env(token: str | None, base: Mapping[str, str]) -> dict[str, str]:
    """Environment for a git child that authenticates https with ``token``, if there is one."""
    env = dict(base)
    env["GIT_TERMINAL_PROMPT"] = "0"  # CI has nobody to answer a password prompt
    env.setdefault("GIT_SSH_COMMAND", "ssh -o BatchMode=yes")
    if token is None:
        return env
    count = int(env.get("GIT_CONFIG_COUNT", "0") or "0")
    extra = [("credential.helper", ""), ("credential.helper", _HELPER)]
    for offset, (key, value) in enumerate(extra):
        env[f"GIT_CONFIG_KEY_{count + offset}"] = key
        env[f"GIT_CONFIG_VALUE_{count + offset}"] = value
    env["GIT_CONFIG_COUNT"] = str(count + len(extra))
    env[_TOKEN_VAR] = token
    return env


def config_value(cwd: Path, key: str) -> str | None:
    """A git config value as ``git config`` sees it in ``cwd`` (so ``git -c key=value pubgate``
    reaches it through GIT_CONFIG_PARAMETERS); None when unset or git is missing."""
    try:
        done = subprocess.run(
            ["git", "config", "--get", key], cwd=cwd, capture_output=True, text=True, check=False
        )
    except FileNotFoundError:
        return None
    return (done.stdout.strip() or None) if done.returncode == 0 else None


def _display_url(url: str) -> str:
    """The URL without any user:password part, for messages."""
    scheme, sep, rest = url.partition("://")
    if sep and "@" in rest.split("/", 1)[0]:
        return f"{scheme}://{rest.split('@', 1)[1]}"
    return url


@dataclass(frozen=True)
class Remote:
    """A remote repository reached through the git CLI from a local ``git_dir``."""

    url: str
    git_dir: Path
    token: str | None = None
    # Where git's own progress goes while pushing, fetching or cloning (a terminal), if anywhere.
    live: Callable[[str], None] | None = None

    @property
    def display(self) -> str:
        return _display_url(self.url)

    def _run(self, args: Sequence[str], what: str, hint: str, *, in_repo: bool = True) -> str:
        env = credential_env(self.token, os.environ)
        # Variables a hook may have exported would point git at the wrong repository.
        for var in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY"):
            env.pop(var, None)
        repo = ["--git-dir", str(self.git_dir)] if in_repo else []
        if self.live is not None and args[0] in ("push", "fetch", "clone"):
            shown = [args[0], "--progress", *(a for a in args[1:] if a != "--quiet")]
            code, said = run_live(["git", *repo, *shown], env, self.live, secret=self.token)
            if code != 0:
                last = said.strip().splitlines()[-1] if said.strip() else f"git exited with {code}"
                raise PubgateError(f"{what} {self.display} failed: {last}", hint)
            return ""
        try:
            done = subprocess.run(
                ["git", *repo, *args],
                env=env,
                capture_output=True,
                stdin=subprocess.DEVNULL,
                check=False,
            )
        except FileNotFoundError as e:
            raise PubgateError(
                "git is not installed or not on PATH", "install git 2.31 or newer"
            ) from e
        if done.returncode != 0:
            detail = self.scrub(done.stderr.decode("utf-8", "replace")).strip()
            last = detail.splitlines()[-1] if detail else f"git exited with {done.returncode}"
            raise PubgateError(f"{what} {self.display} failed: {last}", hint)
        return done.stdout.decode("utf-8", "surrogateescape")

    def scrub(self, text: str) -> str:
        if self.token:
            text = text.replace(self.token, "***")
        return text

    def heads(self, branches: Sequence[str]) -> dict[str, str]:
        """Current ids of those ``branches`` that exist on the remote."""
        out = self._run(
            ["ls-remote", "--heads", "--end-of-options", self.url],
            "reading",
            "check that target_repo is right and that your credentials can read it",
        )
        wanted = {f"refs/heads/{b}": b for b in branches}
        found: dict[str, str] = {}
        for line in out.splitlines():
            oid, _, ref = line.partition("\t")
            if ref in wanted:
                found[wanted[ref]] = oid
        return found

    def refs(self) -> tuple[dict[str, str], dict[str, str]]:
        """Every branch and every tag, in one round trip: (name -> id, tag -> id)."""
        out = self._run(
            ["ls-remote", "--heads", "--tags", "--end-of-options", self.url],
            "reading",
            "check that target_repo is right and that your credentials can read it",
        )
        heads: dict[str, str] = {}
        tags: dict[str, str] = {}
        for line in out.splitlines():
            oid, _, ref = line.partition("\t")
            if ref.startswith("refs/heads/"):
                heads[ref[len("refs/heads/") :]] = oid
            elif ref.startswith("refs/tags/") and not ref.endswith("^{}"):
                tags[ref[len("refs/tags/") :]] = oid
        return heads, tags

    def delete(self, branch: str, expected: str) -> None:
        """Delete ``branch``, only if it still is at ``expected``."""
        ref = f"refs/heads/{branch}"
        self._run(
            [
                "push",
                "--quiet",
                "--no-verify",
                f"--force-with-lease={ref}:{expected}",
                "--end-of-options",
                self.url,
                f":{ref}",
            ],
            f"deleting {branch} from",
            "rerun git pubgate sync; the branch it replaces stays until then",
        )

    def fetch(self, refspecs: Sequence[str]) -> None:
        if not refspecs:
            return
        self._run(
            [
                "fetch",
                "--quiet",
                "--no-tags",
                "--no-write-fetch-head",
                "--end-of-options",
                self.url,
                *refspecs,
            ],
            "fetching from",
            "check the network and that your credentials can read target_repo",
        )

    def push(self, commit: str, branch: str, expected: str | None) -> None:
        """Point ``branch`` at ``commit``, only if it still is at ``expected`` (None: absent)."""
        ref = f"refs/heads/{branch}"
        self._run(
            [
                "push",
                "--quiet",
                "--no-verify",
                f"--force-with-lease={ref}:{expected or ''}",
                "--end-of-options",
                self.url,
                f"{commit}:{ref}",
            ],
            f"pushing {branch} to",
            "if the branch moved meanwhile, rerun git pubgate sync; otherwise check that the "
            "token may push (contents: write) and that the branch is not protected",
        )

    def tag_commit(self, tag: str) -> str | None:
        """The commit a tag on the remote marks, or None when it has no such tag."""
        out = self._run(
            [
                "ls-remote",
                "--tags",
                "--end-of-options",
                self.url,
                f"refs/tags/{tag}",
                f"refs/tags/{tag}^{{}}",
            ],
            "reading tags from",
            "check that target_repo is right and that your credentials can read it",
        )
        found: dict[str, str] = {}
        for line in out.splitlines():
            oid, _, ref = line.partition("\t")
            found[ref] = oid
        return found.get(f"refs/tags/{tag}^{{}}") or found.get(f"refs/tags/{tag}")

    def push_ref(self, ref: str) -> None:
        """Push one ref that must not exist on the remote yet (a release tag)."""
        self._run(
            ["push", "--quiet", "--no-verify", "--end-of-options", self.url, f"{ref}:{ref}"],
            f"pushing {ref} to",
            "the upload is done; push the tag by hand, or rerun once the cause is fixed",
        )

    def clone(self, dest: Path, branch: str) -> None:
        """Clone ``branch`` of the remote into the new directory ``dest``."""
        self._run(
            ["clone", "--quiet", "--branch", branch, "--end-of-options", self.url, str(dest)],
            "cloning",
            "check target_repo, review_branch and that your credentials can read it",
            in_repo=False,
        )

    def branches(self, prefix: str) -> dict[str, str]:
        """Every branch whose name starts with ``prefix``: name -> id."""
        out = self._run(
            ["ls-remote", "--heads", "--end-of-options", self.url],
            "reading",
            "check that target_repo is right and that your credentials can read it",
        )
        found = {}
        for line in out.splitlines():
            oid, _, ref = line.partition("\t")
            name = ref.removeprefix("refs/heads/")
            if name.startswith(prefix):
                found[name] = oid
        return found

    def tags(self) -> dict[str, str]:
        """Every tag: name -> the id of the tag (or of what it points at when lightweight)."""
        out = self._run(
            ["ls-remote", "--tags", "--end-of-options", self.url],
            "reading",
            "check that target_repo is right and that your credentials can read it",
        )
        return {
            ref.removeprefix("refs/tags/"): oid
            for oid, _, ref in (line.partition("\t") for line in out.splitlines())
            if not ref.endswith("^{}")
        }
