"""Version maths, version files and the changelog: the pure parts of a release."""

from __future__ import annotations

import tomllib

import pytest
from packaging.version import Version

from git_pubgate import changelog
from git_pubgate.errors import PubgateError
from git_pubgate.version_files import VersionFile, VersionFileError, detect
from git_pubgate.versions import Change, Level, classify, decide, next_version, parse_version


def change(message: str, commit: str = "abcdef1234567") -> Change:
    return classify(commit, message)


@pytest.mark.parametrize(
    ("message", "level"),
    [
        ("feat: add a thing", Level.MINOR),
        ("feat(cli): add a flag", Level.MINOR),
        ("fix: a crash", Level.PATCH),
        ("perf(io): faster reads", Level.PATCH),
        ("docs: typo", Level.OTHER),
        ("chore!: drop Python 3.10", Level.MAJOR),
        ("feat(api)!: rename run()", Level.MAJOR),
        ("fix: x\n\nBREAKING CHANGE: the config key moved", Level.MAJOR),
        ("fix: x\n\nBREAKING-CHANGE: the config key moved", Level.MAJOR),
        ("Feat: capitalised type", Level.MINOR),
        ("feature: not a Conventional type", Level.OTHER),
        ("Merge branch 'x'", Level.OTHER),
        ("fix: mentions BREAKING CHANGE: mid-line only", Level.PATCH),
    ],
)
def test_commit_levels(message: str, level: Level) -> None:
    assert change(message).level == level


def test_subject_and_scope_are_split_off() -> None:
    c = change("feat(cli)!: add --bump\n\nbody")
    assert (c.scope, c.subject, c.group) == ("cli", "add --bump", "Breaking")
    assert change("Tidy up").subject == "Tidy up"


@pytest.mark.parametrize(
    ("previous", "level", "major_on_zero", "expected"),
    [
        ("1.2.3", Level.PATCH, False, "1.2.4"),
        ("1.2.3", Level.MINOR, False, "1.3.0"),
        ("1.2.3", Level.MAJOR, False, "2.0.0"),
        ("0.4.1", Level.MAJOR, False, "0.5.0"),  # breaking while 0.x: minor
        ("0.4.1", Level.MAJOR, True, "1.0.0"),
        ("0.4.1", Level.MINOR, False, "0.5.0"),
        ("0.4.1", Level.OTHER, False, "0.4.2"),
        ("1.0", Level.PATCH, False, "1.0.1"),
        ("1.0.0.post2", Level.PATCH, False, "1.0.1"),
        ("2!1.0.0", Level.MINOR, False, "2!1.1.0"),
    ],
)
def test_bump_rules(previous: str, level: Level, major_on_zero: bool, expected: str) -> None:
    assert next_version(Version(previous), level, major_on_zero=major_on_zero) == Version(expected)


@pytest.mark.parametrize(
    ("previous", "level", "prerelease", "expected"),
    [
        ("1.1.0", Level.MINOR, "rc", "1.2.0rc1"),
        ("1.2.0rc1", Level.MINOR, "rc", "1.2.0rc2"),
        ("1.2.0rc2", Level.PATCH, "rc", "1.2.0rc3"),  # a fix fits the minor step under way
        ("1.2.0rc2", Level.MAJOR, "rc", "2.0.0rc1"),  # a bigger step starts a new one
        ("1.2.0a3", Level.MINOR, "b", "1.2.0b1"),
        ("1.2.0rc2", Level.MINOR, None, "1.2.0"),  # a plain bump finalises
        ("1.2.0rc2", Level.PATCH, None, "1.2.0"),
        ("1.2.3rc1", Level.MINOR, None, "1.3.0"),
        ("1.2.0.dev4", Level.PATCH, None, "1.2.0"),
    ],
)
def test_prerelease_sequences(
    previous: str, level: Level, prerelease: str | None, expected: str
) -> None:
    got = next_version(Version(previous), level, prerelease=prerelease, major_on_zero=True)
    assert got == Version(expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1.0.0-rc.1", "1.0.0rc1"),
        ("1.0.0-beta.2", "1.0.0b2"),
        ("1.0.0-alpha", "1.0.0a0"),
        ("v2.1.0", "2.1.0"),
        ("1.2", "1.2"),
    ],
)
def test_semver_spellings_are_normalised(text: str, expected: str) -> None:
    assert str(parse_version(text)) == expected


def test_not_a_version_is_a_clear_error() -> None:
    with pytest.raises(PubgateError, match="'banana' is not a version"):
        parse_version("banana")


