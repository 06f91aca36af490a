from __future__ import annotations

import itertools
import os
import sys

from hypothesis import given
from hypothesis import strategies as st

from git_pubgate.procs import Scrubber, run_live


def test_live_output_is_scrubbed_even_across_reads() -> None:
    secret = "token-SECRET-1234"
    child = (
        "import sys, time\n"
        "sys.stderr.write('start tok'); sys.stderr.flush(); time.sleep(0.2)\n"
        "sys.stderr.write('en-SECRET-1234 done\\r50%\\r100%\\n'); sys.exit(3)\n"
    )
    seen: list[str] = []
    code, said = run_live([sys.executable, "-c", child], os.environ, seen.append, secret=secret)
    assert code == 3
    assert said == "start *** done\r50%\r100%\n"
    assert "".join(seen) == said and len(seen) >= 2  # it really streamed
    assert not any("SECRET" in part for part in seen)


@given(
    st.lists(st.text(alphabet="ab-\u00e9\n", min_size=0, max_size=12), max_size=6),
    st.lists(st.integers(min_value=0, max_value=200), max_size=8),
)
def test_several_secrets_are_scrubbed_wherever_the_reads_split(
    fillers: list[str], cuts: list[int]
) -> None:
    """Two tokens (one a prefix of the other) and UTF-8 text cut into reads at any byte:
    no read ever shows a token, and the whole equals scrubbing the whole at once."""
    secrets = ["tok-\u00e9-1234", "tok-\u00e9-1234-long"]
    parts = []
    for index, filler in enumerate(fillers):
        parts += [filler, secrets[index % 2]]
    data = "".join(parts).encode()
    bounds = sorted({min(c, len(data)) for c in cuts} | {0, len(data)})
    scrubber = Scrubber(secrets)
    shown = [scrubber.feed(data[a:b]) for a, b in itertools.pairwise(bounds)]
    shown.append(scrubber.close())
    whole = "".join(shown)
    assert whole == data.decode().replace(secrets[1], "***").replace(secrets[0], "***")
    assert not any("tok-" in part for part in shown)
