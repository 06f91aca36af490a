"""Our reference-name check agrees with git check-ref-format."""

from __future__ import annotations

import subprocess

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from git_pubgate.refnames import is_valid_ref

PIECES = ["a", "b/", "/", ".", "..", "@", "@{", "{", ".lock", " ", "~", "^", ":", "?", "*", "["]
PIECES += ["\\", "\x7f", "\x01", "\t", "-", "é", "x.lock/", "lock"]


def git_accepts(name: str) -> bool:
    done = subprocess.run(
        ["git", "check-ref-format", name],
        capture_output=True,
        check=False,
    )
    return done.returncode == 0


@settings(
    max_examples=200, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
@given(st.lists(st.sampled_from(PIECES), max_size=6))
def test_agrees_with_git(pieces: list[str]) -> None:
    name = "refs/heads/" + "".join(pieces)
    assert is_valid_ref(name) == git_accepts(name), name


def test_known_names() -> None:
    assert is_valid_ref("refs/heads/pubgate/sync")
    assert is_valid_ref("refs/tags/v1.0.0")
    for bad in ("refs/heads/a..b", "refs/heads/x.lock", "refs/heads/.x", "refs/heads/a b"):
        assert not is_valid_ref(bad), bad
