"""Bad input and failures: one error line, one hint, the right exit code, nothing half-done."""

from __future__ import annotations

import contextlib
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from git_pubgate import cli, workspace
from git_pubgate.config import load
from git_pubgate.errors import PubgateError
from git_pubgate.lock import exclusive
from git_pubgate.objects import TMP_PACK_PREFIX
from git_pubgate.sync import SyncOptions
from git_pubgate.sync import run as sync_run

from .conftest import PublicRepos, processes_naming, pubgate
from .factory import C, build, git


def source(tmp_path: Path, config: str) -> Path:
    src = tmp_path / "src"
    build(src, [C("a", (), {"README.md": "r\n", "internal/x": "s\n"}), C("b", ["a"], {"y": "y\n"})])
    (tmp_path / "pubgate.yaml").write_text(config)
    return src


def run(tmp_path: Path, src: Path, *args: str) -> tuple[int, list[str]]:
    result = pubgate("--config", str(tmp_path / "pubgate.yaml"), *args, cwd=src)
    assert "Traceback" not in result.err
    return result.code, result.err.splitlines()


def assert_clean_error(lines: list[str], *fragments: str) -> None:
    assert len(lines) == 2, lines
    assert lines[0].startswith("error: ") and lines[1].startswith("hint: ")
    for fragment in fragments:
        assert fragment in "\n".join(lines)


def test_missing_target_repository(tmp_path: Path) -> None:
    src = source(tmp_path, f"target_repo: {tmp_path / 'nope.git'}\n")
    code, lines = run(tmp_path, src, "sync")
    assert code == 1
    assert_clean_error(lines, "is not a git repository", "git init --bare")


def test_missing_target_repo_key(tmp_path: Path) -> None:
    src = source(tmp_path, "exclude: ['internal/']\n")
    code, lines = run(tmp_path, src, "sync")
    assert code == 2
    assert_clean_error(lines, "target_repo is not set")


def test_missing_source_branch(tmp_path: Path, public: PublicRepos) -> None:
    src = source(tmp_path, f"target_repo: {public.bare()}\nsource_branch: release\n")
    code, lines = run(tmp_path, src, "sync")
    assert code == 2
    assert_clean_error(lines, "no branch 'release'")


def test_missing_source_repository(tmp_path: Path, public: PublicRepos) -> None:
    src = source(tmp_path, f"target_repo: {public.bare()}\nsource_repo: {tmp_path / 'gone'}\n")
    code, lines = run(tmp_path, src, "sync")
    assert code == 2
    assert_clean_error(lines, "does not exist")


def test_unreachable_target(tmp_path: Path) -> None:
    src = source(tmp_path, "target_repo: http://127.0.0.1:9/public.git\n")
    code, lines = run(tmp_path, src, "sync")
    assert code == 1
    assert_clean_error(lines, "error: reading http://127.0.0.1:9/public.git failed")


def test_everything_excluded(tmp_path: Path, public: PublicRepos) -> None:
    src = source(tmp_path, f"target_repo: {public.bare()}\nexclude: ['*']\n")
    code, lines = run(tmp_path, src, "sync")
    assert code == 1
    assert_clean_error(lines, "every path is excluded")


def test_unknown_option_is_a_usage_error(tmp_path: Path) -> None:
    result = pubgate("sync", "--frobnicate", cwd=tmp_path)
    assert result.code == 2
    assert result.err.startswith("error: unrecognized arguments: --frobnicate\nhint: ")


def test_rejected_push_then_rerun(tmp_path: Path, public: PublicRepos) -> None:
    target = public.bare()
    hook = target / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'protected branch' >&2\nexit 1\n")
    hook.chmod(0o755)
    src = source(tmp_path, f"target_repo: {target}\nexclude: ['internal/']\n")
    code, lines = run(tmp_path, src, "sync", "--no-pr")
    assert code == 1
    assert_clean_error(lines, "pushing pubgate/sync to", "protected")
    assert git("for-each-ref", cwd=target) == ""
    hook.unlink()
    code, lines = run(tmp_path, src, "sync", "--no-pr")
    assert code == 0, lines
    assert git("for-each-ref", "--format=%(refname)", cwd=target).split() == [
        "refs/heads/pubgate/sync"
    ]


