"""The HLS service with a real hub and frames, and its HTTP handlers on mocked requests."""

from __future__ import annotations

import asyncio
from pathlib import Path

import m3u8
import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from livecast.config import HlsConfig
from livecast.hub.registry import Hub
from livecast.hub.stream import Stream
from livecast.hub.subscriber import Flusher
from livecast.outputs.hls import Hls, base36

from .test_hls_segmenter import av_stream


def make(
    tmp_path: Path | None = None, cors: str = "*", **kw: object
) -> tuple[Hub, Hls, list[float]]:
    loop = asyncio.get_running_loop()
    hub = Hub(Flusher(loop.call_soon, loop.call_later))
    now = [100.0]
    settings: dict[str, object] = {"window": 3, "segment_s": 2.0, "delete_grace_s": 30.0}
    settings.update(kw)
    if tmp_path is not None:
        settings["dir"] = str(tmp_path)
    hls = Hls(
        HlsConfig(**settings),  # type: ignore[arg-type]
        cors_origin=cors,
        clock=lambda: 1_700_000_000.0,
        now=lambda: now[0],
    )
    hub.on_stream_start.append(hls.on_stream_start)
    return hub, hls, now


def publish(hub: Hub, path: str, seconds: float, start: int = 0) -> tuple[Stream, object]:
    app, name = path.split("/")
    publisher = object()
    stream, _ = hub.start_publishing(app, name, publisher)
    for f in av_stream(seconds, start=start):
        stream.publish(f.type_id, f.timestamp, f.payload)
    return stream, publisher


async def get(hls: Hls, path: str) -> web.StreamResponse:
    parts = path.strip("/").split("/")
    match = {"app": parts[0], "stream": parts[1]}
    handler = hls.handle_playlist
    if parts[2] != "index.m3u8":
        match["segment"] = parts[2]
        handler = hls.handle_segment
    request = make_mocked_request("GET", path, match_info=match)
    try:
        return await handler(request)
    except web.HTTPException as exc:
        return exc


async def playlist(hls: Hls, path: str = "/live/a/index.m3u8") -> m3u8.M3U8:
    resp = await get(hls, path)
    assert resp.status == 200
    assert isinstance(resp, web.Response) and resp.body is not None
    return m3u8.loads(bytes(resp.body).decode())


def test_base36() -> None:
    assert [base36(n) for n in (0, 35, 36, 1_700_000_000_000)] == ["0", "z", "10", "loyw3v28"]


async def test_live_playlist_and_segments_with_headers() -> None:
    hub, hls, _ = make()
    stream, pub = publish(hub, "live/a", 9)
    pl = await playlist(hls)
    # segments of 2 s at 0, 2, 4, 6 s are finished (the one from 8 s is still open);
    # the window of 3 lists 1, 2, 3
    assert pl.media_sequence == 1
    assert pl.target_duration == 2
    assert not pl.is_endlist
    assert [s.duration for s in pl.segments] == [2.0, 2.0, 2.0]
    instance = base36(1_700_000_000_000)
    assert [s.uri for s in pl.segments] == [f"{instance}-{n}.ts" for n in (1, 2, 3)]
    resp = await get(hls, "/live/a/index.m3u8")
    assert resp.headers["Content-Type"] == "application/vnd.apple.mpegurl"
    assert resp.headers["Cache-Control"] == "no-cache"
    assert resp.headers["Access-Control-Allow-Origin"] == "*"
    seg = await get(hls, f"/live/a/{pl.segments[0].uri}")
    assert seg.status == 200
    assert seg.headers["Content-Type"] == "video/mp2t"
    assert seg.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert isinstance(seg, web.Response) and seg.body is not None
    assert len(bytes(seg.body)) % 188 == 0 and bytes(seg.body)[0] == 0x47
    # the segment that left the window is still served during its grace
    assert (await get(hls, f"/live/a/{instance}-0.ts")).status == 200
    hub.stop_publishing(stream, pub)
    pl = await playlist(hls)
    assert pl.is_endlist
    assert [s.duration for s in pl.segments] == [2.0, 2.0, 1.0]


async def test_restart_continues_with_a_discontinuity() -> None:
    hub, hls, _ = make()
    stream, pub = publish(hub, "live/a", 5)
    hub.stop_publishing(stream, pub)
    assert (await playlist(hls)).is_endlist
    stream, pub = publish(hub, "live/a", 5, start=stream.timeline.last_out + 1)
    pl = await playlist(hls)
    assert not pl.is_endlist
    # before: 0-2, 2-4, 4-5 (last); after the restart: 0-2, 2-4 finished so far
    assert [s.duration for s in pl.segments] == [1.0, 2.0, 2.0]
    assert [s.discontinuity for s in pl.segments] == [False, True, False]
    assert pl.media_sequence == 2


async def test_old_segments_deleted_after_their_grace() -> None:
    hub, hls, now = make(delete_grace_s=5.0)
    stream, pub = publish(hub, "live/a", 9)
    instance = base36(1_700_000_000_000)
    state = hls.streams[("live", "a")]
    # segment 0 left the window when segment 3 came: it is kept max(5, 6 + 2) = 8 s
    assert state.store.get(f"{instance}-0.ts") is not None
    now[0] += 8.0
    state.purge(now[0])
    assert state.store.get(f"{instance}-0.ts") is None
    assert (await get(hls, f"/live/a/{instance}-0.ts")).status == 404
    assert state.store.get(f"{instance}-1.ts") is not None
    hub.stop_publishing(stream, pub)


