"""``git pubgate absorb``: public contributions back into the source, with their authors.

Each public commit ``P`` that sync did not produce becomes one internal commit on top of the
internal image of ``P``'s parents: that image's tree with ``P``'s changes to public paths
applied (see ``replay``), ``P``'s author, committer, dates and message, plus a
``Pubgate-Absorbed: P`` trailer. After each one, filtering its tree must give exactly ``P``'s
tree: that round trip is what lets the next sync map it back onto ``P`` instead of publishing a
duplicate. The commits go to the branch ``<branch_prefix>absorb`` of the source repository, to be
merged there like any other branch; nothing else in the source is touched.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pygit2

if TYPE_CHECKING:
    import httpx

from . import absorb_state, partial_fetch
from .absorb_merge import ConflictError, Publish, SectionMerge, has_conflict_markers
from .absorb_scan import Scan, scan
from .absorb_state import AbsorbState
from .config import Config
from .content import ContentError
from .errors import PubgateError
from .forge import (
    PullRequestOptions,
    resolve_token,
)
from .gitio import Remote, failure_detail
from .layout import path_map, public_layout
from .lfs_absorb import bring_back
from .lock import WAIT_SECONDS
from .objects import OBJ_COMMIT, PackWriter, RawCommit, object_id
from .policy import Policy
from .policy import build as build_policy
from .procs import tied
from .quoting import quote_path
from .release import Owned
from .replay import RefusedChangeError, TreeReplay, differing_paths
from .report import ends_json
from .rewrite import Rewriter
from .source_remote import hand_to_source, source_forge, source_remote
from .sync import _fetch_missing, target_remote
from .trailer import ABSORBED_TRAILER, add_trailer
from .workspace import Source, locked_staging, open_source

ABSORB_BRANCH = "absorb"  # after branch_prefix: pubgate/absorb
STAGED_REF = "refs/pubgate/absorb"  # the branch as built, in staging, before it is handed over
SOURCE_NS = "refs/pubgate/source/"  # the source remote's absorb branch, fetched into staging


@dataclass(frozen=True)
class AbsorbOptions:
    dry_run: bool = False
    no_pr: bool = False
    resume: bool = False  # --continue: take the resolved file, go on
    abort: bool = False  # --abort: forget a stopped absorb


@dataclass
class AbsorbedCommit:
    public: str
    internal: str
    subject: str
    author: str


@dataclass
class AbsorbReport:
    """What an absorb found and did; ``to_json`` is the stable ``--json`` form."""

    source_branch: str
    source_tip: str
    target: str
    review_branch: str
    branch: str
    review_tip: str | None = None
    head: str | None = None
    commits: list[AbsorbedCommit] = field(default_factory=list)
    already_absorbed: int = 0
    up_to_date: bool = False
    written: bool = False  # the branch was created or moved in the source repository
    pushed: bool = False  # ... and pushed to the source's remote
    dry_run: bool = False
    pull_request: dict[str, Any] | None = None
    aborted: bool = False  # --abort found a stopped absorb and removed it

    def to_json(self) -> dict[str, Any]:
        return {
            **ends_json(self),
            "branch": self.branch,
            "head": self.head,
            "commits": [
                {
                    "public": c.public,
                    "internal": c.internal,
                    "subject": c.subject,
                    "author": c.author,
                }
                for c in self.commits
            ],
            "already_absorbed": self.already_absorbed,
            "up_to_date": self.up_to_date,
            "written": self.written,
            "pushed": self.pushed,
            "dry_run": self.dry_run,
            "pull_request": self.pull_request,
            "aborted": self.aborted,
        }


def branch_name(config: Config) -> str:
    # Targets share the source repository: each absorbs into a branch of its own.
    suffix = f"-{config.name}" if config.name else ""
    return f"{config.branch_prefix}{ABSORB_BRANCH}{suffix}"


def run(
    config: Config,
    cwd: Path,
    options: AbsorbOptions,
    client: httpx.Client | None = None,
    *,
    lock_wait: float = WAIT_SECONDS,
    on_lock_wait: Callable[[], None] | None = None,
) -> AbsorbReport:
    """Absorb the waiting public commits into the source's absorb branch; report what happened."""
    source = open_source(config, cwd)
    with locked_staging(source, wait=lock_wait, on_wait=on_lock_wait) as staging:
        if options.abort:
            return _abort(config, source)
        state = absorb_state.load(source.git_dir) or AbsorbState()
        content = _content(config, source, staging)
        if options.resume:
            _take_resolution(staging, source.git_dir, state, content)
        elif state.stop is not None:
            stop = state.stop
            raise PubgateError(
                f"an absorb is stopped at {stop.public[:12]}, where {stop.path} needs resolving",
                f"edit {absorb_state.work_file(source.git_dir, stop.path)}, then run 'git pubgate "
                "absorb --continue'; or 'git pubgate absorb --abort' to give up",
            )
        _restore_resolutions(staging, source.git_dir, state)
        merge = SectionMerge(staging, content, state) if content is not None else None
        try:
            report = _run(config, source, staging, options, client, merge)
        except ConflictError as e:
            assert merge is not None
            raise _stop(source.git_dir, state, merge.public, e) from None
        absorb_state.clear(source.git_dir)
        return report


