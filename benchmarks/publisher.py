"""Publish the test FLV over RTMP in real time, looping, with embedded send times.

    python -m benchmarks.publisher --port 1935 --stream bench --file F.flv

Every ``--probe-ms`` it also sends an AMF0 data message ``onTextData {t: wallclock_ms}``
so that a player can measure publisher → player delay of the same message. It prints
``publishing epoch_ms=E`` once the server accepted the publish (E: the wall-clock time
of stream timestamp 0, for delay measured from media timestamps), and on SIGTERM one
JSON line with how late it ever sent (to show it kept real time).
"""

from __future__ import annotations

import asyncio
import os
import time
from typing import TextIO

from benchmarks import aio
from livecast.media.flv import FlvTag, read_file_tags
from livecast.rtmp import amf0
from livecast.rtmp import events as ev
from livecast.rtmp.errors import ProtocolError
from livecast.rtmp.session import ClientSession

CHUNK_SIZE = 4096
AUDIO, VIDEO, DATA = 8, 9, 18


class PublishError(Exception):
    """The server refused or broke off the publish."""


def is_sequence_header(tag: FlvTag) -> bool:
    p = tag.payload
    if tag.tag_type == VIDEO:
        return len(p) > 1 and (p[0] & 0x0F) in (7, 12) and p[1] == 0
    if tag.tag_type == AUDIO:
        return len(p) > 1 and (p[0] >> 4) == 10 and p[1] == 0
    return False


class Publisher:
    """livecast's own ClientSession over an asyncio stream, paced by the tags' clock."""

    def __init__(
        self,
        host: str,
        port: int,
        app: str,
        stream: str,
        tags: list[FlvTag],
        send_log: TextIO | None = None,
    ) -> None:
        self.host, self.port, self.app, self.stream = host, port, app, stream
        self.send_log = send_log
        self._unlogged: list[int] = []  # video timestamps queued since the last write
        self.tags = tags
        self.lateness_ms: list[float] = []
        self.sent_bytes = 0
        self.session = ClientSession(
            random_bytes=os.urandom(4096), digest=False, chunk_size=CHUNK_SIZE
        )
        self._events: asyncio.Queue[ev.Event | None] = asyncio.Queue()
        self._writer: asyncio.StreamWriter | None = None

    def _flush(self) -> None:
        out = self.session.data_to_send()
        if out and self._writer is not None:
            self.sent_bytes += len(out)
            self._writer.write(out)
        if self._unlogged and self.send_log is not None:
            # when each video message really left: publisher lateness is not the server's
            t = f" {time.time() * 1000.0:.3f}\n"
            self.send_log.write("".join(f"{ts}{t}" for ts in self._unlogged))
            self.send_log.flush()
        self._unlogged.clear()

    async def _read_loop(self, reader: asyncio.StreamReader) -> None:
        try:
            while data := await reader.read(65536):
                for event in self.session.receive_data(data):
                    self._events.put_nowait(event)
                self._flush()  # handshake answers, acknowledgements
        finally:
            self._events.put_nowait(None)

    async def _expect(self, kind: type[ev.Event]) -> ev.Event:
        while True:
            event = await asyncio.wait_for(self._events.get(), 10)
            if event is None:
                raise PublishError("the server closed the connection")
            if isinstance(event, ev.ConnectResult) and not event.ok:
                raise PublishError(f"connect refused: {event.info}")
            if isinstance(event, ev.CommandResult) and not event.ok:
                raise PublishError(f"call {event.transaction_id} failed: {event.values}")
            if isinstance(event, ev.Status) and event.level == "error":
                raise PublishError(f"{event.code}: {event.description}")
            if isinstance(event, kind):
                return event

    async def run(self, probe_ms: int) -> None:
        reader, writer = await asyncio.open_connection(self.host, self.port)
        self._writer = writer
        s = self.session
        s.initiate()
        s.connect(app=self.app, tc_url=f"rtmp://{self.host}:{self.port}/{self.app}")
        self._flush()
        reading = asyncio.create_task(self._read_loop(reader))
        try:
            await self._expect(ev.ConnectResult)
            s.release_stream(self.stream)
            s.fc_publish(self.stream)
            s.create_stream()
            self._flush()
            created = await self._expect(ev.StreamCreated)
            assert isinstance(created, ev.StreamCreated)
            s.publish(created.stream_id, self.stream)
            self._flush()
            while True:
                status = await self._expect(ev.Status)
                assert isinstance(status, ev.Status)
                if status.code == "NetStream.Publish.Start":
                    break
            await self._send_loop(writer, created.stream_id, probe_ms)
        finally:
            reading.cancel()
            writer.close()

    async def _send_loop(self, writer: asyncio.StreamWriter, sid: int, probe_ms: int) -> None:
        loop = asyncio.get_running_loop()
        s = self.session
        tags = [t for t in self.tags if t.tag_type in (AUDIO, VIDEO)]
        meta = next((t for t in self.tags if t.tag_type == DATA), None)
        first = tags[0].timestamp
        period = max(t.timestamp for t in tags) - first + 34  # one frame after the last
        start_mono = loop.time()
        epoch_ms = time.time() * 1000.0
        print(f"publishing epoch_ms={epoch_ms:.3f}", flush=True)
        if meta is not None:
            s.send_media(sid, DATA, 0, amf0.encode("@setDataFrame") + meta.payload)
        next_probe = 0.0
        lap = 0
        while True:
            for i, tag in enumerate(tags):
                if lap and is_sequence_header(tag):
                    continue
                ts = lap * period + tag.timestamp - first
                due = ts / 1000.0
                while True:
                    now = loop.time() - start_mono
                    if next_probe <= min(due, now):
                        body = amf0.encode("onTextData", {"t": time.time() * 1000.0})
                        s.send_media(sid, DATA, int(next_probe * 1000), body)
                        next_probe += probe_ms / 1000.0
                        continue
                    if due <= now:
                        break
                    self._flush()
                    await asyncio.sleep(min(due, next_probe) - now)
                self.lateness_ms.append((now - due) * 1000.0)
                s.send_media(sid, tag.tag_type, ts, tag.payload)
                if tag.tag_type == VIDEO:
                    self._unlogged.append(ts)
                if i % 64 == 0:
                    self._flush()
                    await writer.drain()
            lap += 1

    def summary(self) -> dict[str, object]:
        late = sorted(self.lateness_ms) or [0.0]
        return {
            "messages": len(self.lateness_ms),
            "bytes": self.sent_bytes,
            "late_p50_ms": round(late[len(late) // 2], 2),
            "late_p99_ms": round(late[int(len(late) * 0.99)], 2),
            "late_max_ms": round(late[-1], 2),
        }


def main(argv: list[str] | None = None) -> int:
    ap = aio.publisher_arguments(__doc__)
    ap.add_argument("--probe-ms", type=int, default=100)
    args = ap.parse_args(argv)
    tags = read_file_tags(args.file.read_bytes())
    send_log = args.send_log.open("w") if args.send_log else None
    pub = Publisher(args.host, args.port, args.app, args.stream, tags, send_log)

    return aio.run_publisher(
        lambda: pub.run(args.probe_ms),
        pub.summary,
        (OSError, PublishError, ProtocolError, TimeoutError),
    )


if __name__ == "__main__":
    raise SystemExit(main())
