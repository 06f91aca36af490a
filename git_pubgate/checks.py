"""``check_commands``: the exact public tree must pass them before sync pushes it anywhere.

``check_before_push`` is the one step every push of a computed public tip goes through. It
writes the tip's tree (release commit included) into a temporary checkout, byte for byte
(``tree_files``), and runs each command there with ``/bin/sh -c``, in order, as
``pre_publish_commands`` are run: the first failure raises ``CheckFailedError`` and nothing is
pushed.

- **Environment.** A clean one: ``PATH``, ``HOME`` and the variables ``check_env`` lists. The
  configuration refuses a token variable in ``check_env``; whatever a command prints anyway is
  scrubbed of every configured token's value before anyone sees it.
- **The checkout** is a git repository whose detached ``HEAD`` is the tip (it borrows the
  staging repository's objects), so ``git describe``, setuptools-scm or a test that calls git
  work, and git run in it never finds the internal repository around a temporary folder. It
  is removed afterwards, on failure and on Ctrl-C too. Its path is written down in the state
  directory before it exists, so a run killed with SIGKILL leaves a note that the next run
  reads to remove what it left.
- **Memory.** A pass is remembered by a digest of the tip, the commands and the environment
  they got (values hashed, never stored), so a rerun after a failed push does not run a long
  test suite again on the very same tree. A failure is never remembered.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import select
import shlex
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pygit2

from .config import Config
from .errors import PubgateError
from .gitio import split_credential
from .procs import Scrubber, tied
from .quoting import quote_path
from .tree_files import write_tree

PASSED_FILE = "checks-passed"  # digests of passed runs, newest last
CHECKOUTS_FILE = "checks-checkouts"  # checkouts a run made and may have left behind
CHECKOUT_PREFIX = "pubgate-check-"
_OWNER = "pubgate-check"  # written into each checkout's container: only those are removed
_REMEMBERED = 20
_KEPT_OUTPUT = 200_000  # characters of a command's output kept to show after a failure
_STOP_WAIT = 5.0  # seconds a stopped command gets to end before it is killed


@dataclass(frozen=True)
class CheckOutput:
    """Where the commands' output goes (stderr), and whether it is shown as it comes (False:
    only a failing command's, after it ends)."""

    write: Callable[[str], None]
    live: bool = True


@dataclass
class CheckReport:
    """What became of ``check_commands`` for one public tip (``checks`` in ``--json``)."""

    tip: str
    commands: tuple[str, ...]
    ran: bool = False  # run by this sync
    passed: bool | None = None  # None: not run (plan, or nothing to push)
    remembered: bool = False  # the same tip, commands and environment passed before

    def to_json(self) -> dict[str, Any]:
        return {
            "tip": self.tip,
            "commands": list(self.commands),
            "ran": self.ran,
            "passed": self.passed,
            "remembered": self.remembered,
        }

    def line(self, *, plan: bool) -> str:
        """What plan and sync say about the checks."""
        count = len(self.commands)
        what = f"{count} check command{'s' if count != 1 else ''}"
        if self.remembered:
            return f"checks: {what} passed on {self.tip[:12]} before (remembered); not run again"
        if plan or self.passed is None:
            return f"checks: {what} would run on {self.tip[:12]} before the push"
        return f"checks: {what} passed on {self.tip[:12]}"


class CheckFailedError(PubgateError):
    """A check command failed; ``output`` is what it printed (scrubbed)."""

    def __init__(self, message: str, hint: str, output: str):
        super().__init__(message, hint)
        self.output = output


@dataclass
class _Run:
    env: dict[str, str]
    digest: str
    secrets: list[str] = field(default_factory=list)


