"""One sync: read the target, rewrite what is new, check divergence, push the head branch.

``plan`` is the same computation without the push. Objects written while planning stay in the
private staging repository, where they make the next run cheaper and are invisible to anyone.
"""

from __future__ import annotations

import dataclasses
import subprocess
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pygit2
from pygit2.enums import SortMode

if TYPE_CHECKING:
    import httpx

    from .content import ContentPolicy
    from .release import Owned, ReleasePlan

from . import (
    checks,
    commit_map,
    deletion_consent,
    hook_rules,
    keep_public,
    lost_trailers,
    partial_fetch,
)
from .authors import People
from .cache import ENGINE_REVISION, CacheFile, SyncCache, fingerprint, rewrite_settings
from .checks import CheckOutput
from .commit_map import CommitMap
from .config import Config, is_local
from .errors import ConfigError, PubgateError
from .forge import Forge, PullRequestOptions, forge_kind, make_forge, resolve_token
from .gitio import Remote
from .held_back import held_back_from
from .identities import first_public, identities_of
from .keep_public import KeepOverlay, Overlay
from .layout import chain, public_layout
from .lock import WAIT_SECONDS
from .lost_trailers import SquashMatch
from .messages import MessagePolicy
from .objects import PackWriter
from .path_trees import SharedTrees
from .pattern_check import PatternCheck, load_witnesses, save_witnesses
from .pending import Commits, Findings, Pending, PendingRecord
from .policy import build as build_policy
from .progress import Reporter
from .quoted_ids import QuotedIds
from .quoting import quote_path
from .report import PublicCommit, Refusal, SyncReport, pull_request_text
from .rewrite import CommitSource, Rewriter, RewriteResult
from .rules import Rules
from .state import (
    Anchor,
    ReviewMap,
    SyncState,
    first_publication_merged,
    locate,
    read_synced,
    read_synced_since,
)
from .workspace import Source, locked_staging, open_source

TARGET_NS = "refs/pubgate/target/"
WRITTEN_NS = "refs/pubgate/written/"  # per cache key: the tip of what sync wrote last


@dataclass(frozen=True)
class SyncOptions:
    dry_run: bool = False
    no_pr: bool = False
    allow_divergence: bool = False
    push: bool = True  # False for plan
    bump: str | None = None  # --bump: outranks version.bump and Release-As footers
    init: bool = False  # push a first publication straight to a review branch that is missing
    delete_excluded: bool = False  # accept deleting public paths that exclude takes now
    # Read the target as the last run left it in staging, never the network (preview).
    offline: bool = False
    # Where check_commands' output goes; None: nowhere (a failure still carries it).
    check_output: CheckOutput | None = dataclasses.field(default=None, compare=False)
    expect_head: str | None = None  # leak review: push only this approved commit, or refuse
    # A cache of its own: the leak review computes an older, approved source commit each run
    # besides the tip, and one cache for both would start over every time.
    cache_slot: str = ""


def _init_hint(config: Config, review: str, *, in_plan: bool = False) -> str:
    """How a first publication reaches a missing review branch. Under leak review --init still
    waits for the inside approval: saying it pushes "directly" would misstate the gate."""
    if config.leak_review is not None:
        return (
            "'git pubgate sync --init' stages the public tip for the leak review and, once it is "
            f"approved, pushes it to {review} directly, once"
        )
    if in_plan:
        return f"'git pubgate sync --init' pushes this plan to {review} directly, once"
    return (
        f"review 'git pubgate plan', then 'git pubgate sync --init' pushes it to {review} "
        "directly, once"
    )


def target_remote(config: Config, staging: pygit2.Repository, token: str | None) -> Remote:
    if not config.target_repo:
        raise ConfigError(
            f"{config.path}: target_repo is not set",
            "set target_repo to the public repository (a path or a git URL)",
        )
    url = config.target_repo
    path = Path(url)
    is_path = is_local(url) and not url.startswith("file://")
    if is_path and not (path / "HEAD").exists() and not (path / ".git").exists():
        raise PubgateError(
            f"target_repo {url} is not a git repository",
            "create it first (git init --bare), or fix target_repo",
        )
    https = url.startswith(("https://", "http://"))
    return Remote(
        url=url,
        git_dir=Path(staging.path),
        token=token if https else None,
        options=partial_fetch.options(url),
    )


def run(
    config: Config,
    cwd: Path,
    options: SyncOptions,
    progress: Reporter | None = None,
    client: httpx.Client | None = None,
    *,
    lock_wait: float = WAIT_SECONDS,
    on_lock_wait: Callable[[], None] | None = None,
    trees: SharedTrees | None = None,
) -> SyncReport:
    """Plan or perform one sync and report what happened.

    Args:
        client: the HTTP client for the forge; without one, no pull request is opened.
        lock_wait: how long to wait for another run on the same source to finish.
        on_lock_wait: called once if that wait begins.
        trees: the readers of source trees, shared by the targets of one run.
    """
    source = open_source(config, cwd)
    with locked_staging(source, wait=lock_wait, on_wait=on_lock_wait) as staging:
        hook_rules.save(source.git_dir, config)  # the pre-push hook's rules, kept current
        if config.leak_review is not None:
            from . import leak_review

            def compute(at: Source, chosen: SyncOptions) -> SyncReport:
                return _run(config, at, staging, chosen, progress, client, trees)

            return leak_review.run(config, source, staging, options, client, compute)
        return _run(config, source, staging, options, progress, client, trees)


