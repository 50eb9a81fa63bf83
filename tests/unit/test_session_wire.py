"""The server session fed the byte streams real clients send.

Each client's bytes are built by hand: handshake packets and chunk headers from the RTMP 1.0
specification (sections 5.2 and 5.3), AMF0 payloads written out byte by byte. Each stream is
fed three ways (whole, one byte at a time, random splits ending inside the next message) and
must give the same events and the same reply bytes; the replies are decoded with ChunkReader
and amf0 and compared message by message with what the client waits for.
"""

from __future__ import annotations

import hashlib
import hmac
import random
from collections.abc import Iterable

import pytest

from livecast.rtmp import amf0
from livecast.rtmp import events as ev
from livecast.rtmp import messages as msg
from livecast.rtmp.amf_types import ECMAArray
from livecast.rtmp.chunk import ChunkReader, ChunkWriter, RawMessage
from livecast.rtmp.session import ClientSession, ServerSession


def h(text: str) -> bytes:
    """Hex with spaces and '|' as field separators, for readable vectors."""
    return bytes.fromhex(text.replace("|", " "))


def pattern(n: int, seed: int) -> bytes:
    """Filler bytes that never repeat a 4-byte extended timestamp by accident."""
    return bytes((i * 7 + seed) & 0xFF for i in range(n))


# -- chunk headers by hand (RTMP 1.0, 5.3.1); csids below 64, so one-byte basic headers --


def _u24(v: int) -> bytes:
    return v.to_bytes(3, "big")


def _ext(v: int) -> bytes:
    return v.to_bytes(4, "big") if v >= 0xFFFFFF else b""


def fmt0(csid: int, ts: int, length: int, type_id: int, stream_id: int) -> bytes:
    return (
        bytes((csid,))
        + _u24(min(ts, 0xFFFFFF))
        + _u24(length)
        + bytes((type_id,))
        + stream_id.to_bytes(4, "little")
        + _ext(ts)
    )


def fmt1(csid: int, delta: int, length: int, type_id: int) -> bytes:
    return (
        bytes((0x40 | csid,))
        + _u24(min(delta, 0xFFFFFF))
        + _u24(length)
        + bytes((type_id,))
        + (_ext(delta))
    )


def fmt2(csid: int, delta: int) -> bytes:
    return bytes((0x80 | csid,)) + _u24(min(delta, 0xFFFFFF)) + _ext(delta)


def fmt3(csid: int, ext: int | None = None) -> bytes:
    return bytes((0xC0 | csid,)) + (b"" if ext is None else ext.to_bytes(4, "big"))


def chunked(header: bytes, payload: bytes, cont: bytes, size: int = 128) -> bytes:
    """A message's chunks: ``header`` + first piece, then ``cont`` before each later piece."""
    pieces = [payload[i : i + size] for i in range(0, len(payload), size)] or [b""]
    return header + pieces[0] + b"".join(cont + p for p in pieces[1:])


# -- AMF0 payloads, written out ----------------------------------------------------------

N0 = h("00 0000000000000000")
N1 = h("00 3ff0000000000000")
N2 = h("00 4000000000000000")
N3 = h("00 4008000000000000")
N4 = h("00 4010000000000000")
N5 = h("00 4014000000000000")
NULL = h("05")
TRUE = h("01 01")
FALSE = h("01 00")
END = h("00 00 09")
CAM = b"\x02\x00\x03cam"
LIVE = b"\x02\x00\x04live"

