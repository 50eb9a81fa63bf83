"""Hold many RTMP players (or HTTP-FLV viewers) from one process and measure them.

    python -m benchmarks.loadgen --port P --players 300 --window 20 --server-pid PID

Each player connects (at ``--rate`` per second), plays the stream, parses the chunk
stream only until its first complete video keyframe (time to first frame: TCP connect
start → keyframe complete) and afterwards only counts bytes and acknowledges them. A
few probe players parse everything to measure forward delay. Once every player has
started, it measures a window of ``--window`` seconds: bytes per player (a player is
stalled below ``--stall-fraction`` of the stream's byte rate), and the CPU time and RSS
of the server's process tree (``--server-pid``) over exactly that window, and its own
CPU. Progress goes to stderr, the result is one JSON object on stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
import time
from dataclasses import asdict, dataclass, field
from typing import Any, cast

from benchmarks import aio, procstat
from benchmarks import rtmpmini as rm
from livecast.media.flv import FlvReader
from livecast.rtmp import amf0
from livecast.rtmp import events as ev
from livecast.rtmp.errors import ProtocolError
from livecast.rtmp.session import ClientSession

SCRATCH = bytearray(256 * 1024)  # every counting reader receives into this one buffer
SCRATCH_VIEW = memoryview(SCRATCH)


def now_ms() -> float:
    return time.time() * 1000.0


@dataclass
class Probe:
    """What the probe connections record (wall-clock ms)."""

    text_delays: list[tuple[float, float]] = field(default_factory=list)  # (recv, delay)
    video: list[tuple[float, int]] = field(default_factory=list)  # (recv, timestamp)


class _Conn:
    """What every viewer connection records: bytes, first frame, and how and why it
    ended."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.t_connect = time.monotonic()
        self.first_frame_ms: float | None = None
        self.total = 0
        self.error: str | None = None
        self.closed = False
        self.playing = False

    def eof_received(self) -> bool | None:
        if self.error is None:
            self.error = "server closed the connection"
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.error is None:
            self.error = f"connection lost: {exc}" if exc else "connection closed"


class _Counter(_Conn, asyncio.BufferedProtocol):
    """What the mass viewers share: one scratch buffer for every read and a byte count."""

    def __init__(self) -> None:
        super().__init__()
        self.parsing = True

    def get_buffer(self, sizehint: int) -> memoryview:
        return SCRATCH_VIEW

    def buffer_updated(self, nbytes: int) -> None:
        self.total += nbytes
        if self.parsing:
            self._parse(bytes(SCRATCH_VIEW[:nbytes]))

    def _parse(self, data: bytes) -> None:
        raise NotImplementedError

    def _fail(self, why: str) -> None:
        self.error = why
        self.parsing = False
        if self.transport is not None:
            self.transport.close()


