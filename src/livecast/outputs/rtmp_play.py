"""RTMP players: hub subscribers that write chunked RTMP messages."""

from __future__ import annotations

from collections.abc import Callable

from livecast.hub.frame import Frame
from livecast.hub.subscriber import Sink, Subscriber
from livecast.rtmp.session import ServerSession, media_wire


def rtmp_encoder(chunk_size: int, stream_id: int) -> Callable[[Frame], bytes]:
    def encode(frame: Frame) -> bytes:
        return media_wire(
            frame.type_id, stream_id, frame.timestamp & 0xFFFFFFFF, frame.payload, chunk_size
        )

    return encode


class RtmpPlayer(Subscriber):
    """One play stream id of one RTMP connection (a connection may hold several)."""

    def __init__(
        self,
        sink: Sink,
        session: ServerSession,
        stream_id: int,
        name: str,
        *,
        queue_bytes: int,
        flush_session: Callable[[], None],
        fd: int = -1,
        watched: bool = False,
    ) -> None:
        chunk_size = session.out_chunk_size
        super().__init__(
            sink,
            ("rtmp", chunk_size, stream_id),
            rtmp_encoder(chunk_size, stream_id),
            queue_bytes=queue_bytes,
            fd=fd,
            watched=watched,
        )
        self.session = session
        self.stream_id = stream_id
        self.name = name
        self._flush_session = flush_session

    def on_publish(self, stream_name: str) -> None:
        self.session.stream_begin(self.stream_id)
        self.session.send_status(
            self.stream_id,
            "status",
            "NetStream.Play.PublishNotify",
            f"{stream_name} is now published.",
        )
        self._flush_session()

    def on_unpublish(self, stream_name: str) -> None:
        self.session.send_status(
            self.stream_id,
            "status",
            "NetStream.Play.UnpublishNotify",
            f"{stream_name} is now unpublished.",
        )
        self.session.stream_eof(self.stream_id)
        self._flush_session()

    def on_close(self) -> None:
        self.session.send_status(
            self.stream_id, "status", "NetStream.Play.Stop", f"Stopped playing {self.name}."
        )
        self.session.stream_eof(self.stream_id)
        self._flush_session()