async def test_ended_stream_dropped_after_grace(tmp_path: Path) -> None:
    hub, hls, _ = make(tmp_path, delete_grace_s=0.05)
    stream, pub = publish(hub, "live/a", 3)
    folder = tmp_path / "live" / "a"
    assert (folder / "index.m3u8").exists()
    hub.stop_publishing(stream, pub)
    assert "#EXT-X-ENDLIST" in (folder / "index.m3u8").read_text()
    await asyncio.sleep(0.2)
    assert (await get(hls, "/live/a/index.m3u8")).status == 404
    assert not folder.exists()
    assert ("live", "a") not in hls.streams


async def test_restart_within_grace_keeps_the_stream(tmp_path: Path) -> None:
    hub, hls, _ = make(tmp_path, delete_grace_s=0.1)
    stream, pub = publish(hub, "live/a", 3)
    hub.stop_publishing(stream, pub)
    stream, pub = publish(hub, "live/a", 3, start=stream.timeline.last_out + 1)
    await asyncio.sleep(0.3)
    assert (await get(hls, "/live/a/index.m3u8")).status == 200
    hub.stop_publishing(stream, pub)


async def test_directory_mode_serves_files(tmp_path: Path) -> None:
    hub, hls, _ = make(tmp_path)
    stream, pub = publish(hub, "live/a", 5)
    pl = await playlist(hls)
    folder = tmp_path / "live" / "a"
    served = await get(hls, "/live/a/index.m3u8")
    assert isinstance(served, web.Response) and served.body is not None
    assert (folder / "index.m3u8").read_bytes() == bytes(served.body)
    resp = await get(hls, f"/live/a/{pl.segments[0].uri}")
    assert isinstance(resp, web.FileResponse)
    assert resp.headers["Content-Type"] == "video/mp2t"
    names = sorted(p.name for p in folder.iterdir())
    assert names == sorted(["index.m3u8", *(s.uri for s in pl.segments)])
    hub.stop_publishing(stream, pub)
    hls.close()
    assert not folder.exists()


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/live/nope/index.m3u8", 404),
        ("/nope/a/index.m3u8", 404),
        ("/live/a/zzzz-0.ts", 404),
        ("/live/a/a-99.ts", 404),
        ("/live/a/x.ts", 404),
        ("/../a/index.m3u8", 400),
        ("/live/../index.m3u8", 400),
        ("/live/.\\../index.m3u8", 400),
        ("/live/a\x00b/index.m3u8", 400),
        ("/live/" + "a" * 256 + "/index.m3u8", 400),
        ("/live/a/..\\..\\x.ts", 400),
        ("/live/a/" + "1" * 70 + ".ts", 400),
        ("/live/a/a-1.ts\x00.ts", 400),
        ("/live/\x01/index.m3u8", 400),
    ],
)
async def test_bad_and_unknown_names(path: str, status: int) -> None:
    hub, hls, _ = make()
    stream, pub = publish(hub, "live/a", 3)
    resp = await get(hls, path)
    assert resp.status == status
    assert resp.headers["Access-Control-Allow-Origin"] == "*"
    hub.stop_publishing(stream, pub)


async def test_path_parameters_with_slashes_are_refused() -> None:
    # aiohttp's router never puts '/' in a match, but the handler does not rely on it
    _, hls, _ = make()
    for match in (
        {"app": "live", "stream": "../../etc"},
        {"app": "../..", "stream": "a"},
        {"app": "live", "stream": "a", "segment": "../../k-0.ts"},
    ):
        handler = hls.handle_segment if "segment" in match else hls.handle_playlist
        with pytest.raises(web.HTTPBadRequest):
            await handler(make_mocked_request("GET", "/x", match_info=match))


async def test_bad_stream_names_get_no_hls(tmp_path: Path) -> None:
    hub, hls, _ = make(tmp_path)
    for app, name in (("..", "a"), ("live", ".."), ("a/b", "c")):
        stream = hub.stream(app, name)
        stream.start_publishing(object())
        hls.on_stream_start(stream)
        assert not stream.listeners
    assert hls.streams == {}
    assert list(tmp_path.iterdir()) == []


async def test_no_cors_header_when_disabled() -> None:
    hub, hls, _ = make(cors="")
    stream, pub = publish(hub, "live/a", 3)
    resp = await get(hls, "/live/a/index.m3u8")
    assert "Access-Control-Allow-Origin" not in resp.headers
    hub.stop_publishing(stream, pub)


async def test_no_endlist_when_disabled() -> None:
    hub, hls, _ = make(endlist=False)
    stream, pub = publish(hub, "live/a", 3)
    hub.stop_publishing(stream, pub)
    assert not (await playlist(hls)).is_endlist


async def test_a_segment_that_cannot_be_stored_leaves_a_discontinuity(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub, hls, _ = make(tmp_path)
    app, name = "live", "a"
    publisher = object()
    stream, _ = hub.start_publishing(app, name, publisher)
    state = hls.streams[(app, name)]
    real_put = state.store.put
    calls = []

    def flaky(seg_name: str, data: bytes) -> None:
        calls.append(seg_name)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        real_put(seg_name, data)

    monkeypatch.setattr(state.store, "put", flaky)
    for f in av_stream(9):
        stream.publish(f.type_id, f.timestamp, f.payload)
    pl = await playlist(hls)
    # segments 0-2 s, (2-4 s lost), 4-6 s, 6-8 s: a discontinuity where the gap is
    assert [s.duration for s in pl.segments] == [2.0, 2.0, 2.0]
    assert [s.discontinuity for s in pl.segments] == [False, True, False]
    hub.stop_publishing(stream, publisher)
