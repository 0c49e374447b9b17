"""Blocking network calls side by side, on daemon threads.

concurrent.futures joins its worker threads when the interpreter exits, so a
Ctrl-C during a connect that a firewall silently drops would still sit out the
whole timeout before wsdiag could exit. Daemon threads are abandoned instead:
the partial report is printed and the process ends at once. Every call made
here has its own timeout, so an abandoned thread never outlives the run by much.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class Pending(Generic[R]):
    """One call running on its own daemon thread."""

    def __init__(self, fn: Callable[..., R], *args: Any, name: str = "wsdiag") -> None:
        self._done = threading.Event()
        self._value: R | None = None
        self._error: BaseException | None = None
        self._fn, self._args = fn, args
        threading.Thread(target=self._run, name=name, daemon=True).start()

    def _run(self) -> None:
        try:
            self._value = self._fn(*self._args)
        except BaseException as exc:  # handed to the caller of result()
            self._error = exc
        finally:
            self._done.set()

    def result(self, timeout: float | None = None) -> R:
        """The return value (re-raising what the call raised); TimeoutError if not done yet."""
        if not self._done.wait(timeout):
            raise TimeoutError("the call is still running")
        if self._error is not None:
            raise self._error
        return self._value  # type: ignore[return-value]  # set whenever no error was


def map_bounded(
    fn: Callable[[T], R], items: Sequence[T], limit: int, name: str = "wsdiag"
) -> list[R]:
    """``[fn(item) for item in items]`` with at most ``limit`` running at once, in order.

    What ``fn`` raises is raised here, for the first item (in order) that raised.
    """
    todo: queue.SimpleQueue[int] = queue.SimpleQueue()
    for index in range(len(items)):
        todo.put(index)
    outcomes: list[tuple[bool, Any]] = [(False, None)] * len(items)
    ready = [threading.Event() for _ in items]

    def worker() -> None:
        while True:
            try:
                index = todo.get_nowait()
            except queue.Empty:
                return
            try:
                outcomes[index] = (True, fn(items[index]))
            except BaseException as exc:
                outcomes[index] = (False, exc)
            ready[index].set()

    for _ in range(min(limit, len(items))):
        threading.Thread(target=worker, name=name, daemon=True).start()
    results: list[R] = []
    for index, event in enumerate(ready):
        event.wait()  # interruptible: Ctrl-C raises KeyboardInterrupt here
        ok, value = outcomes[index]
        if not ok:
            raise value
        results.append(value)
    return results
