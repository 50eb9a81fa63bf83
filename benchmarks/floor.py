"""The kernel floor: what writing the stream's byte rate to N loopback sockets costs.

    python -m benchmarks.floor sender --connections 300 --write-size 16384 --rate R
    python -m benchmarks.floor reader --port P --connections 300

The sender (pin it to the server's core) accepts N connections and writes ``--rate``
bytes per second to each in writes of ``--write-size`` bytes from a plain loop of
non-blocking ``send`` calls: the least a server can do to deliver the same bytes with
that write size. The reader (on the other core) drains them. The sender prints one
JSON line with its CPU time (user, system) and the bytes it wrote in the window.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import sys
import time

from benchmarks import aio, procstat

SCRATCH = memoryview(bytearray(256 * 1024))


def sender(args: argparse.Namespace) -> int:
    aio.raise_nofile(args.connections + 64)
    lsock = socket.socket()
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind(("127.0.0.1", args.port))
    lsock.listen(1024)
    print(f"listening port={lsock.getsockname()[1]}", flush=True)
    lsock.settimeout(30)
    socks = []
    for _ in range(args.connections):
        s, _ = lsock.accept()
        s.setblocking(False)
        socks.append(s)
    lsock.close()
    n = len(socks)
    buf = memoryview(b"\x5a" * args.write_size)
    size = args.write_size
    per_s = n * args.rate / size  # writes per second, all connections together
    sends = [s.send for s in socks]
    tick = args.tick_ms / 1000.0
    t_start = time.monotonic()
    t_win0 = t_start + args.warmup
    t_win1 = t_win0 + args.window
    in_window = False
    sent = writes = eagain = 0
    cpu0 = (0.0, 0.0)
    owed = 0.0
    pos = 0
    prev = t_start
    while True:
        now = time.monotonic()
        if not in_window and now >= t_win0:
            in_window, cpu0, sent, writes, eagain = True, procstat.self_cpu(), 0, 0, 0
        if in_window and now >= t_win1:
            cpu1 = procstat.self_cpu()
            window = now - t_win0
            break
        owed = min(owed + per_s * (now - prev), per_s)  # owe at most one second
        prev = now
        k = int(owed)
        owed -= k
        # round-robin over the connections: each gets ``rate`` bytes/s in ``size`` writes
        for _ in range(k):
            try:
                sent += sends[pos](buf)
                writes += 1
            except BlockingIOError:
                eagain += 1
            pos += 1
            if pos == n:
                pos = 0
        left = tick - (time.monotonic() - now)
        if left > 0:
            time.sleep(left)
    for s in socks:
        s.close()
    user, system = cpu1[0] - cpu0[0], cpu1[1] - cpu0[1]
    result = {
        "connections": n,
        "write_size": size,
        "window_s": round(window, 3),
        "bytes": sent,
        "writes": writes,
        "eagain": eagain,
        "cpu_s": round(user + system, 4),
        "user_s": round(user, 4),
        "system_s": round(system, 4),
    }
    print(json.dumps(result), flush=True)
    return 0


class Drain(asyncio.BufferedProtocol):
    def __init__(self, done: asyncio.Future[None], counter: list[int]) -> None:
        self.done = done
        self.counter = counter

    def get_buffer(self, sizehint: int) -> memoryview:
        return SCRATCH

    def buffer_updated(self, nbytes: int) -> None:
        self.counter[0] += nbytes

    def connection_lost(self, exc: Exception | None) -> None:
        self.counter[1] -= 1
        if self.counter[1] == 0 and not self.done.done():
            self.done.set_result(None)


async def reader_main(args: argparse.Namespace) -> None:
    loop = asyncio.get_running_loop()
    done: asyncio.Future[None] = loop.create_future()
    counter = [0, args.connections]
    for _ in range(args.connections):
        await loop.create_connection(lambda: Drain(done, counter), "127.0.0.1", args.port)
    await done
    print(json.dumps({"received": counter[0]}), flush=True)


def reader(args: argparse.Namespace) -> int:
    aio.raise_nofile(args.connections + 64)
    aio.run(reader_main(args))
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("role", choices=("sender", "reader"))
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--connections", type=int, default=300)
    ap.add_argument("--write-size", type=int, default=16384)
    ap.add_argument("--rate", type=float, default=2_628_000 / 8, help="bytes/s per connection")
    ap.add_argument("--tick-ms", type=float, default=5.0)
    ap.add_argument("--warmup", type=float, default=1.0)
    ap.add_argument("--window", type=float, default=20.0)
    args = ap.parse_args(argv)
    return sender(args) if args.role == "sender" else reader(args)


if __name__ == "__main__":
    sys.exit(main())
