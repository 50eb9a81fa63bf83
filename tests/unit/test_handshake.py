"""RTMP handshake: plain (spec 5.2) and digest (FP9), both roles, bytes in / bytes out.

The digest checks here use their own HMAC-SHA256 (RFC 2104 over hashlib.sha256) and
their own offset arithmetic, written from the description of the scheme, so they do
not share code with the module under test.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from livecast.rtmp import handshake as hs
from livecast.rtmp.errors import ProtocolError
from livecast.rtmp.handshake import HANDSHAKE_SIZE, ClientHandshake, ServerHandshake

# -- independent reference code --------------------------------------------------------

_TAIL = bytes.fromhex("F0EEC24A8068BEE82E00D0D1029E7E576EEC5D2D29806FAB93B8E636CFEB31AE")
FP_KEY = b"Genuine Adobe Flash Player 001" + _TAIL  # 62 bytes
FMS_KEY = b"Genuine Adobe Flash Media Server 001" + _TAIL  # 68 bytes


def hmac_sha256(key: bytes, message: bytes) -> bytes:
    """HMAC per RFC 2104 with SHA-256 (block size 64)."""
    if len(key) > 64:
        key = hashlib.sha256(key).digest()
    key = key.ljust(64, b"\x00")
    inner = hashlib.sha256(bytes(k ^ 0x36 for k in key) + message).digest()
    return hashlib.sha256(bytes(k ^ 0x5C for k in key) + inner).digest()


def ref_offset(packet: bytes, scheme: int) -> int:
    if scheme == 0:
        return (packet[8] + packet[9] + packet[10] + packet[11]) % 728 + 12
    return (packet[772] + packet[773] + packet[774] + packet[775]) % 728 + 776


def ref_digest(packet: bytes, offset: int, key: bytes) -> bytes:
    return hmac_sha256(key, packet[:offset] + packet[offset + 32 :])


def ref_has_digest(packet: bytes, scheme: int, key: bytes) -> bool:
    offset = ref_offset(packet, scheme)
    return packet[offset : offset + 32] == ref_digest(packet, offset, key)


def ref_sign(packet: bytearray, scheme: int, key: bytes) -> bytes:
    """Write the digest into `packet` in place; return it."""
    offset = ref_offset(bytes(packet), scheme)
    digest = ref_digest(bytes(packet), offset, key)
    packet[offset : offset + 32] = digest
    return digest


def ref_response_ok(packet: bytes, signed_digest: bytes, full_key: bytes) -> bool:
    """What a verifying peer checks in C2/S2."""
    key = hmac_sha256(full_key, signed_digest)
    return packet[1504:] == hmac_sha256(key, packet[:1504])


def pattern(seed: int, size: int) -> bytes:
    """Deterministic filler that is not all one value."""
    out = bytearray()
    counter = 0
    while len(out) < size:
        out += hashlib.sha256(struct.pack(">II", seed, counter)).digest()
        counter += 1
    return bytes(out[:size])


RANDOM = pattern(1, 2 * HANDSHAKE_SIZE)


def digest_c1(
    scheme: int, *, time: int = 0x00000ABC, version: bytes = b"\x80\x00\x07\x02"
) -> bytes:
    packet = bytearray(struct.pack(">I", time) + version + pattern(7, 1528))
    ref_sign(packet, scheme, FP_KEY[:30])
    return bytes(packet)


def test_reference_hmac_matches_rfc4231_case_2() -> None:
    assert hmac_sha256(b"Jefe", b"what do ya want for nothing?") == bytes.fromhex(
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    )


def test_genuine_keys() -> None:
    assert hs.GENUINE_FP_KEY == FP_KEY and len(hs.GENUINE_FP_KEY) == 62
    assert hs.GENUINE_FMS_KEY == FMS_KEY and len(hs.GENUINE_FMS_KEY) == 68
    assert hs.FP_KEY_TEXT == b"Genuine Adobe Flash Player 001"
    assert hs.FMS_KEY_TEXT == b"Genuine Adobe Flash Media Server 001"


def test_digest_offset_by_hand() -> None:
    packet = bytearray(HANDSHAKE_SIZE)
    packet[8:12] = b"\xff\xff\xff\xff"  # 1020 % 728 = 292
    packet[772:776] = b"\x01\x02\x03\x04"  # 10
    assert hs.digest_offset(packet, 0) == 292 + 12
    assert hs.digest_offset(packet, 1) == 10 + 776
    packet[772:776] = b"\xb5\xb5\xb5\xb4"  # 0x2D3 = 723: the highest offsets stay inside
    assert hs.digest_offset(packet, 1) == 723 + 776
    assert hs.digest_offset(packet, 1) + 32 <= HANDSHAKE_SIZE


@pytest.mark.parametrize("scheme", [0, 1])
def test_find_digest_both_schemes(scheme: int) -> None:
    c1 = digest_c1(scheme)
    assert hs.find_digest(c1, FP_KEY[:30]) == (scheme, ref_offset(c1, scheme))
    assert hs.find_digest(c1, FMS_KEY[:36]) is None  # wrong key
    assert hs.find_digest(bytes(HANDSHAKE_SIZE), FP_KEY[:30]) is None


# -- server, plain ---------------------------------------------------------------------


def plain_c1() -> bytes:
    return b"\x01\x02\x03\x04" + b"\x00\x00\x00\x00" + pattern(9, 1528)


def test_plain_server_handshake() -> None:
    c1 = plain_c1()
    server = ServerHandshake(RANDOM, uptime_ms=1000)
    out = server.receive_data(b"\x03" + c1)
    expected_s1 = b"\x00\x00\x03\xe8" + b"\x00\x00\x00\x00" + RANDOM[:1528]
    assert out == b"\x03" + expected_s1 + c1
    assert out[1 + 4 : 1 + 8] == b"\x00\x00\x00\x00"  # S1 version bytes zero
    assert server.scheme is None and not server.complete
    assert server.receive_data(pattern(3, HANDSHAKE_SIZE)) == b""  # C2, not checked
    assert server.complete and server.leftover == b""


def test_plain_answer_when_c1_version_is_garbage_without_digest() -> None:
    c1 = b"\x00\x00\x00\x00" + b"\x0a\x00\x2d\x02" + pattern(9, 1528)
    out = ServerHandshake(RANDOM).receive_data(b"\x03" + c1)
    assert out[1:1537] == b"\x00" * 8 + RANDOM[:1528]
    assert out[1537:] == c1


# -- server, digest --------------------------------------------------------------------


@pytest.mark.parametrize("scheme", [0, 1])
def test_digest_server_handshake(scheme: int) -> None:
    c1 = digest_c1(scheme)
    client_digest = c1[ref_offset(c1, scheme) :][:32]
    server = ServerHandshake(RANDOM, uptime_ms=0x01020304, server_version=b"\x04\x05\x00\x01")
    out = server.receive_data(b"\x03" + c1)
    assert server.scheme == scheme
    assert server.client_digest == client_digest
    assert len(out) == 1 + 2 * HANDSHAKE_SIZE and out[0] == 3
    s1, s2 = out[1:1537], out[1537:]
    assert s1[:8] == b"\x01\x02\x03\x04\x04\x05\x00\x01"
    # S1: the caller's random with a server digest in the client's scheme.
    assert ref_has_digest(s1, scheme, FMS_KEY[:36])
    assert not ref_has_digest(s1, 1 - scheme, FMS_KEY[:36])
    offset = ref_offset(s1, scheme)
    assert s1[8:offset] == RANDOM[: offset - 8]
    assert s1[offset + 32 :] == RANDOM[offset + 24 : 1528]
    # S2: what a verifying client (ffmpeg player, librtmp FP9) checks.
    assert s2[:1504] == RANDOM[1536 : 1536 + 1504]
    assert ref_response_ok(s2, client_digest, FMS_KEY)
    assert not ref_response_ok(s2, client_digest, FMS_KEY[:36])
    assert server.receive_data(bytes(HANDSHAKE_SIZE)) == b""
    assert server.complete


# Captured from ffmpeg 5.1 (native RTMP, `ffmpeg -i rtmp://127.0.0.1:PORT/live/x`):
# C0+C1 (deterministic: ffmpeg seeds its generator with 0xDEADC0DE and sends uptime 0)
# followed by the C2 it answered to ServerHandshake(bytes(range(256)) * 12).
FFMPEG_PLAYER_C0_C1_C2 = base64.b64decode(
    "AwAAAAAJAHwC93hVHs6rjh42LwfFhopwsmbUAiDlCGEYoi42l9X8K2Mpwi7nx8mwtbNF36g5j+o7yHkgihBoQlqh"
    "F0y1cljP6+JNpC7E/52hnHtAbxjJW/3QTuSLb4MyFKR7i/aOsFJU4lrpqai0lsVJb26c18aMtrzIQWnmfz43L/4Y"
    "bahROGLFr961oSGKhguszdhpslPbq4oO+1mkjEQgmYdeVbdP0Hobaa8wPgmYc8t34tnixHQesfUGp/Cylir5H1BR"
    "yJCjIJlPTIs2oB+pwPFfS3z3tsOBfaYJGGEdOwL/fMlAOJN1N9M4LkFr1XV3g035yvdINSFQzpLQ27QOhx/DZOGL"
    "fjVp45h2wa4Mt5/216sy+fARhpyNpBke9G08G8a3LYOBLyJD0XUqQSYy1mogdfXTAvRc3yuYuAK3mAXcSDfYTt7R"
    "zELLp+7DE3v4bdCy1/Yk1SGj/2Vbzw30EBNB0jDpRlFijkWnq/gYMQHOmB5ehqb67Fx5qn7HGB6kWe2WbgyTKm+e"
    "S/VUq3sckFzeBU7UDS+4m7/GV1LljP3k8qBNw60eXvT8ZNV7BxwUFGpFH2oEMVbSiA9ZV9eN/T/yuID2JKxw8nCU"
    "83c06vGST2asPWSK4jKTBUSkQgtl7tRpb39Q/gX8lIUWZQv7m2X5U9hI40VpZdDXa2J6hONendq9i0Pw+truRYzf"
    "WevXc5IuCuUH1eZAkukOxn7YQ56PIhx1Op+SFvHLhbUQe8fMfE+yw+7Rr8cJsZL1DeacH/ylZQ77Ujtfq1mXysS3"
    "71ryv1lz5ik7rh/B2kmb5VFQd95N2z9/vNdBcRxit9gDuNBUz1eBgnFNHERb1pK6G4OaCecmb8hdqo+tQz2rvSBs"
    "3h6lcXcMa/p5VsJm7oQ16wHKpvWDwNg8M+788/l9uRe9spn4qJ+4hgqxzWRMHoLM4TI6nredJfXcVwtwtAuyAGF0"
    "M1PQU27Nq9gvInd1YijLVP5pMsTJvRMNK/xwC/XYXaaUbpb4Lgr9jpwgz+q/mmoYm7F7vvU50dnnPulm/LXWvb+Y"
    "RE3oZb4WBeNAh7NM3wTjr/Vb1BN8Ui0uPHvyY02zJrIqR023+KCVKrNRDeVVOWwYo3ioOQtzv/d3L7J2D6V4ajsE"
    "WcRaHRsN/0y7tl2g7TTzIRbDwswrlYJREbz7skbBUFqgDJcNBtdsyVDONosiDbIEh8ugK7H8VLNlZ7QpE9a4hQYs"
    "13lWAdMaSo5tVkZ/pcUhYmdv1SYSJRPD5H8ubZ1qGcT4eVQxqUztA5Ih0nrGinp3DpMFJSJxRZtx0FUFxJd7cOlo"
    "USCLrNzffmgrOEiECIDx/sKjL7FAaGK8g8rYmt9ynzum/9P+gI6EA+fGoPbc2jIRiY9vFlBbB4zHi4DbYA3tLyAP"
    "Jf9dyzHTLL4gVri9wxCRYxq70qwo1h/jJIDsUDW7818XM5Pw1Zoh0jALLbS1nqpj/+D5PWXcAoUWkF8iqcff84fE"
    "63jGMA5+u7KmZjz75amXfK9XZLo/CrpX205gUeCuxuBbG9qmSal4de28QLzEIUu3/vcnMNQ2isvT4Qq0x2QqHFP5"
    "PKJtucdmVVvib9/w4qchQluVdisLd2/T4+sXMT1TEpyfNAA8maUZaoxqrLbWS1HdmLJ8W1mnC9lBoboDAPt0TPxJ"
    "nZl+bZM5LSinZ9EW37wsuetAVA0R6zBK2TIjhv3Fl9VdPRxnvFTfNUea+xnqLNIE3TMe+0nB4XL2u4n79YIH3K5s"
    "EvinWYvvHocsDDXyK0wp3xD5uxrdOuuIerX7OMA2uING92HELyld/gtDfftPMKcSdqt9QJzkJJY/nrtPH0flKxh4"
    "byebWocib2aYHdbQrRH0mvMQVf9pcQ/aNFfEt4UtsuOTbQd4v4efFzStOiT/sa6VhHYLnLBFKlO6CWL/4vYFr1KD"
    "C9IRpUiIlMwLBSJVBIcRzRmFEKnpQ7+Lg5GYRV+9QQcwBdMDmQuI2bY2VtQ8/sjtg3SPSw8PxRICFnlLIqBU5bxY"
    "q9jEEJYHCIQ5NFPOUJaUr76r4OJcFcIsr3LQmG+9PtoNcVGXPhkIPgq776duF9il+pVw7VR6l4blNWEtRSKMdz4O"
    "vvgFrIdkpnVSSWo8wzVYBfmdA2BnhLBfVTYftMZuYWT5uIIVaTDtdufyffjtaubAg3tBQT6tcCPyvS6dztZjyDBc"
    "urwiw+u6IH6iqMNez3go3OJjPTjIwunezyVTsWGiEvyali5EkPujHSSi66jrtKYNbPQpFCrSb7ZWufEvSxwiwM1l"
    "SXhk3YPw0DFi3e28ToV8DKOR7S8eWmSUjQlggaEUchwLyKFjW/JwNri8wJ7VsR2FvVR8o2Hi2GWELX/mS8OimJWp"
    "fOxbLSkpT0GrwrxGbPONjQCIYDa/pF5L30hOnl/hCwJKmG5j8rDhCaPqQg4lKIvKxpMRQfh2tX4385yMG/8jtWan"
    "iHsYthjKTvNHAJ3VAF5/QTvs/Qsm//4V7G7JmCJuOTZWJsVgyyQTUnzldMCkNvGxeIrIvNjU4L7RPnx5lnMGmn2C"
    "ScADtjPsZYfT4tfT9apABxScBKw98KNIqosnyYZoSvuThw7FpiPK0NB02Yz7wuHEJCKb0CDlzEVUisT4k4lSpLJM"
    "rIKmAunYwCZIDRCJFe/gso1+/NNOODlbcSjKzbqoNQDUCNJq2RMCTV2e4qCTjcMfarxTH19bgqxWr9RUsdQplWqu"
    "a7WDbXat6LgnbpeV3R5/eaIPWgkpanOB1Y+WcMMLhprIAiRZ/Ig8zcFutozWwSNWKkFrmVl2NQV9hZLPqnH09DAF"
    "S2n1QZz4OZx1w8PpttsNHAKStfiOvTIqpGZ+fWq6p1IBmoUMDQVOh5zsKy2UOre8dBDvcV/qrZ5qj8apBT/q/GCv"
    "FeRvR9O/BsbnABwc10PQDUMTv+c8/fo0IvF1llpc8vIVlFfTlLfh/LVzqZTbZ4n7zPe0gFa8ogf5A5+nU76n5LWP"
    "xmseOJY/4LacvVS21yrreTUCr7Ga+UnmmgDWGpP0U2AwmLxA0/biLbVYbFSi802FQVOUwneq4iact/TWEtaZynKt"
    "IivM3sa6QwNFXHD0ycGcjQ5qByn6+gtpYv7CwfRwnHCZ/mRCTgPwIdDisgwhlsJdORGZW77jSZPFy0IJCUb0Zy1T"
    "ptXiM09spBnCVbnus/XEjQT9eeNkACu36SPlI3E9hsvOd1CxES/VJmC8XS33xvb68i0sF9hr2nKkWoMBfdTu6bZ1"
    "TODtioT+76cQfNmWkVvHP6dyu1u6uC3G/fEdYKtfrAQ9c5+Ni031bL9KJjUsXIdK/2/xT5UVIlAdYCoSij2cfDsj"
    "vceHJMfxcSpMCU1C6E4PfYq+6emhua7DS1LUGTOxvFGCNanKMk1+b9lT/wvy1w/tXd0RtrDs4A9JvM2RJL+pu+Og"
    "QvRA5o14HMf7V2qbo1qbkefF1Xv6PRlJDCaOZfxSb8YGSUGrkbh5o512wlsKhtYXnktNDrg1Dwj7iig4CdRBnvXg"
    "Xv9kImf+ZCDICfVOWRUiGY00W0MIpD8iCZAdnAqc2uMkE3wkcbNtZpzskVMQoMlKQZny3aiRukEjeJ+McBeOL6bi"
    "360mwuPYdfU25U3R3EqzlTyWDPJxVLlfBB7ZL0p1YYaJ9u2bJ4tNhxo/nqyzdzL/kY7xvnobRGY2HK9+AAFCvQCN"
    "b4n9Ksg7KJvjL87Vo2tV9t/IdWPIR/Z6C7CJeE9WZzqQ40UIo/zj6J1CkacvfhMqibGKug1W9KkZ4HDQ3iR+zM0R"
    "Z0ua0woJUiftg1VMb7XKauggNIy5XLBWb+6Xt/OnlbiUstNgmT579KMuioBjdpHHP8y7Nr90piDfTaZro5Ci4SaD"
    "1+8YQPuvXwFH7xwl/I/N5F5eSiVbdtlWOIlWu/BSjozIUpK2xM+aoJQevsx7Vif9oyznXtJ5EWS4atOydC+c54M6"
    "48kKJAtbAXYNuUhTaJxBwI+ixr0psNXNmo3Zv6zwHzXZNJ96Zj9uqO11QM6NaD+hTAEJXJRzWhmiP8OGwkHltaa9"
    "kzYqqgCnuEaXido2HLPYDO0xswu782dIyBQrFlpxmzQXVwh8OQ=="
)
FFMPEG_RANDOM = bytes(range(256)) * 12


def test_ffmpeg_captured_c1_and_c2() -> None:
    vector = FFMPEG_PLAYER_C0_C1_C2
    assert hashlib.sha256(vector).hexdigest() == (
        "9590aafb76421f1d637d301f4a5844e0d3cd0289d8291df2520af9347b7c7068"
    )
    c0_c1, c2 = vector[:1537], vector[1537:]
    assert c0_c1[:9] == b"\x03\x00\x00\x00\x00\x09\x00\x7c\x02"  # Flash 9.0.124.2
    assert ref_has_digest(c0_c1[1:], 0, FP_KEY[:30])  # ffmpeg signs in scheme 0
    assert hs.find_digest(c0_c1[1:], hs.FP_KEY_TEXT) == (0, ref_offset(c0_c1[1:], 0))

    server = ServerHandshake(FFMPEG_RANDOM)
    s0_s1_s2 = server.receive_data(c0_c1)
    assert server.scheme == 0
    s1 = s0_s1_s2[1:1537]
    server_digest = s1[ref_offset(s1, 0) :][:32]
    # ffmpeg's C2 signs our S1 digest with the full player key (Flash Player's way).
    assert ref_response_ok(c2, server_digest, FP_KEY)
    assert hs.verify_response(c2, server_digest, hs.GENUINE_FP_KEY)
    assert server.receive_data(c2 + b"\x03") == b""
    assert server.complete and server.leftover == b"\x03"


# -- client ----------------------------------------------------------------------------


def test_client_plain_c1_and_echo() -> None:
    client = ClientHandshake(RANDOM, digest=False, uptime_ms=0x10)
    c0_c1 = client.initiate()
    assert c0_c1 == b"\x03" + b"\x00\x00\x00\x10" + b"\x00" * 4 + RANDOM[:1528]
    s1 = b"\x00\x00\x00\x07" + b"\x00" * 4 + pattern(5, 1528)
    assert client.receive_data(b"\x03" + s1) == s1  # C2 echoes S1 once S1 is in
    assert client.receive_data(c0_c1[1:]) == b""
    assert client.complete and not client.server_digest_valid


def test_client_digest_c1_is_scheme_1() -> None:
    client = ClientHandshake(RANDOM, uptime_ms=5, client_version=b"\x80\x00\x07\x02")
    c0_c1 = client.initiate()
    c1 = c0_c1[1:]
    assert c0_c1[:9] == b"\x03\x00\x00\x00\x05\x80\x00\x07\x02"
    assert ref_has_digest(c1, 1, FP_KEY[:30])
    assert not ref_has_digest(c1, 0, FP_KEY[:30])


def _digest_server_reply(c1: bytes, *, scheme: int, good_s2: bool = True) -> bytes:
    """S0+S1+S2 built with the reference code, the way FMS answers."""
    s1 = bytearray(b"\x00\x00\x00\x00\x04\x05\x00\x01" + pattern(11, 1528))
    ref_sign(s1, scheme, FMS_KEY[:36])
    found = next(ref_offset(c1, s) for s in (1, 0) if ref_has_digest(c1, s, FP_KEY[:30]))
    body = pattern(12, 1504)
    signature = hmac_sha256(hmac_sha256(FMS_KEY, c1[found : found + 32]), body)
    if not good_s2:
        signature = bytes(32)
    return b"\x03" + bytes(s1) + body + signature


@pytest.mark.parametrize("scheme", [0, 1])
def test_client_against_reference_digest_server(scheme: int) -> None:
    client = ClientHandshake(RANDOM)
    c1 = client.initiate()[1:]
    reply = _digest_server_reply(c1, scheme=scheme)
    s1 = reply[1:1537]
    c2 = client.receive_data(reply)
    assert client.complete and client.server_digest_valid and client.leftover == b""
    # C2 as Flash Player builds it: random + HMAC(HMAC(FP key 62, S1 digest), random).
    assert c2[:1504] == RANDOM[1536 : 1536 + 1504]
    assert ref_response_ok(c2, s1[ref_offset(s1, scheme) :][:32], FP_KEY)


def test_client_flags_bad_s2_without_raising() -> None:
    client = ClientHandshake(RANDOM)
    reply = _digest_server_reply(client.initiate()[1:], scheme=1, good_s2=False)
    client.receive_data(reply)
    assert client.complete and not client.server_digest_valid


@pytest.mark.parametrize(
    "version", [b"\x00\x00\x00\x00", b"\x0d\x0e\x0a\x0d"], ids=["zero-version", "no-digest"]
)
def test_digest_client_falls_back_to_echo(version: bytes) -> None:
    client = ClientHandshake(RANDOM)
    s1 = b"\x00\x00\x00\x09" + version + pattern(13, 1528)
    assert client.receive_data(b"\x03" + s1) == s1
    client.receive_data(pattern(14, HANDSHAKE_SIZE))
    assert client.complete and not client.server_digest_valid


def test_zero_version_s1_means_plain_even_with_a_digest() -> None:
    """librtmp's rule: S1 version byte zero = plain server, whatever the random holds."""
    client = ClientHandshake(RANDOM)
    s1 = bytearray(b"\x00\x00\x00\x09" + b"\x00" * 4 + pattern(15, 1528))
    ref_sign(s1, 1, FMS_KEY[:36])
    assert client.receive_data(b"\x03" + bytes(s1)) == bytes(s1)