def run_locked(
    config: Config, source: Source, staging: pygit2.Repository, options: SyncOptions
) -> SyncReport:
    """``run`` for a caller that holds the lock and the staging repository already (preview,
    which writes the tip out before letting go of them); no forge, no progress line."""
    return _run(config, source, staging, options, None, None)


def _run(  # noqa: PLR0917
    config: Config,
    source: Source,
    staging: pygit2.Repository,
    options: SyncOptions,
    progress: Reporter | None,
    client: httpx.Client | None,
    trees: SharedTrees | None = None,
) -> SyncReport:
    token = None if options.offline else resolve_token(config, client)
    remote = target_remote(config, staging, token)
    if progress is not None:
        remote = dataclasses.replace(remote, live=progress.passthrough)
    pushing = options.push and not options.dry_run
    forge = None
    if pushing and not options.no_pr and not options.init and client is not None:
        forge = make_forge(config, client, token)  # refuses now, before anything is pushed
    review, head_branch = config.review_branch, config.head_branch
    report = SyncReport(source.branch, source.tip, remote.display, review, head_branch)
    report.dry_run = options.dry_run

    tags: dict[str, str] = {}  # offline: the last run kept none; versions come from the branch
    tips: dict[str, str] = {}  # the review and head branches' tips, as fetched
    if options.offline:
        heads = last_seen(staging)
    else:
        heads, tags = remote.refs()
        tips = {b: heads[b] for b in (review, head_branch) if b in heads}
        _fetch_missing(staging, remote, tips, first=True)
    report.review_tip = heads.get(review)
    if options.init and report.review_tip:
        raise PubgateError(
            f"refusing --init, since {review} already exists on the target",
            "--init is only for a first publication; run git pubgate sync without it",
        )
    if forge is not None and report.review_tip is None:
        raise PubgateError(
            f"refusing to sync, since {review} does not exist on the target and a pull request "
            "needs a branch to go into",
            _init_hint(config, review) + "; or create the repository with an initial commit",
        )
    if (
        not options.push
        and not options.init
        and report.review_tip is None
        and forge_kind(config) != "none"
    ):
        report.would_refuse.append(
            Refusal(
                f"{review} does not exist on the target and a pull request needs a branch to "
                "go into",
                _init_hint(config, review, in_plan=True)
                + "; '--no-pr' only pushes the head branch",
            )
        )

    policy = build_policy(config, source.repo)
    rules = policy.rules
    report.secrets_scan = config.secrets_scan
    layout = public_layout(config, source, staging, trees)
    source_tree = _tree(staging, source.tip)
    if layout is not None:
        source_tree = layout(source_tree)  # releases read version files where the public has them
    owned = None
    if config.version is not None:
        # Imported only with releases on: version maths is start-up every other run skips.
        from .release import Owned

        owned = Owned(staging, config.version, source_tree)
        owned.check_public(rules)
    cache_dir = source.state_dir / "cache"
    cache_file = CacheFile(
        cache_dir,
        fingerprint(
            remote.display,
            review,
            config.trailer,
            rules.exclude.lines,
            config.include,
            policy.fingerprint,
            ENGINE_REVISION,  # what an older engine worked out is not this one's
            *((config.root, config.move) if layout is not None else ()),
            *((options.cache_slot,) if options.cache_slot else ()),
        ),
    )
    cache = cache_file.load()
    review_map = _review_map(staging, report.review_tip, config.trailer, cache, cache_dir)
    anchor = None
    if cache.review_tip == report.review_tip and cache.source_tip and cache.source_tip in staging:
        # The same review map as the last run: its answer for its own tip still holds.
        anchor = Anchor(cache.source_tip, SyncState(cache.last_source, cache.last_public))
    state = locate(staging, source.tip, review_map, anchor)
    report.last_synced = state.last_source
    # A partial staging repository (see partial_fetch) gets the trees sync reads, and the
    # files too when releases or keep_public read public files: those first, the trees once
    # the rewrite wrote what it wrote (usually the very trees the review branch holds).
    reads_files = owned is not None or bool(config.keep_public)

    def fetch_public(
        commits: list[str], *, blobs: bool = False, whole: Callable[[bytes], bool] | None = None
    ) -> None:
        if not options.offline:
            partial_fetch.ensure(staging, remote, commits, blobs=blobs, whole=whole)

    def public_tips() -> list[str]:
        return [*tips.values(), *([state.last_public] if state.last_public else [])]

    if reads_files:
        fetch_public(public_tips(), blobs=True)
    root_parent = None
    if report.review_tip and config.trailer and state.last_source is None:
        # The first publication into a branch that already has commits (an initial README):
        # root the public history on its tip, so the pull request is reviewable and mergeable.
        root_parent = report.review_tip
        report.first_publication = True
    elif not report.review_tip:
        report.first_publication = True

    keep = Rules.compile(config.keep_public) if config.keep_public else None
    settings = fingerprint(rewrite_settings(config, source.repo), policy.fingerprint)
    earlier = _Earlier(cache, cache_file, report.review_tip, settings)
    shared_layout = Layout(layout, trees.commits(source.repo, source.git_dir) if trees else None)
    writer = PackWriter(Path(staging.path))
    try:

        def rewrite_from(start: SyncState, parent: str | None, reuse: _Earlier) -> _Rewritten:
            # The same rewrite twice at most: once from the trailers, once more from a squash.
            return _rewrite(
                config,
                source,
                staging,
                writer,
                rules,
                owned,
                keep,
                cache,
                start,
                review_map,
                parent,
                progress,
                reuse,
                layout=shared_layout,
                content=policy.content,
                fetch_public=fetch_public,
            )

        rewritten = rewrite_from(state, root_parent, earlier)
        squash = _find_squash(staging, report.review_tip, config, state, review_map, rewritten)
        if squash is not None:
            # Continue from what the squash holds, as if its message had kept the trailers.
            review_map.newer.update(dict.fromkeys(squash.synced, squash.public))
            state = locate(staging, source.tip, review_map)
            report.last_synced, report.first_publication = state.last_source, False
            if reads_files and state.last_public:
                fetch_public([state.last_public], blobs=True)
            # What earlier runs wrote was written on another state: not reused.
            rewritten = rewrite_from(state, None, dataclasses.replace(earlier, reuse=False))
        writer.commit()
    except BaseException:
        writer.abort()
        raise
    # What the rewrite did not write, for the checks and the push.
    fetch_public(public_tips(), whole=writer.wrote)
    # Said whenever the state rests on such a squash, whether found now or by an earlier run.
    report.squash_without_trailer = lost_trailers.unnamed(staging, state, config.trailer)
    result, base_tree, tip_tree = rewritten.result, rewritten.base, rewritten.tip_tree
    overlay_key = rewritten.key
    report.kept_public = _shown(rewritten.kept)
    report.newly_excluded = _shown(rewritten.deleted)
    if not report.newly_excluded and options.push and not options.dry_run:
        deletion_consent.forget(source.state_dir)  # what was agreed to is deleted, or kept

    report.warnings, seen = _unmatched_patterns(
        config, source, staging, rewritten.rewriter, layout, rewritten.pending.record.seen
    )

    # The pull request holds what earlier runs wrote on top of the review branch, and this
    # run's new commits.
    pending = rewritten.pending
    fresh = _describe(staging, result.created)
    report.head = result.tip
    report.pruned = pending.record.pruned + len(result.pruned)
    report.rewritten = len(result.created) + len(result.pruned) + len(result.converged)
    report.commits = Commits(pending.commits(), fresh)
    fresh_identities = identities_of(staging, [c.public for c in fresh])
    found = _findings(rewritten.rewriter)

    def written() -> Pending:
        """The record with this run's work on top, stored once the run has succeeded."""
        pruned = [(s, rewritten.rewriter.image_of(s)) for s in result.pruned]
        width = len(bytes.fromhex(source.tip))
        return pending.extend(
            result.tip,
            fresh,
            pruned,
            width,
            converged=result.converged,
            seen=seen,
            identities=fresh_identities,
            findings=found,
            trailers_exact=not rewritten.rewriter.trailer_in_text,
        )

    # Public-layout paths (relative to root): they go into the pull request, which must not
    # describe the internal repository's folders. What earlier runs found in the pull
    # request's commits counts too, as when they are all rewritten again.
    found_in_pr = Findings.of(pending.record).merged(found)
    held = held_back_from(
        staging, rules, state.last_source, source.tip, layout, _earlier_held(cache, state, staging)
    )
    report.excluded_paths = sorted(set(held) | found_in_pr.held)
    report.held_back_by_default = policy.by_default(report.excluded_paths)
    report.sections_changed = len(found_in_pr.sectioned)
    report.symlinks_leaving = sorted(found_in_pr.leaving)
    report.divergence = [
        path
        for path in _divergence(staging, report.review_tip, base_tree, result, config)
        if path not in report.newly_excluded  # not public changes: reported on their own
    ]
    if not options.push and report.divergence and report.review_tip:
        from .absorb import waiting

        report.absorb = waiting(config, source, staging, report.review_tip)

    if result.tip is None:
        raise PubgateError(
            f"nothing on {source.branch} is public: every path is excluded",
            f"check exclude/include in {config.path}",
        )
    if _already_public(
        staging, result.tip, bool(report.commits), report.review_tip, bool(config.trailer)
    ):
        report.up_to_date = True
        if owned is not None:
            report.head_branch = None  # no release, so no release branch (and never pubgate/sync)
        _remember(
            cache_file, staging, report, state, tip_tree, overlay_key, review_map, written(), held
        )
        return report
    if report.divergence and not options.allow_divergence:
        shown = ", ".join(quote_path(p) for p in report.divergence[:10])
        more = f" and {len(report.divergence) - 10} more" if len(report.divergence) > 10 else ""
        _refuse(
            report,
            options,
            f"{review} on the target has changes that did not come from the source: {shown}{more}",
            "bring them into the source with 'git pubgate absorb' and merge its branch, or "
            "pass --allow-divergence to keep them on the public side (the pull request will "
            "merge both)",
        )
    _agree_to_deletions(report, options, config, source.state_dir)
    if owned is not None:
        release = _release(
            staging,
            owned,
            config,
            report,
            tags=tags,
            bump=options.bump,
            public_tip=result.tip,
            source_tree=source_tree,
        )
        head_branch = report.head_branch = release.branch
        report.head = release.commit
    # The pull request's earlier commits were read by the runs that wrote them.
    new_commits = [c.public for c in fresh]
    if report.release is not None and report.release.commit:
        new_commits.append(report.release.commit)
    report.new_identities = first_public(
        staging, new_commits, report.review_tip, also=pending.record.identities
    )
    if options.expect_head is not None and report.head != options.expect_head:
        # The leak review approved one commit; anything else must not reach the target.
        raise PubgateError(
            f"refusing to publish, since sync now computes {(report.head or '')[:12]} for "
            f"{report.source_tip[:12]}, not the approved {options.expect_head[:12]}",
            "nothing reached the target; rerun git pubgate sync to stage what the rules "
            "produce now for review",
        )
    assert report.head is not None
    if not options.push:
        report.checks = checks.planned(config, source.state_dir, report.head)
    elif options.init or heads.get(head_branch) != report.head:
        # Nothing leaves before the exact tree that would go out has passed check_commands.
        report.checks = checks.check_before_push(
            config, source.state_dir, staging, report.head, options.check_output, token=token
        )
    # After the checks (uploading objects publishes them), before the branch that names them.
    seen_pointer = policy.content is not None and policy.content.lfs_seen
    _lfs_objects(config, source, staging, remote, report, result, heads, options, seen_pointer)
    try:
        if options.init:
            if pushing:
                # The one deliberate exception to the review gate, asked for by name.
                assert report.head is not None
                remote.push(report.head, review, None)
                report.pushed_to_review = True
        elif heads.get(head_branch) == report.head:
            report.already_pushed = True
        elif pushing:
            assert report.head is not None
            remote.push(report.head, head_branch, heads.get(head_branch))
            report.pushed = True
    except PubgateError as e:
        raise _with_progress(
            e, "nothing reached the target; the rewrite is kept, so a rerun only retries the push"
        ) from e
    _remember(
        cache_file, staging, report, state, tip_tree, overlay_key, review_map, written(), held
    )
    try:
        if forge is not None:
            # Also when the branch was already pushed: a run stopped between push and pull
            # request is completed by the next one.
            title, body = pull_request_text(report, config.pr_title, config.pr_body)
            extras = PullRequestOptions(config.pr_labels, config.pr_reviewers, config.pr_draft)
            pull = forge.open_or_update(head_branch, review, title, body, extras)
            report.pull_request = {"number": pull.number, "url": pull.url, "created": pull.created}
        if owned is not None and pushing and not options.init:
            _retire_superseded(staging, remote, forge, config, heads, report)
    except PubgateError as e:
        done = f"the push is done ({head_branch} at {(report.head or '')[:12]})"
        raise _with_progress(e, f"{done}, so a rerun only finishes the pull request") from e
    return report


