"""Broken and hostile peers: each gets its connection closed with a logged reason, and
the streams of everyone else keep flowing."""

from __future__ import annotations

import asyncio
import os
import random
import socket
import struct
from pathlib import Path

import pytest

from livecast.media.flv import read_file_tags
from livecast.rtmp import events as ev
from livecast.rtmp.chunk import ChunkWriter
from livecast.rtmp.handshake import ClientHandshake
from livecast.server.rtmp_client import RtmpClient

from .conftest import LiveServer, ffmpeg_sample, small_window_client
from .test_live_rtmp import Collector, av, paced_publish

pytestmark = pytest.mark.integration


def handshaken(port: int) -> socket.socket:
    """A raw socket past a valid plain handshake."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    hs = ClientHandshake(os.urandom(4096), digest=False)
    sock.sendall(hs.initiate())
    while not hs.complete:
        data = sock.recv(65536)
        assert data, "server closed during the handshake"
        sock.sendall(hs.receive_data(data))
    return sock


def closed_by_server(sock: socket.socket, timeout: float = 5.0) -> bool:
    sock.settimeout(timeout)
    try:
        while True:
            if not sock.recv(65536):
                return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except TimeoutError:
        return False
    finally:
        sock.close()


def command(payload: bytes) -> bytes:
    """A command message (type 20) as the first message of a fresh connection."""
    return ChunkWriter().write(3, 20, 0, 0, payload)


def attacks(port: int, rng: random.Random) -> list[socket.socket]:
    """Each attack leaves its socket open for the server to close."""
    out = []
    # 1. not RTMP at all
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    out.append(s)
    # 2. RTMPE
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"\x06" + os.urandom(1536))
    out.append(s)
    # 3. random chunk stream after a valid handshake
    for _ in range(5):
        s = handshaken(port)
        s.sendall(bytes(rng.getrandbits(8) for _ in range(4000)))
        out.append(s)
    # 4. a message header announcing more than the message size cap
    s = handshaken(port)
    s.sendall(b"\x03" + b"\x00\x00\x00" + struct.pack(">I", 0xFFFFFF)[1:] + b"\x14" + bytes(4))
    s.sendall(bytes(200))
    out.append(s)
    # 5. a command before connect
    s = handshaken(port)
    s.sendall(command(b"\x02\x00\x0ccreateStream\x00\x40\x00" + bytes(6) + b"\x05"))
    out.append(s)
    # 6. a connect whose AMF is cut short
    s = handshaken(port)
    s.sendall(command(b"\x02\x00\x07connect\x00\x3f\xf0" + bytes(6) + b"\x03\x00"))
    out.append(s)
    # 7. AMF nested far deeper than the cap
    s = handshaken(port)
    s.sendall(command(b"\x02\x00\x07connect" + b"\x0a\x00\x00\x00\x01" * 3000))
    out.append(s)
    return out


def test_bad_peers_are_closed_and_streams_keep_flowing(
    server: LiveServer, sample_flv: Path
) -> None:
    tags = read_file_tags(sample_flv.read_bytes())
    rng = random.Random(7)

    async def scenario() -> list[socket.socket]:
        viewer, _ = await RtmpClient.open(server.rtmp("live"))
        sid = await viewer.create_stream()
        await viewer.play(sid, "ok")
        got = Collector()
        viewer.on_media = got
        pub, _ = await RtmpClient.open(server.rtmp("live"))
        psid = await pub.create_stream()
        await pub.publish(psid, "ok")
        half = len(tags) // 2
        await paced_publish(pub, psid, tags[:half], speed=8)
        bad = await asyncio.to_thread(attacks, server.rtmp_port, rng)
        await paced_publish(pub, psid, tags[half:], speed=8)
        await asyncio.sleep(0.5)
        assert got.media == av(tags), "the healthy player lost media while bad peers came"
        pub.close()
        viewer.close()
        return bad

    bad = asyncio.run(scenario())
    closed = [closed_by_server(s) for s in bad]
    assert all(closed), f"connections left open: {closed}"
    server.wait_log("protocol error", count=8)
    log = "".join(server.log)
    assert "Traceback" not in log
    for reason in ("RTMPE", "looks like an HTTP request", "exceeds the limit", "before connect",
                   "nest", "data ends"):  # fmt: skip
        assert reason in log, f"no {reason!r} in the log:\n{log}"


def test_a_peer_that_asks_for_bursts_but_never_reads_is_bounded(
    start_server: object, media_dir: Path
) -> None:
    """play/closeStream again and again without reading: each play would be a GOP burst."""
    server: LiveServer = start_server(  # type: ignore[operator]
        "[rtmp]\nplayer_queue_bytes = 262144\ngop_cache_max_bytes = 4194304\n"
        "[hls]\nenabled = false\n"
    )
    media = ffmpeg_sample(media_dir / "gop4.flv", seconds=5, size="640x360", vbitrate="3000k",
                          gop=120)  # fmt: skip
    tags = read_file_tags(media.read_bytes())

    async def scenario() -> None:
        pub, _ = await RtmpClient.open(server.rtmp("live"))
        psid = await pub.create_stream()
        await pub.publish(psid, "burst")
        await paced_publish(pub, psid, tags[: len(tags) // 2], speed=8)  # a big GOP cached
        sock, session = small_window_client(server)
        created = False
        while not created:
            events = session.receive_data(sock.recv(65536))
            created = any(isinstance(e, ev.StreamCreated) for e in events)
            sock.sendall(session.data_to_send())
        for _ in range(400):  # never reads again
            session.play(1, "burst")
            session.close_stream(1)
            try:
                await asyncio.to_thread(sock.sendall, session.data_to_send())
            except OSError:
                break  # the server gave up on us: fine
        await asyncio.sleep(0.5)
        sock.close()
        pub.close()

    asyncio.run(scenario())
    # What the server queued for the peer that never reads stays near its bounds (one
    # player queue + one GOP burst + one message = 12.3 MB here); 400 unbounded bursts
    # would be about 300 MB. (Bursts share the frames' bytes, so RSS would not show it.)
    queued = sum(int(line.split(" out=")[1].split()[0]) for line in server.log if " stop " in line)
    assert queued < 25e6, f"{queued / 1e6:.0f} MB queued for a peer that never reads"


def test_a_peer_that_never_connects_is_closed_after_the_handshake_timeout(
    start_server: object,
) -> None:
    server: LiveServer = start_server("[rtmp]\nhandshake_timeout_s = 0.5\n")  # type: ignore[operator]
    silent = socket.create_connection(("127.0.0.1", server.rtmp_port))  # sends nothing
    stalled = handshaken(server.rtmp_port)  # handshake, then no connect
    assert closed_by_server(silent, timeout=3)
    assert closed_by_server(stalled, timeout=3)
    server.wait_log("no connect within 0.5s", count=2)