@pytest.mark.parametrize("digest", [True, False])
def test_client_and_server_in_memory(digest: bool) -> None:
    client = ClientHandshake(pattern(21, 3072), digest=digest, uptime_ms=77)
    server = ServerHandshake(pattern(22, 3072), uptime_ms=99)
    c0_c1 = client.initiate()
    s0_s1_s2 = server.receive_data(c0_c1)
    c2 = client.receive_data(s0_s1_s2)
    assert server.receive_data(c2 + b"chunk") == b""
    assert client.complete and server.complete
    assert server.leftover == b"chunk" and client.leftover == b""
    s1 = s0_s1_s2[1:1537]
    if digest:
        assert server.scheme == 1 and client.server_digest_valid
        assert ref_response_ok(c2, s1[ref_offset(s1, 1) :][:32], FP_KEY)
    else:
        assert server.scheme is None and not client.server_digest_valid
        assert s1[4:8] == b"\x00" * 4
        assert c2 == s1
        assert s0_s1_s2[1537:] == c0_c1[1:]


# -- feeding three ways ----------------------------------------------------------------


def feed(party: ServerHandshake | ClientHandshake, data: bytes, how: str) -> bytes:
    if how == "whole":
        return party.receive_data(data)
    if how == "bytes":
        return b"".join(party.receive_data(data[i : i + 1]) for i in range(len(data)))
    assert how == "ragged"
    cuts = [0, 1, 2, 700, 1537, 1538, 2000, 3072, 3073, len(data)]
    return b"".join(party.receive_data(data[a:b]) for a, b in itertools.pairwise(cuts))


