"""The three-way merge absorb uses for files whose published form differs from the internal
one, and the state a stopped absorb leaves for ``--continue`` and ``--abort``."""

from __future__ import annotations

import json
from pathlib import Path

import pygit2
import pytest

from git_pubgate import absorb_state
from git_pubgate.absorb_merge import ConflictError, SectionMerge, has_conflict_markers, merge_file
from git_pubgate.absorb_state import AbsorbState, Stop
from git_pubgate.errors import PubgateError

from .conftest import PublicRepos
from .factory import C
from .test_absorb import make_world

INTERNAL = b"a\nb\n# BEGIN-INTERNAL\nsecret()\n# END-INTERNAL\nc\nd\ne\n"


def strip_sections(data: bytes) -> bytes:
    """A stand-in for the filter's section transform (passed in, as the engine would)."""
    out, inside = [], False
    for line in data.splitlines(keepends=True):
        if line.startswith(b"# BEGIN-INTERNAL"):
            inside = True
        elif line.startswith(b"# END-INTERNAL"):
            inside = False
        elif not inside:
            out.append(line)
    return b"".join(out)


@pytest.fixture
def repo(tmp_path: Path) -> pygit2.Repository:
    return pygit2.init_repository(str(tmp_path / "r"), bare=True)


def merger(repo: pygit2.Repository, state: AbsorbState) -> SectionMerge:
    def publish(path: bytes, blob: bytes) -> bytes:
        del path
        data = strip_sections(repo[pygit2.Oid(raw=blob)].data)
        return bytes(repo.create_blob(data).raw)

    merge = SectionMerge(repo, publish, state)
    merge.public = "f" * 40
    return merge


def blob(repo: pygit2.Repository, data: bytes) -> bytes:
    return bytes(repo.create_blob(data).raw)


def test_merge_file_counts_conflicts() -> None:
    assert merge_file(b"a\nX\nc\n", b"a\nb\nc\n", b"a\nb\nc\nd\n") == (b"a\nX\nc\nd\n", 0)
    merged, conflicts = merge_file(b"a\nX\nc\n", b"a\nb\nc\n", b"a\nY\nc\n")
    assert conflicts == 1 and has_conflict_markers(merged) == [2, 4, 6]


def test_an_edit_away_from_the_section_merges_and_round_trips(repo: pygit2.Repository) -> None:
    published = strip_sections(INTERNAL)
    edited = published.replace(b"e\n", b"E\n")
    merge = merger(repo, AbsorbState())
    out = merge(b"f.py", blob(repo, INTERNAL), blob(repo, published), blob(repo, edited))
    assert repo[pygit2.Oid(raw=out)].data == INTERNAL.replace(b"e\n", b"E\n")


def test_an_edit_next_to_the_section_stops_with_markers(repo: pygit2.Repository) -> None:
    published = strip_sections(INTERNAL)
    edited = published.replace(b"b\nc\n", b"b\nnew()\nc\n")
    merge = merger(repo, AbsorbState())
    with pytest.raises(ConflictError) as stopped:
        merge(b"f.py", blob(repo, INTERNAL), blob(repo, published), blob(repo, edited))
    assert has_conflict_markers(stopped.value.merged)
    assert stopped.value.why == "conflicts with internal content"


def test_a_recorded_resolution_is_used_instead_of_merging(repo: pygit2.Repository) -> None:
    resolved = blob(repo, b"resolved\n")
    state = AbsorbState({AbsorbState.key("f" * 40, "f.py"): resolved.hex()})
    merge = merger(repo, state)
    assert merge(b"f.py", blob(repo, b"x\n"), blob(repo, b"y\n"), blob(repo, b"z\n")) == resolved


def test_state_round_trips_and_a_corrupt_one_is_a_clean_error(tmp_path: Path) -> None:
    state = AbsorbState({"p:f": "ab"}, Stop("p" * 40, "src/f.py", "1", "2", "3"))
    absorb_state.save(tmp_path, state)
    assert absorb_state.load(tmp_path) == state
    (absorb_state.directory(tmp_path) / "state.json").write_text("{broken")
    with pytest.raises(PubgateError, match="cannot be read") as failed:
        absorb_state.load(tmp_path)
    assert "--abort" in (failed.value.hint or "")
    assert absorb_state.clear(tmp_path) and not absorb_state.clear(tmp_path)


def test_continue_and_abort_need_a_stopped_absorb(tmp_path: Path, public: PublicRepos) -> None:
    world = make_world(tmp_path, public)
    for flag, words in (("--continue", "nothing to continue"), ("--abort", "nothing to abort")):
        done = world.pubgate("absorb", flag)
        assert done.code == 1 and words in done.err and "hint:" in done.err
    both = world.pubgate("absorb", "--continue", "--dry-run")
    assert both.code == 2 and "not allowed with" in both.err


def test_a_stopped_absorb_blocks_reruns_until_aborted(tmp_path: Path, public: PublicRepos) -> None:
    world = make_world(tmp_path, public)
    world.contribute(C("p1", ["main"], {"src/app.py": "v2\n"}))
    git_dir = world.src / ".git"
    stop = Stop(world.pub["p1"], "src/app.py", "1" * 40, "2" * 40, "3" * 40)
    absorb_state.save(git_dir, AbsorbState({}, stop))
    blocked = world.pubgate("absorb")
    assert blocked.code == 1 and "--continue" in blocked.err and "src/app.py" in blocked.err
    missing = world.pubgate("absorb", "--continue")
    assert missing.code == 1 and "cannot read the file to resolve" in missing.err
    done = world.pubgate("--json", "absorb", "--abort")
    assert done.code == 0 and json.loads(done.out)["aborted"], done.err
    assert world.absorb()["commits"][0]["public"] == world.pub["p1"]