OBS_CONNECT = (
    b"\x02\x00\x07connect"
    + N1
    + b"\x03"
    + b"\x00\x03app"
    + LIVE
    + b"\x00\x04type\x02\x00\x0anonprivate"
    + b"\x00\x08flashVer\x02\x00\x1fFMLE/3.0 (compatible; FMSc/1.0)"
    + b"\x00\x06swfUrl\x02\x00\x15rtmp://localhost/live"
    + b"\x00\x05tcUrl\x02\x00\x15rtmp://localhost/live"
    + b"\x00\x0esupportsGoAway"
    + TRUE
    + END
)
OBS_CONNECT_PROPS: dict[str, object] = {
    "app": "live",
    "type": "nonprivate",
    "flashVer": "FMLE/3.0 (compatible; FMSc/1.0)",
    "swfUrl": "rtmp://localhost/live",
    "tcUrl": "rtmp://localhost/live",
    "supportsGoAway": True,
}
# librtmp's publisher connect: the same, without supportsGoAway (161 bytes: two chunks at 128)
LIBRTMP_CONNECT = OBS_CONNECT[: -len(b"\x00\x0esupportsGoAway" + TRUE + END)] + END
LIBRTMP_CONNECT_PROPS = {k: v for k, v in OBS_CONNECT_PROPS.items() if k != "supportsGoAway"}

FFMPEG_CONNECT = (
    b"\x02\x00\x07connect"
    + N1
    + b"\x03"
    + b"\x00\x03app"
    + LIVE
    + b"\x00\x08flashVer\x02\x00\x0dLNX 9,0,124,2"
    + b"\x00\x05tcUrl\x02\x00\x1artmp://localhost:1935/live"
    + b"\x00\x04fpad"
    + FALSE
    + b"\x00\x0ccapabilities"
    + h("00 402e000000000000")  # 15.0
    + b"\x00\x0baudioCodecs"
    + h("00 40afce0000000000")  # 4071.0
    + b"\x00\x0bvideoCodecs"
    + h("00 406f800000000000")  # 252.0
    + b"\x00\x0dvideoFunction"
    + N1
    + END
)
FFMPEG_CONNECT_PROPS: dict[str, object] = {
    "app": "live",
    "flashVer": "LNX 9,0,124,2",
    "tcUrl": "rtmp://localhost:1935/live",
    "fpad": False,
    "capabilities": 15.0,
    "audioCodecs": 4071.0,
    "videoCodecs": 252.0,
    "videoFunction": 1.0,
}

RELEASE_STREAM = b"\x02\x00\x0dreleaseStream" + N2 + NULL + CAM
FC_PUBLISH = b"\x02\x00\x09FCPublish" + N3 + NULL + CAM
CREATE_STREAM_4 = b"\x02\x00\x0ccreateStream" + N4 + NULL
CREATE_STREAM_2 = b"\x02\x00\x0ccreateStream" + N2 + NULL
PUBLISH = b"\x02\x00\x07publish" + N5 + NULL + CAM + LIVE
GET_STREAM_LENGTH = b"\x02\x00\x0fgetStreamLength" + N3 + NULL + CAM
FFMPEG_PLAY = b"\x02\x00\x04play" + N4 + NULL + CAM + h("00 c09f400000000000")  # -2000
PAUSE = b"\x02\x00\x05pause" + N5 + NULL + TRUE + h("00 4097700000000000")  # 1500

SET_DATA_FRAME = (
    b"\x02\x00\x0d@setDataFrame"
    + b"\x02\x00\x0aonMetaData"
    + h("08 00000004")
    + b"\x00\x08duration"
    + N0
    + b"\x00\x05width"
    + h("00 4094000000000000")  # 1280
    + b"\x00\x06height"
    + h("00 4086800000000000")  # 720
    + b"\x00\x07encoder\x02\x00\x11obs-output module"
    + END
)
# AVC sequence header: FLV video tag data (keyframe, AVC, packet type 0, cts 0) + avcC
AVC_SEQ = h("17 00 000000 | 01 64 00 1f ff e1 | 0004 67 64 00 1f | 01 | 0004 68 ee 3c 80")
AAC_SEQ = h("af 00 12 10")  # AAC LC, 44.1 kHz, stereo
KEYFRAME = h("17 01 000000 | 00002323") + b"\x65" + pattern(8994, 1)  # 9000 bytes
INTER = h("27 01 000000 | 000001f4") + b"\x41" + pattern(499, 2)
AUDIO = h("af 01") + pattern(200, 3)

