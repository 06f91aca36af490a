"""Reading sync state from public trailers: the fast reader names exactly what the parser does.

``source_ids`` and ``state.read_synced`` find a trailer's object ids with one pattern per
message; ``trailer.values`` followed by a check of each value is the definition they must keep
to (it is what the state was read with before). Property tests compare the two on generated
messages; the history test reads a real repository holding every kind of message sync meets.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pygit2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from git_pubgate import commit_map, sync
from git_pubgate.commit_map import CommitMap
from git_pubgate.state import read_synced, read_synced_since
from git_pubgate.trailer import source_ids, values

from .conftest import PublicRepos
from .factory import C
from .test_incremental import Checked, same_as_scratch
from .test_sync import ROUND_1

SOURCE = "Pubgate-Source"


def reference_ids(message: bytes, name: str) -> list[str]:
    """The definition: every value of the ``name:`` trailers that is a full object id."""
    return [v for v in values(message, name) if re.fullmatch(r"[0-9a-f]{40,64}", v)]


_HEX = "0123456789abcdef"
# Mostly what a reader must find, often something just beside it.
_ids = st.one_of(
    st.text(_HEX, min_size=40, max_size=40),
    st.text(_HEX, min_size=64, max_size=64),
    st.text(_HEX, min_size=39, max_size=65),
    st.text(_HEX + "ABCDEF", min_size=40, max_size=40),
    st.text(_HEX + "ABCDEFgxz\u00e9", min_size=38, max_size=66),
)
_names = st.sampled_from(
    [SOURCE] * 4 + ["Pubgate-Release", "Pubgate-Absorbed", "pubgate-source", "X-" + SOURCE]
)
_prefixes = st.sampled_from(["", "", " ", "\t", "* ", "- ", "  * ", "-*- ", "> ", "#"])
_separators = st.sampled_from([": ", ": ", ": ", ":", ":  ", ": \t", " : "])
_ends = st.sampled_from(["", "", "", " ", "\t", " \t", "\r", " x", "\x0b", "\u00e9"])


@st.composite
def _line(draw: st.DrawFn) -> bytes:
    kind = draw(st.integers(0, 5))
    if kind == 0:  # free text, any bytes but newlines (non-UTF-8 included)
        return draw(st.binary(max_size=30)).replace(b"\n", b"")
    if kind == 1:  # a folded continuation line
        return b" " + draw(st.text(_HEX, max_size=64)).encode()
    text = draw(_prefixes) + draw(_names) + draw(_separators) + draw(_ids) + draw(_ends)
    encoding = draw(st.sampled_from(["utf-8", "latin-1"]))
    return text.encode(encoding)


_messages = st.lists(_line(), max_size=12).map(b"\n".join)


_trailers = st.sampled_from([SOURCE, SOURCE, "Pubgate-Absorbed", "My.Trailer+1"])


@settings(max_examples=400, deadline=None)
@given(message=_messages, name=_trailers)
def test_source_ids_keep_to_the_definition(message: bytes, name: str) -> None:
    assert source_ids(message, name) == reference_ids(message, name)


@settings(max_examples=100, deadline=None)
@given(
    lines=st.lists(st.tuples(_prefixes, _ids, _ends), min_size=1, max_size=6),
    trailing=st.sampled_from([b"", b"\n", b"\n\n", b"\r\n"]),
)
def test_several_trailers_in_one_message(
    lines: list[tuple[str, str, str]], trailing: bytes
) -> None:
    """A squash merge quotes every squashed commit's trailer, bulleted or not."""
    body = "\n".join(f"{prefix}{SOURCE}: {oid}{end}" for prefix, oid, end in lines)
    message = b"Squashed\n\n" + body.encode() + trailing
    assert source_ids(message, SOURCE) == reference_ids(message, SOURCE)


def _commit(repo: pygit2.Repository, parents: list[str], message: bytes) -> str:
    """A commit whose message is exactly ``message``'s bytes (pygit2 would encode a str)."""
    tree = repo.TreeBuilder().write()
    header = b"tree " + str(tree).encode() + b"\n"
    header += b"".join(b"parent " + p.encode() + b"\n" for p in parents)
    who = b"Ada <ada@example.com> 1600000000 +0000"
    header += b"author " + who + b"\ncommitter " + who + b"\n"
    if b"\xe9" in message:
        header += b"encoding ISO-8859-1\n"
    oid = repo.odb.write(pygit2.enums.ObjectType.COMMIT, header + b"\n" + message)
    return str(oid)


