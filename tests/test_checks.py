"""check_commands: run on the exact public tip before sync pushes anything, in a clean
environment, in a checkout that is gone afterwards (Ctrl-C and SIGKILL included)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from git_pubgate.checks import CHECKOUTS_FILE, PASSED_FILE

from .conftest import SECRETS, PublicRepos, processes_naming, pubgate
from .factory import EXEC, LINK, C, build, git

TOKEN = "ghp_checkTOKEN0123456789abcdefghijklmnopq"
SECRETS.add(TOKEN)


def source(tmp_path: Path, target: Path, *extra: str) -> Path:
    src = tmp_path / "src"
    build(
        src,
        [
            C("a", (), {"README.md": "r\n", "internal/notes.md": "secret plan\n"}),
            C(
                "b",
                ["a"],
                {"run.sh": (EXEC, "#!/bin/sh\necho run\n"), "link": (LINK, "README.md")},
            ),
        ],
    )
    write_config(tmp_path, target, *extra)
    return src


def add_commit(src: Path, message: str = "more\n") -> None:
    tip = git("rev-parse", "main", cwd=src).strip()
    build(src, [C("more", [tip], {"more.md": message}, message=message)], known={"main": tip})


def write_config(tmp_path: Path, target: Path | str, *extra: str) -> None:
    lines = [f"target_repo: {json.dumps(str(target))}", "exclude: ['internal/']", *extra]
    (tmp_path / "pubgate.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")


def sync(tmp_path: Path, src: Path, *args: str) -> tuple[int, str, str]:
    result = pubgate("--config", str(tmp_path / "pubgate.yaml"), *args, cwd=src)
    assert "Traceback" not in result.err, result.err
    return result.code, result.out, result.err


def refs(target: Path) -> str:
    return git("ls-remote", str(target), cwd=target)


def commands(*lines: str) -> str:
    return f"check_commands: {json.dumps(list(lines))}"


def test_a_failing_check_stops_the_sync_before_anything_is_pushed(
    tmp_path: Path, public: PublicRepos
) -> None:
    target = public.bare()
    seen = tmp_path / "seen"
    src = source(
        tmp_path,
        target,
        commands(f"pwd > {seen}", "echo build-broke-$((1 + 2)); exit 3", f"touch {tmp_path}/never"),
    )
    code, out, err = sync(tmp_path, src, "sync", "--no-pr")
    assert code == 1
    lines = err.splitlines()
    assert lines[-2] == (
        "error: check command failed with exit code 3: echo build-broke-$((1 + 2)); exit 3"
    )
    assert lines[-1].startswith("hint: nothing was pushed")
    assert "'git pubgate preview' writes the tree it ran on" in lines[-1]  # one target: no name
    assert "build-broke-3" in err  # its output, shown
    assert not (tmp_path / "never").exists()  # the first failure stops the rest
    assert refs(target) == ""  # nothing reached the target
    checkout = Path(seen.read_text().strip())
    assert checkout.name == "public" and not checkout.parent.exists()
    assert not (src / ".git" / "pubgate" / CHECKOUTS_FILE).exists()
    assert not (src / ".git" / "pubgate" / PASSED_FILE).exists()  # a failure is not remembered

    # -q shows nothing while the commands run, but the failing one's output all the same;
    # --json puts the error on stdout and the output on stderr.
    code, out, err = sync(tmp_path, src, "-q", "--json", "sync", "--no-pr")
    assert code == 1
    assert "build-broke-3" in err and "build-broke-3" not in out
    assert json.loads(out)["exit_code"] == 1
    assert "exit code 3" in json.loads(out)["error"]
    assert refs(target) == ""


def test_checks_run_on_exactly_the_public_tree_with_a_clean_environment(
    tmp_path: Path, public: PublicRepos, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = public.bare()
    out_dir = tmp_path / "seen"
    out_dir.mkdir()
    monkeypatch.setenv("GH_TOKEN", TOKEN)
    monkeypatch.setenv("PUBGATE_CHECK_LANG", "C.UTF-8")
    monkeypatch.setenv("UNLISTED", "not for checks")
    src = source(
        tmp_path,
        target,
        "github_token_env: GH_TOKEN",
        "check_env: [PUBGATE_CHECK_LANG, NOT_SET_ANYWHERE]",
        commands(
            f"git rev-parse HEAD > {out_dir}/head",
            f"git status --porcelain > {out_dir}/status",
            f"find . -path ./.git -prune -o -print | sort > {out_dir}/files",
            f"test -x run.sh && test -L link && env > {out_dir}/env",
        ),
    )
    code, out, err = sync(tmp_path, src, "--json", "sync", "--no-pr")
    assert code == 0, err
    report = json.loads(out)
    assert report["pushed"]
    assert report["checks"] == {
        "tip": report["head"],
        "commands": report["checks"]["commands"],
        "ran": True,
        "passed": True,
        "remembered": False,
    }
    assert (out_dir / "head").read_text().strip() == report["head"]
    assert git("rev-parse", "pubgate/sync", cwd=target).strip() == report["head"]
    assert (out_dir / "status").read_text() == ""  # the checkout is exactly the tip
    assert (out_dir / "files").read_text().split() == [".", "./README.md", "./link", "./run.sh"]
    names = {line.split("=", 1)[0] for line in (out_dir / "env").read_text().splitlines()}
    assert {"PATH", "HOME", "PUBGATE_CHECK_LANG"} <= names
    assert not {"GH_TOKEN", "UNLISTED", "NOT_SET_ANYWHERE", "GIT_CONFIG_GLOBAL"} & names
    assert names <= {"PATH", "HOME", "PUBGATE_CHECK_LANG", "PWD", "OLDPWD", "SHLVL", "_"}
    assert TOKEN not in (out_dir / "env").read_text()


def test_a_check_printing_a_token_shows_it_scrubbed(
    tmp_path: Path, public: PublicRepos, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The token variable never reaches a check; if its value arrives another way (here a
    listed variable that holds the same value), every line shown has it replaced."""
    target = public.bare()
    monkeypatch.setenv("GH_TOKEN", TOKEN)
    monkeypatch.setenv("DEPLOY_NOTE", TOKEN)
    src = source(
        tmp_path,
        target,
        "github_token_env: GH_TOKEN",
        "check_env: [DEPLOY_NOTE]",
        commands('echo "note=$DEPLOY_NOTE"; echo "gh=${GH_TOKEN:-unset}"'),
    )
    code, out, err = sync(tmp_path, src, "sync", "--no-pr")
    assert code == 0, err
    assert "note=***" in err and "gh=unset" in err
    assert TOKEN not in err + out

    add_commit(src)
    write_config(
        tmp_path,
        target,
        "github_token_env: GH_TOKEN",
        "check_env: [DEPLOY_NOTE]",
        commands('printf "%s" "$DEPLOY_NOTE" >&2; exit 1'),  # stderr, no newline, failing
    )
    code, out, err = sync(tmp_path, src, "-q", "sync", "--no-pr")
    assert code == 1
    assert "***" in err and TOKEN not in err + out

    # A USER:TOKEN value: its token alone is scrubbed too.
    monkeypatch.setenv("GH_TOKEN", f"x-token-auth:{TOKEN}")
    code, out, err = sync(tmp_path, src, "-q", "sync", "--no-pr")
    assert code == 1
    assert "***" in err and TOKEN not in err + out


