"""A real browser (Debian's headless chromium) plays livecast's HLS through hls.js (pinned in
package.json), from a page on another origin (CORS on the playlist and the segments)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from .browser import watch_in_browser
from .conftest import LiveServer, ffmpeg_sample, publish
from .test_hls import playlist

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def sample20(media_dir: Path) -> Path:
    """Long enough for two segments before the page opens, start-up, and the window."""
    return ffmpeg_sample(media_dir / "hls_browser.flv", seconds=20, gop=30)


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
        result = asyncio.run(
            watch_in_browser(
                "hls.js", "hls.html", server.http("live/a/index.m3u8"), start_timeout=15
            )
        )
        result["wall"] = time.monotonic() - t0
    finally:
        pub.kill()
        pub.wait()
    print(f"\nbrowser playback: {result}")  # shown with -s / in the report
    assert result["mode"] in ("decoded", "buffered")
