"""RTMP commands (message types 20 and 17) and data messages (18 and 15) as typed objects.

A command on the wire is an AMF sequence: name, transaction id, command object, then
arguments. ``decode_command`` turns a message payload into a generic ``Command``; the
typed classes below read their fields out of it with type checks, so a client that sends
a number where a string belongs gets a ``ProtocolError`` instead of a crash further on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from livecast.rtmp import amf0
from livecast.rtmp.amf_types import UNDEFINED, ECMAArray
from livecast.rtmp.errors import ProtocolError

COMMAND_AMF0 = 20
COMMAND_AMF3 = 17
DATA_AMF0 = 18
DATA_AMF3 = 15

#: What a server answers in connect's _result; FMS values that clients compare against.
FMS_VERSION = "FMS/3,0,1,123"
FMS_CAPABILITIES = 31.0


@dataclass(frozen=True, slots=True)
class Command:
    """Any command: the generic shape every RTMP command message has."""

    name: str
    transaction_id: float
    command_object: object
    args: tuple[object, ...] = ()

    def encode(self) -> bytes:
        return amf0.encode(self.name, self.transaction_id, self.command_object, *self.args)


def _amf_payload(payload: bytes, amf3: bool) -> bytes:
    # Type 15/17 messages start with a format byte (0 = AMF0 follows, which may switch
    # to AMF3 value by value with marker 0x11).
    if amf3:
        if not payload:
            raise ProtocolError("empty AMF3 command/data message")
        if payload[0] == 0:
            return payload[1:]
    return payload


def decode_command(payload: bytes, *, amf3: bool = False) -> Command:
    values = amf0.decode(_amf_payload(payload, amf3))
    if len(values) < 2:
        raise ProtocolError("command message has no name and transaction id")
    name, tid = values[0], values[1]
    if not isinstance(name, str):
        raise ProtocolError(f"command name is {type(name).__name__}, not a string")
    if isinstance(tid, bool) or not isinstance(tid, int | float):
        raise ProtocolError(f"{name}: transaction id is {type(tid).__name__}, not a number")
    cmd_obj = values[2] if len(values) > 2 else None
    return Command(name, float(tid), cmd_obj, tuple(values[3:]))


def decode_data(payload: bytes, *, amf3: bool = False) -> list[object]:
    """A data message's values: handler name first (``@setDataFrame``, ``onMetaData``...)."""
    return amf0.decode(_amf_payload(payload, amf3))


# -- argument readers ------------------------------------------------------------------


def _arg(cmd: Command, index: int, default: object = None) -> object:
    return cmd.args[index] if index < len(cmd.args) else default


def _str(cmd: Command, index: int, what: str, default: str | None = None) -> str:
    value = _arg(cmd, index, default)
    if not isinstance(value, str):
        raise ProtocolError(f"{cmd.name}: {what} must be a string, got {type(value).__name__}")
    return value


def _num(cmd: Command, index: int, what: str, default: float) -> float:
    value = _arg(cmd, index, default)
    if value is None or value is UNDEFINED:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ProtocolError(f"{cmd.name}: {what} must be a number, got {type(value).__name__}")
    return float(value)


def _bool(cmd: Command, index: int, what: str, default: bool) -> bool:
    value = _arg(cmd, index, default)
    if value is None or value is UNDEFINED:
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):  # some clients send 0/1
        return bool(value)
    raise ProtocolError(f"{cmd.name}: {what} must be a boolean, got {type(value).__name__}")


def _obj(value: object, what: str) -> dict[str, object]:
    if value is None or value is UNDEFINED:
        return {}
    if isinstance(value, dict):
        return dict(value)
    raise ProtocolError(f"{what} must be an object, got {type(value).__name__}")


def split_query(name: str) -> tuple[str, str]:
    """``key?token=1`` → (``key``, ``token=1``): the query is kept for auth, not the name."""
    base, _, query = name.partition("?")
    return base, query


