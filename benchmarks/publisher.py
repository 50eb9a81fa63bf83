"""Publish the test FLV over RTMP in real time, looping, with embedded send times.

    python -m benchmarks.publisher --port 1935 --stream bench --file F.flv

Every ``--probe-ms`` it also sends an AMF0 data message ``onTextData {t: wallclock_ms}``
so that a player can measure publisher → player delay of the same message. It prints
``publishing epoch_ms=E`` once the server accepted the publish (E: the wall-clock time
of stream timestamp 0, for delay measured from media timestamps), and on SIGTERM one
JSON line with how late it ever sent (to show it kept real time).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import sys
import time
from pathlib import Path

from benchmarks import aio
from benchmarks import rtmpmini as rm
from benchmarks.flvfile import Tag, read_tags

CHUNK_SIZE = 4096
CSID = {rm.MSG_AUDIO: 6, rm.MSG_VIDEO: 7, rm.MSG_DATA: 4}


def is_sequence_header(tag: Tag) -> bool:
    p = tag.payload
    if tag.type_id == rm.MSG_VIDEO:
        return len(p) > 1 and (p[0] & 0x0F) in (7, 12) and p[1] == 0
    if tag.type_id == rm.MSG_AUDIO:
        return len(p) > 1 and (p[0] >> 4) == 10 and p[1] == 0
    return False


class Publisher:
    def __init__(self, host: str, port: int, app: str, stream: str, tags: list[Tag]) -> None:
        self.host, self.port, self.app, self.stream = host, port, app, stream
        self.tags = tags
        self.lateness_ms: list[float] = []
        self.sent_bytes = 0
        self.stream_id = 0
        self._events: asyncio.Queue[tuple[int, list[object]]] = asyncio.Queue()

    def _on_message(self, type_id: int, stream_id: int, timestamp: int, payload: bytes) -> None:
        if type_id == rm.MSG_COMMAND:
            values = rm.amf0_decode_all(payload)
            self._events.put_nowait((stream_id, values))

    async def _expect(self, what: str) -> list[object]:
        while True:
            _, values = await asyncio.wait_for(self._events.get(), 10)
            name = values[0] if values else None
            if name == "_error":
                raise rm.RtmpError(f"{what}: server answered _error {values[3:]}")
            if name == "onStatus" and len(values) > 3 and isinstance(values[3], dict):
                code = str(values[3].get("code", ""))
                if what == "publish":
                    if code == "NetStream.Publish.Start":
                        return values
                    raise rm.RtmpError(f"publish refused: {code}")
            if name == "_result" and what != "publish":
                return values

    async def run(self, probe_ms: int) -> None:
        reader, writer = await asyncio.open_connection(self.host, self.port)
        writer.write(rm.c0c1(os.urandom(rm.HANDSHAKE_SIZE)))
        s0s1s2 = await reader.readexactly(1 + 2 * rm.HANDSHAKE_SIZE)
        writer.write(s0s1s2[1 : 1 + rm.HANDSHAKE_SIZE])  # C2 echoes S1
        chunks = rm.ChunkReader(self._on_message)

        async def read_loop() -> None:
            while data := await reader.read(65536):
                chunks.feed(data)

        reading = asyncio.create_task(read_loop())
        tc_url = f"rtmp://{self.host}:{self.port}/{self.app}"
        writer.write(rm.control(rm.MSG_SET_CHUNK_SIZE, rm.U32.pack(CHUNK_SIZE)))
        writer.write(
            rm.command(
                "connect",
                1,
                {"app": self.app, "type": "nonprivate", "flashVer": "FMLE/3.0", "tcUrl": tc_url},
            )
        )
        await self._expect("connect")
        writer.write(rm.command("releaseStream", 2, None, self.stream))
        writer.write(rm.command("FCPublish", 3, None, self.stream))
        writer.write(rm.command("createStream", 4, None))
        while True:
            values = await self._expect("createStream")
            if values[1] == 4:
                break
        self.stream_id = int(values[3])  # type: ignore[call-overload]
        writer.write(rm.command("publish", 5, None, self.stream, "live", stream_id=self.stream_id))
        await self._expect("publish")
        try:
            await self._send_loop(writer, probe_ms)
        finally:
            reading.cancel()
            writer.close()

    def _wire(self, type_id: int, timestamp: int, payload: bytes) -> bytes:
        return rm.encode_message(
            CSID.get(type_id, 4), type_id, self.stream_id, timestamp, payload, CHUNK_SIZE
        )

    async def _send_loop(self, writer: asyncio.StreamWriter, probe_ms: int) -> None:
        loop = asyncio.get_running_loop()
        tags = [t for t in self.tags if t.type_id in (rm.MSG_AUDIO, rm.MSG_VIDEO)]
        meta = next((t for t in self.tags if t.type_id == rm.MSG_DATA), None)
        first = tags[0].timestamp
        period = max(t.timestamp for t in tags) - first + 34  # one frame after the last
        start_mono = loop.time()
        epoch_ms = time.time() * 1000.0
        print(f"publishing epoch_ms={epoch_ms:.3f}", flush=True)
        if meta is not None:
            writer.write(self._wire(rm.MSG_DATA, 0, rm.amf0_encode("@setDataFrame") + meta.payload))
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
                        t_ms = time.time() * 1000.0
                        body = rm.amf0_encode("onTextData") + rm.amf0_encode({"t": t_ms})
                        writer.write(self._wire(rm.MSG_DATA, int(next_probe * 1000), body))
                        next_probe += probe_ms / 1000.0
                        continue
                    if due <= now:
                        break
                    await asyncio.sleep(min(due, next_probe) - now)
                if i % 64 == 0:
                    await writer.drain()
                self.lateness_ms.append((now - due) * 1000.0)
                wire = self._wire(tag.type_id, ts, tag.payload)
                self.sent_bytes += len(wire)
                writer.write(wire)
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
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=1935)
    ap.add_argument("--app", default="live")
    ap.add_argument("--stream", default="bench")
    ap.add_argument("--file", type=Path, required=True)
    ap.add_argument("--probe-ms", type=int, default=100)
    args = ap.parse_args(argv)
    pub = Publisher(args.host, args.port, args.app, args.stream, read_tags(args.file))

    async def amain() -> None:
        task = asyncio.create_task(pub.run(args.probe_ms))
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, task.cancel)
        with contextlib.suppress(asyncio.CancelledError):
            await task

    try:
        aio.run(amain())
    except (OSError, rm.RtmpError, asyncio.IncompleteReadError, TimeoutError) as exc:
        print(f"publisher: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
        print(json.dumps({"error": str(exc), **pub.summary()}), flush=True)
        return 1
    print(json.dumps(pub.summary()), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
