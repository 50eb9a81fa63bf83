"""HTTP-FLV and WebSocket-FLV viewers: hub subscribers that write FLV tags.

aiohttp answers the request and sends the response headers (or the WebSocket
handshake); from then on the body goes straight to the connection's transport through
the hub's Subscriber machinery. Each frame's wire form (FLV tag plus its HTTP chunk
framing, or plus its WebSocket frame header) is built once on the frame and shared by
every viewer, so a thousand viewers cost one encode and a thousand ``writelines``.

A viewer's response ends when the publisher leaves (last chunk, or WebSocket close
1000): players reconnect, and a new publisher session may bring other codecs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
import time
from collections.abc import Callable, Hashable
from typing import cast

from aiohttp import WSCloseCode, web

from livecast.config import Config
from livecast.hub.frame import AUDIO, VIDEO, Frame
from livecast.hub.registry import Hub
from livecast.hub.stream import Stream
from livecast.hub.subscriber import Sink, Subscriber
from livecast.media import flv
from livecast.multisend import close_fd, own_socket_fd
from livecast.names import bad_name
from livecast.rtmp import amf0
from livecast.rtmp.errors import ProtocolError

log = logging.getLogger("livecast.http")

ROUTE = "/{app}/{name}.flv"
#: How long a viewer of a stream that is live but has sent no media yet waits for its
#: first headers (the FLV header's audio/video flags depend on them).
START_WAIT_S = 5.0
WS_CLOSE_TIMEOUT_S = 5.0
WS_MAX_CLIENT_MESSAGE = 64 * 1024  # clients only send pings and close frames

_WS_BINARY = 0x82  # FIN + opcode 2; server frames are never masked
_WS_LEN16 = struct.Struct(">BBH")
_WS_LEN64 = struct.Struct(">BBQ")

# -- wire forms (pure) ---------------------------------------------------------------------


def http_chunk(data: bytes) -> bytes:
    """One HTTP/1.1 chunk (RFC 9112 §7.1) holding ``data``."""
    return b"".join((b"%x\r\n" % len(data), data, b"\r\n"))


def ws_binary_frame(data: bytes) -> bytes:
    """One unmasked, final, binary WebSocket frame (RFC 6455 §5.2) holding ``data``."""
    n = len(data)
    if n < 126:
        head = bytes((_WS_BINARY, n))
    elif n < 0x10000:
        head = _WS_LEN16.pack(_WS_BINARY, 126, n)
    else:
        head = _WS_LEN64.pack(_WS_BINARY, 127, n)
    return head + data


def flv_tag(frame: Frame) -> bytes:
    """The frame's FLV tag; empty for a payload FLV cannot carry (DataSize is 24 bits)."""
    if len(frame.payload) > flv.MAX_DATA_SIZE:
        return b""
    return flv.encode_tag(frame.type_id, frame.timestamp, frame.payload)


def flv_chunked(frame: Frame) -> bytes:
    tag = flv_tag(frame)
    return http_chunk(tag) if tag else b""  # an empty chunk would end the body


def ws_flv(frame: Frame) -> bytes:
    tag = flv_tag(frame)
    return ws_binary_frame(tag) if tag else b""


# The shared wire forms, by transport framing; the key names the bytes exactly.
RAW: tuple[Hashable, Callable[[Frame], bytes], Callable[[bytes], bytes]] = (
    ("flv",),
    flv_tag,
    bytes,
)
CHUNKED: tuple[Hashable, Callable[[Frame], bytes], Callable[[bytes], bytes]] = (
    ("flv-chunked",),
    flv_chunked,
    http_chunk,
)
WEBSOCKET: tuple[Hashable, Callable[[Frame], bytes], Callable[[bytes], bytes]] = (
    ("ws-flv",),
    ws_flv,
    ws_binary_frame,
)


def metadata_flags(stream: Stream) -> tuple[bool, bool]:
    """(audio, video) as announced by onMetaData's audiocodecid / videocodecid."""
    meta = stream.metadata
    if meta is None:
        return False, False
    try:
        values = amf0.decode(meta.payload)
    except ProtocolError:
        return False, False
    props = next((v for v in values if isinstance(v, dict)), None)
    if props is None:
        return False, False
    return "audiocodecid" in props, "videocodecid" in props