# -- typed commands ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Connect:
    NAME: ClassVar[str] = "connect"
    transaction_id: float
    app: str
    tc_url: str = ""
    object_encoding: int = 0
    capabilities: float | None = None
    properties: dict[str, object] = field(default_factory=dict)
    extra: tuple[object, ...] = ()

    @classmethod
    def from_command(cls, cmd: Command) -> Connect:
        props = _obj(cmd.command_object, "connect: command object")
        app = props.get("app", "")
        if not isinstance(app, str):
            raise ProtocolError("connect: app must be a string")
        tc_url = props.get("tcUrl", "")
        if not isinstance(tc_url, str):
            raise ProtocolError("connect: tcUrl must be a string")
        enc = props.get("objectEncoding", 0.0)
        if isinstance(enc, bool) or not isinstance(enc, int | float) or enc not in (0, 3):
            raise ProtocolError(f"connect: objectEncoding must be 0 or 3, got {enc!r}")
        caps = props.get("capabilities")
        capabilities = float(caps) if isinstance(caps, int | float) else None
        return cls(cmd.transaction_id, app, tc_url, int(enc), capabilities, props, cmd.args)

    def encode(self) -> bytes:
        # The typed fields win over ``properties``; a key ``properties`` already has (a
        # decoded connect) keeps its place, so decode -> encode gives the same bytes.
        props: dict[str, object] = {k: "" for k in ("app", "tcUrl") if k not in self.properties}
        props.update(self.properties)
        props["app"] = self.app
        props["tcUrl"] = self.tc_url
        props["objectEncoding"] = float(self.object_encoding)
        if self.capabilities is not None:
            props["capabilities"] = self.capabilities
        return Command(self.NAME, self.transaction_id, props, self.extra).encode()


@dataclass(frozen=True, slots=True)
class CreateStream:
    NAME: ClassVar[str] = "createStream"
    transaction_id: float

    @classmethod
    def from_command(cls, cmd: Command) -> CreateStream:
        return cls(cmd.transaction_id)

    def encode(self) -> bytes:
        return Command(self.NAME, self.transaction_id, None).encode()


@dataclass(frozen=True, slots=True)
class StreamNameCommand:
    """releaseStream, FCPublish, FCUnpublish, getStreamLength: a call with one name."""

    name: str
    transaction_id: float
    stream_name: str

    @classmethod
    def from_command(cls, cmd: Command) -> StreamNameCommand:
        return cls(cmd.name, cmd.transaction_id, _str(cmd, 0, "stream name", ""))

    def encode(self) -> bytes:
        return Command(self.name, self.transaction_id, None, (self.stream_name,)).encode()


@dataclass(frozen=True, slots=True)
class Publish:
    NAME: ClassVar[str] = "publish"
    transaction_id: float
    stream_name: str
    publish_type: str = "live"

    @classmethod
    def from_command(cls, cmd: Command) -> Publish:
        name = _str(cmd, 0, "stream name")
        kind = _arg(cmd, 1, "live")
        if kind is None or kind is UNDEFINED:
            kind = "live"
        if not isinstance(kind, str) or kind not in ("live", "record", "append"):
            raise ProtocolError(f"publish: type must be live, record or append, got {kind!r}")
        return cls(cmd.transaction_id, name, kind)

    def encode(self) -> bytes:
        return Command(
            self.NAME, self.transaction_id, None, (self.stream_name, self.publish_type)
        ).encode()


@dataclass(frozen=True, slots=True)
class Play:
    NAME: ClassVar[str] = "play"
    transaction_id: float
    stream_name: str
    start: float = -2.0
    duration: float = -1.0
    reset: bool = True

    @classmethod
    def from_command(cls, cmd: Command) -> Play:
        return cls(
            cmd.transaction_id,
            _str(cmd, 0, "stream name"),
            _num(cmd, 1, "start", -2.0),
            _num(cmd, 2, "duration", -1.0),
            _bool(cmd, 3, "reset", True),
        )

    def encode(self) -> bytes:
        args = (self.stream_name, self.start, self.duration, self.reset)
        return Command(self.NAME, self.transaction_id, None, args).encode()


@dataclass(frozen=True, slots=True)
class Play2:
    """play2: switch bitrates; carries a NetStreamPlayOptions object."""

    NAME: ClassVar[str] = "play2"
    transaction_id: float
    options: dict[str, object]

    @classmethod
    def from_command(cls, cmd: Command) -> Play2:
        return cls(cmd.transaction_id, _obj(_arg(cmd, 0), "play2: options"))

    def encode(self) -> bytes:
        return Command(self.NAME, self.transaction_id, None, (self.options,)).encode()

    @property
    def stream_name(self) -> str:
        name = self.options.get("streamName", "")
        return name if isinstance(name, str) else ""


