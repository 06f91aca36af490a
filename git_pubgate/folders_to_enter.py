"""Which folders of a whole tree the tree filter must enter; it keeps the others by id.

A sync without its cache filters the last synced commit's whole tree under today's rules
(``sync._start``): 487 folders and 21,958 paths on the benchmark's 50,000-commit history,
nearly all of which no rule acts on. A folder publishes exactly as it is when nothing below it
is a path that an exclude pattern may match (the joined expression ``Rules`` tries first on
every path, files and folders alike) or a file the content rules could touch (the content
scan's list, see content_prefilter); empty folders are entered too, as they always were. So
the filter enters only the folders above such paths, listed here by reading every folder once
(about a tenth of what entering them costs the filter).

When that cannot be told, there is no answer and the filter enters every folder as before:
``include`` rules (a path is public only if one matches), ``keep_public`` files, patterns whose
expressions could not be joined, content rules without a scan, a folder that cannot be read, or one
that spells a mode as old git did (``100664``, ``040000``): the filter must see those, since
once one is seen trees are compared as git compares them (see ``TreeFilter.odd_modes``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from pathspec.util import NORMALIZE_PATH_SEPS

from .content_prefilter import ContentScan
from .objects import CANONICAL_MODES, EMPTY_TREE, TREE_ENTRY
from .rules import Rules


@dataclass(frozen=True)
class Listing:
    """Every path below a tree as the patterns see it (a folder's with a trailing slash), and
    the folders that hold something; what the two questions below are answered from."""

    names: list[str]
    parents: set[str]
    search: Callable[[str], object]  # may an exclude pattern match this path?


def listing_of(tree: bytes, rules: Rules, read: Callable[[bytes], bytes]) -> Listing | None:
    """The listing of ``tree``; None when the questions cannot be answered from it.

    Args:
        read: the raw bytes of a tree, by raw id.
    """
    exclude = rules.exclude
    if rules.include is not None or rules.kept or exclude.any_pattern is None:
        return None
    listed = _listing(tree, read)
    if listed is None:
        return None
    names, parents = listed
    search = exclude.may_match if _normalizes(names) else exclude.any_pattern.search
    return Listing(names, parents, search)


def dropped_folders(listing: Listing, rules: Rules) -> list[bytes]:
    """The outermost folders the rules exclude whole: the filter drops them unread, so what
    they hold is never published and the content rules need not look inside.

    (``rules.keeps_dir``, asked as the filter asks it; a listing exists only without
    ``include`` and ``keep_public``, which could keep a path below such a folder.)
    """
    dropped: set[str] = set()
    for name in sorted(n for n in listing.names if n.endswith("/") and listing.search(n)):
        above, inside = name[:-1], False
        while above and not inside:
            above = above.rpartition("/")[0]
            inside = above in dropped
        path = name[:-1]
        if not inside and not rules.keeps_dir(path.encode("utf-8", "surrogateescape"), True):
            dropped.add(path)
    return sorted(path.encode("utf-8", "surrogateescape") for path in dropped)


def folders_to_enter(
    listing: Listing | None, scan: ContentScan | None, *, content: bool
) -> frozenset[bytes] | None:
    """The folders of the listed tree (paths without a trailing slash; ``b""`` is the root)
    above a path some rule may act on, and such folders themselves; None when that cannot be
    told.

    Args:
        scan: the files of the tree the content rules could touch.
        content: whether there are content rules (then without ``scan`` nothing can be told).
    """
    if listing is None or (content and scan is None):
        return None
    names = listing.names
    acted = [name.removesuffix("/") for name in names if listing.search(name)]
    acted += [
        name[:-1] for name in names if name.endswith("/") and name[:-1] not in listing.parents
    ]
    found = [path.encode("utf-8", "surrogateescape") for path in acted]
    if scan is not None:
        found.extend(scan.files)
    enter = {b""}
    for path in found:
        above = path
        while above not in enter:
            enter.add(above)
            above = above.rpartition(b"/")[0]
    return frozenset(enter)


# A tree whose every entry has a mode as git spells it now.
_CANONICAL_TREE = re.compile(
    rb"(?:(?:" + b"|".join(sorted(CANONICAL_MODES)) + rb") [^\x00]*\x00.{20})*", re.DOTALL
)


def _listing(tree: bytes, read: Callable[[bytes], bytes]) -> tuple[list[str], set[str]] | None:
    """Every path below ``tree`` as the patterns see it (a folder's with a trailing slash),
    and the folders that hold something; None when a folder spells a mode as old git did, or
    is not a tree git would parse, or cannot be read.

    Each folder is read once, and its entries are split by one expression, C loops: this
    replaced ``git ls-tree -r -t``, whose listing cost more to run and parse (0.05 s of CPU
    for the benchmark's 22,443 paths) than reading the 487 folders, which the check for old
    spellings did anyway, since git's listing shows every mode as git spells it now.
    """
    if len(tree) != len(EMPTY_TREE):  # the engine reads SHA-1 trees (objects.parse_tree)
        return None
    names: list[str] = []
    parents: set[str] = set()
    folders = [("", tree)]
    while folders:
        prefix, oid = folders.pop()
        try:
            data = read(oid)
        except (KeyError, ValueError):  # not in this repository
            return None
        if _CANONICAL_TREE.fullmatch(data) is None:
            return None
        found = TREE_ENTRY.findall(data)
        if not found:
            continue
        parents.add(prefix[:-1])
        below = [
            (prefix + name.decode("utf-8", "surrogateescape") + "/", child)
            for mode, name, child in found
            if mode == b"40000"
        ]
        names += [folder for folder, _ in below]
        names += [
            prefix + name.decode("utf-8", "surrogateescape")
            for mode, name, _ in found
            if mode != b"40000"
        ]
        folders += below
    return names, parents


def _normalizes(names: list[str]) -> bool:
    """Whether pathspec would change some of ``names`` before matching it (a separator other
    than "/" on this system, or a path starting with "/" or "./", which git never lists but a
    crafted tree might): then each goes through ``may_match`` as the patterns' own code does."""
    return bool(NORMALIZE_PATH_SEPS) or any(name.startswith(("/", "./")) for name in names)
