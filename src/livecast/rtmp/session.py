"""RTMP connection state machines for both roles, sans-I/O.

``ServerSession`` and ``ClientSession`` take the bytes a socket received and return typed
events (``livecast.rtmp.events``); replies are queued as bytes for ``data_to_send()``.
They never read a clock or draw random numbers: randomness for the handshake is passed in.

Outgoing chunk streams: csids 2 (control), 3 (connection commands) and 5 (stream
status) go through a header-compressing ``ChunkWriter``; csids 4 (data), 6 (audio) and 7
(video) are always written with a full fmt-0 header (``encode_message``), so the same
bytes can be built once and shared by every player of a stream (see ``media_wire``).
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass

from livecast.rtmp import commands as cmds
from livecast.rtmp import events as ev
from livecast.rtmp import messages as msg
from livecast.rtmp.chunk import ChunkReader, ChunkWriter, RawMessage, encode_message
from livecast.rtmp.errors import ProtocolError
from livecast.rtmp.handshake import ClientHandshake, ServerHandshake

CSID_CONTROL = 2
CSID_COMMAND = 3
CSID_DATA = 4
CSID_STATUS = 5
CSID_AUDIO = 6
CSID_VIDEO = 7

AUDIO = 8
VIDEO = 9
DATA = 18

_CSID_BY_TYPE = {AUDIO: CSID_AUDIO, VIDEO: CSID_VIDEO, DATA: CSID_DATA}
#: Set Chunk Size, Abort, Acknowledgement, User Control, Window Ack Size, Set Peer Bandwidth.
_CONTROL_TYPES = frozenset(range(1, 7))


def media_wire(
    type_id: int, stream_id: int, timestamp: int, payload: bytes, chunk_size: int
) -> bytes:
    """The chunked bytes of one media/data message as every player of that stream id
    and chunk size receives it: build once, write many."""
    return encode_message(
        _CSID_BY_TYPE.get(type_id, CSID_DATA), type_id, stream_id, timestamp, payload, chunk_size
    )


class ConnState(enum.Enum):
    HANDSHAKE = "handshake"
    AWAIT_CONNECT = "await-connect"  # handshake done, no connect yet
    CONNECTING = "connecting"  # connect received, the glue has not answered
    CONNECTED = "connected"
    REJECTED = "rejected"


class StreamState(enum.Enum):
    IDLE = "idle"
    PUBLISHING = "publishing"  # includes publish requested, not yet answered
    PLAYING = "playing"  # includes play requested, not yet answered


_ANY_STREAM = frozenset(StreamState)

#: Which command is legal when, in one place: command → (connection states, stream
#: states or None for a connection-level command). Anything else is refused.
SERVER_COMMAND_TABLE: dict[str, tuple[frozenset[ConnState], frozenset[StreamState] | None]] = {
    "connect": (frozenset({ConnState.AWAIT_CONNECT}), None),
    "createStream": (frozenset({ConnState.CONNECTED}), None),
    "releaseStream": (frozenset({ConnState.CONNECTED}), None),
    "FCPublish": (frozenset({ConnState.CONNECTED}), None),
    "FCUnpublish": (frozenset({ConnState.CONNECTED}), None),
    "FCSubscribe": (frozenset({ConnState.CONNECTED}), None),
    "getStreamLength": (frozenset({ConnState.CONNECTED}), None),
    "_checkbw": (frozenset({ConnState.CONNECTED}), None),
    "deleteStream": (frozenset({ConnState.CONNECTED}), None),
    "publish": (frozenset({ConnState.CONNECTED}), frozenset({StreamState.IDLE})),
    "play": (frozenset({ConnState.CONNECTED}), frozenset({StreamState.IDLE})),
    "play2": (frozenset({ConnState.CONNECTED}), frozenset({StreamState.PLAYING})),
    "closeStream": (frozenset({ConnState.CONNECTED}), _ANY_STREAM),
    "pause": (frozenset({ConnState.CONNECTED}), frozenset({StreamState.PLAYING})),
    "receiveAudio": (frozenset({ConnState.CONNECTED}), frozenset({StreamState.PLAYING})),
    "receiveVideo": (frozenset({ConnState.CONNECTED}), frozenset({StreamState.PLAYING})),
}

#: Calls a server answers but has nothing to do for; they need no event.
_IGNORED_NOTIFICATIONS = frozenset({"_result", "_error", "onBWDone"})


@dataclass(slots=True)
class _Stream:
    state: StreamState = StreamState.IDLE
    name: str = ""


class _Base:
    """What both roles share: chunk reader/writer, acknowledgements, control messages."""

    def __init__(self, *, chunk_size: int, max_message_size: int) -> None:
        self._reader = ChunkReader(max_message_size=max_message_size)
        self._writer = ChunkWriter()
        self._out: list[bytes] = []
        self._out_chunk_size = chunk_size
        self._ack_window: msg.BytesWindow | None = None
        self.peer_window_ack_size = 0
        self.bytes_received = 0
        self.last_ack_received = 0

    # -- output -----------------------------------------------------------------------

    def data_to_send(self) -> bytes:
        """All bytes queued since the last call; write them before any shared media."""
        if not self._out:
            return b""
        data = b"".join(self._out)
        self._out.clear()
        return data

    @property
    def out_chunk_size(self) -> int:
        return self._writer.chunk_size

    def _send_control(self, message: msg.ControlMessage) -> None:
        self._out.append(self._writer.write(CSID_CONTROL, message.TYPE_ID, 0, 0, message.encode()))

    def _send_command(self, stream_id: int, payload: bytes) -> None:
        csid = CSID_COMMAND if stream_id == 0 else CSID_STATUS
        self._out.append(self._writer.write(csid, cmds.COMMAND_AMF0, stream_id, 0, payload))

    def _set_chunk_size(self) -> None:
        if self._out_chunk_size != self._writer.chunk_size:
            self._out.append(self._writer.set_chunk_size(self._out_chunk_size))

    def send_message(self, stream_id: int, type_id: int, timestamp: int, payload: bytes) -> None:
        """Queue one media or data message (not shared: for the few messages a single
        connection sends; fan-out writes ``media_wire`` bytes directly)."""
        self._out.append(
            media_wire(type_id, stream_id, timestamp, payload, self._writer.chunk_size)
        )

    # -- input ------------------------------------------------------------------------

    def _through_handshake(
        self, handshake: ServerHandshake | ClientHandshake, data: bytes
    ) -> bytes | None:
        """Feed the handshake; once it completes, the bytes after it (chunk stream),
        else None. ``_handshake_done`` runs at completion."""
        self._out.append(handshake.receive_data(data))
        if not handshake.complete:
            return None
        self._handshake_done()
        return handshake.leftover

    def _handshake_done(self) -> None:
        pass

    def _read_messages(self, data: bytes) -> list[RawMessage]:
        self.bytes_received += len(data)
        messages = self._reader.feed(data)
        if self._ack_window is not None:
            seq = self._ack_window.received(len(data))
            if seq is not None:
                self._send_control(msg.Acknowledgement(seq))
        return messages

    def _handle_control(self, raw: RawMessage) -> list[ev.Event]:
        """Protocol control and user control messages common to both roles."""
        if raw.type_id not in _CONTROL_TYPES:
            return []  # an unknown message type: ignored, as nginx-rtmp does
        control = msg.decode_control(raw.type_id, raw.payload)
        if isinstance(control, msg.WindowAckSize):
            self.peer_window_ack_size = control.size
            self._ack_window = msg.BytesWindow(control.size) if control.size > 0 else None
        elif isinstance(control, msg.Acknowledgement):
            self.last_ack_received = control.sequence_number
        elif isinstance(control, msg.SetPeerBandwidth):
            self._on_peer_bandwidth(control)
        elif isinstance(control, msg.PingRequest):
            self._send_control(msg.PingResponse(control.timestamp))
        elif isinstance(control, msg.SetBufferLength):
            return [ev.BufferLength(control.stream_id, control.buffer_ms)]
        elif isinstance(control, msg.StreamBegin | msg.StreamEOF | msg.StreamDry):
            return self._on_stream_control(control)
        elif isinstance(control, msg.StreamIsRecorded):
            return [ev.StreamControl("recorded", control.stream_id)]
        # SetChunkSize and Abort were applied by the reader; PingResponse and unknown
        # user control events (Flash's SWF verification) need nothing.
        return []

    def _on_peer_bandwidth(self, control: msg.SetPeerBandwidth) -> None:
        pass

    def _on_stream_control(self, control: msg.ControlMessage) -> list[ev.Event]:
        return []


class ServerSession(_Base):
    """The server side of one RTMP connection."""

    def __init__(
        self,
        *,
        random_bytes: bytes,
        uptime_ms: int = 0,
        chunk_size: int = 4096,
        window_ack_size: int = 2_500_000,
        peer_bandwidth: int = 2_500_000,
        max_streams: int = 16,
        max_message_size: int = 8 * 1024 * 1024,
    ) -> None:
        super().__init__(chunk_size=chunk_size, max_message_size=max_message_size)
        self._handshake: ServerHandshake | None = ServerHandshake(random_bytes, uptime_ms=uptime_ms)
        self.state = ConnState.HANDSHAKE
        self.window_ack_size = window_ack_size
        self.peer_bandwidth = peer_bandwidth
        self.max_streams = max_streams
        self.streams: dict[int, _Stream] = {}
        self._next_stream_id = 1
        self.app = ""
        self.object_encoding = 0
        self._held: list[RawMessage] = []

    # -- input ------------------------------------------------------------------------

    def _handshake_done(self) -> None:
        self._handshake = None
        self.state = ConnState.AWAIT_CONNECT

    def receive_data(self, data: bytes) -> list[ev.Event]:
        """Bytes from the socket → events. Raises ProtocolError on a violation."""
        if self._handshake is not None:
            rest = self._through_handshake(self._handshake, data)
            if rest is None:
                return []
            data = rest
        raws = self._read_messages(data) if data else []
        if self._held:
            raws = self._held + raws
            self._held = []
        out: list[ev.Event] = []
        for i, raw in enumerate(raws):
            if self.state is ConnState.CONNECTING:
                # The glue has not answered connect yet; clients that pipeline
                # createStream/publish after connect must get their answers after it.
                self._held = raws[i:]
                break
            out.extend(self._dispatch(raw))
        return out

    @property
    def held(self) -> bool:
        """Messages wait behind an unanswered connect: after answering it, call
        ``receive_data(b"")`` to get their events."""
        return bool(self._held) and self.state is not ConnState.CONNECTING

    def _dispatch(self, raw: RawMessage) -> list[ev.Event]:
        t = raw.type_id
        if t in (AUDIO, VIDEO, DATA, cmds.DATA_AMF3):
            return self._on_media(raw)
        if t in (cmds.COMMAND_AMF0, cmds.COMMAND_AMF3):
            return self._on_command(raw)
        if t == msg.MessageType.AGGREGATE:
            out: list[ev.Event] = []
            for type_id, ts, payload in msg.split_aggregate(raw.payload, raw.timestamp):
                sub = RawMessage(raw.csid, type_id, raw.stream_id, ts, payload)
                if type_id in (AUDIO, VIDEO, DATA):
                    out.extend(self._on_media(sub))
            return out
        if t in (msg.MessageType.SHARED_OBJECT_AMF0, msg.MessageType.SHARED_OBJECT_AMF3):
            return []  # shared objects are not supported; ignore like nginx-rtmp does
        return self._handle_control(raw)

    def _on_media(self, raw: RawMessage) -> list[ev.Event]:
        stream = self.streams.get(raw.stream_id)
        if stream is None or stream.state is not StreamState.PUBLISHING:
            return []  # media before publish: dropped, as FMS does
        payload = raw.payload
        type_id = raw.type_id
        if type_id == cmds.DATA_AMF3:
            type_id = DATA
            if payload[:1] == b"\x00":
                payload = payload[1:]
        return [ev.Media(raw.stream_id, type_id, raw.timestamp, payload)]

    def _on_command(self, raw: RawMessage) -> list[ev.Event]:
        cmd = cmds.decode_command(raw.payload, amf3=raw.type_id == cmds.COMMAND_AMF3)
        rule = SERVER_COMMAND_TABLE.get(cmd.name)
        if rule is None:
            if cmd.name in _IGNORED_NOTIFICATIONS:
                return []
            if self.state is not ConnState.CONNECTED:
                raise ProtocolError(f"command {cmd.name!r} before connect")
            if cmd.transaction_id > 0:
                self._reply(
                    raw.stream_id,
                    cmds.call_failed(cmd.transaction_id, f"Method not found ({cmd.name})."),
                )
            return [ev.UnknownCommand(raw.stream_id, cmd.name, cmd.transaction_id)]
        conn_states, stream_states = rule
        if self.state not in conn_states:
            if cmd.name == "connect":
                raise ProtocolError("connect sent twice")
            raise ProtocolError(f"command {cmd.name!r} before connect")
        if stream_states is not None:
            stream = self.streams.get(raw.stream_id)
            if stream is None:
                self._status(
                    raw.stream_id,
                    "error",
                    "NetStream.Failed",
                    f"{cmd.name}: stream id {raw.stream_id} was not created",
                )
                return []
            if stream.state not in stream_states:
                self._status(
                    raw.stream_id,
                    "error",
                    "NetStream.Failed",
                    f"{cmd.name}: not allowed while the stream is {stream.state.value}",
                )
                return []
        handler: Callable[[RawMessage, cmds.Command], list[ev.Event]] = getattr(
            self, "_cmd_" + cmd.name.lstrip("_")
        )
        return handler(raw, cmd)

    # -- command handlers (looked up by name from the table) ----------------------------

    def _cmd_connect(self, raw: RawMessage, cmd: cmds.Command) -> list[ev.Event]:
        c = cmds.Connect.from_command(cmd)
        self.state = ConnState.CONNECTING
        self.app = c.app.strip("/")
        self.object_encoding = c.object_encoding
        return [
            ev.ConnectRequest(c.transaction_id, self.app, c.tc_url, c.object_encoding, c.properties)
        ]

    def _cmd_createStream(self, raw: RawMessage, cmd: cmds.Command) -> list[ev.Event]:
        if len(self.streams) >= self.max_streams:
            self._reply(
                0,
                cmds.call_failed(
                    cmd.transaction_id, f"too many streams (limit {self.max_streams})"
                ),
            )
            return []
        sid = self._next_stream_id
        self._next_stream_id += 1
        self.streams[sid] = _Stream()
        self._reply(0, cmds.Result(True, cmd.transaction_id, None, (float(sid),)))
        return [ev.StreamCreated(sid, cmd.transaction_id)]

    def _answer(self, cmd: cmds.Command, *values: object) -> list[ev.Event]:
        """_result for calls that need nothing but an answer (when they want one)."""
        if cmd.transaction_id > 0:
            self._reply(0, cmds.Result(True, cmd.transaction_id, None, values))
        return []

    def _fc_notify(self, cmd: cmds.Command, handler: str, code: str) -> list[ev.Event]:
        name = cmds.StreamNameCommand.from_command(cmd).stream_name
        info = {"code": code, "description": name}
        self._send_command(0, cmds.Command(handler, 0.0, None, (info,)).encode())
        return self._answer(cmd, None)

    def _cmd_releaseStream(self, raw: RawMessage, cmd: cmds.Command) -> list[ev.Event]:
        return self._answer(cmd, None)

    def _cmd_FCPublish(self, raw: RawMessage, cmd: cmds.Command) -> list[ev.Event]:
        return self._fc_notify(cmd, "onFCPublish", "NetStream.Publish.Start")

    def _cmd_FCUnpublish(self, raw: RawMessage, cmd: cmds.Command) -> list[ev.Event]:
        return self._fc_notify(cmd, "onFCUnpublish", "NetStream.Unpublish.Success")

    def _cmd_FCSubscribe(self, raw: RawMessage, cmd: cmds.Command) -> list[ev.Event]:
        return self._answer(cmd, None)

    def _cmd_getStreamLength(self, raw: RawMessage, cmd: cmds.Command) -> list[ev.Event]:
        return self._answer(cmd, 0.0)

    def _cmd_checkbw(self, raw: RawMessage, cmd: cmds.Command) -> list[ev.Event]:
        return self._answer(cmd)

    def _cmd_deleteStream(self, raw: RawMessage, cmd: cmds.Command) -> list[ev.Event]:
        sid = cmds.DeleteStreamCommand.from_command(cmd).stream_id
        stream = self.streams.pop(sid, None)
        if stream is None:
            return []
        return [ev.DeleteStream(sid, "deleteStream")]

    def _cmd_closeStream(self, raw: RawMessage, cmd: cmds.Command) -> list[ev.Event]:
        stream = self.streams[raw.stream_id]
        was = stream.state
        stream.state = StreamState.IDLE
        return [] if was is StreamState.IDLE else [ev.DeleteStream(raw.stream_id, "closeStream")]

    def _cmd_publish(self, raw: RawMessage, cmd: cmds.Command) -> list[ev.Event]:
        p = cmds.Publish.from_command(cmd)
        name, query = cmds.split_query(p.stream_name)
        stream = self.streams[raw.stream_id]
        stream.state, stream.name = StreamState.PUBLISHING, name
        return [ev.PublishRequest(raw.stream_id, name, query, p.publish_type, p.transaction_id)]

    def _cmd_play(self, raw: RawMessage, cmd: cmds.Command) -> list[ev.Event]:
        p = cmds.Play.from_command(cmd)
        name, query = cmds.split_query(p.stream_name)
        stream = self.streams[raw.stream_id]
        stream.state, stream.name = StreamState.PLAYING, name
        return [
            ev.PlayRequest(
                raw.stream_id, name, query, p.start, p.duration, p.reset, p.transaction_id
            )
        ]

    def _cmd_play2(self, raw: RawMessage, cmd: cmds.Command) -> list[ev.Event]:
        # A live server has one rendition per name: answer as FMS does when nothing changes.
        p = cmds.Play2.from_command(cmd)
        self._status(
            raw.stream_id, "status", "NetStream.Play.Transition", f"Transition to {p.stream_name}."
        )
        return []

    def _cmd_pause(self, raw: RawMessage, cmd: cmds.Command) -> list[ev.Event]:
        p = cmds.PauseCommand.from_command(cmd)
        if p.paused:
            self._status(raw.stream_id, "status", "NetStream.Pause.Notify", "Paused live stream.")
        else:
            self._status(
                raw.stream_id, "status", "NetStream.Unpause.Notify", "Unpaused live stream."
            )
        return [ev.Pause(raw.stream_id, p.paused, p.position_ms)]

    def _cmd_receiveAudio(self, raw: RawMessage, cmd: cmds.Command) -> list[ev.Event]:
        return [ev.ReceiveMedia(raw.stream_id, "audio", cmds.ReceiveFlag.from_command(cmd).enabled)]

    def _cmd_receiveVideo(self, raw: RawMessage, cmd: cmds.Command) -> list[ev.Event]:
        return [ev.ReceiveMedia(raw.stream_id, "video", cmds.ReceiveFlag.from_command(cmd).enabled)]

    # -- replies the glue decides ---------------------------------------------------------

    def accept_connect(self, event: ev.ConnectRequest) -> None:
        if self.state is not ConnState.CONNECTING:
            raise RuntimeError("accept_connect without a pending connect")
        self.state = ConnState.CONNECTED
        self._send_control(msg.WindowAckSize(self.window_ack_size))
        self._send_control(msg.SetPeerBandwidth(self.peer_bandwidth, msg.LimitType.DYNAMIC))
        self._set_chunk_size()
        self._reply(0, cmds.connect_result(event.transaction_id, event.object_encoding))
        self._send_command(0, cmds.on_bw_done().encode())

    def reject_connect(self, event: ev.ConnectRequest, description: str) -> None:
        """Queue the _error; the glue closes the connection after writing it."""
        self.state = ConnState.REJECTED
        info = {
            "level": "error",
            "code": "NetConnection.Connect.Rejected",
            "description": description,
        }
        self._reply(0, cmds.Result(False, event.transaction_id, None, (info,)))

    def accept_publish(self, event: ev.PublishRequest) -> None:
        self._send_control(msg.StreamBegin(event.stream_id))
        self._status(
            event.stream_id, "status", "NetStream.Publish.Start", f"{event.name} is now published."
        )

    def reject_publish(
        self, event: ev.PublishRequest, description: str, code: str = "NetStream.Publish.BadName"
    ) -> None:
        self._reject(event.stream_id, code, description)

    def _reject(self, stream_id: int, code: str, description: str) -> None:
        """The stream goes back to idle and the peer hears why, as an error status."""
        stream = self.streams.get(stream_id)
        if stream is not None:
            stream.state = StreamState.IDLE
        self._status(stream_id, "error", code, description)

    def accept_play(self, event: ev.PlayRequest) -> None:
        """The replies a player waits for before media: StreamBegin, Reset, Start, and the
        |RtmpSampleAccess and Data.Start data messages."""
        sid = event.stream_id
        self._send_control(msg.StreamBegin(sid))
        if event.reset:
            self._status(
                sid, "status", "NetStream.Play.Reset", f"Playing and resetting {event.name}."
            )
        self._status(sid, "status", "NetStream.Play.Start", f"Started playing {event.name}.")
        self.send_message(sid, DATA, 0, cmds.sample_access())
        self.send_message(sid, DATA, 0, cmds.data_start())

    def reject_play(
        self, event: ev.PlayRequest, description: str, code: str = "NetStream.Play.StreamNotFound"
    ) -> None:
        self._reject(event.stream_id, code, description)

    def stream_begin(self, stream_id: int) -> None:
        self._send_control(msg.StreamBegin(stream_id))

    def stream_eof(self, stream_id: int) -> None:
        self._send_control(msg.StreamEOF(stream_id))

    def send_status(self, stream_id: int, level: str, code: str, description: str) -> None:
        self._status(stream_id, level, code, description)

    def _status(self, stream_id: int, level: str, code: str, description: str) -> None:
        self._send_command(stream_id, cmds.OnStatus(level, code, description).encode())

    def _reply(self, stream_id: int, result: cmds.Result) -> None:
        self._send_command(stream_id, result.encode())


class ClientSession(_Base):
    """The client side: used by tests, the relay and the benchmark's players."""

    def __init__(
        self,
        *,
        random_bytes: bytes,
        digest: bool = True,
        uptime_ms: int = 0,
        chunk_size: int = 4096,
        window_ack_size: int = 2_500_000,
        max_message_size: int = 16 * 1024 * 1024,
    ) -> None:
        super().__init__(chunk_size=chunk_size, max_message_size=max_message_size)
        self._handshake: ClientHandshake | None = ClientHandshake(
            random_bytes, digest=digest, uptime_ms=uptime_ms
        )
        self._pending: list[tuple[int, bytes]] = []  # commands asked for before the handshake
        self._next_tid = 1.0
        self._calls: dict[float, str] = {}
        self.window_ack_size = window_ack_size
        self.connected = False

    def initiate(self) -> None:
        assert self._handshake is not None
        self._out.append(self._handshake.initiate())

    # -- calls ----------------------------------------------------------------------------

    def _call(self, name: str, payload_for: Callable[[float], bytes], stream_id: int = 0) -> float:
        tid = self._next_tid
        self._next_tid += 1
        self._calls[tid] = name
        self._queue_command(stream_id, payload_for(tid))
        return tid

    def _queue_command(self, stream_id: int, payload: bytes) -> None:
        if self._handshake is not None:
            self._pending.append((stream_id, payload))
        else:
            self._send_command(stream_id, payload)

    def connect(self, app: str, tc_url: str, **properties: object) -> float:
        props: dict[str, object] = {
            "flashVer": "FMLE/3.0 (compatible; livecast)",
            "type": "nonprivate",
            "fpad": False,
            "capabilities": 15.0,
            "audioCodecs": 3191.0,
            "videoCodecs": 252.0,
            "videoFunction": 1.0,
            **properties,
        }
        return self._call(
            "connect", lambda tid: cmds.Connect(tid, app, tc_url, properties=props).encode()
        )

    def create_stream(self) -> float:
        return self._call("createStream", lambda tid: cmds.CreateStream(tid).encode())

    def release_stream(self, name: str) -> float:
        return self._call(
            "releaseStream", lambda tid: cmds.StreamNameCommand("releaseStream", tid, name).encode()
        )

    def fc_publish(self, name: str) -> float:
        return self._call(
            "FCPublish", lambda tid: cmds.StreamNameCommand("FCPublish", tid, name).encode()
        )

    def publish(self, stream_id: int, name: str, publish_type: str = "live") -> None:
        self._queue_command(stream_id, cmds.Publish(0.0, name, publish_type).encode())

    def play(
        self,
        stream_id: int,
        name: str,
        start: float = -2.0,
        duration: float = -1.0,
        reset: bool = True,
    ) -> None:
        self._queue_command(stream_id, cmds.Play(0.0, name, start, duration, reset).encode())

    def close_stream(self, stream_id: int) -> None:
        self._queue_command(stream_id, cmds.Command("closeStream", 0.0, None).encode())

    def delete_stream(self, stream_id: int) -> None:
        self._queue_command(0, cmds.DeleteStreamCommand(0.0, stream_id).encode())

    def receive_media(self, stream_id: int, kind: str, enabled: bool) -> None:
        name = "receiveAudio" if kind == "audio" else "receiveVideo"
        self._queue_command(stream_id, cmds.ReceiveFlag(name, 0.0, enabled).encode())

    def pause(self, stream_id: int, paused: bool, position_ms: float = 0.0) -> None:
        self._queue_command(stream_id, cmds.PauseCommand(0.0, paused, position_ms).encode())

    def set_buffer_length(self, stream_id: int, buffer_ms: int) -> None:
        self._send_control(msg.SetBufferLength(stream_id, buffer_ms))

    def send_media(self, stream_id: int, type_id: int, timestamp: int, payload: bytes) -> None:
        """Publish one audio/video/data message; headers compressed like an encoder's."""
        csid = _CSID_BY_TYPE.get(type_id, CSID_DATA)
        self._out.append(self._writer.write(csid, type_id, stream_id, timestamp, payload))

    # -- input ------------------------------------------------------------------------------

    def _handshake_done(self) -> None:
        self._handshake = None
        self._send_control(msg.WindowAckSize(self.window_ack_size))
        self._set_chunk_size()
        for stream_id, payload in self._pending:
            self._send_command(stream_id, payload)
        self._pending.clear()

    def receive_data(self, data: bytes) -> list[ev.Event]:
        if self._handshake is not None:
            rest = self._through_handshake(self._handshake, data)
            if not rest:
                return []
            data = rest
        out: list[ev.Event] = []
        for raw in self._read_messages(data):
            t = raw.type_id
            if t in (AUDIO, VIDEO, DATA):
                out.append(ev.Media(raw.stream_id, t, raw.timestamp, raw.payload))
            elif t in (cmds.COMMAND_AMF0, cmds.COMMAND_AMF3):
                out.extend(self._on_command(raw))
            elif t == msg.MessageType.AGGREGATE:
                for type_id, ts, payload in msg.split_aggregate(raw.payload, raw.timestamp):
                    out.append(ev.Media(raw.stream_id, type_id, ts, payload))
            elif t in (
                cmds.DATA_AMF3,
                msg.MessageType.SHARED_OBJECT_AMF0,
                msg.MessageType.SHARED_OBJECT_AMF3,
            ):
                continue
            else:
                out.extend(self._handle_control(raw))
        return out

    def _on_command(self, raw: RawMessage) -> list[ev.Event]:
        cmd = cmds.decode_command(raw.payload, amf3=raw.type_id == cmds.COMMAND_AMF3)
        if cmd.name == "onStatus":
            s = cmds.OnStatus.from_command(cmd)
            return [ev.Status(raw.stream_id, s.level, s.code, s.description, s.extra)]
        if cmd.name not in ("_result", "_error"):
            return []  # onBWDone, onFCPublish, ...: informational
        result = cmds.Result.from_command(cmd)
        call = self._calls.pop(cmd.transaction_id, "")
        if call == "connect":
            self.connected = result.ok
            info = result.values[0] if result.values and isinstance(result.values[0], dict) else {}
            props = result.command_object if isinstance(result.command_object, dict) else {}
            return [ev.ConnectResult(result.ok, dict(info), dict(props))]
        if call == "createStream" and result.ok:
            sid = result.values[0] if result.values else None
            if (
                isinstance(sid, bool)
                or not isinstance(sid, int | float)
                or not 0 < sid <= 0xFFFFFFFF
            ):
                raise ProtocolError(f"createStream _result carries no stream id: {sid!r}")
            return [ev.StreamCreated(int(sid), cmd.transaction_id)]
        return [ev.CommandResult(cmd.transaction_id, result.ok, result.values)]

    def _on_peer_bandwidth(self, control: msg.SetPeerBandwidth) -> None:
        # The spec's answer to Set Peer Bandwidth: our window, if it differs.
        if control.size != self.window_ack_size:
            self.window_ack_size = control.size
            self._send_control(msg.WindowAckSize(control.size))

    def _on_stream_control(self, control: msg.ControlMessage) -> list[ev.Event]:
        if isinstance(control, msg.StreamBegin):
            return [ev.StreamControl("begin", control.stream_id)]
        if isinstance(control, msg.StreamEOF):
            return [ev.StreamControl("eof", control.stream_id)]
        if isinstance(control, msg.StreamDry):
            return [ev.StreamControl("dry", control.stream_id)]
        return []
