"""What a sync or plan found and did: the stable ``--json`` form and the lines people read."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from . import leak_review_text
from .quoting import quote_path
from .wording import count as counted

if TYPE_CHECKING:
    from .checks import CheckReport
    from .lost_trailers import SquashMatch
    from .release import ReleasePlan


class _Ends(Protocol):
    """What a run's report says of the two repositories it joined."""

    source_branch: str
    source_tip: str
    target: str
    review_branch: str
    review_tip: str | None


def ends_json(report: _Ends, **target: Any) -> dict[str, Any]:
    """The ``source`` and ``target`` objects of a report's ``--json`` form (sync, plan and
    absorb give the same), with ``target``'s further keys."""
    return {
        "source": {"branch": report.source_branch, "tip": report.source_tip},
        "target": {
            "url": report.target,
            "review_branch": report.review_branch,
            "review_tip": report.review_tip,
            **target,
        },
    }


@dataclass
class PublicCommit:
    source: str
    public: str
    subject: str
    author: str


@dataclass(frozen=True)
class Refusal:
    """Why sync would refuse, and the way out: what a plan reports instead of refusing."""

    reason: str
    hint: str


@dataclass
class SyncReport:
    """Everything a sync or plan found and did; ``to_json`` is the stable ``--json`` form."""

    source_branch: str
    source_tip: str
    target: str
    review_branch: str
    head_branch: str | None  # None: a release run with nothing to release
    review_tip: str | None = None
    last_synced: str | None = None
    head: str | None = None
    commits: Sequence[PublicCommit] = field(default_factory=list)
    pruned: int = 0
    rewritten: int = 0  # source commits this run walked; the others came from the sync cache
    excluded_paths: list[str] = field(default_factory=list)
    divergence: list[str] = field(default_factory=list)
    first_publication: bool = False
    up_to_date: bool = False
    pushed: bool = False
    already_pushed: bool = False
    dry_run: bool = False
    pushed_to_review: bool = False  # --init: the first publication went straight to review
    pull_request: dict[str, Any] | None = None  # number, url, created
    release: ReleasePlan | None = None
    superseded: list[str] = field(default_factory=list)  # older release branches retired
    # Symlinks in the new commits that point out of the repository: (path, target).
    symlinks_leaving: list[tuple[str, str]] = field(default_factory=list)
    absorb: list[Any] = field(default_factory=list)  # plan: public commits absorb would take
    would_refuse: list[Refusal] = field(default_factory=list)  # plan only: sync would refuse
    # Public paths the rules exclude now: kept as they are (keep_public), or deleted by this PR.
    kept_public: list[str] = field(default_factory=list)
    newly_excluded: list[str] = field(default_factory=list)
    squash_without_trailer: SquashMatch | None = None  # where the review branch was found
    warnings: list[str] = field(default_factory=list)  # e.g. patterns that match nothing
    new_identities: list[str] = field(default_factory=list)  # "Name <address>", first public
    held_back_by_default: list[str] = field(default_factory=list)  # safe defaults, the config
    sections_changed: int = 0  # changed files that lost internal sections (never their content)
    secrets_scan: bool = True
    checks: CheckReport | None = None  # check_commands on the public tip (None: none set)
    leak_review: leak_review_text.LeakReview | None = None  # with leak_review: what each stage did
    # Git LFS objects the new pointers name: {objects, fetched, uploaded}; None without any.
    lfs: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            **ends_json(self, head_branch=self.head_branch),
            "last_synced_source": self.last_synced,
            "head": self.head,
            "commits": [
                {"source": c.source, "public": c.public, "subject": c.subject, "author": c.author}
                for c in self.commits
            ],
            "pruned": self.pruned,
            "rewritten": self.rewritten,
            "excluded_paths": self.excluded_paths,
            "divergence": self.divergence,
            "first_publication": self.first_publication,
            "up_to_date": self.up_to_date,
            "pushed": self.pushed,
            "already_pushed": self.already_pushed,
            "dry_run": self.dry_run,
            "pushed_to_review_branch": self.pushed_to_review,
            "pull_request": self.pull_request,
            "release": self.release.to_json() if self.release else None,
            "superseded_branches": self.superseded,
            "symlinks_leaving": [{"path": p, "target": t} for p, t in self.symlinks_leaving],
            "absorb": [
                {"public": c.public, "subject": c.subject, "author": c.author} for c in self.absorb
            ],
            "would_refuse": [{"reason": r.reason, "hint": r.hint} for r in self.would_refuse],
            "warnings": self.warnings,
            "new_identities": self.new_identities,
            "kept_public": self.kept_public,
            "newly_excluded": self.newly_excluded,
            "squash_without_trailer": (
                {"source": squash.source, "public": squash.public}
                if (squash := self.squash_without_trailer)
                else None
            ),
            "held_back_by_default": self.held_back_by_default,
            "sections_changed": self.sections_changed,
            "secrets_scan": self.secrets_scan,
            "checks": self.checks.to_json() if self.checks is not None else None,
            "leak_review": self.leak_review.to_json() if self.leak_review else None,
            "lfs": self.lfs,
        }


