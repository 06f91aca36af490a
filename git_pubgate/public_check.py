"""Content checks on trees that are (or are about to be) public: the pre-push hook and audit.

The same content policy as the rewrite, asked about each file as it stands: a marker word left
in, a well-formed internal section left in, a secret, an ``.npmrc`` with a credential, a config
file holding internal-only keys. Replacements are not re-applied here (a rule need not give the
same text twice); audit compares the source's rebuilt tree with the public one for those.
Each tree is checked once per place and each blob once.
"""

from __future__ import annotations

from collections.abc import Callable

from .content import ContentError, ContentPolicy
from .objects import EMPTY_TREE, OBJ_BLOB, object_id, parse_tree
from .policy import Policy


def checking_policy(policy: Policy) -> ContentPolicy | None:
    """The run's content policy without its replacements."""
    content = policy.content
    if content is None:
        return None
    return ContentPolicy(
        scanner=content.scanner,
        defaults=content.defaults,
        user_exclude=content.user_exclude,
        config_file=content.config_file,
    )


class ContentCheck:
    def __init__(self, read: Callable[[bytes], bytes], policy: Policy):
        """``read``: the content of an object by raw id."""
        self._read_object = read
        self._content = checking_policy(policy)
        self._trees: dict[tuple[bytes, bytes], list[str]] = {}
        self._made: dict[bytes, bytes] = {}

    def _read(self, oid: bytes) -> bytes:
        made = self._made.get(oid)
        return made if made is not None else self._read_object(oid)

    def _write(self, data: bytes) -> bytes:
        oid = object_id(OBJ_BLOB, data)
        self._made[oid] = data
        return oid

    def tree(self, root: bytes) -> list[str]:
        """Findings for every file of a whole tree (paths and lines; never the content)."""
        if self._content is None:
            return []
        found: list[str] = []
        stack = [(root, b"")]
        while stack:
            oid, prefix = stack.pop()
            key = (oid, prefix)
            if key in self._trees:
                found += self._trees[key]
                continue
            here: list[str] = []
            data = b"" if oid == EMPTY_TREE else self._read(oid)
            for mode, name, child, _, is_tree in parse_tree(data, 0, len(data)) or []:
                if is_tree:
                    stack.append((child, prefix + name + b"/"))
                else:
                    here += self.file(prefix + name, mode, child)
            self._trees[key] = here
            found += here
        return found

    def file(self, path: bytes, mode: bytes, blob: bytes) -> list[str]:
        assert self._content is not None
        shown = path.decode("utf-8", "backslashreplace")
        try:
            outcome = self._content.publish(path, mode, blob, self._read, self._write)
        except ContentError as e:
            if e.fingerprint is not None:
                return [f"{e.where} holds {e.problem} (fingerprint {e.fingerprint})"]
            return [f"{e.where}: {e.problem}"]
        if outcome.blob is None:
            return [f"{shown!r} holds a credential (held back by default)"]
        if outcome.blob != blob:
            return [f"{shown!r} holds an internal section"]
        return []
