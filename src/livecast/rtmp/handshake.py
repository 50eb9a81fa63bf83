"""The RTMP handshake, both roles, sans-I/O: bytes in, bytes to send out.

Two dialects share the same wire shape (C0/S0 = one version byte, then three
1536-byte packets each way):

* **Plain** (RTMP 1.0 spec, section 5.2): C1/S1 = time(4) + zero(4) + random(1528);
  C2/S2 echo the peer's packet.
* **Digest** ("complex" / FP9, as Flash Player, FMS, librtmp and ffmpeg do it): bytes
  4-7 of C1/S1 carry a non-zero version and a 32-byte HMAC-SHA256 "digest" sits
  somewhere in the random part. Its offset is derived from four bytes of the packet:
  scheme 0 reads bytes 8..11 and puts the digest in 12..771, scheme 1 reads bytes
  772..775 and puts it in 776..1535. The digest covers the packet minus those 32 bytes,
  keyed with the text part of the Genuine key (Player 30 bytes, Server 36 bytes).
  C2/S2 become random(1504) + HMAC(key=HMAC(full Genuine key, peer digest), random).

Players check S1 and S2 (ffmpeg as a player, librtmp with ``-w``/``-x``): an S1 with a
non-zero version must carry a valid digest, so the plain answer keeps bytes 4-7 zero.

Randomness and time are parameters: nothing here reads a clock or ``os.urandom``.
"""

from __future__ import annotations

import hashlib
import hmac
import struct
from typing import Final

from livecast.rtmp.errors import ProtocolError

__all__ = [
    "DIGEST_SIZE",
    "FMS_KEY_TEXT",
    "FP_KEY_TEXT",
    "GENUINE_FMS_KEY",
    "GENUINE_FP_KEY",
    "HANDSHAKE_SIZE",
    "RANDOM_BYTES_NEEDED",
    "RTMP_VERSION",
    "ClientHandshake",
    "ServerHandshake",
    "compute_digest",
    "digest_offset",
    "find_digest",
    "make_digest_packet",
    "make_plain_packet",
    "make_response",
    "verify_response",
]

HANDSHAKE_SIZE: Final = 1536
DIGEST_SIZE: Final = 32
RTMP_VERSION: Final = 3
#: The caller hands each role this much randomness (C1/S1 random, then C2/S2 random).
RANDOM_BYTES_NEEDED: Final = 2 * HANDSHAKE_SIZE

_RANDOM_SIZE: Final = HANDSHAKE_SIZE - 8  # after time(4) + version(4)
_RESPONSE_BODY: Final = HANDSHAKE_SIZE - DIGEST_SIZE  # 1504 bytes signed in C2/S2
_RTMPE_VERSIONS: Final = frozenset({6, 8, 9})
_ZERO_VERSION: Final = b"\x00\x00\x00\x00"

_KEY_TAIL: Final = bytes.fromhex("f0eec24a8068bee82e00d0d1029e7e576eec5d2d29806fab93b8e636cfeb31ae")
#: Full keys (62 and 68 bytes) key the C2/S2 response HMAC.
GENUINE_FP_KEY: Final = b"Genuine Adobe Flash Player 001" + _KEY_TAIL
GENUINE_FMS_KEY: Final = b"Genuine Adobe Flash Media Server 001" + _KEY_TAIL
#: Text parts (30 and 36 bytes) key the C1/S1 digest.
FP_KEY_TEXT: Final = GENUINE_FP_KEY[:30]
FMS_KEY_TEXT: Final = GENUINE_FMS_KEY[:36]

_HEADER: Final = struct.Struct(">I4s")  # time, version
# Where each scheme's four offset bytes sit; the digest area starts right after them.
_SCHEME_BASE: Final = (8, 772)
_OFFSET_MODULUS: Final = 728
# librtmp and ffmpeg look for the digest in scheme 1 first, then scheme 0.
_SCHEME_ORDER: Final = (1, 0)


def _check_packet(packet: bytes | bytearray | memoryview) -> None:
    if len(packet) != HANDSHAKE_SIZE:
        raise ValueError(f"handshake packet must be {HANDSHAKE_SIZE} bytes, got {len(packet)}")


def _check_random(random_bytes: bytes) -> None:
    if len(random_bytes) < RANDOM_BYTES_NEEDED:
        raise ValueError(
            f"random_bytes must hold at least {RANDOM_BYTES_NEEDED} bytes, got {len(random_bytes)}"
        )


def _check_version(version: bytes, what: str) -> None:
    if len(version) != 4 or version[0] == 0:
        # Clients fall back to the plain handshake when byte 4 of S1/C1 is zero.
        raise ValueError(f"{what} must be 4 bytes with a non-zero first byte, got {version!r}")


def digest_offset(packet: bytes | bytearray | memoryview, scheme: int) -> int:
    """Where the 32-byte digest sits in `packet` under `scheme` (0 or 1)."""
    base = _SCHEME_BASE[scheme]
    return sum(packet[base : base + 4]) % _OFFSET_MODULUS + base + 4