def test_read_synced_over_every_kind_of_message(tmp_path: Path) -> None:
    """One public history with each message sync meets; the map names exactly these."""
    repo = pygit2.init_repository(str(tmp_path / "public.git"), bare=True)
    a, b, c, d, e, f, g = (ch * 40 for ch in "abcdef0")
    wide = "9" * 64  # a SHA-256 source
    root = _commit(repo, [], b"Initial commit\n")
    plain = _commit(repo, [root], f"one\n\nPubgate-Source: {a}\n".encode())
    squash = _commit(
        repo,
        [plain],
        (
            f"Squashed (#2)\n\n* two\n\n  Pubgate-Source: {b}\n\n* three\n\n"
            f"- Pubgate-Source: {c}\n* {SOURCE}: {wide}\n"
        ).encode(),
    )
    latin = _commit(repo, [squash], f"caf\xe9\n\nPubgate-Source: {d}\n".encode("latin-1"))
    release = _commit(
        repo, [latin], f"Release v1.0.0\n\nPubgate-Release: v1.0.0\nPubgate-Source: {e}\n".encode()
    )
    absorbed = _commit(repo, [release], f"fix\n\nPubgate-Absorbed: {f}\n".encode())
    folded = _commit(
        repo,
        [absorbed],
        (
            f"folded\n\nPubgate-Source:\n {g}\nPubgate-Source: {'1' * 40}\n  more text\n"
            f"Pubgate-Source: {'2' * 39}\nPubgate-Source: {'3' * 40}x\n"
            f"Pubgate-Source: {'4' * 40} \t\n"
        ).encode(),
    )
    side = _commit(repo, [root], f"side\n\nPubgate-Source: {a}\n".encode())  # names a again
    tip = _commit(repo, [folded, side], f"Merge\n\nPubgate-Source: {b}\n".encode())

    synced = read_synced(repo, tip, SOURCE)
    assert synced == {
        b: tip,  # the newest commit that names a source wins over the squash
        "1" * 40: folded,
        "4" * 40: folded,
        e: release,
        d: latin,
        c: squash,
        wide: squash,
        a: synced[a],
    }
    assert synced[a] in (plain, side)  # two parallel commits: whichever the walk meets first
    assert next(iter(synced)) == b  # newest first
    assert read_synced_since(repo, tip, SOURCE, root) == synced
    assert read_synced(repo, tip, "Pubgate-Absorbed") == {f: absorbed}
    newer = {b: tip, "1" * 40: folded, "4" * 40: folded, e: release, a: side}
    assert read_synced_since(repo, tip, SOURCE, latin) == newer
    assert read_synced_since(repo, folded, SOURCE, side) is None  # not an ancestor
    for commit in (plain, squash, latin, release, absorbed, folded, side, tip):
        message = repo[commit].peel(pygit2.Commit).raw_message
        assert source_ids(message, SOURCE) == reference_ids(message, SOURCE)


def reference_records(entries: dict[str, str | None], width: int) -> bytes:
    """The definition of a map's records: each id converted on its own, sorted raw."""
    rows = sorted(
        (bytes.fromhex(s), bytes.fromhex(p) if p else bytes(width)) for s, p in entries.items()
    )
    return b"".join(k + v for k, v in rows)


def _hex_ids(width: int) -> st.SearchStrategy[str]:
    return st.binary(min_size=width, max_size=width).map(bytes.hex)


@st.composite
def _entries(draw: st.DrawFn) -> tuple[dict[str, str | None], int]:
    width = draw(st.sampled_from([20, 32]))
    ids = _hex_ids(width)
    publics = st.one_of(ids, st.none(), st.just(""))
    entries = draw(st.dictionaries(ids, publics, max_size=40))
    odd = draw(st.sampled_from(["", "upper", "other width", "blank"]))
    if odd and entries:
        source = draw(st.sampled_from(sorted(entries)))
        if odd == "upper":
            entries[source.upper()] = entries.pop(source)
        elif odd == "other width":
            entries[source] = "ab" * (52 - width)  # the other width's public id
        else:
            entries[source[:2] + " " + source[2:]] = entries.pop(source)
    return entries, width


@settings(max_examples=300, deadline=None)
@given(case=_entries())
def test_a_map_is_built_as_its_records_define(case: tuple[dict[str, str | None], int]) -> None:
    """The fast way (sort as text, convert each column once) gives the defined bytes."""
    entries, width = case
    built = CommitMap.build(entries, width)
    head = CommitMap.build({}, width)
    assert built[: len(head)] == head
    assert built[len(head) :] == reference_records(entries, width)
    digits = 2 * width
    if all(
        len(s) == digits == len(p or "0" * digits) and s == s.lower() for s, p in entries.items()
    ):
        stored = CommitMap(built, width)
        for source, public in entries.items():
            # A public id of zeros reads back as "" (the way a pruned commit is stored).
            assert stored.get(source) == (public if public and public.strip("0") else "")