def decide_auto(messages: list[str], previous: str = "0.3.0", **kw: object) -> str:
    changes = [change(m, f"{i:07x}aaaa") for i, m in enumerate(messages)]
    options: dict[str, object] = {
        "bump_mode": "auto",
        "prerelease": None,
        "major_on_zero": False,
        "declared": None,
        "command_line": False,
    }
    options.update(kw)
    return str(decide(Version(previous), changes, **options).version)  # type: ignore[arg-type]


def test_auto_takes_the_biggest_change() -> None:
    assert decide_auto(["fix: a", "feat: b", "docs: c"], "1.4.2") == "1.5.0"
    assert decide_auto(["fix: a", "feat!: b"], "1.4.2") == "2.0.0"
    assert decide_auto(["docs: only docs"], "1.4.2") == "1.4.3"


def test_release_as_footer_forces_the_version_unless_the_command_line_says_otherwise() -> None:
    messages = ["fix: a", "chore: prepare\n\nRelease-As: 1.0.0-rc.1"]
    assert decide_auto(messages) == "1.0.0rc1"
    assert decide_auto(messages, bump_mode="patch", command_line=True) == "0.3.1"


def test_reason_names_the_commits_that_drove_it() -> None:
    changes = [change("feat: x", "1111111aaaa"), change("fix: y", "2222222aaaa")]
    decision = decide(
        Version("0.1.0"),
        changes,
        bump_mode="auto",
        prerelease=None,
        major_on_zero=False,
        declared=None,
        command_line=False,
    )
    assert decision.reason == "minor: 1 feature (1111111)"
    assert [c.commit for c in decision.drivers] == ["1111111aaaa"]


def test_none_takes_the_declared_version_and_needs_one() -> None:
    assert decide_auto(["feat: x"], bump_mode="none", declared=Version("4.0.0")) == "4.0.0"
    with pytest.raises(PubgateError, match="declares no version"):
        decide_auto(["feat: x"], bump_mode="none")


# --- version files ---------------------------------------------------------------------------

PYPROJECT = """\
# Build settings; keep this comment.
[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"

[project]
name = "demo"   # the distribution name
version = '0.3.0'  # bumped by git-pubgate
dependencies = [
    "httpx>=0.27",  # version = "9.9.9" in a comment must stay
]

[tool.other]
version = "not this one"
"""


def test_pyproject_round_trip_touches_only_the_version() -> None:
    file = VersionFile.for_path("pyproject.toml")
    assert file.read(PYPROJECT.encode()) == "0.3.0"
    new = file.write(PYPROJECT.encode(), "0.4.0").decode()
    assert new == PYPROJECT.replace("'0.3.0'", "'0.4.0'")
    assert tomllib.loads(new)["tool"]["other"]["version"] == "not this one"
    assert file.write(new.encode(), "0.3.0").decode() == PYPROJECT


def test_poetry_version_is_found() -> None:
    text = '[tool.poetry]\nname = "x"\nversion = "1.0.0"\n'
    file = VersionFile.for_path("pyproject.toml")
    assert file.write(text.encode(), "1.1.0").decode() == text.replace("1.0.0", "1.1.0")


def test_pyproject_without_a_version_is_refused() -> None:
    with pytest.raises(VersionFileError, match="has no version in"):
        VersionFile.for_path("pyproject.toml").write(b'[project]\nname = "x"\n', "1.0.0")


def test_python_assignment_round_trip() -> None:
    text = '"""Package."""\n\n__version__: str = "1.2.3"  # keep\nVERSION = "1.2.3"\n'
    file = VersionFile.for_path("src/pkg/__init__.py")
    assert file.kind == "python" and file.read(text.encode()) == "1.2.3"
    new = file.write(text.encode(), "1.3.0").decode()
    assert new == '"""Package."""\n\n__version__: str = "1.3.0"  # keep\nVERSION = "1.2.3"\n'


def test_text_file_round_trip_keeps_surrounding_whitespace() -> None:
    file = VersionFile.for_path("VERSION")
    assert file.kind == "text"
    assert file.write(b"1.0.0\n", "1.0.1") == b"1.0.1\n"
    assert file.write(b"  1.0.0", "1.0.1") == b"  1.0.1"
    assert file.read(b"\n1.0.0-rc.1\n") == "1.0.0-rc.1"


def reader(files: dict[str, str]):  # type: ignore[no-untyped-def]
    return lambda path: files[path].encode() if path in files else None


