"""``git pubgate``: parse arguments, dispatch, and turn every failure into an exit code.

Commands import their modules when they run: every incremental sync pays for start-up.

The only module that prints to the user on behalf of the library, and the only one that exits.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import sys
import traceback
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    import httpx

    from .path_trees import SharedTrees
    from .report import SyncReport
    from .sync import SyncOptions
    from .targets import Outcome

from . import __version__, quoting
from . import config as config_mod
from .config import BUMPS
from .errors import (
    EXIT_BUG,
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    ConfigError,
    PubgateError,
)
from .gitio import config_value, toplevel
from .lock import WAIT_SECONDS
from .quoting import printable


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage mistakes in the house format (error: + hint:, exit 2)."""

    def error(self, message: str) -> Any:  # argparse's signature says NoReturn
        raise ConfigError(message, f"see '{self.prog} -h'")


class _Args(argparse.Namespace):
    directory: str | None
    config: str | None
    verbose: int
    quiet: bool
    json: bool
    command: str | None
    dry_run: bool
    no_pr: bool
    allow_divergence: bool
    force: bool
    init: bool
    delete_excluded: bool
    keep: str | None
    repository_url: str | None
    action: str
    hook_args: list[str]
    via_config: bool
    root: str | None
    no_isolation: bool
    resume: bool
    abort: bool
    target: list[str] | None
    folder: str | None
    lfs: bool


def _common(parser: argparse.ArgumentParser, *, top: bool) -> None:
    # Accepted before and after the subcommand; after it, SUPPRESS keeps the top-level value.
    default: Any = None if top else argparse.SUPPRESS
    parser.add_argument(
        "--config",
        metavar="FILE",
        default=default,
        help="configuration file (default: pubgate.yaml, else pyproject.toml)",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        default=False if top else default,
        help="print one JSON object on stdout",
    )
    parser.add_argument(
        "-v", "--verbose", action="count", default=0 if top else default, help="more detail"
    )
    parser.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        default=False if top else default,
        help="only results and errors",
    )


