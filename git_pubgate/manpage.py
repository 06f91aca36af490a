"""Generate ``man/git-pubgate.1`` from the code: the argument parser and the config keys.

``python -m git_pubgate.manpage > man/git-pubgate.1``; a test fails when the committed page
and the generated one differ, so the page cannot drift from what the code accepts.
"""

from __future__ import annotations

import argparse

from . import __version__
from .cli import build_parser
from .config import DESCRIPTIONS, known_keys
from .forge.kinds import KINDS

_FORGES_INTRO = (
    "Where sync opens its pull request (and absorb its internal one): the value of forge "
    "(source_forge), else recognised from the repository URL. Each forge takes its own token "
    "variable, else github_token_env; a Bitbucket token may be USER:TOKEN. pr.labels or "
    "pr.reviewers the forge cannot take are an error when the configuration loads."
)


def _escape(text: str) -> str:
    text = text.replace("\\", "\\e").replace("-", "\\-")
    return "\n".join(
        ("\\&" + line) if line.startswith((".", "'")) else line for line in text.splitlines()
    )


def _options(parser: argparse.ArgumentParser) -> list[str]:
    lines = []
    for action in parser._actions:
        if not action.option_strings or action.help == argparse.SUPPRESS or action.dest == "help":
            continue
        names = ", ".join(f"\\fB{_escape(o)}\\fR" for o in action.option_strings)
        if action.metavar:
            names += f" \\fI{_escape(str(action.metavar))}\\fR"
        lines += [".TP", names, _escape(action.help or "")]
    return lines


def render() -> str:
    parser = build_parser()
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    helps = {choice.dest: choice.help for choice in subparsers._choices_actions}
    out = [
        f'.TH GIT\\-PUBGATE 1 "" "git-pubgate {__version__}" "Git Manual"',
        ".SH NAME",
        "git\\-pubgate \\- publish an internal git repository through a review gate",
        ".SH SYNOPSIS",
        ".B git pubgate",
        "[\\fB\\-C\\fR \\fIDIR\\fR] [\\fB\\-\\-config\\fR \\fIFILE\\fR] "
        "[\\fB\\-v\\fR|\\fB\\-q\\fR] [\\fB\\-\\-json\\fR] \\fICOMMAND\\fR [\\fIOPTIONS\\fR]",
        ".SH DESCRIPTION",
        _escape(
            "git pubgate rewrites the history of an internal branch straight from the object "
            "database, leaving out every path that matches the exclude rules, keeping authors, "
            "dates and messages, and pruning commits that become empty. It pushes the result "
            "to a head branch of the public repository and opens (or updates) a pull request "
            "into the review branch: nothing reaches the public branch without review. Each "
            "public commit names its source in a trailer, so each run rewrites only what is new."
        ),
        ".PP",
        _escape(
            "Inside published files, lines from a BEGIN-INTERNAL marker line to an END-INTERNAL "
            "one are removed (a malformed marker stops the sync), replace rules are applied, "
            "and every newly published file is scanned for secrets: a finding stops the sync "
            "and prints a fingerprint for secrets.allow, never the secret. The usual secret "
            "files (*.pem, *.key, id_rsa*, .env, ...) and the configuration file are held back "
            "by default."
        ),
        ".SH GLOBAL OPTIONS",
        *_options(parser),
        ".SH COMMANDS",
    ]
    for name, sub in subparsers.choices.items():
        out += [".SS " + name, _escape(helps.get(name) or "")]
        out += _options(sub)
    out += [
        ".SH CONFIGURATION",
        _escape(
            "pubgate.yaml (or pubgate.yml) in the directory git pubgate runs in or at "
            "the repository root, else a [tool.pubgate] table in pyproject.toml; "
            "--config FILE, or the git setting pubgate.config, names another. Unknown "
            "keys are errors."
        ),
    ]
    for key in known_keys():
        out += [".TP", f"\\fB{_escape(key)}\\fR", _escape(DESCRIPTIONS[key])]
    out += [".SH FORGES", _escape(_FORGES_INTRO)]
    for kind in KINDS:
        out += [
            ".TP",
            f"\\fB{_escape(kind.name)}\\fR",
            _escape(
                f"{kind.title}. Recognised from {kind.recognised}. Token: {kind.token}. "
                f"API: {kind.api}. Pull request options: {kind.options}."
            ),
        ]
    out += [
        ".SH EXIT STATUS",
        ".TP",
        "0",
        "Done.",
        ".TP",
        "1",
        "Refused or failed (a rejected push, divergence, an API error).",
        ".TP",
        "2",
        "Usage or configuration error.",
        ".TP",
        "3",
        "Internal error: a bug; the traceback is printed.",
        ".TP",
        "130",
        "Interrupted. Every step is safe to rerun.",
        ".SH FILES",
        # _escape: a line that starts with '.' would be read as a roff request.
        ".TP",
        _escape(".git/pubgate/public.git"),
        _escape(
            "Private staging repository holding the rewritten objects; it borrows the "
            "source's objects and never changes the source's refs or work tree."
        ),
        ".TP",
        _escape(".git/pubgate/cache/"),
        _escape("Where the last run stopped, so the next pays only for what is new."),
        ".TP",
        "\\&.git/pubgate/targets/\\fINAME\\fR/",  # \\& as _escape gives: '.' starts a request
        _escape(
            "With targets: each target's own lock, staging repository and cache, so targets "
            "never wait for or read one another's state (cache it per target in CI)."
        ),
        ".TP",
        _escape(".git/pubgate/checks-passed"),
        _escape(
            "Digests of check_commands runs that passed (public tip, commands, environment): "
            "a rerun on the same tree does not run them again. Delete it to force a rerun."
        ),
        ".TP",
        _escape(".git/pubgate/delete-excluded.json"),
        _escape(
            "Public paths that sync --delete-excluded agreed to delete: later runs go on deleting "
            "them without the option until the pull request that deletes them is merged."
        ),
        ".TP",
        _escape(".git/pubgate/hook-rules.json"),
        _escape(
            "The rules of each target, saved by hook install and refreshed by every plan and "
            "sync: the pre-push hook checks with them where the checkout has no configuration."
        ),
        ".SH EXAMPLES",
        ".nf",
        "git pubgate init",
        "git pubgate plan",
        "git pubgate sync",
        "git pubgate preview /tmp/public\\-tree",
        "git pubgate \\-\\-json sync \\-\\-no\\-pr",
        "pubgate \\-\\-config pubgate.yaml sync",
        ".fi",
        ".SH SEE ALSO",
        "\\fBgit\\-filter\\-repo\\fR(1), \\fBgit\\-push\\fR(1)",
    ]
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    print(render(), end="")
