"""A real browser (Debian's headless chromium) plays livecast's HTTP-FLV and WS-FLV
through mpegts.js (pinned in package.json), from a page on another origin (CORS)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from .browser import watch_in_browser
from .conftest import LiveServer, ffmpeg_sample, publish
from .test_httpflv import wait_live

pytestmark = pytest.mark.integration


@pytest.fixture(scope="session")
def long_sample(media_dir: Path) -> Path:
    """Long enough for start-up plus the measured window."""
    return ffmpeg_sample(media_dir / "browser.flv", seconds=14)


def _play(server: LiveServer, media: Path, src: str) -> dict[str, object]:
    pub = publish(server, "live/a", media)
    try:
        wait_live(server, "live/a")
        t0 = time.monotonic()
        result = asyncio.run(watch_in_browser("mpegts.js", "flv.html", src, start_timeout=10))
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