def test_interrupt_exits_130_and_a_rerun_finishes(tmp_path: Path, public: PublicRepos) -> None:
    target = public.bare()
    marker = tmp_path / "push-started"
    hook = target / "hooks" / "pre-receive"
    hook.write_text(f"#!/bin/sh\ntouch '{marker}'\nsleep 30\nexit 1\n")
    hook.chmod(0o755)
    src = source(tmp_path, f"target_repo: {target}\nexclude: ['internal/']\n")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "git_pubgate",
            "--config",
            str(tmp_path / "pubgate.yaml"),
            "sync",
            "--no-pr",
        ],
        cwd=src,
        stderr=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])},
    )
    deadline = time.monotonic() + 30
    while not marker.exists():
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130
    assert err.decode().splitlines() == [
        "error: interrupted",
        "hint: rerun the same command; every step is safe to repeat",
    ]
    hook.unlink()
    code, lines = run(tmp_path, src, "sync", "--no-pr")
    assert code == 0, lines
    assert "pushed" in lines[-2]


def test_ctrl_c_to_the_process_group_at_random_moments(tmp_path: Path, public: PublicRepos) -> None:
    """What a terminal's Ctrl-C does: SIGINT to git, git-pubgate and every git child at once,
    at seeded random moments from start-up to exit, sometimes twice. Never a traceback;
    git-pubgate exits 130 (or, in the last instant of interpreter shutdown, dies of the
    signal); under git, git itself dies of it (git 2.39 re-raises it after its child ends).
    Then a plain rerun converges."""
    target = public.bare()
    src = source(tmp_path, f"target_repo: {target}\nexclude: ['internal/']\n")
    config = str(tmp_path / "pubgate.yaml")
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    direct = [str(bin_dir / "git-pubgate"), "--config", config, "sync", "--no-pr"]
    under_git = ["git", "pubgate", "--config", config, "sync", "--no-pr"]
    start = time.monotonic()
    subprocess.run(direct, cwd=src, env=env, capture_output=True, check=True)
    span = time.monotonic() - start  # one whole run: the moments are drawn across it
    rng = random.Random(1913)
    tip = git("rev-parse", "main", cwd=src).strip()
    outcomes: list[int] = []
    interrupted = 0
    attempt = 0
    # Runs until 20 interrupts landed (bounded): how many moments fall inside a run depends on
    # the machine's load, which changes while the test runs, so a fixed count of attempts
    # would make the outcome depend on speed.
    while interrupted < 20 and attempt < 200:
        attempt += 1
        tip = build(
            src, [C(f"n{attempt}", ["main"], {f"src/n{attempt}.py": "n\n"})], known={"main": tip}
        )[f"n{attempt}"]
        command = under_git if attempt % 4 == 3 else direct
        proc = subprocess.Popen(
            command,
            cwd=src,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        time.sleep(rng.uniform(0, span * 1.1))
        if proc.poll() is not None:
            span *= 0.8  # the runs got quicker than the first one: draw from a shorter span
        else:
            os.killpg(proc.pid, signal.SIGINT)
            if rng.random() < 0.5:
                time.sleep(rng.uniform(0, 0.05))
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=120)
        text = err.decode(errors="replace")
        # Only the interpreter's own start-up, before git-pubgate's first module runs, keeps
        # Python's default handling (RELIABILITY.md, known limits): a traceback, or, before
        # the standard streams exist, CPython's dump of the exception it cannot print.
        unprintable = text.rstrip().endswith("lost sys.stderr")
        if "Traceback" in text or "Fatal Python error" in text or unprintable:
            assert not re.search(r"git_pubgate/(?!__init__\.py)", text), text
            continue
        assert "KeyboardInterrupt" not in text, text
        allowed = {0, 130, -signal.SIGINT}
        assert proc.returncode in allowed, (command, proc.returncode, text)
        if proc.returncode == 130 and command is direct:
            assert text.splitlines()[-2:] == [
                "error: interrupted",
                "hint: rerun the same command; every step is safe to repeat",
            ], text
        outcomes.append(proc.returncode)
        interrupted = outcomes.count(130) + outcomes.count(-signal.SIGINT)
    assert interrupted >= 20, outcomes
    code, lines = run(tmp_path, src, "sync", "--no-pr")
    assert code == 0, lines
    assert f"Pubgate-Source: {tip}" in git("log", "-1", "--format=%B", "pubgate/sync", cwd=target)


HOLD_LOCK = """
import sys, time
from pathlib import Path
from git_pubgate.lock import exclusive
from git_pubgate.objects import TMP_PACK_PREFIX
with exclusive(Path(sys.argv[1])):
    print("held", flush=True)
    time.sleep(60)
"""


def test_a_second_run_waits_then_refuses_and_a_killed_one_frees_the_lock(
    tmp_path: Path, public: PublicRepos
) -> None:
    src = source(tmp_path, f"target_repo: {public.bare()}\nexclude: ['internal/']\n")
    config = load(tmp_path / "pubgate.yaml")
    with exclusive(src / ".git"), pytest.raises(PubgateError, match="another git pubgate run"):
        sync_run(config, src, SyncOptions(no_pr=True), lock_wait=0.3)
    # A holder killed with SIGKILL leaves nothing behind that blocks the next run.
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])}
    with subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(src / ".git")],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    ) as holder:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        holder.kill()
    report = sync_run(config, src, SyncOptions(no_pr=True), lock_wait=5)
    assert report.pushed


