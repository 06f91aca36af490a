"""``git pubgate audit``: check what the public repository holds against the rules and the source.

Walks every commit that any ref the target advertises can reach (branches, tags, pull request
refs, notes: whatever anyone can fetch), and reports each commit that holds an excluded path, a
gitlink, a symlink into an excluded path or out of the repository, a message a ``forbid`` rule
matches, or an identity of a ``fail_on`` domain. Then rebuilds the public tree of the last
synced source commit and compares it with the public commit that holds it (ShipIt's "verify").
Subtrees are checked once per id and place.
"""

from __future__ import annotations

import dataclasses
import posixpath
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pygit2
from pygit2.enums import SortMode

from . import keep_public, partial_fetch
from .authors import IdentityError, People
from .config import Config
from .content import ContentPolicy
from .gitio import Remote
from .keep_public import Overlay
from .layout import chain, public_layout
from .messages import MessagePolicy
from .objects import EMPTY_TREE, PackWriter, is_gitlink_mode, is_symlink_mode, parse_tree
from .policy import build as build_policy
from .public_check import ContentCheck
from .quoting import quote_path
from .release import Owned
from .rewrite import Rewriter
from .rules import Rules
from .state import locate, read_synced
from .workspace import Source

AUDIT_NS = "refs/pubgate/audit/"


@dataclass
class AuditReport:
    refs: list[str] = field(default_factory=list)
    commits: int = 0
    findings: list[tuple[str, str]] = field(default_factory=list)  # (commit, what)
    source_checked: str | None = None
    source_differences: list[str] = field(default_factory=list)
    lfs: dict[str, Any] | None = None  # --lfs: pointers, objects, missing (see lfs_audit)
    tips: dict[str, str] = field(default_factory=dict)  # ref -> what it marks (not in JSON)

    @property
    def clean(self) -> bool:
        return not self.findings and not self.source_differences

    def to_json(self) -> dict[str, Any]:
        return {
            "refs": self.refs,
            "commits": self.commits,
            "clean": self.clean,
            "findings": [{"commit": c, "finding": w} for c, w in self.findings],
            "source_checked": self.source_checked,
            "source_differences": self.source_differences,
            "lfs": self.lfs,
        }


def run(config: Config, source: Source, staging: pygit2.Repository, remote: Remote) -> AuditReport:
    report = AuditReport()
    # Audit reads every public tree and file: a staging repository that has only the commits
    # of the target's history (partial_fetch) gets the rest first.
    partial_fetch.make_whole(staging, remote)
    tips = report.tips = _fetch_all(staging, remote)
    report.refs = sorted(tips)
    policy = build_policy(config, source.repo)
    rules = policy.rules
    contents = ContentCheck(lambda oid: bytes(staging.odb.read(pygit2.Oid(raw=oid))[1]), policy)
    messages = MessagePolicy.compile(forbid=config.forbid, defaults=False)
    people = People.compile({}, config.authors_fail_on)
    # keep_public paths are public by the user's decision: not a finding, not a difference.
    keep = Rules.compile(config.keep_public) if config.keep_public else None
    trees = _TreeAudit(staging, rules, keep)
    walker = staging.walk(None, SortMode.TOPOLOGICAL)
    for tip in set(tips.values()):
        marked = staging[tip]
        if isinstance(marked, pygit2.Commit):
            walker.push(tip)
        elif isinstance(marked, pygit2.Tree):  # a tag on a tree publishes the tree
            report.findings += [(tip, what) for what in trees.check(marked.id.raw)]
    for commit in walker:
        report.commits += 1
        oid = str(commit.id)
        rule = messages.violation(commit.raw_message)
        if rule is not None:
            report.findings.append((oid, f"message matches forbid rule {rule!r}"))
        for who in (commit.author, commit.committer):
            try:
                people.identity(who.name, who.email)
            except IdentityError as e:
                report.findings.append((oid, f"{e.who} is in the internal domain {e.domain}"))
        report.findings += [(oid, what) for what in trees.check(commit.tree_id.raw)]
        report.findings += [(oid, what) for what in contents.tree(commit.tree_id.raw)]
    review_tip = tips.get(f"heads/{config.review_branch}")
    if review_tip and config.trailer:
        # Sections and replacements re-applied: the public tree must be exactly their result.
        content = dataclasses.replace(policy.content, scanner=None) if policy.content else None
        checked, differences = _compare_with_source(
            config, source, staging, review_tip, rules, keep, content=content
        )
        report.source_checked, report.source_differences = checked, differences
    return report


