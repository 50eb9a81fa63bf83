"""The RTMP listener: asyncio glue between sockets, ServerSession and the hub."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from dataclasses import dataclass
from typing import cast

from livecast.hub.registry import Hub, StreamBusy
from livecast.hub.stream import Stream
from livecast.multisend import close_fd, own_socket_fd
from livecast.names import bad_name
from livecast.outputs.rtmp_play import RtmpPlayer
from livecast.rtmp import events as ev
from livecast.rtmp.errors import ProtocolError
from livecast.rtmp.session import ConnState, ServerSession

log = logging.getLogger("livecast.rtmp")


@dataclass(frozen=True, slots=True)
class RtmpSettings:
    apps: tuple[str, ...] = ()  # empty: any app
    chunk_size: int = 4096
    window_ack_size: int = 2_500_000
    peer_bandwidth: int = 2_500_000
    play_wait_s: float = 0.0
    handshake_timeout_s: float = 10.0
    idle_timeout_s: float = 30.0
    max_streams_per_connection: int = 16
    max_message_size: int = 8 * 1024 * 1024
    player_queue_bytes: int = 4 * 1024 * 1024
    # What a connection may have waiting in its write buffer: one player bound, one
    # state burst (a GOP) and one message. Past it the peer is not reading what it asks
    # for (replies, bursts) and is closed.
    max_write_buffer: int = 48 * 1024 * 1024


class RtmpConnection(asyncio.Protocol):
    """One TCP connection. It may publish on some message stream ids and play on others."""

    def __init__(self, server: RtmpServer) -> None:
        self.server = server
        self.settings = server.settings
        self.transport: asyncio.Transport | None = None
        self.peer = "?"
        self.session = ServerSession(
            random_bytes=os.urandom(3072),
            uptime_ms=server.uptime_ms(),
            chunk_size=self.settings.chunk_size,
            window_ack_size=self.settings.window_ack_size,
            peer_bandwidth=self.settings.peer_bandwidth,
            max_streams=self.settings.max_streams_per_connection,
            max_message_size=self.settings.max_message_size,
        )
        self.publishing: dict[int, Stream] = {}
        self.playing: dict[int, tuple[Stream, RtmpPlayer]] = {}
        self.started = time.monotonic()
        self.bytes_out = 0  # media written to this connection's finished players
        self.closing = False
        self.write_blocked = False  # the transport holds bytes: see pause_writing
        self.last_receive = 0.0  # loop time of the last read, for the publisher idle check
        self._timers: list[asyncio.TimerHandle] = []
        self._idle_timer: asyncio.TimerHandle | None = None

    # -- asyncio callbacks ----------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is no subclass
        # pause_writing as soon as the transport holds a byte, resume_writing when it has
        # none: that is when players may be written to directly (hub.subscriber)
        self.transport.set_write_buffer_limits(high=0)
        peer = transport.get_extra_info("peername")
        self.peer = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else str(peer)
        self.server.connections.add(self)
        loop = asyncio.get_running_loop()
        self._timers.append(
            loop.call_later(self.settings.handshake_timeout_s, self._check_handshake)
        )

    def data_received(self, data: bytes) -> None:
        if self.closing:
            return
        if self.publishing:
            self.last_receive = asyncio.get_running_loop().time()
        try:
            events = self.session.receive_data(data)
            while events:
                for event in events:
                    self._handle(event)
                    if self.closing:
                        return
                events = self.session.receive_data(b"") if self.session.held else []
        except ProtocolError as exc:
            self.server.protocol_errors += 1
            self.abort(f"protocol error: {exc}")
            return
        self.flush_session()
        if self.transport is not None:
            buffered = self.transport.get_write_buffer_size()
            if buffered > self.settings.max_write_buffer:
                self.abort(f"peer does not read: {buffered} bytes wait to be sent")

    def connection_lost(self, exc: Exception | None) -> None:
        self.closing = True
        for timer in self._timers:
            timer.cancel()
        if self._idle_timer is not None:
            self._idle_timer.cancel()
        for sid in list(self.publishing):
            self._stop_publishing(sid)
        for sid in list(self.playing):
            self._stop_playing(sid)
        self.server.connections.discard(self)
        log.info(
            "close %s app=%s in=%d out=%d duration=%.1fs%s",
            self.peer,
            self.session.app or "-",
            self.session.bytes_received,
            self.bytes_out,
            time.monotonic() - self.started,
            f" ({exc})" if exc else "",
        )

    # -- helpers ---------------------------------------------------------------------------

    def flush_session(self) -> None:
        data = self.session.data_to_send()
        if data and self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)

    def pause_writing(self) -> None:
        """The transport holds bytes (the write limits are zero): players' flushes must
        go behind them, through it, until it has sent them all."""
        self._block_players(True)

    def resume_writing(self) -> None:
        if not self.closing:  # a connection on its way out stays blocked
            self._block_players(False)

    def _block_players(self, blocked: bool) -> None:
        self.write_blocked = blocked
        for _stream, player in self.playing.values():
            player.set_blocked(blocked)

    def abort(self, reason: str) -> None:
        log.warning("%s: closing: %s", self.peer, reason)
        self.closing = True
        self._block_players(True)
        if self.transport is not None:
            self.flush_session()
            self.transport.close()

    def _check_idle(self) -> None:
        """A publisher that sends nothing for idle_timeout_s is gone (a dead encoder
        whose TCP connection never closed): free its names for the next one."""
        self._idle_timer = None
        if not self.publishing or self.closing:
            return
        loop = asyncio.get_running_loop()
        silent = loop.time() - self.last_receive
        limit = self.settings.idle_timeout_s
        if silent >= limit:
            self.abort(f"publisher sent nothing for {silent:.1f}s")
        else:
            self._idle_timer = loop.call_later(limit - silent, self._check_idle)

    def _check_handshake(self) -> None:
        if self.session.state in (ConnState.HANDSHAKE, ConnState.AWAIT_CONNECT):
            self.abort(f"no connect within {self.settings.handshake_timeout_s:g}s")

    # -- events ------------------------------------------------------------------------------

    def _handle(self, event: ev.Event) -> None:
        if isinstance(event, ev.Media):
            stream = self.publishing.get(event.stream_id)
            if stream is not None:
                stream.publish(event.type_id, event.timestamp, event.payload)
        elif isinstance(event, ev.ConnectRequest):
            self._on_connect(event)
        elif isinstance(event, ev.PublishRequest):
            self._on_publish(event)
        elif isinstance(event, ev.PlayRequest):
            self._on_play(event)
        elif isinstance(event, ev.DeleteStream):
            self._stop_publishing(event.stream_id)
            self._stop_playing(event.stream_id)
        elif isinstance(event, ev.ReceiveMedia):
            entry = self.playing.get(event.stream_id)
            if entry is not None:
                stream, player = entry
                audio = event.enabled if event.kind == "audio" else player.audio
                video = event.enabled if event.kind == "video" else player.video
                stream.set_filter(player, audio=audio, video=video)
        elif isinstance(event, ev.Pause):
            entry = self.playing.get(event.stream_id)
            if entry is not None:
                entry[0].pause(entry[1], event.paused)
        elif isinstance(event, ev.UnknownCommand):
            log.debug("%s: unknown command %s", self.peer, event.name)

    def _on_connect(self, event: ev.ConnectRequest) -> None:
        apps = self.settings.apps
        if not event.app or (apps and event.app not in apps):
            self.session.reject_connect(event, f"unknown application {event.app!r}")
            log.info("connect %s app=%s rejected: unknown app", self.peer, event.app)
            self.flush_session()
            self.closing = True
            asyncio.get_running_loop().call_later(0.1, self._close_transport)
            return
        self.session.accept_connect(event)
        log.info(
            "connect %s app=%s tcUrl=%s flashVer=%s",
            self.peer,
            event.app,
            event.tc_url,
            event.params.get("flashVer", "-"),
        )

    def _close_transport(self) -> None:
        if self.transport is not None:
            self.transport.close()

    def _on_publish(self, event: ev.PublishRequest) -> None:
        reason = bad_name(event.name)
        if reason is not None:
            self.session.reject_publish(event, reason)
            return
        app = self.session.app
        try:
            stream, previous = self.server.hub.start_publishing(app, event.name, self)
        except StreamBusy:
            self.session.reject_publish(event, f"{app}/{event.name} is already being published.")
            log.info("publish %s %s/%s refused: already publishing", self.peer, app, event.name)
            return
        if isinstance(previous, RtmpConnection):
            previous.kicked(stream)
        self.publishing[event.stream_id] = stream
        self.session.accept_publish(event)
        if self._idle_timer is None:
            loop = asyncio.get_running_loop()
            self.last_receive = loop.time()
            self._idle_timer = loop.call_later(self.settings.idle_timeout_s, self._check_idle)
        log.info("publish %s %s/%s type=%s", self.peer, app, event.name, event.publish_type)

    def kicked(self, stream: Stream) -> None:
        """Another publisher replaced this one on ``stream`` (publish_conflict=replace)."""
        for sid, s in list(self.publishing.items()):
            if s is stream:
                del self.publishing[sid]
                self.session.send_status(
                    sid, "error", "NetStream.Publish.BadName", "Replaced by a new publisher."
                )
        self.abort("replaced by a new publisher")

    def _on_play(self, event: ev.PlayRequest) -> None:
        reason = bad_name(event.name)
        if reason is not None:
            self.session.reject_play(event, reason)
            return
        if event.stream_id in self.playing:
            self._stop_playing(event.stream_id)
        app = self.session.app
        assert self.transport is not None
        if self.transport.get_write_buffer_size() > self.settings.max_write_buffer:
            self.abort("peer does not read: plays again while its buffer is full")
            return
        player = RtmpPlayer(
            self.transport,
            self.session,
            event.stream_id,
            event.name,
            queue_bytes=self.settings.player_queue_bytes,
            flush_session=self.flush_session,
            fd=own_socket_fd(self.transport),
            watched=True,
        )
        player.set_blocked(self.write_blocked)
        self.session.accept_play(event)
        self.flush_session()  # statuses go out before the stream's state burst
        stream = self.server.hub.subscribe(app, event.name, player)
        self.playing[event.stream_id] = (stream, player)
        log.info("play %s %s/%s live=%s", self.peer, app, event.name, stream.live)
        if not stream.live and self.settings.play_wait_s > 0:
            loop = asyncio.get_running_loop()
            self._timers.append(
                loop.call_later(self.settings.play_wait_s, self._play_timeout, event, stream)
            )

    def _play_timeout(self, event: ev.PlayRequest, stream: Stream) -> None:
        entry = self.playing.get(event.stream_id)
        if entry is None or entry[0] is not stream or stream.live:
            return
        self._stop_playing(event.stream_id)
        self.session.reject_play(event, f"{stream.path} is not live.")
        self.flush_session()

    def _stop_publishing(self, stream_id: int) -> None:
        stream = self.publishing.pop(stream_id, None)
        if stream is not None:
            self.server.hub.stop_publishing(stream, self)
            log.info(
                "unpublish %s %s in=%d frames=%d",
                self.peer,
                stream.path,
                stream.bytes_in,
                stream.frames_in,
            )

    def _stop_playing(self, stream_id: int) -> None:
        entry = self.playing.pop(stream_id, None)
        if entry is not None:
            stream, player = entry
            self.server.hub.unsubscribe(stream, player)
            close_fd(player.fd)  # out of its group now: no flush writes to it any more
            player.fd = -1
            self.bytes_out += player.bytes_out
            log.info(
                "stop %s %s out=%d drops=%d", self.peer, stream.path, player.bytes_out, player.drops
            )

    def shutdown(self) -> None:
        """Server shutdown: players hear the stream end, then the socket closes."""
        for _stream, player in self.playing.values():
            player.on_close()
        self.flush_session()
        self.closing = True
        self._block_players(True)
        if self.transport is not None:
            self.transport.close()


class RtmpServer:
    def __init__(self, hub: Hub, settings: RtmpSettings) -> None:
        self.hub = hub
        self.settings = settings
        self.connections: set[RtmpConnection] = set()
        self.protocol_errors = 0
        self._server: asyncio.Server | None = None
        self._t0 = time.monotonic()

    def uptime_ms(self) -> int:
        return int((time.monotonic() - self._t0) * 1000) & 0xFFFFFFFF

    async def start(self, host: str, port: int) -> tuple[str, int]:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: RtmpConnection(self), host, port, reuse_address=True, backlog=1024
        )
        sock = self._server.sockets[0].getsockname()
        return str(sock[0]), int(sock[1])

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        self.hub.flush()
        for conn in list(self.connections):
            conn.shutdown()
        if self._server is not None:
            await self._server.wait_closed()
