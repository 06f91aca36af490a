"""What a published file holds: sections removed, replacements made, secrets refused.

The rewrite's tree filter asks ``ContentPolicy.publish`` for every file it keeps. The answer
depends only on the blob, on the rules (their ``fingerprint``) and on the few facts of the
path the rules look at (``PathClass``), so it is memoised by those: a history of 50,000
commits costs one pass per distinct blob, and an incremental sync reads only the new ones.
Almost every blob publishes as it is, which one C-level search over its bytes shows; such a
blob is remembered as its id alone, and only what a rule changed or held back takes a memo
entry (on 50,000 commits: 82,442 distinct blobs, a few memo entries).

Pure apart from the two callbacks it is given to read and write blobs.
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import pathspec
import yaml

from .lfs_pointer import VERSION_LINES, may_be_pointer
from .objects import canonical_mode, parse_tree
from .replace import Replacement, Replacer, compile_rule
from .secrets import Finding, SecretScanner, has_folded_word
from .sections import WORDS, SectionError, check_binary, is_binary, may_have_markers, public_text

# Keys that say what is internal (or where it is): a published config must not hold them.
INTERNAL_ONLY_KEYS = (
    "source_repo",
    "exclude",
    "include",
    "authors",
    "message",
    "replace",
    "leak_review",
    "source_forge",
    "source_api_url",
    "source_token_env",
    "root",
    "move",
    "targets",
)
REGULAR_FILE_MODES = frozenset({b"100644", b"100755", b"100664"})
# An .npmrc with a literal credential (not a ${VAR} reference) is held back by default.
_NPM_AUTH = re.compile(rb"(?m)^[ \t]*(?:\S*:)?_(?:authToken|auth|password)[ \t]*=[ \t]*(?!\$\{)\S")


_CONFIG_HINT = (
    "wrap the internal-only keys (" + ", ".join(INTERNAL_ONLY_KEYS) + ") in '# BEGIN-INTERNAL' "
    "and '# END-INTERNAL' lines, as 'git pubgate init' writes them"
)


class ContentError(Exception):
    """A file that must not be published as it is; never carries the secret itself."""

    def __init__(
        self,
        path: bytes,
        line: int | None,
        problem: str,
        fingerprint: str | None = None,
        hint: str | None = None,
    ):
        super().__init__(problem)
        self.path = path
        self.line = line
        self.problem = problem
        self.fingerprint = fingerprint
        self.hint = hint

    @property
    def where(self) -> str:
        shown = self.path.decode("utf-8", "backslashreplace")
        return f"{shown}:{self.line}" if self.line else shown


@dataclass(frozen=True)
class ConfigFile:
    """The configuration sync reads, when it lies in the source tree."""

    path: bytes  # relative to the tree's root
    kind: str  # "yaml" or "pyproject"


@dataclass(frozen=True)
class PathClass:
    """What of a file's path the rules depend on."""

    binary_attr: bool
    replace: tuple[int, ...]
    special: str | None  # "config", "npmrc" or None


@dataclass(frozen=True)
class Outcome:
    """The public blob for a file, or None when it is held back (by default)."""

    blob: bytes | None
    sections: int = 0


@dataclass(slots=True, eq=False)
class _Kind:
    """One distinct PathClass (shared by every path of that class) and what the policy
    remembers of the blobs published under it.

    Most blobs publish as they are. Those are kept as their ids alone in ``unchanged`` (about
    90 bytes each); only a blob a rule changed or held back gets a memo entry. ``quiet`` says
    whether a blob can skip the rules after one search for what any of them looks for: no
    config or ``.npmrc`` check applies (those read every version).
    """

    cls: PathClass
    quiet: bool
    unchanged: set[bytes]


_ATTRIBUTES_NAME = b" .gitattributes\x00"
_FILE_MODES = (b"100644", b"100755")


def root_attributes(tree: bytes) -> bytes | None:
    """The blob id of the ``.gitattributes`` file (mode 100644 or 100755) in a tree's raw bytes.

    Asked for every commit's root tree, so one C-level search finds the name first and only
    its occurrences are checked to start an entry (the tree's start, or 21 bytes after a NUL).
    A mode spelled another way (``100664``, as old git wrote it) is found entry by entry.
    """
    at = tree.find(_ATTRIBUTES_NAME)
    if at < 0:
        return None
    while at >= 0:
        start = at - 6
        blob_at = at + len(_ATTRIBUTES_NAME)
        if (
            start >= 0
            and tree[start:at] in _FILE_MODES
            and (start == 0 or (start >= 21 and tree[start - 21] == 0))
            and blob_at + 20 <= len(tree)
        ):
            return tree[blob_at : blob_at + 20]
        at = tree.find(_ATTRIBUTES_NAME, at + 1)
    for mode, name, oid, _, is_tree in parse_tree(tree, 0, len(tree)) or []:
        if name == b".gitattributes" and not is_tree and canonical_mode(mode) in _FILE_MODES:
            return oid
    return None