def _lfs_objects(  # noqa: PLR0917
    config: Config,
    source: Source,
    staging: pygit2.Repository,
    remote: Remote,
    report: SyncReport,
    result: RewriteResult,
    heads: dict[str, str],
    options: SyncOptions,
    seen_pointer: bool,
) -> None:
    """Before the push: the Git LFS objects the new pointers name go to the target's store."""
    from .lfs_publish import maybe_lfs, plan_refusal, publish_objects

    assert report.head is not None
    if not maybe_lfs(staging, report.head, seen_pointer, source.state_dir):
        return
    pushed = heads.get(report.head_branch or "") if not options.init else None
    send = options.push and not options.dry_run and pushed != report.head
    known = [tip for tip in (report.review_tip, pushed) if tip]
    found = publish_objects(
        config,
        source,
        staging,
        remote,
        tip=report.head,
        known=known,
        created=result.created,
        send=send,
    )
    report.lfs = found.to_json() if found is not None else None
    refusal = plan_refusal(found) if not options.push else None
    if refusal is not None:
        report.would_refuse.append(Refusal(*refusal))


@dataclass
class _Rewritten:
    result: RewriteResult
    rewriter: Rewriter
    base: bytes | None  # the public tree of the last synced source commit, by today's rules
    tip_tree: bytes
    key: str | None  # which overlays the public trees were computed with (for the cache)
    kept: list[bytes]  # public files the rules exclude now, kept as they are (keep_public)
    deleted: list[bytes]  # public files the rules exclude now, deleted by this pull request
    pending: Pending  # what earlier runs wrote on top of the review branch, reused here