def test_lock_files_left_by_a_killed_run_do_not_block_the_next(
    tmp_path: Path, public: PublicRepos
) -> None:
    src = source(tmp_path, f"target_repo: {public.bare()}\nexclude: ['internal/']\n")
    assert run(tmp_path, src, "sync", "--no-pr")[0] == 0
    staging = src / ".git" / "pubgate" / "public.git"
    # The lock of the very ref the next run updates, as a kill mid-update leaves it.
    (staging / "refs" / "pubgate" / "target" / "pubgate").mkdir(parents=True, exist_ok=True)
    (staging / "refs" / "pubgate" / "target" / "pubgate" / "sync.lock").write_text("")
    (staging / "packed-refs.lock").write_text("")
    build(
        src, [C("c", ["b"], {"z": "z\n"})], known={"b": git("rev-parse", "main", cwd=src).strip()}
    )
    code, lines = run(tmp_path, src, "sync", "--no-pr")
    assert code == 0, lines
    assert not list(staging.rglob("*.lock"))


def test_a_staging_repository_whose_creation_was_killed_is_built_again(
    tmp_path: Path, public: PublicRepos
) -> None:
    target = public.bare()
    src = source(tmp_path, f"target_repo: {target}\nexclude: ['internal/']\n")
    assert run(tmp_path, src, "sync", "--no-pr")[0] == 0
    expected = git("rev-parse", "pubgate/sync", cwd=target)
    git("update-ref", "-d", "refs/heads/pubgate/sync", cwd=target)
    # What a SIGKILL inside 'git init' leaves: the directories, and HEAD.lock where HEAD should be.
    pubgate_dir = src / ".git" / "pubgate"
    shutil.rmtree(pubgate_dir)
    for remnant in (pubgate_dir / "public.git", pubgate_dir / "public.git.new"):
        (remnant / "objects" / "pack").mkdir(parents=True)
        (remnant / "refs" / "heads").mkdir(parents=True)
        (remnant / "HEAD.lock").write_text("ref: refs/heads/")
    code, lines = run(tmp_path, src, "sync", "--no-pr")
    assert code == 0, lines
    assert git("rev-parse", "pubgate/sync", cwd=target) == expected
    assert (pubgate_dir / "public.git" / "HEAD").is_file()
    assert not (pubgate_dir / "public.git.new").exists()


def test_audit_and_sync_wait_for_a_running_sync_and_say_so(
    tmp_path: Path, public: PublicRepos
) -> None:
    src = source(tmp_path, f"target_repo: {public.bare()}\nexclude: ['internal/']\n")
    assert run(tmp_path, src, "sync", "--no-pr")[0] == 0
    live_lock = src / ".git" / "pubgate" / "public.git" / "packed-refs.lock"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])}
    command = [sys.executable, "-m", "git_pubgate", "--config", str(tmp_path / "pubgate.yaml")]
    waiting = "waiting for another git pubgate run on this repository (up to 60 s)"
    with exclusive(src / ".git"):  # a sync in the middle of updating packed-refs
        live_lock.write_text("")
        started = [
            subprocess.Popen(
                [*command, *args], cwd=src, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
            )
            for args in (["audit"], ["sync", "--no-pr"], ["-q", "sync", "--no-pr"])
        ]
        # Hold the lock until both talkative runs have met it and said so, however long a busy
        # machine takes to start them (a fixed sleep let them arrive after it was released).
        first = [p.stderr.readline().decode().rstrip("\n") for p in started[:2] if p.stderr]
        assert first == [waiting, waiting], first
        assert all(p.poll() is None for p in started), "a run went ahead under the lock"
        # audit opens staging only in the lock, so it did not clear the sync's lock file.
        assert live_lock.exists()
        live_lock.unlink()  # the sync finishes and lets go
    said = []
    for process in started:
        _, err = process.communicate(timeout=60)
        assert process.returncode == 0, err
        said.append(err.decode().splitlines())
    assert waiting not in said[0] + said[1]  # said once each, before the lock was let go
    assert waiting not in said[2]  # -q


