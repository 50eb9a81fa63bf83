"""HTTP-FLV and WebSocket-FLV with real clients: ffmpeg, ffprobe, aiohttp, raw sockets."""

from __future__ import annotations

import asyncio
import json
import re
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import aiohttp
import pytest

from livecast.config import Config
from livecast.hub.frame import AUDIO, DATA, VIDEO, Frame
from livecast.hub.registry import Hub
from livecast.hub.subscriber import Flusher
from livecast.media import flv
from livecast.media.flv import FlvReader, FlvTag, read_file_tags
from livecast.outputs import httpflv
from livecast.outputs.httpflv import flv_chunked, flv_tag, http_chunk, ws_binary_frame, ws_flv
from livecast.server.http_server import HttpServer
from livecast.server.rtmp_client import RtmpClient

from .conftest import LiveServer, fat_looped_tags, ffprobe_packets, publish

pytestmark = pytest.mark.integration
FFMPEG = ("ffmpeg", "-hide_banner", "-loglevel", "error", "-y")

# -- the shared wire forms, against bytes written by hand from RFC 9112 / RFC 6455 ----------


def test_http_chunk_is_hex_size_crlf_data_crlf() -> None:
    assert http_chunk(b"FLV") == b"3\r\nFLV\r\n"
    assert http_chunk(b"x" * 26) == b"1a\r\n" + b"x" * 26 + b"\r\n"
    assert http_chunk(b"y" * 0x1000) == b"1000\r\n" + b"y" * 0x1000 + b"\r\n"