# -- handshake bytes ------------------------------------------------------------------------

SERVER_RANDOM = pattern(3072, 11)
PLAIN_C1 = h("00000000 00000000") + pattern(1528, 5)  # time 0, zero, random (5.2.3)
# What a plain server must answer: S1 = its time (0) + zero + its random; S2 echoes C1.
EXPECTED_S0S1S2_PLAIN = b"\x03" + h("00000000 00000000") + SERVER_RANDOM[:1528] + PLAIN_C1
C2_PLAIN = EXPECTED_S0S1S2_PLAIN[1:1537]  # echo of S1


def ffmpeg_c1() -> bytes:
    """ffmpeg's C1: version 9.0.124.2 and a digest at the scheme-0 offset, keyed with the
    30-byte Flash Player key text."""
    c1 = bytearray(h("00000000 09007c02") + pattern(1528, 9))
    offset = sum(c1[8:12]) % 728 + 12
    signed = bytes(c1[:offset] + c1[offset + 32 :])
    c1[offset : offset + 32] = hmac.new(
        b"Genuine Adobe Flash Player 001", signed, hashlib.sha256
    ).digest()
    return bytes(c1)


# -- the glue's pattern, and feeding three ways --------------------------------------------


def accept(server: ServerSession, event: ev.Event) -> None:
    if isinstance(event, ev.ConnectRequest):
        server.accept_connect(event)
    elif isinstance(event, ev.PublishRequest):
        server.accept_publish(event)
    elif isinstance(event, ev.PlayRequest):
        server.accept_play(event)


def feed(server: ServerSession, pieces: Iterable[bytes]) -> tuple[list[ev.Event], bytes]:
    """Feed pieces as a socket would deliver them; answer as the glue does."""
    events: list[ev.Event] = []
    out: list[bytes] = []
    for piece in pieces:
        got = server.receive_data(piece)
        while got:
            for e in got:
                events.append(e)
                accept(server, e)
            got = server.receive_data(b"") if server.held else []
        out.append(server.data_to_send())
    return events, b"".join(out)


def random_pieces(data: bytes, rng: random.Random) -> list[bytes]:
    cuts = sorted(rng.sample(range(1, len(data)), min(len(data) - 1, rng.randint(1, 60))))
    return [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]


def three_ways(
    data: bytes, following: bytes, following_events: list[ev.Event]
) -> tuple[list[ev.Event], bytes]:
    """Whole, byte by byte, and random splits with most of ``following`` behind: the same
    events and reply bytes every time; the rest of ``following`` then gives its events."""
    whole_events, whole_out = feed(ServerSession(random_bytes=SERVER_RANDOM), [data])

    bytewise_events, bytewise_out = feed(
        ServerSession(random_bytes=SERVER_RANDOM), (data[i : i + 1] for i in range(len(data)))
    )
    assert bytewise_events == whole_events
    assert bytewise_out == whole_out

    for seed in range(4):
        rng = random.Random(seed)
        keep = rng.randint(1, len(following) - 1)
        server = ServerSession(random_bytes=SERVER_RANDOM)
        events, out = feed(server, random_pieces(data + following[:keep], rng))
        assert events == whole_events
        assert out == whole_out
        rest_events, _ = feed(server, [following[keep:]])
        assert rest_events == following_events
    return whole_events, whole_out


# -- the replies, decoded ------------------------------------------------------------------

Reply = tuple[int, int, int, object]  # csid, type id, message stream id, decoded payload