def outcome(report: SyncReport, *, plan: bool) -> str:
    """The one line that says what a sync or plan did: all that ``-q`` prints."""
    if report.leak_review is None:
        return _outcome(report, plan=plan)
    said = leak_review_text.outcome(report, report.leak_review, plan=plan)
    if said is not None and not (plan and report.would_refuse):
        return said
    return _outcome(report, plan=plan) + leak_review_text.also_staged(report.leak_review, plan=plan)


def _outcome(report: SyncReport, *, plan: bool) -> str:
    if report.up_to_date:
        return (
            f"up to date: {report.review_branch} already holds everything public "
            "on the source branch; nothing to push"
        )
    head = report.head[:12] if report.head else "-"
    target = f"{report.target} {report.head_branch}"
    if plan and report.would_refuse:
        return f"sync would refuse: {report.would_refuse[0].reason}"
    if plan:
        return f"sync would push {head} to {target}"
    if report.already_pushed:
        return f"{target} already points at {head}; nothing to push"
    if report.dry_run:
        return f"dry run: would push {head} to {target}"
    if report.pushed_to_review:
        return f"pushed {head} to {report.target} {report.review_branch} (--init)"
    if report.pull_request is not None:
        verb = "opened" if report.pull_request["created"] else "updated"
        return f"pushed {head} to {target}; {verb} {report.pull_request['url']}"
    return f"pushed {head} to {target}"


def _lfs_line(lfs: dict[str, Any], planned: bool) -> str:
    objects = counted(lfs["objects"], "Git LFS object")
    fetched = (
        f", {lfs['fetched']} of them from the source's LFS server first" if lfs["fetched"] else ""
    )
    if planned or not lfs["uploaded"]:
        return f"LFS: {objects} the new pointers name would go to the target's LFS store{fetched}"
    return f"LFS: {objects} the new pointers name are on the target's LFS store{fetched}"


