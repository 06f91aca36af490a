"""The git CLI for transport: ls-remote, fetch and push.

Transport goes through git itself because it already knows the user's SSH agent, credential
helpers and proxies. A token is handed over only through the child's environment: an inline
credential helper (set via ``GIT_CONFIG_*`` variables, so not even the helper is in argv) echoes
``$PUBGATE_GIT_TOKEN``. The user's own helpers are reset for that call, so a ``store`` helper can
never write the token to disk, and every line git prints is scrubbed of it before we show it.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from .errors import PubgateError
from .procs import run_live, tied
from .refusal import refused_object_hint

# Waits before the second and third attempt of a transport command that failed the way flaky
# networks fail (reset, timeout, 5xx, cut-off transfer). Errors that a retry cannot fix (a
# rejected push, a wrong token, a missing repository) fail at once.
BACKOFF = (2.0, 8.0)
STALL_SECONDS = 60  # no byte for this long: the connection counts as dead
_TRANSIENT = (
    "connection reset",
    "connection refused",
    "connection timed out",
    "timed out",
    "operation too slow",
    "returned error: 5",
    "http 5",
    "rpc failed",
    "early eof",
    "unexpected disconnect",
    "remote end hung up",
    "transfer closed",
    "empty reply from server",
    "recv failure",
    "send failure",
    "failed to connect",
    "could not resolve host",
    "gnutls",
    "ssl_read",
    "ssl_write",
    "http/2 stream",
    "unable to access",
    "protocol error: bad pack header",
    "invalid packet",
)
_PERMANENT = (
    "authentication failed",
    "returned error: 4",
    "http 4",
    "[rejected]",
    "stale info",
    "not found",
    "does not appear to be a git repository",
    "permission denied",
    "could not read username",
    "certificate",
)


def is_transient(stderr: str) -> bool:
    """Whether git's complaint is one a retry may cure (a network fault, a 5xx)."""
    text = stderr.lower()
    if any(p in text for p in _PERMANENT):
        return False
    return any(p in text for p in _TRANSIENT)


# What git and ssh print around every failure to reach a repository, whatever the cause.
_BOILERPLATE = (
    "fatal: could not read from remote repository.",
    "please make sure you have the correct access rights",
    "and the repository exists.",
    "error: failed to push some refs",
    "hint: ",
    "to ",
)
# Lines that name the cause, in git's, ssh's, curl's and the forges' words.
_TELLING = (
    "could not resolve host",
    "permission denied",
    "repository not found",
    "not found",
    "does not appear to be a git repository",
    "authentication failed",
    "invalid username or password",
    "host key verification failed",
    "connection refused",
    "connection timed out",
    "timed out",
    "no route to host",
    "network is unreachable",
    "access denied",
    "forbidden",
    "could not read username",
    "certificate",
)