@dataclass
class _Earlier:
    """Where to find what earlier runs wrote on top of the review branch (see ``_pending``)."""

    cache: SyncCache
    cache_file: CacheFile
    review_tip: str | None
    settings: str  # fingerprint of every setting that decides public ids
    reuse: bool = True


def _rewrite(  # noqa: PLR0917
    config: Config,
    source: Source,
    staging: pygit2.Repository,
    writer: PackWriter,
    rules: Rules,
    owned: Owned | None,
    keep: Rules | None,
    cache: SyncCache,
    state: SyncState,
    review_map: ReviewMap,
    root_parent: str | None,
    progress: Reporter | None,
    earlier: _Earlier,
    *,
    layout: Layout,
    content: ContentPolicy | None = None,
    fetch_public: Callable[[list[str]], None] = lambda commits: None,
) -> _Rewritten:
    """Rewrite the source commits after ``state``, with the overlays that state calls for,
    reusing the commits earlier runs wrote for the same inputs.

    ``fetch_public`` gets what a partial staging repository lacks of public commits' trees.
    """
    published = _tree(staging, state.last_public) if state.last_public else None
    # Once a release is public, synced commits carry its version files and changelog.
    overlay: Overlay | None = owned.overlay(published) if owned and published else None
    kept = keep_public.kept(staging, published, rules, keep) if keep and published else {}
    if kept:
        # Kept files go out as public has them: the filter lets exactly those paths through.
        overlay = keep_public.Chained(overlay, KeepOverlay(staging, kept))
        rules = rules.keeping(kept)
    key = overlay.key if overlay else None
    pending = _pending(staging, earlier, state, root_parent, key)
    quoted_ids = None
    if config.rewrite_ids:
        # Quoted ids of commits published by earlier runs: in their trailers, or in the record
        # of what earlier runs wrote for the pull request.
        quoted_ids = QuotedIds(
            staging, source.tip, lambda c: review_map.get(c) or pending.published(c)
        )
    rewriter, base = _start(
        config,
        source,
        staging,
        writer,
        rules,
        overlay,
        cache,
        state,
        quoted_ids,
        layout=layout,
        content=content,
    )
    deleted: list[bytes] = []
    if base is not None and published is not None and base != published:
        assert state.last_public is not None
        fetch_public([state.last_public])  # not the tree this rewrite made: read it
        deleted = keep_public.newly_excluded(staging, published, rules)
    if pending.record.created or pending.record.pruned:
        rewriter.reuse(pending)
    on_commit = None
    if progress is not None:
        on_commit = _progress_counter(progress, staging, source.tip)
    result = rewriter.rewrite(
        source.tip,
        review_map,
        lambda commit: review_map.image_of_ancestor(staging, commit),
        root_parent=root_parent,
        on_commit=on_commit,
    )
    tip_tree = rewriter.filtered_tree_of(source.tip)
    return _Rewritten(result, rewriter, base, tip_tree, key, list(kept), deleted, pending)


