"""The public place of source paths (root and move) and the way back: pure, property-tested."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from git_pubgate.paths import PathMap, check_moves

MAP = PathMap.of("libs/a/", [("LICENSE", "LICENSE"), ("tools/ci/lint.toml", ".lint.toml")])


def test_root_becomes_the_public_root() -> None:
    assert MAP.forward(b"libs/a/src/x.py") == b"src/x.py"
    assert MAP.forward(b"libs/b/src/x.py") is None
    assert MAP.forward(b"libs/ab/x.py") is None  # a sibling that only starts alike
    assert MAP.forward(b"README.md") is None


def test_moves_place_paths_and_win_over_the_root() -> None:
    assert MAP.forward(b"LICENSE") == b"LICENSE"
    assert MAP.forward(b"tools/ci/lint.toml") == b".lint.toml"
    assert MAP.forward(b"libs/a/LICENSE") is None  # the move holds that public path
    assert MAP.reverse(b".lint.toml") == b"tools/ci/lint.toml"
    assert MAP.reverse(b"src/x.py") == b"libs/a/src/x.py"


def test_a_moved_folder_keeps_what_is_below_it() -> None:
    folder = PathMap.of("", [("shared/proto", "proto")])
    assert folder.forward(b"shared/proto/a.proto") == b"proto/a.proto"
    assert folder.forward(b"shared/other.txt") == b"shared/other.txt"
    assert folder.forward(b"proto/old.proto") is None  # covered by the move's destination
    assert folder.reverse(b"proto/a.proto") == b"shared/proto/a.proto"
    assert folder.reverse(b"shared/proto/a.proto") is None  # that place went elsewhere


def test_overlapping_move_destinations_are_found() -> None:
    assert check_moves([("a", "x"), ("b", "x/y")]) == ("x", "x/y")
    assert check_moves([("a", "x"), ("b", "xy")]) is None
    assert check_moves([("a", "x"), ("a/b", "y")]) == ("a", "a/b")


_names = st.sampled_from(["a", "b", "libs", "src", "x.txt", "LICENSE", "tools", "ci"])
_paths = st.lists(_names, min_size=1, max_size=4).map("/".join)


@settings(derandomize=True, deadline=None, max_examples=200)
@given(
    root=st.sampled_from(["", "libs", "libs/a", "src"]),
    moves=st.lists(st.tuples(_paths, _paths), max_size=3),
    path=_paths,
)
def test_reverse_undoes_forward(root: str, moves: list[tuple[str, str]], path: str) -> None:
    if check_moves(moves) is not None:
        return  # the configuration refuses these
    paths = PathMap.of(root, moves)
    public = paths.forward(path.encode())
    if public is not None:
        assert paths.reverse(public) == path.encode()
        # and no other source path lands on the same public path
        assert paths.forward(paths.reverse(public) or b"") == public
