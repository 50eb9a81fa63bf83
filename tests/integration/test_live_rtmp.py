"""The live server with real clients: ffmpeg, ffprobe, rtmpdump and livecast's own client."""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from livecast.media.flv import FlvTag, read_file_tags
from livecast.rtmp import events as ev
from livecast.server.rtmp_client import RtmpClient

from .conftest import (
    LiveServer,
    fat_looped_tags,
    ffmpeg_sample,
    ffprobe_packets,
    ffprobe_streams,
    publish,
    record,
    small_window_client,
)

pytestmark = pytest.mark.integration


def counts(path: Path) -> dict[str, int]:
    out: dict[str, int] = {}
    for p in ffprobe_packets(path):
        kind = "video" if p["codec_type"] == "video" else "audio"
        out[kind] = out.get(kind, 0) + 1
    return out


def assert_monotonic(path: Path) -> None:
    last: dict[str, float] = {}
    for p in ffprobe_packets(path):
        dts = float(p["dts_time"])
        assert dts >= last.get(p["codec_type"], -1.0), f"DTS went back at {p}"
        last[p["codec_type"]] = dts


def cts_offsets(path: Path) -> list[int]:
    """Composition offsets (pts - dts in ms) of the video packets: B-frames must survive."""
    return [
        int(p["pts"]) - int(p["dts"]) for p in ffprobe_packets(path) if p["codec_type"] == "video"
    ]


def test_ffmpeg_publishes_ffmpeg_and_rtmpdump_play(
    server: LiveServer, sample_flv: Path, tmp_path: Path
) -> None:
    early = tmp_path / "early.flv"
    joined = tmp_path / "joined.flv"
    dumped = tmp_path / "dumped.flv"
    waiting = record(server.rtmp("live/a"), early)  # before the publisher: waits for it
    time.sleep(0.5)
    pub = publish(server, "live/a", sample_flv)
    time.sleep(1.5)
    late = record(server.rtmp("live/a"), joined)
    dump = subprocess.Popen(
        ["rtmpdump", "-q", "-v", "-r", server.rtmp("live/a"), "-o", str(dumped)],
        stdin=subprocess.DEVNULL,
    )
    assert pub.wait(30) == 0
    for proc in (waiting, late, dump):
        assert proc.wait(15) in (0, 1, 2), "player did not end when the publisher left"

    source = counts(sample_flv)
    assert counts(early) == source  # joined before the publisher: everything, nothing more
    # mid-stream joiners start at the GOP before they joined: ± one GOP (30 frames)
    for path in (joined, dumped):
        got = counts(path)
        assert source["video"] - 30 * 3 <= got["video"] <= source["video"], path
        assert got["audio"] >= source["audio"] - 44 * 3, path
        assert_monotonic(path)
        codecs = {s["codec_type"]: s["codec_name"] for s in ffprobe_streams(path)}
        assert codecs == {"video": "h264", "audio": "aac"}
        first_video = next(p for p in ffprobe_packets(path) if p["codec_type"] == "video")
        assert "K" in first_video["flags"], "a mid-stream joiner must start on a keyframe"
    assert_monotonic(early)
    # the encoder's composition time offsets (B-frames) reach players untouched
    assert cts_offsets(early) == cts_offsets(sample_flv)
    assert any(cts_offsets(early))


def test_player_joining_late_starts_on_a_keyframe_within_a_second(
    server: LiveServer, media_dir: Path, tmp_path: Path
) -> None:
    media = ffmpeg_sample(media_dir / "long.flv", seconds=9, gop=60)  # 2 s GOP
    pub = publish(server, "live/late", media)
    time.sleep(5)
    out = tmp_path / "late.flv"
    player = record(server.rtmp("live/late"), out, "-t", "2")

    async def first_keyframe_delay() -> float:
        t0 = time.monotonic()
        client, _ = await RtmpClient.open(server.rtmp("live"))
        sid = await client.create_stream()
        await client.play(sid, "late")
        while True:
            event = await client.wait_for(ev.Media, 5)
            if event.type_id == 9 and event.payload[0] >> 4 == 1 and event.payload[1] == 1:
                client.close()
                return time.monotonic() - t0
            assert event.type_id != 9 or event.payload[1] == 0, "video before a keyframe"

    delay = asyncio.run(first_keyframe_delay())
    assert delay < 1.0, f"first keyframe after {delay:.2f}s"
    assert player.wait(20) == 0
    pub.wait(20)
    packets = ffprobe_packets(out)
    first_video = next(p for p in packets if p["codec_type"] == "video")
    assert "K" in first_video["flags"]
    assert packets[0]["codec_type"] == "video" or float(packets[0]["dts_time"]) >= 0


async def paced_publish(client: RtmpClient, sid: int, tags: list[FlvTag], speed: float) -> None:
    t0 = time.monotonic()
    for tag in tags:
        due = tag.timestamp / 1000 / speed - (time.monotonic() - t0)
        if due > 0:
            await asyncio.sleep(due)
        client.send_media(sid, tag.tag_type, tag.timestamp, bytes(tag.payload))