def compute_digest(packet: bytes | bytearray | memoryview, offset: int, key: bytes) -> bytes:
    """HMAC-SHA256 of the 1536-byte `packet` minus the 32 bytes at `offset`."""
    _check_packet(packet)
    view = memoryview(packet)
    mac = hmac.new(key, view[:offset], hashlib.sha256)
    mac.update(view[offset + DIGEST_SIZE :])
    return mac.digest()


def find_digest(packet: bytes | bytearray | memoryview, key: bytes) -> tuple[int, int] | None:
    """Return (scheme, offset) of a valid digest keyed with `key`, or None (plain peer)."""
    _check_packet(packet)
    for scheme in _SCHEME_ORDER:
        offset = digest_offset(packet, scheme)
        expected = compute_digest(packet, offset, key)
        if hmac.compare_digest(expected, packet[offset : offset + DIGEST_SIZE]):
            return scheme, offset
    return None


def make_plain_packet(time_ms: int, random_bytes: bytes) -> bytes:
    """C1/S1 of the plain handshake: time + four zero bytes + 1528 random bytes."""
    if len(random_bytes) < _RANDOM_SIZE:
        raise ValueError(f"need {_RANDOM_SIZE} random bytes, got {len(random_bytes)}")
    return _HEADER.pack(time_ms & 0xFFFFFFFF, _ZERO_VERSION) + random_bytes[:_RANDOM_SIZE]


def make_digest_packet(
    time_ms: int, version: bytes, random_bytes: bytes, scheme: int, key: bytes
) -> bytes:
    """C1/S1 of the digest handshake: time + version + random with the digest written in."""
    _check_version(version, "version")
    if len(random_bytes) < _RANDOM_SIZE:
        raise ValueError(f"need {_RANDOM_SIZE} random bytes, got {len(random_bytes)}")
    packet = bytearray(_HEADER.pack(time_ms & 0xFFFFFFFF, version))
    packet += random_bytes[:_RANDOM_SIZE]
    offset = digest_offset(packet, scheme)
    packet[offset : offset + DIGEST_SIZE] = compute_digest(packet, offset, key)
    return bytes(packet)


def _response_key(peer_digest: bytes, genuine_key: bytes) -> bytes:
    return hmac.digest(genuine_key, peer_digest, "sha256")


def make_response(peer_digest: bytes, genuine_key: bytes, random_bytes: bytes) -> bytes:
    """C2/S2 of the digest handshake: 1504 random bytes + their HMAC.

    The HMAC key is HMAC(full Genuine key of the sender's role, peer's C1/S1 digest):
    the server uses GENUINE_FMS_KEY with the client digest, the client GENUINE_FP_KEY
    with the server digest.
    """
    if len(random_bytes) < _RESPONSE_BODY:
        raise ValueError(f"need {_RESPONSE_BODY} random bytes, got {len(random_bytes)}")
    body = random_bytes[:_RESPONSE_BODY]
    return body + hmac.digest(_response_key(peer_digest, genuine_key), body, "sha256")


def verify_response(
    packet: bytes | bytearray | memoryview, own_digest: bytes, genuine_key: bytes
) -> bool:
    """True if C2/S2 `packet` signs `own_digest` (the digest we put in our C1/S1)."""
    _check_packet(packet)
    view = memoryview(packet)
    expected = hmac.digest(_response_key(own_digest, genuine_key), view[:_RESPONSE_BODY], "sha256")
    return hmac.compare_digest(expected, view[_RESPONSE_BODY:])


def _c0_error(version: int) -> ProtocolError:
    if version in _RTMPE_VERSIONS:
        return ProtocolError("RTMPE (encrypted RTMP) is not supported")
    hint = ""
    if version in b"GPHO":  # GET, POST, HEAD, OPTIONS
        hint = " (looks like an HTTP request; RTMPT is not supported)"
    elif version == 0x16:
        hint = " (looks like a TLS handshake; RTMPS is not supported on this port)"
    return ProtocolError(f"unsupported RTMP version {version} in C0 (expected 3){hint}")


