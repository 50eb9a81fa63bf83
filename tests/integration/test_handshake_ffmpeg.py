"""The handshake against real clients and a real server: ffmpeg and rtmpdump on loopback.

A throwaway TCP listener drives ServerHandshake, records C0+C1 and waits for the
client's first chunk after C2 (the `connect` command): a client that rejected S1 or
S2 closes the connection instead. For the client role, ffmpeg's `-listen` server
checks our C2 and logs a warning when it does not echo its S1.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest

from livecast.rtmp.handshake import (
    FP_KEY_TEXT,
    HANDSHAKE_SIZE,
    ClientHandshake,
    ServerHandshake,
    find_digest,
)

pytestmark = pytest.mark.integration

FFMPEG = shutil.which("ffmpeg")
RTMPDUMP = shutil.which("rtmpdump")
need_ffmpeg = pytest.mark.skipif(FFMPEG is None, reason="ffmpeg not installed")
need_rtmpdump = pytest.mark.skipif(RTMPDUMP is None, reason="rtmpdump not installed")

CONNECT = b"\x02\x00\x07connect"  # AMF0 string "connect" opening the first command
TIMEOUT = 10.0


@dataclass
class Session:
    c0_c1: bytes
    server: ServerHandshake
    after_handshake: bytes
    client_log: str


@contextmanager
def _client(argv: list[str]) -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(
        argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=TIMEOUT)


def serve_once(
    argv_for_port: Callable[[int], list[str]],
    tamper: Callable[[bytes], bytes] = lambda out: out,
) -> Session:
    """Accept one connection from the client, run the server handshake, collect the rest."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        listener.settimeout(TIMEOUT)
        port = listener.getsockname()[1]
        with _client(argv_for_port(port)) as proc:
            conn, _ = listener.accept()
            with conn:
                conn.settimeout(TIMEOUT)
                server = ServerHandshake(os.urandom(2 * HANDSHAKE_SIZE), uptime_ms=123)
                received = b""
                while not server.complete:
                    data = conn.recv(65536)
                    if not data:
                        break
                    received += data
                    out = server.receive_data(data)
                    if out:
                        conn.sendall(tamper(out))
                after = server.leftover
                deadline = time.monotonic() + TIMEOUT
                while server.complete and CONNECT not in after and time.monotonic() < deadline:
                    try:
                        data = conn.recv(65536)
                    except (TimeoutError, ConnectionResetError):
                        break
                    if not data:
                        break
                    after += data
            proc.kill()
            _, err = proc.communicate(timeout=TIMEOUT)
    return Session(received[:1537], server, after, err.decode(errors="replace"))


def ffmpeg_publish(port: int) -> list[str]:
    assert FFMPEG is not None
    source = ["-re", "-f", "lavfi", "-i", "testsrc=size=160x120:rate=5", "-t", "1"]
    return [
        FFMPEG,
        "-hide_banner",
        "-nostdin",
        *source,
        "-f",
        "flv",
        f"rtmp://127.0.0.1:{port}/live/x",
    ]


def ffmpeg_play(port: int) -> list[str]:
    assert FFMPEG is not None
    return [
        FFMPEG,
        "-hide_banner",
        "-nostdin",
        "-i",
        f"rtmp://127.0.0.1:{port}/live/x",
        "-f",
        "null",
        "-",
    ]


def rtmpdump(*extra: str) -> Callable[[int], list[str]]:
    def argv(port: int) -> list[str]:
        assert RTMPDUMP is not None
        return [
            RTMPDUMP,
            "-r",
            f"rtmp://127.0.0.1:{port}/live/x",
            "-o",
            os.devnull,
            "-m",
            "3",
            *extra,
        ]

    return argv


def _corrupt_s2(out: bytes) -> bytes:
    return out[:-1] + bytes([out[-1] ^ 0xFF])


def _assert_digest_client(session: Session) -> None:
    c1 = session.c0_c1[1:]
    assert session.c0_c1[0] == 3
    assert c1[4] != 0, "a digest client sends a non-zero version"
    found = find_digest(c1, FP_KEY_TEXT)
    assert found is not None
    assert session.server.scheme == found[0]
    assert session.server.complete