def _start(  # noqa: PLR0917
    config: Config,
    source: Source,
    staging: pygit2.Repository,
    writer: PackWriter,
    rules: Rules,
    overlay: Overlay | None,
    cache: SyncCache,
    state: SyncState,
    quoted_ids: QuotedIds | None,
    *,
    layout: Layout,
    content: ContentPolicy | None = None,
) -> tuple[Rewriter, bytes | None]:
    """A rewriter, seeded from the cache when it was computed the same way; the base tree."""
    rewriter = Rewriter(
        staging,
        rules,
        writer,
        config.trailer,
        messages=_message_policy(config),
        people=_people(config, source.repo),
        overlay=chain(layout.trees, overlay),
        commits=layout.commits,
        content=content,
        quoted_ids=quoted_ids,
    )
    seed_source, seed_tree = cache.source_tip, cache.public_tree
    seeded = False
    if (
        cache.overlay == (overlay.key if overlay else None)
        and seed_source
        and seed_tree
        and seed_source in staging
        and seed_tree in staging
    ):
        rewriter.seed_from(seed_source, seed_tree)
        seeded = True
    base = None
    if state.last_source:
        # Unseeded, this filters the whole tree: one git grep first spares reading most files.
        base = rewriter.filtered_tree_of(state.last_source, whole=not seeded)
    # What the content rules found below counts the new commits' files only.
    rewriter.trees.sectioned.clear()
    rewriter.trees.held_by_content.clear()
    return rewriter, base


def _find_squash(  # noqa: PLR0917
    staging: pygit2.Repository,
    review_tip: str | None,
    config: Config,
    state: SyncState,
    review_map: ReviewMap,
    done: _Rewritten,
) -> SquashMatch | None:
    """A squash merge without trailers on the review branch, when one holds a new commit."""
    if review_tip is None or config.trailer is None or not done.result.created:
        return None
    if state.last_public is not None and _tree(staging, review_tip) == _tree(
        staging, state.last_public
    ):
        return None  # the review branch holds what the trailers say: nothing was lost
    return lost_trailers.find(
        staging,
        review_tip,
        state.last_public,
        done.result.created,
        done.rewriter.public_tree_of,
        review_map.sources(),
        absorbed=[public for _, public in done.result.converged],
    )


