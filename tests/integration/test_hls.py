"""HLS with real clients: ffmpeg publishes, the m3u8 package reads the playlist, ffprobe
reads the segments, ffmpeg records from the playlist, raw sockets try to leave the folder."""

from __future__ import annotations

import json
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

import m3u8
import pytest

from .conftest import LiveServer, ffmpeg_sample, ffprobe_streams, publish

pytestmark = pytest.mark.integration

VIDEO_FRAME = 1 / 30  # the samples are 30 fps
AUDIO_FRAME = 1024 / 44100  # AAC frames at 44.1 kHz
FFMPEG = ("ffmpeg", "-hide_banner", "-loglevel", "error", "-y")


@pytest.fixture(scope="module")
def sample14(media_dir: Path) -> Path:
    """14 s, 30 fps, a keyframe every second (segments of exactly 2 s)."""
    return ffmpeg_sample(media_dir / "hls14.flv", seconds=14, gop=30)


@pytest.fixture(scope="module")
def sample5(media_dir: Path) -> Path:
    return ffmpeg_sample(media_dir / "hls5.flv", seconds=5, gop=30)


def fetch(url: str) -> tuple[int, dict[str, str], bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def playlist(server: LiveServer, path: str = "live/a") -> m3u8.M3U8 | None:
    status, _, body = fetch(server.http(f"{path}/index.m3u8"))
    if status == 404:
        return None
    assert status == 200, body
    return m3u8.loads(body.decode())


def wait_for(
    server: LiveServer, check: Callable[[m3u8.M3U8], bool], timeout: float = 20.0
) -> m3u8.M3U8:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pl = playlist(server)
        if pl is not None and check(pl):
            return pl
        time.sleep(0.25)
    raise AssertionError(f"playlist never matched; last:\n{pl.dumps() if pl else None}")


def probe_packets(path: Path) -> list[dict[str, str]]:
    out = subprocess.run(
        [
            "ffprobe",
            "-v",
            "error",
            "-show_entries",
            "packet=codec_type,pts_time,dts_time,flags",
            "-of",
            "json",
            str(path),
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    packets: list[dict[str, str]] = json.loads(out).get("packets", [])
    return packets


def check_playlist(pl: m3u8.M3U8) -> None:
    assert pl.version == 3
    assert pl.target_duration >= 2
    assert pl.segments, pl.dumps()
    for seg in pl.segments:
        assert seg.duration <= pl.target_duration, pl.dumps()
        assert seg.current_program_date_time is not None
        assert seg.uri.endswith(".ts")


def test_live_playlist_segments_and_recording(
    start_server: Callable[..., LiveServer], sample14: Path, tmp_path: Path
) -> None:
    server = start_server("[hls]\nwindow = 3\n")
    pub = publish(server, "live/a", sample14)
    recorded = tmp_path / "recorded.ts"
    try:
        wait_for(server, lambda pl: len(pl.segments) >= 2)
        source = server.http("live/a/index.m3u8")
        recorder = subprocess.Popen(
            [*FFMPEG, "-i", source, "-t", "6", "-c", "copy", str(recorded)],
            stdin=subprocess.DEVNULL,
        )
        # ~10 s in: the window of 3 has slid
        first = wait_for(server, lambda pl: pl.media_sequence >= 1)
        second = wait_for(server, lambda pl: pl.media_sequence > first.media_sequence)
        for pl in (first, second):
            check_playlist(pl)
            assert len(pl.segments) == 3
            assert not pl.is_endlist
        # the sequence moves by one per segment that left, and the names move with it
        old = [s.uri for s in first.segments]
        new = [s.uri for s in second.segments]
        gone = [u for u in old if u not in new]
        assert second.media_sequence - first.media_sequence == len(gone) >= 1
        assert old[len(gone) :] == new[: len(old) - len(gone)]
        assert all(abs(s.duration - 2.0) < 0.05 for s in second.segments)

        # segments: each opens on a keyframe, and timestamps run on from one to the next
        files = []
        for n, seg in enumerate(second.segments):
            status, headers, body = fetch(server.http(f"live/a/{seg.uri}"))
            assert status == 200
            assert headers["Content-Type"] == "video/mp2t"
            assert "immutable" in headers["Cache-Control"]
            assert "max-age=31536000" in headers["Cache-Control"]
            assert headers["Access-Control-Allow-Origin"] == "*"
            path = tmp_path / f"seg{n}.ts"
            path.write_bytes(body)
            files.append(path)
        status, headers, _ = fetch(server.http("live/a/index.m3u8"))
        assert headers["Content-Type"] == "application/vnd.apple.mpegurl"
        assert headers["Cache-Control"] == "no-cache"
        assert headers["Access-Control-Allow-Origin"] == "*"
        probes = [probe_packets(f) for f in files]
        for f, packets in zip(files, probes, strict=True):
            assert {s["codec_name"] for s in ffprobe_streams(f)} == {"h264", "aac"}
            first_video = next(p for p in packets if p["codec_type"] == "video")
            assert "K" in first_video["flags"], f"{f.name} does not open on a keyframe"
        for n in range(len(probes) - 1):
            for kind, frame in (("video", VIDEO_FRAME), ("audio", AUDIO_FRAME)):
                before = [float(p["pts_time"]) for p in probes[n] if p["codec_type"] == kind]
                after = [float(p["pts_time"]) for p in probes[n + 1] if p["codec_type"] == kind]
                step = min(after) - max(before)
                # consecutive frames: one frame apart, so the gap (step - frame) < 1 frame
                assert 0 < step < 2 * frame, f"{kind} PTS jumps {step:.4f} s at segment {n}"
            # EXTINF is the distance between the segments' first keyframes
            starts = [
                min(float(p["dts_time"]) for p in probes[i] if p["codec_type"] == "video")
                for i in (n, n + 1)
            ]
            assert abs((starts[1] - starts[0]) - second.segments[n].duration) < 0.002

        assert pub.wait(30) == 0
        ended = wait_for(server, lambda pl: pl.is_endlist, timeout=10)
        check_playlist(ended)
        assert recorder.wait(60) == 0
    finally:
        pub.kill()
        pub.wait()

    codecs = {s["codec_type"]: s["codec_name"] for s in ffprobe_streams(recorded)}
    assert codecs == {"video": "h264", "audio": "aac"}
    packets = probe_packets(recorded)
    video = [p for p in packets if p["codec_type"] == "video"]
    assert "K" in video[0]["flags"]
    assert 5.5 <= float(video[-1]["pts_time"]) - float(video[0]["pts_time"]) <= 6.5
    decoded = subprocess.run(
        ["ffmpeg", "-hide_banner", "-v", "error", "-i", str(recorded), "-f", "null", "-"],
        capture_output=True,
        text=True,
    )
    assert decoded.returncode == 0 and decoded.stderr == "", decoded.stderr


def test_restart_gives_a_discontinuity_and_endlist_again(
    start_server: Callable[..., LiveServer], sample5: Path
) -> None:
    server = start_server()
    assert publish(server, "live/a", sample5).wait(30) == 0
    ended = wait_for(server, lambda pl: pl.is_endlist, timeout=10)
    assert not any(s.discontinuity for s in ended.segments)
    count = len(ended.segments)
    pub = publish(server, "live/a", sample5)
    try:
        live = wait_for(server, lambda pl: len(pl.segments) > count and not pl.is_endlist)
        assert [s.discontinuity for s in live.segments][count - 1 : count + 1] == [False, True]
        assert pub.wait(30) == 0
    finally:
        pub.kill()
        pub.wait()
    again = wait_for(server, lambda pl: pl.is_endlist, timeout=10)
    check_playlist(again)
    assert sum(s.discontinuity for s in again.segments) == 1
    # the new session's PROGRAM-DATE-TIME comes after the old one's
    times = [s.current_program_date_time for s in again.segments]
    assert times == sorted(times)


def test_audio_only_stream_is_cut_on_time(
    start_server: Callable[..., LiveServer], sample5: Path, tmp_path: Path
) -> None:
    server = start_server()
    assert publish(server, "live/a", sample5, "-vn").wait(30) == 0
    pl = wait_for(server, lambda pl: pl.is_endlist, timeout=10)
    check_playlist(pl)
    # cuts wait for the PAT/PMT that libavformat repeats every 100 ms
    assert all(2.0 <= s.duration <= 2.15 for s in pl.segments[:-1]), pl.dumps()
    status, _, body = fetch(server.http(f"live/a/{pl.segments[1].uri}"))
    assert status == 200
    (tmp_path / "a.ts").write_bytes(body)
    assert {s["codec_type"] for s in ffprobe_streams(tmp_path / "a.ts")} == {"audio"}


# -- names from the network --------------------------------------------------------------


def raw_get(server: LiveServer, target: bytes) -> tuple[int, bytes]:
    """A request line sent as is: no client-side normalising of '..' or '%2F'."""
    assert server.http_port is not None
    with socket.create_connection(("127.0.0.1", server.http_port), timeout=10) as sock:
        sock.sendall(b"GET " + target + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body


SECRET = b"#EXTM3U\n# secret outside the HLS folder\n"

TRAVERSALS = [
    b"/live/../../outside/index.m3u8",
    b"/live/..%2F..%2Foutside/index.m3u8",
    b"/%2e%2e/outside/index.m3u8",
    b"/..%2F..%2Foutside/a/index.m3u8",
    b"/live/a/..%2F..%2F..%2Foutside%2Fk-1.ts",
    b"/live/a/..%5C..%5C..%5Coutside%5Ck-1.ts",
    b"/live/a/%2e%2e%2f%2e%2e%2f%2e%2e%2foutside%2fk-1.ts",
    b"/live/a/../../../outside/k-1.ts",
    b"/live/a%00/index.m3u8",
    b"/live/a/k-1.ts%00.ts",
    b"/live/" + b"a" * 300 + b"/index.m3u8",
    b"/live/a/" + b"1" * 300 + b".ts",
    b"/live/a/.tmp-k-1.ts",
    b"/live/a/index.m3u8/../../../outside/index.m3u8",
]


def snapshot(root: Path, skip: Path) -> dict[str, tuple[int, bytes]]:
    return {
        str(p.relative_to(root)): (p.stat().st_mtime_ns, p.read_bytes())
        for p in sorted(root.rglob("*"))
        if p.is_file() and skip not in p.parents
    }


def test_bad_names_never_leave_the_hls_folder(
    start_server: Callable[..., LiveServer], sample5: Path, tmp_path: Path
) -> None:
    hls_dir = tmp_path / "hls"
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "index.m3u8").write_bytes(SECRET)
    (outside / "k-1.ts").write_bytes(SECRET)
    (tmp_path / "index.m3u8").write_bytes(SECRET)
    server = start_server(f'[hls]\ndir = "{hls_dir}"\n')
    before = snapshot(tmp_path, hls_dir)
    pub = publish(server, "live/a", sample5)
    try:
        pl = wait_for(server, lambda pl: len(pl.segments) >= 1)
        folder = hls_dir / "live" / "a"
        # served bytes are the file's bytes; no temporary file is ever listed
        status, _, body = fetch(server.http(f"live/a/{pl.segments[0].uri}"))
        assert status == 200 and body == (folder / pl.segments[0].uri).read_bytes()
        for target in TRAVERSALS:
            status, body = raw_get(server, target)
            assert status in (400, 404), (target, status)
            assert b"secret" not in body, target
        assert pub.wait(30) == 0
    finally:
        pub.kill()
        pub.wait()
    pl = wait_for(server, lambda pl: pl.is_endlist, timeout=10)
    names = sorted(p.name for p in folder.iterdir())
    assert names == sorted(["index.m3u8", *(s.uri for s in pl.segments)])
    assert m3u8.loads((folder / "index.m3u8").read_text()).is_endlist
    assert snapshot(tmp_path, hls_dir) == before  # nothing outside changed or appeared


def test_hls_only_for_the_configured_apps(
    start_server: Callable[..., LiveServer], sample5: Path
) -> None:
    server = start_server('[hls]\napps = ["live"]\n')
    with_hls = publish(server, "live/a", sample5)
    without = publish(server, "other/a", sample5)
    try:
        wait_for(server, lambda pl: len(pl.segments) >= 1)
        assert playlist(server, "other/a") is None  # 404: no HLS for that app
        assert {s["app"] for s in server.streams() if s["live"]} == {"live", "other"}
    finally:
        for proc in (with_hls, without):
            proc.wait(30)
