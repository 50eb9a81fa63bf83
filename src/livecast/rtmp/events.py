"""Typed events that the RTMP sessions return from ``receive_data``.

The I/O glue reacts to them (auth, hub) and answers through the session's methods.
Server-side requests carry what the glue needs to decide; client-side events carry
the server's answers.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Event:
    """Base class of every session event."""


# -- server side: requests from a client ------------------------------------------


@dataclass(frozen=True, slots=True)
class ConnectRequest(Event):
    transaction_id: float
    app: str
    tc_url: str
    object_encoding: int
    params: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class StreamCreated(Event):
    """A message stream was allocated: for createStream (server) or its _result (client)."""

    stream_id: int
    transaction_id: float = 0.0


@dataclass(frozen=True, slots=True)
class PublishRequest(Event):
    stream_id: int
    name: str
    query: str
    publish_type: str  # live | record | append
    transaction_id: float = 0.0


@dataclass(frozen=True, slots=True)
class PlayRequest(Event):
    stream_id: int
    name: str
    query: str
    start: float = -2.0
    duration: float = -1.0
    reset: bool = True
    transaction_id: float = 0.0


@dataclass(frozen=True, slots=True)
class DeleteStream(Event):
    """deleteStream or closeStream: the stream stops publishing/playing."""

    stream_id: int
    command: str = "deleteStream"


@dataclass(frozen=True, slots=True)
class ReceiveMedia(Event):
    """receiveAudio / receiveVideo on a play stream."""

    stream_id: int
    kind: str  # "audio" | "video"
    enabled: bool


@dataclass(frozen=True, slots=True)
class Pause(Event):
    stream_id: int
    paused: bool
    position_ms: float


@dataclass(frozen=True, slots=True)
class BufferLength(Event):
    stream_id: int
    buffer_ms: int


@dataclass(frozen=True, slots=True)
class Media(Event):
    """Audio (8), video (9) or data (18, or 15 re-encoded as 18) on a message stream."""

    stream_id: int
    type_id: int
    timestamp: int
    payload: bytes


@dataclass(frozen=True, slots=True)
class UnknownCommand(Event):
    """A command the session does not know; it has already answered _error if it had a
    transaction id. Given to the glue for logging."""

    stream_id: int
    name: str
    transaction_id: float


# -- client side: answers from a server ----------------------------------------------


@dataclass(frozen=True, slots=True)
class ConnectResult(Event):
    ok: bool
    info: dict[str, object]
    properties: dict[str, object]


@dataclass(frozen=True, slots=True)
class CommandResult(Event):
    """_result / _error of a call that has no event of its own."""

    transaction_id: float
    ok: bool
    values: tuple[object, ...]


@dataclass(frozen=True, slots=True)
class Status(Event):
    """onStatus on a message stream (NetStream.Publish.Start, NetStream.Play.Reset, ...)."""

    stream_id: int
    level: str
    code: str
    description: str
    info: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class StreamControl(Event):
    """User control stream events seen by a client: StreamBegin, StreamEOF, StreamDry,
    StreamIsRecorded."""

    event: str  # "begin" | "eof" | "dry" | "recorded"
    stream_id: int