def decode_replies(out: bytes, handshake: bytes | None = None) -> list[Reply]:
    assert out[:1] == b"\x03"
    if handshake is not None:
        assert out[:3073] == handshake
    reader = ChunkReader()
    raws = reader.feed(out[3073:])
    # nothing left half-read: a complete control message right behind parses on its own
    sentinel = msg.control_message(msg.Acknowledgement(7), reader.chunk_size)
    assert reader.feed(sentinel) == [RawMessage(2, 3, 0, 0, h("00000007"))]
    replies: list[Reply] = []
    for raw in raws:
        assert raw.timestamp == 0
        value: object
        if raw.type_id in (20, 18):
            value = amf0.decode(raw.payload)
        elif raw.type_id <= 6:
            value = msg.decode_control(raw.type_id, raw.payload)
        else:
            value = raw.payload
        replies.append((raw.csid, raw.type_id, raw.stream_id, value))
    return replies


def connect_replies(object_encoding: float = 0.0) -> list[Reply]:
    return [
        (2, 5, 0, msg.WindowAckSize(2_500_000)),
        (2, 6, 0, msg.SetPeerBandwidth(2_500_000, msg.LimitType.DYNAMIC)),
        (2, 1, 0, msg.SetChunkSize(4096)),
        (
            3,
            20,
            0,
            [
                "_result",
                1.0,
                {"fmsVer": "FMS/3,0,1,123", "capabilities": 31.0, "mode": 1.0},
                {
                    "level": "status",
                    "code": "NetConnection.Connect.Success",
                    "description": "Connection succeeded.",
                    "objectEncoding": object_encoding,
                    "data": {"version": "3,5,3,888"},
                },
            ],
        ),
        (3, 20, 0, ["onBWDone", 0.0, None, 8192.0]),
    ]


PUBLISH_REPLIES: list[Reply] = [
    (3, 20, 0, ["_result", 2.0, None, None]),  # releaseStream
    (
        3,
        20,
        0,
        ["onFCPublish", 0.0, None, {"code": "NetStream.Publish.Start", "description": "cam"}],
    ),
    (3, 20, 0, ["_result", 3.0, None, None]),  # FCPublish
    (3, 20, 0, ["_result", 4.0, None, 1.0]),  # createStream: stream id 1
    (2, 4, 0, msg.StreamBegin(1)),
    (
        5,
        20,
        1,
        [
            "onStatus",
            0.0,
            None,
            {
                "level": "status",
                "code": "NetStream.Publish.Start",
                "description": "cam is now published.",
            },
        ],
    ),
]


def _status(code: str, description: str) -> list[object]:
    return ["onStatus", 0.0, None, {"level": "status", "code": code, "description": description}]


# -- OBS ---------------------------------------------------------------------------------


def obs_bytes() -> tuple[bytes, bytes, list[ev.Event]]:
    """OBS publishing live/cam: (its bytes, the next video message's bytes, its events)."""
    w = ChunkWriter()
    parts = [b"\x03" + PLAIN_C1, C2_PLAIN, w.set_chunk_size(4096)]
    parts.append(w.write(3, 20, 0, 0, OBS_CONNECT))
    parts.append(w.write(3, 20, 0, 0, RELEASE_STREAM))
    parts.append(w.write(3, 20, 0, 0, FC_PUBLISH))
    parts.append(w.write(3, 20, 0, 0, CREATE_STREAM_4))
    parts.append(w.write(4, 20, 1, 0, PUBLISH))
    media = [
        (18, 0, SET_DATA_FRAME),
        (9, 0, AVC_SEQ),
        (8, 0, AAC_SEQ),
        (9, 0, KEYFRAME),
        (8, 0, AUDIO),
        (8, 23, AUDIO),
        (9, 33, INTER),
        (8, 46, AUDIO),
        (9, 67, INTER),
    ]
    parts += [w.write(4, t, 1, ts, p) for t, ts, p in media]
    events: list[ev.Event] = [
        ev.ConnectRequest(1.0, "live", "rtmp://localhost/live", 0, OBS_CONNECT_PROPS),
        ev.StreamCreated(1, 4.0),
        ev.PublishRequest(1, "cam", "", "live", 5.0),
        *(ev.Media(1, t, ts, p) for t, ts, p in media),
    ]
    return b"".join(parts), w.write(4, 9, 1, 100, INTER), events


