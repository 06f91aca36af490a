"""Hostile input to the parsers that read outside data: a clean error, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from git_pubgate.config import load
from git_pubgate.errors import ConfigError
from git_pubgate.hooks import parse_pre_push

KEYS = [
    "target_repo",
    "exclude",
    "include",
    "message",
    "authors",
    "pr",
    "github_app",
    "review_branch",
    "branch_prefix",
    "forge",
    "api_url",
    "pypi_repository_url",
    "scrub",
    "trailer",
    "map",
    "fail_on",
    "keep_only",
    "title",
    "draft",
    "app_id",
    "exlude",
]
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(max_size=20),
    st.sampled_from(["[", "(?P<", "{count", "-x", "a\x00b"]),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(KEYS), inner, max_size=4)
    ),
    max_leaves=12,
)
documents = st.dictionaries(st.sampled_from(KEYS), values, max_size=6)


def _yaml(value: object) -> str:
    return json.dumps(value)  # JSON is YAML: any structure, exactly as generated


@settings(
    derandomize=True,
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(document=documents)
def test_any_config_structure_loads_or_fails_cleanly(tmp_path: Path, document: object) -> None:
    path = tmp_path / "pubgate.yaml"
    path.write_text(_yaml(document))
    try:
        load(path)
    except ConfigError as e:
        assert e.message.startswith(str(path)) and "\n" not in e.message
        assert e.hint, e.message  # the README promises a hint with every failure


@settings(
    derandomize=True,
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(text=st.text(max_size=200))
def test_any_config_text_loads_or_fails_cleanly(tmp_path: Path, text: str) -> None:
    path = tmp_path / "pubgate.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        load(path)
    except ConfigError as e:  # any other exception fails the test
        assert e.hint, e.message


@settings(derandomize=True, max_examples=500)
@given(text=st.text(alphabet=st.sampled_from("abcdef0123456789 /\n\t()delete-refs"), max_size=300))
def test_any_pre_push_input_parses_or_fails_cleanly(text: str) -> None:
    try:
        refs = parse_pre_push(text)
    except ConfigError:
        return
    for ref in refs:
        assert len(ref.local_oid) in (40, 64) and len(ref.remote_oid) in (40, 64)


def test_undecodable_config_is_a_clean_error(tmp_path: Path) -> None:
    path = tmp_path / "pubgate.yaml"
    path.write_bytes(b"target_repo: \xff\xfe\n")
    with pytest.raises(ConfigError, match="cannot read"):
        load(path)