TRAILER = b"\x02\x00\x00\x00\x00\x00\x04\x01\x00\x00\x00\x00\x00\x00\x10\x00"  # set chunk size


@pytest.mark.parametrize("how", ["whole", "bytes", "ragged"])
@pytest.mark.parametrize("c1", [plain_c1(), digest_c1(0), digest_c1(1)], ids=["plain", "d0", "d1"])
def test_server_splits(how: str, c1: bytes) -> None:
    stream = b"\x03" + c1 + pattern(4, HANDSHAKE_SIZE) + TRAILER
    reference = ServerHandshake(RANDOM)
    expected = reference.receive_data(stream)
    server = ServerHandshake(RANDOM)
    assert feed(server, stream, how) == expected
    assert server.complete and server.leftover == TRAILER == reference.leftover
    assert server.scheme == reference.scheme


@pytest.mark.parametrize("how", ["whole", "bytes", "ragged"])
@pytest.mark.parametrize("digest", [True, False])
def test_client_splits(how: str, digest: bool) -> None:
    server = ServerHandshake(RANDOM)
    client = ClientHandshake(pattern(30, 3072), digest=digest)
    stream = server.receive_data(client.initiate()) + TRAILER
    reference = ClientHandshake(pattern(30, 3072), digest=digest)
    expected = reference.receive_data(stream)
    assert feed(client, stream, how) == expected
    assert client.complete and client.leftover == TRAILER
    assert client.server_digest_valid == reference.server_digest_valid == digest


