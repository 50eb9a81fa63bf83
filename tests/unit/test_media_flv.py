"""FLV header / tag encoding byte-exact against Annex E, and FlvReader fed three ways."""

import pytest

from livecast.media import flv
from livecast.media.flv import FlvHeader, FlvReader, FlvTag, encode_tag, file_header
from livecast.rtmp.errors import ProtocolError


def test_file_header_bytes() -> None:
    # 'F' 'L' 'V', version 1, flags (audio 0x04 | video 0x01), DataOffset 9, PreviousTagSize0
    assert file_header(True, True) == bytes.fromhex("464c5601 05 00000009 00000000")
    assert file_header(True, False) == bytes.fromhex("464c5601 04 00000009 00000000")
    assert file_header(False, True) == bytes.fromhex("464c5601 01 00000009 00000000")
    assert file_header(False, False) == bytes.fromhex("464c5601 00 00000009 00000000")


def test_tag_type_constants() -> None:
    assert (flv.AUDIO, flv.VIDEO, flv.SCRIPT) == (8, 9, 18)


def test_encode_video_tag() -> None:
    # TagType 9, DataSize 2, Timestamp 0, TimestampExtended 0, StreamID 0, data, size 13
    assert encode_tag(flv.VIDEO, 0, b"\x17\x00") == bytes.fromhex(
        "09 000002 000000 00 000000 1700 0000000d"
    )


def test_encode_audio_tag_with_small_timestamp() -> None:
    assert encode_tag(flv.AUDIO, 1000, b"\xaf\x01\x21") == bytes.fromhex(
        "08 000003 0003e8 00 000000 af0121 0000000e"
    )


@pytest.mark.parametrize(
    ("timestamp", "wire"),
    [
        (0xFFFFFF, "ffffff 00"),
        (2**24, "000000 01"),  # first timestamp that needs TimestampExtended
        (0x12345678, "345678 12"),
        (2**32 - 1, "ffffff ff"),
        (2**32 + 5, "000005 00"),  # RTMP timestamps wrap modulo 2**32
    ],
)
def test_encode_tag_timestamp_extended(timestamp: int, wire: str) -> None:
    expected = bytes.fromhex("12 000001" + wire + "000000 02 0000000c")
    assert encode_tag(flv.SCRIPT, timestamp, b"\x02") == expected


def test_encode_tag_accepts_memoryview_and_empty_payload() -> None:
    assert encode_tag(flv.VIDEO, 5, memoryview(b"\x27\x01")[:1]) == bytes.fromhex(
        "09 000001 000005 00 000000 27 0000000c"
    )
    assert encode_tag(flv.AUDIO, 0, b"") == bytes.fromhex("08 000000 000000 00 000000 0000000b")


def test_encode_tag_refuses_what_cannot_be_written() -> None:
    with pytest.raises(ValueError):
        encode_tag(flv.VIDEO, 0, bytes(2**24))
    with pytest.raises(ValueError):
        encode_tag(32, 0, b"")


# --- reader -------------------------------------------------------------------------------

TAGS = [
    FlvTag(flv.SCRIPT, 0, b"\x02\x00\x0aonMetaData\x08\x00\x00\x00\x00\x00\x00\x09"),
    FlvTag(flv.VIDEO, 0, b"\x17\x00\x00\x00\x00\x01\x64\x00\x1f\xff"),
    FlvTag(flv.AUDIO, 0, b"\xaf\x00\x12\x10"),
    FlvTag(flv.VIDEO, 33, b"\x17\x01\x00\x00\x43" + bytes(300)),
    FlvTag(flv.AUDIO, 2**24 + 7, b""),
    FlvTag(flv.VIDEO, 0xFFFFFFFF, b"\x27\x01\xff\xff\xdf\x00"),
]
STREAM = file_header(True, True) + b"".join(
    encode_tag(t.tag_type, t.timestamp, t.payload) for t in TAGS
)


def test_round_trip_whole() -> None:
    reader = FlvReader()
    assert reader.feed(STREAM) == TAGS
    assert reader.header == FlvHeader(1, True, True)
    assert reader.buffered == 0