def _content(config: Config, source: Source, staging: pygit2.Repository) -> Publish | None:
    """The filter's content transform of one file (sections, replacements), or None."""
    content = build_policy(config, source.repo, scan=False).content
    if content is None:
        return None

    def read(blob: bytes) -> bytes:
        return bytes(staging.odb.read(pygit2.Oid(raw=blob))[1])

    def write(data: bytes) -> bytes:
        return bytes(staging.odb.write(pygit2.enums.ObjectType.BLOB, data).raw)

    def publish(path: bytes, blob: bytes) -> bytes | None:
        try:
            return content.publish(path, b"100644", blob, read, write).blob
        except ContentError:
            return None  # it cannot be published at all, so it never publishes back

    return publish


def _abort(config: Config, source: Source) -> AbsorbReport:
    target = Remote(url=config.target_repo or "", git_dir=source.git_dir).display
    report = AbsorbReport(
        source.branch, source.tip, target, config.review_branch, branch_name(config)
    )
    if not absorb_state.clear(source.git_dir):
        raise PubgateError(
            "no absorb is stopped, so there is nothing to abort",
            "git pubgate absorb writes its branch only once every commit is replayed",
        )
    report.aborted = True
    return report


def _take_resolution(
    staging: pygit2.Repository, git_dir: Path, state: AbsorbState, content: Publish | None
) -> None:
    """Record the person's resolution of the stopped file, if it is one (``--continue``)."""
    stop = state.stop
    if stop is None:
        raise PubgateError(
            "no absorb is stopped, so there is nothing to continue", "run git pubgate absorb"
        )
    where = absorb_state.work_file(git_dir, stop.path)
    try:
        data = where.read_bytes()
    except OSError as e:
        raise PubgateError(
            f"cannot read the file to resolve, {where}: {e.strerror}",
            "resolve the conflict in that file, or run git pubgate absorb --abort",
        ) from e
    markers = has_conflict_markers(data)
    if markers:
        raise PubgateError(
            f"{where} still holds conflict markers (line {markers[0]})",
            "remove them, keeping what the file should say, then run --continue again",
        )
    blob = bytes(staging.odb.write(pygit2.enums.ObjectType.BLOB, data).raw)
    published = content(stop.path.encode("utf-8", "surrogateescape"), blob) if content else blob
    if published != bytes.fromhex(stop.theirs):
        raise PubgateError(
            f"the resolved {stop.path} does not publish back to the file of {stop.public[:12]}",
            "its public text (without the internal sections) must be exactly the contributor's; "
            "edit it again, then run --continue",
        )
    absorb_state.keep_blob(git_dir, blob, data)
    state.resolutions[AbsorbState.key(stop.public, stop.path)] = blob.hex()
    state.stop = None
    absorb_state.save(git_dir, state)


def _restore_resolutions(staging: pygit2.Repository, git_dir: Path, state: AbsorbState) -> None:
    """Put resolved files back into staging: a fresh staging repository lacks them."""
    for blob in state.resolutions.values():
        if pygit2.Oid(hex=blob) not in staging.odb:
            staging.odb.write(pygit2.enums.ObjectType.BLOB, absorb_state.kept_blob(git_dir, blob))


def _stop(git_dir: Path, state: AbsorbState, public: str, error: ConflictError) -> PubgateError:
    """Leave the conflicted file for a person and say where it is."""
    path = error.path.decode("utf-8", "surrogateescape")
    state.stop = absorb_state.Stop(
        public, path, error.ours.hex(), error.base.hex(), error.theirs.hex()
    )
    where = absorb_state.work_file(git_dir, path)
    where.parent.mkdir(parents=True, exist_ok=True)
    where.write_bytes(error.merged)
    absorb_state.save(git_dir, state)
    lines = has_conflict_markers(error.merged)
    hunk = f" (conflict markers at lines {lines[0]}-{lines[-1]})" if lines else ""
    return PubgateError(
        f"absorb stopped at {public[:12]}: {path} {error.why}{hunk}",
        f"edit {where} so that it is the internal file with the contribution in it, then run "
        "'git pubgate absorb --continue'; 'git pubgate absorb --abort' gives up",
    )


