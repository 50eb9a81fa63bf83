"""The hub's direct writes (send_all past the transport), on real sockets.

The transport here is a small stand-in that queues what its socket does not take, as
asyncio's do; the peers are real sockets whose bytes are read back and parsed.
"""

from __future__ import annotations

import itertools
import socket
import struct
from array import array
from collections.abc import Callable, Iterable, Iterator

import pytest

from livecast.hub.frame import Frame
from livecast.hub.registry import Hub
from livecast.hub.subscriber import Flusher, Subscriber
from livecast.multisend import UringSender, write_each

SendAll = Callable[["array[int]", bytes], list[int]]


class Transport:
    """Writes to its socket at once and queues the rest, like an asyncio transport."""

    def __init__(self, sock: socket.socket) -> None:
        sock.setblocking(False)
        self.sock = sock
        self.queue = bytearray()
        self.closing = False
        self.calls = 0  # write/writelines calls: the bytes that did not go direct

    def write(self, data: bytes) -> None:
        self.calls += 1
        self.queue += data
        self.drain()

    def writelines(self, data: Iterable[bytes]) -> None:
        self.write(b"".join(data))

    def drain(self) -> None:
        while self.queue:
            try:
                n = self.sock.send(self.queue)
            except BlockingIOError:
                return
            del self.queue[:n]

    def get_write_buffer_size(self) -> int:
        return len(self.queue)

    def is_closing(self) -> bool:
        return self.closing


class Loop:
    def __init__(self) -> None:
        self.soon: list[Callable[[], None]] = []

    def call_soon(self, fn: Callable[[], None]) -> None:
        self.soon.append(fn)

    def call_later(self, delay: float, fn: Callable[[], None]) -> None:
        self.soon.append(fn)

    def run(self) -> None:
        while self.soon:
            self.soon.pop(0)()


@pytest.fixture(params=["io_uring", "write_each"])
def send_all(request: pytest.FixtureRequest) -> Iterator[SendAll]:
    if request.param == "write_each":
        yield write_each
        return
    try:
        sender = UringSender()
    except OSError as exc:
        pytest.skip(f"io_uring not available here: {exc}")
    yield sender.send_all
    sender.close()


def record(frame: Frame) -> bytes:
    """A self-delimiting wire form: 4-byte length, type, payload."""
    return struct.pack(">IB", len(frame.payload) + 1, frame.type_id) + frame.payload


def parse(data: bytes) -> list[bytes]:
    out, pos = [], 0
    while pos < len(data):
        (n,) = struct.unpack_from(">I", data, pos)
        out.append(data[pos + 5 : pos + 4 + n])
        pos += 4 + n
    assert pos == len(data), "a record was cut"
    return out


