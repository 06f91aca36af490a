"""The release on top of a sync: the next version, the files that carry it, the release commit.

The version files and the changelog are owned by release commits. Synced commits underneath
carry them as the last release left them (a source commit that only bumped the internal version
becomes empty and is pruned), so public history never shows the version flipping back, and the
next sync does not see the release commit's edits as divergence.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pygit2
from packaging.version import Version
from pygit2.enums import ObjectType

from . import changelog
from .config import VersionPolicy
from .errors import ConfigError, PubgateError
from .objects import canonical_mode
from .rules import Rules
from .trailer import RELEASE_TRAILER, add_trailer
from .tree_edit import read_blob, set_file
from .version_files import VersionFile, VersionFileError, VersionSource, detect
from .versions import Change, Decision, classify, decide, maybe_version

RELEASE_BRANCH = "release-v"  # after branch_prefix: pubgate/release-v1.2.0


def branch_for(prefix: str, version: Version) -> str:
    return f"{prefix}{RELEASE_BRANCH}{version}"


_LINKS = (b"120000", b"160000")  # symlinks and gitlinks hold no version


class Owned:
    """The paths a release writes, found in the source tip's tree."""

    def __init__(self, repo: pygit2.Repository, policy: VersionPolicy, source_tree: bytes):
        self.policy = policy
        self.repo = repo
        if policy.files is not None:
            self.source = VersionSource(tuple(VersionFile.for_path(p) for p in policy.files))
        else:
            self.source = detect(lambda path: self.read(source_tree, path))

    @property
    def paths(self) -> list[str]:
        out = [f.path for f in self.source.files]
        return out + ([self.policy.changelog] if self.policy.changelog else [])

    def check_public(self, rules: Rules) -> None:
        for path in self.paths:
            if not rules.is_public(path.encode()):
                raise ConfigError(
                    f"{path} is written by releases but the exclude rules hold it back",
                    "publish it (adjust exclude/include), or change version.files / "
                    "version.changelog",
                )

    def read(self, tree: bytes, path: str) -> bytes | None:
        """The content of the file at ``path`` in ``tree`` (None: absent, a link or a gitlink)."""
        found = read_blob(self.repo, tree, path)
        if found is None or canonical_mode(found[0]) in _LINKS:
            return None
        return self.data(found[1])

    def data(self, blob: bytes) -> bytes:
        return bytes(self.repo.odb.read(pygit2.Oid(raw=blob))[1])

    def version_in(self, tree: bytes) -> Version | None:
        """The version the first version file in ``tree`` declares."""
        for file in self.source.files:
            data = self.read(tree, file.path)
            text = _declared(file, data) if data is not None else None
            if text is not None:
                return maybe_version(text)
        return None

    def overlay(self, baseline: bytes) -> Overlay:
        return Overlay(self, baseline)

    def write_version(self, tree: bytes, version: str) -> bytes:
        """``tree`` with every version file set to ``version``."""
        for file in self.source.files:
            data = self.read(tree, file.path)
            if data is None and file.kind != "text":
                raise VersionFileError(
                    f"{file.path} is missing, so the version cannot be written there",
                    "list the files that hold the version under version.files",
                )
            new = file.write(data if data is not None else b"", version)
            tree = set_file(self.repo, tree, file.path, self.blob(new))
        return tree

    def blob(self, data: bytes) -> bytes:
        """Store ``data`` as a blob (loose, so it can be read back at once); its raw id."""
        return bytes(self.repo.odb.write(ObjectType.BLOB, data).raw)


@dataclass(frozen=True)
class _Owned:
    """One owned path as the last release left it."""

    path: str
    file: VersionFile | None  # None: the changelog, taken whole
    blob: bytes | None  # raw id in the release's tree; None: the release has no such file
    version: str | None  # what a version file declares there


