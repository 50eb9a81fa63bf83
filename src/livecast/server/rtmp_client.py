"""An asyncio RTMP client around ClientSession: for relays, tests and benchmarks."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from typing import TypeVar, cast
from urllib.parse import urlsplit

from livecast.rtmp import events as ev
from livecast.rtmp.errors import ProtocolError
from livecast.rtmp.session import ClientSession

E = TypeVar("E", bound=ev.Event)


class RtmpError(Exception):
    """The server refused or failed a call (the status or _error is in the message)."""


class RtmpClient(asyncio.Protocol):
    """One client connection. Events are queued for ``next_event``; media can instead go
    to ``on_media`` (set it before playing) so that a fast stream never piles up."""

    def __init__(self, *, digest: bool = False, chunk_size: int = 4096) -> None:
        self.session = ClientSession(
            random_bytes=os.urandom(4096), digest=digest, chunk_size=chunk_size
        )
        self.transport: asyncio.Transport | None = None
        self.events: asyncio.Queue[ev.Event | None] = asyncio.Queue()
        self.on_media: Callable[[ev.Media], None] | None = None
        self.closed = asyncio.Event()
        self.error: Exception | None = None

    @classmethod
    async def open(cls, url: str, **kwargs: object) -> tuple[RtmpClient, str]:
        """Connect to ``rtmp://host:port/app[/stream]`` and run ``connect``; returns the
        client and the rest of the path after the app (the stream name, may be empty)."""
        parts = urlsplit(url)
        if parts.scheme != "rtmp" or not parts.hostname:
            raise ValueError(f"not an rtmp:// URL: {url}")
        app, _, stream = parts.path.lstrip("/").partition("/")
        if parts.query:
            stream += "?" + parts.query
        loop = asyncio.get_running_loop()
        _, client = await loop.create_connection(
            lambda: cls(**kwargs),  # type: ignore[arg-type]
            parts.hostname,
            parts.port or 1935,
        )
        tc_url = f"rtmp://{parts.hostname}:{parts.port or 1935}/{app}"
        client.session.connect(app, tc_url)
        client._flush()
        result = await client.wait_for(ev.ConnectResult)
        if not result.ok:
            client.close()
            raise RtmpError(
                f"connect refused: {result.info.get('code')}: {result.info.get('description')}"
            )
        return client, stream

    # -- asyncio callbacks ----------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is no subclass
        self.session.initiate()
        self._flush()

    def data_received(self, data: bytes) -> None:
        try:
            events = self.session.receive_data(data)
        except ProtocolError as exc:
            self.error = exc
            if self.transport is not None:
                self.transport.close()
            return
        on_media = self.on_media
        for event in events:
            if on_media is not None and type(event) is ev.Media:
                on_media(event)
            else:
                self.events.put_nowait(event)
        self._flush()

    def connection_lost(self, exc: Exception | None) -> None:
        if exc is not None and self.error is None:
            self.error = exc
        self.closed.set()
        self.events.put_nowait(None)

    # -- calls -----------------------------------------------------------------------------

    def _flush(self) -> None:
        data = self.session.data_to_send()
        if data and self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)

    async def next_event(self, timeout: float = 10.0) -> ev.Event:
        event = await asyncio.wait_for(self.events.get(), timeout)
        if event is None:
            self.events.put_nowait(None)  # keep reporting the close
            raise ConnectionError(f"connection closed ({self.error})")
        return event

    async def wait_for(self, kind: type[E], timeout: float = 10.0) -> E:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            event = await self.next_event(max(0.0, deadline - loop.time()))
            if isinstance(event, kind):
                return event

    async def wait_status(self, stream_id: int, timeout: float = 10.0) -> ev.Status:
        while True:
            status = await self.wait_for(ev.Status, timeout)
            if status.stream_id == stream_id:
                return status

    async def create_stream(self) -> int:
        tid = self.session.create_stream()
        self._flush()
        while True:
            event = await self.next_event()
            if isinstance(event, ev.StreamCreated) and event.transaction_id == tid:
                return event.stream_id
            if isinstance(event, ev.CommandResult) and event.transaction_id == tid:
                raise RtmpError(f"createStream failed: {event.values}")

    async def publish(self, stream_id: int, name: str) -> None:
        self.session.release_stream(name)
        self.session.fc_publish(name)
        self.session.publish(stream_id, name)
        self._flush()
        status = await self.wait_status(stream_id)
        if status.code != "NetStream.Publish.Start":
            raise RtmpError(f"publish refused: {status.code}: {status.description}")

    async def play(self, stream_id: int, name: str) -> None:
        self.session.play(stream_id, name)
        self._flush()
        while True:
            status = await self.wait_status(stream_id)
            if status.level == "error":
                raise RtmpError(f"play refused: {status.code}: {status.description}")
            if status.code == "NetStream.Play.Start":
                return

    def send_media(self, stream_id: int, type_id: int, timestamp: int, payload: bytes) -> None:
        self.session.send_media(stream_id, type_id, timestamp, payload)
        self._flush()

    def call(self, fn: Callable[[ClientSession], object]) -> None:
        """Run any ClientSession method and send what it queued."""
        fn(self.session)
        self._flush()

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()