def test_check_env_refuses_a_token_variable(tmp_path: Path, public: PublicRepos) -> None:
    target = public.bare()
    src = source(
        tmp_path,
        target,
        "github_token_env: GH_TOKEN",
        "check_env: [LANG, GH_TOKEN]",
        commands("true"),
    )
    code, _, err = sync(tmp_path, src, "sync", "--no-pr")
    assert code == 2
    lines = err.splitlines()
    assert len(lines) == 2 and "check_env[1]" in lines[0] and "GH_TOKEN holds a token" in lines[0]
    assert lines[1].startswith("hint: remove it from check_env")
    write_config(tmp_path, target, "check_env: ['not a name']")
    code, _, err = sync(tmp_path, src, "plan")
    assert code == 2 and "check_env[0]" in err
    write_config(tmp_path, target, "check_commands: 'pytest'")
    code, _, err = sync(tmp_path, src, "plan")
    assert code == 2 and "expected a list of strings" in err
    assert refs(target) == ""


def test_a_pass_is_remembered_for_the_same_tip_and_a_failure_is_not(
    tmp_path: Path, public: PublicRepos
) -> None:
    target = public.bare()
    hook = target / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'closed for maintenance' >&2\nexit 1\n")
    hook.chmod(0o755)
    runs = tmp_path / "runs"
    src = source(tmp_path, target, commands(f"echo ran >> {runs}"))

    code, out, err = sync(tmp_path, src, "plan")
    assert code == 0 and "checks: 1 check command would run on" in err
    code, out, err = sync(tmp_path, src, "sync", "--no-pr")
    assert code == 1 and "pushing pubgate/sync" in err  # the push failed after the checks
    assert runs.read_text() == "ran\n"
    hook.unlink()
    code, out, err = sync(tmp_path, src, "--json", "plan")
    assert json.loads(out)["checks"]["remembered"] is True
    code, out, err = sync(tmp_path, src, "--json", "sync", "--no-pr")
    assert code == 0, err
    checks = json.loads(out)["checks"]
    assert checks["remembered"] and not checks["ran"] and checks["passed"]
    assert runs.read_text() == "ran\n"  # not run again on the very same tree

    # Nothing new to push: the checks guard nothing and do not run.
    code, out, err = sync(tmp_path, src, "--json", "sync", "--no-pr")
    assert json.loads(out)["already_pushed"] and json.loads(out)["checks"] is None
    assert runs.read_text() == "ran\n"

    # Other commands on the same tip are other checks; a failing one runs again every time.
    add_commit(src)
    write_config(tmp_path, target, commands(f"echo again >> {runs}; exit 1"))
    for _ in range(2):
        code, _, err = sync(tmp_path, src, "sync", "--no-pr")
        assert code == 1 and "exit code 1" in err
    assert runs.read_text() == "ran\nagain\nagain\n"