class Overlay:
    """Gives source trees the owned files as the last release (``baseline``, a tree) left them.

    Applied to each source tree before filtering. Version files keep the source's text with the
    baseline's version in it (a dependency added internally still goes out); the changelog is
    the baseline's.
    """

    def __init__(self, owned: Owned, baseline: bytes):
        self._owned = owned
        self.repo = owned.repo
        self._paths: list[_Owned] = []
        files: list[tuple[str, VersionFile | None]] = [(f.path, f) for f in owned.source.files]
        if owned.policy.changelog:
            files.append((owned.policy.changelog, None))
        for path, file in files:
            found = read_blob(self.repo, baseline, path)
            blob = (
                found[1] if found is not None and canonical_mode(found[0]) not in _LINKS else None
            )
            version = None
            if file is not None and blob is not None:
                version = _declared(file, owned.data(blob))
            self._paths.append(_Owned(path, file, blob, version))
        self._memo: dict[bytes, bytes] = {}
        self._blobs: dict[tuple[str, bytes], bytes | None] = {}
        fingerprint = [(o.path, o.blob.hex() if o.blob else "", o.version) for o in self._paths]
        self.key = hashlib.sha256(json.dumps(fingerprint).encode()).hexdigest()[:24]

    def __call__(self, tree: bytes) -> bytes:
        done = self._memo.get(tree)
        if done is not None:
            return done
        result = tree
        for owned in self._paths:
            blob = self._blob_for(result, owned)
            if blob is not None:
                result = set_file(self.repo, result, owned.path, blob)
        self._memo[tree] = result
        return result

    def _blob_for(self, tree: bytes, owned: _Owned) -> bytes | None:
        if owned.blob is None:
            return None  # the last release has no such file: the source's stands
        current = read_blob(self.repo, tree, owned.path)
        if owned.file is None or current is None or owned.version is None:
            return owned.blob
        key = (owned.path, current[1])
        if key not in self._blobs:
            data = self._owned.data(current[1])
            try:
                declared = _declared(owned.file, data) is not None
                edited = owned.file.write(data, owned.version) if declared else data
            except VersionFileError:
                edited = data  # a historical file we cannot edit goes out as it was
            self._blobs[key] = None if edited == data else self._owned.blob(edited)
        return self._blobs[key]


def _declared(file: VersionFile, data: bytes) -> str | None:
    """The version ``data`` declares as ``file``, or None (also when it cannot be read)."""
    try:
        return file.read(data)
    except VersionFileError:
        return None


@dataclass
class ReleasePlan:
    """The release a sync adds: what version, from what, and why."""

    version: Version
    previous: Version | None  # the highest public version, None before the first release
    previous_from: str  # e.g. "tag v0.1.0", "review branch", "source (0.0.0)"
    decision: Decision
    changes: list[Change] = field(default_factory=list)
    tag: str = ""
    branch: str = ""
    commit: str | None = None
    version_files: list[str] = field(default_factory=list)
    changelog: str | None = None
    declared: Version | None = None  # the version the source declares

    def to_json(self) -> dict[str, object]:
        return {
            "version": str(self.version),
            "previous": str(self.previous) if self.previous else None,
            "previous_from": self.previous_from,
            "reason": self.decision.reason,
            "drivers": [c.commit for c in self.decision.drivers],
            "tag": self.tag,
            "commit": self.commit,
            "version_files": self.version_files,
            "changelog": self.changelog,
        }


def public_versions(tags: Iterable[str], prefix: str) -> dict[Version, str]:
    """Release tags with ``prefix`` on the target: version -> tag name."""
    found: dict[Version, str] = {}
    for tag in tags:
        if tag.startswith(prefix):
            version = maybe_version(tag[len(prefix) :])
            if version is not None and not version.local:
                found.setdefault(version, tag)
    return found


