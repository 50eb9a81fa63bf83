"""One buffer to many sockets: io_uring and the os.write fallback, on real sockets."""

from __future__ import annotations

import errno
import os
import socket
from array import array
from collections.abc import Callable, Iterator

import pytest

from livecast import multisend
from livecast.multisend import UringSender, write_each

SendAll = Callable[["array[int]", bytes], list[int]]


def uring_or_skip(**kw: int) -> UringSender:
    try:
        return UringSender(**kw)
    except OSError as exc:
        pytest.skip(f"io_uring not available here: {exc}")


@pytest.fixture(params=["io_uring", "write_each"])
def send_all(request: pytest.FixtureRequest) -> Iterator[SendAll]:
    if request.param == "write_each":
        yield write_each
        return
    sender = uring_or_skip()
    yield sender.send_all
    sender.close()


@pytest.fixture
def pairs() -> Iterator[list[tuple[socket.socket, socket.socket]]]:
    made = [socket.socketpair() for _ in range(6)]
    for a, _ in made:
        a.setblocking(False)
    yield made
    for a, b in made:
        a.close()
        b.close()


def fds_of(pairs: list[tuple[socket.socket, socket.socket]]) -> array[int]:
    return array("I", [a.fileno() for a, _ in pairs])


def read_all(sock: socket.socket) -> bytes:
    sock.setblocking(False)
    out = b""
    while True:
        try:
            chunk = sock.recv(1 << 20)
        except BlockingIOError:
            return out
        if not chunk:
            return out
        out += chunk


def test_every_socket_gets_the_bytes_in_order(send_all: SendAll, pairs: list) -> None:
    fds = fds_of(pairs)
    for n in range(5):
        data = bytes([n]) * (1000 + n)
        assert send_all(fds, data) == [len(data)] * len(fds)
    expect = b"".join(bytes([n]) * (1000 + n) for n in range(5))
    assert [read_all(b) for _, b in pairs] == [expect] * len(pairs)


def test_a_full_socket_reports_eagain_or_a_short_count_and_the_others_get_all(
    send_all: SendAll, pairs: list
) -> None:
    full, _ = pairs[2]
    full.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    with pytest.raises(BlockingIOError):
        while True:
            full.send(b"x" * 4096)
    data = b"y" * 3000
    results = send_all(fds_of(pairs), data)
    assert results[2] == -errno.EAGAIN or 0 <= results[2] < len(data)
    assert [r for i, r in enumerate(results) if i != 2] == [len(data)] * 5
    assert read_all(pairs[0][1]) == data


def test_a_short_write_reports_how_much_the_socket_took(send_all: SendAll, pairs: list) -> None:
    a, b = pairs[0]
    a.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    big = b"z" * (1 << 20)  # far more than the socket's buffer
    (n,) = send_all(array("I", [a.fileno()]), big)
    assert 0 < n < len(big)
    got = read_all(b)
    assert got == big[: len(got)] and len(got) <= n


def test_a_closed_descriptor_is_an_error_for_that_socket_only(
    send_all: SendAll, pairs: list
) -> None:
    spare_a, spare_b = socket.socketpair()
    dead = spare_a.fileno()
    spare_a.close()
    spare_b.close()
    fds = array("I", [pairs[0][0].fileno(), dead, pairs[1][0].fileno()])
    assert send_all(fds, b"abc") == [3, -errno.EBADF, 3]


def test_the_ring_wraps_and_batches_larger_than_it(pairs: list) -> None:
    sender = uring_or_skip(entries=4)
    try:
        fds = fds_of(pairs)  # six sockets through a four-entry ring: two batches
        for n in range(9):  # the submission and completion indices wrap many times
            assert sender.send_all(fds, bytes([65 + n]) * 10) == [10] * 6
        expect = b"".join(bytes([65 + n]) * 10 for n in range(9))
        assert [read_all(b) for _, b in pairs] == [expect] * 6
    finally:
        sender.close()


def test_a_message_larger_than_the_staging_buffer_grows_it(pairs: list) -> None:
    sender = uring_or_skip(buffer_bytes=4096)
    try:
        data = os.urandom(50_000)
        fds = fds_of(pairs[:2])
        assert sender.send_all(fds, data) == [50_000, 50_000]
        assert sender.buffer_bytes >= 50_000
        assert sender.send_all(fds, b"tail") == [4, 4]
        assert [read_all(b) for _, b in pairs[:2]] == [data + b"tail"] * 2
    finally:
        sender.close()


def test_the_fanout_mode_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIVECAST_FANOUT", "write")
    assert multisend.choose() == ("write", None, write_each)
    monkeypatch.setenv("LIVECAST_FANOUT", "transport")
    assert multisend.choose() == ("transport", None, None)
    monkeypatch.setenv("LIVECAST_FANOUT", "fast")
    with pytest.raises(ValueError, match="LIVECAST_FANOUT"):
        multisend.choose()
    monkeypatch.delenv("LIVECAST_FANOUT")
    how, uring, send_all = multisend.choose()
    assert how in ("io_uring", "write") and send_all is not None
    if uring is not None:
        assert send_all == uring.send_all
        uring.close()


class Extra:
    def __init__(self, **info: object) -> None:
        self.info = info

    def get_extra_info(self, name: str) -> object:
        return self.info.get(name)


def test_own_socket_fd_is_a_dup_and_only_for_plain_stream_sockets() -> None:
    tcp = socket.socket()
    udp = socket.socket(type=socket.SOCK_DGRAM)
    try:
        fd = multisend.own_socket_fd(Extra(socket=tcp))
        assert fd not in (-1, tcp.fileno())
        assert os.fstat(fd).st_ino == os.fstat(tcp.fileno()).st_ino  # the same socket
        multisend.close_fd(fd)
        multisend.close_fd(-1)
        assert multisend.own_socket_fd(Extra(socket=tcp, sslcontext=object())) == -1
        assert multisend.own_socket_fd(Extra(socket=udp)) == -1
        assert multisend.own_socket_fd(Extra()) == -1
        assert multisend.own_socket_fd(object()) == -1
    finally:
        tcp.close()
        udp.close()
