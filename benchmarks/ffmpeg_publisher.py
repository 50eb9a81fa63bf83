"""Publish the test FLV with ffmpeg itself (``-re``), through a recording proxy.

    python -m benchmarks.ffmpeg_publisher --port 1935 --stream bench --file F.flv

The paced publisher (``benchmarks.publisher``) writes every message at the instant of its
timestamp, one write per message. Real encoders do not: ffmpeg ``-re`` releases packets
from a 10 ms polling loop and its muxer interleaves audio and video by timestamp, so
messages often leave in the same write (about 54 writes a second for this stream's 73
messages). This publisher runs that real ffmpeg against a small TCP proxy in this
process, which forwards every read at once (keeping ffmpeg's write pattern) and follows
the chunk stream after the handshake to log, per video message, the wall-clock time at
which the proxy wrote it to the server: the same ``--send-log`` and ``publishing
epoch_ms=`` line as the paced publisher, so the load generator measures delay the same
way. On SIGTERM it prints one JSON line: messages, writes, how late ffmpeg sent.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import time
from typing import TextIO

from benchmarks import aio
from livecast.rtmp.chunk import ChunkReader
from livecast.rtmp.errors import ProtocolError

HANDSHAKE_C = 1 + 1536 + 1536  # C0, C1 and C2: the client's bytes before its chunk stream
AUDIO, VIDEO = 8, 9


class Recorder:
    """Follows the client-to-server byte stream and logs when each message left."""

    def __init__(self, send_log: TextIO | None) -> None:
        self.send_log = send_log
        self.reader = ChunkReader()
        self.skip = HANDSHAKE_C
        self.epoch_ms: float | None = None
        self.media_messages = 0
        self.media_writes = 0  # forwarded writes that completed at least one media message
        self.bytes = 0
        self.lateness_ms: list[float] = []
        self.first_write_s: float | None = None

    def forwarded(self, data: bytes, wall_ms: float) -> None:
        self.bytes += len(data)
        if self.skip:
            cut = min(self.skip, len(data))
            self.skip -= cut
            data = data[cut:]
        if not data:
            return
        media = [m for m in self.reader.feed(data) if m.type_id in (AUDIO, VIDEO)]
        if not media:
            return
        if self.epoch_ms is None:
            self.epoch_ms = wall_ms - media[0].timestamp
            print(f"publishing epoch_ms={self.epoch_ms:.3f}", flush=True)
        self.media_messages += len(media)
        self.media_writes += 1
        if self.first_write_s is None:
            self.first_write_s = wall_ms / 1000.0
        videos = [m.timestamp for m in media if m.type_id == VIDEO]
        for m in media:
            self.lateness_ms.append(wall_ms - (self.epoch_ms + m.timestamp))
        if videos and self.send_log is not None:
            self.send_log.write("".join(f"{ts} {wall_ms:.3f}\n" for ts in videos))
            self.send_log.flush()

    def summary(self) -> dict[str, object]:
        late = sorted(self.lateness_ms) or [0.0]
        span = time.time() - self.first_write_s if self.first_write_s else 0.0
        return {
            "publisher": "ffmpeg -re",
            "messages": self.media_messages,
            "writes": self.media_writes,
            "messages_per_write": round(self.media_messages / max(1, self.media_writes), 3),
            "writes_per_s": round(self.media_writes / span, 1) if span > 0 else None,
            "bytes": self.bytes,
            "late_p50_ms": round(late[len(late) // 2], 2),
            "late_p99_ms": round(late[int(len(late) * 0.99)], 2),
            "late_max_ms": round(late[-1], 2),
        }


async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter, rec: Recorder | None) -> None:
    try:
        while data := await src.read(262144):
            dst.write(data)
            if rec is not None:
                rec.forwarded(data, time.time() * 1000.0)
    finally:
        with contextlib.suppress(OSError, RuntimeError):
            dst.close()


async def publish(args: argparse.Namespace, rec: Recorder) -> None:
    done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    # read when publish() ends first (SIGTERM), so asyncio does not call it unretrieved
    done.add_done_callback(lambda f: f.cancelled() or f.exception())

    async def on_client(cr: asyncio.StreamReader, cw: asyncio.StreamWriter) -> None:
        sr, sw = await asyncio.open_connection(args.host, args.port)
        up = asyncio.create_task(pipe(cr, sw, rec))
        down = asyncio.create_task(pipe(sr, cw, None))
        await asyncio.wait({up, down}, return_when=asyncio.FIRST_COMPLETED)
        up.cancel()
        down.cancel()
        if not done.done():
            done.set_exception(RuntimeError("the connection through the proxy ended"))

    proxy = await asyncio.start_server(on_client, "127.0.0.1", 0)
    port = proxy.sockets[0].getsockname()[1]
    ffmpeg = await asyncio.create_subprocess_exec(
        "ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error",
        "-re", "-stream_loop", "-1", "-i", str(args.file), "-c", "copy",
        "-f", "flv", f"rtmp://127.0.0.1:{port}/{args.app}/{args.stream}",
    )  # fmt: skip
    try:
        waiter = asyncio.create_task(ffmpeg.wait())
        await asyncio.wait({waiter, done}, return_when=asyncio.FIRST_COMPLETED)
        if done.done():
            done.result()
        raise RuntimeError(f"ffmpeg exited with {ffmpeg.returncode}")
    finally:
        if ffmpeg.returncode is None:
            ffmpeg.terminate()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(ffmpeg.wait(), 5)
            if ffmpeg.returncode is None:
                ffmpeg.kill()
        proxy.close()


def main(argv: list[str] | None = None) -> int:
    ap = aio.publisher_arguments(__doc__)
    args = ap.parse_args(argv)
    send_log = args.send_log.open("w") if args.send_log else None
    rec = Recorder(send_log)

    return aio.run_publisher(
        lambda: publish(args, rec), rec.summary, (OSError, ProtocolError, RuntimeError)
    )


if __name__ == "__main__":
    raise SystemExit(main())