def check_before_push(
    config: Config,
    state_dir: Path,
    staging: pygit2.Repository,
    tip: str,
    output: CheckOutput | None = None,
    *,
    token: str | None = None,
) -> CheckReport | None:
    """Run ``check_commands`` on the public tip ``tip``; call it right before pushing ``tip``.

    Args:
        state_dir: this target's state directory (where passes and checkouts are noted).
        staging: the repository that holds ``tip``.
        token: a token obtained at run time (a GitHub App's), scrubbed like the configured ones.

    Returns:
        None without ``check_commands``, else what happened.

    Raises:
        CheckFailedError: the first command that failed; nothing may be pushed.
    """
    remove_leftovers(state_dir)  # also once check_commands were taken out of the config
    if not config.check_commands:
        return None
    run = _prepare(config, tip, token)
    report = CheckReport(tip, config.check_commands)
    if run.digest in _passed(state_dir):
        report.passed = report.remembered = True
        return report
    with _checkout(state_dir, staging, tip) as tree:
        for command in config.check_commands:
            if output is not None and output.live:
                output.write(f"check: {_shown(command)}\n")
            code, said = _run_command(command, tree, run, output)
            if code != 0:
                if output is not None and not output.live:
                    output.write(said if said.endswith("\n") or not said else said + "\n")
                raise CheckFailedError(
                    f"check command failed with {_how(code)}: {_shown(command)}",
                    f"nothing was pushed; its output is above. '{_preview_command(config)}' "
                    f"writes the tree it ran on ({tip[:12]}) for a closer look; fix the source "
                    "and sync again",
                    said,
                )
    report.ran = report.passed = True
    _remember(state_dir, run.digest)
    return report


def _preview_command(config: Config) -> str:
    """The preview command for this target: with several targets preview needs to be told
    which one, so a hint without ``--target`` would only earn the reader another error."""
    if config.name is None:
        return "git pubgate preview"
    return f"git pubgate preview --target {shlex.quote(config.name)}"


def planned(config: Config, state_dir: Path, tip: str) -> CheckReport | None:
    """What ``plan`` says about the checks: they would run, unless a pass is remembered."""
    if not config.check_commands:
        return None
    report = CheckReport(tip, config.check_commands)
    report.remembered = _prepare(config, tip, None).digest in _passed(state_dir)
    return report


def check_environment(config: Config) -> dict[str, str]:
    """The whole environment of a check command: PATH, HOME, and what check_env lists."""
    names = ("PATH", "HOME", *config.check_env)
    env = {name: os.environ[name] for name in names if name in os.environ}
    env.setdefault("PATH", os.defpath)
    for name in config.token_envs:  # the configuration refuses these; never hand one over
        env.pop(name, None)
    return env


def remove_leftovers(state_dir: Path) -> None:
    """Remove the checkouts a killed run left behind, as its note names them."""
    note = state_dir / CHECKOUTS_FILE
    try:
        listed = note.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return
    left = [line for line in listed if line and not _remove_checkout(Path(line))]
    if left:
        note.write_text("".join(f"{line}\n" for line in left), encoding="utf-8")
    else:
        note.unlink(missing_ok=True)


def _remove_checkout(container: Path) -> bool:
    """Remove one noted checkout; whether its note can go. Only a folder this module made is
    ever removed: its name, and its owner file or nothing at all in it (made, then killed
    before the owner file was written). Anything else is not ours: the note goes, the folder
    stays."""
    if not container.name.startswith(CHECKOUT_PREFIX) or not container.is_dir():
        return True
    if (container / _OWNER).is_file():
        shutil.rmtree(container, ignore_errors=True)
        return not container.exists()
    with contextlib.suppress(OSError):
        container.rmdir()
    return True


def _prepare(config: Config, tip: str, token: str | None) -> _Run:
    env = check_environment(config)
    hashed = {name: hashlib.sha256(value.encode()).hexdigest() for name, value in env.items()}
    key = json.dumps(
        {"tip": tip, "commands": list(config.check_commands), "env": hashed}, sort_keys=True
    )
    found = [os.environ.get(name, "") for name in config.token_envs] + [token or ""]
    # A USER:TOKEN value (Bitbucket) leaks as its token alone just as well.
    found += [split_credential(value)[1] for value in found if ":" in value]
    return _Run(env, hashlib.sha256(key.encode()).hexdigest(), found)


def _passed(state_dir: Path) -> list[str]:
    try:
        return (state_dir / PASSED_FILE).read_text(encoding="utf-8").split()
    except FileNotFoundError:
        return []


def _remember(state_dir: Path, digest: str) -> None:
    older = [d for d in _passed(state_dir) if d != digest][-(_REMEMBERED - 1) :]
    kept = [*older, digest]
    path = state_dir / PASSED_FILE
    scratch = path.with_name(path.name + ".tmp")
    scratch.write_text("".join(f"{d}\n" for d in kept), encoding="utf-8")
    scratch.replace(path)  # a run killed while writing leaves the old list, never half of one


