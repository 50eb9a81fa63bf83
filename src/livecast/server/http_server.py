"""The HTTP listener (aiohttp) on the same event loop as RTMP.

Browser delivery (HTTP-FLV, WebSocket-FLV, HLS) and the control API mount their routes
on this application.
"""

from __future__ import annotations

from aiohttp import web

from livecast.config import Config
from livecast.hub.registry import Hub
from livecast.outputs import hls, httpflv


def stream_view(hub: Hub) -> list[dict[str, object]]:
    return [
        {
            "app": s.app,
            "name": s.name,
            "live": s.live,
            "subscribers": len(s.subscribers),
            "bytes_in": s.bytes_in,
            "frames_in": s.frames_in,
            "sessions": s.sessions,
        }
        for s in hub
    ]


class HttpServer:
    def __init__(self, hub: Hub, config: Config) -> None:
        self.hub = hub
        self.config = config
        self.app = web.Application()
        self.app.router.add_get("/api/v1/streams", self._streams)
        self.flv = httpflv.register(self.app, hub, config)
        self.hls = hls.register(self.app, hub, config)
        self._runner: web.AppRunner | None = None

    async def _streams(self, request: web.Request) -> web.Response:
        return web.json_response({"streams": stream_view(self.hub)})

    async def start(self, host: str, port: int) -> tuple[str, int]:
        # handler_cancellation: a viewer that hangs up cancels its handler at once, so
        # endless responses (HTTP-FLV) stop writing to a closed socket.
        self._runner = web.AppRunner(
            self.app, access_log=None, handle_signals=False, handler_cancellation=True
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port, reuse_address=True)
        await site.start()
        name = self._runner.addresses[0]  # the bound address: port 0 becomes a real port
        return str(name[0]), int(name[1])

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
