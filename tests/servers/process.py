"""A test server's process: started on a free port (retrying a lost port), stopped with
SIGTERM, then SIGKILL if it does not go."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from typing import TypeVar

from tests.servers.soketi import free_port

_Started = TypeVar("_Started")


class PortTaken(RuntimeError):
    """The server could not listen on the port it was given."""


def on_a_free_port(start: Callable[[int], _Started], attempts: int = 5) -> _Started:
    """``start(port)`` with a fresh free port until it does not raise ``PortTaken``.

    A server that cannot listen on port 0 and say which port it got is handed a
    number that was free a moment ago; another process may take it in between.
    Then the server exits (cannot bind) and a fresh port is tried: the race costs
    a retry, not a test.
    """
    for attempt in range(attempts):
        try:
            return start(free_port())
        except PortTaken:
            if attempt == attempts - 1:
                raise
    raise AssertionError("attempts must be at least 1")


def stop(proc: subprocess.Popen[bytes], grace_s: float = 5) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)