@contextlib.contextmanager
def _checkout(state_dir: Path, staging: pygit2.Repository, tip: str) -> Iterator[Path]:
    """A temporary git checkout of ``tip``, removed afterwards (noted while it exists)."""
    state_dir.mkdir(parents=True, exist_ok=True)
    container = Path(tempfile.gettempdir()) / f"{CHECKOUT_PREFIX}{secrets.token_hex(8)}"
    note = state_dir / CHECKOUTS_FILE
    # Noted before it exists: whenever this run is killed, the next one knows what to remove.
    with note.open("a", encoding="utf-8") as noted:
        noted.write(f"{container}\n")
    try:
        container.mkdir(mode=0o700)
        (container / _OWNER).write_text("a git pubgate check checkout\n", encoding="utf-8")
        tree = container / "public"
        tree.mkdir()
        write_tree(staging, tip, tree)
        _make_repository(tree, Path(staging.path), tip)
        yield tree
    finally:
        shutil.rmtree(container, ignore_errors=True)
        remove_leftovers(state_dir)


def _make_repository(tree: Path, staging: Path, tip: str) -> None:
    """Make ``tree`` a repository at ``tip`` that borrows the staging repository's objects."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY")
    }
    _git(tree, env, "init", "--quiet", "--template=")
    alternates = tree / ".git" / "objects" / "info" / "alternates"
    alternates.parent.mkdir(parents=True, exist_ok=True)
    alternates.write_text(f"{(staging / 'objects').resolve()}\n", encoding="utf-8")
    _git(tree, env, "update-ref", "--no-deref", "HEAD", tip)
    _git(tree, env, "read-tree", "HEAD")  # an index, so git status shows what a check wrote


def _git(cwd: Path, env: dict[str, str], *args: str) -> None:
    done = subprocess.run(
        ["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise PubgateError(
            f"preparing the check checkout failed: git {args[0]}: {done.stderr.strip()}",
            "nothing was pushed; rerun git pubgate sync",
        )


def _run_command(
    command: str, tree: Path, run: _Run, output: CheckOutput | None
) -> tuple[int, str]:
    """Run one command in its own session (so all of it can be stopped); returns its exit
    status and its output, stdout and stderr together, scrubbed."""
    process = subprocess.Popen(
        ["/bin/sh", "-c", command],
        cwd=tree,
        env=run.env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        preexec_fn=tied(),
    )
    assert process.stdout is not None
    scrubber = Scrubber(run.secrets)
    kept = ""
    live = output.write if output is not None and output.live else None

    def show(text: str) -> None:
        nonlocal kept
        if text:
            if live is not None:
                live(text)
            kept = (kept + text)[-_KEPT_OUTPUT:]

    try:
        _read_until_done(process, lambda chunk: show(scrubber.feed(chunk)))
        show(scrubber.close())
        code = process.wait()
    except BaseException:
        _stop(process)  # Ctrl-C, or anything else: the command must not outlive the checkout
        raise
    finally:
        process.stdout.close()
    return code, kept


def _read_until_done(process: subprocess.Popen[bytes], take: Callable[[bytes], None]) -> None:
    """Pass on the command's output until it has ended.

    A command that leaves something running in the background (``server &``, a build daemon)
    would keep the output pipe open for as long as that runs, and the checkout it runs in is
    about to be removed: once the command itself has exited, what it left in its session gets
    SIGTERM, and SIGKILL if it is still there (or the pipe still open) after a few seconds.
    """
    assert process.stdout is not None
    fd = process.stdout.fileno()
    ended: float | None = None
    while True:
        readable, _, _ = select.select([fd], [], [], 0.2)
        if readable:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            take(chunk)
            continue
        if process.poll() is None:
            continue
        if ended is None:
            ended = time.monotonic()
            _signal_session(process, signal.SIGTERM)
        elif time.monotonic() - ended > _STOP_WAIT:
            _signal_session(process, signal.SIGKILL)
            break
    if process.poll() is not None:
        _signal_session(process, signal.SIGTERM)  # anything that closed its output but lives on


def _signal_session(process: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, sig)


def _stop(process: subprocess.Popen[bytes]) -> None:
    """End the command and everything it started: SIGTERM to its session, then SIGKILL."""
    _signal_session(process, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=_STOP_WAIT)
    _signal_session(process, signal.SIGKILL)  # what is left, the command itself included
    process.wait()


def _how(code: int) -> str:
    return f"signal {-code}" if code < 0 else f"exit code {code}"


def _shown(command: str) -> str:
    """The command on one line: a newline in it cannot forge a line of output."""
    return quote_path(command) if any(c in command for c in "\n\r\t\x1b") else command