@pytest.mark.parametrize(
    ("files", "paths", "why"),
    [
        ({"pyproject.toml": '[project]\nname="x"\nversion="1"\n'}, ["pyproject.toml"], ""),
        (
            {
                "pyproject.toml": '[project]\nname="x"\ndynamic=["version"]\n'
                '[tool.hatch.version]\npath="src/x/__about__.py"\n',
            },
            ["src/x/__about__.py"],
            "",
        ),
        (
            {
                "pyproject.toml": '[project]\nname="x"\ndynamic=["version"]\n'
                '[tool.hatch.version]\nsource="vcs"\n',
            },
            [],
            "hatch-vcs",
        ),
        (
            {
                "pyproject.toml": '[build-system]\nrequires=["setuptools", "setuptools-scm>=8"]\n'
                '[project]\nname="x"\ndynamic=["version"]\n[tool.setuptools_scm]\n',
            },
            [],
            "setuptools_scm",
        ),
        (
            {
                "pyproject.toml": '[project]\nname="x"\ndynamic=["version"]\n'
                '[tool.setuptools.dynamic]\nversion={attr="x.__version__"}\n',
                "src/x/__init__.py": '__version__ = "1"\n',
            },
            ["src/x/__init__.py"],
            "",
        ),
        ({"setup.py": ""}, [], "no pyproject.toml"),
    ],
)
def test_detect_follows_dynamic_versions(files: dict[str, str], paths: list[str], why: str) -> None:
    found = detect(reader(files))
    assert [f.path for f in found.files] == paths
    assert found.why == why


def test_detect_refuses_a_dynamic_version_it_cannot_place() -> None:
    files = {"pyproject.toml": '[project]\nname="x"\ndynamic=["version"]\n'}
    with pytest.raises(VersionFileError, match="cannot tell where it lives"):
        detect(reader(files))


# --- changelog -------------------------------------------------------------------------------

CHANGES = [
    change("feat(cli): add --bump", "aaaaaaa1111"),
    change("fix: crash on empty input", "bbbbbbb2222"),
    change("docs: tidy", "ccccccc3333"),
    change("refactor!: drop the old API", "ddddddd4444"),
]


def test_section_groups_changes_with_short_ids() -> None:
    text = changelog.section("1.0.0", "2026-11-24", CHANGES)
    assert text == (
        "## [1.0.0] - 2026-11-24\n\n"
        "### Breaking\n\n- drop the old API (ddddddd)\n\n"
        "### Features\n\n- **cli:** add --bump (aaaaaaa)\n\n"
        "### Fixes\n\n- crash on empty input (bbbbbbb)\n\n"
        "### Other\n\n- tidy (ccccccc)\n"
    )


EXISTING = """\
# Changelog

Intro paragraph.

## [0.1.0] - 2026-01-01

### Features

- first (1234567)
"""


@pytest.mark.parametrize(
    "existing",
    [
        None,
        EXISTING,
        EXISTING.replace("Intro paragraph.\n", "Intro.\n\n## [Unreleased]\n\n- notes\n"),
        EXISTING.replace("Intro paragraph.\n", "Intro.\n\n" + changelog.MARKER + "\n"),
        "# Changelog\n",
    ],
)
def test_insertion_is_idempotent_and_keeps_everything_else(existing: str | None) -> None:
    section = changelog.section("0.2.0", "2026-11-24", CHANGES[:2])
    once = changelog.insert(existing, "0.2.0", section)
    assert changelog.insert(once, "0.2.0", section) == once
    assert once.count("## [0.2.0]") == 1
    if existing:
        # Nothing of the old file is lost, and the new section sits above older releases.
        for line in existing.splitlines():
            assert line in once.splitlines()
        if "[0.1.0]" in existing:
            assert once.index("## [0.2.0]") < once.index("## [0.1.0]")
        if "[Unreleased]" in existing:
            assert once.index("## [Unreleased]") < once.index("## [0.2.0]")
    else:
        assert once.startswith("# Changelog\n")
    # A newer section for the same version (more commits arrived) replaces the old one.
    bigger = changelog.section("0.2.0", "2026-11-25", CHANGES)
    again = changelog.insert(once, "0.2.0", bigger)
    assert again.count("## [0.2.0]") == 1 and "drop the old API" in again


def test_insertion_below_title_and_above_newest() -> None:
    section = changelog.section("0.2.0", "2026-11-24", CHANGES[1:2])
    assert changelog.insert(EXISTING, "0.2.0", section) == (
        "# Changelog\n\nIntro paragraph.\n\n"
        "## [0.2.0] - 2026-11-24\n\n### Fixes\n\n- crash on empty input (bbbbbbb)\n\n"
        "## [0.1.0] - 2026-01-01\n\n### Features\n\n- first (1234567)\n"
    )