@settings(max_examples=100, deadline=None)
@given(first=_entries(), more=st.data())
def test_new_records_are_spliced_into_a_stored_map(
    first: tuple[dict[str, str | None], int], more: st.DataObject
) -> None:
    entries, width = first
    digits = 2 * width
    entries = {
        s: p
        for s, p in entries.items()
        if len(s) == digits == len(p or "0" * digits) and s == s.lower()
    }
    base = CommitMap(CommitMap.build(entries, width), width)
    added = more.draw(st.dictionaries(_hex_ids(width), _hex_ids(width), max_size=8))
    if entries:
        replaced = more.draw(st.sampled_from(sorted(entries)))
        added[replaced] = "0" * digits
    spliced = CommitMap.build(added, width, base)
    assert spliced == CommitMap.build({**entries, **added}, width)


def _stored_map(world: Checked) -> dict[str, str]:
    """The review map the last run stored, checked against every trailer of the review branch."""
    (cache_json,) = world.cache_dir().glob("*.json")
    cache = json.loads(cache_json.read_text(encoding="utf-8"))
    stored = commit_map.load(world.cache_dir() / cache["review_map"])
    assert stored is not None
    return {source: stored.get(source) or "" for source in stored.sources()}


@pytest.mark.parametrize("strategy", ["ff", "merge"])
@pytest.mark.parametrize("quoting", [False, True])
def test_the_first_merge_is_not_read_again_unless_a_message_named_more(
    tmp_path: Path,
    public: PublicRepos,
    monkeypatch: pytest.MonkeyPatch,
    strategy: str,
    quoting: bool,
) -> None:
    """Merged, the first publication's pull request is the whole history: its trailers say
    what the runs that wrote it recorded, so the next sync takes the record and reads only the
    merge commit. Not when a source message held a trailer line of its own (its public commit
    then names two sources): that sync reads the trailers. Either way the stored map is what
    the trailers say, and the ids are a run from scratch's."""
    world = Checked(tmp_path, public, with_readme=True)
    world.commit(*ROUND_1)
    message = f"q\n\nPubgate-Source: {world.ids['a']}\n" if quoting else "q\n"
    world.commit(C("q", ["c"], {"src/q.py": "q\n"}, message=message))
    world.checked()
    world.commit(C("r", ["q"], {"src/r.py": "r\n"}))
    world.checked()  # the pull request grows while open
    world.merge(strategy)

    walked: list[str] = []
    for name in ("read_synced", "read_synced_since"):
        real = getattr(sync, name)
        monkeypatch.setattr(
            sync, name, lambda *a, real=real, name=name, **k: walked.append(name) or real(*a, **k)
        )
    world.commit(C("after", ["r"], {"src/after.py": "a\n"}))
    report = world.sync_report()
    taken = list(walked)
    same_as_scratch(report, world.from_scratch())
    assert report["rewritten"] == 1
    staging = pygit2.Repository(str(world.src / ".git" / "pubgate" / "public.git"))
    review_tip = world.heads()["main"]
    assert _stored_map(world) == read_synced(staging, review_tip, SOURCE)
    assert taken == (["read_synced_since"] if quoting else [])
    if quoting:  # q's public commit names two ids (the quoted one rewritten to a's public id)
        trailers = read_synced(staging, review_tip, SOURCE)
        assert list(trailers.values()).count(trailers[world.ids["q"]]) == 2

    monkeypatch.undo()
    world.commit(C("later", ["after"], {"src/later.py": "l\n"}))
    world.checked()


def test_after_init_the_record_stands_in_for_the_trailers(
    tmp_path: Path, public: PublicRepos, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--init`` publishes the whole history straight onto an empty review branch: the next
    sync has no stored map at all, and takes the record of what ``--init`` wrote."""
    world = Checked(tmp_path, public, with_readme=False)
    world.commit(*ROUND_1, C("q", ["c"], {"src/q.py": "q\n"}))
    code, _, err = world.sync("sync", "--init", "--no-pr")
    assert code == 0, err
    walked: list[str] = []
    real = sync.read_synced
    monkeypatch.setattr(sync, "read_synced", lambda *a: walked.append("all") or real(*a))
    world.commit(C("after", ["q"], {"src/after.py": "a\n"}))
    report = world.sync_report()
    assert walked == [] and report["rewritten"] == 1
    monkeypatch.undo()
    same_as_scratch(report, world.from_scratch())
    staging = pygit2.Repository(str(world.src / ".git" / "pubgate" / "public.git"))
    assert _stored_map(world) == read_synced(staging, world.heads()["main"], SOURCE)