def key(n: int, size: int = 20) -> bytes:
    return b"\x17\x01\x00\x00\x00" + n.to_bytes(4, "big") * (size // 4)


def inter(n: int, size: int = 20) -> bytes:
    return b"\x27\x01\x00\x00\x00" + n.to_bytes(4, "big") * (size // 4)


def read_all(sock: socket.socket) -> bytes:
    sock.setblocking(False)
    out = bytearray()
    while True:
        try:
            chunk = sock.recv(1 << 20)
        except BlockingIOError:
            return bytes(out)
        if not chunk:
            return bytes(out)
        out += chunk


class Rig:
    def __init__(self, send_all: SendAll, viewers: int, queue_bytes: int = 1 << 20) -> None:
        self.loop = Loop()
        self.hub = Hub(Flusher(self.loop.call_soon, self.loop.call_later, 0, send_all))
        self.pairs = [socket.socketpair() for _ in range(viewers)]
        self.transports = [Transport(a) for a, _ in self.pairs]
        self.subs = [
            Subscriber(t, "k", record, fd=t.sock.fileno(), queue_bytes=queue_bytes)
            for t in self.transports
        ]
        for sub in self.subs:
            self.hub.subscribe("live", "s", sub)
        self.stream, _ = self.hub.start_publishing("live", "s", object())

    def publish(self, type_id: int, ts: int, payload: bytes) -> None:
        self.stream.publish(type_id, ts, payload)
        self.loop.run()

    def close(self) -> None:
        for a, b in self.pairs:
            a.close()
            b.close()


def test_live_frames_go_direct_to_every_socket_in_order(send_all: SendAll) -> None:
    rig = Rig(send_all, 5)
    try:
        frames = [key(0)] + [inter(n) for n in range(1, 30)]
        for ts, payload in enumerate(frames):
            rig.publish(9, ts * 33, payload)
        got = [parse(read_all(b)) for _, b in rig.pairs]
        assert got == [frames] * 5
        assert [t.calls for t in rig.transports] == [0] * 5  # not one transport write
        for sub in rig.subs:
            rig.hub.unsubscribe(rig.stream, sub)
        assert [s.bytes_out for s in rig.subs] == [sum(len(record_of(f)) for f in frames)] * 5
    finally:
        rig.close()


def record_of(payload: bytes) -> bytes:
    return struct.pack(">IB", len(payload) + 1, 9) + payload


def test_a_late_joiner_gets_its_burst_then_direct_frames_without_a_gap(send_all: SendAll) -> None:
    rig = Rig(send_all, 1)
    try:
        rig.publish(9, 0, key(0))
        rig.publish(9, 33, inter(1))
        a, b = socket.socketpair()
        t = Transport(a)
        late = Subscriber(t, "k", record, fd=a.fileno())
        rig.stream.publish(9, 66, inter(2))  # pending when it joins, before its flush
        rig.hub.subscribe("live", "s", late)
        rig.loop.run()
        for n in range(3, 6):
            rig.publish(9, n * 33, inter(n))
        assert parse(read_all(b)) == [key(0), inter(1), inter(2)] + [inter(n) for n in range(3, 6)]
        # the burst, and the one flush that began inside the pending list; then direct
        assert t.calls == 2
        a.close()
        b.close()
    finally:
        rig.close()


def test_a_full_socket_never_gets_bytes_out_of_order(send_all: SendAll) -> None:
    """Bytes the socket did not take wait in the transport, and later frames queue
    behind them; once it is over its bound the viewer skips to a keyframe."""
    rig = Rig(send_all, 2, queue_bytes=200_000)
    slow_a, slow_b = rig.pairs[0]
    slow_a.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 8192)
    try:
        sent, got, fast = [], b"", b""
        for n in range(400):
            payload = key(n, 2000) if n % 50 == 0 else inter(n, 2000)
            sent.append(payload)
            rig.publish(9, n * 33, payload)
            fast += read_all(rig.pairs[1][1])
            if n % 7 == 0:  # the slow viewer reads now and then, a little; its
                got += slow_b.recv(3000)  # transport drains later (when the loop polls)
            if n % 21 == 0:
                rig.transports[0].drain()
        assert rig.transports[0].calls > 0  # some of it did go through the transport
        for _ in range(1000):  # read the rest, letting the transport drain
            got += read_all(slow_b)
            rig.transports[0].drain()
            if not rig.transports[0].queue:
                got += read_all(slow_b)
                break
        slow = parse(got)  # whole records only, or parse fails
        positions = [sent.index(r) for r in slow]
        assert positions == sorted(positions) and slow[0] == sent[0]
        for before, after in itertools.pairwise(positions):
            if after != before + 1:  # a skip resumes at a keyframe
                assert sent[after][0] == 0x17
        assert rig.subs[0].drops >= 1  # it fell behind and was parked
        assert parse(fast + read_all(rig.pairs[1][1])) == sent  # the fast one lost nothing
    finally:
        rig.close()


def test_a_watched_subscriber_goes_through_its_transport_while_blocked(
    send_all: SendAll,
) -> None:
    """A watched subscriber's owner says when its transport holds bytes: no per-flush
    question, and nothing direct until it says the transport is empty again."""
    rig = Rig(send_all, 2)
    try:
        watched = rig.subs[0]
        watched.watched = True
        rig.publish(9, 0, key(0))
        watched.set_blocked(True)  # e.g. pause_writing: the transport holds bytes
        rig.publish(9, 33, inter(1))
        rig.publish(9, 66, inter(2))
        assert rig.transports[0].calls == 2  # both through the transport
        watched.set_blocked(False)
        rig.publish(9, 99, inter(3))
        assert rig.transports[0].calls == 2  # direct again
        expect = [key(0), inter(1), inter(2), inter(3)]
        assert parse(read_all(rig.pairs[0][1])) == expect
        assert parse(read_all(rig.pairs[1][1])) == expect
    finally:
        rig.close()


def test_a_subscriber_that_left_gets_nothing_even_if_its_number_is_reused(
    send_all: SendAll,
) -> None:
    rig = Rig(send_all, 2)
    try:
        rig.publish(9, 0, key(0))
        gone = rig.subs[0]
        rig.hub.unsubscribe(rig.stream, gone)
        rig.pairs[0][0].close()  # the owner closes its descriptor once the sub left
        newcomer, peer = socket.socketpair()  # likely gets the freed number
        try:
            rig.publish(9, 33, inter(1))
            assert read_all(peer) == b""
            assert parse(read_all(rig.pairs[1][1])) == [key(0), inter(1)]
        finally:
            newcomer.close()
            peer.close()
    finally:
        rig.close()