def test_obs_publisher() -> None:
    data, following, expected = obs_bytes()
    events, out = three_ways(data, following, [ev.Media(1, 9, 100, INTER)])
    assert events == expected
    assert decode_replies(out, EXPECTED_S0S1S2_PLAIN) == connect_replies() + PUBLISH_REPLIES
    params = events[0]
    assert isinstance(params, ev.ConnectRequest) and params.params["supportsGoAway"] is True


# -- ffmpeg as a player --------------------------------------------------------------------


def ffmpeg_player_bytes() -> bytes:
    w = ChunkWriter()  # ffmpeg as a player keeps chunk size 128: connect takes two chunks
    return b"".join(
        [
            b"\x03" + ffmpeg_c1(),
            pattern(1536, 4),  # C2: the server does not check it
            w.write(3, 20, 0, 0, FFMPEG_CONNECT),
            w.write(2, 5, 0, 0, h("002625a0")),  # Window Acknowledgement Size 2500000
            w.write(3, 20, 0, 0, CREATE_STREAM_2),
            w.write(8, 20, 1, 0, GET_STREAM_LENGTH),
            w.write(8, 20, 1, 0, FFMPEG_PLAY),
            w.write(2, 4, 0, 0, h("0003 00000001 00000bb8")),  # SetBufferLength 1, 3000 ms
        ]
    )


def test_ffmpeg_player() -> None:
    data = ffmpeg_player_bytes()
    following = chunked(fmt0(8, 0, len(PAUSE), 20, 1), PAUSE, fmt3(8))
    events, out = three_ways(data, following, [ev.Pause(1, True, 1500.0)])
    assert events == [
        ev.ConnectRequest(1.0, "live", "rtmp://localhost:1935/live", 0, FFMPEG_CONNECT_PROPS),
        ev.StreamCreated(1, 2.0),
        ev.PlayRequest(1, "cam", "", -2000.0, -1.0, True, 4.0),
        ev.BufferLength(1, 3000),
    ]
    replies = decode_replies(out)
    assert replies == [
        *connect_replies(),
        (3, 20, 0, ["_result", 2.0, None, 1.0]),  # createStream: stream id 1
        (3, 20, 0, ["_result", 3.0, None, 0.0]),  # getStreamLength: live, 0
        (2, 4, 0, msg.StreamBegin(1)),
        (5, 20, 1, _status("NetStream.Play.Reset", "Playing and resetting cam.")),
        (5, 20, 1, _status("NetStream.Play.Start", "Started playing cam.")),
        (4, 18, 1, ["|RtmpSampleAccess", True, True]),
        (4, 18, 1, ["onStatus", {"code": "NetStream.Data.Start"}]),
    ]
    check_digest_answer_as_ffmpeg_does(ffmpeg_c1(), out[1:1537], out[1537:3073])


FMS_KEY = b"Genuine Adobe Flash Media Server 001" + h(
    "f0eec24a8068bee82e00d0d1029e7e576eec5d2d29806fab93b8e636cfeb31ae"
)


def check_digest_answer_as_ffmpeg_does(c1: bytes, s1: bytes, s2: bytes) -> None:
    """ffmpeg as a player finds S1's digest (scheme 1, then 0, keyed with the 36-byte
    server key text) and checks that S2 is signed with HMAC(full server key, C1 digest)."""
    assert s1[4:8] != h("00000000")  # a digest answer, not a plain one
    found = False
    for base in (772, 8):
        offset = sum(s1[base : base + 4]) % 728 + base + 4
        signed = s1[:offset] + s1[offset + 32 :]
        digest = hmac.new(FMS_KEY[:36], signed, hashlib.sha256).digest()
        found = found or digest == s1[offset : offset + 32]
    assert found
    c1_offset = sum(c1[8:12]) % 728 + 12
    key = hmac.new(FMS_KEY, c1[c1_offset : c1_offset + 32], hashlib.sha256).digest()
    assert hmac.new(key, s2[:1504], hashlib.sha256).digest() == s2[1504:]


