"""A real browser (Debian's headless chromium) plays livecast's HTTP-FLV and WS-FLV
through mpegts.js (pinned in package.json), from a page on another origin (CORS)."""

from __future__ import annotations

import asyncio
import time
import warnings
from pathlib import Path

import pytest

from .browser import Browser, serve_pages
from .conftest import LiveServer, ffmpeg_sample, publish
from .test_httpflv import wait_live

pytestmark = pytest.mark.integration

PLAY_S = 6.0  # watched for this long ...
MIN_ADVANCE_S = 3.0  # ... the picture must move at least this much


@pytest.fixture(scope="session")
def long_sample(media_dir: Path) -> Path:
    """Long enough for start-up plus the measured window."""
    return ffmpeg_sample(media_dir / "browser.flv", seconds=14)


async def watch_in_browser(src: str) -> dict[str, object]:
    """Open the mpegts.js page on ``src``; measure PLAY_S seconds of playback (or, if this
    chromium cannot decode H.264/AAC, of buffering) and return what was seen."""
    async with serve_pages("mpegts.js") as pages, Browser() as browser:
        page = await browser.open(pages.url("flv.html", src=src))
        state = await page.eval("probe()")
        assert state["mediaSource"], f"{browser.version} has no MediaSource"
        if state["canDecode"]:
            await page.wait_for("probe().currentTime > 0", timeout=10)
            t0 = await page.eval("probe().currentTime")
            await asyncio.sleep(PLAY_S)
            after = await page.eval("probe()")
            advance = after["currentTime"] - t0
            assert advance >= MIN_ADVANCE_S, (
                f"currentTime advanced {advance:.2f}s in {PLAY_S:g}s: {after}\n{page.report()}"
            )
            assert after["videoWidth"] == 320, after
            return {"mode": "decoded", "advance": advance, "browser": browser.version}
        warnings.warn(
            f"{browser.version} cannot decode H.264/AAC ({state}): checking that the "
            "MediaSource accepted and buffered the stream instead of playback",
            stacklevel=1,
        )
        await page.wait_for("probe().buffered > 0", timeout=10)
        b0 = await page.eval("probe().bufferedEnd")
        await asyncio.sleep(PLAY_S)
        after = await page.eval("probe()")
        grown = after["bufferedEnd"] - b0
        assert grown >= MIN_ADVANCE_S, f"buffered only {grown:.2f}s more: {after}"
        assert after["error"] is None, after
        return {"mode": "buffered", "advance": grown, "browser": browser.version}


def _play(server: LiveServer, media: Path, src: str) -> dict[str, object]:
    pub = publish(server, "live/a", media)
    try:
        wait_live(server, "live/a")
        t0 = time.monotonic()
        result = asyncio.run(watch_in_browser(src))
        result["wall"] = time.monotonic() - t0
    finally:
        pub.kill()
        pub.wait()
    print(f"\nbrowser playback: {result}")  # shown with -s / in the report
    return result


def test_chromium_plays_http_flv_with_mpegts_js(server: LiveServer, long_sample: Path) -> None:
    result = _play(server, long_sample, server.http("live/a.flv"))
    assert result["mode"] in ("decoded", "buffered")


def test_chromium_plays_websocket_flv_with_mpegts_js(server: LiveServer, long_sample: Path) -> None:
    src = server.http("live/a.flv").replace("http://", "ws://", 1)
    result = _play(server, long_sample, src)
    assert result["mode"] in ("decoded", "buffered")
