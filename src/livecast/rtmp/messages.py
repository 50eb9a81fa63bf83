"""RTMP message types, protocol control (spec 5.4) and user control (spec 6.2, 7.1.7).

Every ``encode()`` returns the message payload only; ``control_message`` chunks it.
``decode_control`` turns a received control payload into one of the dataclasses and
raises ProtocolError for anything malformed (payload lengths must be exact).
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum
from typing import ClassVar

from .chunk import DEFAULT_CHUNK_SIZE, MAX_CHUNK_SIZE, encode_message
from .errors import ProtocolError

__all__ = [
    "Abort",
    "Acknowledgement",
    "BytesWindow",
    "ControlMessage",
    "LimitType",
    "MessageType",
    "PingRequest",
    "PingResponse",
    "SetBufferLength",
    "SetChunkSize",
    "SetPeerBandwidth",
    "StreamBegin",
    "StreamDry",
    "StreamEOF",
    "StreamIsRecorded",
    "UnknownUserControl",
    "UserControlEvent",
    "UserControlMessage",
    "WindowAckSize",
    "control_message",
    "decode_control",
    "split_aggregate",
]

_MASK32 = 0xFFFFFFFF
_U32 = struct.Struct(">I")
_U32_U8 = struct.Struct(">IB")
_U16 = struct.Struct(">H")
_U16_U32 = struct.Struct(">HI")
_U16_U32_U32 = struct.Struct(">HII")
# Aggregate sub-message header, FLV tag style: type(1) size(3) timestamp(3)
# timestamp-extension(1, the upper 8 bits) stream-id(3); a 4-byte back pointer follows the data.
_AGG_HEADER = struct.Struct(">BHBHBBHB")
_AGG_HEADER_SIZE = 11
_AGG_BACK_POINTER_SIZE = 4


class MessageType(IntEnum):
    """RTMP message type ids."""

    SET_CHUNK_SIZE = 1
    ABORT = 2
    ACKNOWLEDGEMENT = 3
    USER_CONTROL = 4
    WINDOW_ACK_SIZE = 5
    SET_PEER_BANDWIDTH = 6
    AUDIO = 8
    VIDEO = 9
    DATA_AMF3 = 15
    SHARED_OBJECT_AMF3 = 16
    COMMAND_AMF3 = 17
    DATA_AMF0 = 18
    SHARED_OBJECT_AMF0 = 19
    COMMAND_AMF0 = 20
    AGGREGATE = 22


class LimitType(IntEnum):
    """Set Peer Bandwidth limit type."""

    HARD = 0
    SOFT = 1
    DYNAMIC = 2


class UserControlEvent(IntEnum):
    """User control event types. Only 0-7 are decoded to their own classes."""

    STREAM_BEGIN = 0
    STREAM_EOF = 1
    STREAM_DRY = 2
    SET_BUFFER_LENGTH = 3
    STREAM_IS_RECORDED = 4
    PING_REQUEST = 6
    PING_RESPONSE = 7
    # Sent by Flash for SWF verification; not in the spec, decoded as UnknownUserControl.
    SWF_VERIFY_REQUEST = 0x1A
    SWF_VERIFY_RESPONSE = 0x1B


def _u32(name: str, value: int) -> None:
    if not 0 <= value <= _MASK32:
        raise ValueError(f"{name} {value} is not an unsigned 32-bit value")


# --- protocol control messages (types 1, 2, 3, 5, 6) ---


@dataclass(slots=True, frozen=True)
class SetChunkSize:
    """The sender's new maximum chunk payload size (1..0x7FFFFFFF)."""

    TYPE_ID: ClassVar[MessageType] = MessageType.SET_CHUNK_SIZE
    size: int

    def __post_init__(self) -> None:
        if not 1 <= self.size <= MAX_CHUNK_SIZE:
            raise ValueError(f"chunk size {self.size} is outside 1..{MAX_CHUNK_SIZE}")

    def encode(self) -> bytes:
        return _U32.pack(self.size)


