"""The pre-push hook: refuse pushes to the public remote that carry what must not leave.

Protects against what bypasses sync: someone pushing the internal branch, or a hand-made
commit, straight to the public remote. Parsing git's protocol is pure; the checks read the
commits the remote lacks: each one's message, its people, and the files it adds against every
one of its parents (``added_files``: a merge can bring in a path that no diff against its
first parent shows). What a parent already on the remote holds is not checked again: this
push does not publish it, and ``git pubgate audit`` is the check of what is already public.
"""

from __future__ import annotations

import re
import stat
import subprocess
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from .added_files import Added, added_files
from .authors import IdentityError, People
from .catfile import CatFile
from .config import is_local
from .errors import ConfigError, PubgateError
from .gitio import config_value
from .hook_rules import HookRules
from .messages import MessagePolicy
from .policy import build as build_policy
from .public_check import ContentCheck
from .quoting import quote_path
from .rules import Rules
from .urls import same_repository

MARKER = "# installed by git-pubgate"


@dataclass(frozen=True)
class PushedRef:
    local_ref: str
    local_oid: str
    remote_ref: str
    remote_oid: str

    @property
    def deletes(self) -> bool:
        return _is_zero(self.local_oid)


def _is_zero(oid: str) -> bool:
    return bool(oid) and set(oid) == {"0"}


def parse_pre_push(stdin: str) -> list[PushedRef]:
    """git's pre-push stdin: ``<local ref> SP <local oid> SP <remote ref> SP <remote oid>``.

    Split from the right (refs may hold spaces; ids never do); ``(delete)`` and all-zeros ids
    (40 or 64 characters) mark deletions and new refs.
    """
    refs = []
    for number, line in enumerate(stdin.splitlines(), 1):
        if not line.strip():
            continue
        parts = line.rsplit(" ", 3)
        if len(parts) != 4 or not all(
            re.fullmatch(r"[0-9a-f]{40}|[0-9a-f]{64}", p) for p in (parts[1], parts[3])
        ):
            raise ConfigError(
                f"pre-push input line {number} is not '<ref> <id> <ref> <id>'",
                "this hook is meant to be run by git push",
            )
        refs.append(PushedRef(*parts))
    return refs


def from_pre_commit(env: Mapping[str, str]) -> tuple[str, str, list[PushedRef]]:
    """The push as pre-commit describes it (``stages: [pre-push]``): its PRE_COMMIT_* variables
    carry one ref, the first with new commits."""
    url = env["PRE_COMMIT_REMOTE_URL"]
    remote = env.get("PRE_COMMIT_REMOTE_NAME") or url
    to_ref = env.get("PRE_COMMIT_TO_REF", "")
    from_ref = env.get("PRE_COMMIT_FROM_REF") or "0" * len(to_ref or "0" * 40)
    if not to_ref:
        return remote, url, []
    local = env.get("PRE_COMMIT_LOCAL_BRANCH") or "HEAD"
    return (
        remote,
        url,
        [PushedRef(local, to_ref, env.get("PRE_COMMIT_REMOTE_BRANCH", ""), from_ref)],
    )


def is_target(url: str, target: str) -> bool:
    """Whether a push URL is the public repository: both local and the same directory, or two
    spellings of one remote repository (see ``urls``)."""
    if is_local(url) or is_local(target):
        if not (is_local(url) and is_local(target)):
            return False
        return (
            Path(url.removeprefix("file://")).resolve()
            == Path(target.removeprefix("file://")).resolve()
        )
    return same_repository(url, target)


