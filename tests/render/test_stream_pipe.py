"""tail's output through a real pipe: every line arrives, in order, stderr after the stdout
lines before it, and a reader that leaves is a BrokenPipeError (the CLI exits quietly)."""

from __future__ import annotations

import contextlib
import io
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from wsdiag.channels.stream import Observed, TailEvent, TailSummary
from wsdiag.render.stream import NdjsonTailRenderer


def event(n: int) -> TailEvent:
    return TailEvent(Observed.EVENT, 0.0, "c", "tick", {"n": n}, data_json=f'{{"n":{n}}}')


@contextmanager
def one_pipe_for_both() -> Iterator[tuple[io.TextIOWrapper, io.TextIOWrapper, list[bytes]]]:
    """stdout and stderr on one pipe, so the order the reader sees is the order written."""
    read_fd, write_fd = os.pipe()
    out = os.fdopen(write_fd, "w", encoding="utf-8")
    err = os.fdopen(os.dup(write_fd), "w", encoding="utf-8")
    chunks: list[bytes] = []

    def drain() -> None:
        while chunk := os.read(read_fd, 65536):
            chunks.append(chunk)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        yield out, err, chunks
    finally:
        out.close()
        err.close()
        reader.join(timeout=10)
        os.close(read_fd)


def test_every_line_in_order_and_stderr_after_what_came_before() -> None:
    with one_pipe_for_both() as (out, err, chunks):
        renderer = NdjsonTailRenderer(out, err)
        for n in range(2500):  # more than two blocks
            renderer.on_event(event(n))
        renderer.on_event(TailEvent(Observed.WARNING, 0.0, message="odd frame"))
        renderer.on_event(event(2500))
        renderer.finish(TailSummary(total=2501, connected_once=True))
    lines = b"".join(chunks).decode().splitlines()
    assert lines[2500].endswith("warning: odd frame")
    numbers = [line for n, line in enumerate(lines) if n != 2500 and line.startswith("{")]
    assert [f'"data":{{"n":{n}}}' in line for n, line in enumerate(numbers)] == [True] * 2501
    assert lines[-1].startswith("2501 event(s)")


def test_a_reader_that_left_is_a_broken_pipe() -> None:
    read_fd, write_fd = os.pipe()
    os.close(read_fd)  # `| head -1` after its line
    out = os.fdopen(write_fd, "w", encoding="utf-8")
    renderer = NdjsonTailRenderer(out, io.StringIO())
    renderer.on_event(event(1))
    with pytest.raises(BrokenPipeError):
        renderer.flush()
    with contextlib.suppress(BrokenPipeError):
        out.close()


def test_a_stream_without_a_descriptor_gets_every_line() -> None:
    out = io.StringIO()
    renderer = NdjsonTailRenderer(out, io.StringIO())
    renderer.on_event(event(7))
    renderer.flush()
    assert out.getvalue().endswith('"data":{"n":7},"user_id":null}\n')