def _target_option(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument(
        "--target",
        action="append",
        metavar="NAME",
        help=f"{what} only this target of a targets: configuration (repeatable)",
    )


def build_parser(prog: str = "git pubgate") -> argparse.ArgumentParser:
    parser = _Parser(
        prog=prog, description="Publish an internal git repository through a review gate."
    )
    parser.add_argument("--version", action="version", version=f"git-pubgate {__version__}")
    parser.add_argument("-C", dest="directory", metavar="DIR", help="run as if started in DIR")
    _common(parser, top=True)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    init = sub.add_parser("init", help="write a commented starter pubgate.yaml")
    init.add_argument("--force", action="store_true", help="overwrite an existing file")
    init.add_argument(
        "--root",
        metavar="DIR",
        help="a monorepo: this folder becomes the public repository's root",
    )
    _common(init, top=False)

    plan = sub.add_parser("plan", help="show what sync would do now")
    _bump_option(plan)
    _target_option(plan, "plan")
    _common(plan, top=False)

    sync = sub.add_parser("sync", help="rewrite new commits and push the head branch")
    sync.add_argument("--dry-run", action="store_true", help="do everything but push")
    sync.add_argument("--no-pr", action="store_true", help="stop after the push")
    sync.add_argument(
        "--init",
        action="store_true",
        help="first publication into a target without the review branch: push straight to it, once",
    )
    sync.add_argument(
        "--allow-divergence",
        action="store_true",
        help="sync although the public branch has changes of its own",
    )
    sync.add_argument(
        "--delete-excluded",
        action="store_true",
        help="let the pull request delete public files that exclude now matches",
    )
    _bump_option(sync)
    _target_option(sync, "sync")
    _common(sync, top=False)

    publish = sub.add_parser(
        "publish", help="after the merge: run pre-publish commands, build, check, upload, tag"
    )
    publish.add_argument(
        "--dry-run", action="store_true", help="run the commands, build and check; upload nothing"
    )
    publish.add_argument(
        "--repository-url", metavar="URL", help="upload there instead of pypi_repository_url"
    )
    publish.add_argument(
        "--no-isolation", action="store_true", help="build in this environment, not a fresh one"
    )
    _target_option(publish, "publish")
    _common(publish, top=False)

    audit_cmd = sub.add_parser(
        "audit", help="check the target's history against the rules and against the source"
    )
    audit_cmd.add_argument(
        "--lfs",
        action="store_true",
        help="also check that the target's LFS store has every object a public pointer names",
    )
    _target_option(audit_cmd, "audit")
    _common(audit_cmd, top=False)

    targets_cmd = sub.add_parser(
        "targets", help="list the targets of a targets: configuration (--json for a CI matrix)"
    )
    _common(targets_cmd, top=False)

    hook = sub.add_parser("hook", help="install, uninstall or run the pre-push hook")
    hook.add_argument("action", choices=["install", "uninstall", "pre-push"])
    hook.add_argument(
        "--via-config",
        action="store_true",
        help="install: register as a config hook (git 2.54+) instead of a file",
    )
    hook.add_argument(
        "hook_args",
        nargs="*",
        metavar="ARG",
        help="for pre-push: the remote's name and URL, as git passes them",
    )
    _common(hook, top=False)

    absorb = sub.add_parser(
        "absorb", help="bring public contributions back into the source, on a branch to merge"
    )
    absorb.add_argument(
        "--no-pr", action="store_true", help="stop after writing (and pushing) the branch"
    )
    absorb_mode = absorb.add_mutually_exclusive_group()
    absorb_mode.add_argument(
        "--dry-run", action="store_true", help="replay and check everything; write no branch"
    )
    absorb_mode.add_argument(
        "--continue",
        dest="resume",
        action="store_true",
        help="go on after resolving the file a stopped absorb left",
    )
    absorb_mode.add_argument(
        "--abort", action="store_true", help="forget a stopped absorb; nothing was written"
    )
    _target_option(absorb, "absorb from")
    _common(absorb, top=False)

    preview = sub.add_parser(
        "preview",
        help="write the public tip sync would push into DIR (missing or empty; default: a new "
        "temporary folder, printed), to read, build and test; contacts no remote",
    )
    preview.add_argument("folder", nargs="?", metavar="DIR", help="where to write the tree")
    preview.add_argument(
        "--target",
        action="append",
        metavar="NAME",
        help="the target to preview, in a targets: configuration with more than one",
    )
    _common(preview, top=False)

    demo = sub.add_parser("demo", help="a self-contained run on throwaway local repositories")
    demo.add_argument("--keep", metavar="DIR", help="build the demo in DIR and keep it")
    _common(demo, top=False)
    return parser


def _say(stream: TextIO, text: str) -> None:
    # Subjects, names and git's own lines come from repositories: none of their control
    # characters may reach the terminal (paths are quoted before they get here).
    stream.write(printable(text) + "\n")


def _config(args: _Args, cwd: Path) -> config_mod.Config:
    named = args.config or config_value(cwd, "pubgate.config")
    if named:
        path = Path(named).expanduser()
        return config_mod.load(path if path.is_absolute() else cwd / path)
    return config_mod.load(config_mod.find(cwd, toplevel(cwd)))


def cmd_init(args: _Args, cwd: Path, out: TextIO, err: TextIO) -> int:
    path = cwd / (args.config or "pubgate.yaml")
    if path.exists() and not args.force:
        raise PubgateError(f"refusing to overwrite {path}", "pass --force to replace it")
    root = None
    if args.root:
        root = args.root.strip().strip("/")
        where = toplevel(cwd) or cwd
        if not root or not (where / root).is_dir():
            raise ConfigError(
                f"--root {args.root}: no such folder in {where}",
                "name a folder of the repository, relative to its top (libs/tracing/)",
            )
    path.write_text(config_mod.starter(root), encoding="utf-8")
    if args.json:
        _say(out, json.dumps({"written": str(path)}))
    elif not args.quiet:
        _say(err, f"wrote {path}: set target_repo and exclude, then run 'git pubgate plan'")
    return EXIT_OK


def _bump_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--bump",
        choices=BUMPS,
        help="how the release version moves this time (outranks version.bump and Release-As)",
    )


def _waiting(args: _Args, err: TextIO) -> Callable[[], None] | None:
    """What to say when another run holds the repository's lock (nothing with -q)."""
    if args.quiet:
        return None
    return lambda: _say(
        err, f"waiting for another git pubgate run on this repository (up to {WAIT_SECONDS:.0f} s)"
    )


