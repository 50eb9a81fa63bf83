"""A real browser (Debian's headless chromium) plays livecast's HLS through hls.js (pinned in
package.json), from a page on another origin (CORS on the playlist and the segments)."""

from __future__ import annotations

import asyncio
import time
import warnings
from pathlib import Path

import pytest

from .browser import Browser, serve_pages
from .conftest import LiveServer, ffmpeg_sample, publish
from .test_hls import playlist

pytestmark = pytest.mark.integration

PLAY_S = 6.0  # watched for this long ...
MIN_ADVANCE_S = 3.0  # ... the picture must move at least this much


@pytest.fixture(scope="module")
def sample20(media_dir: Path) -> Path:
    """Long enough for two segments before the page opens, start-up, and the window."""
    return ffmpeg_sample(media_dir / "hls_browser.flv", seconds=20, gop=30)


async def watch_in_browser(src: str) -> dict[str, object]:
    """Open the hls.js page on ``src``; measure PLAY_S seconds of playback (or, if this
    chromium cannot decode H.264/AAC, of buffering) and return what was seen."""
    async with serve_pages("hls.js") as pages, Browser() as browser:
        page = await browser.open(pages.url("hls.html", src=src))
        state = await page.eval("probe()")
        assert state["mediaSource"], f"{browser.version} has no MediaSource"
        if state["canDecode"]:
            await page.wait_for("probe().currentTime > 0", timeout=15)
            t0 = await page.eval("probe().currentTime")
            await asyncio.sleep(PLAY_S)
            after = await page.eval("probe()")
            advance = after["currentTime"] - t0
            assert advance >= MIN_ADVANCE_S, (
                f"currentTime advanced {advance:.2f}s in {PLAY_S:g}s: {after}\n{page.report()}"
            )
            assert after["videoWidth"] == 320, after
            assert after["error"] is None, after
            return {"mode": "decoded", "advance": advance, "browser": browser.version}
        warnings.warn(
            f"{browser.version} cannot decode H.264/AAC ({state}): checking that the "
            "MediaSource accepted and buffered the HLS segments instead of playback",
            stacklevel=1,
        )
        await page.wait_for("probe().buffered > 0", timeout=15)
        b0 = await page.eval("probe().bufferedEnd")
        await asyncio.sleep(PLAY_S)
        after = await page.eval("probe()")
        grown = after["bufferedEnd"] - b0
        assert grown >= MIN_ADVANCE_S, f"buffered only {grown:.2f}s more: {after}"
        assert after["error"] is None, after
        return {"mode": "buffered", "advance": grown, "browser": browser.version}


def test_chromium_plays_hls_with_hls_js(server: LiveServer, sample20: Path) -> None:
    pub = publish(server, "live/a", sample20)
    try:
        deadline = time.monotonic() + 20
        while True:
            pl = playlist(server)
            if pl is not None and len(pl.segments) >= 2:
                break
            assert time.monotonic() < deadline, "no HLS segments"
            time.sleep(0.25)
        t0 = time.monotonic()
        result = asyncio.run(watch_in_browser(server.http("live/a/index.m3u8")))
        result["wall"] = time.monotonic() - t0
    finally:
        pub.kill()
        pub.wait()
    print(f"\nbrowser playback: {result}")  # shown with -s / in the report
    assert result["mode"] in ("decoded", "buffered")
