"""HLS delivery: a segmenter on every live stream, its playlist and segments over HTTP.

``GET /{app}/{stream}/index.m3u8`` is the live media playlist, ``GET
/{app}/{stream}/{instance}-{seq}.ts`` its segments. A stream's HLS state (playlist,
segments, sequence numbers) outlives a publisher: a restart within ``delete_grace_s``
continues the same playlist after an EXT-X-DISCONTINUITY. Segment names carry an instance
id (the creation time in base 36) so that a name never stands for two different
segments and CDNs may cache them for good.

Names from the network reach neither the filesystem nor the stream table unchecked:
app and stream names go through ``livecast.names.bad_name``, segment names must match
``SEGMENT_NAME``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from aiohttp import web

from livecast.config import Config, HlsConfig
from livecast.hub.frame import Frame
from livecast.hub.registry import Hub
from livecast.hub.stream import Stream
from livecast.names import bad_name
from livecast.outputs.hls_playlist import Entry, Playlist
from livecast.outputs.hls_store import PLAYLIST, SEGMENT_NAME, DirStore, MemoryStore, Store

if TYPE_CHECKING:  # PyAV (~20 MB of libraries) loads with the first HLS stream, not at start
    from livecast.outputs.hls_segmenter import Segment, Segmenter

log = logging.getLogger("livecast.hls")

PLAYLIST_TYPE = "application/vnd.apple.mpegurl"
SEGMENT_TYPE = "video/mp2t"
PLAYLIST_CACHE = "no-cache"
SEGMENT_CACHE = "public, max-age=31536000, immutable"

_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"


def base36(n: int) -> str:
    out = []
    while True:
        n, r = divmod(n, 36)
        out.append(_DIGITS[r])
        if not n:
            return "".join(reversed(out))


class HlsStream:
    """One stream name's playlist and segments, across publisher sessions."""

    def __init__(self, app: str, name: str, config: HlsConfig, store: Store, instance: str) -> None:
        self.app = app
        self.name = name
        self.config = config
        self.store = store
        self.instance = instance
        self.playlist = Playlist(config.window, config.segment_s)
        self.live = False
        self.sessions = 0
        self.body = b""  # the rendered playlist
        self._retired: deque[tuple[float, str]] = deque()  # (delete at, name)
        self.drop_handle: asyncio.TimerHandle | None = None
        self._gap = False

    def uri(self, seq: int) -> str:
        return f"{self.instance}-{seq}.ts"

    def add(self, segment: Segment, now: float) -> None:
        seq = self.playlist.next_seq
        uri = self.uri(seq)
        try:
            self.store.put(uri, segment.data)
        except OSError as exc:
            log.error("hls %s/%s: cannot store segment %s: %s", self.app, self.name, uri, exc)
            self._gap = True  # players must not join the next segment to the last one
            return
        # the first segment of a playlist has nothing to be discontinuous with
        discontinuity = (segment.discontinuity or self._gap) and bool(self.playlist.entries)
        self._gap = False
        entry = Entry(seq, uri, segment.duration, discontinuity, segment.wall)
        removed = self.playlist.add(entry)
        if removed:
            # RFC 8216 6.2.2: keep a removed segment for at least the playlist's duration
            listed = sum(e.duration_ms for e in self.playlist.entries) / 1000.0
            for old in removed:
                keep = max(self.config.delete_grace_s, listed + old.duration_ms / 1000.0)
                self._retired.append((now + keep, old.uri))
        self.purge(now)
        self._publish_playlist()

    def end(self) -> None:
        self.live = False
        if self.config.endlist:
            self.playlist.end()
        self._publish_playlist()

    def resume(self) -> None:
        self.live = True
        self.sessions += 1
        self.playlist.resume()
        self._publish_playlist()

    def purge(self, now: float) -> None:
        retired = self._retired
        while retired and retired[0][0] <= now:
            self.store.delete(retired.popleft()[1])

    def clear(self) -> None:
        self._retired.clear()
        try:
            self.store.clear()
        except OSError as exc:
            log.error("hls %s/%s: cannot delete segments: %s", self.app, self.name, exc)

    def _publish_playlist(self) -> None:
        if not self.playlist.entries:
            return
        text = self.playlist.render()
        self.body = text.encode()
        try:
            self.store.put_playlist(text)
        except OSError as exc:
            log.error("hls %s/%s: cannot write the playlist: %s", self.app, self.name, exc)


class HlsListener:
    """The hub's FrameListener for one publisher session of one stream."""

    def __init__(self, hls: Hls, state: HlsStream, segmenter: Segmenter) -> None:
        self.hls = hls
        self.state = state
        self.segmenter = segmenter
        self.failed = False

    def on_frame(self, frame: Frame) -> None:
        if self.failed:
            return
        try:
            segments = self.segmenter.push(frame)
        except Exception:  # never break the publisher's path
            log.exception("hls %s/%s: segmenter failed", self.state.app, self.state.name)
            self.failed = True
            return
        if segments:
            now = self.hls.now()
            for segment in segments:
                self.state.add(segment, now)

    def on_unpublish(self) -> None:
        state = self.state
        if not self.failed:
            try:
                segments = self.segmenter.finish()
            except Exception:
                log.exception("hls %s/%s: segmenter failed", state.app, state.name)
                segments = []
            now = self.hls.now()
            for segment in segments:
                state.add(segment, now)
        state.end()
        self.hls.schedule_drop(state)