def test_round_trip_byte_by_byte() -> None:
    reader = FlvReader()
    tags: list[FlvTag] = []
    for i in range(len(STREAM)):
        tags += reader.feed(STREAM[i : i + 1])
    assert tags == TAGS and reader.buffered == 0


@pytest.mark.parametrize("chunk", [2, 7, 13, 100, 1000])
def test_round_trip_in_chunks(chunk: int) -> None:
    reader = FlvReader()
    tags: list[FlvTag] = []
    for i in range(0, len(STREAM), chunk):
        tags += reader.feed(memoryview(STREAM)[i : i + chunk])
    assert tags == TAGS


def test_split_across_tags_keeps_the_partial_tag() -> None:
    first = file_header(False, True) + encode_tag(flv.VIDEO, 1, b"\x17\x01\x00\x00\x00AB")
    second = encode_tag(flv.VIDEO, 2, b"\x27\x01\x00\x00\x00CD")
    reader = FlvReader()
    # the whole first tag plus the first bytes of the next one
    assert reader.feed(first + second[:9]) == [FlvTag(9, 1, b"\x17\x01\x00\x00\x00AB")]
    assert reader.buffered == 9
    assert reader.feed(second[9:]) == [FlvTag(9, 2, b"\x27\x01\x00\x00\x00CD")]
    assert reader.buffered == 0


def test_headerless_reader_and_larger_data_offset() -> None:
    tag = encode_tag(flv.AUDIO, 3, b"\x2f\xff")
    assert FlvReader(expect_header=False).feed(tag) == [FlvTag(8, 3, b"\x2f\xff")]
    # DataOffset 13: four bytes of a hypothetical longer header are skipped
    header = bytes.fromhex("464c5601 04 0000000d") + b"\xde\xad\xbe\xef" + bytes(4)
    assert FlvReader().feed(header + tag) == [FlvTag(8, 3, b"\x2f\xff")]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"FLX\x01\x05\x00\x00\x00\x09", "signature"),
        (b"X", "signature"),  # refused on the first byte, not after nine
        (b"FLV\x02\x05\x00\x00\x00\x09", "version"),
        (b"FLV\x01\x05\x00\x00\x00\x05", "DataOffset"),
        (b"FLV\x01\x05\xff\xff\xff\xff", "DataOffset"),
        (file_header(True, True) + bytes.fromhex("29 000001 000000 00 000000"), "encrypted"),
        (file_header(True, True) + bytes.fromhex("07 000001 000000 00 000000"), "tag type"),
    ],
)
def test_reader_errors(data: bytes, message: str) -> None:
    with pytest.raises(ProtocolError, match=message):
        FlvReader().feed(data)


def test_oversized_tag_is_refused_from_its_header_alone() -> None:
    reader = FlvReader(max_tag_size=100)
    reader.feed(file_header(False, True))
    with pytest.raises(ProtocolError, match="cap"):
        reader.feed(bytes.fromhex("09 000065 000000 00 000000"))  # 101 bytes claimed


def test_previous_tag_size_checked_when_asked() -> None:
    bad = file_header(True, False) + encode_tag(8, 0, b"\x2f")[:-4] + b"\x00\x00\x00\x0b"
    assert FlvReader().feed(bad) == [FlvTag(8, 0, b"\x2f")]  # lenient by default
    with pytest.raises(ProtocolError, match="PreviousTagSize"):
        FlvReader(check_previous_tag_size=True).feed(bad)
    bad0 = bytes.fromhex("464c5601 04 00000009 00000001")
    with pytest.raises(ProtocolError, match="PreviousTagSize0"):
        FlvReader(check_previous_tag_size=True).feed(bad0)


def test_read_file_tags() -> None:
    assert flv.read_file_tags(STREAM) == TAGS
    with pytest.raises(ProtocolError, match="truncated"):
        flv.read_file_tags(STREAM[:-1])
    with pytest.raises(ProtocolError, match="truncated"):
        flv.read_file_tags(STREAM[:5])
    with pytest.raises(ProtocolError):
        flv.read_file_tags(b"")
