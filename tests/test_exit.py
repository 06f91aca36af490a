"""The console script ends without finalising the interpreter, and loses nothing by it."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

# A stand-in command that entry.main runs as it runs the real one: it registers an exit
# handler as a library would while a command runs, then ends as ENDING says; an object is
# left whose finaliser would say so.
SCRIPT = textwrap.dedent(
    """
    import atexit, sys
    from git_pubgate import cli, entry

    class Kept:
        def __del__(self):
            sys.stderr.write("finalised\\n")

    kept = Kept()

    def command(argv, interrupted):
        atexit.register(lambda: sys.stdout.write("handler ran\\n"))
        ENDING

    cli.run_console = command
    sys.argv = ["git-pubgate", sys.argv[1]]
    entry.main()
    """
)
# More than a pipe's buffer, not flushed, then the code given on the command line.
ANSWER = (
    "sys.stdout.write('x' * 200_000 + '\\n'); sys.stderr.write('said on stderr\\n'); "
    "return int(argv[0])"
)


def _run(ending: str, argument: str = "0") -> subprocess.CompletedProcess[str]:
    script = SCRIPT.replace("ENDING", ending)
    return subprocess.run(
        [sys.executable, "-c", script, argument],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_output_and_exit_handlers_come_through_and_nothing_is_finalised() -> None:
    for code in (0, 1, 7):
        done = _run(ANSWER, str(code))
        assert done.returncode == code
        assert done.stdout == "x" * 200_000 + "\nhandler ran\n"
        # Objects are left to the system: no finaliser runs after the answer.
        assert done.stderr == "said on stderr\n"


def test_a_command_ending_by_system_exit_ends_the_same_way() -> None:
    # As argparse does for --help, --version and a usage error.
    done = _run("raise SystemExit(2)")
    assert done.returncode == 2
    assert done.stdout == "handler ran\n"
    assert "finalised" not in done.stderr


def test_without_an_answer_python_exits_as_it_always_does() -> None:
    # Not an outcome main can give: the console's own command turns every failure into one.
    done = _run("raise RuntimeError('boom')")
    assert done.returncode == 1
    assert "RuntimeError: boom" in done.stderr
    assert done.stderr.endswith("finalised\n")


def test_a_closed_stdout_is_no_reason_to_complain() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "git_pubgate", "--version"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        timeout=120,
        check=False,
        # The child starts with file descriptor 1 closed: its sys.stdout is None.
        preexec_fn=lambda: os.close(1),
    )
    assert done.returncode == 0
    # (argparse prints the version to stderr when there is no stdout)
    assert "Exception" not in done.stderr and "Traceback" not in done.stderr


def test_under_coverage_start_up_the_process_exits_as_python_does() -> None:
    # coverage.process_startup writes its data from a handler registered before main runs.
    env = {**os.environ, "COVERAGE_PROCESS_START": "/nonexistent/.coveragerc"}
    script = SCRIPT.replace("ENDING", "return 5")
    done = subprocess.run(
        [sys.executable, "-c", script, "0"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=env,
    )
    assert done.returncode == 5
    assert done.stdout == "handler ran\n"
    assert done.stderr.endswith("finalised\n")
