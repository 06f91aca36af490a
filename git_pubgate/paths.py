"""Where a source path sits in the public tree: ``root`` and ``move``, and the way back.

Pure: values in, values out. A monorepo publishes one folder (``root``) as the public root, plus
files or folders placed from elsewhere (``move``: source path -> public path). Every mapping
states its reverse, so a public path (from a pull request, say) can be taken back to the source
path it came from: ``reverse(forward(p)) == p`` for every published ``p``.

Paths are bytes, ``/``-separated, without leading or trailing slashes (git's own form).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


def _under(path: bytes, folder: bytes) -> bytes | None:
    """``path`` relative to ``folder`` (``b""`` for the folder itself), or None if outside."""
    if not folder:
        return path
    if path == folder:
        return b""
    if path.startswith(folder + b"/"):
        return path[len(folder) + 1 :]
    return None


def _join(folder: bytes, rest: bytes) -> bytes:
    if not folder:
        return rest
    return folder + b"/" + rest if rest else folder


def overlaps(a: bytes, b: bytes) -> bool:
    """Whether one of two paths is the other or lies inside it."""
    return _under(a, b) is not None or _under(b, a) is not None


@dataclass(frozen=True)
class PathMap:
    """The public place of every source path.

    Attributes:
        root: the source folder that becomes the public root (``b""``: the whole source).
        moves: ``(source path, public path)`` pairs; a moved path leaves its old place (under
            ``root`` too) and takes its new one, over anything ``root`` has there.
    """

    root: bytes = b""
    moves: tuple[tuple[bytes, bytes], ...] = ()

    @classmethod
    def of(cls, root: str, moves: Iterable[tuple[str, str]]) -> PathMap:
        return cls(
            root.strip("/").encode("utf-8", "surrogateescape"),
            tuple(
                (src.strip("/").encode("utf-8", "surrogateescape"), dst.strip("/").encode())
                for src, dst in moves
            ),
        )

    @property
    def is_identity(self) -> bool:
        return not self.root and not self.moves

    def forward(self, source_path: bytes) -> bytes | None:
        """The public path of ``source_path``, or None when it is not in the public tree."""
        for src, dst in self.moves:
            rest = _under(source_path, src)
            if rest is not None:
                return _join(dst, rest)
        rest = _under(source_path, self.root)
        if rest is None or not rest:
            return None
        if any(overlaps(rest, dst) for _, dst in self.moves):
            return None  # a move's destination covers it
        if any(_under(source_path, src) is not None for src, _ in self.moves):
            return None
        return rest

    def reverse(self, public_path: bytes) -> bytes | None:
        """The source path ``public_path`` came from (the exact inverse of ``forward``)."""
        if not public_path:
            return None
        for src, dst in self.moves:
            rest = _under(public_path, dst)
            if rest is not None:
                return _join(src, rest)
        source = _join(self.root, public_path)
        if any(_under(source, src) is not None for src, _ in self.moves):
            return None  # that source path went elsewhere; nothing public maps back onto it
        return source


def check_moves(moves: Iterable[tuple[str, str]]) -> tuple[str, str] | None:
    """Two moves that overlap, if any: the same path, or one inside the other, among the
    sources or among the destinations (each source path must have one public place)."""
    pairs = [(src.strip("/"), dst.strip("/")) for src, dst in moves]
    for side in (0, 1):
        seen: list[str] = []
        for pair in pairs:
            path = pair[side]
            for other in seen:
                if overlaps(path.encode(), other.encode()):
                    return other, path
            seen.append(path)
    return None