def stream_flags(stream: Stream) -> tuple[bool, bool]:
    """The FLV header's (audio, video) flags. Players wait for every track the header
    announces, so an audio-only stream must not claim video; when nothing is known,
    claim both rather than hide a track."""
    meta_audio, meta_video = metadata_flags(stream)
    audio = stream.has_audio or meta_audio
    video = stream.has_video or meta_video
    if not (audio or video):
        return True, True
    return audio, video


def stream_ready(stream: Stream) -> bool:
    """Live with its codec headers (or a GOP) in: a viewer can start now."""
    return stream.live and bool(stream.video_header or stream.audio_header or stream.gop)


# -- viewers -------------------------------------------------------------------------------


class FlvViewer(Subscriber):
    """One HTTP-FLV or WebSocket-FLV viewer; ``done`` resolves with why it ends."""

    def __init__(
        self,
        sink: Sink,
        key: Hashable,
        encode: Callable[[Frame], bytes],
        *,
        queue_bytes: int,
        peer: str,
        path: str,
        fd: int = -1,
    ) -> None:
        super().__init__(sink, key, encode, queue_bytes=queue_bytes, fd=fd)
        self.peer = peer
        self.path = path
        self.stream: Stream | None = None
        self.done: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self.started = time.monotonic()

    def end(self, reason: str) -> None:
        """Stop taking frames now (from inside a hub callback too) and wake the handler."""
        if self.stream is not None:
            # Not hub.unsubscribe: that may forget the stream while the hub is in the
            # middle of replacing its publisher; the handler unsubscribes afterwards.
            self.stream.remove_subscriber(self)
        if not self.done.done():
            self.done.set_result(reason)

    def on_unpublish(self, stream_name: str) -> None:
        self.end("unpublished")

    def on_close(self) -> None:
        self.end("shutdown")


class _Wake:
    """A FrameListener that wakes a waiting handler at the stream's next frame."""

    def __init__(self, future: asyncio.Future[None]) -> None:
        self.future = future

    def on_frame(self, frame: Frame) -> None:
        if not self.future.done() and frame.type_id in (AUDIO, VIDEO):
            self.future.set_result(None)

    def on_unpublish(self) -> None:
        if not self.future.done():
            self.future.set_result(None)


def _peer(request: web.Request) -> str:
    peer = request.transport.get_extra_info("peername") if request.transport else None
    return f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else str(request.remote)