def _run(  # noqa: PLR0917
    config: Config,
    source: Source,
    staging: pygit2.Repository,
    options: AbsorbOptions,
    client: httpx.Client | None,
    merge: SectionMerge | None,
) -> AbsorbReport:
    if config.trailer is None:
        raise PubgateError(
            "absorb needs sync's trailers to tell its commits from contributions, and "
            "message.trailer is false",
            f"remove 'trailer: false' from {config.path}",
        )
    branch = branch_name(config)
    remote = target_remote(config, staging, resolve_token(config, client))
    report = AbsorbReport(source.branch, source.tip, remote.display, config.review_branch, branch)
    report.dry_run = options.dry_run
    internal_remote = source_remote(config, staging)
    forge = None
    if (
        internal_remote is not None
        and not options.dry_run
        and not options.no_pr
        and client is not None
    ):
        forge = source_forge(config, client)  # refuses now, before anything is written

    heads = remote.heads([config.review_branch])
    # Absorb reads the public commits' files: a staging repository that has only the
    # commits of the target's history (partial_fetch) gets the rest first.
    partial_fetch.make_whole(staging, remote)
    _fetch_missing(staging, remote, heads)
    report.review_tip = heads.get(config.review_branch)
    if report.review_tip is None:
        raise PubgateError(
            f"there is nothing to absorb, since {config.review_branch} does not exist on the "
            "target",
            "run git pubgate sync first",
        )
    open_tips, remote_branch_tip = _open_branch(staging, source, internal_remote, branch)

    policy = build_policy(config, source.repo, scan=False)
    rules = policy.rules
    layout = public_layout(config, source, staging)
    owned = _owned_paths(config, staging, source.tip, layout)
    with _filter(staging, policy, layout) as public_tree:
        checker = _RoundTrip(staging, public_tree, owned)
        found = scan(
            staging,
            report.review_tip,
            config.trailer,
            checker.own,
            [source.tip, *open_tips],
        )
        if not found.synced_any:
            raise PubgateError(
                f"refusing to absorb, since {config.review_branch} on the target holds no "
                "commit synced from the source",
                "absorb brings back contributions made on top of synced history; run git "
                "pubgate sync first",
            )
        _check_absorbed(staging, found, checker, report.review_tip)
        report.already_absorbed = len(found.absorbed)
        paths = path_map(config)
        mapped = not paths.is_identity
        replay = TreeReplay(
            staging,
            rules,
            owned,
            reverse=paths.reverse if mapped else None,
            forward=paths.forward if mapped else None,
            merge=merge,
        )
        for public in found.waiting:
            if merge is not None:
                merge.public = public
            internal = _replay_one(staging, public, found, replay, checker, public_tree)
            found.image[public] = internal
            report.commits.append(_describe(staging, public, internal))
    if not found.waiting:
        report.up_to_date = True
        report.head = found.image.get(report.review_tip)
        return report
    report.head = found.image[report.review_tip]
    if options.dry_run:
        return report
    # The objects of contributed LFS pointers, before any branch that names them is written.
    bring_back(
        source, staging, remote, internal_remote, tip=report.head, known=[source.tip, *open_tips]
    )
    _hand_over(staging, source, branch, report.head, report)
    if internal_remote is not None:
        if remote_branch_tip != report.head:
            internal_remote.push(report.head, branch, remote_branch_tip)
            report.pushed = True
        if forge is not None:
            title, body = _pull_request_text(report)
            pull = forge.open_or_update(branch, source.branch, title, body, PullRequestOptions())
            report.pull_request = {"number": pull.number, "url": pull.url, "created": pull.created}
    return report