def test_bytes_after_complete_go_to_leftover() -> None:
    server = ServerHandshake(RANDOM)
    server.receive_data(b"\x03" + plain_c1() + bytes(HANDSHAKE_SIZE) + b"ab")
    assert server.receive_data(b"cd") == b""
    assert server.leftover == b"abcd"


def test_truncated_input_just_waits() -> None:
    server = ServerHandshake(RANDOM)
    assert server.receive_data(b"") == b""
    assert server.receive_data(b"\x03") == b""
    assert server.receive_data(plain_c1()[:-1]) == b""
    assert not server.complete
    out = server.receive_data(plain_c1()[-1:] + bytes(HANDSHAKE_SIZE - 1))
    assert len(out) == 3073 and not server.complete
    server.receive_data(b"\x00")
    assert server.complete and server.leftover == b""

    client = ClientHandshake(RANDOM)
    assert client.receive_data(b"\x03" + bytes(1535)) == b""
    assert not client.complete


# -- bad versions ----------------------------------------------------------------------


@pytest.mark.parametrize("version", [6, 8, 9])
def test_rtmpe_refused(version: int) -> None:
    with pytest.raises(ProtocolError, match=r"^RTMPE \(encrypted RTMP\) is not supported$"):
        ServerHandshake(RANDOM).receive_data(bytes([version]))