def cmd_sync(args: _Args, cwd: Path, out: TextIO, err: TextIO, *, plan: bool) -> int:
    from .report import describe, outcome

    cfg = _config(args, cwd)
    if cfg.targets or args.target:
        return _sync_targets(args, cfg, cwd, out, err, plan=plan)
    report = _sync_one(args, cfg, cwd, err, plan=plan)
    if args.json:
        _say(out, json.dumps(report.to_json(), indent=2, sort_keys=True))
    elif args.quiet:
        for warning in report.warnings:  # a pattern that hides nothing is worth a line
            _say(err, f"warning: {warning}")
        if not plan:
            _say(err, outcome(report, plan=plan))
    else:
        for line in describe(report, plan=plan, verbose=args.verbose):
            _say(err, line)
    return EXIT_OK


def _sync_one(
    args: _Args,
    cfg: config_mod.Config,
    cwd: Path,
    err: TextIO,
    *,
    plan: bool,
    shared: SharedTrees | None = None,
) -> SyncReport:
    from .checks import CheckOutput
    from .progress import Progress
    from .report import describe
    from .sync import SyncOptions, run

    label = f"rewriting {cfg.name}" if cfg.name else "rewriting"
    progress = Progress(label, err, enabled=None if not args.quiet else False)
    shown = progress if progress.enabled else None

    def write(text: str) -> None:
        if progress.enabled:
            progress.passthrough(text)  # clears the status line first
        else:
            err.write(text)
            err.flush()

    options = SyncOptions(
        dry_run=bool(getattr(args, "dry_run", False)),
        no_pr=bool(getattr(args, "no_pr", False)),
        allow_divergence=bool(getattr(args, "allow_divergence", False)),
        push=not plan,
        init=bool(getattr(args, "init", False)),
        delete_excluded=bool(getattr(args, "delete_excluded", False)),
        bump=getattr(args, "bump", None),
        # -q: a check's output is shown only when it fails.
        check_output=CheckOutput(write, live=not args.quiet),
    )
    if options.bump is not None and cfg.version is None:
        raise ConfigError(
            "--bump needs releases, and the configuration has no version section",
            f"add 'version: {{bump: auto}}' to {cfg.path}",
        )
    try:
        with _http_client(cfg, options) as client:
            if options.init and not args.json:
                # --init skips the review gate: show exactly what goes public first.
                preview = run(
                    cfg,
                    cwd,
                    SyncOptions(push=False, allow_divergence=True, init=True),
                    shown,
                    on_lock_wait=_waiting(args, err),
                    trees=shared,
                )
                for line in describe(preview, plan=True, verbose=args.verbose):
                    _say(err, line)
            return run(
                cfg, cwd, options, shown, client, on_lock_wait=_waiting(args, err), trees=shared
            )
    finally:
        progress.close()


def _sync_targets(
    args: _Args, cfg: config_mod.Config, cwd: Path, out: TextIO, err: TextIO, *, plan: bool
) -> int:
    """Sync (or plan) each chosen target in turn; one summary line per target at the end."""
    from . import targets
    from .layout import path_map
    from .path_trees import SharedTrees
    from .report import describe, outcome

    chosen = targets.select(cfg, args.target)
    # Each source tree is read once, whatever the number of targets.
    shared = SharedTrees((path_map(t) for t in chosen), share_commits=len(chosen) > 1)

    def step(target: config_mod.Config) -> tuple[int, dict[str, Any] | None, str]:
        report = _sync_one(args, target, cwd, err, plan=plan, shared=shared)
        if not args.json and not args.quiet:
            _say(err, f"[{target.name}]")
            for line in describe(report, plan=plan, verbose=args.verbose):
                _say(err, f"  {line}")
        elif args.quiet:
            for warning in report.warnings:
                _say(err, f"warning: {target.name}: {warning}")
        return EXIT_OK, report.to_json(), outcome(report, plan=plan)

    return _summarise_targets(targets.run_each(chosen, step, err), args, out, err)


API_TIMEOUT = 30.0  # seconds a forge may keep us waiting for one response