def waiting(
    config: Config, source: Source, staging: pygit2.Repository, review_tip: str
) -> list[AbsorbedCommit]:
    """The public commits a run of absorb would bring in now (for plan); internal ids empty.

    Refusals are absorb's business: plan lists what waits, and absorb says what it cannot take.
    """
    if config.trailer is None:
        return []
    tips = [source.tip]
    local = source.repo.references.get(f"refs/heads/{branch_name(config)}")
    if local is not None:
        tips.append(str(local.peel(pygit2.Commit).id))
    layout = public_layout(config, source, staging)
    with _filter(staging, build_policy(config, source.repo, scan=False), layout) as public_tree:
        owned = _owned_paths(config, staging, source.tip, layout)
        checker = _RoundTrip(staging, public_tree, owned)
        found = scan(staging, review_tip, config.trailer, checker.own, tips)
    if not found.synced_any:
        return []
    return [_describe(staging, public, "") for public in found.waiting]


def _describe(staging: pygit2.Repository, public: str, internal: str) -> AbsorbedCommit:
    commit = staging[public].peel(pygit2.Commit)
    return AbsorbedCommit(
        public,
        internal,
        commit.raw_message.split(b"\n", 1)[0].decode("utf-8", "replace"),
        commit.author.raw_name.decode("utf-8", "replace"),
    )


class _RoundTrip:
    """Compares the public tree of an internal tree with a public commit's tree.

    Release-owned files (version files, changelog) are compared apart: sync overlays them with
    the released versions, so the internal ones legitimately differ there.
    """

    def __init__(self, repo: pygit2.Repository, public_tree: _PublicTree, owned: frozenset[str]):
        self._repo = repo
        self._public_tree = public_tree
        self._owned = owned

    def tree_of(self, commit: str) -> bytes:
        return bytes(self._repo[commit].peel(pygit2.Commit).tree_id.raw)

    def differences(self, internal_tree: bytes, public_tree: bytes) -> list[str]:
        filtered = self._public_tree(internal_tree)
        if filtered == public_tree:
            return []
        paths = differing_paths(self._repo, filtered, public_tree, limit=None)
        return [p for p in paths if p not in self._owned]

    def own(self, public: str, named: list[str]) -> str | None:
        """The source commit a public commit is sync's own rewrite of, if any."""
        tree = self.tree_of(public)
        for source in reversed(named):  # a squash lists the newest last
            commit = self._repo.get(source)
            if isinstance(commit, pygit2.Commit) and not self.differences(
                bytes(commit.tree_id.raw), tree
            ):
                return source
        return None


_PublicTree = Any  # Callable[[bytes], bytes]: an internal tree -> its filtered tree


@contextmanager
def _filter(
    staging: pygit2.Repository, policy: Policy, layout: Callable[[bytes], bytes] | None = None
) -> Iterator[_PublicTree]:
    """The filter sync uses, writing into staging (trees it writes must be readable at once):
    the same rules, defaults, sections and replacements, so sync's own commits are recognised."""
    writer = _LooseWriter(staging)
    rewriter = Rewriter(staging, policy.rules, writer, None, overlay=layout, content=policy.content)
    yield rewriter.public_tree


class _LooseWriter(PackWriter):
    """Writes each object loose into staging: absorb filters a handful of trees and must read
    them back (to name the paths that differ), which a pack allows only once it is done."""

    def __init__(self, repo: pygit2.Repository):  # no pack file at all, so no super()
        self._odb = repo.odb
        self.count = 0

    def add(self, obj_type: int, data: bytes) -> bytes:
        return bytes(self._odb.write(obj_type, data).raw)

    def add_delta(
        self, obj_type: int, data: bytes, base: bytes, base_data: bytes, same: tuple[int, int]
    ) -> bytes:
        return self.add(obj_type, data)

    def commit(self) -> None:
        pass

    def abort(self) -> None:
        pass


def _owned_paths(
    config: Config,
    staging: pygit2.Repository,
    source_tip: str,
    layout: Callable[[bytes], bytes] | None = None,
) -> frozenset[str]:
    if config.version is None:
        return frozenset()
    tree = bytes(staging[source_tip].peel(pygit2.Commit).tree_id.raw)
    if layout is not None:
        tree = layout(tree)  # version files are public paths
    return frozenset(Owned(staging, config.version, tree).paths)


