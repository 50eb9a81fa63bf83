"""Protocol control (spec 5.4) and user control (spec 6.2, 7.1.7) messages, by hand vectors."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from livecast.rtmp.chunk import ChunkReader, RawMessage
from livecast.rtmp.errors import ProtocolError
from livecast.rtmp.messages import (
    Abort,
    Acknowledgement,
    BytesWindow,
    ControlMessage,
    LimitType,
    MessageType,
    PingRequest,
    PingResponse,
    SetBufferLength,
    SetChunkSize,
    SetPeerBandwidth,
    StreamBegin,
    StreamDry,
    StreamEOF,
    StreamIsRecorded,
    UnknownUserControl,
    UserControlEvent,
    WindowAckSize,
    control_message,
    decode_control,
    split_aggregate,
)


def h(text: str) -> bytes:
    return bytes.fromhex(text.replace("|", " "))


def test_message_type_ids() -> None:
    assert {t.name: int(t) for t in MessageType} == {
        "SET_CHUNK_SIZE": 1,
        "ABORT": 2,
        "ACKNOWLEDGEMENT": 3,
        "USER_CONTROL": 4,
        "WINDOW_ACK_SIZE": 5,
        "SET_PEER_BANDWIDTH": 6,
        "AUDIO": 8,
        "VIDEO": 9,
        "DATA_AMF3": 15,
        "SHARED_OBJECT_AMF3": 16,
        "COMMAND_AMF3": 17,
        "DATA_AMF0": 18,
        "SHARED_OBJECT_AMF0": 19,
        "COMMAND_AMF0": 20,
        "AGGREGATE": 22,
    }
    assert [int(x) for x in LimitType] == [0, 1, 2]


# (message, type id, payload)
VECTORS: list[tuple[ControlMessage, int, str]] = [
    (SetChunkSize(4096), 1, "00001000"),
    (SetChunkSize(0x7FFFFFFF), 1, "7fffffff"),
    (Abort(4), 2, "00000004"),
    (Acknowledgement(0x01020304), 3, "01020304"),
    (WindowAckSize(2_500_000), 5, "002625a0"),
    (SetPeerBandwidth(2_500_000, LimitType.HARD), 6, "002625a0 | 00"),
    (SetPeerBandwidth(5_000_000, LimitType.SOFT), 6, "004c4b40 | 01"),
    (SetPeerBandwidth(2_500_000, LimitType.DYNAMIC), 6, "002625a0 | 02"),
    (StreamBegin(1), 4, "0000 | 00000001"),
    (StreamEOF(1), 4, "0001 | 00000001"),
    (StreamDry(7), 4, "0002 | 00000007"),
    (SetBufferLength(1, 3000), 4, "0003 | 00000001 | 00000bb8"),
    (StreamIsRecorded(1), 4, "0004 | 00000001"),
    (PingRequest(0x11223344), 4, "0006 | 11223344"),
    (PingResponse(0xFFFFFFFF), 4, "0007 | ffffffff"),
    (UnknownUserControl(0x1A, b"\x00\x00"), 4, "001a | 0000"),  # SWF verification request
    (UnknownUserControl(0x1B, bytes(range(42))), 4, "001b" + bytes(range(42)).hex()),
    (UnknownUserControl(0x20, b""), 4, "0020"),
]


@pytest.mark.parametrize(("message", "type_id", "payload"), VECTORS)
def test_encode_decode(message: ControlMessage, type_id: int, payload: str) -> None:
    assert type_id == message.TYPE_ID
    assert message.encode() == h(payload)
    assert decode_control(type_id, h(payload)) == message
    assert decode_control(type_id, bytearray(h(payload))) == message
    assert decode_control(type_id, memoryview(h(payload))) == message


def test_user_control_event_types() -> None:
    assert StreamBegin.event_type == UserControlEvent.STREAM_BEGIN == 0
    assert StreamEOF.event_type == 1
    assert StreamDry.event_type == 2
    assert SetBufferLength.event_type == 3
    assert StreamIsRecorded.event_type == 4
    assert PingRequest.event_type == 6
    assert PingResponse.event_type == 7
    assert UnknownUserControl(0x1A, b"").event_type == UserControlEvent.SWF_VERIFY_REQUEST


def test_control_message_bytes() -> None:
    # csid 2, fmt 0, timestamp 0, length, type, message stream 0, payload
    assert control_message(WindowAckSize(2_500_000)) == h(
        "02 | 000000 | 000004 | 05 | 00000000 | 002625a0"
    )
    assert control_message(SetPeerBandwidth(2_500_000, LimitType.DYNAMIC)) == h(
        "02 | 000000 | 000005 | 06 | 00000000 | 002625a0 02"
    )
    assert control_message(StreamBegin(1)) == h(
        "02 | 000000 | 000006 | 04 | 00000000 | 0000 00000001"
    )
    assert control_message(SetBufferLength(1, 100), chunk_size=4) == h(
        "02 | 000000 | 00000a | 04 | 00000000 | 00030000 | c2 | 00010000 | c2 | 0064"
    )


@pytest.mark.parametrize(("message", "type_id", "payload"), VECTORS)
def test_control_message_through_the_reader(
    message: ControlMessage, type_id: int, payload: str
) -> None:
    [raw] = ChunkReader().feed(control_message(message))
    assert raw == RawMessage(2, type_id, 0, 0, h(payload))
    assert decode_control(raw.type_id, raw.payload) == message


MALFORMED = [
    (1, "000010", "not 4"),
    (1, "0000100000", "not 4"),
    (1, "00000000", "Set Chunk Size 0"),
    (1, "80000000", "top bit"),
    (2, "", "not 4"),
    (3, "010203", "not 4"),
    (5, "0026", "not 4"),
    (5, "00000000", "of 0 bytes"),
    (6, "002625a0", "not 5"),
    (6, "002625a0 0000", "not 5"),
    (6, "002625a0 03", "limit type 3"),
    (6, "00000000 02", "of 0 bytes"),
    (4, "", "no event type"),
    (4, "00", "no event type"),
    (4, "0000 000001", "not 6"),
    (4, "0000 0000000100", "not 6"),
    (4, "0006 112233", "not 6"),
    (4, "0007", "not 6"),
    (4, "0003 00000001", "not 10"),
    (4, "0003 00000001 00000bb8 00", "not 10"),
    (0, "00000000", "not a control message"),
    (7, "00000000", "not a control message"),
    (8, "00000000", "not a control message"),
    (300, "00000000", "not a control message"),
]


@pytest.mark.parametrize(("type_id", "payload", "match"), MALFORMED)
def test_decode_malformed(type_id: int, payload: str, match: str) -> None:
    with pytest.raises(ProtocolError, match=match):
        decode_control(type_id, h(payload))


def test_constructor_range_checks() -> None:
    for bad in (
        lambda: SetChunkSize(0),
        lambda: SetChunkSize(0x80000000),
        lambda: Acknowledgement(-1),
        lambda: WindowAckSize(2**32),
        lambda: SetPeerBandwidth(1, 3),  # type: ignore[arg-type]
        lambda: StreamBegin(-1),
        lambda: PingRequest(2**32),
        lambda: UnknownUserControl(0x10000, b""),
    ):
        with pytest.raises(ValueError):
            bad()


@settings(max_examples=400)
@given(type_id=st.integers(0, 30), payload=st.binary(max_size=16))
def test_decode_random_raises_only_protocol_error(type_id: int, payload: bytes) -> None:
    try:
        message = decode_control(type_id, payload)
    except ProtocolError:
        return
    # whatever decodes re-encodes to the same bytes
    assert message.encode() == payload
    assert type_id == message.TYPE_ID


# --- acknowledgement window ---


def test_bytes_window() -> None:
    w = BytesWindow(100)
    assert w.received(60) is None
    assert w.received(50) == 110  # crossed: sequence number is the total so far
    assert w.received(99) is None
    assert w.received(1) == 210
    assert w.received(1000) == 1210  # several windows at once: one acknowledgement
    assert w.received(0) is None
    assert w.total == 1210


def test_bytes_window_wraps_at_32_bits() -> None:
    w = BytesWindow(2_500_000)
    for _ in range(1717):  # 1717 * 2.5 MB = 4_292_500_000, just under 2**32
        assert w.received(2_500_000) is not None
    assert w.total == 4_292_500_000
    assert w.received(2_500_000) == (4_292_500_000 + 2_500_000) % 2**32 == 32_704
    assert w.received(2_499_999) is None
    assert w.received(1) == 2_532_704


def test_bytes_window_resize() -> None:
    w = BytesWindow(1000)
    assert w.received(600) is None
    w.resize(500)
    assert w.window_size == 500
    assert w.received(1) == 601
    with pytest.raises(ValueError):
        w.resize(0)
    with pytest.raises(ValueError):
        BytesWindow(0)
    with pytest.raises(ValueError):
        w.received(-1)


# --- aggregate messages ---


def sub(type_id: int, ts: int, data: bytes, stream_id: int = 1, back: int | None = None) -> bytes:
    """One aggregate sub-message: FLV-style tag header, data, back pointer."""
    header = (
        bytes([type_id])
        + len(data).to_bytes(3, "big")
        + (ts & 0xFFFFFF).to_bytes(3, "big")
        + bytes([ts >> 24])
        + stream_id.to_bytes(3, "big")
    )
    return header + data + (11 + len(data) if back is None else back).to_bytes(4, "big")


def test_split_aggregate_vector() -> None:
    payload = h(
        "08 | 000002 | 0003e8 | 00 | 000001 | af01 | 0000000d"  # audio ts 1000
        "09 | 000003 | 000410 | 00 | 000001 | 170102 | 0000000e"  # video ts 1040
    )
    assert payload == sub(8, 1000, h("af01")) + sub(9, 1040, h("170102"))
    assert split_aggregate(payload, 5000) == [(8, 5000, h("af01")), (9, 5040, h("170102"))]
    assert split_aggregate(memoryview(payload), 1000) == [
        (8, 1000, h("af01")),
        (9, 1040, h("170102")),
    ]


def test_split_aggregate_extended_timestamp_byte_and_wrap() -> None:
    payload = sub(9, 0x01000010, b"a") + sub(9, 0x01000030, b"b") + sub(8, 0x01000000, b"c")
    assert payload[7] == 0x01  # the timestamp extension is the upper 8 bits
    assert split_aggregate(payload, 0xFFFFFFF0) == [
        (9, 0xFFFFFFF0, b"a"),
        (9, 0x10, b"b"),  # +0x20, wraps
        (8, 0xFFFFFFE0, b"c"),  # -0x10
    ]


def test_split_aggregate_ignores_sub_stream_ids_and_back_pointer_values() -> None:
    payload = sub(8, 0, b"xy", stream_id=0, back=0) + sub(9, 5, b"", stream_id=7)
    assert split_aggregate(payload, 100) == [(8, 100, b"xy"), (9, 105, b"")]


def test_split_aggregate_empty() -> None:
    assert split_aggregate(b"", 0) == []


AGG_MALFORMED = {
    "truncated header": sub(8, 0, b"ab") + h("09 000001"),
    "size runs past the end": sub(8, 0, b"ab")[:-6],
    "back pointer missing": sub(8, 0, b"ab")[:-4],
    "back pointer short": sub(8, 0, b"ab")[:-1],
    "nested aggregate": sub(22, 0, sub(8, 0, b"a")),
    "size field huge": h("08 | ffffff | 000000 | 00 | 000000") + bytes(20),
    "trailing garbage": sub(8, 0, b"ab") + b"\x00",
}


@pytest.mark.parametrize("name", list(AGG_MALFORMED))
def test_split_aggregate_malformed(name: str) -> None:
    with pytest.raises(ProtocolError, match="aggregate"):
        split_aggregate(AGG_MALFORMED[name], 0)


@settings(max_examples=300)
@given(payload=st.binary(max_size=200), base=st.integers(0, 2**32 - 1))
def test_split_aggregate_random_raises_only_protocol_error(payload: bytes, base: int) -> None:
    try:
        parts = split_aggregate(payload, base)
    except ProtocolError:
        return
    assert sum(11 + len(p) + 4 for _, _, p in parts) == len(payload)
    if parts:
        assert parts[0][1] == base


@settings(max_examples=100)
@given(
    items=st.lists(
        st.tuples(st.sampled_from([8, 9, 18]), st.integers(0, 2**32 - 1), st.binary(max_size=40)),
        max_size=6,
    ),
    base=st.integers(0, 2**32 - 1),
)
def test_split_aggregate_round_trip(items: list[tuple[int, int, bytes]], base: int) -> None:
    payload = b"".join(sub(t, ts, d) for t, ts, d in items)
    parts = split_aggregate(payload, base)
    assert [(t, d) for t, _, d in parts] == [(t, d) for t, _, d in items]
    if items:
        first = items[0][1]
        assert [ts for _, ts, _ in parts] == [(base + ts - first) % 2**32 for _, ts, _ in items]
