from __future__ import annotations

import os
import sys

from git_pubgate.procs import run_live


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