def plan(
    owned: Owned,
    *,
    tags: Iterable[str],
    review_tree: bytes | None,
    source_tree: bytes,
    changes: Sequence[Change],
    bump: str | None,
    branch_prefix: str,
) -> ReleasePlan:
    """Decide the next version; refuse one that is not above every public version."""
    policy = owned.policy
    tagged = public_versions(tags, policy.tag_prefix)
    candidates: list[tuple[Version, str]] = [(v, f"tag {t}") for v, t in tagged.items()]
    in_review = owned.version_in(review_tree) if review_tree is not None else None
    if in_review is not None:
        candidates.append((in_review, "review branch"))
    declared = owned.version_in(source_tree)
    previous, previous_from = max(
        candidates, default=(None, ""), key=lambda c: c[0] or Version("0")
    )
    base = previous or declared or Version("0.0.0")
    if previous is None:
        previous_from = f"source ({declared})" if declared else "nothing yet (0.0.0)"
    decision = decide(
        base,
        changes,
        bump_mode=bump or policy.bump,
        prerelease=policy.prerelease,
        major_on_zero=policy.major_on_zero,
        declared=declared,
        command_line=bump is not None,
    )
    version = decision.version
    if version.local:
        raise PubgateError(
            f"refusing to release {version}: package indexes refuse local versions",
            "drop the +local part",
        )
    if previous is not None and version <= previous:
        raise PubgateError(
            f"refusing to release {version}, since {previous} is already public "
            f"({previous_from}) and versions only move forward",
            "choose a higher version: --bump major|minor|patch, a Release-As: X.Y.Z footer, "
            "or raise the version in the source (bump: none)",
        )
    return ReleasePlan(
        version=version,
        previous=previous,
        previous_from=previous_from,
        decision=decision,
        changes=list(changes),
        tag=f"{policy.tag_prefix}{version}",
        branch=branch_for(branch_prefix, version),
        version_files=[f.path for f in owned.source.files],
        changelog=policy.changelog,
        declared=declared,
    )


def changes_of(repo: pygit2.Repository, public_ids: Iterable[str]) -> list[Change]:
    """The published commits, newest first, as Conventional Commits read them.

    Merge commits are left out, as changelog tools do: the commits they merge are listed.
    """
    out = []
    for public in public_ids:
        commit = repo[public].peel(pygit2.Commit)
        if len(commit.parent_ids) > 1:
            continue
        out.append(classify(public, commit.raw_message.decode("utf-8", "replace")))
    out.reverse()
    return out


def write_commit(
    repo: pygit2.Repository,
    owned: Owned,
    release: ReleasePlan,
    *,
    parent: str,
    when: int,
    committer: str,
    trailer: str,
    source_tip: str,
) -> str:
    """Write the release commit on ``parent``; deterministic for the same inputs."""
    tree = bytes(repo[parent].peel(pygit2.Commit).tree_id.raw)
    tree = owned.write_version(tree, str(release.version))
    path = owned.policy.changelog
    if path:
        date = datetime.fromtimestamp(when, UTC).date().isoformat()
        text = changelog.section(str(release.version), date, release.changes)
        data = owned.read(tree, path)
        try:
            existing = data.decode("utf-8") if data is not None else None
        except UnicodeDecodeError as e:
            raise PubgateError(f"{path} is not UTF-8 text", "fix version.changelog") from e
        new = changelog.insert(existing, str(release.version), text)
        tree = set_file(repo, tree, path, owned.blob(new.encode("utf-8")))
    who = f"{committer} {when} +0000".encode()
    message = f"Release {release.version}\n\n{release.decision.reason}\n".encode()
    message = add_trailer(message, RELEASE_TRAILER, str(release.version))
    message = add_trailer(message, trailer, source_tip)
    raw = (
        b"tree " + tree.hex().encode() + b"\n"
        b"parent " + parent.encode() + b"\n"
        b"author " + who + b"\n"
        b"committer " + who + b"\n\n" + message
    )
    return str(repo.odb.write(ObjectType.COMMIT, raw))