def test_killed_pack_writes_are_cleared_and_staging_is_repacked_in_the_lock(
    tmp_path: Path, public: PublicRepos, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = public.bare()
    src = source(tmp_path, f"target_repo: {target}\nexclude: ['internal/']\n")
    config = load(tmp_path / "pubgate.yaml")
    monkeypatch.setattr(workspace, "PACK_LIMIT", 3)
    staging = src / ".git" / "pubgate" / "public.git"
    packs = staging / "objects" / "pack"
    tip = git("rev-parse", "main", cwd=src).strip()
    counts = []
    for n in range(6):
        if n:
            tip = build(src, [C(f"c{n}", ["p"], {f"f{n}": f"{n}\n"})], known={"p": tip})[f"c{n}"]
            # What killed runs leave: our pack being written, and git index-pack's.
            (packs / f"{TMP_PACK_PREFIX}dead.pack").write_bytes(b"PACK" * 1000)
            (packs / "tmp_pack_dead").write_bytes(b"PACK")
        assert sync_run(config, src, SyncOptions(no_pr=True)).pushed
        assert not list(packs.glob("tmp_*"))
        counts.append(len(list(packs.glob("*.pack"))))
    assert max(counts) <= 4 and counts[-1] < max(counts), counts
    assert git("config", "gc.auto", cwd=staging).strip() == "0"
    # Repacking kept everything the next run reads: a rerun is up to date, audit is clean.
    assert not sync_run(config, src, SyncOptions(no_pr=True)).pushed
    code, lines = run(tmp_path, src, "audit")
    assert code == 0, lines


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_a_killed_runs_git_children_die_with_it(tmp_path: Path, public: PublicRepos) -> None:
    target = public.bare()
    src = source(tmp_path, f"target_repo: {target}\nexclude: ['internal/']\n")
    hold, started = tmp_path / "hold", tmp_path / "push-started"
    hook = target / "hooks" / "pre-receive"
    # The target keeps the push waiting while `hold` exists (30 s at most).
    hook.write_text(
        f'#!/bin/sh\ncat >/dev/null\ntouch "{started}"\n'
        f'n=0; while [ -e "{hold}" ] && [ $n -lt 300 ]; do sleep 0.1; n=$((n+1)); done\n'
    )
    hook.chmod(0o755)
    hold.touch()
    staging = src / ".git" / "pubgate" / "public.git"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])}
    command = [sys.executable, "-m", "git_pubgate", "--config", str(tmp_path / "pubgate.yaml")]
    with subprocess.Popen(
        [*command, "sync", "--no-pr"], cwd=src, env=env, stderr=subprocess.DEVNULL
    ) as killed:
        deadline = time.monotonic() + 30
        while not started.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert started.exists(), "the push never reached the target"
        assert processes_naming(staging), "the git push should be running now"
        killed.kill()
    # Its git push working in the staging repository ends with it, rather than racing the
    # rerun for the same refs.
    deadline = time.monotonic() + 60  # generous: a loaded machine reaps slowly
    while processes_naming(staging) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not processes_naming(staging)
    hold.unlink()
    code, lines = run(tmp_path, src, "sync", "--no-pr")
    assert code == 0, lines
    head = git("rev-parse", "pubgate/sync", cwd=target).strip()
    code, lines = run(tmp_path, src, "sync", "--no-pr")
    assert code == 0 and any(f"already points at {head[:12]}" in line for line in lines), lines


def test_a_reader_that_stops_reading_is_no_bug(tmp_path: Path, public: PublicRepos) -> None:
    src = source(tmp_path, f"target_repo: {public.bare()}\nexclude: ['internal/']\n")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])}
    command = [sys.executable, "-m", "git_pubgate", "--config", str(tmp_path / "pubgate.yaml")]
    read, write = os.pipe()
    os.close(read)  # like '| head' that has already quit
    stderr = tmp_path / "stderr"
    with stderr.open("wb") as kept:
        done = subprocess.run(
            [*command, "plan", "--json"], cwd=src, env=env, stdout=write, stderr=kept, check=False
        )
    os.close(write)
    said = stderr.read_text()
    assert done.returncode == 1, said
    assert "Traceback" not in said and "internal error" not in said and "Exception" not in said


def test_an_interrupt_that_python_wrapped_is_still_an_interrupt() -> None:
    """Ctrl-C during a lazy import can land in a class body's ``__set_name__``, which Python
    3.11 wraps in a RuntimeError (seen in CI): that is still Ctrl-C (exit 130), not a bug."""

    class Interrupted:
        def __set_name__(self, owner: type, name: str) -> None:
            raise KeyboardInterrupt

    try:
        type("Owner", (), {"field": Interrupted()})
    except BaseException as e:  # RuntimeError on 3.11, the interrupt itself on 3.12+
        wrapped: BaseException = e
    assert cli._caused_by_interrupt(wrapped)
    assert not cli._caused_by_interrupt(RuntimeError("a plain bug"))
