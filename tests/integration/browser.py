"""A real headless browser for integration tests: Debian's chromium over DevTools.

    async with serve_pages() as pages, Browser() as browser:
        page = await browser.open(pages.url("flv.html", src=stream_url))
        await page.wait_for("window.probe && probe().currentTime > 0", timeout=10)
        state = await page.eval("probe()")

``serve_pages`` serves tests/integration/web/ and the pinned players from node_modules
(``/node_modules/<package>/dist/...``) on a loopback port of its own, so a page plays
from another origin than livecast's and CORS is exercised as a real site would.

The DevTools protocol is spoken with aiohttp's WebSocket client (one browser-level
connection, pages attached with flat sessions); no browser is downloaded: chromium comes
from Debian (the Makefile's DEBS) and the players from npm (package.json, ``npm ci``).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import shutil
import signal
import tempfile
import urllib.parse
import warnings
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

ROOT = Path(__file__).resolve().parents[2]
WEB = Path(__file__).resolve().parent / "web"
NODE_MODULES = ROOT / "node_modules"

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--mute-audio",
    "--autoplay-policy=no-user-gesture-required",
    "--remote-debugging-address=127.0.0.1",
    "--remote-debugging-port=0",
)

#: Asked of the page: can this build decode what livecast delivers (H.264 + AAC in MSE)?
H264_AAC = 'video/mp4; codecs="avc1.42E01E,mp4a.40.2"'


class BrowserError(AssertionError):
    """The browser failed, or a page's script threw; carries the console for the report."""


def find_chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    raise BrowserError("no chromium: `make test` installs it (apt-get install chromium)")


def require_player(package: str) -> Path:
    """The dist folder of a pinned npm player, or a clear failure saying how to get it."""
    dist = NODE_MODULES / package / "dist"
    if not dist.is_dir():
        raise BrowserError(f"{dist} is missing: run `npm ci` at the repository root")
    return dist