# -- a librtmp-style client ------------------------------------------------------------------

V1, V2, V3 = (h("27 01 000000") + pattern(295, s) for s in (20, 21, 22))
A1 = h("af 01") + pattern(198, 23)
V_NEXT = h("27 01 000000") + pattern(295, 24)


def librtmp_bytes(repeat_ext: bool) -> tuple[bytes, bytes, list[ev.Event]]:
    """Chunk size 128 throughout, every message on csid 4 whatever its stream id, and a
    stream running for more than 4.6 hours: timestamps past 0xFFFFFF."""

    def cont(ext: int) -> bytes:
        return fmt3(4, ext if repeat_ext else None)

    parts = [
        b"\x03" + PLAIN_C1,
        C2_PLAIN,
        chunked(fmt0(4, 0, len(LIBRTMP_CONNECT), 20, 0), LIBRTMP_CONNECT, fmt3(4)),
        fmt1(4, 0, len(RELEASE_STREAM), 20) + RELEASE_STREAM,
        fmt1(4, 0, len(FC_PUBLISH), 20) + FC_PUBLISH,
        fmt1(4, 0, len(CREATE_STREAM_4), 20) + CREATE_STREAM_4,
        fmt0(4, 0, len(PUBLISH), 20, 1) + PUBLISH,  # new stream id: a full header again
        chunked(fmt1(4, 0, len(SET_DATA_FRAME), 18), SET_DATA_FRAME, fmt3(4)),
        # delta 0x01000000 does not fit 24 bits: extended, and repeated on the fmt-3 chunks
        chunked(fmt1(4, 0x01000000, 300, 9), V1, cont(0x01000000)),
        chunked(fmt2(4, 40), V2, fmt3(4)),  # small delta again: no extended field
        chunked(fmt3(4), V3, fmt3(4)),  # a new message on a bare fmt-3 header: delta 40 again
        # absolute timestamp past 0xFFFFFF in a fmt-0 header
        chunked(fmt0(4, 0x01000051, 200, 8, 1), A1, cont(0x01000051)),
    ]
    following = chunked(fmt0(4, 0x01000060, 300, 9, 1), V_NEXT, cont(0x01000060))
    events: list[ev.Event] = [
        ev.ConnectRequest(1.0, "live", "rtmp://localhost/live", 0, LIBRTMP_CONNECT_PROPS),
        ev.StreamCreated(1, 4.0),
        ev.PublishRequest(1, "cam", "", "live", 5.0),
        ev.Media(1, 18, 0, SET_DATA_FRAME),
        ev.Media(1, 9, 0x01000000, V1),
        ev.Media(1, 9, 0x01000028, V2),
        ev.Media(1, 9, 0x01000050, V3),
        ev.Media(1, 8, 0x01000051, A1),
    ]
    return b"".join(parts), following, events


@pytest.mark.parametrize("repeat_ext", [True, False], ids=["ext-repeated", "ext-not-repeated"])
def test_librtmp_style_publisher(repeat_ext: bool) -> None:
    data, following, expected = librtmp_bytes(repeat_ext)
    assert len(LIBRTMP_CONNECT) > 128  # the connect really is two chunks
    events, out = three_ways(data, following, [ev.Media(1, 9, 0x01000060, V_NEXT)])
    assert events == expected
    assert decode_replies(out, EXPECTED_S0S1S2_PLAIN) == connect_replies() + PUBLISH_REPLIES


# -- odd messages from a publisher -----------------------------------------------------------


def publisher_preamble() -> bytes:
    """OBS's setup at chunk size 128, up to publish on message stream 1."""
    w = ChunkWriter()
    return b"".join(
        [
            b"\x03" + PLAIN_C1,
            C2_PLAIN,
            w.write(3, 20, 0, 0, OBS_CONNECT),
            w.write(3, 20, 0, 0, RELEASE_STREAM),
            w.write(3, 20, 0, 0, FC_PUBLISH),
            w.write(3, 20, 0, 0, CREATE_STREAM_4),
            w.write(4, 20, 1, 0, PUBLISH),
        ]
    )