def _check_absorbed(
    staging: pygit2.Repository, found: Scan, checker: _RoundTrip, review_tip: str
) -> None:
    """Absorbed commits must still be exactly what absorb wrote, and still be public."""
    for public, internal in sorted(found.absorbed.items()):
        if public not in found.reachable and not (
            public in staging and staging.descendant_of(review_tip, public)
        ):
            raise PubgateError(
                f"refusing to absorb, since the public history no longer contains {public[:12]}, "
                f"which the source absorbed in {internal[:12]} (was it force-pushed?)",
                "restore the public branch, or revert the absorbed commit internally and "
                "resolve it by hand",
            )
        if public not in found.reachable:
            continue  # below sync's own commits: long since converged
        original = staging[public].peel(pygit2.Commit)
        commit = staging[internal].peel(pygit2.Commit)
        parents = [found.image.get(str(p)) for p in original.parent_ids]
        intact = [str(p) for p in commit.parent_ids] == parents and not checker.differences(
            bytes(commit.tree_id.raw), bytes(original.tree_id.raw)
        )
        if not intact:
            raise PubgateError(
                f"refusing to absorb, since the internal commit {internal[:12]} that absorbed "
                f"{public[:12]} no longer matches it: the absorb branch was squashed, rebased "
                "or amended",
                "merge the absorb branch with a merge commit or a fast-forward (never squash or "
                "rebase it); revert the changed commit and run git pubgate absorb again",
            )


def _replay_one(  # noqa: PLR0917
    staging: pygit2.Repository,
    public: str,
    found: Scan,
    replay: TreeReplay,
    checker: _RoundTrip,
    public_tree: _PublicTree,
) -> str:
    """Write the internal commit for ``public`` and return its id."""
    raw = staging.odb.read(pygit2.Oid(hex=public))[1]
    commit = RawCommit.parse(raw)
    short = public[:12]
    if not commit.parents:
        raise PubgateError(
            f"refusing to absorb {short}, since it is a root commit unrelated to the synced "
            "history",
            "bring it in by hand, or merge it on the public side onto synced history first",
        )
    if len(commit.parents) > 2:
        raise PubgateError(
            f"refusing to absorb {short}, since it is an octopus merge of "
            f"{len(commit.parents)} parents",
            "merge the branches one at a time on the public side",
        )
    images = []
    for parent in commit.parents:
        image = found.image.get(parent)
        if image is None:
            raise PubgateError(
                f"refusing to absorb {short}, since its parent {parent[:12]} is not synced "
                "history (an unrelated root, or a commit from before the first sync)",
                "bring that change in by hand",
            )
        images.append(image)
    theirs = bytes.fromhex(commit.tree)
    if len(images) == 1:
        ours = checker.tree_of(images[0])
        base = checker.tree_of(commit.parents[0])
    else:
        ours = _merge_tree(staging, images, replay.is_public, short)
        base = public_tree(ours)
    try:
        new_tree = replay.apply(ours, base, theirs)
    except RefusedChangeError as e:
        raise PubgateError(
            f"refusing to absorb {short}: {quote_path(e.path)} {e.why}",
            "only changes to public content come back; revert that part on the public side, "
            "or bring it in by hand",
        ) from e
    wrong = checker.differences(new_tree, theirs)
    if wrong:
        raise PubgateError(
            f"refusing to absorb {short}, since the internal commit would not publish back to "
            f"it exactly: {quote_path(wrong[0])}",
            "bring that change in by hand; sync would otherwise publish something else",
        )
    message = add_trailer(commit.message, ABSORBED_TRAILER, public)
    data = commit.serialise(new_tree.hex(), images, message)
    written = bytes(staging.odb.write(OBJ_COMMIT, data).raw)
    assert written == object_id(OBJ_COMMIT, data)
    return written.hex()


def _merge_tree(
    staging: pygit2.Repository, parents: list[str], is_public: Callable[[bytes], bool], short: str
) -> bytes:
    """The internal tree of a merge of ``parents``; a conflict outside public content refuses.

    A conflict inside public content is fine: the contributor resolved it, and the replay
    replaces every public path with their version (the round trip checks it did).
    """
    done = subprocess.run(
        [
            "git",
            "--git-dir",
            staging.path,
            "merge-tree",
            "--write-tree",
            "--name-only",
            "--no-messages",
            "-z",
            *parents,
        ],
        capture_output=True,
        check=False,
        stdin=subprocess.DEVNULL,
        preexec_fn=tied(),
    )
    if done.returncode not in (0, 1):
        detail = failure_detail(done)
        raise PubgateError(
            f"could not merge the internal images of {short}'s parents: {detail}",
            "git merge-tree --write-tree needs git 2.38 or newer",
        )
    fields = done.stdout.split(b"\0")
    if any(not is_public(path) for path in fields[1:] if path):
        # The path itself stays unnamed: it is internal, and this message may travel.
        raise PubgateError(
            f"refusing to absorb {short}, since merging the internal images of its parents "
            "conflicts outside public content",
            "merge those internal branches first, then run git pubgate absorb again",
        )
    return bytes.fromhex(fields[0].decode())