@dataclass(slots=True, frozen=True)
class Abort:
    """Drop the partial message of chunk stream ``csid``."""

    TYPE_ID: ClassVar[MessageType] = MessageType.ABORT
    csid: int

    def __post_init__(self) -> None:
        _u32("chunk stream id", self.csid)

    def encode(self) -> bytes:
        return _U32.pack(self.csid)


@dataclass(slots=True, frozen=True)
class Acknowledgement:
    """Bytes received so far (modulo 2**32)."""

    TYPE_ID: ClassVar[MessageType] = MessageType.ACKNOWLEDGEMENT
    sequence_number: int

    def __post_init__(self) -> None:
        _u32("sequence number", self.sequence_number)

    def encode(self) -> bytes:
        return _U32.pack(self.sequence_number)


@dataclass(slots=True, frozen=True)
class WindowAckSize:
    """How many bytes the sender may send before it expects an Acknowledgement."""

    TYPE_ID: ClassVar[MessageType] = MessageType.WINDOW_ACK_SIZE
    size: int

    def __post_init__(self) -> None:
        _u32("window size", self.size)

    def encode(self) -> bytes:
        return _U32.pack(self.size)


@dataclass(slots=True, frozen=True)
class SetPeerBandwidth:
    """Limit the peer's output bandwidth (the peer answers with Window Ack Size)."""

    TYPE_ID: ClassVar[MessageType] = MessageType.SET_PEER_BANDWIDTH
    size: int
    limit_type: LimitType

    def __post_init__(self) -> None:
        _u32("peer bandwidth", self.size)
        LimitType(self.limit_type)  # ValueError when out of range

    def encode(self) -> bytes:
        return _U32_U8.pack(self.size, self.limit_type)


# --- user control events (message type 4) ---


@dataclass(slots=True, frozen=True)
class _StreamEvent:
    TYPE_ID: ClassVar[MessageType] = MessageType.USER_CONTROL
    event_type: ClassVar[UserControlEvent]
    stream_id: int

    def __post_init__(self) -> None:
        _u32("stream id", self.stream_id)

    def encode(self) -> bytes:
        return _U16_U32.pack(self.event_type, self.stream_id)


@dataclass(slots=True, frozen=True)
class StreamBegin(_StreamEvent):
    """The stream became functional (server → client, before play/publish data)."""

    event_type: ClassVar[UserControlEvent] = UserControlEvent.STREAM_BEGIN


@dataclass(slots=True, frozen=True)
class StreamEOF(_StreamEvent):
    """Playback of the stream is over."""

    event_type: ClassVar[UserControlEvent] = UserControlEvent.STREAM_EOF


@dataclass(slots=True, frozen=True)
class StreamDry(_StreamEvent):
    """No more data on the stream for now."""

    event_type: ClassVar[UserControlEvent] = UserControlEvent.STREAM_DRY


@dataclass(slots=True, frozen=True)
class StreamIsRecorded(_StreamEvent):
    """The stream is a recorded one."""

    event_type: ClassVar[UserControlEvent] = UserControlEvent.STREAM_IS_RECORDED


@dataclass(slots=True, frozen=True)
class SetBufferLength:
    """The client's buffer for ``stream_id``, in milliseconds (client → server)."""

    TYPE_ID: ClassVar[MessageType] = MessageType.USER_CONTROL
    event_type: ClassVar[UserControlEvent] = UserControlEvent.SET_BUFFER_LENGTH
    stream_id: int
    buffer_ms: int

    def __post_init__(self) -> None:
        _u32("stream id", self.stream_id)
        _u32("buffer length", self.buffer_ms)

    def encode(self) -> bytes:
        return _U16_U32_U32.pack(self.event_type, self.stream_id, self.buffer_ms)


@dataclass(slots=True, frozen=True)
class _PingEvent:
    TYPE_ID: ClassVar[MessageType] = MessageType.USER_CONTROL
    event_type: ClassVar[UserControlEvent]
    timestamp: int

    def __post_init__(self) -> None:
        _u32("ping timestamp", self.timestamp)

    def encode(self) -> bytes:
        return _U16_U32.pack(self.event_type, self.timestamp)


