"""A minimal RTMP client for the load generator's many players.

Independent of livecast's own codec on purpose: the bench must not share the server's
bugs, and each of the thousand players must be cheap. It knows just enough to play a
stream: the plain handshake, connect / createStream / play, a chunk reader that
follows Set Chunk Size and extended timestamps, and the few AMF0 values the answers use.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass

U8 = struct.Struct(">B")
U16 = struct.Struct(">H")
U32 = struct.Struct(">I")
U32LE = struct.Struct("<I")
F64 = struct.Struct(">d")
U24 = struct.Struct(">I")

HANDSHAKE_SIZE = 1536

MSG_SET_CHUNK_SIZE = 1
MSG_ABORT = 2
MSG_ACK = 3
MSG_USER_CONTROL = 4
MSG_WINDOW_ACK_SIZE = 5
MSG_SET_PEER_BW = 6
MSG_AUDIO = 8
MSG_VIDEO = 9
MSG_DATA_AMF3 = 15
MSG_COMMAND_AMF3 = 17
MSG_DATA = 18
MSG_COMMAND = 20

UC_STREAM_BEGIN = 0
UC_SET_BUFFER_LENGTH = 3
UC_PING_REQUEST = 6
UC_PING_RESPONSE = 7


class RtmpError(Exception):
    """The server sent something this small client cannot follow."""


# -- AMF0 (only what commands and onTextData need) ------------------------------------


def amf0_encode(value: object) -> bytes:
    if value is None:
        return b"\x05"
    if isinstance(value, bool):
        return b"\x01\x01" if value else b"\x01\x00"
    if isinstance(value, int | float):
        return b"\x00" + F64.pack(float(value))
    if isinstance(value, str):
        raw = value.encode()
        if len(raw) > 0xFFFF:
            return b"\x0c" + U32.pack(len(raw)) + raw
        return b"\x02" + U16.pack(len(raw)) + raw
    if isinstance(value, dict):
        parts = [b"\x03"]
        for key, item in value.items():
            k = str(key).encode()
            parts += [U16.pack(len(k)), k, amf0_encode(item)]
        parts.append(b"\x00\x00\x09")
        return b"".join(parts)
    raise TypeError(f"amf0_encode: unsupported {type(value).__name__}")


def amf0_decode_all(data: bytes) -> list[object]:
    """Decode a sequence of AMF0 values (a command or data message's body)."""
    out: list[object] = []
    pos = 0
    try:
        while pos < len(data):
            value, pos = _amf0_value(data, pos, 0)
            out.append(value)
    except (IndexError, struct.error, UnicodeDecodeError) as exc:
        raise RtmpError(f"bad AMF0 at byte {pos}") from exc
    return out


def _amf0_props(data: bytes, pos: int, depth: int) -> tuple[dict[str, object], int]:
    obj: dict[str, object] = {}
    while True:
        (n,) = U16.unpack_from(data, pos)
        pos += 2
        if n == 0 and data[pos] == 9:
            return obj, pos + 1
        key = bytes(data[pos : pos + n]).decode()
        pos += n
        obj[key], pos = _amf0_value(data, pos, depth + 1)


def _amf0_value(data: bytes, pos: int, depth: int) -> tuple[object, int]:
    if depth > 32:
        raise RtmpError("AMF0 nested too deep")
    marker = data[pos]
    pos += 1
    if marker == 0x00:
        return F64.unpack_from(data, pos)[0], pos + 8
    if marker == 0x01:
        return data[pos] != 0, pos + 1
    if marker == 0x02:
        (n,) = U16.unpack_from(data, pos)
        return bytes(data[pos + 2 : pos + 2 + n]).decode(), pos + 2 + n
    if marker == 0x0C:
        (n,) = U32.unpack_from(data, pos)
        return bytes(data[pos + 4 : pos + 4 + n]).decode(), pos + 4 + n
    if marker == 0x03:
        return _amf0_props(data, pos, depth)
    if marker == 0x08:
        return _amf0_props(data, pos + 4, depth)
    if marker in (0x05, 0x06):
        return None, pos
    if marker == 0x0A:
        (n,) = U32.unpack_from(data, pos)
        pos += 4
        items: list[object] = []
        for _ in range(n):
            item, pos = _amf0_value(data, pos, depth + 1)
            items.append(item)
        return items, pos
    if marker == 0x0B:
        return F64.unpack_from(data, pos)[0], pos + 10
    raise RtmpError(f"AMF0 marker {marker:#x} not supported")


# -- writing messages ------------------------------------------------------------------


def encode_message(
    csid: int, type_id: int, stream_id: int, timestamp: int, payload: bytes, chunk_size: int
) -> bytes:
    """One message as fmt-0 chunk + fmt-3 continuations (csid 2..63)."""
    ext = timestamp >= 0xFFFFFF
    ts_field = 0xFFFFFF if ext else timestamp
    header = (
        U8.pack(csid)
        + U24.pack(ts_field)[1:]
        + U24.pack(len(payload))[1:]
        + U8.pack(type_id)
        + U32LE.pack(stream_id)
    )
    ext_bytes = U32.pack(timestamp & 0xFFFFFFFF) if ext else b""
    if len(payload) <= chunk_size:
        return header + ext_bytes + payload
    cont = U8.pack(0xC0 | csid) + ext_bytes
    parts: list[bytes | memoryview] = [header, ext_bytes, payload[:chunk_size]]
    view = memoryview(payload)
    for off in range(chunk_size, len(payload), chunk_size):
        parts.append(cont)
        parts.append(view[off : off + chunk_size])
    return b"".join(parts)


def command(name: str, transaction_id: float, *args: object, stream_id: int = 0) -> bytes:
    body = b"".join(amf0_encode(v) for v in (name, transaction_id, *args))
    return encode_message(3 if stream_id == 0 else 8, MSG_COMMAND, stream_id, 0, body, 128)


def control(type_id: int, payload: bytes) -> bytes:
    return encode_message(2, type_id, 0, 0, payload, 128)


def acknowledgement(total_bytes: int) -> bytes:
    return control(MSG_ACK, U32.pack(total_bytes & 0xFFFFFFFF))


def c0c1(random_bytes: bytes) -> bytes:
    """Plain (digest-less) handshake: time 0, version 0, then 1528 bytes."""
    return b"\x03" + b"\x00" * 8 + random_bytes[: HANDSHAKE_SIZE - 8]


# -- reading chunk streams --------------------------------------------------------------


@dataclass(slots=True)
class _ChunkStream:
    timestamp: int = 0
    delta: int = 0
    length: int = 0
    type_id: int = 0
    stream_id: int = 0
    extended: bool = False
    body: bytearray | None = None


OnMessage = Callable[[int, int, int, bytes], None]  # type_id, stream_id, timestamp, payload


class ChunkReader:
    """Reassembles messages from chunks; ``feed`` calls ``on_message`` for each one.

    Protocol control messages that change the reader (Set Chunk Size, Abort) are
    applied here and still reported.
    """

    __slots__ = ("_buf", "_on_message", "_streams", "chunk_size")

    def __init__(self, on_message: OnMessage) -> None:
        self._buf = bytearray()
        self._streams: dict[int, _ChunkStream] = {}
        self._on_message = on_message
        self.chunk_size = 128

    def take_rest(self) -> bytes:
        rest = bytes(self._buf)
        self._buf.clear()
        return rest

    def feed(self, data: bytes) -> None:
        buf = self._buf
        buf += data
        pos = 0
        n = len(buf)
        streams = self._streams
        try:
            while pos < n:
                start = pos
                b0 = buf[pos]
                fmt = b0 >> 6
                csid = b0 & 0x3F
                pos += 1
                if csid == 0:
                    if pos + 1 > n:
                        pos = start
                        break
                    csid = 64 + buf[pos]
                    pos += 1
                elif csid == 1:
                    if pos + 2 > n:
                        pos = start
                        break
                    csid = 64 + buf[pos] + buf[pos + 1] * 256
                    pos += 2
                cs = streams.get(csid)
                if cs is None:
                    if fmt != 0:
                        raise RtmpError(f"chunk stream {csid} starts with fmt {fmt}")
                    cs = streams[csid] = _ChunkStream()
                hlen = (11, 7, 3, 0)[fmt]
                if pos + hlen > n:
                    pos = start
                    break
                length = cs.length
                if fmt < 3:
                    ts = (buf[pos] << 16) | (buf[pos + 1] << 8) | buf[pos + 2]
                    ext = ts == 0xFFFFFF
                    if fmt <= 1:
                        length = (buf[pos + 3] << 16) | (buf[pos + 4] << 8) | buf[pos + 5]
                else:
                    ext = cs.extended
                hend = pos + hlen + (4 if ext else 0)
                body = cs.body
                have = 0 if body is None or fmt < 3 else len(body)
                take = min(self.chunk_size, length - have)
                if hend + take > n:
                    pos = start
                    break
                # the whole chunk is here: commit the header
                if fmt < 3:
                    if ext:
                        (ts,) = U32.unpack_from(buf, pos + hlen)
                    if fmt <= 1:
                        cs.length = length
                        cs.type_id = buf[pos + 6]
                    if fmt == 0:
                        (cs.stream_id,) = U32LE.unpack_from(buf, pos + 7)
                        cs.timestamp = ts
                        cs.delta = 0
                    else:
                        cs.delta = ts
                        cs.timestamp += ts
                    cs.extended = ext
                    body = cs.body = None
                elif body is None:
                    cs.timestamp += cs.delta
                pos = hend
                if body is None and take == length:
                    payload = bytes(buf[pos : pos + take])
                    pos += take
                    self._deliver(cs, payload)
                    continue
                if body is None:
                    body = cs.body = bytearray()
                body += buf[pos : pos + take]
                pos += take
                if len(body) == length:
                    cs.body = None
                    self._deliver(cs, bytes(body))
        finally:
            del buf[:pos]

    def _deliver(self, cs: _ChunkStream, payload: bytes) -> None:
        if cs.type_id == MSG_SET_CHUNK_SIZE and len(payload) >= 4:
            size = U32.unpack_from(payload)[0] & 0x7FFFFFFF
            if size < 1:
                raise RtmpError("chunk size 0")
            self.chunk_size = size
        elif cs.type_id == MSG_ABORT and len(payload) >= 4:
            other = self._streams.get(U32.unpack_from(payload)[0])
            if other is not None:
                other.body = None
        self._on_message(cs.type_id, cs.stream_id, cs.timestamp, payload)


def is_video_keyframe(payload: bytes) -> bool:
    """A coded keyframe, not a sequence header (legacy AVC/HEVC and Enhanced RTMP)."""
    if len(payload) < 2:
        return False
    b0 = payload[0]
    if (b0 >> 4) & 0x7 != 1:
        return False
    if b0 & 0x80:  # Enhanced RTMP: low nibble is the packet type; 0 = sequence start
        return (b0 & 0x0F) in (1, 3)
    return (b0 & 0x0F) not in (7, 12) or payload[1] == 1