class Page:
    """One tab, attached with its own DevTools session."""

    def __init__(self, browser: Browser, target_id: str, session_id: str) -> None:
        self.browser = browser
        self.target_id = target_id
        self.session_id = session_id
        self.console: list[str] = []  # console messages and uncaught exceptions, in order

    async def send(self, method: str, **params: Any) -> dict[str, Any]:
        return await self.browser.send(method, params, session_id=self.session_id)

    async def goto(self, url: str, timeout: float = 15) -> None:
        await self.send("Page.navigate", url=url)
        await self.wait_for("document.readyState === 'complete'", timeout)

    async def eval(self, expression: str) -> Any:
        """The value of a JS expression (promises awaited, result returned as JSON)."""
        reply = await self.send(
            "Runtime.evaluate", expression=expression, awaitPromise=True, returnByValue=True
        )
        if "exceptionDetails" in reply:
            details = reply["exceptionDetails"]
            text = details.get("exception", {}).get("description") or details.get("text")
            raise BrowserError(f"{expression!r} threw: {text}\n{self.report()}")
        return reply["result"].get("value")

    async def wait_for(self, condition: str, timeout: float, interval: float = 0.1) -> Any:
        """Poll until the JS ``condition`` is truthy; its value. Fails with the console."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            value = await self.eval(condition)
            if value:
                return value
            if loop.time() >= deadline:
                raise BrowserError(f"not true within {timeout:g}s: {condition}\n{self.report()}")
            await asyncio.sleep(interval)

    async def screenshot(self, path: Path) -> Path:
        import base64

        reply = await self.send("Page.captureScreenshot", format="png")
        path.write_bytes(base64.b64decode(reply["data"]))
        return path

    def report(self) -> str:
        lines = self.console[-40:]
        return "page console:\n  " + "\n  ".join(lines) if lines else "page console: (empty)"

    def _event(self, method: str, params: dict[str, Any]) -> None:
        if method == "Runtime.consoleAPICalled":
            args = " ".join(_show(a) for a in params.get("args", []))
            self.console.append(f"console.{params.get('type')}: {args}")
        elif method == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            text = details.get("exception", {}).get("description") or details.get("text")
            self.console.append(f"uncaught: {text}")
        elif method == "Log.entryAdded":
            entry = params.get("entry", {})
            self.console.append(
                f"log.{entry.get('level')}: {entry.get('text')} {entry.get('url', '')}"
            )


def _show(arg: dict[str, Any]) -> str:
    if "value" in arg:
        return str(arg["value"])
    return str(arg.get("description") or arg.get("type"))


class Browser:
    """Headless chromium with a fresh profile, driven over the DevTools protocol."""

    def __init__(self, *, args: tuple[str, ...] = (), start_timeout: float = 20) -> None:
        self.args = args
        self.start_timeout = start_timeout
        self.proc: asyncio.subprocess.Process | None = None
        self.profile: Path | None = None
        self._http: aiohttp.ClientSession | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._reader: asyncio.Task[None] | None = None
        self._ids = itertools.count(1)
        self._calls: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._pages: dict[str, Page] = {}
        self.version = ""

    async def __aenter__(self) -> Browser:
        try:
            await self._start()
        except BaseException:
            await self.close()
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _start(self) -> None:
        self.profile = Path(tempfile.mkdtemp(prefix="livecast-chromium-"))
        log = (self.profile / "chromium.log").open("wb")
        self.proc = await asyncio.create_subprocess_exec(
            find_chromium(),
            *CHROMIUM_FLAGS,
            f"--user-data-dir={self.profile}",
            *self.args,
            "about:blank",
            stdin=asyncio.subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,  # its helpers share our process group, ended with it
        )
        log.close()
        active = self.profile / "DevToolsActivePort"
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.start_timeout
        while not (active.exists() and len(active.read_text().splitlines()) >= 2):
            if self.proc.returncode is not None or loop.time() > deadline:
                raise BrowserError(f"chromium did not start:\n{self.log_tail()}")
            await asyncio.sleep(0.05)
        port, path = active.read_text().splitlines()[:2]
        self._http = aiohttp.ClientSession()
        self._ws = await self._http.ws_connect(f"ws://127.0.0.1:{port}{path}", max_msg_size=0)
        self._reader = asyncio.ensure_future(self._read())
        self.version = (await self.send("Browser.getVersion"))["product"]

    def log_tail(self, lines: int = 30) -> str:
        if self.profile is None:
            return ""
        log = self.profile / "chromium.log"
        text = log.read_text(errors="replace") if log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    async def _read(self) -> None:
        assert self._ws is not None
        async for msg in self._ws:
            if msg.type != aiohttp.WSMsgType.TEXT:
                continue
            data = json.loads(msg.data)
            if "id" in data:
                future = self._calls.pop(data["id"], None)
                if future is not None and not future.done():
                    if "error" in data:
                        future.set_exception(BrowserError(f"DevTools: {data['error']}"))
                    else:
                        future.set_result(data.get("result", {}))
            else:
                page = self._pages.get(data.get("sessionId", ""))
                if page is not None:
                    page._event(data.get("method", ""), data.get("params", {}))
        for future in self._calls.values():
            if not future.done():
                future.set_exception(BrowserError(f"DevTools connection lost\n{self.log_tail()}"))

    async def send(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        *,
        session_id: str | None = None,
        timeout: float = 30,
    ) -> dict[str, Any]:
        if self._ws is None or self._ws.closed:
            raise BrowserError("the browser is not running")
        call_id = next(self._ids)
        message: dict[str, Any] = {"id": call_id, "method": method, "params": params or {}}
        if session_id is not None:
            message["sessionId"] = session_id
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._calls[call_id] = future
        await self._ws.send_str(json.dumps(message))
        return await asyncio.wait_for(future, timeout)

    async def open(self, url: str) -> Page:
        """A new tab at ``url``, loaded (document complete), with its console recorded."""
        target = (await self.send("Target.createTarget", {"url": "about:blank"}))["targetId"]
        attached = await self.send("Target.attachToTarget", {"targetId": target, "flatten": True})
        page = Page(self, target, attached["sessionId"])
        self._pages[page.session_id] = page
        for domain in ("Runtime", "Log", "Page"):
            await page.send(f"{domain}.enable")
        await page.goto(url)
        return page

    async def close(self) -> None:
        if self._ws is not None and not self._ws.closed:
            with contextlib.suppress(Exception):
                await self.send("Browser.close", timeout=5)
        if self._ws is not None:
            await self._ws.close()
        if self._reader is not None:
            self._reader.cancel()
        if self._http is not None:
            await self._http.close()
        proc = self.proc
        if proc is not None:
            if proc.returncode is None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(proc.wait(), 5)
            if proc.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)  # our own session's group only
                await proc.wait()
        if self.profile is not None:
            shutil.rmtree(self.profile, ignore_errors=True)


class Pages:
    """Where ``serve_pages`` listens."""

    def __init__(self, base: str) -> None:
        self.base = base

    def url(self, page: str, **query: str) -> str:
        suffix = "?" + urllib.parse.urlencode(query) if query else ""
        return f"{self.base}/{page}{suffix}"


@contextlib.asynccontextmanager
async def serve_pages(*packages: str) -> AsyncIterator[Pages]:
    """Serve tests/integration/web/ at / and each npm ``package``'s dist/ at
    /node_modules/<package>/dist/ on 127.0.0.1 (a port of its own: another origin)."""
    app = web.Application()
    for package in packages:
        app.router.add_static(f"/node_modules/{package}/dist", require_player(package))
    app.router.add_static("/", WEB)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    server = site._server
    assert server is not None
    port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
    try:
        yield Pages(f"http://127.0.0.1:{port}")
    finally:
        await runner.cleanup()


PLAY_S = 6.0  # a page is watched for this long ...
MIN_ADVANCE_S = 3.0  # ... and the picture must move at least this much


async def watch_in_browser(
    player: str, page_name: str, src: str, *, start_timeout: float = 10.0
) -> dict[str, object]:
    """Open ``page_name`` (which loads the npm package ``player``) on ``src``; measure
    PLAY_S seconds of playback (or, if this chromium cannot decode H.264/AAC, of
    buffering) and return what was seen."""
    async with serve_pages(player) as pages, Browser() as browser:
        page = await browser.open(pages.url(page_name, src=src))
        state = await page.eval("probe()")
        assert state["mediaSource"], f"{browser.version} has no MediaSource"
        if state["canDecode"]:
            await page.wait_for("probe().currentTime > 0", timeout=start_timeout)
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
            "MediaSource accepted and buffered the stream instead of playback",
            stacklevel=1,
        )
        await page.wait_for("probe().buffered > 0", timeout=start_timeout)
        b0 = await page.eval("probe().bufferedEnd")
        await asyncio.sleep(PLAY_S)
        after = await page.eval("probe()")
        grown = after["bufferedEnd"] - b0
        assert grown >= MIN_ADVANCE_S, f"buffered only {grown:.2f}s more: {after}"
        assert after["error"] is None, after
        return {"mode": "buffered", "advance": grown, "browser": browser.version}
