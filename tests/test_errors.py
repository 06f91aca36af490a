"""Bad input and failures: one error line, one hint, the right exit code, nothing half-done."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from .conftest import PublicRepos, pubgate
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