class Hls:
    """Every stream's HLS state and the HTTP handlers that serve it."""

    def __init__(
        self,
        config: HlsConfig,
        *,
        cors_origin: str = "*",
        clock: Callable[[], float] = time.time,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self.clock = clock
        self.now = now
        self.streams: dict[tuple[str, str], HlsStream] = {}
        self._last_instance = 0
        cors = {"Access-Control-Allow-Origin": cors_origin} if cors_origin else {}
        self._playlist_headers = {
            "Content-Type": PLAYLIST_TYPE,
            "Cache-Control": PLAYLIST_CACHE,
            **cors,
        }
        self._segment_headers = {
            "Content-Type": SEGMENT_TYPE,
            "Cache-Control": SEGMENT_CACHE,
            **cors,
        }
        self._error_headers = {"Cache-Control": "no-cache", **cors}

    # -- hub side -------------------------------------------------------------------------

    def on_stream_start(self, stream: Stream) -> None:
        app, name = stream.app, stream.name
        if self.config.apps and app not in self.config.apps:
            return
        reason = bad_name(app) or bad_name(name)
        if reason:
            log.warning("hls: no HLS for %r/%r: %s", app, name, reason)
            return
        state = self.streams.get((app, name))
        if state is None:
            try:
                state = self._new_state(app, name)
            except OSError as exc:
                log.error("hls %s/%s: cannot create the segment folder: %s", app, name, exc)
                return
            self.streams[(app, name)] = state
        if state.drop_handle is not None:
            state.drop_handle.cancel()
            state.drop_handle = None
        from livecast.outputs.hls_segmenter import Segmenter

        segmenter = Segmenter(
            round(self.config.segment_s * 1000),
            clock=self.clock,
            discontinuity=bool(state.playlist.entries),
            name=f"{app}/{name}",
        )
        state.resume()
        stream.listeners.append(HlsListener(self, state, segmenter))

    def _new_state(self, app: str, name: str) -> HlsStream:
        # creation time in ms, kept increasing so two states never share an instance id
        instance = max(int(self.clock() * 1000), self._last_instance + 1)
        self._last_instance = instance
        folder = self.config.dir
        store: Store = DirStore(Path(folder) / app / name) if folder else MemoryStore()
        return HlsStream(app, name, self.config, store, base36(instance))

    def schedule_drop(self, state: HlsStream) -> None:
        """An ended stream stays listed for ``delete_grace_s``, then goes with its files."""
        if state.drop_handle is not None:
            state.drop_handle.cancel()
        loop = asyncio.get_running_loop()
        state.drop_handle = loop.call_later(self.config.delete_grace_s, self.drop, state)

    def drop(self, state: HlsStream) -> None:
        if state.live:
            return
        state.drop_handle = None
        if self.streams.get((state.app, state.name)) is state:
            del self.streams[(state.app, state.name)]
        state.clear()

    def close(self) -> None:
        """Server shutdown: forget every stream and delete its files."""
        for state in list(self.streams.values()):
            if state.drop_handle is not None:
                state.drop_handle.cancel()
            state.live = False
            self.drop(state)

    # -- HTTP side ------------------------------------------------------------------------

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/{app}/{stream}/" + PLAYLIST, self.handle_playlist)
        app.router.add_get(r"/{app}/{stream}/{segment:[^/]+\.ts}", self.handle_segment)

    def _state(self, request: web.Request) -> HlsStream:
        app = request.match_info["app"]
        name = request.match_info["stream"]
        if bad_name(app) or bad_name(name):
            raise web.HTTPBadRequest(text="bad app or stream name", headers=self._error_headers)
        state = self.streams.get((app, name))
        if state is None or not state.body:
            raise web.HTTPNotFound(text="no such HLS stream", headers=self._error_headers)
        return state

    async def handle_playlist(self, request: web.Request) -> web.StreamResponse:
        state = self._state(request)
        return web.Response(body=state.body, headers=self._playlist_headers)

    async def handle_segment(self, request: web.Request) -> web.StreamResponse:
        segment = request.match_info["segment"]
        if not SEGMENT_NAME.match(segment):
            if bad_name(segment) or len(segment) > 64:
                raise web.HTTPBadRequest(text="bad segment name", headers=self._error_headers)
            raise web.HTTPNotFound(text="no such segment", headers=self._error_headers)
        state = self._state(request)
        data = state.store.get(segment)
        if data is None:
            raise web.HTTPNotFound(text="no such segment", headers=self._error_headers)
        if isinstance(data, Path):
            return web.FileResponse(data, headers=self._segment_headers)
        return web.Response(body=data, headers=self._segment_headers)


def register(app: web.Application, hub: Hub, config: Config) -> Hls | None:
    """Mount HLS on the HTTP application and follow every stream of the hub."""
    if not config.hls.enabled:
        return None
    hls = Hls(config.hls, cors_origin=config.http.cors_origin)
    hub.on_stream_start.append(hls.on_stream_start)
    hls.add_routes(app)

    async def cleanup(_app: web.Application) -> None:
        hls.close()

    app.on_cleanup.append(cleanup)
    return hls