def _unmatched_patterns(  # noqa: PLR0917
    config: Config,
    source: Source,
    staging: pygit2.Repository,
    rewriter: Rewriter,
    layout: Callable[[bytes], bytes] | None,
    earlier: Mapping[str, str],
) -> tuple[list[str], dict[str, str]]:
    """Warnings for patterns that match nothing, and the matches found in rewritten commits.

    ``earlier``: such matches in the commits earlier runs wrote for the pull request, which
    this run did not walk again.
    """
    patterns = PatternCheck(config.exclude, config.include)
    patterns.see(earlier.values())
    patterns.see(rewriter.trees.paths_seen())
    seen = dict(patterns.witnesses)
    memory = source.state_dir / "patterns.json"
    known = load_witnesses(memory)
    # Patterns are written for the public layout: look at the tip's tree as it is published.
    tip = layout(_tree(staging, source.tip)).hex() if layout is not None else source.tip
    patterns.see_witnesses(staging, tip, known)
    patterns.see_tree(Path(staging.path), tip)
    if patterns.witnesses.items() - known.items():
        save_witnesses(memory, {**known, **patterns.witnesses})
    return patterns.warnings(), seen


def _findings(rewriter: Rewriter) -> Findings:
    """What the content rules and the tree guard found in the files of this run's commits."""

    def text(path: bytes) -> str:
        return path.decode("utf-8", "surrogateescape")

    return Findings(
        frozenset(map(text, rewriter.trees.held_by_content)),
        frozenset(map(text, rewriter.trees.sectioned)),
        frozenset((text(p), text(t)) for p, t in rewriter.guard.leaving.items()),
    )


@dataclass(frozen=True)
class Layout:
    """How a target's rewrite reads the source: its public layout, and the shared commits."""

    trees: Callable[[bytes], bytes] | None = None
    commits: CommitSource | None = None


def _shown(paths: Iterable[bytes]) -> list[str]:
    return sorted(p.decode("utf-8", "surrogateescape") for p in paths)


def _agree_to_deletions(
    report: SyncReport, options: SyncOptions, config: Config, state_dir: Path
) -> None:
    """Refuse to delete newly excluded public paths unless --delete-excluded, now or on an
    earlier run, agreed to delete each of them (see ``deletion_consent``)."""
    if not report.newly_excluded:
        return
    if options.delete_excluded:
        if options.push and not options.dry_run:
            deletion_consent.remember(state_dir, report.newly_excluded)
        return
    agreed = deletion_consent.agreed(state_dir)
    asked = [p for p in report.newly_excluded if p not in agreed]
    if asked:
        _refuse(report, options, *_deletion_refusal(asked, report.review_branch, config))


def _deletion_refusal(paths: list[str], review: str, config: Config) -> tuple[str, str]:
    shown = ", ".join(quote_path(p) for p in paths[:10])
    shown += f" and {len(paths) - 10} more" if len(paths) > 10 else ""
    is_, it = ("is", "it") if len(paths) == 1 else ("are", "them")
    return (
        f"{shown} {is_} public on {review} and excluded now: the next pull request would "
        f"delete {it} from {review}, and public history keeps {it} ('git pubgate audit' lists "
        "where)",
        f"to keep {it} public as {review} has {it}, add {it} to keep_public in {config.path}; "
        f"to delete {it} from {review}, pass --delete-excluded (once: later runs go on "
        "deleting what it agreed to until that pull request is merged)",
    )


def _refuse(report: SyncReport, options: SyncOptions, reason: str, hint: str) -> None:
    """Refuse to sync; a plan, which pushes nothing, says instead that sync would refuse."""
    if options.push:
        raise PubgateError(f"refusing to sync since {reason}", hint)
    report.would_refuse.append(Refusal(reason, hint))


def _with_progress(error: PubgateError, done: str) -> PubgateError:
    """The same error, its hint saying first what was already done and what a rerun does."""
    hint = f"{done}. {error.hint[0].upper()}{error.hint[1:]}" if error.hint else done
    return PubgateError(error.message, hint, exit_code=error.exit_code)


def _tree(repo: pygit2.Repository, commit: str) -> bytes:
    return bytes(repo[commit].peel(pygit2.Commit).tree_id.raw)


def _release(
    staging: pygit2.Repository,
    owned: Owned,
    config: Config,
    report: SyncReport,
    *,
    tags: dict[str, str],
    bump: str | None,
    public_tip: str,
    source_tree: bytes,
) -> ReleasePlan:
    """Decide the version and write the release commit on top of the synced commits."""
    from .release import changes_of, plan, write_commit

    review_tree = _tree(staging, report.review_tip) if report.review_tip else None
    decided = plan(
        owned,
        tags=tags,
        review_tree=review_tree,
        source_tree=source_tree,
        changes=changes_of(staging, [c.public for c in report.commits]),
        bump=bump,
        branch_prefix=config.branch_prefix,
    )
    assert config.trailer is not None  # the config refuses versions without trailers
    decided.commit = write_commit(
        staging,
        owned,
        decided,
        parent=public_tip,
        when=staging[report.source_tip].peel(pygit2.Commit).committer.time,
        committer=config.committer,
        trailer=config.trailer,
        source_tip=report.source_tip,
    )
    report.release = decided
    return decided