def _open_branch(
    staging: pygit2.Repository, source: Source, remote: Remote | None, branch: str
) -> tuple[list[str], str | None]:
    """Tips of the open absorb branch (local and on the source's remote), and the remote's."""
    tips = []
    local = source.repo.references.get(f"refs/heads/{branch}")
    if local is not None:
        tips.append(str(local.peel(pygit2.Commit).id))
    remote_tip = None
    if remote is not None:
        remote_tip = remote.heads([branch]).get(branch)
        if remote_tip is not None:
            if remote_tip not in staging:
                remote.fetch([f"+refs/heads/{branch}:{SOURCE_NS}{branch}"])
            tips.append(remote_tip)
    return tips, remote_tip


def _hand_over(
    staging: pygit2.Repository,
    source: Source,
    branch: str,
    tip: str,
    report: AbsorbReport,
) -> None:
    """Point the source's absorb branch at ``tip``, with every object it needs.

    The source fetches the branch from staging, so git copies exactly the missing objects and
    moves the ref only once they are stored: a run killed half-way leaves the branch as it was.
    """
    ref = f"refs/heads/{branch}"
    current = source.repo.references.get(ref)
    old = str(current.peel(pygit2.Commit).id) if current is not None else None
    if old == tip:
        return
    if old is not None and not staging.descendant_of(tip, old):
        raise PubgateError(
            f"refusing to move {branch} in the source repository, since it holds commits "
            "absorb did not write",
            f"merge or delete {branch} (git branch -D {branch}), then run git pubgate absorb again",
        )
    staging.references.create(STAGED_REF, tip, force=True)
    hand_to_source(source, staging, STAGED_REF, branch, owned=True)
    report.written = True


def _pull_request_text(report: AbsorbReport) -> tuple[str, str]:
    count = len(report.commits)
    plural = "" if count == 1 else "s"
    title = f"Absorb {count} public commit{plural} from {report.review_branch}"
    rows = ["| public | internal | subject | author |", "|---|---|---|---|"]
    for c in report.commits[:250]:
        subject = c.subject.replace("|", "\\|")
        rows.append(f"| {c.public[:12]} | {c.internal[:12]} | {subject} | {c.author} |")
    body = (
        f"This pull request was opened by git-pubgate absorb. It brings {count} commit{plural} "
        f"that were made on the public `{report.review_branch}` ({report.target}) back into "
        f"`{report.source_branch}`, with their authors, dates and messages.\n\n"
        + "\n".join(rows)
        + "\n\nMerge it with a merge commit or a fast-forward, never squash or rebase: each "
        "commit carries a `Pubgate-Absorbed` trailer, and the next sync maps it back onto the "
        "public commit it came from.\n"
    )
    return title, body


def outcome(report: AbsorbReport) -> str:
    """The one line that says what absorb did: all that ``-q`` prints."""
    if report.aborted:
        return f"aborted the stopped absorb; {report.branch} was not written"
    if report.up_to_date:
        return f"up to date: every public commit on {report.review_branch} is synced or absorbed"
    count = len(report.commits)
    what = f"{count} public commit{'s' if count != 1 else ''}"
    head = (report.head or "")[:12]
    if report.dry_run:
        return f"dry run: would write {what} to {report.branch} at {head}"
    done = f"wrote {what} to {report.branch} at {head}"
    if report.pushed:
        done += " and pushed it"
    if report.pull_request is not None:
        verb = "opened" if report.pull_request["created"] else "updated"
        done += f"; {verb} {report.pull_request['url']}"
    return done


def describe(report: AbsorbReport) -> list[str]:
    """Human-readable lines for an absorb report."""
    if report.aborted:
        return [outcome(report)]
    lines = [
        f"source: {report.source_branch} at {report.source_tip[:12]}",
        f"target: {report.target} ({report.review_branch} at {(report.review_tip or '')[:12]})",
    ]
    if report.commits:
        lines.append("absorbed (public -> internal):")
        for c in report.commits:
            lines.append(f"  {c.public[:12]} -> {c.internal[:12]} {c.subject}  ({c.author})")
    lines.append(outcome(report))
    if report.commits and not report.dry_run and report.pull_request is None:
        lines.append(
            f"next: merge {report.branch} into {report.source_branch} with a merge commit or "
            "a fast-forward (never squash or rebase), then run git pubgate sync"
        )
    return lines


__all__ = ["AbsorbOptions", "AbsorbReport", "branch_name", "describe", "outcome", "run"]