class Player(_Counter):
    """One RTMP player on the bench's own small client: parses until the first
    keyframe, then only counts bytes (and acknowledges them)."""

    def __init__(self, app: str, stream: str, tc_url: str) -> None:
        super().__init__()
        self.app, self.stream, self.tc_url = app, stream, tc_url
        self.acked = 0
        self.ack_window = 2_500_000
        self._hs = bytearray()
        self._handshaking = True
        self._reader = rm.ChunkReader(self._on_message)

    # -- asyncio.BufferedProtocol -----------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is no subclass
        self.transport.write(rm.c0c1(os.urandom(rm.HANDSHAKE_SIZE)))

    def buffer_updated(self, nbytes: int) -> None:
        super().buffer_updated(nbytes)
        if self.total - self.acked >= self.ack_window and self.transport is not None:
            self.acked = self.total
            self.transport.write(rm.acknowledgement(self.total))

    # -- parsing until the first keyframe ---------------------------------------------

    def _parse(self, data: bytes) -> None:
        try:
            if self._handshaking:
                self._hs += data
                need = 1 + 2 * rm.HANDSHAKE_SIZE
                if len(self._hs) < need:
                    return
                self._handshaking = False
                assert self.transport is not None
                self.transport.write(bytes(self._hs[1 : 1 + rm.HANDSHAKE_SIZE]))
                cmd = {"app": self.app, "flashVer": "LNX 9,0,124,2", "tcUrl": self.tc_url}
                self.transport.write(rm.command("connect", 1, cmd))
                data = bytes(self._hs[need:])
                self._hs = bytearray()
            self._reader.feed(data)
        except rm.RtmpError as exc:
            self._fail(f"protocol: {exc}")

    def _on_message(self, type_id: int, stream_id: int, timestamp: int, payload: bytes) -> None:
        if type_id == rm.MSG_VIDEO:
            if self.first_frame_ms is None and rm.is_video_keyframe(payload):
                self.first_frame_ms = (time.monotonic() - self.t_connect) * 1000.0
                self.parsing = False  # from now on: count bytes only
        elif type_id == rm.MSG_COMMAND:
            self._on_command(rm.amf0_decode_all(payload))
        elif type_id == rm.MSG_WINDOW_ACK_SIZE and len(payload) >= 4:
            self.ack_window = max(1, rm.U32.unpack_from(payload)[0])
        elif (
            type_id == rm.MSG_USER_CONTROL
            and len(payload) >= 6
            and rm.U16.unpack_from(payload)[0] == rm.UC_PING_REQUEST
        ):
            assert self.transport is not None
            body = rm.U16.pack(rm.UC_PING_RESPONSE) + payload[2:6]
            self.transport.write(rm.control(rm.MSG_USER_CONTROL, body))

    def _on_command(self, values: list[object]) -> None:
        assert self.transport is not None
        name = values[0] if values else None
        tid = values[1] if len(values) > 1 else None
        if name == "_result" and tid == 1:
            self.transport.write(rm.command("createStream", 2, None))
        elif name == "_result" and tid == 2 and len(values) > 3:
            sid = int(values[3])  # type: ignore[call-overload]
            self.transport.write(rm.command("play", 0, None, self.stream, -1000, stream_id=sid))
            body = rm.U16.pack(rm.UC_SET_BUFFER_LENGTH) + rm.U32.pack(sid) + rm.U32.pack(1000)
            self.transport.write(rm.control(rm.MSG_USER_CONTROL, body))
        elif name == "_error":
            self._fail(f"server answered _error to transaction {tid}: {values[3:]}")
        elif name == "onStatus" and len(values) > 3 and isinstance(values[3], dict):
            code = str(values[3].get("code", ""))
            if code == "NetStream.Play.Start":
                self.playing = True
            elif code in ("NetStream.Play.StreamNotFound", "NetStream.Play.Failed"):
                self._fail(code)


class ProbePlayer(_Conn, asyncio.Protocol):
    """A player on livecast's own ClientSession that parses everything, to measure
    forward delay: onTextData send times, and video timestamps against the publisher's
    clock."""

    def __init__(self, app: str, stream: str, tc_url: str, probe: Probe) -> None:
        super().__init__()
        self.app, self.stream, self.tc_url = app, stream, tc_url
        self.probe = probe
        self.session = ClientSession(random_bytes=os.urandom(4096), digest=False)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        self.session.initiate()
        self.session.connect(app=self.app, tc_url=self.tc_url)
        self.transport.write(self.session.data_to_send())

    def data_received(self, data: bytes) -> None:
        self.total += len(data)
        try:
            events = self.session.receive_data(data)
        except ProtocolError as exc:
            self.error = f"protocol: {exc}"
            if self.transport is not None:
                self.transport.close()
            return
        for event in events:
            self._on_event(event)
        out = self.session.data_to_send()
        if out and self.transport is not None:
            self.transport.write(out)

    def _on_event(self, event: ev.Event) -> None:
        if isinstance(event, ev.Media):
            if event.type_id == rm.MSG_VIDEO:
                if self.first_frame_ms is None and rm.is_video_keyframe(event.payload):
                    self.first_frame_ms = (time.monotonic() - self.t_connect) * 1000.0
                self.probe.video.append((now_ms(), event.timestamp))
            elif event.type_id == rm.MSG_DATA:
                text_delay(self.probe, event.payload)
        elif isinstance(event, ev.ConnectResult):
            if event.ok:
                self.session.create_stream()
            else:
                self.error = f"connect refused: {event.info}"
        elif isinstance(event, ev.StreamCreated):
            self.session.play(event.stream_id, self.stream)
            self.session.set_buffer_length(event.stream_id, 1000)
        elif isinstance(event, ev.Status):
            if event.code == "NetStream.Play.Start":
                self.playing = True
            elif event.level == "error":
                self.error = event.code


