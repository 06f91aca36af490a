"""Sync in two stages: the public result is reviewed inside before anything goes out.

A branch pushed to a public repository is readable the moment it lands, so with
``leak_review:`` the target's pull request is no longer the first look. Each run:

1. computes the public tip ``T`` for the source branch exactly as sync does (release commit
   included), without pushing it;
2. finds what the approved branch on the source's side approves that the target lacks, and
   recomputes the public history for the source commit that commit names: only when the ids
   agree does that commit go to the target, through sync's own push and pull request (a guard
   in sync refuses to push any other id);
3. writes ``T`` to the stage branch on the source's side and opens (or updates) the internal
   pull request into the approved branch, or prints the command that approves it.

A squash or rebase merge of the review, or a commit pushed to the approved branch by hand, is
refused by name; an approval the target has since overtaken is only reported. Every step only
reads the target or pushes what the approved branch holds, so a run killed anywhere leaves
nothing unapproved on the target, and a rerun picks up where it stopped.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pygit2

from . import approval, checks
from .config import Config, LeakReviewPolicy
from .errors import PubgateError
from .forge import PullRequestOptions
from .leak_review_text import LeakReview, pull_request_text
from .report import Refusal, SyncReport
from .source_remote import source_forge
from .source_side import SourceSide
from .workspace import Source

if TYPE_CHECKING:
    import httpx

    from .sync import SyncOptions

APPROVED_SLOT = "leak-review-approved"  # the cache of the approved source commit's runs
# Sync's computation for a source tip: the sync (or plan) it would be if the branch were there.
Compute = Callable[[Source, "SyncOptions"], SyncReport]


@dataclasses.dataclass(frozen=True)
class _Verdict:
    publish: SyncReport | None = None  # the plan that reproduces the approved commit
    refusal: Refusal | None = None
    note: str | None = None


def run(  # noqa: PLR0917
    config: Config,
    source: Source,
    staging: pygit2.Repository,
    options: SyncOptions,
    client: httpx.Client | None,
    compute: Compute,
) -> SyncReport:
    """One sync (or plan) under leak review; the report says what each stage did."""
    policy = config.leak_review
    assert policy is not None and config.trailer is not None  # the config requires both
    _refuse_own_branch(policy, source)
    pushing = options.push and not options.dry_run
    side = SourceSide.of(config, source, staging)
    forge = None
    if pushing and not options.no_pr and client is not None and side.remote is not None:
        forge = source_forge(config, client)  # refuses now, before anything is pushed
    tips = side.tips([policy.stage_branch, policy.approved_branch])
    stage_tip, approved_tip = tips.get(policy.stage_branch), tips.get(policy.approved_branch)
    review = LeakReview(policy.stage_branch, policy.approved_branch, side.display, approved_tip)

    current = compute(source, dataclasses.replace(options, push=False))
    if options.push and current.would_refuse:
        first = current.would_refuse[0]
        raise PubgateError(f"refusing to sync since {first.reason}", first.hint)
    verdict = _Verdict()
    if approved_tip is not None:
        verdict = _judge(
            staging, source, options, compute, current, approved_tip, stage_tip, config.trailer
        )
    if verdict.note is not None:
        review.notes = [verdict.note]
    if verdict.publish is not None:
        review.publishing = verdict.publish.head
        review.published_from = verdict.publish.source_tip

    tip = current.head
    if (
        not current.up_to_date
        and tip is not None
        and not approval.contains(staging, approved_tip, tip)
    ):
        review.staged = tip
        review.waiting = approval.not_in(staging, tip, approved_tip, current.review_tip)
    refusal = verdict.refusal
    if approved_tip is None and review.staged is not None:
        refusal = _missing(policy, side, review)
    if options.push and review.staged is not None and stage_tip != review.staged:
        # check_commands pass before the public tip goes anywhere, the stage included (and in
        # a dry run, as for sync's own push); the pass is remembered, so publishing the same
        # tip later does not run them again.
        current.checks = checks.check_before_push(
            config, source.state_dir, staging, review.staged, options.check_output
        )
    if pushing and review.staged is not None:
        _stage(side, review, stage_tip, review.staged)
    if refusal is not None:
        if options.push:
            # The stage is written: reviewing it (once the approved branch is put right) is
            # the way out. No pull request into a branch that needs repair first.
            raise PubgateError(f"refusing to publish, since {refusal.reason}", refusal.hint)
        current.would_refuse.append(refusal)
        review.publishing = None
    if pushing and review.staged is not None:
        if forge is not None:
            _open_pull_request(forge, current, review)
        else:
            review.approve_command = side.approve_command(policy.approved_branch, review.staged)

    if review.publishing is None or verdict.publish is None:
        current.leak_review = review
        return current
    approved = verdict.publish
    if not options.push:
        approved.leak_review = review
        return approved
    # Sync's own push and pull request, for the approved source commit; it refuses any head
    # but the approved one.
    published = compute(
        dataclasses.replace(source, tip=approved.source_tip),
        dataclasses.replace(
            options,
            expect_head=review.publishing,
            cache_slot=APPROVED_SLOT if approved.source_tip != source.tip else "",
        ),
    )
    published.leak_review = review
    return published


def _open_pull_request(forge: Any, current: SyncReport, review: LeakReview) -> None:
    """Open the internal pull request from the stage into the approved branch, or update the
    open one (never a second)."""
    title, body = pull_request_text(current, review)
    try:
        pull = forge.open_or_update(
            review.stage_branch, review.approved_branch, title, body, PullRequestOptions()
        )
    except PubgateError as e:
        done = f"{review.stage_branch} is pushed and nothing reached the target, so a rerun "
        raise PubgateError(
            e.message,
            f"{done}only opens the pull request. {e.hint or ''}".strip(),
            exit_code=e.exit_code,
        ) from e
    review.pull_request = {"number": pull.number, "url": pull.url, "created": pull.created}


def _judge(  # noqa: PLR0917
    staging: pygit2.Repository,
    source: Source,
    options: SyncOptions,
    compute: Compute,
    current: SyncReport,
    approved_tip: str,
    stage_tip: str | None,
    trailer: str,
) -> _Verdict:
    """What the approved branch lets go to the target: a plan that reproduces the approved
    commit, nothing, or a refusal."""
    review_tip = current.review_tip
    offered = approval.candidate(staging, approved_tip, review_tip, trailer)
    stray = approval.foreign(
        staging, approved_tip, review_tip, offered.commit if offered else None, trailer
    )
    if offered is None:
        return _Verdict(refusal=_hand_made(stray)) if stray else _Verdict()
    plan = _reproduce(staging, source, options, compute, current, offered)
    if plan is not None and plan.up_to_date:
        return _Verdict()  # the target has it already (a squash merge there, say)
    if plan is not None and plan.head == offered.commit:
        return _Verdict(publish=plan, refusal=_hand_made(stray) if stray else None)
    if approval.built_on_superseded(
        staging, offered.commit, review_tip, current.last_synced, trailer
    ):
        return _Verdict(
            note=f"{offered.commit[:12]} on the approved branch was staged before the target "
            "changed, so it is not published; the new stage waits for review"
        )
    copies = {
        bytes(staging[c].peel(pygit2.Commit).tree_id.raw)
        for c in (plan.head if plan else None, current.head, stage_tip)
        if c is not None
    }
    if bytes(staging[offered.commit].peel(pygit2.Commit).tree_id.raw) in copies:
        return _Verdict(refusal=_rewritten(offered.commit))
    return _Verdict(refusal=_hand_made(offered.commit))


def _reproduce(  # noqa: PLR0917
    staging: pygit2.Repository,
    source: Source,
    options: SyncOptions,
    compute: Compute,
    current: SyncReport,
    offered: approval.Candidate,
) -> SyncReport | None:
    """The plan for the source commit the approved commit names; None when that commit is
    not on the source branch (a made-up id, or a branch rewritten since)."""
    named = offered.source
    if named is None or named not in staging:
        return None
    if named == source.tip:
        return current
    if not staging.descendant_of(source.tip, named):
        return None
    return compute(
        dataclasses.replace(source, tip=named),
        dataclasses.replace(options, push=False, cache_slot=APPROVED_SLOT),
    )


def _stage(side: SourceSide, review: LeakReview, stage_tip: str | None, tip: str) -> None:
    if stage_tip == tip:
        return
    try:
        side.write(review.stage_branch, tip, stage_tip)
    except PubgateError as e:
        raise PubgateError(
            e.message,
            f"nothing reached the target; a rerun only retries the stage. {e.hint or ''}".strip(),
            exit_code=e.exit_code,
        ) from e
    review.stage_pushed = True


def _missing(policy: LeakReviewPolicy, side: SourceSide, review: LeakReview) -> Refusal:
    assert review.staged is not None
    return Refusal(
        f"{policy.approved_branch} does not exist on the source ({side.display}), so nothing "
        "is approved yet",
        f"{policy.stage_branch} holds what would go public: review it, then approve it, which "
        f"creates {policy.approved_branch} (protect it, so that only merges of "
        f"{policy.stage_branch} reach it; later stages come as pull requests into it): "
        + side.approve_command(policy.approved_branch, review.staged),
    )


def _rewritten(commit: str) -> Refusal:
    return Refusal(
        f"the approved branch holds {commit[:12]}, a copy of the staged commits that a squash "
        "or rebase merge made: it rewrote the commits under review, so they are not the ones "
        "sync would publish",
        "merge the leak review with a merge commit or a fast-forward instead: reset the "
        f"approved branch to before {commit[:12]} (git push --force-with-lease), then merge "
        "the stage again ('Create a merge commit' on GitHub, 'Merge commit' on GitLab)",
    )


def _hand_made(commit: str) -> Refusal:
    return Refusal(
        f"the approved branch holds {commit[:12]}, which sync did not make: its public history "
        "is not what the rules produce from the source (a commit pushed to the approved "
        "branch by hand?)",
        f"only what sync staged can go out: reset the approved branch to before {commit[:12]} "
        "(git push --force-with-lease), and protect it so that only merges of the stage "
        "branch reach it",
    )


def _refuse_own_branch(policy: LeakReviewPolicy, source: Source) -> None:
    for key in ("stage_branch", "approved_branch"):
        if getattr(policy, key) == source.branch:
            raise PubgateError(
                f"refusing to sync, since leak_review.{key} is {source.branch}, the branch "
                "being published",
                "give the leak review branches of their own (pubgate/stage, pubgate/approved)",
                exit_code=2,
            )
