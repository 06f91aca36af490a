from __future__ import annotations

import json
from pathlib import Path

import pytest

from git_pubgate.config import Config, is_local, load
from git_pubgate.errors import ConfigError

from .conftest import pubgate

PUBLISHED_EXAMPLE = """\
source_repo: "git@github.com:your-org/internal-project.git"
target_repo: "git@github.com:your-org/public-project.git"
pypi_package_name: "your-awesome-package"
review_branch: "main"
pre_publish_commands:
- "pytest"
- "black --check ."
- "isort --check-only ."
github_token_env: "GH_TOKEN"
pypi_token_env: "PYPI_API_TOKEN"
exclude:
- ".git/"
- ".github/workflows/internal_ci.yml"
- "docs/internal/"
"""


def write(tmp_path: Path, text: str, name: str = "pubgate.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_published_example_loads_exactly(tmp_path: Path) -> None:
    cfg = load(write(tmp_path, PUBLISHED_EXAMPLE))
    assert cfg.source_repo == "git@github.com:your-org/internal-project.git"
    assert cfg.target_repo == "git@github.com:your-org/public-project.git"
    assert cfg.pypi_package_name == "your-awesome-package"
    assert cfg.review_branch == "main"
    assert cfg.pre_publish_commands == ("pytest", "black --check .", "isort --check-only .")
    assert cfg.github_token_env == "GH_TOKEN"
    assert cfg.pypi_token_env == "PYPI_API_TOKEN"
    assert cfg.exclude == (".git/", ".github/workflows/internal_ci.yml", "docs/internal/")
    assert cfg.trailer == "Pubgate-Source"
    assert cfg.head_branch == "pubgate/sync"


def test_unknown_key_names_file_line_and_suggestion(tmp_path: Path) -> None:
    path = write(tmp_path, 'target_repo: "x.git"\nexlude:\n  - "a/"\n')
    with pytest.raises(ConfigError) as e:
        load(path)
    assert e.value.message == f"{path}:2: exlude: unknown key"
    assert e.value.hint == "did you mean 'exclude'?"
    assert e.value.exit_code == 2


def test_unknown_nested_key(tmp_path: Path) -> None:
    path = write(tmp_path, "message:\n  trailr: X-Src\n")
    with pytest.raises(ConfigError) as e:
        load(path)
    assert e.value.message == f"{path}:2: message.trailr: unknown key"
    assert e.value.hint == "did you mean 'message.trailer'?"


@pytest.mark.parametrize(
    ("text", "line", "key", "expected"),
    [
        ("exclude: docs/\n", 1, "exclude", "expected a list of strings, got a string"),
        ("exclude:\n  - 3\n", 2, "exclude[0]", "expected a non-empty string, got a number"),
        ("review_branch: 'a..b'\n", 1, "review_branch", "'a..b' is not a valid branch name"),
        ("github_token_env: ghp_abc-123\n", 1, "github_token_env", "expected the name of an"),
        ("message:\n  trailer: 'two words'\n", 2, "message.trailer", "is not a trailer name"),
        ("target_repo: '--upload-pack=x'\n", 1, "target_repo", "cannot start with '-'"),
        ("version:\n  bump: huge\n", 2, "version.bump", "expected one of auto, major, minor"),
        ("version:\n  prerelease: gamma\n", 2, "version.prerelease", "expected a, b, rc"),
        ("version:\n  files: [../x.py]\n", 2, "version.files[0]", "a path inside the repo"),
        ("version:\n  tag_prefix: 'a b'\n", 2, "version.tag_prefix", "valid tag names"),
        ("committer: bot\n", 1, "committer", "expected 'Name <address>'"),
        ("pr:\n  draft: 'yes'\n", 2, "pr.draft", "expected true or false, got a string"),
        ("message: [a]\n", 1, "message", "expected a mapping, got a list"),
        ("review_branch: 3\n", 1, "review_branch", "expected a non-empty string, got a number"),
        ("github_app:\n  app_id: [1]\n", 2, "github_app.app_id", "expected the app's id"),
        ("version:\n  files: x.py\n", 2, "version.files", "expected a list of paths"),
    ],
)
def test_wrong_values_name_line_key_and_expectation(
    tmp_path: Path, text: str, line: int, key: str, expected: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as e:
        load(path)
    assert e.value.message.startswith(f"{path}:{line}: {key}: ")
    assert expected in e.value.message
    assert e.value.hint, "every configuration error carries a hint"


def test_malformed_yaml_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "target_repo: x\nexclude:\n  - a\n - b\n")
    with pytest.raises(ConfigError) as e:
        load(path)
    assert e.value.message.startswith(f"{path}:4: invalid YAML")


def test_duplicate_key_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "review_branch: main\nreview_branch: dev\n")
    with pytest.raises(ConfigError, match=r":2: review_branch: duplicate key"):
        load(path)