@pytest.mark.parametrize("version", [0, 1, 2, 4, 5, 7, 10, 0x16, ord("G"), 255])
def test_other_c0_versions_refused(version: int) -> None:
    with pytest.raises(ProtocolError, match=rf"\bversion {version}\b"):
        ServerHandshake(RANDOM).receive_data(bytes([version]) + plain_c1())


def test_http_and_tls_get_a_hint() -> None:
    with pytest.raises(ProtocolError, match="HTTP"):
        ServerHandshake(RANDOM).receive_data(b"GET / HTTP/1.1\r\n")
    with pytest.raises(ProtocolError, match="TLS"):
        ServerHandshake(RANDOM).receive_data(b"\x16\x03\x01")


@pytest.mark.parametrize("version", [0, 6, 4])
def test_client_refuses_bad_s0(version: int) -> None:
    with pytest.raises(ProtocolError, match="S0"):
        ClientHandshake(RANDOM).receive_data(bytes([version]))


def test_constructor_checks() -> None:
    with pytest.raises(ValueError, match="3072"):
        ServerHandshake(bytes(3071))
    with pytest.raises(ValueError, match="3072"):
        ClientHandshake(bytes(100))
    with pytest.raises(ValueError, match="server_version"):
        ServerHandshake(RANDOM, server_version=b"\x00\x01\x02\x03")
    with pytest.raises(ValueError, match="server_version"):
        ServerHandshake(RANDOM, server_version=b"\x01")
    with pytest.raises(ValueError, match="client_version"):
        ClientHandshake(RANDOM, client_version=b"\x00\x00\x00\x00")
    ClientHandshake(RANDOM, digest=False, client_version=b"\x00\x00\x00\x00")  # unused