def _expanded(repo_dir: Path, location: str) -> str:
    """``location`` after the repository's ``url.<base>.insteadOf`` rewrites, as git pushes to
    it (git hands the hook the rewritten URL)."""
    done = subprocess.run(
        ["git", "ls-remote", "--get-url", "--end-of-options", location],
        cwd=repo_dir,
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.strip() if done.returncode == 0 and done.stdout.strip() else location


@dataclass(frozen=True)
class Finding:
    commit: str
    what: str


def applicable(repo_dir: Path, url: str, rule_sets: Iterable[HookRules]) -> list[HookRules]:
    """The rule sets whose target the push goes to (none: the push is not ours to check)."""
    return [
        r
        for r in rule_sets
        if is_target(url, r.target) or is_target(url, _expanded(repo_dir, r.target))
    ]


def check_push(
    repo_dir: Path, remote: str, url: str, refs: Iterable[PushedRef], rule_sets: Iterable[HookRules]
) -> list[Finding]:
    """What the pushed commits would publish that any rule set of the push's target forbids
    (empty: the push may go). A push to any other remote is never checked."""
    chosen = applicable(repo_dir, url, rule_sets)
    if not chosen:
        return []
    with CatFile(repo_dir) as objects:
        return _check(repo_dir, objects, chosen, pushed_range(repo_dir, remote, url, refs))


def _check(
    repo_dir: Path, objects: CatFile, chosen: list[HookRules], revisions: list[str]
) -> list[Finding]:
    """The findings of every rule set in ``chosen`` on the commits ``revisions`` name."""
    checks = []
    for r in chosen:
        contents = None
        rules = Rules.compile(r.exclude, r.include)
        if r.config is not None:  # the checkout's configuration: its content checks too
            policy = build_policy(r.config, _WorkTree(f"{repo_dir}/"))
            rules, contents = policy.rules, ContentCheck(objects.read, policy)
        messages = MessagePolicy.compile(forbid=r.forbid, defaults=False)
        checks.append((rules, messages, People.compile({}, r.fail_on), contents))
    findings: dict[tuple[str, str], None] = {}  # ordered, without repeats across rule sets
    # Per rule set, per added file: a file that several pushed commits add is checked once.
    verdicts: list[dict[Added, list[str]]] = [{} for _ in checks]
    for commit, tree, parents, who, message in _commits(repo_dir, revisions):
        # Not skipped when an earlier commit had the same tree: only its additions were
        # checked there, and this commit may be the one that added the rest.
        added = _added(objects, tree, parents)
        for (rules, messages, people, contents), verdict in zip(checks, verdicts, strict=True):
            rule = messages.violation(message)
            if rule is not None:
                findings[commit, f"message matches forbid rule {rule!r}"] = None
            for identity in who:
                name, _, email = identity.rpartition(" <")
                try:
                    people.identity(name, email.rstrip(">"))
                except IdentityError as e:
                    findings[commit, f"{e.who} is in the internal domain {e.domain}"] = None
            for entry in added:
                if entry not in verdict:
                    verdict[entry] = _file_findings(entry, rules, contents)
                for what in verdict[entry]:
                    findings[commit, what] = None
    return [Finding(commit, what) for commit, what in findings]


def _added(objects: CatFile, tree: str, parents: list[str]) -> list[Added]:
    """The files ``tree`` adds against the trees of ``parents`` (a parent this repository lacks,
    as past a shallow boundary, counts as absent: everything it would have held is checked)."""
    parent_trees = [t for t in map(objects.commit_tree, parents) if t is not None]
    return sorted(added_files(objects.read, bytes.fromhex(tree), parent_trees))


@dataclass(frozen=True)
class _WorkTree:
    """The checkout, as the policy asks for it (see ``policy.WorkTree``)."""

    workdir: str


def _file_findings(entry: Added, rules: Rules, contents: ContentCheck | None) -> list[str]:
    """What one added file breaks: an exclude rule, and the content checks sync makes on what
    it publishes (sections, secrets, credentials), both, as for a file sync would publish."""
    path, mode, blob = entry
    why = rules.why_excluded(path)
    found = [] if why is None else [f"excluded path {quote_path(path)} ({why})"]
    return found + (contents.file(path, mode, blob) if contents is not None else [])


def _tracking_remotes(repo_dir: Path, remote: str, url: str) -> list[str]:
    """Names of the remotes that are the push's repository: ``remote`` itself when git gave a
    name, and any other remote whose URL is the same repository."""
    names = [] if remote == url else [remote]
    done = subprocess.run(
        ["git", "config", "-z", "--get-regexp", r"^remote\..*\.(url|pushurl)$"],
        cwd=repo_dir,
        capture_output=True,
        check=False,
    )
    for record in done.stdout.split(b"\x00"):
        key, _, value = record.decode("utf-8", "surrogateescape").partition("\n")
        name = key[len("remote.") :].rpartition(".")[0]
        if name and name not in names and is_target(value, url):
            names.append(name)
    return names


def _advertised(repo_dir: Path, url: str) -> list[str]:
    """Every id the remote advertises (for a push to a bare URL that no remote tracks); empty
    when it cannot be read, which only makes the check longer."""
    done = subprocess.run(
        ["git", "ls-remote", "--end-of-options", url],
        cwd=repo_dir,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    if done.returncode != 0:
        return []
    return sorted({line.split("\t", 1)[0] for line in done.stdout.splitlines() if line})


def pushed_range(repo_dir: Path, remote: str, url: str, refs: Iterable[PushedRef]) -> list[str]:
    """``git rev-list`` arguments naming exactly the commits the push adds to the remote: the
    new tips, not what the remote is known to have (the pushed refs' old values and its
    remote-tracking branches, or what it advertises when no remote tracks it).

    ``--not`` matters: without it, ``--remotes=<name>`` would add the remote's whole history
    to the check instead of taking it away.
    """
    tips = [r.local_oid for r in refs if not r.deletes]
    if not tips:
        return []
    known = [r.remote_oid for r in refs if not _is_zero(r.remote_oid)]
    tracking = _tracking_remotes(repo_dir, remote, url)
    if not tracking:
        known += _advertised(repo_dir, url)
    return [*tips, "--not", *known, *(f"--remotes={name}" for name in tracking)]


def _commits(
    repo_dir: Path, revisions: list[str]
) -> Iterable[tuple[str, str, list[str], list[str], bytes]]:
    """Each commit of ``revisions``: id, tree, parents, people and message."""
    if not revisions:
        return
    fmt = "%H%x00%T%x00%P%x00%an <%ae>%x00%cn <%ce>%x00%B%x00%x01"
    # --ignore-missing: an old value the remote has but this repository never fetched.
    done = subprocess.run(
        ["git", "log", "-z", "--ignore-missing", f"--format={fmt}", *revisions, "--"],
        cwd=repo_dir,
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        raise PubgateError(
            f"cannot list the commits being pushed: {done.stderr.decode().strip()}",
            "is the repository intact? (git fsck)",
        )
    for record in done.stdout.split(b"\x00\x01"):
        fields = record.lstrip(b"\x00\n").split(b"\x00")
        if len(fields) < 6:
            continue
        commit, tree, parents, author, committer, message = fields[:6]
        who = [author.decode("utf-8", "replace"), committer.decode("utf-8", "replace")]
        for match in re.finditer(rb"^Co-authored-by:[ \t]*(.*<[^<>]*>)", message, re.M | re.I):
            who.append(match.group(1).decode("utf-8", "replace"))
        yield commit.decode(), tree.decode(), parents.decode().split(), who, message


def hooks_dir(repo_dir: Path) -> Path:
    hooks_path = config_value(repo_dir, "core.hooksPath")
    if hooks_path:
        raise PubgateError(
            f"refusing to install, since core.hooksPath points at {hooks_path}, which other "
            "tools manage",
            f"add this line to {hooks_path}/pre-push: "
            f'"{sys.executable}" -m git_pubgate hook pre-push "$@"',
        )
    out = subprocess.run(
        ["git", "rev-parse", "--git-path", "hooks"],
        cwd=repo_dir,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    return (repo_dir / out).resolve()


def _script() -> str:
    # Without a legacy hook, the check replaces the shell (no temporary file, no helpers):
    # this runs on every push, and each helper process costs.
    return f"""#!/bin/sh
{MARKER}: checks pushes to the public repository (git push --no-verify skips it).
# A hook that was here before is kept as pre-push.legacy and runs after the check, with the
# same input, only when the check lets the push through: git-lfs's hook uploads the pushed
# commits' large files, which must not happen for a push that is refused.
case "$0" in */*) legacy="${{0%/*}}/pre-push.legacy" ;; *) legacy=./pre-push.legacy ;; esac
if [ ! -x "$legacy" ]; then
    exec "{sys.executable}" -m git_pubgate hook pre-push "$@"
fi
input=$(mktemp) || exit 1
trap 'rm -f "$input"' EXIT
cat > "$input"
"{sys.executable}" -m git_pubgate hook pre-push "$@" < "$input" || exit $?
"$legacy" "$@" < "$input"
"""


CONFIG_HOOKS_SINCE = (2, 54)


def git_version() -> tuple[int, int]:
    out = subprocess.run(["git", "version"], capture_output=True, text=True, check=True).stdout
    match = re.search(r"(\d+)\.(\d+)", out)
    return (int(match.group(1)), int(match.group(2))) if match else (0, 0)


def install_via_config(repo_dir: Path) -> str:
    """Register the check as a config hook (git 2.54+: hook.<name>.command/event), which
    leaves the hooks directory and core.hooksPath alone."""
    version = git_version()
    if version < CONFIG_HOOKS_SINCE:
        raise PubgateError(
            f"git {version[0]}.{version[1]} has no config hooks (they came in git 2.54)",
            "run 'git pubgate hook install' without --via-config",
        )
    command = f'"{sys.executable}" -m git_pubgate hook pre-push'
    for key, value in (("hook.pubgate.command", command), ("hook.pubgate.event", "pre-push")):
        subprocess.run(["git", "config", key, value], cwd=repo_dir, check=True)
    return "hook.pubgate in the repository's git config"


def install(repo_dir: Path) -> str:
    directory = hooks_dir(repo_dir)
    directory.mkdir(parents=True, exist_ok=True)
    hook = directory / "pre-push"
    if hook.exists() and MARKER not in hook.read_text(errors="replace"):
        legacy = directory / "pre-push.legacy"
        if legacy.exists():
            raise PubgateError(
                f"refusing to install, since {legacy} already exists",
                "merge the two hooks by hand, then rerun",
            )
        hook.rename(legacy)
    hook.write_text(_script())
    hook.chmod(hook.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return str(hook)


def uninstall(repo_dir: Path) -> str:
    directory = hooks_dir(repo_dir)
    hook = directory / "pre-push"
    if not hook.exists() or MARKER not in hook.read_text(errors="replace"):
        raise PubgateError(f"no git-pubgate hook at {hook}", "nothing to uninstall")
    hook.unlink()
    legacy = directory / "pre-push.legacy"
    if legacy.exists():
        legacy.rename(hook)
    return str(hook)
