"""What the leak review reports: its part of a sync report, its lines, its pull request's text.

The internal pull request is read on the source's forge, so it may name internal paths (every
path held back is listed: that is what a reviewer checks); it names the public repository only
by its path, never as a link, so nobody follows it to a page that does not exist yet.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .forge.base import locate_repository
from .quoting import quote_path
from .wording import count as counted

if TYPE_CHECKING:
    from .report import SyncReport

_MAX_ROWS = 500  # commits listed in the internal pull request; the rest are counted
_MAX_PATHS = 2000  # held-back paths listed: all of them in practice, within a forge's limits


@dataclass
class LeakReview:
    """The two stages of a sync under leak review."""

    stage_branch: str
    approved_branch: str
    where: str  # the source's remote, or the source repository's path
    approved_tip: str | None = None  # None: the approved branch does not exist
    # The public tip waiting for review (written to the stage branch), with its commit count.
    staged: str | None = None
    waiting: int = 0
    stage_pushed: bool = False  # this run moved the stage branch
    # The approved commit that goes to the target (this run; in a plan: the next sync).
    publishing: str | None = None
    published_from: str = ""  # the source commit ``publishing`` was made from
    pull_request: dict[str, Any] | None = None  # the internal one: number, url, created
    approve_command: str | None = None  # without a source forge: what a reviewer runs
    notes: list[str] | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "stage_branch": self.stage_branch,
            "approved_branch": self.approved_branch,
            "approved_tip": self.approved_tip,
            "staged": self.staged,
            "waiting_commits": self.waiting,
            "stage_pushed": self.stage_pushed,
            "publishing": self.publishing,
            "pull_request": self.pull_request,
            "approve_command": self.approve_command,
            "notes": self.notes or [],
        }


def outcome(report: SyncReport, review: LeakReview, *, plan: bool) -> str | None:
    """The outcome line when nothing goes to the target (else sync's own line says it)."""
    if review.publishing is not None or report.up_to_date:
        return None  # sync's own line says what went to the target
    if review.staged is None:
        return (
            f"nothing waits for leak review: {review.approved_branch} holds the public tip, "
            f"or {report.review_branch} already does; nothing to push to the target"
        )
    head = review.staged[:12]
    if plan or report.dry_run:
        verb = "would stage" if plan else "dry run: would stage"
        return f"{verb} {head} on {review.stage_branch} for leak review; nothing is approved"
    done = f"staged {head} on {review.stage_branch} ({review.where}) for leak review"
    if review.pull_request is not None:
        verb = "opened" if review.pull_request["created"] else "updated"
        done += f"; {verb} {review.pull_request['url']}"
    return done + "; nothing reached the target"


def also_staged(review: LeakReview, *, plan: bool) -> str:
    """What sync's own outcome line gains when the same run staged a newer tip too."""
    if review.staged is None or review.publishing is None:
        return ""
    verb = "would stage" if plan else "staged"
    return f"; {verb} {review.staged[:12]} on {review.stage_branch} for leak review"


def describe(review: LeakReview, *, plan: bool) -> list[str]:
    """The leak review's lines in a sync or plan: what is approved, what waits."""
    lines = [
        f"leak review: {review.stage_branch} -> {review.approved_branch} ({review.where})"
        + ("" if review.approved_tip else f"; {review.approved_branch} does not exist yet")
    ]
    if review.publishing is not None:
        goes = "goes" if not plan else "would go"
        lines.append(
            f"  approved, not yet public: {review.publishing[:12]} (from source commit "
            f"{review.published_from[:12]}; {goes} to the target)"
        )
    if review.staged is not None:
        lines.append(
            f"  waiting for leak review: {review.staged[:12]} "
            f"({counted(review.waiting, 'new public commit')})"
        )
    lines.extend(f"  {note}" for note in review.notes or [])
    if review.approve_command is not None and not plan:
        lines.append(f"next: after review, approve it with: {review.approve_command}")
    elif review.staged is not None and review.pull_request is None and not plan:
        lines.append(
            f"next: review {review.stage_branch}, then merge it into {review.approved_branch} "
            "(merge commit or fast-forward) and run git pubgate sync"
        )
    return lines


def pull_request_text(report: SyncReport, review: LeakReview) -> tuple[str, str]:
    """Title and body of the internal pull request from the stage into the approved branch."""
    commits = report.commits
    count = len(commits)
    public = _public_name(report.target)
    title = f"Leak review: {counted(count, 'commit')} for {public}"
    if report.release is not None:
        title += f" (release {report.release.version})"
    rows = ["| public | source | subject | author |", "|---|---|---|---|"]
    for commit in commits[-_MAX_ROWS:]:
        subject = commit.subject.replace("|", "\\|")
        rows.append(
            f"| {commit.public[:12]} | {commit.source[:12]} | {subject} | {commit.author} |"
        )
    if count > _MAX_ROWS:
        rows.insert(2, f"| ... | | {count - _MAX_ROWS} earlier commits | |")
    held = report.excluded_paths
    held_lines = "".join(f"- `{quote_path(path)}`\n" for path in held[:_MAX_PATHS])
    if len(held) > _MAX_PATHS:
        held_lines += f"- ... and {len(held) - _MAX_PATHS} more\n"
    body = (
        "This pull request was opened by git-pubgate. It holds the public history that sync "
        f"computed from `{report.source_branch}` at {report.source_tip[:12]}: exactly what "
        f"would go to the public repository {public}. Nothing of it is public yet.\n\n"
        "Merging it approves it: merge with a merge commit or a fast-forward, never squash or "
        "rebase (those rewrite the commits under review, and sync refuses them). The next "
        f"`git pubgate sync` then pushes {(review.staged or '')[:12]} itself to "
        f"`{report.head_branch}` on the public repository and opens the public pull request "
        f"into `{report.review_branch}`.\n\n"
        f"## Summary\n\n{_summary(report, count)}\n\n"
        f"## Commits ({count})\n\n" + "\n".join(rows) + "\n\n"
        f"## Held back ({len(held)})\n\n"
        + (held_lines or "Nothing the new commits touch is held back.\n")
    )
    if report.new_identities:
        body += "\n## Public for the first time\n\n" + "".join(
            f"- `{who}`\n" for who in report.new_identities
        )
    return title, body


def _summary(report: SyncReport, count: int) -> str:
    """What goes public, in words and without links."""
    parts = [
        f"{counted(count, 'new public commit')} on top of `{report.review_branch}`"
        + (" (a first publication)" if report.first_publication else "")
    ]
    if report.pruned:
        parts.append(f"{counted(report.pruned, 'commit')} left out (only held-back paths changed)")
    if report.release is not None:
        parts.append(f"release {report.release.version} ({report.release.decision.reason})")
    if report.sections_changed:
        parts.append(f"{counted(report.sections_changed, 'file')} with internal sections removed")
    if report.newly_excluded:
        parts.append(f"{counted(len(report.newly_excluded), 'public path')} deleted")
    if report.symlinks_leaving:
        parts.append(f"{counted(len(report.symlinks_leaving), 'symlink')} leaving the repository")
    return "; ".join(parts) + "."


def _public_name(target: str) -> str:
    """The public repository as ``owner/name`` (its folder name for a local path)."""
    location = locate_repository(target)
    if location is not None:
        return f"`{location.slug}`"
    return f"`{target.rstrip('/').rsplit('/', 1)[-1]}`"