@contextlib.contextmanager
def _http_client(cfg: config_mod.Config, options: SyncOptions) -> Iterator[httpx.Client | None]:
    """The run's one HTTP client, only when a forge or a GitHub App will be called: building
    one (its TLS context) is a noticeable share of an incremental sync's start-up."""
    from .forge import forge_kind, source_forge_kind

    opens = options.push and not options.dry_run and not options.no_pr
    wants_pr = opens and not options.init and forge_kind(cfg) != "none"
    # The leak review's pull request is on the source's forge, --init or not.
    wants_pr = wants_pr or (
        opens and cfg.leak_review is not None and source_forge_kind(cfg) != "none"
    )
    if not cfg.github_app_id and not wants_pr:
        yield None
        return
    import httpx

    with httpx.Client(timeout=httpx.Timeout(API_TIMEOUT), follow_redirects=False) as client:
        yield client


_OneTarget = Callable[[_Args, config_mod.Config, Path, TextIO, TextIO], int]


def _for_targets(  # noqa: PLR0917
    args: _Args,
    cwd: Path,
    out: TextIO,
    err: TextIO,
    one: _OneTarget,
    choose: Callable[[config_mod.Config], list[config_mod.Config]] | None = None,
) -> int:
    """Run the one-target command ``one`` on the configuration, or, when it has ``targets:``
    (or ``--target`` names one), on each chosen target (``choose``: which; by default the one
    ``--target`` names, or all)."""
    from . import targets

    cfg = _config(args, cwd)
    if not (cfg.targets or args.target):
        return one(args, cfg, cwd, out, err)
    chosen = choose(cfg) if choose is not None else targets.select(cfg, args.target)
    return _each_target(args, chosen, cwd, out, err, one)


def _each_target(  # noqa: PLR0917
    args: _Args,
    chosen: list[config_mod.Config],
    cwd: Path,
    out: TextIO,
    err: TextIO,
    one: _OneTarget,
) -> int:
    """Run a one-target command for each target; JSON objects are gathered into one."""
    from . import targets

    def step(target: config_mod.Config) -> tuple[int, dict[str, Any] | None, str]:
        if not args.json and not args.quiet:
            _say(err, f"[{target.name}]")
        captured = io.StringIO()
        code = one(args, target, cwd, captured, err)
        data = json.loads(captured.getvalue()) if args.json else None
        return code, data, "ok" if code == EXIT_OK else f"failed (exit {code})"

    return _summarise_targets(targets.run_each(chosen, step, err), args, out, err)


def _summarise_targets(outcomes: list[Outcome], args: _Args, out: TextIO, err: TextIO) -> int:
    """One line a target (or the JSON ``targets`` list), and the worst exit code."""
    from . import targets  # imported only with targets: start-up every other run skips

    if args.json:
        body = {"targets": [o.to_json() for o in outcomes]}
        _say(out, json.dumps(body, indent=2, sort_keys=True))
    else:
        for done in outcomes:
            _say(err, f"{done.name}: {done.summary}")
    return targets.worst(outcomes)


def cmd_publish(args: _Args, cwd: Path, out: TextIO, err: TextIO) -> int:
    from . import targets

    # A release is cut from a checkout: with --target, the target whose root holds it.
    return _for_targets(
        args,
        cwd,
        out,
        err,
        _publish_one,
        choose=lambda cfg: targets.for_checkout(cfg, cwd, args.target),
    )


def _publish_one(args: _Args, cfg: config_mod.Config, cwd: Path, out: TextIO, err: TextIO) -> int:
    import httpx

    from . import publish
    from .progress import Progress
    from .publish import PublishOptions

    progress = Progress("publishing", err, enabled=None if not args.quiet else False)
    options = PublishOptions(
        dry_run=args.dry_run,
        repository_url=args.repository_url,
        isolation=not args.no_isolation,
        live=progress.passthrough if progress.enabled else None,
    )
    with httpx.Client(timeout=httpx.Timeout(60.0)) as client:
        report = publish.run(cfg, cwd, options, client)
    if args.json:
        _say(out, json.dumps(report.to_json(), indent=2, sort_keys=True))
        return EXIT_OK
    where = report.repository_url
    if report.dry_run:
        state = "already on the index" if report.already_published else "not on the index yet"
        _say(
            err,
            f"dry run: built and checked {report.package} {report.version} ({state}); "
            "nothing uploaded or tagged",
        )
    elif report.already_published:
        _say(
            err,
            f"already published: {report.package} {report.version} is on {where} "
            "with the same files",
        )
    else:
        _say(
            err,
            f"uploaded {report.package} {report.version} to {where}: " + ", ".join(report.uploaded),
        )
    if report.tagged:
        _say(err, f"tagged {report.commit[:12]} {report.tag} and pushed the tag")
    return EXIT_OK