def describe(report: SyncReport, *, plan: bool, verbose: int = 0) -> list[str]:
    """Human-readable lines for a sync or plan report."""
    lines = [f"warning: {warning}" for warning in report.warnings]
    lines.append(f"source: {report.source_branch} at {report.source_tip[:12]}")
    lines.append(
        f"target: {report.target} ({report.review_branch}"
        + (f" at {report.review_tip[:12]})" if report.review_tip else ", not created yet)")
    )
    if report.last_synced:
        lines.append(f"last synced source commit: {report.last_synced[:12]}")
    if report.squash_without_trailer is not None:
        squash = report.squash_without_trailer
        lines.append(
            f"{report.review_branch} at {squash.public[:12]} holds source commit "
            f"{squash.source[:12]} without naming it: its tree is that commit's public tree "
            "(a squash merge that lost the trailers); sync continues from there"
        )
    lines.extend(_public_now_excluded(report))
    if report.up_to_date:
        lines.append(outcome(report, plan=plan))
        return lines
    count = len(report.commits)
    lines.append(
        counted(count, "public commit")
        + (f", {report.pruned} pruned (only excluded paths changed)" if report.pruned else "")
        + ":"
    )
    shown = report.commits if verbose or count <= 20 else report.commits[-20:]
    if len(shown) < count:
        lines.append(f"  ... {counted(count - len(shown), 'earlier commit')}")
    for commit in shown:
        lines.append(f"  {commit.public[:12]} {commit.subject}  ({commit.author})")
    if report.new_identities:
        lines.append(
            "public for the first time "
            f"({counted(len(report.new_identities), 'identity', 'identities')}, "
            "as author or committer):"
        )
        lines.extend(f"  {who}" for who in report.new_identities)
    if report.excluded_paths:
        lines.append(f"held back ({counted(len(report.excluded_paths), 'excluded path')} touched):")
        by_default = set(report.held_back_by_default)
        for path in report.excluded_paths[: 50 if not verbose else None]:
            lines.append(f"  {quote_path(path)}" + ("  (by default)" if path in by_default else ""))
        if len(report.excluded_paths) > 50 and not verbose:
            lines.append(f"  ... and {len(report.excluded_paths) - 50} more (-v lists all)")
    if report.sections_changed:
        lines.append(_sections_line(report.sections_changed))
    if not report.secrets_scan:
        lines.append("secret scan: off (secrets: false)")
    if report.lfs is not None:
        lines.append(_lfs_line(report.lfs, plan or report.dry_run))
    if report.symlinks_leaving:
        lines.append(f"symlinks leaving the repository ({len(report.symlinks_leaving)}):")
        lines.extend(
            f"  {quote_path(path)} -> {quote_path(target)}"
            for path, target in report.symlinks_leaving
        )
    if report.release is not None:
        lines.extend(release_lines(report.release))
    if report.checks is not None:
        lines.append(report.checks.line(plan=plan))
    if report.divergence:
        lines.append(
            f"divergence: {report.review_branch} differs from the last synced source "
            f"in {counted(len(report.divergence), 'path')}:"
        )
        lines.extend(f"  {quote_path(path)}" for path in report.divergence[:50])
    if report.absorb:
        lines.append(
            f"{counted(len(report.absorb), 'public commit')} waiting to be absorbed "
            "(git pubgate absorb):"
        )
        lines.extend(f"  {c.public[:12]} {c.subject}  ({c.author})" for c in report.absorb[:50])
    if report.leak_review is not None:
        lines.extend(leak_review_text.describe(report.leak_review, plan=plan))
    lines.append(outcome(report, plan=plan))
    if plan and report.would_refuse:
        lines.append(f"  {report.would_refuse[0].hint}")
        for other in report.would_refuse[1:]:
            lines += [f"sync would also refuse: {other.reason}", f"  {other.hint}"]
    if (
        not plan
        and report.pull_request is None
        and not report.pushed_to_review
        and (report.pushed or report.already_pushed or report.dry_run)
    ):
        if report.review_tip is None:  # no branch for a pull request to go into
            lines.append(
                f"next: {report.review_branch} does not exist on the target yet: review "
                f"{report.head_branch}, then 'git pubgate sync --init' pushes the same "
                f"commits to {report.review_branch} directly (once)"
            )
        else:
            lines.append(
                f"next: open a pull request from {report.head_branch} into "
                f"{report.review_branch} and merge it after review"
            )
    return lines


def _public_now_excluded(report: SyncReport) -> list[str]:
    review = report.review_branch
    lines = []
    if report.kept_public:
        lines.append(f"kept public as {review} has them, though excluded now (keep_public):")
        lines.extend(f"  {quote_path(path)}" for path in report.kept_public[:50])
    if report.newly_excluded:
        lines.append(
            f"public on {review} but excluded now (the next pull request deletes them from "
            f"{review}; public history keeps them):"
        )
        lines.extend(f"  {quote_path(path)}" for path in report.newly_excluded[:50])
    return lines


def _sections_line(count: int) -> str:
    return f"internal sections removed from {counted(count, 'changed file')}"


