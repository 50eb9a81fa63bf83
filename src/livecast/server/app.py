"""The server process: one event loop with the RTMP and HTTP listeners around one hub."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Coroutine
from typing import Any

from livecast import multisend
from livecast.config import Config
from livecast.hub.registry import Hub
from livecast.hub.subscriber import Flusher
from livecast.server.http_server import HttpServer
from livecast.server.rtmp_server import RtmpServer, RtmpSettings

log = logging.getLogger("livecast")


def rtmp_settings(config: Config) -> RtmpSettings:
    r = config.rtmp
    return RtmpSettings(
        apps=tuple(r.apps),
        chunk_size=r.chunk_size,
        window_ack_size=r.window_ack_size,
        peer_bandwidth=r.peer_bandwidth,
        play_wait_s=r.play_wait_s,
        handshake_timeout_s=r.handshake_timeout_s,
        idle_timeout_s=r.idle_timeout_s,
        max_streams_per_connection=r.max_streams_per_connection,
        max_message_size=r.max_message_size,
        player_queue_bytes=r.player_queue_bytes,
        max_write_buffer=r.player_queue_bytes + r.gop_cache_max_bytes + r.max_message_size,
    )


class Server:
    """Everything one process serves; ``start`` binds, ``close`` ends it gracefully."""

    def __init__(self, config: Config) -> None:
        self.config = config
        loop = asyncio.get_running_loop()
        self.fanout, self.uring, send_all = multisend.choose()
        self.flusher = Flusher(
            loop.call_soon, loop.call_later, config.server.write_merge_ms, send_all
        )
        self.hub = Hub(
            self.flusher,
            gop_cache=config.rtmp.gop_cache,
            gop_cache_max_bytes=config.rtmp.gop_cache_max_bytes,
            replace_publisher=config.rtmp.publish_conflict == "replace",
        )
        self.rtmp = RtmpServer(self.hub, rtmp_settings(config))
        self.http = HttpServer(self.hub, config) if config.server.http else None
        self.rtmp_address = ""
        self.http_address = "off"

    async def start(self) -> None:
        host = self.config.server.host
        h, p = await self.rtmp.start(host, self.config.server.rtmp_port)
        self.rtmp_address = f"{h}:{p}"
        if self.http is not None:
            h, p = await self.http.start(host, self.config.server.http_port)
            self.http_address = f"{h}:{p}"

    async def close(self) -> None:
        # HTTP first: its viewers end with "shutdown" (last chunk, WebSocket 1001) while
        # the streams are still live; closing RTMP first would end them mid-handler.
        if self.http is not None:
            await self.http.close()
        await self.rtmp.close()
        if self.uring is not None:
            self.uring.close()
            self.uring = None
            self.flusher.send_all = None


async def _serve(config: Config) -> int:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    server = Server(config)
    try:
        await server.start()
    except OSError as exc:
        log.error("cannot listen: %s", exc)
        return 1
    log.info("fan-out writes: %s", server.fanout)
    log.info("livecast ready rtmp=%s http=%s", server.rtmp_address, server.http_address)
    await stop.wait()
    log.info("shutting down")
    await server.close()
    return 0


def run(coro: Coroutine[Any, Any, int]) -> int:
    """Run on uvloop when it is installed."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)
    result: int = uvloop.run(coro)
    return result


def serve(config: Config) -> int:
    return run(_serve(config))