def cmd_audit(args: _Args, cwd: Path, out: TextIO, err: TextIO) -> int:
    return _for_targets(args, cwd, out, err, _audit_one)


def _audit_one(args: _Args, cfg: config_mod.Config, cwd: Path, out: TextIO, err: TextIO) -> int:
    import httpx

    from . import audit
    from .forge import resolve_token
    from .quoting import quote_path
    from .sync import target_remote
    from .wording import count
    from .workspace import locked_staging, open_source

    source = open_source(cfg, cwd)
    # Audit fetches into the staging repository, which a sync may be writing to at this moment.
    with (
        locked_staging(source, on_wait=_waiting(args, err)) as staging,
        httpx.Client(timeout=httpx.Timeout(30.0)) as client,
    ):
        remote = target_remote(cfg, staging, resolve_token(cfg, client))
        report = audit.run(cfg, source, staging, remote)
        if args.lfs:
            from .lfs_audit import check_report

            check_report(staging, remote, client, report)
    if args.json:
        _say(out, json.dumps(report.to_json(), indent=2, sort_keys=True))
    else:
        for commit, what in report.findings:
            _say(err, f"{commit[:12]}: {what}")
        for path in report.source_differences:
            _say(err, f"differs from the source's public tree: {quote_path(path)}")
        verdict = (
            "clean"
            if report.clean
            else (
                f"{count(len(report.findings), 'finding')}, "
                f"{count(len(report.source_differences), 'difference')}"
            )
        )
        checked = (
            f"; source checked at {report.source_checked[:12]}" if report.source_checked else ""
        )
        scope = f"{count(len(report.refs), 'ref')}, {count(report.commits, 'commit')}"
        _say(err, f"audit of {scope}: {verdict}{checked}")
    return EXIT_OK if report.clean else EXIT_FAILED


def cmd_hook(args: _Args, cwd: Path, out: TextIO, err: TextIO, stdin: TextIO) -> int:
    from . import hook_rules, hooks
    from .credentials import redacted  # git passes the remote's URL as configured, secrets too

    top = toplevel(cwd) or cwd
    if args.action == "install":
        where = hooks.install_via_config(top) if args.via_config else hooks.install(top)
        _say(err, f"installed {where}")
        try:
            cfg = _config(args, cwd)
        except config_mod.ConfigMissingError:
            _say(
                err,
                "no configuration here, so no rules were saved: the hook checks pushes once "
                "a sync or 'git pubgate hook install' in a checkout with pubgate.yaml saves them",
            )
            return EXIT_OK
        hook_rules.save(hook_rules.common_git_dir(top), cfg)
        return EXIT_OK
    if args.action == "uninstall":
        _say(err, f"removed the git-pubgate hook; {hooks.uninstall(top)} is as it was")
        return EXIT_OK
    if not args.hook_args and "PRE_COMMIT_REMOTE_URL" in os.environ:
        remote, url, refs = hooks.from_pre_commit(os.environ)
    elif len(args.hook_args) == 2:
        remote, url = args.hook_args
        refs = hooks.parse_pre_push(stdin.read())
    else:
        raise ConfigError("hook pre-push takes the remote's name and URL", "git passes them")
    rule_sets, problem = hook_rules.rules_for_hook(top, lambda: _config(args, cwd))
    if not hooks.applicable(top, url, rule_sets):
        return EXIT_OK  # not the public repository: never ours to block
    if problem is not None:
        _say(err, f"pubgate: {problem.message}; checking with the rules saved by the last sync")
    findings = hooks.check_push(top, remote, url, refs, rule_sets)
    for finding in findings:
        _say(err, f"pubgate: refusing to push {finding.commit[:12]}: {finding.what}")
    if findings:
        _say(
            err,
            f"pubgate: {redacted(url)} is the public repository and these must not reach it; "
            "use git pubgate sync, or 'git push --no-verify' for a deliberate exception",
        )
        return EXIT_FAILED
    return EXIT_OK