PREAMBLE_EVENTS: list[ev.Event] = [
    ev.ConnectRequest(1.0, "live", "rtmp://localhost/live", 0, OBS_CONNECT_PROPS),
    ev.StreamCreated(1, 4.0),
    ev.PublishRequest(1, "cam", "", "live", 5.0),
]
SMALL_VIDEO = h("27 01 000000 | 00000001 41")
FOLLOWING = fmt0(6, 500, len(SMALL_VIDEO), 9, 1) + SMALL_VIDEO
FOLLOWING_EVENTS: list[ev.Event] = [ev.Media(1, 9, 500, SMALL_VIDEO)]


def test_abort_in_the_middle_of_a_message() -> None:
    video = h("17 01 000000") + pattern(295, 30)  # 300 bytes: three chunks at 128
    audio = h("af 01") + pattern(198, 31)  # 200 bytes: two chunks
    data = (
        publisher_preamble()
        + b"".join(
            [
                fmt0(6, 0, 300, 9, 1) + video[:128],  # first chunk of a video message
                fmt0(7, 10, 200, 8, 1) + audio[:128],  # an audio message begins on csid 7
                fmt0(2, 0, 4, 2, 0) + h("00000006"),  # Abort Message: drop csid 6's partial
                fmt3(7) + audio[128:],  # csid 7 is untouched and completes
                fmt0(6, 33, len(SMALL_VIDEO), 9, 1) + SMALL_VIDEO,  # csid 6 starts afresh
            ]
        )
    )
    events, out = three_ways(data, FOLLOWING, FOLLOWING_EVENTS)
    assert events == [*PREAMBLE_EVENTS, ev.Media(1, 8, 10, audio), ev.Media(1, 9, 33, SMALL_VIDEO)]
    assert decode_replies(out) == connect_replies() + PUBLISH_REPLIES


def _sub(type_id: int, ts: int, data: bytes) -> bytes:
    """One aggregate sub-message: an FLV tag (type, size, timestamp + extension, stream id
    0, data) and its back pointer (11 + size)."""
    return (
        bytes((type_id,))
        + _u24(len(data))
        + _u24(ts & 0xFFFFFF)
        + bytes((ts >> 24,))
        + _u24(0)
        + data
        + (11 + len(data)).to_bytes(4, "big")
    )


def test_aggregate_message_becomes_media_events() -> None:
    video = h("17 01 000000") + pattern(195, 40)
    text = b"\x02\x00\x0aonTextData\x03\x00\x04text\x02\x00\x02hi" + END
    aggregate = (
        _sub(8, 100, AAC_SEQ)
        + _sub(9, 100, video)
        + _sub(8, 129, h("af 01 21 10"))
        + _sub(18, 150, text)
    )
    assert len(aggregate) > 128
    data = publisher_preamble() + chunked(fmt0(9, 1000, len(aggregate), 22, 1), aggregate, fmt3(9))
    events, _ = three_ways(data, FOLLOWING, FOLLOWING_EVENTS)
    # the first sub-message takes the aggregate's timestamp; the others keep their offsets
    assert events == [
        *PREAMBLE_EVENTS,
        ev.Media(1, 8, 1000, AAC_SEQ),
        ev.Media(1, 9, 1000, video),
        ev.Media(1, 8, 1029, h("af 01 21 10")),
        ev.Media(1, 18, 1050, text),
    ]