def _code(text: str) -> str:
    """``text`` as a Markdown code span, whatever backticks it holds: fenced by one backtick
    more than its longest run, padded when it starts or ends with one (CommonMark), so a
    name cannot close the span and write Markdown (links, mentions) into the pull request."""
    fence = "`" * (max(map(len, re.findall("`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def release_lines(release: ReleasePlan) -> list[str]:
    previous = (
        f"{release.previous} ({release.previous_from})"
        if release.previous
        else (release.previous_from)
    )
    lines = [f"version: {release.version}, after {previous}", f"  why: {release.decision.reason}"]
    if release.previous is None and release.declared and release.declared != release.version:
        lines.append(
            f"  first release: the source declares {release.declared}; "
            "'git pubgate sync --bump none' releases that version as it is"
        )
    for change in release.decision.drivers[:10]:
        lines.append(f"    {change.commit[:12]} {change.subject}")
    return lines


DEFAULT_TITLE = "Sync {count} commit{plural} from {source_branch}"
RELEASE_TITLE = "Release {version}"
DEFAULT_BODY = """\
This pull request was opened by git-pubgate. It brings {count} commit{plural} from the internal \
`{source_branch}` branch.
{release}
{commits}
{new_identities}{held_back}{symlinks}
To reproduce this branch locally from the internal repository:

{reproduce}
"""


def pull_request_text(
    report: SyncReport, title: str | None = None, body: str | None = None
) -> tuple[str, str]:
    """Title and body of the review pull request from the ``pr.title``/``pr.body`` templates.

    Both are public: only public facts go in (public commit ids, subjects, authors, and the
    held-back paths at the level where the rules cut).
    """
    count = len(report.commits)
    rows = ["| commit | subject | author |", "|---|---|---|"]
    for commit in report.commits[:250]:
        subject = commit.subject.replace("|", "\\|")
        rows.append(f"| {commit.public[:12]} | {subject} | {commit.author} |")
    if count > 250:
        rows.append(f"| ... | {count - 250} more | |")
    held = ""
    if report.excluded_paths:
        held = f"Held back by the exclude rules ({len(report.excluded_paths)}):\n\n" + "".join(
            f"- {_code(quote_path(path))}\n" for path in report.excluded_paths[:100]
        )
    if report.newly_excluded:
        held += (
            f"\nThis pull request deletes from `{report.review_branch}` what the exclude rules "
            "take now (public history keeps it):\n\n"
            + "".join(f"- {_code(quote_path(path))}\n" for path in report.newly_excluded[:100])
        )
    identities = ""
    if report.new_identities:
        identities = (
            "Public for the first time, as author or committer:\n\n"
            + "".join(f"- {_code(who)}\n" for who in report.new_identities[:100])
            + "\n"
        )
    if report.sections_changed:
        held += f"\n{_sections_line(report.sections_changed).capitalize()}.\n"
    symlinks = ""
    if report.symlinks_leaving:
        symlinks = (
            f"\nSymlinks that point out of the repository ({len(report.symlinks_leaving)}):\n\n"
            + "".join(
                f"- {_code(quote_path(path))} -> {_code(quote_path(target))}\n"
                for path, target in report.symlinks_leaving
            )
        )
    reproduce = (
        f"```\ngit pubgate sync --dry-run   # {report.source_branch} at "
        f"{report.source_tip[:12]}, gives head {report.head}\n```"
    )
    release_text = ""
    if report.release is not None:
        release = report.release
        after = f" (after {release.previous})" if release.previous else ""
        release_text = (
            f"\nVersion **{release.version}**{after}: {release.decision.reason}. The last "
            f"commit writes the version files and the changelog; publishing tags it "
            f"`{release.tag}`.\n"
        )
    fields = {
        "version": str(report.release.version) if report.release else "",
        "release": release_text,
        "count": count,
        "plural": "" if count == 1 else "s",
        "source_branch": report.source_branch,
        "source_tip": report.source_tip,
        "head": report.head or "",
        "commits": "\n".join(rows) + "\n",
        "held_back": held,
        "symlinks": symlinks,
        "new_identities": identities,
        "reproduce": reproduce,
    }
    default_title = RELEASE_TITLE if report.release is not None else DEFAULT_TITLE
    return (title or default_title).format_map(fields), (body or DEFAULT_BODY).format_map(fields)