def cmd_absorb(args: _Args, cwd: Path, out: TextIO, err: TextIO) -> int:
    return _for_targets(args, cwd, out, err, _absorb_one)


def _absorb_one(args: _Args, cfg: config_mod.Config, cwd: Path, out: TextIO, err: TextIO) -> int:
    import httpx

    from . import absorb

    options = absorb.AbsorbOptions(
        dry_run=args.dry_run, no_pr=args.no_pr, resume=args.resume, abort=args.abort
    )
    with httpx.Client(timeout=httpx.Timeout(API_TIMEOUT), follow_redirects=False) as client:
        report = absorb.run(cfg, cwd, options, client, on_lock_wait=_waiting(args, err))
    if args.json:
        _say(out, json.dumps(report.to_json(), indent=2, sort_keys=True))
    elif args.quiet:
        _say(err, absorb.outcome(report))
    else:
        for line in absorb.describe(report):
            _say(err, line)
    return EXIT_OK


def cmd_targets(args: _Args, cwd: Path, out: TextIO, err: TextIO) -> int:
    from . import targets

    cfg = _config(args, cwd)
    if not cfg.targets:
        raise ConfigError(
            f"{cfg.path} has no targets",
            "a targets: section names each public repository; see 'Monorepos' in the README",
        )
    if args.json:
        _say(out, json.dumps(targets.listing(cfg), indent=2, sort_keys=True))
    else:
        for target in cfg.targets:
            _say(out, str(target.name))
    return EXIT_OK


def cmd_preview(args: _Args, cwd: Path, out: TextIO, err: TextIO) -> int:
    from . import preview, targets
    from .quoting import quote_path

    cfg = _config(args, cwd)
    chosen = targets.select(cfg, args.target)
    if len(chosen) != 1:
        raise ConfigError(
            "preview writes one target's tree at a time",
            "name it with --target NAME; the targets are: "
            + ", ".join(str(t.name) for t in chosen),
        )
    folder = cwd / Path(args.folder).expanduser() if args.folder else None
    report = preview.run(chosen[0], cwd, folder, on_lock_wait=_waiting(args, err))
    if args.json:
        _say(out, json.dumps(report.to_json(), indent=2, sort_keys=True))
        return EXIT_OK
    if not args.quiet:
        for refusal in report.would_refuse:
            _say(err, f"warning: sync would refuse: {refusal.reason}")
        if not report.branches_known:
            _say(
                err,
                "no branch of the target is known here (it was empty, or never read), so "
                "this is a first publication; preview contacts no remote: 'git pubgate plan' "
                "reads the target",
            )
        state = "not public yet"
        if report.up_to_date:
            state = f"{report.review_branch} already holds it"
        release = f", release {report.release}" if report.release else ""
        _say(
            err,
            f"public tip {report.head[:12]} of {report.source_branch} at "
            f"{report.source_tip[:12]} ({state}{release}): {report.entries} entries written",
        )
    _say(out, quote_path(report.directory))
    return EXIT_OK