class FlvService:
    """The routes and the live viewers of HTTP-FLV and WebSocket-FLV."""

    def __init__(self, hub: Hub, config: Config) -> None:
        self.hub = hub
        self.config = config
        self.cors_origin = config.http.cors_origin
        self.wait_s = config.http.flv_wait_s
        self.queue_bytes = config.rtmp.player_queue_bytes
        self.viewers: set[FlvViewer] = set()
        self.closing = False
        self._waiters: dict[tuple[str, str], set[asyncio.Future[None]]] = {}
        hub.on_stream_start.append(self._stream_started)

    # -- HTTP plumbing -------------------------------------------------------------------

    def _cors(self) -> dict[str, str]:
        """``cors_origin = ""`` turns CORS off: no header, browsers on other sites refuse."""
        return {"Access-Control-Allow-Origin": self.cors_origin} if self.cors_origin else {}

    def _error(self, status: int, text: str) -> web.Response:
        headers = {**self._cors(), "Cache-Control": "no-cache"}
        return web.Response(status=status, text=text + "\n", headers=headers)

    def _names(self, request: web.Request) -> tuple[str, str] | web.Response:
        app = request.match_info["app"]
        name = request.match_info["name"]
        for what, value in (("app", app), ("stream", name)):
            reason = bad_name(value)
            if reason is not None:
                return self._error(400, f"bad {what} name: {reason.removeprefix('stream name ')}")
        apps = self.config.rtmp.apps
        if apps and app not in apps:
            return self._error(404, f"unknown application {app!r}")
        return app, name

    async def preflight(self, request: web.Request) -> web.Response:
        """CORS preflight: GET (and HEAD) from any page of the configured origin."""
        headers = {
            **self._cors(),
            "Access-Control-Allow-Methods": "GET, HEAD, OPTIONS",
            "Access-Control-Max-Age": "86400",
        }
        asked = request.headers.get("Access-Control-Request-Headers")
        if asked:
            headers["Access-Control-Allow-Headers"] = asked
        return web.Response(status=204, headers=headers)

    async def play(self, request: web.Request) -> web.StreamResponse:
        names = self._names(request)
        if isinstance(names, web.Response):
            return names
        app, name = names
        websocket = request.headers.get("Upgrade", "").strip().lower() == "websocket"
        if request.method == "HEAD":
            stream = self.hub.get(app, name)
            if stream is None or not stream.live:
                return self._error(404, f"{app}/{name} is not live")
            return web.Response(headers=self._headers())
        stream = await self._await_stream(app, name)
        if stream is None:
            return self._error(404, f"{app}/{name} is not live")
        if websocket:
            return await self._serve_ws(request, stream)
        return await self._serve_http(request, stream)

    def _headers(self) -> dict[str, str]:
        return {**self._cors(), "Content-Type": "video/x-flv", "Cache-Control": "no-cache"}

    # -- waiting for the stream ------------------------------------------------------------

    def _stream_started(self, stream: Stream) -> None:
        for future in self._waiters.pop((stream.app, stream.name), ()):
            if not future.done():
                future.set_result(None)

    async def _await_stream(self, app: str, name: str) -> Stream | None:
        """The stream once it is live with its headers in; None when it is not live
        within ``flv_wait_s``. A stream live without media yet gets ``START_WAIT_S``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.wait_s
        start_deadline: float | None = None
        while not self.closing:
            stream = self.hub.get(app, name)
            now = loop.time()
            future: asyncio.Future[None] = loop.create_future()
            if stream is not None and stream.live:
                if stream_ready(stream):
                    return stream
                if start_deadline is None:
                    start_deadline = max(deadline, now + START_WAIT_S)
                if now >= start_deadline:
                    return stream  # silent publisher: start anyway, headers will follow
                wake = _Wake(future)
                stream.listeners.append(wake)
                try:
                    await asyncio.wait((future,), timeout=start_deadline - now)
                finally:
                    if wake in stream.listeners:
                        stream.listeners.remove(wake)
            else:
                if now >= deadline:
                    return None
                waiters = self._waiters.setdefault((app, name), set())
                waiters.add(future)
                try:
                    await asyncio.wait((future,), timeout=deadline - now)
                finally:
                    waiters.discard(future)
                    if not waiters and self._waiters.get((app, name)) is waiters:
                        del self._waiters[(app, name)]
        return None

    # -- viewers ----------------------------------------------------------------------------

    def _join(
        self,
        request: web.Request,
        stream: Stream,
        form: tuple[Hashable, Callable[[Frame], bytes], Callable[[bytes], bytes]],
    ) -> FlvViewer:
        """Write the FLV file header, then subscribe: the hub writes the state burst
        (metadata, sequence headers, GOP) and then live frames, all in ``form``."""
        key, encode, frame_bytes = form
        transport = cast(Sink, request.transport)  # uvloop's is no asyncio.Transport
        viewer = FlvViewer(
            transport,
            key,
            encode,
            queue_bytes=self.queue_bytes,
            peer=_peer(request),
            path=stream.path,
            fd=own_socket_fd(transport),
        )
        head = frame_bytes(flv.file_header(*stream_flags(stream)))
        transport.write(head)
        viewer.bytes_out += len(head)
        self.hub.subscribe(stream.app, stream.name, viewer)
        viewer.stream = stream
        self.viewers.add(viewer)
        log.info(
            "flv start %s %s %s",
            viewer.peer,
            stream.path,
            "ws" if key == WEBSOCKET[0] else "http",
        )
        if not stream.live:
            viewer.end("unpublished")  # left while the response was being prepared
        return viewer

    def _leave(self, viewer: FlvViewer, reason: str) -> None:
        self.viewers.discard(viewer)
        if viewer.stream is not None:
            self.hub.unsubscribe(viewer.stream, viewer)
        close_fd(viewer.fd)  # out of its group now: no flush writes to it any more
        viewer.fd = -1
        log.info(
            "flv stop %s %s bytes=%d drops=%d duration=%.1fs (%s)",
            viewer.peer,
            viewer.path,
            viewer.bytes_out,
            viewer.drops,
            time.monotonic() - viewer.started,
            reason,
        )

    async def _serve_http(self, request: web.Request, stream: Stream) -> web.StreamResponse:
        resp = web.StreamResponse(headers=self._headers())
        if request.version >= (1, 1):
            resp.enable_chunked_encoding()
        else:
            resp.force_close()  # HTTP/1.0: the body ends when the connection does
        await resp.prepare(request)  # StreamResponse sends its headers here, at once
        if request.transport is None or request.transport.is_closing():
            return resp
        # What aiohttp announced decides the framing of every byte written raw below.
        form = CHUNKED if resp.headers.get("Transfer-Encoding") == "chunked" else RAW
        viewer = self._join(request, stream, form)
        reason = "client gone"
        try:
            reason = await viewer.done
        finally:
            viewer.end(reason)
            self._leave(viewer, reason)
        await resp.write_eof()  # the last chunk, through aiohttp's own writer
        return resp

    async def _serve_ws(self, request: web.Request, stream: Stream) -> web.StreamResponse:
        ws = web.WebSocketResponse(
            compress=False,
            autoping=True,
            timeout=WS_CLOSE_TIMEOUT_S,
            max_msg_size=WS_MAX_CLIENT_MESSAGE,
        )
        await ws.prepare(request)
        if request.transport is None or request.transport.is_closing():
            return ws
        viewer = self._join(request, stream, WEBSOCKET)
        reader = asyncio.ensure_future(_read_until_close(ws))
        reason = "client gone"
        try:
            await asyncio.wait((reader, viewer.done), return_when=asyncio.FIRST_COMPLETED)
            reason = viewer.done.result() if viewer.done.done() else "client closed"
            viewer.end(reason)  # no media frame may follow the close frame
            if not reader.done():
                # Stop our reader first: ws.close() then waits for the client's close
                # frame itself. Closing the socket before that reply arrives would make
                # the kernel reset the connection, and the client lose our close frame.
                reader.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await reader
                code = WSCloseCode.GOING_AWAY if reason == "shutdown" else WSCloseCode.OK
                await ws.close(code=code, message=reason.encode())
        finally:
            reader.cancel()
            viewer.end(reason)
            self._leave(viewer, reason)
        return ws

    async def on_shutdown(self, app: web.Application) -> None:
        """Server shutdown: viewers end cleanly, waiting requests get their 404."""
        self.closing = True
        for viewer in list(self.viewers):
            viewer.end("shutdown")
        for waiters in list(self._waiters.values()):
            for future in waiters:
                if not future.done():
                    future.set_result(None)
        # Let the handlers finish their last chunk / close handshake before aiohttp
        # starts closing connections.
        loop = asyncio.get_running_loop()
        deadline = loop.time() + WS_CLOSE_TIMEOUT_S
        while self.viewers and loop.time() < deadline:
            await asyncio.sleep(0.01)


async def _read_until_close(ws: web.WebSocketResponse) -> None:
    """Let aiohttp answer pings and the close handshake; client data is ignored."""
    async for _msg in ws:
        pass


def register(app: web.Application, hub: Hub, config: Config) -> FlvService:
    """Mount ``GET|HEAD|OPTIONS /{app}/{stream}.flv`` (HTTP-FLV, or WS-FLV on Upgrade)."""
    service = FlvService(hub, config)
    app.router.add_get(ROUTE, service.play)
    app.router.add_route("OPTIONS", ROUTE, service.preflight)
    app.on_shutdown.append(service.on_shutdown)
    return service
