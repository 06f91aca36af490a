"""The console scripts' entry point: Ctrl-C becomes exit 130 and two lines, never a traceback.

A terminal's Ctrl-C sends SIGINT to the whole process group: ``git``, ``git-pubgate`` and
every git child at once, at any moment, start-up and exit included. So a handler is set
before anything else is imported (``_signal``, the C module: ``signal`` would first import
``enum``), and while the program loads it only takes note. Once ``main`` runs, the first
signal becomes one ``KeyboardInterrupt`` and every later one is only counted: a second
Ctrl-C cannot interrupt the report of the first, nor a clean-up under way.

What comes before this module runs (the interpreter's own start-up and ``site``) keeps
Python's default handling; RELIABILITY.md gives that window.
"""

from __future__ import annotations

import _signal  # type: ignore[import-not-found]  # (no stub; builtin, so instant to import)
import os as _os  # already loaded by the interpreter's start-up

_MAIN_PID = _os.getpid()

_interrupted = False


def _note(signum: int, frame: object) -> None:
    """While loading: remember the signal; ``main`` reports it."""
    global _interrupted  # noqa: PLW0603 (a signal handler has no other way to say it ran)
    _interrupted = True


_signal.signal(_signal.SIGINT, _note)

import atexit  # noqa: E402
import contextlib  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402

from .errors import EXIT_INTERRUPTED  # noqa: E402


def _first(signum: int, frame: object) -> None:
    """The first signal while the command runs: stop it, and make later ones harmless."""
    global _interrupted  # noqa: PLW0603
    if _os.getpid() != _MAIN_PID:
        # A child between fork and exec (subprocess with preexec_fn) runs Python handlers in
        # threading's _after_fork: raising there prints "Exception ignored". The parent, hit
        # by the same Ctrl-C, reports it; the child is ended with it (PR_SET_PDEATHSIG).
        return
    _interrupted = True
    _signal.signal(_signal.SIGINT, _later)
    raise KeyboardInterrupt


def _later(signum: int, frame: object) -> None:
    """Every signal after the first: already being handled."""


def _was_interrupted() -> bool:
    return _interrupted


def _report(as_json: bool) -> None:
    """The interruption, said once; nothing is left to tell if the streams are gone."""
    message, hint = "interrupted", "rerun the same command; every step is safe to repeat"
    with contextlib.suppress(OSError, ValueError):
        sys.stderr.write(f"error: {message}\nhint: {hint}\n")
        sys.stderr.flush()
        if as_json:
            code = EXIT_INTERRUPTED
            sys.stdout.write(json.dumps({"error": message, "hint": hint, "exit_code": code}))
            sys.stdout.write("\n")
            sys.stdout.flush()


_leaving: int | None = None  # the exit code, once main has its answer


def _leave_without_finalising() -> None:
    """The last exit handler (the first registered): flush the streams and end the process.

    What Python would do next is finalise: free every object one by one, libgit2's caches
    included. After a sync that read the 47,152 trailers of the 50,000-commit benchmark that
    took 0.15 s of CPU, a seventh of the run, to give back memory the system takes back at
    once. Nothing of this package's is left to finish by then: files are written and closed,
    git children waited for, and no thread runs; exit handlers registered while the command
    ran have run. Handlers registered before ``main`` (a ``sitecustomize``) would not: under
    coverage's start-up hook, which writes its data in one, the process exits as Python does.
    """
    if _leaving is None or "COVERAGE_PROCESS_START" in _os.environ:
        return  # main did not get to its answer, or a handler registered before it must run
    for stream in (sys.stdout, sys.stderr):
        if stream is not None:  # None: the descriptor was closed when the process started
            with contextlib.suppress(OSError, ValueError):  # a reader gone, a closed stream
                stream.flush()
    _os._exit(_leaving)


def main() -> None:
    """Run ``git pubgate`` with the process's arguments and exit with its code."""
    global _leaving  # noqa: PLW0603 (read by the exit handler, after main returned)
    atexit.register(_leave_without_finalising)
    argv = sys.argv[1:]
    code: int | None = None
    try:
        if not _interrupted:
            _signal.signal(_signal.SIGINT, _first)
            if _interrupted:  # arrived between the check and the new handler
                raise KeyboardInterrupt
            from .cli import run_console  # noqa: PLC0415 (after the handler: loading is covered)

            code = run_console(argv, _was_interrupted)
        _signal.signal(_signal.SIGINT, _later)  # from here on, nothing may raise
    except KeyboardInterrupt:
        _signal.signal(_signal.SIGINT, _later)  # (_first did so too, unless raised above)
    except SystemExit as e:  # argparse's --help and --version
        _signal.signal(_signal.SIGINT, _later)
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 2)
    if code is None or (_interrupted and code != EXIT_INTERRUPTED):
        # The signal came outside the command's own handling: while loading, while a
        # failure was being reported, or after the work was done. With --json, only a run
        # that never returned may still owe stdout its one object.
        _report(as_json=code is None and "--json" in argv)
        code = EXIT_INTERRUPTED
    _leaving = code
    sys.exit(code)
