"""What a run reads and writes besides its arguments: variables, streams, the clock.

As httpie's ``Environment``: the CLI takes one (``main(argv, env)``) and hands
it to everything that would otherwise reach for ``os.environ``, ``sys.stdin``
or ``sys.stdout``, so a test injects a fake one instead of monkeypatching.
Stdlib only: it is imported on every start.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import field
from typing import TextIO

from wsdiag.records import record


@record
class Environment:
    environ: Mapping[str, str] = field(default_factory=dict)
    stdin: TextIO | None = None  # None: the process's (read at use, so CliRunner's applies)
    stdout: TextIO | None = None
    stderr: TextIO | None = None
    clock: Callable[[], float] = time.time

    @classmethod
    def from_process(cls) -> Environment:
        return cls(environ=os.environ)

    @property
    def input(self) -> TextIO:
        return self.stdin or sys.stdin

    @property
    def output(self) -> TextIO:
        return self.stdout or sys.stdout

    @property
    def errors(self) -> TextIO:
        return self.stderr or sys.stderr

    def input_is_piped(self) -> bool:
        try:
            return not self.input.isatty()
        except (AttributeError, ValueError):
            return True