@dataclass(slots=True, frozen=True)
class PingRequest(_PingEvent):
    """Is the peer alive? It answers with a PingResponse carrying the same timestamp."""

    event_type: ClassVar[UserControlEvent] = UserControlEvent.PING_REQUEST


@dataclass(slots=True, frozen=True)
class PingResponse(_PingEvent):
    """The answer to a PingRequest."""

    event_type: ClassVar[UserControlEvent] = UserControlEvent.PING_RESPONSE


@dataclass(slots=True, frozen=True)
class UnknownUserControl:
    """An event type this module does not decode (Flash's SWF verification, ...)."""

    TYPE_ID: ClassVar[MessageType] = MessageType.USER_CONTROL
    event_type: int
    data: bytes

    def __post_init__(self) -> None:
        if not 0 <= self.event_type <= 0xFFFF:
            raise ValueError(f"user control event type {self.event_type} is not 16 bits")

    def encode(self) -> bytes:
        return _U16.pack(self.event_type) + self.data


UserControlMessage = (
    StreamBegin
    | StreamEOF
    | StreamDry
    | SetBufferLength
    | StreamIsRecorded
    | PingRequest
    | PingResponse
    | UnknownUserControl
)
ControlMessage = (
    SetChunkSize | Abort | Acknowledgement | WindowAckSize | SetPeerBandwidth | UserControlMessage
)

# User control events whose data is one 32-bit value (a stream id or a timestamp).
_SIX_BYTE_EVENTS: dict[int, Callable[[int], UserControlMessage]] = {
    cls.event_type: cls
    for cls in (StreamBegin, StreamEOF, StreamDry, StreamIsRecorded, PingRequest, PingResponse)
}
_LENGTHS = {
    MessageType.SET_CHUNK_SIZE: 4,
    MessageType.ABORT: 4,
    MessageType.ACKNOWLEDGEMENT: 4,
    MessageType.WINDOW_ACK_SIZE: 4,
    MessageType.SET_PEER_BANDWIDTH: 5,
}


def decode_control(type_id: int, payload: bytes | bytearray | memoryview) -> ControlMessage:
    """Decode the payload of a protocol control or user control message."""
    n = len(payload)
    if type_id == MessageType.USER_CONTROL:
        return _decode_user_control(payload)
    try:
        want = _LENGTHS[MessageType(type_id)]
    except (ValueError, KeyError):
        raise ProtocolError(f"message type {type_id} is not a control message") from None
    name = MessageType(type_id).name
    if n != want:
        raise ProtocolError(f"{name} payload of {n} bytes, not {want}")
    value = _U32.unpack_from(payload)[0]
    if type_id == MessageType.SET_CHUNK_SIZE:
        if value & 0x80000000:
            raise ProtocolError(f"Set Chunk Size {value:#x} has the top bit set")
        if value == 0:
            raise ProtocolError("Set Chunk Size 0")
        return SetChunkSize(value)
    if type_id == MessageType.ABORT:
        return Abort(value)
    if type_id == MessageType.ACKNOWLEDGEMENT:
        return Acknowledgement(value)
    if value == 0:  # a zero window would mean acknowledging every byte
        raise ProtocolError(f"{name} of 0 bytes")
    if type_id == MessageType.WINDOW_ACK_SIZE:
        return WindowAckSize(value)
    limit = payload[4]
    if limit > LimitType.DYNAMIC:
        raise ProtocolError(f"Set Peer Bandwidth limit type {limit} is not 0, 1 or 2")
    return SetPeerBandwidth(value, LimitType(limit))


def _decode_user_control(payload: bytes | bytearray | memoryview) -> UserControlMessage:
    n = len(payload)
    if n < 2:
        raise ProtocolError(f"user control payload of {n} bytes has no event type")
    event = _U16.unpack_from(payload)[0]
    make = _SIX_BYTE_EVENTS.get(event)
    if make is not None:
        if n != 6:
            raise ProtocolError(f"user control event {event} payload of {n} bytes, not 6")
        return make(_U32.unpack_from(payload, 2)[0])
    if event == UserControlEvent.SET_BUFFER_LENGTH:
        if n != 10:
            raise ProtocolError(f"Set Buffer Length payload of {n} bytes, not 10")
        _, stream_id, buffer_ms = _U16_U32_U32.unpack_from(payload)
        return SetBufferLength(stream_id, buffer_ms)
    return UnknownUserControl(event, bytes(payload[2:]))