def _retire_superseded(  # noqa: PLR0917
    staging: pygit2.Repository,
    remote: Remote,
    forge: Forge | None,
    config: Config,
    heads: dict[str, str],
    report: SyncReport,
) -> None:
    """Close the pull requests of older release branches this one replaces, and delete them.

    A branch already merged into the review branch is left alone. One whose pull request is
    closed already goes too: a run killed between closing and deleting leaves exactly that.
    A tip staging lacks is not merged, since fetching the review branch brought all of its
    history.
    """
    from .release import RELEASE_BRANCH

    prefix = f"{config.branch_prefix}{RELEASE_BRANCH}"
    for branch, tip in sorted(heads.items()):
        if not branch.startswith(prefix) or branch == report.head_branch:
            continue
        closed = None
        if forge is not None and report.pull_request is not None:
            note = (
                f"Superseded by {report.pull_request['url']} "
                f"({report.head_branch}), opened by git-pubgate."
            )
            closed = forge.close_superseded(branch, config.review_branch, note)
        merged = (
            tip in staging
            and report.review_tip is not None
            and (tip == report.review_tip or staging.descendant_of(report.review_tip, tip))
        )
        if closed is not None or not merged:
            remote.delete(branch, tip)
            report.superseded.append(branch)


def _progress_counter(
    progress: Reporter, staging: pygit2.Repository, tip: str
) -> Callable[[int, int | None], None]:
    """Progress for the rewrite; a first sync's total comes from git, which counts fast."""
    counted: list[int | None] = []

    def report(done: int, total: int | None) -> None:
        if total is None:
            if not counted:
                counted.append(_count_all(staging, tip))
            total = counted[0]
        progress(done, total)

    return report


def _count_all(staging: pygit2.Repository, tip: str) -> int | None:
    done = subprocess.run(
        ["git", "--git-dir", staging.path, "rev-list", "--count", tip],
        capture_output=True,
        text=True,
        check=False,
    )
    return int(done.stdout) if done.returncode == 0 and done.stdout.strip().isdigit() else None


def _message_policy(config: Config) -> MessagePolicy:
    return MessagePolicy.compile(
        config.scrub, config.keep_only, config.forbid, config.default_scrub, config.fallback
    )


def _people(config: Config, source: pygit2.Repository) -> People:
    mailmap = None
    if config.authors_mailmap:
        resolved = pygit2.Mailmap.from_repository(source)
        mailmap = resolved.resolve
    return People.compile(dict(config.authors_map), config.authors_fail_on, mailmap)


def last_seen(staging: pygit2.Repository) -> dict[str, str]:
    """The target's branches as the last run that read the target fetched them."""
    return {
        ref.removeprefix(TARGET_NS): str(staging.references[ref].target)
        for ref in staging.references
        if ref.startswith(TARGET_NS)
    }


def _fetch_missing(
    staging: pygit2.Repository, remote: Remote, heads: dict[str, str], *, first: bool = False
) -> None:
    """Fetch the target's branches, skipping any whose tip the staging repository has.

    With ``first``, an empty staging repository gets the commits only (``partial_fetch``).
    Branches at one commit (the review branch and the head branch once a pull request was
    merged by fast-forward) are fetched once: a second branch costs git a second look at all
    it fetched (0.09 s of CPU for a fresh clone of 50,000 commits).
    """
    missing: dict[str, list[str]] = {}  # tip -> the branches at it
    for branch, oid in heads.items():
        if oid in staging:  # usually a commit this tool wrote and a fast-forward published
            staging.references.create(f"{TARGET_NS}{branch}", oid, force=True)
        else:
            missing.setdefault(oid, []).append(branch)
    fetched = {branches[0]: oid for oid, branches in missing.items()}
    if not (first and partial_fetch.fetch_first(staging, remote, fetched)):
        partial_fetch.fetch(staging, remote, [_refspec(branch) for branch in fetched])
    late = []
    for oid, branches in missing.items():
        for branch in branches[1:]:
            if oid in staging:
                staging.references.create(f"{TARGET_NS}{branch}", oid, force=True)
            else:  # the fetch found the first branch moved on: fetch this one as it is now
                late.append(_refspec(branch))
    partial_fetch.fetch(staging, remote, late)


def _refspec(branch: str) -> str:
    return f"+refs/heads/{branch}:{TARGET_NS}{branch}"


def _review_map(
    staging: pygit2.Repository,
    review_tip: str | None,
    trailer: str | None,
    cache: SyncCache,
    cache_dir: Path,
) -> ReviewMap:
    """Every source commit the review branch names: the stored map and the commits since it,
    or (no usable cache) every trailer of the review branch's history."""
    if review_tip is None or trailer is None:
        return ReviewMap(None, {})
    last, name = cache.review_tip, cache.review_map
    stored = commit_map.load(cache_dir / name) if name and "/" not in name else None
    record = PendingRecord.from_dict(cache.pending)
    merged = first_publication_merged(staging, review_tip, trailer, last, stored, record, cache_dir)
    if merged is not None:
        return merged
    if stored is not None and last and last in staging:
        newer = read_synced_since(staging, review_tip, trailer, last)
        if newer is not None:
            return ReviewMap(stored, newer, name)
    return ReviewMap(None, read_synced(staging, review_tip, trailer))