def test_trailer_can_be_turned_off(tmp_path: Path) -> None:
    assert load(write(tmp_path, "message:\n  trailer: false\n")).trailer is None


def test_local_paths_are_relative_to_the_config_file(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    cfg = load(write(tmp_path / "sub", "target_repo: ../public.git\n"))
    assert cfg.target_repo == str((tmp_path / "public.git").resolve())


def test_pyproject_table(tmp_path: Path) -> None:
    path = write(
        tmp_path, '[tool.pubgate]\ntarget_repo = "p.git"\nexclude = ["x/"]\n', "pyproject.toml"
    )
    cfg = load(path)
    assert isinstance(cfg, Config)
    assert cfg.exclude == ("x/",)
    bad = write(tmp_path, '[tool.pubgate]\nexcludes = ["x/"]\n', "pyproject.toml")
    with pytest.raises(ConfigError, match="excludes: unknown key"):
        load(bad)


def test_cli_reports_config_errors_without_traceback(tmp_path: Path) -> None:
    write(tmp_path, "exclude: [unclosed\n")
    result = pubgate("plan", cwd=tmp_path)
    assert result.code == 2
    lines = result.err.splitlines()
    assert lines[0].startswith("error: ") and "invalid YAML" in lines[0]
    assert lines[1].startswith("hint: ")
    assert "Traceback" not in result.err


def test_version_section_defaults_and_its_conflict_with_no_trailer(tmp_path: Path) -> None:
    assert load(write(tmp_path, "target_repo: x.git\n")).version is None
    cfg = load(write(tmp_path, "version: {}\n"))
    assert cfg.version is not None
    assert (cfg.version.bump, cfg.version.changelog, cfg.version.tag_prefix) == (
        "auto",
        "CHANGELOG.md",
        "v",
    )
    cfg = load(write(tmp_path, "version:\n  prerelease: beta\n  changelog: false\n"))
    assert cfg.version is not None and cfg.version.prerelease == "b"
    assert cfg.version.changelog is None
    with pytest.raises(ConfigError) as e:
        load(write(tmp_path, "message:\n  trailer: false\nversion:\n  bump: auto\n"))
    assert "releases need the message.trailer" in e.value.message
    with pytest.raises(ConfigError) as e:
        load(write(tmp_path, "version:\n  bumps: auto\n"))
    assert e.value.hint == "did you mean 'version.bump'?"


def test_init_writes_a_starter_that_loads(tmp_path: Path) -> None:
    result = pubgate("init", cwd=tmp_path)
    assert result.code == 0
    cfg = load(tmp_path / "pubgate.yaml")
    assert cfg.exclude and cfg.target_repo and cfg.version is not None
    again = pubgate("init", cwd=tmp_path)
    assert again.code == 1 and "refusing to overwrite" in again.err


def test_missing_config_is_a_usage_error(tmp_path: Path) -> None:
    result = pubgate("plan", cwd=tmp_path)
    assert result.code == 2
    assert "git pubgate init" in result.err


@pytest.mark.parametrize(
    ("location", "local"),
    [
        ("git@github.com:org/repo.git", False),
        ("github.com:org/repo", False),
        ("ssh://git@host:2222/x.git", False),
        ("https://github.com/org/repo", False),
        ("file:///srv/git/x.git", True),
        ("/srv/git/x.git", True),
        ("../public.git", True),
        ("./odd:name.git", True),  # a slash before the colon: git reads a path
    ],
)
def test_local_paths_and_urls_are_told_apart_as_git_does(location: str, local: bool) -> None:
    assert is_local(location) is local


def test_pr_templates_are_checked_when_the_config_loads(tmp_path: Path) -> None:
    path = write(tmp_path, "pr:\n  title: 'Sync {cont} commits'\n")
    with pytest.raises(ConfigError) as e:
        load(path)
    assert e.value.message == f"{path}:2: pr.title: unknown field {{cont}}"
    assert e.value.hint and "{count}" in e.value.hint
    path = write(tmp_path, "pr:\n  draft: 'yes'\n")
    with pytest.raises(ConfigError, match=r"pr.draft: expected true or false, got a string"):
        load(path)
    path = write(tmp_path, "forge: sourcehut\n")
    with pytest.raises(
        ConfigError,
        match="expected one of github, gitlab, gitea, azure, bitbucket, bitbucket-server, none",
    ):
        load(path)


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        ("exclude: docs/\n", 'write a list, even of one: exclude: ["first", "second"]'),
        ("pr:\n  draft: 'yes'\n", "write draft: true or draft: false, without quotes"),
        ("review_branch: 3\n", 'write it in quotes: review_branch: "..."'),
        ("forge: sourcehut\n", "forge: github, gitlab, gitea, azure, bitbucket (Cloud), "),
        ("- a\n- b\n", "write one 'key: value' per line"),
    ],
)
def test_type_errors_say_how_to_write_the_value(tmp_path: Path, text: str, hint: str) -> None:
    with pytest.raises(ConfigError) as e:
        load(write(tmp_path, text))
    assert e.value.hint is not None and hint in e.value.hint