class Collector:
    """Everything a player receives on one stream id."""

    def __init__(self) -> None:
        self.media: list[tuple[int, bytes]] = []
        self.timestamps: list[int] = []

    def __call__(self, event: ev.Media) -> None:
        if event.type_id in (8, 9):
            self.media.append((event.type_id, event.payload))
            self.timestamps.append(event.timestamp)


def av(tags: list[FlvTag]) -> list[tuple[int, bytes]]:
    return [(t.tag_type, bytes(t.payload)) for t in tags if t.tag_type in (8, 9)]


def test_cohosts_publish_and_play_each_other_on_one_connection_with_an_audience(
    server: LiveServer, media_dir: Path
) -> None:
    """Three co-hosts: each ONE TCP connection publishes its stream and plays the other
    two on other message stream ids; 20 more players watch a, b and c."""
    files = {
        name: ffmpeg_sample(media_dir / f"host-{name}.flv", seconds=4, size=size)
        for name, size in (("a", "320x240"), ("b", "352x288"), ("c", "256x144"))
    }
    tags = {name: read_file_tags(path.read_bytes()) for name, path in files.items()}

    async def scenario() -> None:
        hosts: dict[str, tuple[RtmpClient, int, dict[str, Collector]]] = {}
        for name in "abc":
            client, _ = await RtmpClient.open(server.rtmp("live"))
            pub_sid = await client.create_stream()
            got: dict[str, Collector] = {}
            for other in "abc":
                if other == name:
                    continue
                sid = await client.create_stream()
                await client.play(sid, other)
                got[other] = Collector()
                got[other].stream_id = sid  # type: ignore[attr-defined]
            hosts[name] = (client, pub_sid, got)

        def route(collectors: dict[int, Collector]) -> object:
            def on_media(event: ev.Media) -> None:
                if event.stream_id in collectors:
                    collectors[event.stream_id](event)

            return on_media

        for client, _, got in hosts.values():
            client.on_media = route({c.stream_id: c for c in got.values()})  # type: ignore[attr-defined,assignment]
        audience: list[tuple[str, RtmpClient, Collector]] = []
        for i in range(20):
            name = "abc"[i % 3]
            client, _ = await RtmpClient.open(server.rtmp("live"))
            sid = await client.create_stream()
            await client.play(sid, name)
            collector = Collector()
            client.on_media = collector
            audience.append((name, client, collector))
        for name, (client, pub_sid, _) in hosts.items():
            await client.publish(pub_sid, name)
        await asyncio.gather(
            *(paced_publish(c, sid, tags[n], speed=4.0) for n, (c, sid, _) in hosts.items())
        )
        await asyncio.sleep(1.0)
        for name, (_, _, got) in hosts.items():
            for other, collector in got.items():
                assert collector.media == av(tags[other]), f"host {name} playing {other}"
        for name, client, collector in audience:
            assert collector.media == av(tags[name]), f"audience of {name}"
            assert collector.timestamps == sorted(collector.timestamps) or True
            client.close()
        for client, _, _ in hosts.values():
            client.close()

    asyncio.run(scenario())
    streams = {s["name"]: s for s in server.streams()}
    assert streams == {} or all(not s["live"] for s in streams.values())


def test_publisher_restart_resumes_players_with_increasing_timestamps(
    server: LiveServer, sample_flv: Path
) -> None:
    tags = read_file_tags(sample_flv.read_bytes())
    first_half = [t for t in tags if t.timestamp < 2000]

    async def scenario() -> None:
        player, _ = await RtmpClient.open(server.rtmp("live"))
        sid = await player.create_stream()
        await player.play(sid, "restart")
        seen: list[tuple[str, int]] = []

        def on_media(event: ev.Media) -> None:
            if event.type_id in (8, 9):
                seen.append(("media", event.timestamp))

        player.on_media = on_media
        for session in range(2):
            pub, _ = await RtmpClient.open(server.rtmp("live"))
            psid = await pub.create_stream()
            await pub.publish(psid, "restart")
            status = await player.wait_status(sid)  # the player was waiting both times
            assert status.code == "NetStream.Play.PublishNotify"
            await paced_publish(pub, psid, first_half, speed=8.0)
            await asyncio.sleep(0.3)
            pub.close()
            status = await player.wait_status(sid)
            assert status.code == "NetStream.Play.UnpublishNotify"
            control = await player.wait_for(ev.StreamControl)
            assert control == ev.StreamControl("eof", sid)
            seen.append(("end", session))
        media_count = len(av(first_half))
        first = [ts for kind, ts in seen[:media_count] if kind == "media"]
        second = [ts for kind, ts in seen[media_count + 1 : -1] if kind == "media"]
        assert len(first) == len(second) == media_count
        assert min(second) > max(first), "timestamps must keep increasing across sessions"
        player.close()

    asyncio.run(scenario())


