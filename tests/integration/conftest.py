"""Fixtures for tests against a real livecast process and real clients over loopback."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from livecast.media.flv import FlvTag, read_file_tags
from livecast.rtmp.session import ClientSession

READY = re.compile(r"livecast ready rtmp=(\S+):(\d+) http=(\S+?)(?::(\d+))?$")
LIVECAST = [sys.executable, "-m", "livecast"]


def ffmpeg_sample(
    path: Path,
    *,
    seconds: float,
    size: str = "320x240",
    rate: int = 30,
    gop: int = 30,
    vbitrate: str = "400k",
) -> Path:
    """An H.264 (with B-frames, like OBS's x264) + AAC FLV made on the spot."""
    if not path.exists():
        subprocess.run(
            [
                "ffmpeg",
                "-hide_banner",
                "-loglevel",
                "error",
                "-y",
                "-f",
                "lavfi",
                "-i",
                f"testsrc2=size={size}:rate={rate}",
                "-f",
                "lavfi",
                "-i",
                "sine=frequency=440:sample_rate=44100",
                "-t",
                str(seconds),
                "-c:v",
                "libx264",
                "-preset",
                "veryfast",
                "-b:v",
                vbitrate,
                "-g",
                str(gop),
                "-keyint_min",
                str(gop),
                "-sc_threshold",
                "0",
                "-bf",
                "2",
                "-pix_fmt",
                "yuv420p",
                "-c:a",
                "aac",
                "-b:a",
                "96k",
                "-ar",
                "44100",
                "-f",
                "flv",
                str(path),
            ],
            check=True,
        )
    return path


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("media")


@pytest.fixture(scope="session")
def sample_flv(media_dir: Path) -> Path:
    """8 s, 30 fps, a keyframe every second."""
    return ffmpeg_sample(media_dir / "sample.flv", seconds=8)


@dataclass
class LiveServer:
    proc: subprocess.Popen[str]
    rtmp_port: int
    http_port: int | None
    log: list[str] = field(default_factory=list)
    reader: threading.Thread | None = None  # appends the server's stderr to ``log``

    def wait_log(self, text: str, count: int = 1, timeout: float = 5.0) -> None:
        """Wait until ``text`` appears ``count`` times in the log (read by a thread)."""
        deadline = time.monotonic() + timeout
        while sum(text in line for line in self.log) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{text!r} x{count} not in the log:\n" + "".join(self.log))
            time.sleep(0.02)

    def rtmp(self, path: str) -> str:
        return f"rtmp://127.0.0.1:{self.rtmp_port}/{path}"

    def http(self, path: str) -> str:
        return f"http://127.0.0.1:{self.http_port}/{path.lstrip('/')}"

    def rss_kb(self) -> int:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise AssertionError("no VmRSS")

    def streams(self) -> list[dict[str, object]]:
        import urllib.request

        with urllib.request.urlopen(self.http("/api/v1/streams"), timeout=5) as r:
            data: dict[str, list[dict[str, object]]] = json.load(r)
        return data["streams"]

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.reader is not None:
            self.reader.join(5)  # the log is complete once stop() returns
        return self.proc.returncode


def _start(
    tmp_path: Path, config: str = "", *args: str, env: dict[str, str] | None = None
) -> LiveServer:
    cfg = tmp_path / "livecast.toml"
    cfg.write_text(config)
    cmd = [
        *LIVECAST,
        "serve",
        "--config",
        str(cfg),
        "--host",
        "127.0.0.1",
        "--rtmp-port",
        "0",
        "--http-port",
        "0",
        *args,
    ]
    proc = subprocess.Popen(
        cmd,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        # A fixed mmap threshold makes glibc return freed large buffers at once, so that
        # RSS measures live memory rather than what the allocator kept for later.
        env={
            **os.environ,
            "PYTHONUNBUFFERED": "1",
            "MALLOC_MMAP_THRESHOLD_": "65536",
            **(env or {}),
        },
    )
    assert proc.stderr is not None
    lines: list[str] = []
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line:
            raise AssertionError("livecast exited before ready:\n" + "".join(lines))
        lines.append(line)
        m = READY.search(line.strip())
        if m:
            server = LiveServer(
                proc, int(m.group(2)), int(m.group(4)) if m.group(4) else None, lines
            )
            # keep reading so the server never blocks on its log
            server.reader = threading.Thread(target=lines.extend, args=(proc.stderr,), daemon=True)
            server.reader.start()
            return server
    proc.kill()
    raise AssertionError("no ready line:\n" + "".join(lines))


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[Callable[..., LiveServer]]:
    servers: list[LiveServer] = []

    def start(config: str = "", *args: str, env: dict[str, str] | None = None) -> LiveServer:
        server = _start(tmp_path, config, *args, env=env)
        servers.append(server)
        return server

    yield start
    for server in servers:
        code = server.stop()
        log = "".join(server.log)
        assert code == 0, f"livecast exited {code}:\n{log}"
        assert "Traceback" not in log, log


@pytest.fixture
def server(start_server: Callable[..., LiveServer]) -> LiveServer:
    return start_server()


def ffprobe_packets(path: Path) -> list[dict[str, str]]:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_packets", "-of", "json", str(path)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    packets: list[dict[str, str]] = json.loads(out).get("packets", [])
    return packets


def ffprobe_streams(path: Path) -> list[dict[str, object]]:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_streams", "-of", "json", str(path)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    streams: list[dict[str, object]] = json.loads(out)["streams"]
    return streams


def publish(server: LiveServer, path: str, media: Path, *extra: str) -> subprocess.Popen[bytes]:
    """ffmpeg -re publishing a file as it would a live encoder."""
    return subprocess.Popen(
        [
            "ffmpeg",
            "-hide_banner",
            "-loglevel",
            "error",
            "-re",
            "-i",
            str(media),
            "-c",
            "copy",
            *extra,
            "-f",
            "flv",
            server.rtmp(path),
        ],
        stdin=subprocess.DEVNULL,
    )


def record(url: str, out: Path, *extra: str) -> subprocess.Popen[bytes]:
    """ffmpeg as a player writing what it receives, untouched, to a file."""
    return subprocess.Popen(
        [
            "ffmpeg",
            "-hide_banner",
            "-loglevel",
            "error",
            "-y",
            *extra,
            "-i",
            url,
            "-c",
            "copy",
            "-f",
            "flv",
            str(out),
        ],
        stdin=subprocess.DEVNULL,
    )


def fat_looped_tags(media_dir: Path, loops: int = 3) -> list[FlvTag]:
    """An 8 s 640x360 4 Mbit/s sample looped with increasing timestamps (about 4 MB a
    loop, metadata once): far more than the kernel's socket buffers can absorb."""
    media = ffmpeg_sample(media_dir / "fat.flv", seconds=8, size="640x360", vbitrate="4000k")
    once = read_file_tags(media.read_bytes())
    return [
        FlvTag(t.tag_type, t.timestamp + loop * 8000, t.payload)
        for loop in range(loops)
        for t in once
        if loop == 0 or t.tag_type != 18
    ]


def small_window_client(server: LiveServer) -> tuple[socket.socket, ClientSession]:
    """A blocking RTMP client socket whose 4 KB receive buffer is set before connect (so
    the TCP window stays small), with connect and createStream sent."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", server.rtmp_port))
    session = ClientSession(random_bytes=os.urandom(4096), digest=False)
    session.initiate()
    session.connect("live", server.rtmp("live"))
    session.create_stream()
    sock.sendall(session.data_to_send())
    sock.settimeout(5)
    return sock, session