def test_invalid_pyproject_toml_names_the_line(tmp_path: Path) -> None:
    write(
        tmp_path, '[tool.pubgate]\ntarget_repo = "p.git"\nexclude = [internal/]\n', "pyproject.toml"
    )
    result = pubgate("plan", cwd=tmp_path)
    assert result.code == 2
    error, hint = result.err.splitlines()
    assert error.startswith(f"error: {tmp_path / 'pyproject.toml'}:3: invalid TOML: ")
    assert "(column " in error and "not found" not in error
    assert hint.startswith("hint: fix that line")
    # A broken pyproject.toml that cannot be ours is not in the way of a pubgate.yaml-less
    # search: it is "not found", as before.
    write(tmp_path, "[project\nname = 'x'\n", "pyproject.toml")
    assert "no pubgate.yaml or [tool.pubgate] found" in pubgate("plan", cwd=tmp_path).err
    with pytest.raises(ConfigError, match=r"pyproject.toml:1: invalid TOML: "):
        load(tmp_path / "pyproject.toml")


@pytest.mark.parametrize(
    "args",
    [
        ["--json", "plan"],  # no configuration: exit 2
        ["plan", "--json"],
        ["--json", "nonsense"],  # argparse's own refusal
        ["--json", "hook", "pre-push"],  # wrong use
    ],
)
def test_json_failures_print_one_object_on_stdout(tmp_path: Path, args: list[str]) -> None:
    result = pubgate(*args, cwd=tmp_path)
    assert result.code == 2
    data = json.loads(result.out)
    assert set(data) == {"error", "hint", "exit_code"}
    assert data["exit_code"] == 2 and data["error"] and data["hint"]
    assert result.err.splitlines() == [f"error: {data['error']}", f"hint: {data['hint']}"]