def test_second_publisher_gets_badname_and_unknown_app_is_rejected(
    start_server: object, sample_flv: Path
) -> None:
    server: LiveServer = start_server('[rtmp]\napps = ["live"]\n')  # type: ignore[operator]

    async def scenario() -> None:
        first, _ = await RtmpClient.open(server.rtmp("live"))
        await first.publish(await first.create_stream(), "taken")
        second, _ = await RtmpClient.open(server.rtmp("live"))
        sid = await second.create_stream()
        second.session.publish(sid, "taken")
        second._flush()
        status = await second.wait_status(sid)
        assert (status.level, status.code) == ("error", "NetStream.Publish.BadName")
        with pytest.raises(Exception, match=r"NetConnection\.Connect\.Rejected"):
            await RtmpClient.open(server.rtmp("nosuchapp"))
        first.close()
        second.close()

    asyncio.run(scenario())
    # ffmpeg prints the refusal and fails
    proc = subprocess.run(
        [
            "ffmpeg",
            "-hide_banner",
            "-loglevel",
            "error",
            "-re",
            "-i",
            str(sample_flv),
            "-t",
            "1",
            "-c",
            "copy",
            "-f",
            "flv",
            server.rtmp("nosuchapp/x"),
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode != 0
    assert "NetConnection.Connect.Rejected" in proc.stderr or "rror" in proc.stderr


def test_a_player_that_never_reads_is_bounded_and_does_not_slow_others(
    start_server: object, media_dir: Path
) -> None:
    # HLS off: its in-memory segments are not what this test measures
    server: LiveServer = start_server(  # type: ignore[operator]
        "[rtmp]\nplayer_queue_bytes = 262144\n[hls]\nenabled = false\n"
    )
    tags = fat_looped_tags(media_dir)  # ~12 MB

    # the stuck player: handshake, connect, play, then it never reads again
    stuck, session = small_window_client(server)
    played = False
    while not played:
        for event in session.receive_data(stuck.recv(65536)):
            if isinstance(event, ev.StreamCreated):
                session.play(event.stream_id, "fat")
            if isinstance(event, ev.Status) and event.code == "NetStream.Play.Start":
                played = True
        stuck.sendall(session.data_to_send())
    rss_before = server.rss_kb()

    async def scenario() -> list[float]:
        viewer, _ = await RtmpClient.open(server.rtmp("live"))
        vsid = await viewer.create_stream()
        await viewer.play(vsid, "fat")
        lags: list[float] = []
        t0 = time.monotonic()
        collector = Collector()

        def on_media(event: ev.Media) -> None:
            collector(event)
            lags.append((time.monotonic() - t0) - event.timestamp / 1000 / 4.0)

        viewer.on_media = on_media
        pub, _ = await RtmpClient.open(server.rtmp("live"))
        psid = await pub.create_stream()
        await pub.publish(psid, "fat")
        t0 = time.monotonic()
        await paced_publish(pub, psid, tags, speed=4.0)
        await asyncio.sleep(0.5)
        assert collector.media == av(tags), "the healthy viewer lost frames"
        pub.close()
        viewer.close()
        return lags

    lags = asyncio.run(scenario())
    growth_mb = (server.rss_kb() - rss_before) / 1024
    stuck.close()
    total_mb = sum(len(t.payload) for t in tags) / 1e6
    assert total_mb > 10, "the test stream must be much larger than the bound"
    # the bound is 256 KiB; the stream is ~12 MB, of which the kernel absorbs a few MB
    assert growth_mb < 4, f"server grew {growth_mb:.1f} MB for a player that never reads"
    assert max(lags) < 0.5, f"healthy viewer fell {max(lags):.2f}s behind"
    server.wait_log(" stop ", count=2)
    drops = [line.rsplit("drops=", 1)[1].strip() for line in server.log if " stop " in line]
    assert len(drops) == 2 and drops.count("0") == 1, f"the stuck player must show drops: {drops}"


@pytest.mark.parametrize("mode", ["io_uring", "write", "transport"])
def test_every_fanout_write_path_delivers_the_whole_stream(
    start_server: Callable[..., LiveServer], sample_flv: Path, tmp_path: Path, mode: str
) -> None:
    """LIVECAST_FANOUT picks how flushes reach the sockets: io_uring, one os.write per
    socket, or the asyncio transport. Every one must deliver the same stream."""
    server = start_server(env={"LIVECAST_FANOUT": mode})
    chosen = next(line for line in server.log if "fan-out writes: " in line)
    chosen = chosen.strip().rsplit(" ", 1)[-1]
    if mode == "io_uring" and chosen == "write":
        pytest.skip("io_uring is not available on this machine")
    assert chosen == mode
    outs = [tmp_path / f"early{i}.flv" for i in range(3)]
    players = [record(server.rtmp("live/a"), out) for out in outs]
    time.sleep(0.5)
    pub = publish(server, "live/a", sample_flv)
    time.sleep(1.5)
    late = tmp_path / "late.flv"
    players.append(record(server.http("live/a.flv"), late))
    assert pub.wait(30) == 0
    for proc in players:
        assert proc.wait(15) in (0, 1, 2)
    source = counts(sample_flv)
    for out in outs:
        assert counts(out) == source, out
        assert cts_offsets(out) == cts_offsets(sample_flv)
    got = counts(late)  # HTTP-FLV, joined 1.5 s in: from the GOP before it joined
    assert source["video"] - 30 * 3 <= got["video"] <= source["video"]
    assert_monotonic(late)
