"""Player controls, conflicts, timeouts and shutdown, over real sockets."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from livecast.media.flv import FlvTag, read_file_tags
from livecast.rtmp import events as ev
from livecast.server.rtmp_client import RtmpClient, RtmpError

from .conftest import LiveServer
from .test_live_rtmp import paced_publish

pytestmark = pytest.mark.integration

Start = Callable[..., LiveServer]


async def player(server: LiveServer, name: str) -> tuple[RtmpClient, int, list[ev.Media]]:
    client, _ = await RtmpClient.open(server.rtmp("live"))
    sid = await client.create_stream()
    await client.play(sid, name)
    got: list[ev.Media] = []
    client.on_media = got.append
    return client, sid, got


async def publisher(server: LiveServer, name: str) -> tuple[RtmpClient, int]:
    client, _ = await RtmpClient.open(server.rtmp("live"))
    sid = await client.create_stream()
    await client.publish(sid, name)
    return client, sid


async def wait_code(client: RtmpClient, sid: int, code: str) -> None:
    while (await client.wait_status(sid)).code != code:
        pass


def kinds(media: list[ev.Media]) -> set[int]:
    return {m.type_id for m in media}


def test_receive_video_false_pause_and_unpause(server: LiveServer, sample_flv: Path) -> None:
    tags = read_file_tags(sample_flv.read_bytes())
    parts = tags
    third = len(parts) // 3

    async def scenario() -> None:
        viewer, vsid, got = await player(server, "ctl")
        pub, psid = await publisher(server, "ctl")
        await paced_publish(pub, psid, parts[:third], speed=8)
        await asyncio.sleep(0.3)
        assert {8, 9} <= kinds(got)

        viewer.call(lambda s: s.receive_media(vsid, "video", False))
        await asyncio.sleep(0.3)
        got.clear()
        await paced_publish(pub, psid, parts[third : 2 * third], speed=8)
        await asyncio.sleep(0.3)
        assert kinds(got) == {8}, "receiveVideo false: audio only"

        viewer.call(lambda s: s.receive_media(vsid, "video", True))
        viewer.call(lambda s: s.pause(vsid, True, 0.0))
        await wait_code(viewer, vsid, "NetStream.Pause.Notify")
        got.clear()
        await paced_publish(pub, psid, parts[2 * third : 2 * third + 60], speed=8)
        await asyncio.sleep(0.3)
        assert got == [], "paused: nothing"

        viewer.call(lambda s: s.pause(vsid, False, 0.0))
        await wait_code(viewer, vsid, "NetStream.Unpause.Notify")
        await paced_publish(pub, psid, parts[2 * third + 60 :], speed=8)
        await asyncio.sleep(0.3)
        videos = [m for m in got if m.type_id == 9]
        assert videos, "unpaused: media again"
        first_coded = next(m for m in videos if m.payload[1] == 1)
        assert first_coded.payload[0] >> 4 == 1, "after unpause video starts on a keyframe"
        pub.close()
        viewer.close()

    asyncio.run(scenario())


def test_replace_policy_hands_the_name_to_the_new_publisher(
    start_server: Start, sample_flv: Path
) -> None:
    server = start_server('[rtmp]\npublish_conflict = "replace"\n')
    tags = read_file_tags(sample_flv.read_bytes())

    async def scenario() -> None:
        viewer, _, got = await player(server, "swap")
        first, fsid = await publisher(server, "swap")
        await paced_publish(first, fsid, tags[:40], speed=8)
        second, ssid = await publisher(server, "swap")
        await asyncio.wait_for(first.closed.wait(), 5)  # the old one is disconnected
        got.clear()
        await paced_publish(second, ssid, tags[:40], speed=8)
        await asyncio.sleep(0.3)
        assert len(got) >= 35, "the viewer follows the new publisher"
        second.close()
        viewer.close()

    asyncio.run(scenario())


def test_play_wait_timeout_gives_stream_not_found(start_server: Start) -> None:
    server = start_server("[rtmp]\nplay_wait_s = 1.0\n")

    async def scenario() -> float:
        client, _ = await RtmpClient.open(server.rtmp("live"))
        sid = await client.create_stream()
        await client.play(sid, "never")
        t0 = time.monotonic()
        status = await client.wait_status(sid, timeout=5)
        assert (status.level, status.code) == ("error", "NetStream.Play.StreamNotFound")
        client.close()
        return time.monotonic() - t0

    waited = asyncio.run(scenario())
    assert 0.7 < waited < 2.5


def test_silent_publisher_is_disconnected_and_players_hear_it(
    start_server: Start, sample_flv: Path
) -> None:
    server = start_server("[rtmp]\nidle_timeout_s = 1.0\n")
    tags = read_file_tags(sample_flv.read_bytes())

    async def scenario() -> None:
        viewer, vsid, _ = await player(server, "quiet")
        pub, psid = await publisher(server, "quiet")
        await paced_publish(pub, psid, tags[:20], speed=8)
        t0 = time.monotonic()
        status = await viewer.wait_status(vsid, timeout=5)
        assert status.code == "NetStream.Play.PublishNotify"
        status = await viewer.wait_status(vsid, timeout=5)
        assert status.code == "NetStream.Play.UnpublishNotify"
        assert 0.5 < time.monotonic() - t0 < 3
        await asyncio.wait_for(pub.closed.wait(), 5)
        # the name is free again
        again, _asid = await publisher(server, "quiet")
        again.close()
        viewer.close()

    asyncio.run(scenario())
    server.wait_log("sent nothing")


def test_sigterm_tells_players_and_exits_zero(server: LiveServer, sample_flv: Path) -> None:
    tags: list[FlvTag] = read_file_tags(sample_flv.read_bytes())

    async def scenario() -> list[str]:
        viewer, _vsid, _ = await player(server, "bye")
        pub, psid = await publisher(server, "bye")
        await paced_publish(pub, psid, tags[:20], speed=8)
        server.proc.terminate()
        seen: list[str] = []
        try:
            while True:
                event = await viewer.next_event(5)
                if isinstance(event, ev.Status):
                    seen.append(event.code)
                elif isinstance(event, ev.StreamControl):
                    seen.append(event.event)
        except ConnectionError:
            pass
        return seen

    seen = asyncio.run(scenario())
    assert server.proc.wait(10) == 0
    assert "NetStream.Play.UnpublishNotify" in seen or "NetStream.Play.Stop" in seen
    assert "eof" in seen


def test_publish_refused_for_a_bad_name(server: LiveServer) -> None:
    async def scenario() -> None:
        client, _ = await RtmpClient.open(server.rtmp("live"))
        sid = await client.create_stream()
        with pytest.raises(RtmpError, match="BadName"):
            await client.publish(sid, "../etc")
        client.close()

    asyncio.run(scenario())