def _fetch_all(staging: pygit2.Repository, remote: Remote) -> dict[str, str]:
    """Fetch every ref the target advertises; ref name (without ``refs/``) -> the commit it
    marks. Not only the branches sync writes: a branch pushed by hand with --no-verify, a pull
    request's head or a note is just as public."""
    refs = {ref.removeprefix("refs/"): oid for ref, oid in remote.advertised().items()}
    wanted = [f"+refs/{name}:{AUDIT_NS}{name}" for name in refs if refs[name] not in staging]
    partial_fetch.fetch(staging, remote, wanted)
    tips = {}
    for name, oid in refs.items():
        target = staging[oid]
        while isinstance(target, pygit2.Tag):
            target = staging[target.target]
        tips[name] = str(target.id)  # a commit, or a tree or blob that a tag marks
    return tips


class _TreeAudit:
    def __init__(self, repo: pygit2.Repository, rules: Rules, keep: Rules | None = None):
        self._odb = repo.odb
        self._rules = rules
        self._keep = keep
        self._memo: dict[tuple[bytes, bytes], list[str]] = {}

    def check(self, root: bytes) -> list[str]:
        """Findings for a whole tree; a subtree already seen at the same place costs nothing."""
        found: list[str] = []
        stack = [(root, b"")]
        while stack:
            oid, prefix = stack.pop()
            key = (oid, prefix)
            if key in self._memo:
                found += self._memo[key]
                continue
            here: list[str] = []
            # git synthesises the empty tree: it need not be stored to be referenced.
            data = b"" if oid == EMPTY_TREE else self._odb.read(pygit2.Oid(raw=oid))[1]
            for mode, name, child, _, is_tree in parse_tree(data, 0, len(data)) or []:
                path = prefix + name
                shown = quote_path(path)
                if is_tree:
                    stack.append((child, path + b"/"))
                    continue
                if not self._rules.is_public(path) and (
                    self._keep is None or self._keep.is_public(path)
                ):
                    here.append(f"excluded path {shown}")
                if is_gitlink_mode(mode):
                    here.append(f"gitlink (submodule) at {shown}")
                elif is_symlink_mode(mode):
                    here += self._symlink(path, child, shown)
            self._memo[key] = here
            found += here
        return found

    def _symlink(self, path: bytes, blob: bytes, shown: str) -> list[str]:
        target = self._odb.read(pygit2.Oid(raw=blob))[1]
        if target.startswith(b"/"):
            return [f"symlink {shown} points out of the repository"]
        resolved = posixpath.normpath(posixpath.join(posixpath.dirname(path), target))
        if resolved == b".." or resolved.startswith(b"../"):
            return [f"symlink {shown} points out of the repository"]
        if not self._rules.is_public(resolved) or not self._rules.is_public(resolved + b"/x"):
            return [f"symlink {shown} points into excluded path {quote_path(resolved)}"]
        return []


def _compare_with_source(  # noqa: PLR0917
    config: Config,
    source: Source,
    staging: pygit2.Repository,
    review_tip: str,
    rules: Rules,
    keep: Rules | None = None,
    *,
    content: ContentPolicy | None = None,
) -> tuple[str | None, list[str]]:
    """The public tree of the last synced source commit against the commit that holds it."""
    state = locate(staging, source.tip, read_synced(staging, review_tip, config.trailer or ""))
    if state.last_source is None or state.last_public is None:
        return None, []
    held = staging[state.last_public].peel(pygit2.Commit).tree
    overlay: Overlay | None = None
    layout = public_layout(config, source, staging)
    if config.version is not None:
        # Version files and changelog belong to release commits: take them as public has them.
        source_tree = bytes(staging[state.last_source].peel(pygit2.Commit).tree_id.raw)
        if layout is not None:
            source_tree = layout(source_tree)
        overlay = Owned(staging, config.version, source_tree).overlay(held.id.raw)
    kept = keep_public.kept(staging, held.id.raw, rules, keep) if keep else {}
    if kept:  # as sync publishes them: public as they are
        overlay = keep_public.Chained(overlay, keep_public.KeepOverlay(staging, kept))
        rules = rules.keeping(kept)
    writer = PackWriter(Path(staging.path))
    try:
        rewriter = Rewriter(
            staging, rules, writer, None, overlay=chain(layout, overlay), content=content
        )
        expected = rewriter.filtered_tree_of(state.last_source, whole=True)
        writer.commit()
    except BaseException:
        writer.abort()
        raise
    if held.id.raw == expected:
        return state.last_source, []
    diff = staging[pygit2.Oid(raw=expected)].peel(pygit2.Tree).diff_to_tree(held)
    paths = {d.new_file.path for d in diff.deltas} | {d.old_file.path for d in diff.deltas}
    return state.last_source, sorted(paths)
