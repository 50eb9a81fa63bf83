"""RTMP chunk stream (RTMP 1.0 specification, section 5.3), sans-I/O.

Every message on an RTMP connection is cut into chunks of at most ``chunk_size``
payload bytes; chunks of several messages interleave on different chunk stream ids
(csid), and each chunk header is compressed against the previous header of its csid.

Choices worth knowing (the spec leaves them open or real peers disagree with it):

* **Delta after a type-0 header.** A type-3 chunk that starts a new message adds the
  chunk stream's last delta. After a type-0 header that delta is the type-0 timestamp
  itself (spec 5.3.1.2.4; ffmpeg and SRS read it the same way). The writer never relies
  on this: after a type-0 header it always sends a type-1/2 header first, so readers
  that assume a zero delta there (nginx-rtmp) decode its output correctly too.
* **Extended timestamp on type-3 chunks.** The spec and Flash/FMLE/ffmpeg repeat the
  4-byte extended field on every type-3 chunk of a chunk stream whose last type-0/1/2
  header carried one; older librtmp does not. The reader decides per chunk by peeking:
  if the 4 bytes after a type-3 basic header equal the chunk stream's current extended
  value (the type-0 timestamp or the type-1/2 delta), they are the repeated field and
  skipped, otherwise they are payload. It waits for those 4 bytes before deciding, so
  the result never depends on how the input was split. The writers always repeat it.
* **librtmp's type-1 header on a fresh csid 2** (its first ping) is accepted with stream
  id 0, as SRS does. Any other first header on a csid must be type 0.
* **Type-1/2 headers in the middle of a message** are taken as continuation chunks (as
  nginx-rtmp and SRS do) when the length and type do not change; a type-0 header there
  is a ProtocolError.

Memory: the reader never allocates by announced sizes. A partial message grows only
with the bytes that arrived (no preallocation from the length field or the chunk
size), so any Set Chunk Size from 1 to 0x7FFFFFFF is accepted. The partial payload of
all chunk streams together is capped by ``max_buffered`` (default twice the message
cap: real encoders interleave at most an audio and a video message), so the memory held
is at most that plus a few header bytes of unparsed input.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from functools import lru_cache

from .errors import ProtocolError

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "MAX_CHUNK_SIZE",
    "ChunkReader",
    "ChunkWriter",
    "RawMessage",
    "encode_message",
]

DEFAULT_CHUNK_SIZE = 128
MAX_CHUNK_SIZE = 0x7FFFFFFF  # Set Chunk Size is 31 bits; the top bit must be 0
MIN_CSID = 2
MAX_CSID = 65599
_EXTENDED = 0xFFFFFF
_MASK32 = 0xFFFFFFFF
_MAX_LENGTH = 0xFFFFFF  # message length is a 24-bit field

_TYPE_SET_CHUNK_SIZE = 1
_TYPE_ABORT = 2

# 24-bit fields are read as a 16-bit and an 8-bit part.
_HDR7 = struct.Struct(">HBHBB")  # timestamp(3) length(3) type(1): types 0 and 1
_HDR3 = struct.Struct(">HB")  # timestamp(3): type 2
_STREAM_ID = struct.Struct("<I")  # the one little-endian field of RTMP
_U32 = struct.Struct(">I")


@dataclass(slots=True, frozen=True)
class RawMessage:
    """One whole message out of the chunk stream, payload not decoded yet."""

    csid: int
    type_id: int
    stream_id: int
    timestamp: int
    payload: bytes


class _InStream:
    """Per-csid header state and the partial message of one incoming chunk stream."""

    __slots__ = (
        "buf",
        "csid",
        "delta",
        "ext",
        "length",
        "received",
        "stream_id",
        "timestamp",
        "type_id",
    )

    def __init__(self, csid: int) -> None:
        self.csid = csid
        self.timestamp = 0
        self.delta = 0  # also the extended field's value when ext is set
        self.length = 0
        self.type_id = 0
        self.stream_id = 0
        self.ext = False  # the last type-0/1/2 header used the extended timestamp
        self.received = 0  # payload bytes of the current message so far
        self.buf = bytearray()


class ChunkReader:
    """Reassembles messages from the incoming chunk stream.

    Set Chunk Size and Abort messages are applied the moment they complete, so the
    bytes after them in the same ``feed`` use the new state; they are still returned.
    After a ProtocolError the reader is dead: every later ``feed`` raises again.
    ``max_chunk_size`` bounds nothing the reader allocates (see the module docstring):
    a peer may announce any chunk size the spec allows.
    """

    def __init__(
        self,
        *,
        max_message_size: int = 16 * 1024 * 1024,
        max_chunk_size: int = 16 * 1024 * 1024,
        max_chunk_streams: int = 64,
        max_buffered: int | None = None,
    ) -> None:
        if max_message_size < 0:
            raise ValueError("max_message_size must not be negative")
        if not 1 <= max_chunk_size <= MAX_CHUNK_SIZE:
            raise ValueError(f"max_chunk_size must be 1..{MAX_CHUNK_SIZE}")
        if max_chunk_streams < 1:
            raise ValueError("max_chunk_streams must be at least 1")
        self.chunk_size = DEFAULT_CHUNK_SIZE
        self.max_message_size = max_message_size
        self.max_chunk_size = max_chunk_size
        self.max_chunk_streams = max_chunk_streams
        self.max_buffered = 2 * max_message_size if max_buffered is None else max_buffered
        self._buffered = 0  # partial payload bytes held across all chunk streams
        self._streams: dict[int, _InStream] = {}
        self._pending = b""  # an incomplete chunk header (at most 18 bytes)
        self._cur: _InStream | None = None  # chunk stream whose chunk payload is being read
        self._left = 0  # payload bytes still due in the current chunk
        self._failed: ProtocolError | None = None

    def feed(self, data: bytes | bytearray | memoryview) -> list[RawMessage]:
        """Take any number of bytes; return the messages they complete, in order."""
        if self._failed is not None:
            raise ProtocolError(f"chunk stream already failed: {self._failed}")
        if self._pending:
            src: bytes | bytearray | memoryview = self._pending + bytes(data)
        else:
            src = data
        out: list[RawMessage] = []
        with memoryview(src) as view:
            mv = view.cast("B") if view.format != "B" or view.ndim != 1 else view
            try:
                pos = self._run(mv, out)
            except ProtocolError as exc:
                self._failed = exc
                self._pending = b""
                raise
            self._pending = bytes(mv[pos:])
            if mv is not view:
                mv.release()
        return out

    def _run(self, mv: memoryview, out: list[RawMessage]) -> int:
        pos = 0
        end = len(mv)
        while True:
            st = self._cur
            if st is None:
                if pos >= end:
                    return pos
                p = self._header(mv, pos, end)
                if p < 0:
                    return pos
                pos = p
                st = self._cur
                assert st is not None
                if self._left == 0:  # zero-length message: the header is all of it
                    self._cur = None
                    self._complete(st, b"", out)
                    continue
            take = self._left
            avail = end - pos
            if avail <= 0:
                return pos
            if take > avail:
                take = avail
            nxt = pos + take
            self._left -= take
            if take == st.length:  # the whole message in one piece: one copy only
                st.received = take
                payload = bytes(mv[pos:nxt])
            else:
                st.buf += mv[pos:nxt]
                st.received += take
                self._buffered += take
                if self._buffered > self.max_buffered:
                    raise ProtocolError(
                        f"partial messages hold more than {self.max_buffered} bytes"
                    )
                payload = b""
            pos = nxt
            if self._left == 0:
                self._cur = None
                if st.received == st.length:
                    if st.buf:
                        payload = bytes(st.buf)
                        self._buffered -= len(st.buf)
                        st.buf = bytearray()
                    self._complete(st, payload, out)

    def _header(self, mv: memoryview, pos: int, end: int) -> int:
        """Parse one chunk header at ``pos``; return where its payload starts, or -1.

        Nothing is changed until the whole header (and the peeked 4 bytes) is there.
        """
        b0 = mv[pos]
        fmt = b0 >> 6
        csid = b0 & 0x3F
        p = pos + 1
        if csid == 0:
            if end - p < 1:
                return -1
            csid = mv[p] + 64
            p += 1
        elif csid == 1:
            if end - p < 2:
                return -1
            csid = mv[p] + (mv[p + 1] << 8) + 64
            p += 2
        st = self._streams.get(csid)
        if st is None:
            if fmt != 0 and not (fmt == 1 and csid == 2):
                raise ProtocolError(
                    f"chunk type {fmt} on chunk stream {csid}, which has no previous type-0 header"
                )
            if len(self._streams) >= self.max_chunk_streams:
                raise ProtocolError(
                    f"more than {self.max_chunk_streams} chunk streams in use "
                    f"(new chunk stream {csid})"
                )
        if fmt == 3:
            assert st is not None
            if st.ext:
                if end - p < 4:
                    return -1
                if _U32.unpack_from(mv, p)[0] == st.delta:
                    p += 4
            if st.received == 0:
                st.timestamp = (st.timestamp + st.delta) & _MASK32
        elif fmt == 2:
            assert st is not None
            if end - p < 3:
                return -1
            hi, lo = _HDR3.unpack_from(mv, p)
            p += 3
            field = (hi << 8) | lo
            ext = field == _EXTENDED
            if ext:
                if end - p < 4:
                    return -1
                field = _U32.unpack_from(mv, p)[0]
                p += 4
            if st.received == 0:
                st.delta = field
                st.ext = ext
                st.timestamp = (st.timestamp + field) & _MASK32
        else:
            need = 11 if fmt == 0 else 7
            if end - p < need:
                return -1
            th, tl, lh, ll, type_id = _HDR7.unpack_from(mv, p)
            stream_id = _STREAM_ID.unpack_from(mv, p + 7)[0] if fmt == 0 else 0
            p += need
            field = (th << 8) | tl
            length = (lh << 8) | ll
            ext = field == _EXTENDED
            if ext:
                if end - p < 4:
                    return -1
                field = _U32.unpack_from(mv, p)[0]
                p += 4
            if st is not None and st.received:
                if fmt == 0:
                    raise ProtocolError(
                        f"type-0 chunk header on chunk stream {csid} in the middle of a message"
                    )
                if length != st.length or type_id != st.type_id:
                    raise ProtocolError(
                        f"chunk stream {csid} changed the message length or type in the "
                        "middle of a message"
                    )
            else:
                if length > self.max_message_size:
                    raise ProtocolError(
                        f"message of {length} bytes on chunk stream {csid} exceeds the "
                        f"limit of {self.max_message_size} bytes"
                    )
                if st is None:
                    st = self._streams[csid] = _InStream(csid)
                st.delta = field
                st.ext = ext
                st.length = length
                st.type_id = type_id
                if fmt == 0:
                    st.timestamp = field
                    st.stream_id = stream_id
                else:
                    st.timestamp = (st.timestamp + field) & _MASK32
        self._cur = st
        left = st.length - st.received
        self._left = left if left < self.chunk_size else self.chunk_size
        return p

    def _complete(self, st: _InStream, payload: bytes, out: list[RawMessage]) -> None:
        st.received = 0
        type_id = st.type_id
        if type_id == _TYPE_SET_CHUNK_SIZE:
            if len(payload) != 4:
                raise ProtocolError(f"Set Chunk Size payload of {len(payload)} bytes, not 4")
            size = _U32.unpack(payload)[0]
            if size & 0x80000000:
                raise ProtocolError(f"Set Chunk Size {size:#x} has the top bit set")
            if size == 0:
                raise ProtocolError("Set Chunk Size 0")
            self.chunk_size = size
        elif type_id == _TYPE_ABORT:
            if len(payload) != 4:
                raise ProtocolError(f"Abort payload of {len(payload)} bytes, not 4")
            target = self._streams.get(_U32.unpack(payload)[0])
            if target is not None:
                target.received = 0
                self._buffered -= len(target.buf)
                target.buf = bytearray()
        out.append(RawMessage(st.csid, type_id, st.stream_id, st.timestamp, payload))


def _check_csid(csid: int) -> None:
    if not MIN_CSID <= csid <= MAX_CSID:
        raise ValueError(f"chunk stream id {csid} is outside {MIN_CSID}..{MAX_CSID}")


@lru_cache(maxsize=1024)
def _basic_header(fmt: int, csid: int) -> bytes:
    if csid < 64:
        return bytes((fmt << 6 | csid,))
    if csid < 320:
        return bytes((fmt << 6, csid - 64))
    rel = csid - 64
    return bytes((fmt << 6 | 1, rel & 0xFF, rel >> 8))


def _check_message(type_id: int, stream_id: int, length: int) -> None:
    if length > _MAX_LENGTH:
        raise ValueError(f"message of {length} bytes does not fit the 24-bit length field")
    if not 0 <= type_id <= 0xFF:
        raise ValueError(f"message type {type_id} is not a byte")
    if not 0 <= stream_id <= _MASK32:
        raise ValueError(f"message stream id {stream_id} is not 32 bits")


def _chunked(first: bytes, cont: bytes, payload: bytes | memoryview, chunk_size: int) -> bytes:
    """``first`` + payload cut every ``chunk_size`` bytes with ``cont`` between pieces."""
    n = len(payload)
    if n <= chunk_size:
        return b"".join((first, payload))
    mv = memoryview(payload)
    k = (n + chunk_size - 1) // chunk_size
    parts: list[bytes | memoryview] = [cont] * (2 * k)
    parts[0] = first
    parts[1::2] = [mv[i : i + chunk_size] for i in range(0, n, chunk_size)]
    return b"".join(parts)


def _check_chunk_size(size: int) -> None:
    if not 1 <= size <= MAX_CHUNK_SIZE:
        raise ValueError(f"chunk size {size} is outside 1..{MAX_CHUNK_SIZE}")


def encode_message(
    csid: int,
    type_id: int,
    stream_id: int,
    timestamp: int,
    payload: bytes | memoryview,
    chunk_size: int,
) -> bytes:
    """Chunk one message with no compression state: type-0 first chunk, type-3 rest.

    Built once and written to many players, whatever each one received before.
    Don't mix it with a ChunkWriter on the same csid (the writer's idea of the peer's
    header state would go stale). The timestamp is taken modulo 2**32.
    """
    _check_csid(csid)
    _check_chunk_size(chunk_size)
    n = len(payload)
    _check_message(type_id, stream_id, n)
    ts = timestamp & _MASK32
    if ts >= _EXTENDED:
        ext = _U32.pack(ts)
        first = b"".join(
            (
                _basic_header(0, csid),
                _HDR7.pack(0xFFFF, 0xFF, n >> 8, n & 0xFF, type_id),
                _STREAM_ID.pack(stream_id),
                ext,
            )
        )
        cont = _basic_header(3, csid) + ext
    else:
        first = b"".join(
            (
                _basic_header(0, csid),
                _HDR7.pack(ts >> 8, ts & 0xFF, n >> 8, n & 0xFF, type_id),
                _STREAM_ID.pack(stream_id),
            )
        )
        cont = _basic_header(3, csid)
    return _chunked(first, cont, payload, chunk_size)


class _OutStream:
    __slots__ = ("delta", "length", "stream_id", "timestamp", "type_id")

    def __init__(self, stream_id: int, timestamp: int, length: int, type_id: int) -> None:
        self.stream_id = stream_id
        self.timestamp = timestamp
        self.length = length
        self.type_id = type_id
        self.delta: int | None = None  # None after a type-0 header (see module docstring)


class ChunkWriter:
    """Chunks outgoing messages with per-csid header compression, like a real encoder.

    Type 0 for a csid's first message, a stream id change or a timestamp going
    backwards; type 1 when length or type change; type 2 when only the delta changes;
    type 3 when the delta repeats too. Extended timestamps go on every chunk that needs
    them, continuation chunks included (like Flash and ffmpeg).

    Csid 2 always gets type-0 headers: protocol control messages are also produced
    stateless (``control_message``, ``set_chunk_size``), and full headers there keep
    both ways of sending them safe to mix. Timestamps are taken modulo 2**32.
    """

    def __init__(self, chunk_size: int = DEFAULT_CHUNK_SIZE) -> None:
        _check_chunk_size(chunk_size)
        self.chunk_size = chunk_size
        self._streams: dict[int, _OutStream] = {}

    def set_chunk_size(self, size: int) -> bytes:
        """Return the Set Chunk Size message (csid 2, stream 0); later writes use ``size``."""
        _check_chunk_size(size)
        data = encode_message(2, _TYPE_SET_CHUNK_SIZE, 0, 0, _U32.pack(size), self.chunk_size)
        self.chunk_size = size
        return data

    def write(
        self, csid: int, type_id: int, stream_id: int, timestamp: int, payload: bytes | memoryview
    ) -> bytes:
        """Return the chunks of one message."""
        _check_csid(csid)
        n = len(payload)
        _check_message(type_id, stream_id, n)
        ts = timestamp & _MASK32
        st = self._streams.get(csid)
        if csid == 2 or st is None or st.stream_id != stream_id or ts < st.timestamp:
            if csid != 2:
                self._streams[csid] = _OutStream(stream_id, ts, n, type_id)
            return encode_message(csid, type_id, stream_id, ts, payload, self.chunk_size)
        delta = ts - st.timestamp
        if n != st.length or type_id != st.type_id:
            fmt = 1
        elif delta == st.delta:
            fmt = 3
        else:
            fmt = 2
        st.timestamp = ts
        st.length = n
        st.type_id = type_id
        st.delta = delta
        ext = delta >= _EXTENDED
        field = _EXTENDED if ext else delta
        basic = _basic_header(fmt, csid)
        if fmt == 1:
            head = basic + _HDR7.pack(field >> 8, field & 0xFF, n >> 8, n & 0xFF, type_id)
        elif fmt == 2:
            head = basic + _HDR3.pack(field >> 8, field & 0xFF)
        else:
            head = basic
        cont = _basic_header(3, csid)
        if ext:
            ext_bytes = _U32.pack(delta)
            head += ext_bytes
            cont += ext_bytes
        return _chunked(head, cont, payload, self.chunk_size)