@pytest.mark.parametrize(
    ("size", "head"),
    [
        (0, b"\x82\x00"),
        (13, b"\x82\x0d"),
        (125, b"\x82\x7d"),
        (126, b"\x82\x7e\x00\x7e"),
        (0xFFFF, b"\x82\x7e\xff\xff"),
        (0x10000, b"\x82\x7f\x00\x00\x00\x00\x00\x01\x00\x00"),
    ],
)
def test_ws_binary_frame_header(size: int, head: bytes) -> None:
    data = bytes(range(256)) * (size // 256) + bytes(range(size % 256))
    assert ws_binary_frame(data) == head + data


def test_frame_wire_forms_wrap_one_flv_tag() -> None:
    frame = Frame(VIDEO, 0x12345678, b"\x17\x01\x00\x00\x00abc", keyframe=True)
    tag = (
        b"\x09\x00\x00\x08"  # video, DataSize 8
        b"\x34\x56\x78\x12"  # timestamp low 24 bits, then TimestampExtended
        b"\x00\x00\x00"  # StreamID
        b"\x17\x01\x00\x00\x00abc"
        b"\x00\x00\x00\x13"  # PreviousTagSize 11 + 8
    )
    assert flv_tag(frame) == tag
    assert flv_chunked(frame) == b"17\r\n" + tag + b"\r\n"
    assert ws_flv(frame) == b"\x82\x17" + tag
    # a payload FLV cannot carry is skipped, never an empty chunk (that would end the body)
    huge = Frame(VIDEO, 0, bytes(flv.MAX_DATA_SIZE + 1))
    assert flv_tag(huge) == flv_chunked(huge) == ws_flv(huge) == b""


# -- in-process: one hub, the real HTTP server, aiohttp clients ------------------------------


async def _read_http_flv(resp: aiohttp.ClientResponse, reader: FlvReader) -> list[FlvTag]:
    tags: list[FlvTag] = []
    async for chunk in resp.content.iter_any():
        tags += reader.feed(chunk)
    return tags


async def test_viewers_share_one_encode_per_frame_and_end_with_the_publisher(
    sample_flv: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    encodes: dict[str, int] = {"flv-chunked": 0, "ws-flv": 0}

    def counting(name: str, encode: Callable[[Frame], bytes]) -> Callable[[Frame], bytes]:
        def wrapped(frame: Frame) -> bytes:
            encodes[name] += 1
            return encode(frame)

        return wrapped

    key, encode, framing = httpflv.CHUNKED
    monkeypatch.setattr(httpflv, "CHUNKED", (key, counting("flv-chunked", encode), framing))
    key, encode, framing = httpflv.WEBSOCKET
    monkeypatch.setattr(httpflv, "WEBSOCKET", (key, counting("ws-flv", encode), framing))

    tags = read_file_tags(sample_flv.read_bytes())
    first_key = next(
        i for i, t in enumerate(tags) if t.tag_type == VIDEO and t.payload[:2] == b"\x17\x01"
    )
    loop = asyncio.get_running_loop()
    hub = Hub(Flusher(loop.call_soon, loop.call_later))
    http = HttpServer(hub, Config.default())
    _, port = await http.start("127.0.0.1", 0)
    url = f"http://127.0.0.1:{port}/live/a.flv"
    publisher = object()
    stream, _ = hub.start_publishing("live", "a", publisher)
    for t in tags[: first_key + 10]:
        stream.publish(t.tag_type, t.timestamp, t.payload)
    state = len(stream.state_frames())
    async with aiohttp.ClientSession() as session:
        responses = [await session.get(url) for _ in range(3)]
        sockets = [await session.ws_connect(url) for _ in range(2)]
        for r in responses:
            assert r.status == 200
            assert r.headers["Transfer-Encoding"] == "chunked"
        await asyncio.sleep(0.1)
        assert len(stream.subscribers) == 5
        assert len(stream.groups) == 2, "chunked and WebSocket viewers: one group each"
        # every joiner got the same state burst; each frame was encoded once per form
        assert encodes == {"flv-chunked": state, "ws-flv": state}
        live = tags[first_key + 10 : first_key + 70]
        for t in live:
            stream.publish(t.tag_type, t.timestamp, t.payload)
            await asyncio.sleep(0)
        assert encodes == {"flv-chunked": state + len(live), "ws-flv": state + len(live)}
        readers = [FlvReader(check_previous_tag_size=True) for _ in responses]
        reads = [
            asyncio.ensure_future(_read_http_flv(r, rd))
            for r, rd in zip(responses, readers, strict=True)
        ]
        ws_tags: list[list[FlvTag]] = []
        ws_codes: list[int | None] = []
        hub.stop_publishing(stream, publisher)  # the publisher leaves: every response ends
        for ws in sockets:
            reader = FlvReader(check_previous_tag_size=True)
            got: list[FlvTag] = []
            async for msg in ws:
                assert msg.type == aiohttp.WSMsgType.BINARY
                got += reader.feed(msg.data)
                assert reader.buffered == 0, "each WebSocket message is whole FLV pieces"
            ws_tags.append(got)
            ws_codes.append(ws.close_code)
        http_tags = await asyncio.wait_for(asyncio.gather(*reads), 5)  # clean last chunk
        for got in [*http_tags, *ws_tags]:
            assert [(t.tag_type, t.timestamp, t.payload) for t in got][-len(live) :] == [
                (t.tag_type, t.timestamp, t.payload) for t in live
            ]
            assert len(got) == state + len(live)
        assert ws_codes == [1000, 1000]
        for r in readers:
            assert r.header == flv.FlvHeader(1, True, True)
    assert not stream.subscribers
    await http.close()


async def test_a_viewer_that_hangs_up_leaves_the_hub_at_once(sample_flv: Path) -> None:
    tags = read_file_tags(sample_flv.read_bytes())
    loop = asyncio.get_running_loop()
    hub = Hub(Flusher(loop.call_soon, loop.call_later))
    http = HttpServer(hub, Config.default())
    _, port = await http.start("127.0.0.1", 0)
    stream, _ = hub.start_publishing("live", "a", object())
    for t in tags[:40]:
        stream.publish(t.tag_type, t.timestamp, t.payload)
    async with aiohttp.ClientSession() as session:
        resp = await session.get(f"http://127.0.0.1:{port}/live/a.flv")
        ws = await session.ws_connect(f"http://127.0.0.1:{port}/live/a.flv")
        await asyncio.sleep(0.1)
        assert len(stream.subscribers) == 2
        resp.close()  # drops the connection mid-body
        await ws.close()
        for _ in range(50):
            if not stream.subscribers:
                break
            await asyncio.sleep(0.01)
        assert not stream.subscribers
        for t in tags[40:80]:  # frames after they left go nowhere, raise nothing
            stream.publish(t.tag_type, t.timestamp, t.payload)
            await asyncio.sleep(0)
    await http.close()


# -- a real server process, real clients ------------------------------------------------------


def probe(url: str) -> dict[str, str]:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-rw_timeout", "5000000", "-show_streams", "-of", "json", url],
        check=True,
        capture_output=True,
        text=True,
        timeout=20,
    ).stdout
    return {s["codec_type"]: s["codec_name"] for s in json.loads(out)["streams"]}


def decodes_cleanly(path: Path) -> None:
    result = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(path), "-f", "null", "-"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0 and not result.stderr.strip(), result.stderr


def wait_live(server: LiveServer, path: str, timeout: float = 10) -> None:
    app, name = path.split("/")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(s["app"] == app and s["name"] == name and s["live"] for s in server.streams()):
            return
        time.sleep(0.1)
    raise AssertionError(f"{path} never went live")


def test_ffmpeg_records_http_flv_and_ffprobe_sees_h264_aac(
    server: LiveServer, sample_flv: Path, tmp_path: Path
) -> None:
    pub = publish(server, "live/a", sample_flv)
    try:
        wait_live(server, "live/a")
        time.sleep(0.5)
        url = server.http("live/a.flv")
        assert probe(url) == {"video": "h264", "audio": "aac"}
        out = tmp_path / "out.flv"
        subprocess.run(
            [*FFMPEG, "-i", url, "-t", "5", "-c", "copy", str(out)],
            check=True,
            timeout=30,
        )
    finally:
        pub.kill()
        pub.wait()
    packets = ffprobe_packets(out)
    video = [p for p in packets if p["codec_type"] == "video"]
    audio = [p for p in packets if p["codec_type"] == "audio"]
    assert "K" in video[0]["flags"], "an HTTP-FLV viewer must start on a keyframe"
    assert float(video[-1]["dts_time"]) - float(video[0]["dts_time"]) > 4.0
    assert len(video) >= 120 and len(audio) >= 190  # 30 fps, 43 AAC frames/s, ~5 s
    decodes_cleanly(out)
    server.wait_log("flv stop")
    assert any(re.search(r"flv stop \S+ live/a bytes=\d+", line) for line in server.log)


def test_websocket_flv_header_tag_sequence_and_close_1000(
    server: LiveServer, sample_flv: Path
) -> None:
    source = read_file_tags(sample_flv.read_bytes())
    pub = publish(server, "live/a", sample_flv)

    async def watch() -> tuple[FlvReader, list[FlvTag], list[int], int | None]:
        reader = FlvReader(check_previous_tag_size=True)
        tags: list[FlvTag] = []
        sizes: list[int] = []
        async with (
            aiohttp.ClientSession() as session,
            session.ws_connect(
                server.http("live/a.flv"), timeout=aiohttp.ClientWSTimeout(10)
            ) as ws,
        ):
            async for msg in ws:
                assert msg.type == aiohttp.WSMsgType.BINARY, msg
                sizes.append(len(msg.data))
                tags += reader.feed(msg.data)
                assert reader.buffered == 0, "each message holds whole FLV pieces"
            return reader, tags, sizes, ws.close_code

    try:
        wait_live(server, "live/a")
        time.sleep(1.5)  # join mid-stream: state burst + GOP
        t0 = time.monotonic()
        reader, tags, sizes, code = asyncio.run(watch())  # until the publisher leaves
        watched = time.monotonic() - t0
    finally:
        pub.wait(30)
    assert reader.header == flv.FlvHeader(1, True, True)
    assert sizes[0] == flv.HEADER_SIZE + 4, "the first message is the FLV file header"
    assert code == 1000, "the publisher left: a normal close"
    assert watched > 4
    script, avc, aac, first = tags[:4]
    assert script.tag_type == DATA and b"onMetaData" in script.payload[:16]
    assert avc.tag_type == VIDEO and avc.payload[:2] == b"\x17\x00"  # AVC sequence header
    assert aac.tag_type == AUDIO and aac.payload[0] >> 4 == 10 and aac.payload[1] == 0
    assert first.tag_type == VIDEO and first.payload[:2] == b"\x17\x01"  # a keyframe
    for kind in (AUDIO, VIDEO):
        stamps = [t.timestamp for t in tags[3:] if t.tag_type == kind]
        assert stamps == sorted(stamps), f"type {kind} timestamps went back"
    # everything from the keyframe on is the publisher's stream, tag for tag
    media = [(t.tag_type, t.payload) for t in tags[3:] if t.tag_type in (AUDIO, VIDEO)]
    src = [(t.tag_type, bytes(t.payload)) for t in source if t.tag_type in (AUDIO, VIDEO)]
    start = src.index(media[0])
    assert media == src[start:]


def raw_request(port: int, target: bytes, *, version: bytes = b"1.1", extra: bytes = b"") -> bytes:
    """Send exactly these bytes (no client-side URL normalising); return what comes back
    within a short while."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(
            b"GET "
            + target
            + b" HTTP/"
            + version
            + b"\r\nHost: x\r\nConnection: close\r\n"
            + extra
            + b"\r\n"
        )
        data = b""
        sock.settimeout(1.5)
        try:
            while len(data) < 200_000:
                more = sock.recv(65536)
                if not more:
                    break
                data += more
        except TimeoutError:
            pass
    return data


def status_of(response: bytes) -> int:
    return int(response.split(b" ", 2)[1])


def test_not_live_bad_names_cors_and_preflight(start_server: Callable[..., LiveServer]) -> None:
    server = start_server('[http]\ncors_origin = "https://watch.example"\n')
    port = server.http_port
    assert port is not None

    async def check() -> None:
        async with aiohttp.ClientSession() as session:
            t0 = time.monotonic()
            async with session.get(server.http("live/nobody.flv")) as r:
                assert r.status == 404
                assert r.headers["Access-Control-Allow-Origin"] == "https://watch.example"
            assert time.monotonic() - t0 < 1, "flv_wait_s = 0: answer at once"
            async with session.head(server.http("live/nobody.flv")) as r:
                assert r.status == 404
            async with session.options(
                server.http("live/a.flv"),
                headers={
                    "Origin": "https://watch.example",
                    "Access-Control-Request-Method": "GET",
                    "Access-Control-Request-Headers": "range",
                },
            ) as r:
                assert r.status == 204
                assert r.headers["Access-Control-Allow-Origin"] == "https://watch.example"
                assert "GET" in r.headers["Access-Control-Allow-Methods"]
                assert r.headers["Access-Control-Allow-Headers"] == "range"

    asyncio.run(check())
    for target in (
        b"/live/..%2F..%2Fetc%2Fpasswd.flv",
        b"/live/%2E%2E.flv",
        b"/live/a%2Fb.flv",
        b"/live/a%5Cb.flv",
        b"/live/a%00b.flv",
        b"/live/a%0Ab.flv",
        b"/%2E%2E/a.flv",
        b"/live/" + b"n" * 300 + b".flv",
    ):
        assert status_of(raw_request(port, target)) == 400, target
    for target in (b"/live/../../etc/passwd.flv", b"/live/a/b.flv", b"/a.flv"):
        assert status_of(raw_request(port, target)) in (400, 404), target


def test_http10_viewer_gets_a_connection_close_body(server: LiveServer, sample_flv: Path) -> None:
    assert server.http_port is not None
    pub = publish(server, "live/a", sample_flv)
    try:
        wait_live(server, "live/a")
        time.sleep(0.5)
        response = raw_request(server.http_port, b"/live/a.flv", version=b"1.0")
    finally:
        pub.kill()
        pub.wait()
    head, _, body = response.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.0 200"), head
    assert b"transfer-encoding" not in head.lower()
    assert b"content-type: video/x-flv" in head.lower()
    reader = FlvReader(check_previous_tag_size=True)
    tags = reader.feed(body)
    assert reader.header == flv.FlvHeader(1, True, True)
    assert [t.tag_type for t in tags[:3]] == [DATA, VIDEO, AUDIO]


def test_viewer_waits_for_a_publisher_within_flv_wait_s(
    start_server: Callable[..., LiveServer], sample_flv: Path, tmp_path: Path
) -> None:
    server = start_server("[http]\nflv_wait_s = 10\n")
    out = tmp_path / "early.flv"
    viewer = subprocess.Popen(
        [*FFMPEG, "-i", server.http("live/a.flv"), "-c", "copy", str(out)],
        stdin=subprocess.DEVNULL,
    )
    time.sleep(1.0)
    assert viewer.poll() is None, "the viewer must be waiting, not refused"
    pub = publish(server, "live/a", sample_flv)
    assert pub.wait(30) == 0
    assert viewer.wait(15) == 0, "the response must end cleanly when the publisher leaves"
    source = [p for p in ffprobe_packets(sample_flv) if p["codec_type"] == "video"]
    got = [p for p in ffprobe_packets(out) if p["codec_type"] == "video"]
    assert len(got) == len(source), "a viewer waiting before the publisher sees every frame"
    decodes_cleanly(out)


def test_a_viewer_that_never_reads_is_bounded_and_does_not_slow_others(
    start_server: Callable[..., LiveServer], media_dir: Path
) -> None:
    server = start_server("[rtmp]\nplayer_queue_bytes = 262144\n")
    port = server.http_port
    assert port is not None
    tags = fat_looped_tags(media_dir)  # ~12 MB

    async def scenario() -> tuple[list[float], int]:
        pub, _ = await RtmpClient.open(server.rtmp("live"))
        psid = await pub.create_stream()
        await pub.publish(psid, "fat")
        # both viewers ask before any media: they wait for the stream's first frames
        stuck = socket.socket()
        stuck.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # small window
        stuck.connect(("127.0.0.1", port))
        stuck.sendall(b"GET /live/fat.flv HTTP/1.1\r\nHost: x\r\n\r\n")  # never reads
        lags: list[float] = []
        received = 0
        t0 = time.monotonic()

        async def watch(session: aiohttp.ClientSession) -> None:
            nonlocal received
            async with session.get(server.http("live/fat.flv")) as resp:
                assert resp.status == 200
                reader = FlvReader()
                async for chunk in resp.content.iter_any():
                    for tag in reader.feed(chunk):
                        if tag.tag_type in (AUDIO, VIDEO):
                            received += 1
                            lags.append((time.monotonic() - t0) - tag.timestamp / 1000 / 4.0)

        async with aiohttp.ClientSession() as session:
            watching = asyncio.ensure_future(watch(session))
            await asyncio.sleep(0.3)
            t0 = time.monotonic()
            for t in tags:
                due = t.timestamp / 1000 / 4.0 - (time.monotonic() - t0)
                if due > 0:
                    await asyncio.sleep(due)
                pub.send_media(psid, t.tag_type, t.timestamp, t.payload)
            await asyncio.sleep(0.5)
            pub.close()  # the healthy viewer's response ends with the publisher
            await asyncio.wait_for(watching, 10)
        stuck.close()
        return lags, received

    lags, received = asyncio.run(scenario())
    assert sum(len(t.payload) for t in tags) > 10e6, "the stream must dwarf the bound"
    assert received == sum(1 for t in tags if t.tag_type in (AUDIO, VIDEO)), "healthy lost frames"
    assert max(lags) < 0.5, f"healthy viewer fell {max(lags):.2f}s behind"
    server.wait_log("flv stop", count=2)
    drops = [
        int(m.group(1)) for line in server.log if (m := re.search(r"flv stop .* drops=(\d+)", line))
    ]
    assert len(drops) == 2 and min(drops) == 0 and max(drops) > 0, drops


def test_server_shutdown_ends_viewers_cleanly(
    start_server: Callable[..., LiveServer], sample_flv: Path
) -> None:
    server = start_server('[http]\nflv_wait_s = 30\ncors_origin = ""\n')
    pub = publish(server, "live/a", sample_flv)

    async def scenario() -> None:
        async with aiohttp.ClientSession() as session:
            resp = await session.get(server.http("live/a.flv"))
            assert resp.status == 200
            assert "Access-Control-Allow-Origin" not in resp.headers  # cors_origin = ""
            ws = await session.ws_connect(server.http("live/a.flv"))
            waiting = asyncio.ensure_future(session.get(server.http("live/nobody.flv")))
            await asyncio.sleep(0.5)
            t0 = time.monotonic()
            stopping = asyncio.ensure_future(asyncio.to_thread(server.stop))  # SIGTERM
            body = await asyncio.wait_for(resp.read(), 10)  # ends with the last chunk
            assert body.startswith(b"FLV")
            async for msg in ws:
                assert msg.type == aiohttp.WSMsgType.BINARY
            assert ws.close_code in (1000, 1001), "".join(server.log[-12:])
            late = await asyncio.wait_for(waiting, 10)
            assert late.status == 404, "a request still waiting for a publisher gets its 404"
            assert await stopping == 0
            assert time.monotonic() - t0 < 8

    try:
        wait_live(server, "live/a")
        asyncio.run(scenario())
    finally:
        pub.kill()
        pub.wait()
    assert sum("flv stop" in line for line in server.log) == 2