def control_message(msg: ControlMessage, chunk_size: int = DEFAULT_CHUNK_SIZE) -> bytes:
    """The full chunked bytes of ``msg`` on csid 2, message stream 0, timestamp 0.

    Stateless (``encode_message``: a type-0 header), so it is correct whatever was sent
    on csid 2 before. Control payloads are at most 10 bytes, so they fit one chunk at
    the default size; pass the connection's outgoing chunk size only if it may be
    smaller than that.
    """
    return encode_message(2, msg.TYPE_ID, 0, 0, msg.encode(), chunk_size)


class BytesWindow:
    """Counts received bytes and says when to send an Acknowledgement.

    ``received(n)`` returns the sequence number (total bytes received, modulo 2**32)
    each time ``window_size`` bytes have arrived since the last acknowledgement
    (the spec's rule; nginx-rtmp does the same), else None. One call crossing several
    windows gives one acknowledgement.
    """

    __slots__ = ("_total", "_unacked", "_window")

    def __init__(self, window_size: int) -> None:
        self._window = 0
        self.resize(window_size)
        self._total = 0
        self._unacked = 0

    @property
    def window_size(self) -> int:
        return self._window

    @property
    def total(self) -> int:
        """Bytes received so far, modulo 2**32 (the next sequence number)."""
        return self._total

    def resize(self, window_size: int) -> None:
        """Apply a new window (the peer sent Window Acknowledgement Size again)."""
        if not 1 <= window_size <= _MASK32:
            raise ValueError(f"window size {window_size} is outside 1..{_MASK32}")
        self._window = window_size

    def received(self, n: int) -> int | None:
        if n < 0:
            raise ValueError("negative byte count")
        self._total = (self._total + n) & _MASK32
        self._unacked += n
        if self._unacked >= self._window:
            self._unacked = 0
            return self._total
        return None


def split_aggregate(
    payload: bytes | bytearray | memoryview, base_timestamp: int
) -> list[tuple[int, int, bytes]]:
    """Split an Aggregate message (type 22) into (type_id, timestamp, payload) tuples.

    Each sub-message is an FLV-style tag: 11-byte header, data, 4-byte back pointer.
    Timestamps are rebased so the first sub-message gets the aggregate's timestamp
    and the others keep their offsets from it (modulo 2**32). The sub-messages' own
    stream ids are ignored (they belong to the aggregate's stream), and so is the
    back pointer's value (as ffmpeg and nginx-rtmp do); every size must fit exactly.
    """
    mv = memoryview(payload).cast("B")
    end = len(mv)
    pos = 0
    out: list[tuple[int, int, bytes]] = []
    offset = 0
    while pos < end:
        if end - pos < _AGG_HEADER_SIZE:
            raise ProtocolError(
                f"aggregate message: {end - pos} trailing bytes, too short for a sub-message header"
            )
        type_id, size_hi, size_lo, ts_hi, ts_lo, ts_ext, _, _ = _AGG_HEADER.unpack_from(mv, pos)
        size = (size_hi << 8) | size_lo
        data_start = pos + _AGG_HEADER_SIZE
        data_end = data_start + size
        if data_end + _AGG_BACK_POINTER_SIZE > end:
            raise ProtocolError(
                f"aggregate message: sub-message of {size} bytes at offset {pos} runs past "
                f"the end ({end} bytes)"
            )
        if type_id == MessageType.AGGREGATE:
            raise ProtocolError("aggregate message nested inside an aggregate message")
        ts = (ts_ext << 24) | (ts_hi << 8) | ts_lo
        if not out:
            offset = (base_timestamp - ts) & _MASK32  # first sub-message -> base_timestamp
        out.append((type_id, (ts + offset) & _MASK32, bytes(mv[data_start:data_end])))
        pos = data_end + _AGG_BACK_POINTER_SIZE
    return out