def summarise(stderr: str) -> str:
    """The line of git's stderr that says most: the remote's own error, else the line that
    names the cause (``Could not resolve hostname``, ``Permission denied (publickey)``,
    ``Repository not found``), else a rejected ref, else git's first error. git's closing
    lines ("Please make sure you have the correct access rights and the repository exists.",
    "failed to push some refs") say nothing by themselves."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    for line in lines:
        if line.startswith(("remote: error:", "remote: fatal:")):
            return line.removeprefix("remote: ").strip()
    said = [line for line in lines if not line.lower().startswith(_BOILERPLATE)]
    for line in said:
        if any(cause in line.lower() for cause in _TELLING):
            return line
    for line in said:
        if line.startswith("! ["):
            return line
    for line in said:
        if line.lower().startswith(("fatal:", "error:")):
            return line
    return said[-1] if said else (lines[-1] if lines else "")


def failure_detail(done: subprocess.CompletedProcess[bytes]) -> str:
    """What a failed git command said (``summarise``), or its exit status when it said nothing."""
    return summarise(done.stderr.decode("utf-8", "replace")) or f"exit {done.returncode}"


# Not GIT_*: a git-lfs pre-push hook (publish pushes its tag through the checkout's hooks)
# copies every GIT_* variable into the error logs it writes under .git/lfs/logs.
_TOKEN_VAR = "PUBGATE_GIT_TOKEN"
_USER_VAR = "PUBGATE_GIT_USER"
_HELPER = (
    f'!f() {{ test "$1" = get || exit 0; echo "username=${_USER_VAR}"; '
    f'echo "password=${_TOKEN_VAR}"; }}; f'
)
DEFAULT_USER = "x-access-token"  # GitHub's; GitLab, Gitea and Azure DevOps take any user name


def split_credential(token: str) -> tuple[str, str]:
    """User name and secret of a token. ``USER:SECRET`` names the user (Bitbucket wants
    ``x-token-auth`` for access tokens, or the account's own name); no forge's token has a
    colon, so a bare token keeps the default user name."""
    user, colon, secret = token.partition(":")
    return (user, secret) if colon and user else (DEFAULT_USER, token)


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
    env[_USER_VAR], env[_TOKEN_VAR] = split_credential(token)
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


def toplevel(cwd: Path) -> Path | None:
    """The work tree root of the repository around ``cwd``, if any."""
    try:
        done = subprocess.run(
            ["git", "rev-parse", "--show-toplevel"],
            cwd=cwd,
            capture_output=True,
            text=True,
            check=False,
        )
    except (FileNotFoundError, NotADirectoryError):
        return None
    root = done.stdout.strip()
    return Path(root).resolve() if done.returncode == 0 and root else None


def _display_url(url: str) -> str:
    """The URL without any user:password part, for messages."""
    scheme, sep, rest = url.partition("://")
    if sep and "@" in rest.split("/", 1)[0]:
        return f"{scheme}://{rest.split('@', 1)[1]}"
    return url


# Variables a hook may have exported: they would point git at the wrong repository.
_REPOSITORY_VARIABLES = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY")


def without_repository(env: Mapping[str, str]) -> dict[str, str]:
    """``env`` without the variables that name a repository, for a git told which one to use."""
    return {k: v for k, v in env.items() if k not in _REPOSITORY_VARIABLES}


def output_in(git_dir: Path, args: Sequence[str]) -> bytes | None:
    """What ``git --git-dir git_dir args`` prints, or None when it fails (a local query)."""
    done = subprocess.run(
        ["git", "--git-dir", str(git_dir), *args],
        capture_output=True,
        stdin=subprocess.DEVNULL,
        env=without_repository(os.environ),
        check=False,
        preexec_fn=tied(),
    )
    return done.stdout if done.returncode == 0 else None


@dataclass(frozen=True)
class Remote:
    """A remote repository reached through the git CLI from a local ``git_dir``."""

    url: str
    git_dir: Path
    token: str | None = None
    # Where git's own progress goes while pushing, fetching or cloning (a terminal), if anywhere.
    live: Callable[[str], None] | None = None
    # ``-c key=value`` options for every git command run for this remote (see partial_fetch).
    options: tuple[str, ...] = ()

    @property
    def display(self) -> str:
        return _display_url(self.url)

    def _run(
        self,
        args: Sequence[str],
        what: str,
        hint: str,
        *,
        in_repo: bool = True,
        settings: Sequence[str] = (),
    ) -> str:
        """Run one git transport command; retry what a flaky network causes, within bounds."""
        env = credential_env(self.token, without_repository(os.environ))
        # A connection that stalls must fail rather than hang a CI job until its own timeout.
        env.setdefault("GIT_HTTP_LOW_SPEED_LIMIT", "1")
        env.setdefault("GIT_HTTP_LOW_SPEED_TIME", str(STALL_SECONDS))
        repo = [*(["--git-dir", str(self.git_dir)] if in_repo else []), *self.options, *settings]
        attempt = 0
        while True:
            attempt += 1
            code, out, said = self._once(repo, args, env)
            if code == 0:
                return out
            detail = said.strip()
            if attempt < len(BACKOFF) + 1 and is_transient(detail):
                time.sleep(BACKOFF[attempt - 1])  # a failed clone leaves no directory behind
                continue
            tries = f" ({attempt} attempts)" if attempt > 1 else ""
            if "fsck error" in detail or "fsck:" in detail.lower():
                hint = refused_object_hint(self.git_dir, detail)
            summary = summarise(detail) or f"git exited with {code}"
            raise PubgateError(f"{what} {self.display} failed{tries}: {summary}", hint)

    def _once(
        self, repo: Sequence[str], args: Sequence[str], env: Mapping[str, str]
    ) -> tuple[int, str, str]:
        """One run of git: exit code, stdout, and stderr scrubbed of the token."""
        if self.live is not None and args[0] in ("push", "fetch", "clone"):
            shown = [args[0], "--progress", *(a for a in args[1:] if a != "--quiet")]
            code, said = run_live(["git", *repo, *shown], env, self.live, secret=self.token)
            return code, "", said
        try:
            done = subprocess.run(
                ["git", *repo, *args],
                env=env,
                capture_output=True,
                stdin=subprocess.DEVNULL,
                check=False,
                preexec_fn=tied(),
            )
        except FileNotFoundError as e:
            raise PubgateError(
                "git is not installed or not on PATH", "install git 2.31 or newer"
            ) from e
        said = self.scrub(done.stderr.decode("utf-8", "replace"))
        return done.returncode, done.stdout.decode("utf-8", "surrogateescape"), said

    def scrub(self, text: str) -> str:
        if self.token:
            text = text.replace(self.token, "***").replace(split_credential(self.token)[1], "***")
        return text

    def _listing(self, *options: str, patterns: Sequence[str] = ()) -> dict[str, str]:
        """``git ls-remote`` of the target: full ref name -> id (peeled tags end in ``^{}``)."""
        out = self._run(
            ["ls-remote", *options, "--end-of-options", self.url, *patterns],
            "reading",
            "check that target_repo is right and that your credentials can read it",
        )
        return {ref: oid for oid, _, ref in (line.partition("\t") for line in out.splitlines())}

    def heads(self, branches: Sequence[str]) -> dict[str, str]:
        """Current ids of those ``branches`` that exist on the remote."""
        listing = self._listing("--heads")
        return {b: listing[f"refs/heads/{b}"] for b in branches if f"refs/heads/{b}" in listing}

    def refs(self) -> tuple[dict[str, str], dict[str, str]]:
        """Every branch and every tag, in one round trip: (name -> id, tag -> id)."""
        heads: dict[str, str] = {}
        tags: dict[str, str] = {}
        for ref, oid in self._listing("--heads", "--tags").items():
            if ref.startswith("refs/heads/"):
                heads[ref[len("refs/heads/") :]] = oid
            elif ref.startswith("refs/tags/") and not ref.endswith("^{}"):
                tags[ref[len("refs/tags/") :]] = oid
        return heads, tags

    def advertised(self) -> dict[str, str]:
        """Every ref the remote advertises (branches, tags, pull request refs, notes, ...),
        peeled tag lines and the symbolic HEAD left out: full ref name -> id."""
        return {
            ref: oid
            for ref, oid in self._listing().items()
            if ref.startswith("refs/") and not ref.endswith("^{}")
        }

    def delete(self, branch: str, expected: str) -> None:
        """Delete ``branch``, only if it still is at ``expected``."""
        self._push_with_lease(
            None,
            branch,
            expected,
            f"deleting {branch} from",
            "rerun git pubgate sync; the branch it replaces stays until then",
        )

    def fetch(
        self,
        refspecs: Sequence[str],
        *,
        via: str | None = None,
        object_filter: str | None = None,
        refetch: bool = False,
    ) -> None:
        """Fetch ``refspecs`` (refs, or bare object ids for objects only).

        Args:
            via: the name of a promisor remote to fetch through (its URL given in ``options``)
                instead of the URL itself: git then marks the pack as promised by it.
            object_filter: a partial fetch (``tree:0``, ``blob:none``); with ``via`` and none,
                everything (``--no-filter``: else git would use the remote's default filter).
            refetch: tell the server nothing about what staging has (``--refetch``), so
                that it sends all that ``refspecs`` reach within the filter, not only what is
                new since, even when staging has the objects named.
        """
        if not refspecs:
            return
        chosen = [f"--filter={object_filter}"] if object_filter else []
        if via is not None and not object_filter:
            chosen = ["--no-filter"]
        self._run(
            [
                "fetch",
                "--quiet",
                "--no-tags",
                "--no-write-fetch-head",
                *chosen,
                *(["--refetch"] if refetch else []),
                "--end-of-options",
                via or self.url,
                *refspecs,
            ],
            "fetching from",
            "check the network and that your credentials can read target_repo",
        )

    def push(self, commit: str, branch: str, expected: str | None) -> None:
        """Point ``branch`` at ``commit``, only if it still is at ``expected`` (None: absent)."""
        self._push_with_lease(
            commit,
            branch,
            expected,
            f"pushing {branch} to",
            "if the branch moved meanwhile, rerun git pubgate sync; otherwise check that the "
            "token may push (contents: write) and that the branch is not protected",
        )

    def _push_with_lease(
        self, commit: str | None, branch: str, expected: str | None, what: str, hint: str
    ) -> None:
        """Move ``branch`` to ``commit`` (None: delete it) if it is still at ``expected``.

        An update whose answer was lost may have landed: a retry is then refused by the lease,
        and the branch already being where it should be counts as success.
        """
        ref = f"refs/heads/{branch}"
        try:
            self._run(
                [
                    "push",
                    "--quiet",
                    "--no-verify",
                    f"--force-with-lease={ref}:{expected or ''}",
                    "--end-of-options",
                    self.url,
                    f"{commit or ''}:{ref}",
                ],
                what,
                hint,
            )
        except PubgateError:
            try:
                landed = self.heads([branch]).get(branch) == commit
            except PubgateError:
                landed = False
            if not landed:
                raise

    def tag_commit(self, tag: str) -> str | None:
        """The commit a tag on the remote marks, or None when it has no such tag."""
        found = self._listing("--tags", patterns=[f"refs/tags/{tag}", f"refs/tags/{tag}^{{}}"])
        return found.get(f"refs/tags/{tag}^{{}}") or found.get(f"refs/tags/{tag}")

    def push_ref(self, ref: str) -> None:
        """Push one ref that must not exist on the remote yet (a release tag), from a checkout:
        its pre-push hooks run, as for any push made there."""
        self._run(
            ["push", "--quiet", "--end-of-options", self.url, f"{ref}:{ref}"],
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
