"""RTMP chunk stream: byte vectors written by hand from the RTMP 1.0 spec, section 5.3."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from livecast.rtmp.chunk import ChunkReader, ChunkWriter, RawMessage, encode_message
from livecast.rtmp.errors import ProtocolError


def h(text: str) -> bytes:
    """Hex with spaces and '|' as field separators, for readable vectors."""
    return bytes.fromhex(text.replace("|", " "))


# A complete message on csid 60 used as "trailing bytes of the next message".
NEXT = h("3c | 000000 | 000005 | 12 | 00000000") + b"hello"
NEXT_MSG = RawMessage(60, 18, 0, 0, b"hello")


def feed_all_ways(data: bytes, **kw: int) -> list[RawMessage]:
    """Feed whole, one byte at a time, and followed by part of the next message."""
    whole = ChunkReader(**kw).feed(data)

    reader = ChunkReader(**kw)
    bytewise = [m for i in range(len(data)) for m in reader.feed(data[i : i + 1])]

    reader = ChunkReader(**kw)
    trailing = reader.feed(data + NEXT[:-2])
    rest = reader.feed(NEXT[-2:])

    assert bytewise == whole
    assert trailing == whole
    assert rest == [NEXT_MSG]
    return whole


# --- basic header sizes (5.3.1.1) ---

BASIC_HEADERS = [
    (2, "02"),
    (63, "3f"),
    (64, "00 00"),
    (319, "00 ff"),
    (320, "01 00 01"),
    (65599, "01 ff ff"),
]


@pytest.mark.parametrize(("csid", "basic"), BASIC_HEADERS)
def test_basic_header_sizes(csid: int, basic: str) -> None:
    # fmt 0: timestamp 0x010203, length 3, type 8, stream id 1 (little-endian)
    wire = h(basic) + h("010203 | 000003 | 08 | 01000000") + b"abc"
    assert encode_message(csid, 8, 1, 0x010203, b"abc", 128) == wire
    assert ChunkWriter().write(csid, 8, 1, 0x010203, b"abc") == wire
    assert feed_all_ways(wire) == [RawMessage(csid, 8, 1, 0x010203, b"abc")]


@pytest.mark.parametrize(("csid", "basic"), BASIC_HEADERS)
def test_basic_header_fmt3_continuation(csid: int, basic: str) -> None:
    first = h(basic)
    cont = bytes([first[0] | 0xC0]) + first[1:]
    payload = bytes(range(200))
    wire = first + h("000000 | 0000c8 | 09 | 00000000") + payload[:128] + cont + payload[128:]
    assert encode_message(csid, 9, 0, 0, payload, 128) == wire
    assert feed_all_ways(wire) == [RawMessage(csid, 9, 0, 0, payload)]


def test_three_byte_csid_is_little_endian_plus_64() -> None:
    # csid 1000: 1000 - 64 = 936 = 0x03a8 -> bytes a8 03
    payload = b"x" * 130
    wire = h("01 a8 03 | 000005 | 000082 | 09 | 01000000") + payload[:128] + h("c1 a8 03") + b"xx"
    assert encode_message(1000, 9, 1, 5, payload, 128) == wire
    assert feed_all_ways(wire) == [RawMessage(1000, 9, 1, 5, payload)]


def test_two_byte_form_for_small_csid_is_accepted() -> None:
    # csid 70 written in the 3-byte form (not canonical, still valid)
    wire = h("01 06 00 | 000001 | 000001 | 08 | 00000000 | 55")
    assert feed_all_ways(wire) == [RawMessage(70, 8, 0, 1, b"\x55")]


# --- message header types (5.3.1.2) ---

FMT_SEQUENCE = (
    h("04 | 00000a | 000002 | 08 | 01000000 | aabb")  # fmt 0: ts 10
    + h("44 | 000005 | 000003 | 09 | 010203")  # fmt 1: delta 5, len 3, type 9
    + h("84 | 000007 | 040506")  # fmt 2: delta 7
    + h("c4 | 070809")  # fmt 3 new message: delta 7 again
    + h("c4 | 0a0b0c")  # and again
)
FMT_MESSAGES = [
    RawMessage(4, 8, 1, 10, h("aabb")),
    RawMessage(4, 9, 1, 15, h("010203")),
    RawMessage(4, 9, 1, 22, h("040506")),
    RawMessage(4, 9, 1, 29, h("070809")),
    RawMessage(4, 9, 1, 36, h("0a0b0c")),
]


def test_reader_each_fmt() -> None:
    assert feed_all_ways(FMT_SEQUENCE) == FMT_MESSAGES


def test_writer_each_fmt() -> None:
    writer = ChunkWriter()
    out = b"".join(
        writer.write(m.csid, m.type_id, m.stream_id, m.timestamp, m.payload) for m in FMT_MESSAGES
    )
    assert out == FMT_SEQUENCE


def test_fmt3_after_fmt0_uses_the_fmt0_timestamp_as_delta() -> None:
    # spec 5.3.1.2.4: a type-3 chunk right after a type-0 one has delta = that timestamp
    wire = h("04 | 000064 | 000001 | 08 | 00000000 | 01") + h("c4 | 02")
    assert feed_all_ways(wire) == [
        RawMessage(4, 8, 0, 100, b"\x01"),
        RawMessage(4, 8, 0, 200, b"\x02"),
    ]


def test_fmt3_continuation_keeps_the_timestamp() -> None:
    one = bytes(range(256)) + b"tail"  # 260 bytes: chunks of 128, 128, 4
    two = bytes(260)
    wire = (
        h("04 | 000010 | 000104 | 09 | 01000000")
        + one[:128]
        + h("c4")
        + one[128:256]
        + h("c4")
        + one[256:]
        + h("c4")  # a new message: ts 16 + delta 16, same length and type
        + two[:128]
        + h("c4")
        + two[128:256]
        + h("c4")
        + two[256:]
    )
    assert feed_all_ways(wire) == [RawMessage(4, 9, 1, 16, one), RawMessage(4, 9, 1, 32, two)]


def test_writer_header_choice() -> None:
    w = ChunkWriter()
    assert w.write(5, 9, 1, 100, b"a") == h("05 | 000064 | 000001 | 09 | 01000000 | 61")
    # same length/type, delta 0: after a fmt 0 the writer never uses fmt 3 for a new message
    assert w.write(5, 9, 1, 100, b"b") == h("85 | 000000 | 62")
    assert w.write(5, 9, 1, 100, b"c") == h("c5 | 63")  # delta 0 repeats
    assert w.write(5, 9, 1, 140, b"de") == h("45 | 000028 | 000002 | 09 | 6465")  # length change
    assert w.write(5, 8, 1, 180, b"fg") == h("45 | 000028 | 000002 | 08 | 6667")  # type change
    assert w.write(5, 8, 2, 180, b"hi") == h("05 | 0000b4 | 000002 | 08 | 02000000 | 6869")
    assert w.write(5, 8, 2, 170, b"jk") == h("05 | 0000aa | 000002 | 08 | 02000000 | 6a6b")
    # another csid has its own state
    assert w.write(6, 8, 2, 170, b"jk") == h("06 | 0000aa | 000002 | 08 | 02000000 | 6a6b")


def test_writer_never_compresses_csid_2() -> None:
    w = ChunkWriter()
    one = h("02 | 000000 | 000004 | 05 | 00000000 | 002625a0")
    assert w.write(2, 5, 0, 0, h("002625a0")) == one
    assert w.write(2, 5, 0, 0, h("002625a0")) == one


def test_writer_set_chunk_size() -> None:
    w = ChunkWriter()
    assert w.set_chunk_size(4096) == h("02 | 000000 | 000004 | 01 | 00000000 | 00001000")
    assert w.chunk_size == 4096
    payload = bytes(300)
    assert w.write(4, 9, 1, 0, payload) == h("04 | 000000 | 00012c | 09 | 01000000") + payload
    with pytest.raises(ValueError):
        w.set_chunk_size(0)
    with pytest.raises(ValueError):
        w.set_chunk_size(0x80000000)


# --- extended timestamps (5.3.1.3) ---


def test_extended_timestamp_fmt0_with_fmt3_repeat() -> None:
    payload = bytes(range(200))
    wire = (
        h("04 | ffffff | 0000c8 | 09 | 01000000 | 01000000")
        + payload[:128]
        + h("c4 | 01000000")
        + payload[128:]
    )
    assert encode_message(4, 9, 1, 0x01000000, payload, 128) == wire
    assert ChunkWriter().write(4, 9, 1, 0x01000000, payload) == wire
    assert feed_all_ways(wire) == [RawMessage(4, 9, 1, 0x01000000, payload)]


def test_extended_timestamp_fmt0_without_fmt3_repeat() -> None:
    payload = bytes(range(200))
    wire = h("04 | ffffff | 0000c8 | 09 | 01000000 | 01000000") + payload[:128]
    wire += h("c4") + payload[128:]
    assert feed_all_ways(wire) == [RawMessage(4, 9, 1, 0x01000000, payload)]


def test_extended_timestamp_is_decided_per_chunk() -> None:
    # one continuation repeats the field, the next does not
    payload = bytes(range(256)) + b"\x99" * 10
    wire = (
        h("04 | ffffff | 00010a | 09 | 01000000 | 12345678")
        + payload[:128]
        + h("c4 | 12345678")
        + payload[128:256]
        + h("c4")
        + payload[256:]
    )
    assert feed_all_ways(wire) == [RawMessage(4, 9, 1, 0x12345678, payload)]


def test_exactly_0xffffff_uses_the_extended_field() -> None:
    wire = h("04 | ffffff | 000001 | 08 | 00000000 | 00ffffff | 07")
    assert encode_message(4, 8, 0, 0xFFFFFF, b"\x07", 128) == wire
    assert feed_all_ways(wire) == [RawMessage(4, 8, 0, 0xFFFFFF, b"\x07")]
    assert encode_message(4, 8, 0, 0xFFFFFE, b"\x07", 128) == h(
        "04 | fffffe | 000001 | 08 | 00000000 | 07"
    )


def test_extended_delta_fmt2_and_fmt3_new_message() -> None:
    # fmt 2 with an extended delta, then fmt 3 new messages that repeat it (writer and Flash)
    wire = (
        h("04 | 000000 | 000001 | 09 | 01000000 | 01")
        + h("84 | 000001 | 02")  # delta 1 first (the writer never sends fmt 3 after fmt 0)
        + h("84 | ffffff | 01000000 | 03")  # delta 0x01000000
        + h("c4 | 01000000 | 04")  # new message, delta repeated, field repeated
    )
    expected = [
        RawMessage(4, 9, 1, 0, b"\x01"),
        RawMessage(4, 9, 1, 1, b"\x02"),
        RawMessage(4, 9, 1, 0x01000001, b"\x03"),
        RawMessage(4, 9, 1, 0x02000001, b"\x04"),
    ]
    assert feed_all_ways(wire) == expected
    w = ChunkWriter()
    assert b"".join(w.write(4, 9, 1, m.timestamp, m.payload) for m in expected) == wire
    # an encoder that does not repeat the field on the new message (old librtmp); the
    # reader decides once 4 bytes follow the header, here the start of the next message
    bare = wire[: -len(h("c4 | 01000000 | 04"))] + h("c4 | 04")
    assert feed_all_ways(bare + NEXT) == [*expected, NEXT_MSG]


def test_writer_extended_delta_on_continuation_chunks() -> None:
    w = ChunkWriter(chunk_size=2)
    w.write(4, 9, 1, 0, b"ab")
    assert w.write(4, 8, 1, 0x01000000, b"cde") == h(
        "44 | ffffff | 000003 | 08 | 01000000 | 6364 | c4 | 01000000 | 65"
    )


def test_timestamp_delta_accumulates_and_wraps_at_32_bits() -> None:
    wire = (
        h("04 | ffffff | 000001 | 08 | 00000000 | fffffff0 | 01")
        + h("84 | 000020 | 02")  # 0xfffffff0 + 0x20 wraps to 0x10
        + h("c4 | 03")  # + 0x20 again
    )
    assert feed_all_ways(wire) == [
        RawMessage(4, 8, 0, 0xFFFFFFF0, b"\x01"),
        RawMessage(4, 8, 0, 0x10, b"\x02"),
        RawMessage(4, 8, 0, 0x30, b"\x03"),
    ]


def test_writer_wraps_timestamps() -> None:
    w = ChunkWriter()
    assert w.write(4, 8, 0, 2**32 + 5, b"a") == h("04 | 000005 | 000001 | 08 | 00000000 | 61")
    w = ChunkWriter()
    w.write(4, 8, 0, 0xFFFFFFF0, b"a")
    # going "backwards" across the wrap: full header
    assert w.write(4, 8, 0, 0x10, b"b") == h("04 | 000010 | 000001 | 08 | 00000000 | 62")


# --- interleaving, chunk size, abort (5.3.2, 5.4) ---


def test_interleaved_messages_chunk_by_chunk() -> None:
    a = bytes([0xA]) * 200
    b = bytes([0xB]) * 150
    a1 = h("04 | 000001 | 0000c8 | 08 | 01000000") + a[:128]
    b1 = h("06 | 000002 | 000096 | 09 | 01000000") + b[:128]
    a2 = h("c4") + a[128:]
    b2 = h("c6") + b[128:]
    msg_a = RawMessage(4, 8, 1, 1, a)
    msg_b = RawMessage(6, 9, 1, 2, b)
    assert feed_all_ways(a1 + b1 + a2 + b2) == [msg_a, msg_b]
    assert feed_all_ways(a1 + b1 + b2 + a2) == [msg_b, msg_a]


def test_set_chunk_size_applies_to_the_rest_of_the_same_feed() -> None:
    payload = bytes(range(200))
    wire = (
        h("02 | 000000 | 000004 | 01 | 00000000 | 00000100")  # Set Chunk Size 256
        + h("04 | 000000 | 0000c8 | 09 | 01000000")
        + payload  # one chunk of 200 bytes
    )
    msgs = feed_all_ways(wire)
    assert msgs == [RawMessage(2, 1, 0, 0, h("00000100")), RawMessage(4, 9, 1, 0, payload)]
    reader = ChunkReader()
    reader.feed(wire)
    assert reader.chunk_size == 256


def test_set_chunk_size_between_chunks_of_another_message() -> None:
    # csid 4 is mid-message when the chunk size grows: its next chunk uses the new size
    payload = bytes(range(256)) * 2
    wire = (
        h("04 | 000000 | 000200 | 09 | 01000000")
        + payload[:128]
        + h("02 | 000000 | 000004 | 01 | 00000000 | 00000400")  # 1024
        + h("c4")
        + payload[128:]
    )
    assert feed_all_ways(wire)[1] == RawMessage(4, 9, 1, 0, payload)


def test_huge_chunk_size_is_accepted_without_allocating() -> None:
    wire = h("02 | 000000 | 000004 | 01 | 00000000 | 7fffffff") + h(
        "04 | 000000 | 000003 | 09 | 01000000 | 010203"
    )
    reader = ChunkReader(max_chunk_size=4096)
    assert reader.feed(wire)[1] == RawMessage(4, 9, 1, 0, h("010203"))
    assert reader.chunk_size == 0x7FFFFFFF


def test_chunk_size_one() -> None:
    w = ChunkWriter()
    data = w.set_chunk_size(1) + w.write(4, 9, 1, 7, b"abc")
    assert data[16:] == h("04 | 000007 | 000003 | 09 | 01000000 | 61 | c4 | 62 | c4 | 63")
    # (no trailing NEXT here: it is chunked for a size of at least 5)
    whole = ChunkReader().feed(data)
    reader = ChunkReader()
    assert [m for i in range(len(data)) for m in reader.feed(data[i : i + 1])] == whole
    assert whole[1] == RawMessage(4, 9, 1, 7, b"abc")


def test_abort_discards_the_partial_message() -> None:
    wire = (
        h("04 | 000000 | 0000c8 | 09 | 01000000")
        + bytes(128)  # first chunk of a 200-byte message
        + h("02 | 000000 | 000004 | 02 | 00000000 | 00000004")  # Abort csid 4
        + h("04 | 000005 | 000002 | 08 | 01000000 | 7071")  # a fresh fmt 0 is legal again
    )
    assert feed_all_ways(wire) == [
        RawMessage(2, 2, 0, 0, h("00000004")),
        RawMessage(4, 8, 1, 5, h("7071")),
    ]


def test_abort_of_unknown_csid_is_harmless() -> None:
    wire = h("02 | 000000 | 000004 | 02 | 00000000 | 00001234")
    assert feed_all_ways(wire) == [RawMessage(2, 2, 0, 0, h("00001234"))]


def test_zero_length_message() -> None:
    wire = h("04 | 000001 | 000000 | 12 | 00000000") + h("c4")
    assert feed_all_ways(wire) == [RawMessage(4, 18, 0, 1, b""), RawMessage(4, 18, 0, 2, b"")]


def test_librtmp_fmt1_on_fresh_csid_2_is_accepted() -> None:
    # librtmp's first ping goes out with a type-1 header (SRS issue 98)
    wire = h("42 | 000000 | 000006 | 04 | 0006 00000d0f")
    assert feed_all_ways(wire) == [RawMessage(2, 4, 0, 0, h("000600000d0f"))]


def test_fmt1_continuation_with_same_length_and_type_is_accepted() -> None:
    payload = bytes(range(200))
    wire = (
        h("04 | 000005 | 0000c8 | 09 | 01000000")
        + payload[:128]
        + h("44 | 000009 | 0000c8 | 09")  # continuation sent with a type-1 header
        + payload[128:]
    )
    assert feed_all_ways(wire) == [RawMessage(4, 9, 1, 5, payload)]


def test_accepts_bytearray_and_memoryview() -> None:
    assert ChunkReader().feed(bytearray(FMT_SEQUENCE)) == FMT_MESSAGES
    assert ChunkReader().feed(memoryview(FMT_SEQUENCE)) == FMT_MESSAGES
    assert ChunkReader().feed(b"") == []


def test_message_of_exactly_max_message_size_is_accepted() -> None:
    wire = h("04 | 000000 | 000004 | 09 | 01000000 | 01020304")
    assert ChunkReader(max_message_size=4).feed(wire) == [RawMessage(4, 9, 1, 0, h("01020304"))]


def test_encode_message_accepts_memoryview() -> None:
    payload = bytes(range(130))
    assert encode_message(6, 9, 1, 0, memoryview(payload), 128) == encode_message(
        6, 9, 1, 0, payload, 128
    )


def test_writer_argument_errors() -> None:
    w = ChunkWriter()
    for bad_csid in (0, 1, 65600):
        with pytest.raises(ValueError):
            w.write(bad_csid, 8, 0, 0, b"")
    with pytest.raises(ValueError):
        w.write(3, 256, 0, 0, b"")
    with pytest.raises(ValueError):
        w.write(3, 8, -1, 0, b"")
    with pytest.raises(ValueError):
        encode_message(3, 8, 0, 0, bytes(0x1000000), 128)
    with pytest.raises(ValueError):
        ChunkWriter(0)


# --- malformed input ---

MALFORMED = {
    "fmt 1 without a previous fmt 0": h("43 | 000000 | 000001 | 08 | 00"),
    "fmt 2 without a previous fmt 0": h("84 | 000000 | 00"),
    "fmt 3 without a previous fmt 0": h("c5 | 00"),
    "fmt 3 on a 2-byte csid without fmt 0": h("c0 05 | 00"),
    "chunk size 0": h("02 | 000000 | 000004 | 01 | 00000000 | 00000000"),
    "chunk size with the top bit": h("02 | 000000 | 000004 | 01 | 00000000 | 80000000"),
    "set chunk size too short": h("02 | 000000 | 000003 | 01 | 00000000 | 000080"),
    "set chunk size too long": h("02 | 000000 | 000005 | 01 | 00000000 | 0000008000"),
    "abort too short": h("02 | 000000 | 000002 | 02 | 00000000 | 0004"),
    "message too long": h("04 | 000000 | 000065 | 09 | 01000000"),  # 101 > 100
    "message too long via fmt 1": h("04 | 000000 | 000001 | 09 | 01000000 | 00")
    + h("44 | 000000 | 0000ff | 09"),
    "too many chunk streams": h("04 | 000000 | 000000 | 09 | 00000000")
    + h("05 | 000000 | 000000 | 09 | 00000000")
    + h("06 | 000000 | 000000 | 09 | 00000000"),
    "fmt 0 in the middle of a message": h("04 | 000000 | 0000c8 | 09 | 01000000")
    + bytes(128)
    + h("04 | 000000 | 0000c8 | 09 | 01000000"),
    "fmt 1 changing the length mid-message": h("04 | 000000 | 0000c8 | 09 | 01000000")
    + bytes(128)
    + h("44 | 000000 | 0000c9 | 09"),
}


@pytest.mark.parametrize("name", list(MALFORMED))
def test_malformed(name: str) -> None:
    data = MALFORMED[name]
    with pytest.raises(ProtocolError):
        ChunkReader(max_message_size=100, max_chunk_streams=2).feed(data)
    reader = ChunkReader(max_message_size=100, max_chunk_streams=2)
    with pytest.raises(ProtocolError):
        for i in range(len(data)):
            reader.feed(data[i : i + 1])


def test_reader_stays_failed() -> None:
    reader = ChunkReader()
    with pytest.raises(ProtocolError):
        reader.feed(MALFORMED["chunk size 0"])
    with pytest.raises(ProtocolError, match="already failed"):
        reader.feed(NEXT)


def test_error_messages_are_readable() -> None:
    with pytest.raises(ProtocolError, match="chunk type 1 on chunk stream 3"):
        ChunkReader().feed(MALFORMED["fmt 1 without a previous fmt 0"])
    with pytest.raises(ProtocolError, match="exceeds the limit of 100 bytes"):
        ChunkReader(max_message_size=100).feed(MALFORMED["message too long"])
    with pytest.raises(ProtocolError, match="more than 2 chunk streams"):
        ChunkReader(max_chunk_streams=2).feed(MALFORMED["too many chunk streams"])


# --- properties ---

CSIDS = st.sampled_from([2, 3, 4, 5, 63, 64, 65, 319, 320, 1000, 65599])
MEDIA_TYPES = st.sampled_from([3, 4, 5, 6, 8, 9, 15, 17, 18, 20, 22])


@st.composite
def operations(draw: st.DrawFn) -> list[tuple[str, tuple[int, ...], bytes]]:
    ops: list[tuple[str, tuple[int, ...], bytes]] = []
    clock = draw(st.integers(0, 2**32 - 1))
    for _ in range(draw(st.integers(1, 25))):
        if draw(st.integers(0, 9)) == 0:
            size = draw(st.one_of(st.integers(1, 300), st.sampled_from([4096, 0x7FFFFFFF])))
            ops.append(("chunk", (size,), b""))
            continue
        kind = draw(st.integers(0, 3))
        if kind == 0:  # anything, including backwards and extended values
            clock = draw(st.integers(0, 2**32 - 1))
        elif kind == 1:  # small step
            clock += draw(st.sampled_from([0, 20, 23, 40]))
        elif kind == 2:  # step that needs the extended field
            clock += draw(st.integers(0xFFFFF0, 0x1000010))
        csid = draw(CSIDS)
        type_id = draw(MEDIA_TYPES)
        stream_id = draw(st.sampled_from([0, 1, 2**32 - 1]))
        size = draw(st.sampled_from([0, 1, 4, 127, 128, 129, 300]))
        payload = draw(st.binary(min_size=size, max_size=size))
        ops.append(("msg", (csid, type_id, stream_id, clock), payload))
    return ops


def encode_ops(
    ops: list[tuple[str, tuple[int, ...], bytes]], chunk_size: int
) -> tuple[bytes, list[RawMessage]]:
    writer = ChunkWriter(chunk_size)
    parts = []
    expected = []
    for kind, args, payload in ops:
        if kind == "chunk":
            parts.append(writer.set_chunk_size(args[0]))
            expected.append(RawMessage(2, 1, 0, 0, args[0].to_bytes(4, "big")))
        else:
            csid, type_id, stream_id, ts = args
            parts.append(writer.write(csid, type_id, stream_id, ts, payload))
            expected.append(RawMessage(csid, type_id, stream_id, ts % 2**32, payload))
    return b"".join(parts), expected


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(ops=operations(), splits=st.lists(st.integers(0, 10_000), max_size=8))
def test_writer_reader_round_trip(
    ops: list[tuple[str, tuple[int, ...], bytes]], splits: list[int]
) -> None:
    # the reader starts at 128; the writer announces its size before changing it
    wire, expected = encode_ops(ops, 128)
    assert ChunkReader().feed(wire) == expected
    reader = ChunkReader()
    got: list[RawMessage] = []
    start = 0
    for cut in [*sorted({min(s, len(wire)) for s in splits}), len(wire)]:
        got += reader.feed(wire[start:cut])
        start = cut
    assert got == expected


@settings(max_examples=100)
@given(
    csid=CSIDS,
    ts=st.integers(0, 2**32 - 1),
    size=st.integers(0, 700),
    chunk=st.integers(1, 300),
)
def test_encode_message_round_trip(csid: int, ts: int, size: int, chunk: int) -> None:
    payload = bytes(i & 0xFF for i in range(size))
    prefix = ChunkWriter().set_chunk_size(chunk)
    reader = ChunkReader()
    msgs = reader.feed(prefix + encode_message(csid, 9, 1, ts, payload, chunk))
    assert msgs[1:] == [RawMessage(csid, 9, 1, ts, payload)]


def assert_bounded(reader: ChunkReader) -> None:
    partial = sum(len(s.buf) for s in reader._streams.values())
    assert partial <= reader.max_chunk_streams * reader.max_message_size
    assert len(reader._streams) <= reader.max_chunk_streams
    assert len(reader._pending) <= 3 + 11 + 4 + 4


@settings(max_examples=300)
@given(chunks=st.lists(st.binary(max_size=300), max_size=10))
def test_random_bytes_raise_only_protocol_error(chunks: list[bytes]) -> None:
    reader = ChunkReader(max_message_size=1000, max_chunk_streams=4)
    try:
        for data in chunks:
            for m in reader.feed(data):
                assert len(m.payload) <= 1000
            assert_bounded(reader)
    except ProtocolError:
        pass


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(
    ops=operations(),
    edits=st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255), st.integers(0, 2))),
)
def test_mutated_valid_input_raises_only_protocol_error(
    ops: list[tuple[str, tuple[int, ...], bytes]], edits: list[tuple[int, int, int]]
) -> None:
    wire = bytearray(encode_ops(ops, 128)[0])
    for pos, value, action in edits:
        if not wire:
            break
        pos %= len(wire)
        if action == 0:
            wire[pos] = value
        elif action == 1:
            wire.insert(pos, value)
        else:
            del wire[pos]
    reader = ChunkReader(max_message_size=2000, max_chunk_streams=8)
    try:
        reader.feed(bytes(wire))
        assert_bounded(reader)
    except ProtocolError:
        pass


def test_partial_messages_of_all_chunk_streams_share_one_bound() -> None:
    """Many chunk streams each holding a partial message may not add up past max_buffered."""
    reader = ChunkReader(max_message_size=1000, max_buffered=1500)

    def first_chunk(csid: int) -> bytes:  # 12-byte header + the first 128 of 900 bytes
        return ChunkWriter(chunk_size=128).write(csid, 9, 1, 0, bytes(900))[: 12 + 128]

    for csid in range(4, 15):  # 11 x 128 = 1408 bytes held: still within the bound
        assert reader.feed(first_chunk(csid)) == []
    with pytest.raises(ProtocolError, match="partial messages hold more than 1500 bytes"):
        reader.feed(first_chunk(15))


def test_abort_and_completion_give_the_budget_back() -> None:
    reader = ChunkReader(max_message_size=1000, max_buffered=1000)
    for _ in range(20):  # 20 x 900 bytes pass through; never more than one partial at once
        data = ChunkWriter(chunk_size=128).write(4, 9, 1, 0, bytes(900))
        (msg,) = reader.feed(data)
        assert len(msg.payload) == 900
    part = ChunkWriter(chunk_size=128).write(5, 9, 1, 0, bytes(900))[: 12 + 128 + 1 + 128]
    assert reader.feed(part) == []
    abort = ChunkWriter().write(2, 2, 0, 0, (5).to_bytes(4, "big"))
    reader.feed(abort)
    for _ in range(5):
        part = ChunkWriter(chunk_size=128).write(6, 9, 1, 0, bytes(900))[: 12 + 128]
        reader.feed(part)
        reader.feed(ChunkWriter().write(2, 2, 0, 0, (6).to_bytes(4, "big")))
