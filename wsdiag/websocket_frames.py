"""WebSocket frames from the server (RFC 6455 §5), read many at a time. Pure parsing plus one recv.

After the upgrade, wsdiag reads the connection itself instead of one frame per
websocket-client call: one ``recv`` of up to 256 KiB is cut into every complete
frame it holds, so a burst costs a read per buffer, not several per frame
(issue 13). Writing stays with websocket-client, which masks client frames.
Server frames are unmasked; a masked one is still read (and unmasked), as
browsers do not reject it either.
"""

from __future__ import annotations

import contextlib
import select
import socket
import ssl

OPCODE_CONTINUATION = 0x0
OPCODE_TEXT = 0x1
OPCODE_BINARY = 0x2
OPCODE_CLOSE = 0x8
OPCODE_PING = 0x9
OPCODE_PONG = 0xA
FINAL_TEXT = 0x80 | OPCODE_TEXT  # the first byte of a whole text frame
READ_SIZE = 256 * 1024
MAX_MESSAGE = 64 * 1024 * 1024  # a Pusher message is KBs; refuse to buffer without bound
_QUICKACK: int | None = getattr(socket, "TCP_QUICKACK", None)  # Linux only


class FrameError(ValueError):
    """The bytes are not valid WebSocket framing."""


class ConnectionClosed(Exception):
    """The connection ended without a close frame (the peer or the path dropped it)."""


Frame = tuple[int, bytes]  # (opcode, payload), continuation frames already joined


class FrameReader:
    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._buffer = bytearray()
        self._error: FrameError | None = None  # bad framing found after good frames: next read
        self._fragments: list[bytes] = []
        self._fragment_opcode = OPCODE_TEXT

    def read(self, timeout: float) -> list[Frame]:
        """Every complete frame buffered, reading once when none is: [] on timeout.

        Raises ConnectionClosed when the connection ends, FrameError on bad framing.
        """
        frames = self._parse()
        if frames:
            return frames
        self._sock.settimeout(max(timeout, 0.001))
        try:
            chunk = self._sock.recv(READ_SIZE)
        except (TimeoutError, ssl.SSLWantReadError):
            return []
        except (OSError, ssl.SSLError) as exc:
            raise ConnectionClosed(f"the connection broke: {exc}") from None
        if not chunk:
            raise ConnectionClosed("the connection dropped without a close frame")
        if _QUICKACK is not None:
            # ACK at once: a proxy relaying with Nagle on holds its next frame until our
            # ACK of the last one, which Linux delays up to 40 ms (issue 9 #7). The kernel
            # leaves quick-ACK mode on its own, so it is set again after every read.
            with contextlib.suppress(OSError):
                self._sock.setsockopt(socket.IPPROTO_TCP, _QUICKACK, 1)
        self._buffer += chunk
        return self._parse()

    def more_ready(self) -> bool:
        """Whether a read now returns at once: bytes buffered here, in TLS, or in the kernel."""
        if self._error is not None:
            return True
        try:
            if len(self._buffer) >= 2 and self._complete_frame_at(0):
                return True
        except FrameError:
            return True  # the next read says so
        if isinstance(self._sock, ssl.SSLSocket) and self._sock.pending():
            return True
        try:
            readable, _, _ = select.select([self._sock], [], [], 0)
        except (OSError, ValueError):
            return False
        return bool(readable)

    def _complete_frame_at(self, offset: int) -> bool:
        header = self._header(offset)
        return header is not None and len(self._buffer) >= offset + header[0] + header[1]

    def _header(self, offset: int) -> tuple[int, int] | None:
        """(header length, payload length) of the frame at ``offset``; None if incomplete."""
        buffer = self._buffer
        if len(buffer) < offset + 2:
            return None
        second = buffer[offset + 1]
        size, head = second & 0x7F, 2
        if size == 126:
            if len(buffer) < offset + 4:
                return None
            size, head = int.from_bytes(buffer[offset + 2 : offset + 4], "big"), 4
        elif size == 127:
            if len(buffer) < offset + 10:
                return None
            size, head = int.from_bytes(buffer[offset + 2 : offset + 10], "big"), 10
        if second & 0x80:
            head += 4  # a masking key
        if size > MAX_MESSAGE:
            raise FrameError(f"a frame of {size:,} bytes (over {MAX_MESSAGE:,}): not Pusher")
        return head, size

    def _parse(self) -> list[Frame]:
        """Every complete frame buffered. Bad framing cannot be read past (where the next
        frame starts is unknown): the frames before it are returned, the bytes dropped,
        and the error raised by the next call, once."""
        if self._error is not None:
            error, self._error = self._error, None
            raise error
        buffer = self._buffer
        frames: list[Frame] = []
        try:
            offset = self._cut(frames)
        except FrameError as exc:
            buffer.clear()
            if not frames:
                raise
            self._error = exc
            return frames
        if offset:
            del buffer[:offset]
        return frames

    def _cut(self, frames: list[Frame]) -> int:
        """Append the complete frames at the start of the buffer; how many bytes they took."""
        buffer = self._buffer
        available = len(buffer)
        offset = 0
        while True:
            # A burst is whole, unmasked text frames: cut those without the general path.
            if available - offset >= 4 and buffer[offset] == FINAL_TEXT and not self._fragments:
                second = buffer[offset + 1]  # no mask bit, a 7- or 16-bit length
                head = 2 if second < 126 else 4 if second == 126 else 0
                if head:
                    size = second if head == 2 else (buffer[offset + 2] << 8) | buffer[offset + 3]
                    end = offset + head + size
                    if end > available:
                        break
                    frames.append((OPCODE_TEXT, bytes(buffer[offset + head : end])))
                    offset = end
                    continue
            header = self._header(offset)
            if header is None:
                break
            head, size = header
            end = offset + head + size
            if len(buffer) < end:
                break
            first, masked = buffer[offset], buffer[offset + 1] & 0x80
            payload = bytes(buffer[offset + head : end])
            if masked:
                key = buffer[offset + head - 4 : offset + head]
                payload = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
            offset = end
            frame = self._assemble(first & 0x80, first & 0x0F, payload)
            if frame is not None:
                frames.append(frame)
        return offset

    def _assemble(self, fin: int, opcode: int, payload: bytes) -> Frame | None:
        """Join fragmented messages (RFC 6455 §5.4); control frames pass through between them."""
        if opcode >= OPCODE_CLOSE:
            if not fin or len(payload) > 125:
                raise FrameError("a fragmented or oversized control frame")
            return opcode, payload
        if opcode == OPCODE_CONTINUATION:
            if not self._fragments:
                raise FrameError("a continuation frame with no message to continue")
            self._fragments.append(payload)
            if sum(map(len, self._fragments)) > MAX_MESSAGE:
                raise FrameError(f"a fragmented message over {MAX_MESSAGE:,} bytes")
            if not fin:
                return None
            joined, self._fragments = b"".join(self._fragments), []
            return self._fragment_opcode, joined
        if opcode not in (OPCODE_TEXT, OPCODE_BINARY):
            raise FrameError(f"unknown opcode {opcode:#x}")
        if self._fragments:
            raise FrameError("a new message began before the fragmented one ended")
        if fin:
            return opcode, payload
        self._fragments, self._fragment_opcode = [payload], opcode
        return None