def _binary_attributes(data: bytes) -> pathspec.GitIgnoreSpec | None:
    """Paths a root ``.gitattributes`` marks ``binary`` or ``-text`` (a later ``text`` undoes)."""
    lines: list[str] = []
    for raw in data.decode("utf-8", "surrogateescape").splitlines():
        parts = raw.split()
        if not parts or parts[0].startswith("#"):
            continue
        pattern, attrs = parts[0], parts[1:]
        if "binary" in attrs or "-text" in attrs:
            lines.append(pattern)
        elif "text" in attrs or any(a.startswith("text=") for a in attrs):
            lines.append("!" + pattern)
    return pathspec.GitIgnoreSpec.from_lines(lines) if lines else None


@dataclass
class ContentPolicy:
    """The content rules of one run, with their memo.

    Args:
        replacements: the ``replace:`` rules.
        scanner: the secret scanner, or None when ``secrets: false``.
        defaults: hold back the usual secret files (``defaults: false`` turns it off).
        user_exclude: the configured ``exclude`` patterns (a ``!`` there re-includes a default).
        config_file: the configuration file, when it lies in the source tree.
    """

    replacements: Sequence[Replacement] = ()
    scanner: SecretScanner | None = None
    defaults: bool = True
    user_exclude: Sequence[str] = ()
    config_file: ConfigFile | None = None
    _replacer: Replacer = field(init=False, repr=False)
    _reincluded: pathspec.GitIgnoreSpec = field(init=False, repr=False)
    _classes: dict[bytes, _Kind] = field(init=False, repr=False, default_factory=dict)
    _kinds: dict[PathClass, _Kind] = field(init=False, repr=False, default_factory=dict)
    _memo: dict[tuple[bytes, _Kind], Outcome] = field(init=False, repr=False, default_factory=dict)
    _scanned: set[bytes] = field(init=False, repr=False, default_factory=set)
    _quiet: re.Pattern[bytes] = field(init=False, repr=False)
    _quiet_words: tuple[bytes, ...] = field(init=False, repr=False, default=())
    _attributes: pathspec.GitIgnoreSpec | None = field(init=False, repr=False, default=None)
    attributes_id: bytes | None = field(init=False, repr=False, default=None)
    # Whether a file read so far looks like a Git LFS pointer: sync looks for the objects to
    # upload only then (lfs_publish), so a repository without LFS pays one prefix test a blob.
    lfs_seen: bool = field(init=False, repr=False, default=False)

    def __post_init__(self) -> None:
        self._replacer = Replacer.compile(self.replacements)
        self._reincluded = pathspec.GitIgnoreSpec.from_lines(self.user_exclude)
        # What a blob must hold for a rule other than a replacement to look at it: a marker
        # word's tail (may_have_markers, and check_binary's words contain it) or the start of
        # a secret the scanner knows.
        scanned = [self.scanner.cased_prefilter.pattern] if self.scanner is not None else []
        self._quiet = re.compile(b"|".join([rb"-INTERNAL|-PUBLIC", *scanned]))
        self._quiet_words = self.scanner.folded_words() if self.scanner is not None else ()

    @property
    def fingerprint(self) -> str:
        """Changes whenever the same blob could publish differently."""
        parts = [
            [(r.pattern, r.text, r.paths) for r in self.replacements],
            self.defaults,
            list(self.user_exclude),
            [self.config_file.path.hex(), self.config_file.kind] if self.config_file else None,
            "sections-1",
        ]
        return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:32]

    @property
    def position_free(self) -> bool:
        """Whether a tree's public version is the same wherever it sits (see TreeFilter)."""
        return (
            self._replacer.position_free
            and self._attributes is None
            and self.config_file is None
            and not self.defaults
        )

    root_attributes = staticmethod(root_attributes)

    def searches(self) -> list[re.Pattern[bytes]]:
        """What ``publish`` looks for in a file's bytes: a file none of these match publishes
        as it is (the configuration file aside: it is always parsed). For content_prefilter;
        keep it in step with ``_transform``."""
        found = [re.compile(re.escape(word)) for word in WORDS]  # sections, check_binary
        found.append(_NPM_AUTH)
        found += [compile_rule(rule)[0] for rule in self.replacements]
        if self.scanner is not None:
            found.append(self.scanner.prefilter)
        found += [re.compile(re.escape(line)) for line in VERSION_LINES]  # lfs_seen
        return found

    def use_attributes(self, blob: bytes | None, read: Callable[[bytes], bytes]) -> bool:
        """Take the root ``.gitattributes`` of the commit about to be filtered; True if changed.

        Only the root file is read: binary-ness decides whether a marker is edited or refused.
        """
        if blob == self.attributes_id:
            return False
        self.attributes_id = blob
        self._attributes = _binary_attributes(read(blob)) if blob is not None else None
        self._classes.clear()
        return True

    def _kind(self, path: bytes) -> _Kind:
        found = self._classes.get(path)
        if found is None:
            text = path.decode("utf-8", "surrogateescape")
            special = None
            if self.config_file is not None and path == self.config_file.path:
                special = "config"
            elif (
                self.defaults
                and path.rsplit(b"/", 1)[-1] == b".npmrc"
                and not self._explicitly_included(text)
            ):
                special = "npmrc"
            attr = self._attributes is not None and self._attributes.match_file(text)
            cls = PathClass(bool(attr), self._replacer.rules_for(path), special)
            # One _Kind per distinct class, kept across .gitattributes changes: what a blob
            # publishes as under a class does not depend on which commit asked.
            found = self._kinds.get(cls)
            if found is None:
                found = self._kinds[cls] = _Kind(cls, special is None, set())
            self._classes[path] = found
        return found

    def _explicitly_included(self, text: str) -> bool:
        result = self._reincluded.check_file(text)
        return result.include is False and result.index is not None

    def publish(
        self,
        path: bytes,
        mode: bytes,
        blob: bytes,
        read: Callable[[bytes], bytes],
        write: Callable[[bytes], bytes],
    ) -> Outcome:
        """The public version of the file ``path`` (raises ContentError)."""
        if canonical_mode(mode) not in REGULAR_FILE_MODES:
            return Outcome(blob)  # symlink targets and gitlinks are not file contents
        kind = self._classes.get(path) or self._kind(path)
        if blob in kind.unchanged:
            return Outcome(blob)
        key = (blob, kind)
        done = self._memo.get(key)
        if done is not None:
            return done
        data = read(blob)
        if not self.lfs_seen:
            self.lfs_seen = may_be_pointer(data)
        if kind.quiet and self._is_quiet(data, kind.cls.replace):
            kind.unchanged.add(blob)
            return Outcome(blob)
        public, count = self._transform(path, kind.cls, data)
        if public is None:
            outcome = Outcome(None)
        else:
            made = blob if public is data else write(public)
            outcome = Outcome(made, count)
            if made not in self._scanned:
                self._scan(path, public)
                self._scanned.add(made)
            if made == blob and not count:
                kind.unchanged.add(blob)
                return outcome
        self._memo[key] = outcome
        return outcome

    def _is_quiet(self, data: bytes, replace: tuple[int, ...]) -> bool:
        """Whether no rule can change or refuse ``data`` (for a class without a special file).

        Sound because every other check needs a match of ``_quiet``: a section needs a marker
        word (``-INTERNAL``/``-PUBLIC``), a binary file is refused only for one, and a secret
        starts with one of the scanner's prefixes (its case-insensitive ones: a word in the
        lowercased bytes); a replacement whose pattern matches nowhere
        leaves the text as it is, and a binary file gets none. So one C-level search decides
        for almost every blob, and the rest take the full path.
        """
        if self._quiet.search(data) is not None or has_folded_word(data, self._quiet_words):
            return False
        return not replace or self._replacer.matches_none(data, replace)

    def _transform(self, path: bytes, cls: PathClass, data: bytes) -> tuple[bytes | None, int]:
        """The public bytes (``data`` itself when unchanged; None: held back) and the number
        of internal sections removed."""
        if cls.special == "npmrc" and _NPM_AUTH.search(data):
            return None, 0
        if cls.binary_attr or is_binary(data):
            try:
                check_binary(data)
            except SectionError as e:
                raise ContentError(path, e.line, e.problem) from e
            return data, 0
        public, count = data, 0
        if may_have_markers(data):
            try:
                done = public_text(data)
            except SectionError as e:
                raise ContentError(path, e.line, e.problem) from e
            public, count = done.data, done.sections
        if cls.replace:
            public = self._replacer.apply(public, cls.replace)
        if cls.special == "config":
            self._check_config(path, public)
        return (data if public == data else public), count

    def _scan(self, path: bytes, data: bytes) -> None:
        if self.scanner is None:
            return
        found = self.scanner.scan(data)
        if found:
            first: Finding = found[0]
            raise ContentError(path, first.line, f"a {first.kind}", first.fingerprint)

    def _check_config(self, path: bytes, public: bytes) -> None:
        assert self.config_file is not None
        try:
            if self.config_file.kind == "pyproject":
                table = tomllib.loads(public.decode("utf-8")).get("tool", {}).get("pubgate")
            else:
                table = yaml.safe_load(public)
        except (UnicodeDecodeError, tomllib.TOMLDecodeError, yaml.YAMLError):
            raise ContentError(
                path,
                None,
                "the configuration is not valid once its internal sections are removed",
                hint=_CONFIG_HINT,
            ) from None
        if not isinstance(table, dict):
            return
        for key in INTERNAL_ONLY_KEYS:
            if key in table:
                raise ContentError(
                    path,
                    None,
                    f"its public version still holds the internal-only key {key!r}",
                    hint=_CONFIG_HINT,
                )