def test_checks_run_on_the_release_commit_too(tmp_path: Path, public: PublicRepos) -> None:
    target = public.bare()
    seen = tmp_path / "seen"
    src = tmp_path / "src"
    build(src, [C("a", (), {"pyproject.toml": '[project]\nname = "p"\nversion = "0.1.0"\n'})])
    add_commit(src, message="feat: x\n")
    write_config(tmp_path, target, "version: {}", commands(f"cat pyproject.toml > {seen}"))
    code, out, err = sync(tmp_path, src, "--json", "sync", "--no-pr")
    assert code == 0, err
    report = json.loads(out)
    assert report["checks"]["tip"] == report["release"]["commit"] == report["head"]
    assert 'version = "0.2.0"' in seen.read_text()


def test_dry_run_runs_the_checks_and_pushes_nothing(tmp_path: Path, public: PublicRepos) -> None:
    target = public.bare()
    src = source(tmp_path, target, commands("exit 4"))
    code, _, err = sync(tmp_path, src, "sync", "--dry-run")
    assert code == 1 and "exit code 4" in err
    assert refs(target) == ""


HANG = """
import os, sys, time
open(sys.argv[1], "w").write(os.getcwd())
time.sleep(600)
"""


def start_hanging_sync(tmp_path: Path, public: PublicRepos) -> tuple[Path, Path, Path]:
    target = public.bare()
    hang = tmp_path / "hang.py"
    hang.write_text(HANG)
    marker = tmp_path / "started"
    src = source(tmp_path, target, commands(f"exec {sys.executable} {hang} {marker}"))
    return src, target, marker


def wait_for(marker: Path, proc: subprocess.Popen[bytes]) -> Path:
    deadline = time.monotonic() + 120
    while not (marker.exists() and marker.read_text()):
        assert time.monotonic() < deadline and proc.poll() is None, proc.poll()
        time.sleep(0.05)
    return Path(marker.read_text())


def console(tmp_path: Path, src: Path) -> subprocess.Popen[bytes]:
    bin_dir = Path(sys.executable).parent
    return subprocess.Popen(
        [str(bin_dir / "git-pubgate"), "--config", str(tmp_path / "pubgate.yaml"), "sync"],
        cwd=src,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )


def test_ctrl_c_during_a_check_removes_the_checkout_and_stops_the_check(
    tmp_path: Path, public: PublicRepos
) -> None:
    src, target, marker = start_hanging_sync(tmp_path, public)
    proc = console(tmp_path, src)
    checkout = wait_for(marker, proc)
    assert checkout.is_dir()
    os.killpg(proc.pid, signal.SIGINT)  # what a terminal's Ctrl-C does
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert err.decode().splitlines()[-2:] == [
        "error: interrupted",
        "hint: rerun the same command; every step is safe to repeat",
    ]
    assert not checkout.parent.exists()
    deadline = time.monotonic() + 30
    while processes_naming(tmp_path / "hang.py"):  # SIGTERM, then SIGKILL after 5 s
        assert time.monotonic() < deadline, processes_naming(tmp_path / "hang.py")
        time.sleep(0.1)
    assert refs(target) == ""
    assert not (src / ".git" / "pubgate" / CHECKOUTS_FILE).exists()


