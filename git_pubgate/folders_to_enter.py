"""Which folders of a whole tree the tree filter must enter; it keeps the others by id.

A sync without its cache filters the last synced commit's whole tree under today's rules
(``sync._start``): 487 folders and 21,958 paths on the benchmark's 50,000-commit history,
nearly all of which no rule acts on. A folder publishes exactly as it is when nothing below it
is a path that an exclude pattern may match (the joined expression ``Rules`` tries first on
every path, files and folders alike) or a file the content rules could touch (the content
scan's list, see content_prefilter); empty folders are entered too, as they always were. One
``git ls-tree -r -t`` lists every path in C, so the filter enters only the folders above such
paths.

When that cannot be told, there is no answer and the filter enters every folder as before:
``include`` rules (a path is public only if one matches), ``keep_public`` files, patterns whose
expressions could not be joined, content rules without a scan, git failing, or a folder that
spells a mode as old git did (``100664``, ``040000``): the filter must see those, since once
one is seen trees are compared as git compares them (see ``TreeFilter.odd_modes``), and git's
listing shows every mode as git spells it now, so each folder is read for its own spelling.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

from .content_prefilter import ContentScan
from .gitio import output_in
from .objects import CANONICAL_MODES
from .rules import Rules


def folders_to_enter(
    git_dir: Path,
    tree: bytes,
    rules: Rules,
    scan: ContentScan | None,
    *,
    content: bool,
    read: Callable[[bytes], bytes],
) -> frozenset[bytes] | None:
    """The folders of ``tree`` (paths without a trailing slash; ``b""`` is the root) above a
    path some rule may act on, and such folders themselves; None when that cannot be told.

    Args:
        scan: the files of ``tree`` the content rules could touch.
        content: whether there are content rules (then without ``scan`` nothing can be told).
        read: the raw bytes of a tree, by raw id.
    """
    exclude = rules.exclude
    if rules.include is not None or rules.kept or exclude.any_pattern is None:
        return None
    if content and scan is None:
        return None
    listing = _listing(git_dir, tree)
    if listing is None:
        return None
    may_match = exclude.may_match
    acted: list[bytes] = []
    folder = None  # the folder listed just before, until a path below it shows it is not empty
    for is_folder, path, oid in listing:
        if folder is not None and not path.startswith(folder + b"/"):
            acted.append(folder)  # empty: entered, as every folder was before
        folder = path if is_folder else None
        if is_folder and _old_spelling(read(bytes.fromhex(oid.decode("ascii")))):
            return None
        text = path.decode("utf-8", "surrogateescape")
        if may_match(text + "/" if is_folder else text):
            acted.append(path)
    if folder is not None:
        acted.append(folder)
    if scan is not None:
        acted.extend(scan.files)
    enter = {b""}
    for path in acted:
        above = path
        while above not in enter:
            enter.add(above)
            above = above.rpartition(b"/")[0]
    return frozenset(enter)


# A tree whose every entry has a mode as git spells it now: what a C loop can tell of a tree
# (parsing the 487 folders in Python cost 0.05 s, most of what keeping them unread saves).
_CANONICAL_TREE = re.compile(
    rb"(?:(?:" + b"|".join(sorted(CANONICAL_MODES)) + rb") [^\x00]*\x00.{20})*", re.DOTALL
)


def _old_spelling(data: bytes) -> bool:
    """Whether a tree spells some mode as old git did (or is not a tree git would parse)."""
    return _CANONICAL_TREE.fullmatch(data) is None


def _listing(git_dir: Path, tree: bytes) -> Iterator[tuple[bool, bytes, bytes]] | None:
    """(is a folder, path, hex id) for every entry below ``tree``, each folder before what it
    holds; None when git failed."""
    listed = output_in(git_dir, ["ls-tree", "-r", "-t", "-z", "--full-tree", tree.hex()])
    return None if listed is None else _entries(listed)


def _entries(output: bytes) -> Iterator[tuple[bool, bytes, bytes]]:
    # Each entry: "<mode> SP <type> SP <id> TAB <path>" and a NUL.
    for record in output.split(b"\0"):
        if record:
            head, _, path = record.partition(b"\t")
            _, kind, oid = head.split(b" ", 2)
            yield kind == b"tree", path, oid
