"""All streams of a server, by (app, name)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from livecast.hub.stream import Stream
from livecast.hub.subscriber import Flusher, Subscriber


class StreamBusy(Exception):
    """A publisher asked for a name that is already being published."""


class Hub:
    """The live core: streams, their publishers and subscribers.

    Outputs (RTMP players, HTTP-FLV, HLS, relays, the mixer) are subscribers; inputs
    (RTMP publishers, relay pulls, the mixer's output) are publishers. Nothing here
    knows about sockets or protocols.
    """

    def __init__(
        self,
        flusher: Flusher,
        *,
        gop_cache: bool = True,
        gop_cache_max_bytes: int = 32 * 1024 * 1024,
        replace_publisher: bool = False,
    ) -> None:
        self.flusher = flusher
        self.gop_cache = gop_cache
        self.gop_cache_max_bytes = gop_cache_max_bytes
        self.replace_publisher = replace_publisher
        self.streams: dict[tuple[str, str], Stream] = {}
        #: Called with each stream when a publisher starts on it, after the stream has
        #: been reset: outputs that follow every live stream (HLS, recording, relay push)
        #: attach their FrameListener to ``stream.listeners`` here.
        self.on_stream_start: list[Callable[[Stream], None]] = []

    def get(self, app: str, name: str) -> Stream | None:
        return self.streams.get((app, name))

    def stream(self, app: str, name: str) -> Stream:
        stream = self.streams.get((app, name))
        if stream is None:
            stream = Stream(
                app,
                name,
                self.flusher,
                gop_cache=self.gop_cache,
                gop_cache_max_bytes=self.gop_cache_max_bytes,
            )
            self.streams[(app, name)] = stream
        return stream

    def __iter__(self) -> Iterator[Stream]:
        return iter(list(self.streams.values()))

    def start_publishing(self, app: str, name: str, publisher: object) -> tuple[Stream, object]:
        """Claim the name. Returns the stream and the publisher it replaced (or None);
        raises StreamBusy when the name is live and replacing is off."""
        stream = self.stream(app, name)
        previous = stream.publisher
        if previous is not None:
            if not self.replace_publisher:
                raise StreamBusy(f"{app}/{name} is already being published")
            stream.stop_publishing()
        stream.start_publishing(publisher)
        for callback in self.on_stream_start:
            callback(stream)
        return stream, previous

    def stop_publishing(self, stream: Stream, publisher: object) -> None:
        if stream.publisher is publisher:
            stream.stop_publishing()
        self._forget_if_idle(stream)

    def subscribe(self, app: str, name: str, sub: Subscriber) -> Stream:
        stream = self.stream(app, name)
        stream.add_subscriber(sub)
        return stream

    def unsubscribe(self, stream: Stream, sub: Subscriber) -> None:
        stream.remove_subscriber(sub)
        self._forget_if_idle(stream)

    def _forget_if_idle(self, stream: Stream) -> None:
        if stream.idle and self.streams.get((stream.app, stream.name)) is stream:
            del self.streams[(stream.app, stream.name)]

    def flush(self) -> None:
        self.flusher.flush()