class ServerHandshake:
    """Server side: reads C0+C1, answers S0+S1+S2, then swallows C2.

    `random_bytes` (at least 3072 bytes) supplies S1's random part (bytes 0..1527)
    and, for digest clients, S2's random part (bytes 1536..3039). Memory is bounded
    by 3073 bytes plus whatever single chunk the caller feeds.
    """

    def __init__(
        self,
        random_bytes: bytes,
        *,
        uptime_ms: int = 0,
        server_version: bytes = b"\x0d\x0e\x0a\x0d",
    ) -> None:
        _check_random(random_bytes)
        _check_version(server_version, "server_version")
        self._random = bytes(random_bytes[:RANDOM_BYTES_NEEDED])
        self._uptime_ms = uptime_ms
        self._server_version = bytes(server_version)
        self._buffer = bytearray()
        self._answered = False
        self.complete = False
        self.leftover = b""
        #: Digest scheme the client used in C1 (0 or 1); None for a plain client.
        self.scheme: int | None = None
        #: The client's C1 digest (digest clients only), for callers that check C2.
        self.client_digest: bytes | None = None

    def receive_data(self, data: bytes) -> bytes:
        """Feed bytes from the client; return bytes to send now (maybe b"")."""
        if self.complete:
            self.leftover += data
            return b""
        buffer = self._buffer
        buffer += data
        out = b""
        if not self._answered:
            if buffer and buffer[0] != RTMP_VERSION:
                raise _c0_error(buffer[0])
            if len(buffer) < 1 + HANDSHAKE_SIZE:
                return b""
            c1 = bytes(buffer[1 : 1 + HANDSHAKE_SIZE])
            del buffer[: 1 + HANDSHAKE_SIZE]
            out = self._answer(c1)
            self._answered = True
        if len(buffer) >= HANDSHAKE_SIZE:
            # C2 is not checked: many clients send garbage there.
            self.leftover = bytes(buffer[HANDSHAKE_SIZE:])
            buffer.clear()
            self.complete = True
        return out

    def _answer(self, c1: bytes) -> bytes:
        found = find_digest(c1, FP_KEY_TEXT)
        if found is None:
            s1 = make_plain_packet(self._uptime_ms, self._random)
            s2 = c1  # echo: the client's time, time2 and random
        else:
            self.scheme, offset = found
            client_digest = c1[offset : offset + DIGEST_SIZE]
            self.client_digest = client_digest
            s1 = make_digest_packet(
                self._uptime_ms, self._server_version, self._random, self.scheme, FMS_KEY_TEXT
            )
            s2 = make_response(client_digest, GENUINE_FMS_KEY, self._random[HANDSHAKE_SIZE:])
        return b"".join((bytes((RTMP_VERSION,)), s1, s2))


class ClientHandshake:
    """Client side: sends C0+C1, answers S1 with C2, then reads S2.

    With `digest` (the default) C1 carries a scheme-1 digest like Flash Player 10 and
    librtmp; against a digest server, C2 signs the server's S1 digest the way Flash
    Player does. Against a plain server (S1 version bytes zero, or no valid digest) C2
    echoes S1. C2 is returned as soon as S1 is complete, as librtmp does: the server
    must not wait for C2 before sending S2, so it never hurts to answer early.

    `random_bytes` (at least 3072 bytes): bytes 0..1527 fill C1, 1536..3039 fill C2.
    """

    def __init__(
        self,
        random_bytes: bytes,
        *,
        digest: bool = True,
        uptime_ms: int = 0,
        client_version: bytes = b"\x80\x00\x07\x02",
    ) -> None:
        _check_random(random_bytes)
        self._random = bytes(random_bytes[:RANDOM_BYTES_NEEDED])
        self._digest = digest
        self._c1_digest: bytes | None = None
        if digest:
            _check_version(client_version, "client_version")
            self._c1 = make_digest_packet(uptime_ms, client_version, self._random, 1, FP_KEY_TEXT)
            offset = digest_offset(self._c1, 1)
            self._c1_digest = self._c1[offset : offset + DIGEST_SIZE]
        else:
            self._c1 = make_plain_packet(uptime_ms, self._random)
        self._buffer = bytearray()
        self._answered = False
        self._server_digest: bytes | None = None
        self.complete = False
        self.leftover = b""
        #: True once S1 carried a valid server digest and S2 signed our C1 digest.
        self.server_digest_valid = False

    def initiate(self) -> bytes:
        """C0 + C1, to send first."""
        return bytes((RTMP_VERSION,)) + self._c1

    def receive_data(self, data: bytes) -> bytes:
        """Feed bytes from the server; return bytes to send now (C2 once, else b"")."""
        if self.complete:
            self.leftover += data
            return b""
        buffer = self._buffer
        buffer += data
        out = b""
        if not self._answered:
            if buffer and buffer[0] != RTMP_VERSION:
                raise ProtocolError(f"server answered RTMP version {buffer[0]} in S0 (expected 3)")
            if len(buffer) < 1 + HANDSHAKE_SIZE:
                return b""
            s1 = bytes(buffer[1 : 1 + HANDSHAKE_SIZE])
            del buffer[: 1 + HANDSHAKE_SIZE]
            out = self._answer(s1)
            self._answered = True
        if len(buffer) >= HANDSHAKE_SIZE:
            s2 = memoryview(buffer)[:HANDSHAKE_SIZE]
            if self._server_digest is not None and self._c1_digest is not None:
                self.server_digest_valid = verify_response(s2, self._c1_digest, GENUINE_FMS_KEY)
            s2.release()
            self.leftover = bytes(buffer[HANDSHAKE_SIZE:])
            buffer.clear()
            self.complete = True
        return out

    def _answer(self, s1: bytes) -> bytes:
        if self._digest and s1[4:8] != _ZERO_VERSION:
            found = find_digest(s1, FMS_KEY_TEXT)
            if found is not None:
                offset = found[1]
                self._server_digest = s1[offset : offset + DIGEST_SIZE]
                return make_response(
                    self._server_digest, GENUINE_FP_KEY, self._random[HANDSHAKE_SIZE:]
                )
        return s1  # plain server: echo S1