def _pending(
    staging: pygit2.Repository,
    earlier: _Earlier,
    state: SyncState,
    root_parent: str | None,
    overlay_key: str | None,
) -> Pending:
    """What earlier runs wrote on top of the review branch, when this run would write the same.

    The key covers every input of those commits. The source branch must have only grown since
    (``state.anchored``): after a reset, some of them are no longer part of what this run
    publishes. Their objects must still be in staging: a ref keeps them from a repack, and a
    cache restored without staging has lost them.
    """
    key = fingerprint(earlier.review_tip, root_parent, overlay_key, earlier.settings)
    directory, stem = earlier.cache_file.path.parent, earlier.cache_file.path.stem
    record = PendingRecord.from_dict(earlier.cache.pending)
    empty = Pending.empty(directory, stem, key, root_parent)
    if record is None or record.key != key or not state.anchored or not earlier.reuse:
        return empty
    if record.tip is not None and record.tip not in staging:
        return empty
    return Pending.load(directory, stem, record) or empty


def _remember(  # noqa: PLR0917
    cache_file: CacheFile,
    staging: pygit2.Repository,
    report: SyncReport,
    state: SyncState,
    tree: bytes,
    overlay: str | None,
    review_map: ReviewMap,
    written: Pending,
    held: list[str],
) -> None:
    directory, stem = cache_file.path.parent, cache_file.path.stem
    name = review_map.stored_name if not review_map.newer else None
    if report.review_tip is not None and name is None:
        width = len(bytes.fromhex(report.source_tip))
        name = commit_map.save(
            directory, stem, CommitMap.build(review_map.newer, width, review_map.stored)
        )
    if written.record.tip is not None:
        # Keeps every pending public commit reachable, so staging's repack never drops them.
        staging.references.create(f"{WRITTEN_NS}{stem}", written.record.tip, force=True)
    cache_file.save(
        SyncCache(
            review_tip=report.review_tip,
            review_map=name,
            source_tip=report.source_tip,
            last_source=state.last_source,
            last_public=state.last_public,
            public_tree=tree.hex(),
            overlay=overlay,
            pending=dataclasses.asdict(written.record),
            held_back={"since": state.last_source, "tip": report.source_tip, "paths": held},
        )
    )
    commit_map.prune(directory, stem, name)
    written.tidy()


def _earlier_held(
    cache: SyncCache, state: SyncState, staging: pygit2.Repository
) -> tuple[str, list[str]] | None:
    """The last run's held-back list, when it was computed from the same last synced commit."""
    held = cache.held_back
    if not isinstance(held, dict) or held.get("since") != state.last_source:
        return None
    tip, paths = held.get("tip"), held.get("paths")
    if not isinstance(tip, str) or not isinstance(paths, list):
        return None
    if not all(isinstance(p, str) for p in paths):
        return None
    try:
        return (tip, paths) if tip in staging else None
    except ValueError:  # not an object id: a damaged cache
        return None


def _already_public(
    repo: pygit2.Repository, tip: str, created: bool, review_tip: str | None, trailers: bool
) -> bool:
    if not created:
        return True
    if trailers:
        # A commit the review branch holds is named by its trailer, so it was not created.
        # (Asking git instead is a merge-base search across the history.)
        return False
    # Without trailers every run rewrites everything; the ids are stable, so the review branch
    # may already hold the result.
    return review_tip is not None and (
        tip == review_tip or bool(repo.descendant_of(review_tip, tip))
    )


def _describe(repo: pygit2.Repository, created: list[tuple[str, str]]) -> list[PublicCommit]:
    out = []
    for source, public in created:
        # The public commit's words and people: what the pull request and the report show.
        commit = repo[public].peel(pygit2.Commit)
        subject = commit.raw_message.split(b"\n", 1)[0].decode("utf-8", "replace")
        author = commit.author.raw_name.decode("utf-8", "replace")
        out.append(PublicCommit(source, public, subject, author))
    return out


def _divergence(
    repo: pygit2.Repository,
    review_tip: str | None,
    base_tree: bytes | None,
    result: Any,
    config: Config,
) -> list[str]:
    """Paths where the review branch differs from what the source last published."""
    if review_tip is None:
        return []
    if base_tree is None and config.trailer:
        # First publication: nothing was published from the source yet. Said before asking
        # git about ancestry, which here is a merge-base search through the whole new history.
        return []
    tip = result.tip
    if tip is not None and (tip == review_tip or repo.descendant_of(tip, review_tip)):
        return []  # the new history contains the review branch (absorbed contributions)
    if base_tree is None:
        base_tree = _trailerless_base(repo, review_tip, result)
        if base_tree is None:
            return []
    tip_tree = repo[review_tip].peel(pygit2.Commit).tree
    if tip_tree.id.raw == base_tree:
        return []
    base = repo[pygit2.Oid(raw=base_tree)].peel(pygit2.Tree)
    diff = base.diff_to_tree(tip_tree)
    paths = set()
    for delta in diff.deltas:
        paths.add(delta.old_file.path)
        paths.add(delta.new_file.path)
    return sorted(paths)


def _trailerless_base(repo: pygit2.Repository, review_tip: str, result: Any) -> bytes | None:
    """Without trailers, the newest review-branch commit that this rewrite also produced."""
    ours = {public for _, public in result.created}
    if not ours:
        return None
    for commit in repo.walk(review_tip, SortMode.TOPOLOGICAL):
        if str(commit.id) in ours:
            return bytes(commit.tree_id.raw)
    return None