def text_delay(probe: Probe, payload: bytes) -> None:
    """Record the delay of an onTextData {t: send wall-clock ms} message."""
    try:
        values = amf0.decode(payload)
    except ProtocolError:
        return
    if len(values) >= 2 and values[0] == "onTextData" and isinstance(values[1], dict):
        sent = values[1].get("t")
        if isinstance(sent, float):
            t = now_ms()
            probe.text_delays.append((t, t - sent))


class HttpFlvViewer(_Counter):
    """One HTTP-FLV viewer: GET /APP/STREAM.flv; parses FLV tags until the first
    keyframe (probes: always), then counts bytes."""

    def __init__(self, host: str, port: int, path: str, probe: Probe | None) -> None:
        self.request = f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAccept: */*\r\n\r\n"
        super().__init__()
        self.probe = probe
        self.status: int | None = None
        self._buf = bytearray()
        self._in_body = False
        self._chunked = False
        self._flv = FlvReader()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is no subclass
        self.transport.write(self.request.encode())

    def _parse(self, data: bytes) -> None:
        buf = self._buf
        buf += data
        if not self._in_body:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                if len(buf) > 65536:
                    self._fail("HTTP header too long")
                return
            head = bytes(buf[:end]).decode("latin-1").split("\r\n")
            try:
                self.status = int(head[0].split()[1])
            except (IndexError, ValueError):
                self._fail(f"bad HTTP status line {head[0]!r}")
                return
            if self.status != 200:
                self._fail(f"HTTP {self.status}")
                return
            self._chunked = any(
                h.lower().startswith("transfer-encoding:") and "chunked" in h.lower() for h in head
            )
            self._in_body = True
            self.playing = True
            del buf[: end + 4]
        if self._chunked:
            self._dechunk()
        else:
            self._tags(bytes(buf))
            buf.clear()

    def _dechunk(self) -> None:
        buf = self._buf
        while self.parsing:
            end = buf.find(b"\r\n")
            if end < 0:
                return
            try:
                size = int(bytes(buf[:end]).split(b";")[0], 16)
            except ValueError:
                self._fail("bad chunked encoding")
                return
            if len(buf) < end + 2 + size + 2:
                return
            self._tags(bytes(buf[end + 2 : end + 2 + size]))
            del buf[: end + 2 + size + 2]

    def _tags(self, data: bytes) -> None:
        try:
            tags = self._flv.feed(data)
        except ProtocolError as exc:
            self._fail(f"FLV: {exc}")
            return
        for tag in tags:
            if tag.tag_type == rm.MSG_VIDEO:
                if self.first_frame_ms is None and rm.is_video_keyframe(tag.payload):
                    self.first_frame_ms = (time.monotonic() - self.t_connect) * 1000.0
                    if self.probe is None:
                        self.parsing = False  # from now on: count bytes only
                        return
                if self.probe is not None:
                    self.probe.video.append((now_ms(), tag.timestamp))
            elif tag.tag_type == rm.MSG_DATA and self.probe is not None:
                text_delay(self.probe, tag.payload)


Conn = Player | ProbePlayer | HttpFlvViewer


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    s = sorted(values)
    return round(s[min(len(s) - 1, int(q * len(s)))], 1)


@dataclass
class Result:
    kind: str
    players: int
    connected: int
    started: int
    failed: int
    errors: dict[str, int]
    window_s: float
    delivered_bytes: int
    stalled: int
    stall_threshold_bytes: int
    min_player_bytes: int
    first_frame_p50_ms: float | None
    first_frame_p95_ms: float | None
    first_frame_max_ms: float | None
    delay_method: str
    delay_p50_ms: float | None
    delay_p99_ms: float | None
    delay_samples: int
    text_delay_p50_ms: float | None
    text_delay_p99_ms: float | None
    text_delay_samples: int
    server_cpu_s: float | None
    server_user_s: float | None
    server_system_s: float | None
    server_rss_kb_peak: int | None
    server_rss_kb_before: int | None
    server_pids: int | None
    loadgen_cpu_s: float
    join_s: float


async def open_players(
    args: argparse.Namespace, count: int, probe: Probe | None, errors: dict[str, int]
) -> list[Conn]:
    """Open ``count`` connections at ``args.rate`` per second (probes if ``probe``)."""
    loop = asyncio.get_running_loop()
    conns: list[Conn] = []
    tc_url = f"rtmp://{args.host}:{args.port}/{args.app}"

    async def open_one() -> None:
        conn: Conn
        if args.kind == "httpflv":
            path = f"/{args.app}/{args.stream}.flv"
            conn = HttpFlvViewer(args.host, args.http_port, path, probe)
            port = args.http_port
        else:
            port = args.port
            if probe is None:
                conn = Player(args.app, args.stream, tc_url)
            else:
                conn = ProbePlayer(args.app, args.stream, tc_url, probe)
        conns.append(conn)
        try:
            await loop.create_connection(lambda: conn, args.host, port)
        except OSError as exc:
            key = type(exc).__name__
            errors[key] = errors.get(key, 0) + 1
            conn.error = f"connect: {exc}"

    t0 = time.monotonic()
    tasks = []
    for i in range(count):
        delay = t0 + i / args.rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(open_one()))
    await asyncio.gather(*tasks)
    return conns


async def wait_started(conns: list[Conn], timeout: float) -> None:
    """Until every player has its first keyframe or failed, at most ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(c.first_frame_ms is not None or c.error is not None for c in conns):
            return
        await asyncio.sleep(0.05)


def conn_errors(conns: list[Conn], errors: dict[str, int]) -> dict[str, int]:
    out = dict(errors)
    for c in conns:
        if c.error is not None and not c.error.startswith("connect:"):
            key = c.error.split(":")[0]
            out[key] = out.get(key, 0) + 1
    return out


async def probe_service(args: argparse.Namespace) -> None:
    """``--probe-only``: the probe players, in a process of their own so that their
    delay figures do not include the busy load generator's event-loop latency. Answers
    ``status`` / ``mark`` / ``stop`` lines on stdin with one JSON line each."""
    loop = asyncio.get_running_loop()
    probe = Probe()
    errors: dict[str, int] = {}
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    conns = await open_players(args, args.players, probe, errors)
    while line := (await reader.readline()).decode().strip():
        answer: dict[str, object]
        if line == "status":
            answer = {"pending": sum(c.first_frame_ms is None and c.error is None for c in conns)}
        elif line == "mark":
            answer = {"totals": [c.total for c in conns]}
        else:
            answer = {
                "connected": sum(c.transport is not None for c in conns),
                "started": sum(c.first_frame_ms is not None and not c.closed for c in conns),
                "first_frames": [c.first_frame_ms for c in conns if c.first_frame_ms],
                "errors": conn_errors(conns, errors),
                "text_delays": probe.text_delays,
                "video": probe.video,
            }
        print(json.dumps(answer), flush=True)
        if line == "stop":
            break
    for c in conns:
        if c.transport is not None:
            c.transport.abort()


class ProbeProcess:
    """The load generator's handle on its ``--probe-only`` child."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc

    @classmethod
    async def start(cls, args: argparse.Namespace, count: int) -> ProbeProcess:
        cmd = [
            sys.executable, "-m", "benchmarks.loadgen", "--probe-only",
            "--host", args.host, "--port", str(args.port), "--http-port", str(args.http_port),
            "--kind", args.kind, "--app", args.app, "--stream", args.stream,
            "--players", str(count), "--rate", str(args.rate),
        ]  # fmt: skip
        proc = await asyncio.create_subprocess_exec(
            *cmd, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, limit=1 << 26
        )
        return cls(proc)

    async def ask(self, what: str) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(what.encode() + b"\n")
        await self.proc.stdin.drain()
        line = await asyncio.wait_for(self.proc.stdout.readline(), 30)
        if not line:
            raise RuntimeError("the probe process ended early")
        answer: dict[str, Any] = json.loads(line)
        return answer

    async def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            await asyncio.wait_for(self.proc.wait(), 10)
        except TimeoutError:
            self.proc.kill()


async def run(args: argparse.Namespace) -> Result:
    errors: dict[str, int] = {}
    rss_before = procstat.sample_tree(args.server_pid).rss_kb if args.server_pid else None
    n_probes = min(args.probes, args.players)
    probes = await ProbeProcess.start(args, n_probes) if n_probes else None
    try:
        return await measure(args, probes, n_probes, errors, rss_before)
    finally:
        if probes is not None:
            await probes.close()


async def measure(
    args: argparse.Namespace,
    probes: ProbeProcess | None,
    n_probes: int,
    errors: dict[str, int],
    rss_before: int | None,
) -> Result:
    t_join = time.monotonic()
    conns = await open_players(args, args.players - n_probes, None, errors)
    log(f"  connected {sum(c.transport is not None for c in conns) + n_probes}/{args.players}")
    await wait_started(conns, args.start_timeout)
    while probes is not None and time.monotonic() < t_join + args.start_timeout + 10:
        if (await probes.ask("status"))["pending"] == 0:
            break
        await asyncio.sleep(0.1)
    join_s = time.monotonic() - t_join
    started = sum(c.first_frame_ms is not None and not c.closed for c in conns)
    log(f"  started {started}/{args.players - n_probes} (+ {n_probes} probes) in {join_s:.1f} s")
    await asyncio.sleep(args.settle)

    # the measurement window
    log(f"  window {args.window:g} s")
    before = [c.total for c in conns]
    p_before = (await probes.ask("mark"))["totals"] if probes else []
    cpu0 = procstat.sample_tree(args.server_pid) if args.server_pid else None
    self0 = procstat.sample_tree(os.getpid()).cpu_s  # with the probe process
    t0 = time.monotonic()
    t0_ms = now_ms()
    rss_peak = cpu0.rss_kb if cpu0 else None
    end = t0 + args.window
    while (left := end - time.monotonic()) > 0:
        await asyncio.sleep(min(0.5, left))
        if args.server_pid and time.monotonic() < end - 0.05:
            rss_peak = max(rss_peak or 0, procstat.sample_tree(args.server_pid).rss_kb)
    after = [c.total for c in conns]
    cpu1 = procstat.sample_tree(args.server_pid) if args.server_pid else None
    self1 = procstat.sample_tree(os.getpid()).cpu_s
    window = time.monotonic() - t0
    t1_ms = now_ms()
    p_after = (await probes.ask("mark"))["totals"] if probes else []
    if cpu1 is not None:
        rss_peak = max(rss_peak or 0, cpu1.rss_kb)
    report = await probes.ask("stop") if probes else {}
    for c in conns:
        if c.transport is not None:
            c.transport.abort()

    threshold = int(args.stall_fraction * args.stream_bytes_per_s * window)
    got = [b - a for a, b in zip(before, after, strict=True)]
    got += [b - a for a, b in zip(p_before, p_after, strict=True)]
    missing = args.players - len(got)
    stalled = sum(g < threshold for g in got) + missing
    errors = conn_errors(conns, errors)
    for key, n in report.get("errors", {}).items():
        errors[key] = errors.get(key, 0) + n
    ff = [c.first_frame_ms for c in conns if c.first_frame_ms is not None]
    ff += report.get("first_frames", [])
    text = [d for t, d in report.get("text_delays", []) if t0_ms <= t <= t1_ms]
    ts_d = video_delays(args, [(t, ts) for t, ts in report.get("video", []) if t0_ms <= t <= t1_ms])
    # The table uses video timestamps for every server (nginx-rtmp does not forward
    # onTextData); unless this server rewrites timestamps, then onTextData.
    method, delays = "video timestamps", ts_d
    if text and (not ts_d or not -1000 < (pct(ts_d, 0.5) or 0) < 10_000):
        method, delays = "onTextData", text
    if not delays:
        method = "none"
    return Result(
        kind=args.kind,
        players=args.players,
        connected=sum(c.transport is not None for c in conns) + report.get("connected", 0),
        started=started + report.get("started", 0),
        failed=args.players - started - report.get("started", 0),
        errors=errors,
        window_s=round(window, 3),
        delivered_bytes=sum(got),
        stalled=stalled,
        stall_threshold_bytes=threshold,
        min_player_bytes=min(got) if got and not missing else 0,
        first_frame_p50_ms=pct(ff, 0.50),
        first_frame_p95_ms=pct(ff, 0.95),
        first_frame_max_ms=pct(ff, 1.0),
        delay_method=method,
        delay_p50_ms=pct(delays, 0.50),
        delay_p99_ms=pct(delays, 0.99),
        delay_samples=len(delays),
        text_delay_p50_ms=pct(text, 0.50),
        text_delay_p99_ms=pct(text, 0.99),
        text_delay_samples=len(text),
        server_cpu_s=round(cpu1.cpu_s - cpu0.cpu_s, 3) if cpu0 and cpu1 else None,
        server_user_s=round(cpu1.user_s - cpu0.user_s, 3) if cpu0 and cpu1 else None,
        server_system_s=round(cpu1.system_s - cpu0.system_s, 3) if cpu0 and cpu1 else None,
        server_rss_kb_peak=rss_peak,
        server_rss_kb_before=rss_before,
        server_pids=len(cpu1.pids) if cpu1 else None,
        loadgen_cpu_s=round(self1 - self0, 3),
        join_s=round(join_s, 2),
    )


def video_delays(args: argparse.Namespace, video: list[tuple[float, int]]) -> list[float]:
    """Receive time minus the publisher's send time of the same video message: from its
    send log when there is one, else from its clock (epoch + timestamp)."""
    sent: dict[int, float] = {}
    if args.send_log:
        with open(args.send_log) as f:
            for line in f:
                key, _, wall = line.partition(" ")
                with contextlib.suppress(ValueError):
                    sent[int(key)] = float(wall)
    out = []
    for t, ts in video:
        s = sent.get(ts)
        if s is None and args.epoch_ms is not None:
            s = args.epoch_ms + ts
        if s is not None:
            out.append(t - s)
    return out


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=1935, help="RTMP port")
    ap.add_argument("--http-port", type=int, default=8080)
    ap.add_argument("--kind", choices=("rtmp", "httpflv"), default="rtmp")
    ap.add_argument("--app", default="live")
    ap.add_argument("--stream", default="bench")
    ap.add_argument("--players", type=int, default=100)
    ap.add_argument("--rate", type=float, default=200.0, help="connections per second")
    ap.add_argument("--probes", type=int, default=5, help="players that parse everything")
    ap.add_argument("--window", type=float, default=20.0, help="measurement window, s")
    ap.add_argument("--settle", type=float, default=1.0, help="pause after the join, s")
    ap.add_argument("--start-timeout", type=float, default=6.0)
    ap.add_argument("--server-pid", type=int, default=0)
    ap.add_argument("--epoch-ms", type=float, default=None, help="publisher's ts-0 wall time")
    ap.add_argument("--send-log", help="the publisher's --send-log file")
    ap.add_argument("--stream-bytes-per-s", type=float, default=2_628_000 / 8)
    ap.add_argument("--stall-fraction", type=float, default=0.8)
    ap.add_argument("--probe-only", action="store_true", help=argparse.SUPPRESS)
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    limit = aio.raise_nofile(args.players + 256)
    if limit < args.players + 64:
        log(f"loadgen: open-files limit {limit} is too low for {args.players} players")
        return 2
    if args.probe_only:
        aio.run(probe_service(args))
        return 0
    result = aio.run(run(args))
    print(json.dumps(asdict(result)), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