@need_ffmpeg
def test_ffmpeg_publisher_digest_c1() -> None:
    session = serve_once(ffmpeg_publish)
    _assert_digest_client(session)
    assert session.server.scheme == 0  # ffmpeg signs C1 in scheme 0 (unless RTMPE)
    assert session.c0_c1[5:9] == b"\x09\x00\x7c\x02"
    assert CONNECT in session.after_handshake, session.client_log


@need_ffmpeg
def test_ffmpeg_player_accepts_our_s1_and_s2() -> None:
    # As a player ffmpeg checks the S1 digest and the S2 signature ("Signature mismatch").
    session = serve_once(ffmpeg_play)
    _assert_digest_client(session)
    assert CONNECT in session.after_handshake, session.client_log


@need_ffmpeg
def test_ffmpeg_player_rejects_a_broken_s2() -> None:
    """Control: the harness does notice a client that refuses the handshake."""
    session = serve_once(ffmpeg_play, tamper=_corrupt_s2)
    assert CONNECT not in session.after_handshake
    assert "Signature mismatch" in session.client_log


@need_rtmpdump
def test_rtmpdump_plain() -> None:
    session = serve_once(rtmpdump())
    assert session.c0_c1[0] == 3
    assert session.c0_c1[5:9] == b"\x00\x00\x00\x00"  # librtmp without -w/-x: plain C1
    assert session.server.scheme is None
    assert CONNECT in session.after_handshake, session.client_log


SWF_VERIFY = ("-w", "00" * 32, "-x", "1000")  # any SWF hash/size turns on the FP9 handshake


@need_rtmpdump
def test_rtmpdump_fp9_accepts_our_s1_and_s2() -> None:
    # With -w/-x librtmp signs C1 and refuses an S1 without digest or a bad S2.
    session = serve_once(rtmpdump(*SWF_VERIFY, "-V"))
    _assert_digest_client(session)
    assert "Genuine Adobe Flash Media Server" in session.client_log
    assert CONNECT in session.after_handshake, session.client_log


@need_rtmpdump
def test_rtmpdump_fp9_rejects_a_broken_s2() -> None:
    session = serve_once(rtmpdump(*SWF_VERIFY), tamper=_corrupt_s2)
    assert CONNECT not in session.after_handshake
    assert "not genuine" in session.client_log


# -- our client against ffmpeg's RTMP server (`-listen 1`) ------------------------------


def _free_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port: int = probe.getsockname()[1]
    return port


def _connect_with_retry(port: int, proc: subprocess.Popen[bytes]) -> socket.socket:
    deadline = time.monotonic() + TIMEOUT
    while True:
        try:
            return socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
        except ConnectionRefusedError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def client_against_ffmpeg(
    digest: bool, tamper: Callable[[bytes], bytes] = lambda c2: c2
) -> tuple[ClientHandshake, str]:
    assert FFMPEG is not None
    port = _free_port()
    argv = [FFMPEG, "-hide_banner", "-nostdin", "-loglevel", "warning", "-listen", "1"]
    argv += ["-i", f"rtmp://127.0.0.1:{port}/live/x", "-f", "null", "-"]
    with _client(argv) as proc:
        client = ClientHandshake(os.urandom(2 * HANDSHAKE_SIZE), digest=digest, uptime_ms=5)
        with _connect_with_retry(port, proc) as conn:
            conn.sendall(client.initiate())
            while not client.complete:
                data = conn.recv(65536)
                if not data:
                    break
                out = client.receive_data(data)
                if out:
                    conn.sendall(tamper(out))
            time.sleep(0.3)  # let ffmpeg read C2 and log about it before we hang up
        _, err = proc.communicate(timeout=TIMEOUT)
    return client, err.decode(errors="replace")


@need_ffmpeg
@pytest.mark.parametrize("digest", [True, False])
def test_our_client_against_ffmpeg_server(digest: bool) -> None:
    client, log = client_against_ffmpeg(digest)
    assert client.complete
    assert not client.server_digest_valid  # ffmpeg's server answers plain
    assert "Erroneous C2" not in log and "Handshake" not in log, log


def _flip_byte_100(c2: bytes) -> bytes:
    return c2[:100] + bytes([c2[100] ^ 1]) + c2[101:]


@need_ffmpeg
def test_ffmpeg_server_notices_a_broken_c2() -> None:
    """Control: ffmpeg does log a C2 that does not echo its S1."""
    client, log = client_against_ffmpeg(True, tamper=_flip_byte_100)
    assert client.complete
    assert "Erroneous C2 Message random does not match up" in log
