"""Server frames read many at a time: lengths, fragments, control frames, masks, bad framing."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from wsdiag.websocket_frames import (
    OPCODE_BINARY,
    OPCODE_CLOSE,
    OPCODE_PING,
    OPCODE_TEXT,
    ConnectionClosed,
    FrameError,
    FrameReader,
)


def frame(opcode: int, payload: bytes, *, fin: bool = True, mask: bytes | None = None) -> bytes:
    size = len(payload)
    first = (0x80 if fin else 0) | opcode
    if size < 126:
        head = bytes([first, size | (0x80 if mask else 0)])
    elif size < 65536:
        head = bytes([first, 126 | (0x80 if mask else 0)]) + size.to_bytes(2, "big")
    else:
        head = bytes([first, 127 | (0x80 if mask else 0)]) + size.to_bytes(8, "big")
    if mask:
        payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        head += mask
    return head + payload


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, FrameReader]]:
    server, client = socket.socketpair()
    with server, client:
        yield server, FrameReader(client)


def test_every_complete_frame_of_one_read(pair: tuple[socket.socket, FrameReader]) -> None:
    server, reader = pair
    sizes = [0, 5, 125, 126, 65535, 65536, 200_000]
    data = b"".join(frame(OPCODE_TEXT, b"x" * n) for n in sizes)
    # More than a socket buffer holds: the writer must not wait for the reader.
    threading.Thread(target=server.sendall, args=(data,), daemon=True).start()
    got: list[int] = []
    while len(got) < len(sizes):
        got += [len(payload) for _, payload in reader.read(2.0)]
    assert got == sizes


def test_a_frame_split_across_reads_waits_for_its_end(
    pair: tuple[socket.socket, FrameReader],
) -> None:
    server, reader = pair
    data = frame(OPCODE_TEXT, b'{"event":"x"}')
    server.sendall(data[:3])
    assert reader.read(0.2) == []
    assert not reader.more_ready()
    server.sendall(data[3:])
    assert reader.read(2.0) == [(OPCODE_TEXT, b'{"event":"x"}')]


def test_a_stream_split_anywhere_reads_the_same_frames() -> None:
    """Whole text frames are cut by a shortcut, everything else by the general path: split
    between two reads at every byte, a mixed stream still comes out frame for frame."""
    stream = [
        frame(OPCODE_TEXT, b"a" * 3),
        frame(OPCODE_TEXT, b"b" * 125),
        frame(OPCODE_TEXT, b"c" * 126),  # a 16-bit length
        frame(OPCODE_TEXT, b"d" * 300),
        frame(OPCODE_TEXT, b"masked", mask=b"\x01\x02\x03\x04"),
        frame(OPCODE_TEXT, b"frag", fin=False),
        frame(OPCODE_PING, b"p"),
        frame(0x0, b"ment"),
        frame(OPCODE_BINARY, b"\x00\x01"),
        frame(OPCODE_TEXT, b""),
    ]
    expected = [
        (OPCODE_TEXT, b"a" * 3),
        (OPCODE_TEXT, b"b" * 125),
        (OPCODE_TEXT, b"c" * 126),
        (OPCODE_TEXT, b"d" * 300),
        (OPCODE_TEXT, b"masked"),
        (OPCODE_PING, b"p"),
        (OPCODE_TEXT, b"fragment"),
        (OPCODE_BINARY, b"\x00\x01"),
        (OPCODE_TEXT, b""),
    ]
    data = b"".join(stream)
    for cut in range(len(data) + 1):
        server, client = socket.socketpair()
        with server, client:
            reader = FrameReader(client)
            server.sendall(data[:cut])
            got = reader.read(0.5) if cut else []
            server.sendall(data[cut:])
            while len(got) < len(expected):
                got += reader.read(2.0)
            assert got == expected, f"split at byte {cut}"


def test_fragments_are_joined_with_control_frames_in_between(
    pair: tuple[socket.socket, FrameReader],
) -> None:
    server, reader = pair
    server.sendall(
        frame(OPCODE_TEXT, b"hel", fin=False)
        + frame(OPCODE_PING, b"p")
        + frame(0x0, b"lo", fin=False)
        + frame(0x0, b"!")
    )
    assert reader.read(2.0) == [(OPCODE_PING, b"p"), (OPCODE_TEXT, b"hello!")]


def test_a_masked_server_frame_is_unmasked(pair: tuple[socket.socket, FrameReader]) -> None:
    server, reader = pair
    server.sendall(frame(OPCODE_BINARY, b"abcdef", mask=b"\x01\x02\x03\x04"))
    assert reader.read(2.0) == [(OPCODE_BINARY, b"abcdef")]


def test_close_frames_and_dropped_connections(pair: tuple[socket.socket, FrameReader]) -> None:
    server, reader = pair
    server.sendall(frame(OPCODE_CLOSE, (4001).to_bytes(2, "big") + b"no app"))
    assert reader.read(2.0) == [(OPCODE_CLOSE, b"\x0f\xa1no app")]
    server.close()
    with pytest.raises(ConnectionClosed):
        reader.read(2.0)


@pytest.mark.parametrize(
    "bad",
    [
        frame(0x0, b"continuation of nothing"),
        frame(OPCODE_PING, b"x" * 126),  # control frames carry at most 125 bytes
        frame(OPCODE_PING, b"x", fin=False),
        frame(0x3, b"reserved opcode"),
        frame(OPCODE_TEXT, b"a", fin=False) + frame(OPCODE_TEXT, b"b"),
        frame(OPCODE_TEXT, b"a", fin=False) + frame(OPCODE_TEXT, b"a whole text frame"),
        bytes([0x81, 127]) + (2**40).to_bytes(8, "big"),  # a terabyte frame: refused, not buffered
    ],
)
def test_bad_framing_is_a_frame_error(pair: tuple[socket.socket, FrameReader], bad: bytes) -> None:
    server, reader = pair
    server.sendall(bad)
    with pytest.raises(FrameError):
        reader.read(2.0)


def test_good_frames_before_bad_framing_are_kept_and_the_error_said_once(
    pair: tuple[socket.socket, FrameReader],
) -> None:
    """Bad framing cannot be read past: the frames before it arrive, then one FrameError,
    and the bytes are gone (a reader that kept them raised the same error forever)."""
    server, reader = pair
    server.sendall(frame(OPCODE_TEXT, b"hi") + frame(OPCODE_PING, b"x", fin=False))
    assert reader.read(2.0) == [(OPCODE_TEXT, b"hi")]
    assert reader.more_ready()
    with pytest.raises(FrameError):
        reader.read(2.0)
    assert reader.read(0.2) == []  # nothing left to fail on