def cmd_demo(args: _Args, cwd: Path, out: TextIO, err: TextIO) -> int:
    from .demo import run_demo

    keep = Path(args.keep) if args.keep else None
    return run_demo(out, err, as_json=args.json, keep=cwd / keep if keep else None)


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``git pubgate`` with ``argv`` (default: the process's) and return the exit code;
    the console scripts go through ``entry.main``, which also exits with it."""
    code = _main(list(sys.argv[1:] if argv is None else argv), sys.stdout, sys.stderr)
    if argv is None:
        sys.exit(code)
    return code


def run_console(argv: list[str], interrupted: Callable[[], bool]) -> int:
    """``entry.main``'s run: ``interrupted`` tells whether SIGINT has arrived, so a git child
    that the same Ctrl-C killed is reported as the interruption it is, not as its failure."""
    return _main(argv, sys.stdout, sys.stderr, interrupted=interrupted)


def _caused_by_interrupt(error: BaseException) -> bool:
    """Whether a KeyboardInterrupt stands anywhere in the chain of causes behind ``error``."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if isinstance(current, KeyboardInterrupt):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


INTERRUPTED = ("interrupted", "rerun the same command; every step is safe to repeat")


def wants_json(argv: Sequence[str]) -> bool:
    """Whether ``--json`` was asked for, read from the raw arguments (for failures that come
    before or during parsing)."""
    options = argv[: list(argv).index("--")] if "--" in argv else argv
    return "--json" in options


def fail(
    out: TextIO, err: TextIO, *, as_json: bool, message: str, hint: str | None, code: int
) -> int:
    """Report a failure: ``error:`` and ``hint:`` lines on stderr and, with ``--json``, the
    same as one JSON object on stdout, so a script reading stdout learns why."""
    hint = hint or "see 'git pubgate -h' and the man page (git help pubgate)"
    _say(err, f"error: {message}")
    _say(err, f"hint: {hint}")
    if as_json:
        _say(out, json.dumps({"error": message, "hint": hint, "exit_code": code}))
    return code


def _hang_up(*streams: TextIO) -> None:
    """Point streams whose reader went away at /dev/null, so the flush at exit cannot fail."""
    for stream in streams:
        with contextlib.suppress(OSError, ValueError):  # ValueError: no file descriptor
            fd = stream.fileno()
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, fd)
            os.close(null)


def _main(
    argv: list[str],
    out: TextIO,
    err: TextIO,
    *,
    interrupted: Callable[[], bool] = lambda: False,
) -> int:
    as_json = wants_json(argv)
    try:
        args = build_parser().parse_args(argv, namespace=_Args())
        as_json = bool(args.json)
        if args.command not in ("hook", "init"):  # the hook's start-up is paid on every push
            from .libgit2_limits import bound_memory

            bound_memory()
        cwd = Path(args.directory).resolve() if args.directory else Path.cwd()
        quoting.read_setting_in(cwd)  # core.quotePath, as git would print this repository's
        if args.directory and not cwd.is_dir():
            raise ConfigError(
                f"-C {args.directory}: no such directory", "give -C an existing directory"
            )
        if args.command is None:
            build_parser().print_help(err)
            return EXIT_USAGE
        if args.command == "init":
            return cmd_init(args, cwd, out, err)
        if args.command == "audit":
            return cmd_audit(args, cwd, out, err)
        if args.command == "hook":
            return cmd_hook(args, cwd, out, err, sys.stdin)
        if args.command == "absorb":
            return cmd_absorb(args, cwd, out, err)
        if args.command == "publish":
            return cmd_publish(args, cwd, out, err)
        if args.command == "targets":
            return cmd_targets(args, cwd, out, err)
        if args.command in ("plan", "sync"):
            return cmd_sync(args, cwd, out, err, plan=args.command == "plan")
        if args.command == "preview":
            return cmd_preview(args, cwd, out, err)
        return cmd_demo(args, cwd, out, err)
    except PubgateError as e:
        if interrupted():  # a git child the same Ctrl-C killed: not its failure
            message, stopped = INTERRUPTED
            return fail(
                out, err, as_json=as_json, message=message, hint=stopped, code=EXIT_INTERRUPTED
            )
        return fail(out, err, as_json=as_json, message=e.message, hint=e.hint, code=e.exit_code)
    except BrokenPipeError:
        # Whoever read the output stopped reading (| head): no bug, and nobody left to tell.
        _hang_up(out, err)
        return EXIT_FAILED
    except KeyboardInterrupt:
        message, hint = INTERRUPTED
        return fail(out, err, as_json=as_json, message=message, hint=hint, code=EXIT_INTERRUPTED)
    except Exception as e:
        if interrupted() or _caused_by_interrupt(e):
            # Python sometimes wraps the KeyboardInterrupt: raised inside a class body's
            # __set_name__ during a lazy import it becomes a RuntimeError. Still Ctrl-C.
            message, hint = INTERRUPTED
            return fail(
                out, err, as_json=as_json, message=message, hint=hint, code=EXIT_INTERRUPTED
            )
        traceback.print_exc(file=err)
        return fail(
            out,
            err,
            as_json=as_json,
            message="internal error in git-pubgate (a bug)",
            hint="please report it with the traceback above",
            code=EXIT_BUG,
        )