def test_a_rerun_removes_the_checkout_a_killed_run_left(
    tmp_path: Path, public: PublicRepos
) -> None:
    src, target, marker = start_hanging_sync(tmp_path, public)
    proc = console(tmp_path, src)
    checkout = wait_for(marker, proc)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=120)
    assert checkout.is_dir()  # SIGKILL leaves no chance to clean up
    assert (src / ".git" / "pubgate" / CHECKOUTS_FILE).read_text().strip() == str(checkout.parent)
    write_config(tmp_path, target, commands("true"))
    code, _, err = sync(tmp_path, src, "sync", "--no-pr")
    assert code == 0, err
    assert not checkout.parent.exists()
    assert not (src / ".git" / "pubgate" / CHECKOUTS_FILE).exists()
    assert "pubgate/sync" in refs(target)
    deadline = time.monotonic() + 30
    while processes_naming(tmp_path / "hang.py"):  # the check got SIGTERM as its parent died
        assert time.monotonic() < deadline, processes_naming(tmp_path / "hang.py")
        time.sleep(0.1)


def test_a_note_never_removes_a_folder_that_is_not_a_checkout(
    tmp_path: Path, public: PublicRepos
) -> None:
    """The note names what to remove; a folder without the checkout's owner file (a note
    edited by hand, or a name reused) is left alone."""
    target = public.bare()
    src = source(tmp_path, target, commands("true"))
    precious = tmp_path / "pubgate-check-precious"
    (precious / "sub").mkdir(parents=True)
    (precious / "sub" / "keep.txt").write_text("keep\n")
    other = tmp_path / "elsewhere"
    other.mkdir()
    note = src / ".git" / "pubgate" / CHECKOUTS_FILE
    note.parent.mkdir(parents=True)
    note.write_text(f"{precious}\n{other}\n")
    code, _, err = sync(tmp_path, src, "sync", "--no-pr")
    assert code == 0, err
    assert (precious / "sub" / "keep.txt").is_file() and other.is_dir()
    assert not note.exists()


BACKGROUND = """
import os, sys, time
open(sys.argv[1], "w").write("started")
time.sleep(120)
open(sys.argv[1], "w").write("finished")
"""


def test_what_a_check_leaves_running_in_the_background_is_stopped(
    tmp_path: Path, public: PublicRepos
) -> None:
    """``server &`` keeps the output pipe open: the sync must not wait for it, and it must
    not outlive the checkout it runs in."""
    target = public.bare()
    script = tmp_path / "background.py"
    script.write_text(BACKGROUND)
    marker = tmp_path / "marker"
    src = source(
        tmp_path,
        target,
        commands(
            f"{sys.executable} {script} {marker} & "
            f"while ! test -s {marker}; do sleep 0.1; done; echo launched"
        ),
    )
    code, _, err = sync(tmp_path, src, "sync", "--no-pr")
    assert code == 0, err
    assert "launched" in err and "pubgate/sync" in refs(target)
    deadline = time.monotonic() + 60
    while processes_naming(script):
        assert time.monotonic() < deadline, processes_naming(script)
        time.sleep(0.1)
    assert marker.read_text() == "started"  # stopped, not finished


def test_each_target_runs_its_own_checks_on_its_own_tree(
    tmp_path: Path, public: PublicRepos
) -> None:
    """A monorepo: target a's check fails (a's tree lacks what it needs), b's passes; a pushes
    nothing, b goes on, and the exit code is the worst."""
    src = tmp_path / "src"
    build(src, [C("a", (), {"libs/a/a.py": "A\n", "libs/b/b.py": "B\n"})])
    a, b = public.bare("a.git"), public.bare("b.git")
    config = {
        "check_commands": ["test -f b.py"],
        "targets": {
            "a": {"root": "libs/a/", "target_repo": str(a)},
            "b": {"root": "libs/b/", "target_repo": str(b)},
        },
    }
    (tmp_path / "pubgate.yaml").write_text(json.dumps(config), encoding="utf-8")
    code, _, err = sync(tmp_path, src, "sync", "--no-pr")
    assert code == 1
    assert "error: a: check command failed with exit code 1: test -f b.py" in err
    assert "'git pubgate preview --target a' writes the tree it ran on" in err, err
    assert refs(a) == "" and "pubgate/sync" in refs(b)