# -- property tests --------------------------------------------------------------------

PROPS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({0, len(data), *(c % (len(data) + 1) for c in cuts)})
    return [data[a:b] for a, b in itertools.pairwise(points)]


@PROPS
@given(
    rest=st.binary(max_size=3300),
    cuts=st.lists(st.integers(min_value=0, max_value=4000), max_size=6),
)
def test_server_random_bytes_after_valid_c0(rest: bytes, cuts: list[int]) -> None:
    data = b"\x03" + rest
    server = ServerHandshake(RANDOM)
    out = b"".join(server.receive_data(piece) for piece in _split(data, cuts))
    if len(data) < 1537:
        assert out == b"" and not server.complete
        return
    assert len(out) == 3073 and out[0] == 3
    # Random bytes carry no valid digest: plain answer, S2 echoes C1.
    assert server.scheme is None
    assert out[5:9] == b"\x00" * 4 and out[1537:] == data[1:1537]
    assert server.complete == (len(data) >= 3073)
    if server.complete:
        assert server.leftover == data[3073:]


@PROPS
@given(data=st.binary(min_size=1, max_size=40))
def test_server_only_raises_protocol_error(data: bytes) -> None:
    server = ServerHandshake(RANDOM)
    try:
        server.receive_data(data)
    except ProtocolError:
        assert data[0] != 3
    else:
        assert data[0] == 3


@PROPS
@given(
    scheme=st.sampled_from([0, 1]),
    position=st.integers(min_value=0, max_value=HANDSHAKE_SIZE - 1),
    flip=st.integers(min_value=1, max_value=255),
)
def test_mutated_digest_c1_gets_plain_answer(scheme: int, position: int, flip: int) -> None:
    c1 = bytearray(digest_c1(scheme))
    c1[position] ^= flip
    out = ServerHandshake(RANDOM).receive_data(b"\x03" + bytes(c1))
    assert out[5:9] == b"\x00" * 4  # never a non-zero version without a valid digest
    assert out[1537:] == bytes(c1)


@PROPS
@given(
    rest=st.binary(max_size=3300),
    cuts=st.lists(st.integers(min_value=0, max_value=4000), max_size=6),
)
def test_client_random_bytes_after_valid_s0(rest: bytes, cuts: list[int]) -> None:
    data = b"\x03" + rest
    client = ClientHandshake(RANDOM)
    out = b"".join(client.receive_data(piece) for piece in _split(data, cuts))
    if len(data) < 1537:
        assert out == b""
    else:
        assert out == data[1:1537]  # no valid server digest: echo
    assert client.complete == (len(data) >= 3073)
    assert not client.server_digest_valid