def test_unknown_and_shared_object_messages_are_ignored() -> None:
    so_connect = b"\x00\x04room\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" + h(
        "01 00000000"
    )  # shared object "room", version 0, persistent 0, event "use" (1), no data
    odd = [
        (19, so_connect),  # shared object, AMF0
        (16, b"\x00" + so_connect),  # shared object, AMF3
        (7, b"xyz"),
        (13, b""),
        (21, h("0000")),
        (23, pattern(300, 50)),
        (0xFF, b"?"),
    ]
    w_before = fmt0(10, 0, 3, 0x0E, 0) + b"abc"  # unknown type before connect, too
    pre = publisher_preamble()
    handshake_end = 1 + 1536 + 1536
    data = pre[:handshake_end] + w_before + pre[handshake_end:]
    for i, (type_id, payload) in enumerate(odd):
        data += chunked(fmt0(11 + i, i, len(payload), type_id, 1), payload, fmt3(11 + i))
    data += fmt0(6, 40, len(SMALL_VIDEO), 9, 1) + SMALL_VIDEO
    events, out = three_ways(data, FOLLOWING, FOLLOWING_EVENTS)
    assert events == [*PREAMBLE_EVENTS, ev.Media(1, 9, 40, SMALL_VIDEO)]
    assert decode_replies(out) == connect_replies() + PUBLISH_REPLIES


def test_amf3_command_and_data_messages_from_a_publisher() -> None:
    """A Flash publisher with objectEncoding 3: publish as type 17, metadata as type 15."""
    connect = (
        b"\x02\x00\x07connect"
        + N1
        + b"\x03\x00\x03app"
        + LIVE
        + b"\x00\x05tcUrl\x02\x00\x15rtmp://localhost/live"
        + b"\x00\x0eobjectEncoding"
        + N3
        + END
    )
    publish = (
        b"\x00"
        + b"\x02\x00\x07publish"
        + N0
        + NULL
        + h("11 06 07")
        + b"cam"
        + h("11 06 09")
        + b"live"
    )
    create = b"\x00" + CREATE_STREAM_2
    meta = b"\x02\x00\x0aonMetaData" + h("11 0a 0b 01 0b") + b"width" + h("04 8a 00 01")
    data = b"".join(
        [
            b"\x03" + PLAIN_C1,
            C2_PLAIN,
            chunked(fmt0(3, 0, len(connect), 20, 0), connect, fmt3(3)),
            fmt0(3, 0, len(create), 17, 0) + create,
            fmt0(8, 0, len(publish), 17, 1) + publish,
            fmt0(4, 0, len(meta) + 1, 15, 1) + b"\x00" + meta,
        ]
    )
    events, out = three_ways(data, FOLLOWING, FOLLOWING_EVENTS)
    props = {"app": "live", "tcUrl": "rtmp://localhost/live", "objectEncoding": 3.0}
    assert events == [
        ev.ConnectRequest(1.0, "live", "rtmp://localhost/live", 3, props),
        ev.StreamCreated(1, 2.0),
        ev.PublishRequest(1, "cam", "", "live", 0.0),
        ev.Media(1, 18, 0, meta),  # type 15 becomes 18 without its format byte
    ]
    replies = decode_replies(out)
    assert replies[:5] == connect_replies(object_encoding=3.0)
    assert replies[5] == (3, 20, 0, ["_result", 2.0, None, 1.0])


def test_connect_result_data_is_an_ecma_array() -> None:
    data, _, _ = obs_bytes()
    _, out = feed(ServerSession(random_bytes=SERVER_RANDOM), [data])
    result = decode_replies(out)[3][3]
    assert isinstance(result, list) and isinstance(result[3], dict)
    assert isinstance(result[3]["data"], ECMAArray)


def test_client_session_ignores_unknown_message_types() -> None:
    client = ClientSession(random_bytes=SERVER_RANDOM, digest=False)
    client.initiate()
    c0c1 = client.data_to_send()
    s1 = h("00000000 00000000") + pattern(1528, 60)
    client.receive_data(b"\x03" + s1 + c0c1[1:])
    events = client.receive_data(
        fmt0(3, 0, 3, 7, 0)
        + b"abc"
        + fmt0(3, 0, 4, 19, 0)
        + b"\x00\x01x\x00"
        + fmt0(5, 0, 2, 9, 1)
        + b"\x17\x00"
    )
    assert events == [ev.Media(1, 9, 0, b"\x17\x00")]
