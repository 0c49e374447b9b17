"""Exit codes, documented in the README's "Exit codes" section.

Stdlib only: the CLI imports this at start-up.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0  # every check passed (warnings allowed unless --fail-on warn)
    CHECK_FAILED = 1  # at least one check failed: the report names the first failure
    USAGE = 2  # bad arguments or options: nothing was checked
    INTERRUPTED = 130  # Ctrl-C: what was measured so far is still printed
    TERMINATED = 143  # SIGTERM (128 + 15): tail ends as on Ctrl-C, summary included