@dataclass(frozen=True, slots=True)
class DeleteStreamCommand:
    NAME: ClassVar[str] = "deleteStream"
    transaction_id: float
    stream_id: int

    @classmethod
    def from_command(cls, cmd: Command) -> DeleteStreamCommand:
        sid = _num(cmd, 0, "stream id", -1.0)
        # Range first: int() of NaN or infinity would raise ValueError/OverflowError.
        if not 0 <= sid <= 0xFFFFFFFF or sid != int(sid):
            raise ProtocolError(f"deleteStream: bad stream id {sid!r}")
        return cls(cmd.transaction_id, int(sid))

    def encode(self) -> bytes:
        return Command(self.NAME, self.transaction_id, None, (float(self.stream_id),)).encode()


@dataclass(frozen=True, slots=True)
class ReceiveFlag:
    """receiveAudio / receiveVideo."""

    name: str
    transaction_id: float
    enabled: bool

    @classmethod
    def from_command(cls, cmd: Command) -> ReceiveFlag:
        return cls(cmd.name, cmd.transaction_id, _bool(cmd, 0, "flag", True))

    def encode(self) -> bytes:
        return Command(self.name, self.transaction_id, None, (self.enabled,)).encode()


@dataclass(frozen=True, slots=True)
class PauseCommand:
    NAME: ClassVar[str] = "pause"
    transaction_id: float
    paused: bool
    position_ms: float

    @classmethod
    def from_command(cls, cmd: Command) -> PauseCommand:
        return cls(
            cmd.transaction_id,
            _bool(cmd, 0, "pause flag", True),
            _num(cmd, 1, "position", 0.0),
        )

    def encode(self) -> bytes:
        args = (self.paused, self.position_ms)
        return Command(self.NAME, self.transaction_id, None, args).encode()


@dataclass(frozen=True, slots=True)
class OnStatus:
    NAME: ClassVar[str] = "onStatus"
    level: str
    code: str
    description: str
    extra: dict[str, object] = field(default_factory=dict)

    @classmethod
    def from_command(cls, cmd: Command) -> OnStatus:
        info = _obj(_arg(cmd, 0), "onStatus: info")
        level, code, desc = info.get("level"), info.get("code"), info.get("description", "")
        if not isinstance(level, str) or not isinstance(code, str):
            raise ProtocolError("onStatus: info needs string level and code")
        rest = {k: v for k, v in info.items() if k not in ("level", "code", "description")}
        return cls(level, code, desc if isinstance(desc, str) else str(desc), rest)

    def info(self) -> dict[str, object]:
        return {
            "level": self.level,
            "code": self.code,
            "description": self.description,
            **self.extra,
        }

    def encode(self) -> bytes:
        return Command(self.NAME, 0.0, None, (self.info(),)).encode()


@dataclass(frozen=True, slots=True)
class Result:
    """_result (ok) or _error of a call."""

    ok: bool
    transaction_id: float
    command_object: object
    values: tuple[object, ...] = ()

    @classmethod
    def from_command(cls, cmd: Command) -> Result:
        return cls(cmd.name == "_result", cmd.transaction_id, cmd.command_object, cmd.args)

    def encode(self) -> bytes:
        name = "_result" if self.ok else "_error"
        return Command(name, self.transaction_id, self.command_object, self.values).encode()


def connect_result(transaction_id: float, object_encoding: int) -> Result:
    """The _result of connect that Flash, OBS, ffmpeg and librtmp expect."""
    props = {"fmsVer": FMS_VERSION, "capabilities": FMS_CAPABILITIES, "mode": 1.0}
    info = {
        "level": "status",
        "code": "NetConnection.Connect.Success",
        "description": "Connection succeeded.",
        "objectEncoding": float(object_encoding),
        "data": ECMAArray({"version": "3,5,3,888"}),
    }
    return Result(True, transaction_id, props, (info,))


def on_bw_done() -> Command:
    return Command("onBWDone", 0.0, None, (8192.0,))


def call_failed(transaction_id: float, description: str) -> Result:
    info = {"level": "error", "code": "NetConnection.Call.Failed", "description": description}
    return Result(False, transaction_id, None, (info,))


# -- data messages -----------------------------------------------------------------------


def encode_data(handler: str, *values: object) -> bytes:
    return amf0.encode(handler, *values)


def sample_access() -> bytes:
    """|RtmpSampleAccess(true, true): lets Flash-era players read the pixels and samples."""
    return amf0.encode("|RtmpSampleAccess", True, True)


def data_start() -> bytes:
    return amf0.encode("onStatus", {"code": "NetStream.Data.Start"})
