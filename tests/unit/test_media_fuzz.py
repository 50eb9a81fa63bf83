"""Property tests: random and mutated bytes into every media parser raise only ProtocolError."""

from collections.abc import Callable

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from livecast.media import aac, avc, enhanced, flv, hevc, script, tags
from livecast.media.flv import FlvReader, FlvTag
from livecast.rtmp.errors import ProtocolError

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

X264_SPS = bytes.fromhex("6764001facd940d83de6f0110000030001000003003c0f183196")
PPS = bytes.fromhex("68ebe3cb22c0")
AVCC_RECORD = bytes.fromhex("0164001fffe1001a") + X264_SPS + b"\x01\x00\x06" + PPS
HEVC_SPS = bytes.fromhex("420101016000000300900000030000030078a003c08010e59656924c")
HVCC_RECORD = (
    bytes.fromhex("01 01 60000000 900000000000 5d f000 fc fd f8 f8 0000 0f 01 a1 0001")
    + len(HEVC_SPS).to_bytes(2, "big")
    + HEVC_SPS
)

VALID_VIDEO = [
    b"\x17\x00\x00\x00\x00" + AVCC_RECORD,
    b"\x27\x01\xff\xff\xdf\x00\x00\x00\x02\x41\x9a",
    b"\x1c\x01\x00\x00\x21\x00\x00\x00\x01\x26",
    b"\x91hvc1\x00\x00\x21\x00\x00\x00\x01\x26",
    b"\xa3av01\x12\x00",
    b"\x96\x21av01\x00\x00\x00\x01\x12vp09\x01\x00\x00\x01\x86",
    b"\x97\x02\x00\x01\x02\x01hvc1\x00\x00\x21",
    b"\x84hvc1\x02\x00\x09colorInfo",
    b"\xd0\x01",
    b"\x57\x00",
    b"\x22\x00\x11",
]
VALID_AUDIO = [
    b"\xaf\x00\x12\x10",
    b"\xaf\x01\x21\x10",
    b"\x2f\xff\xfb",
    b"\x90OpusOpusHead",
    b"\x95\x11Opus\x00\x00\x00\x02\xfc\xff",
    b"\x97\x02\x00\x00\x07\x01Opus\xfc",
]


def mutated(samples: list[bytes]) -> st.SearchStrategy[bytes]:
    """A valid sample with a few bytes overwritten, then possibly truncated or extended."""

    @st.composite
    def build(draw: st.DrawFn) -> bytes:
        data = bytearray(draw(st.sampled_from(samples)))
        for _ in range(draw(st.integers(0, 4))):
            if data:
                data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
        cut = draw(st.integers(0, len(data)))
        return bytes(data[:cut]) + draw(st.binary(max_size=8))

    return build()


def only_protocol_errors(parse: Callable[[bytes], object], data: bytes) -> None:
    try:
        parse(data)
    except ProtocolError as exc:
        assert str(exc)  # a message a person can read


@FUZZ
@given(st.one_of(st.binary(max_size=64), mutated(VALID_VIDEO)))
def test_classify_video(data: bytes) -> None:
    only_protocol_errors(tags.classify_video, data)
    only_protocol_errors(enhanced.parse_ex_video_header, data)


@FUZZ
@given(st.one_of(st.binary(max_size=64), mutated(VALID_VIDEO)))
def test_classify_video_is_the_same_for_every_buffer_type(data: bytes) -> None:
    try:
        expected = tags.classify_video(data)
    except ProtocolError:
        return
    assert tags.classify_video(bytearray(data)) == expected
    assert tags.classify_video(memoryview(data)) == expected
    assert 0 < expected.data_offset <= len(data)


@FUZZ
@given(st.one_of(st.binary(max_size=64), mutated(VALID_AUDIO)))
def test_classify_audio(data: bytes) -> None:
    only_protocol_errors(tags.classify_audio, data)
    only_protocol_errors(enhanced.parse_ex_audio_header, data)


@FUZZ
@given(st.one_of(st.binary(max_size=96), mutated([AVCC_RECORD])))
def test_avc_decoder_config(data: bytes) -> None:
    only_protocol_errors(avc.parse_avc_decoder_config, data)


@FUZZ
@given(st.one_of(st.binary(max_size=64), mutated([X264_SPS])))
def test_avc_sps(data: bytes) -> None:
    only_protocol_errors(avc.sps_dimensions, data)
    only_protocol_errors(avc.sps_dimensions, b"\x67" + data)


@FUZZ
@given(st.one_of(st.binary(max_size=96), mutated([HVCC_RECORD])))
def test_hevc_decoder_config(data: bytes) -> None:
    only_protocol_errors(hevc.parse_hevc_decoder_config, data)


@FUZZ
@given(st.one_of(st.binary(max_size=64), mutated([HEVC_SPS])))
def test_hevc_sps(data: bytes) -> None:
    only_protocol_errors(hevc.hevc_sps_dimensions, data)
    only_protocol_errors(hevc.hevc_sps_dimensions, b"\x42\x01" + data)


@FUZZ
@given(st.one_of(st.binary(max_size=16), mutated([b"\x12\x10", b"\x17\x80\x56\x22\x10"])))
def test_audio_specific_config_and_adts(data: bytes) -> None:
    try:
        config = aac.parse_audio_specific_config(data)
    except ProtocolError:
        return
    only_protocol_errors(lambda _: aac.adts_header(config, 100), data)


@FUZZ
@given(st.binary(max_size=64), st.integers(1, 4))
def test_nalu_framing(data: bytes, size: int) -> None:
    only_protocol_errors(lambda d: list(avc.iter_nalus(d, size)), data)
    only_protocol_errors(lambda d: avc.annexb_from_avcc(d, size), data)


@FUZZ
@given(st.one_of(st.binary(max_size=64), mutated([b"\x02\x00\x0d@setDataFrame\x02\x00\x01x"])))
def test_script_helpers(data: bytes) -> None:
    only_protocol_errors(script.strip_set_data_frame, data)
    assert script.is_metadata(data) in (True, False)


# --- FlvReader ----------------------------------------------------------------------------

flv_tags = st.lists(
    st.builds(
        FlvTag,
        st.sampled_from([flv.AUDIO, flv.VIDEO, flv.SCRIPT]),
        st.integers(0, 2**32 - 1),
        st.binary(max_size=40),
    ),
    max_size=6,
)


def stream_of(items: list[FlvTag]) -> bytes:
    body = b"".join(flv.encode_tag(t.tag_type, t.timestamp, t.payload) for t in items)
    return flv.file_header(True, True) + body


@FUZZ
@given(flv_tags, st.lists(st.integers(0, 400), max_size=8))
def test_reader_split_anywhere_gives_the_encoded_tags(items: list[FlvTag], cuts: list[int]) -> None:
    data = stream_of(items)
    reader = FlvReader(check_previous_tag_size=True)
    got: list[FlvTag] = []
    start = 0
    for cut in [*sorted({min(c, len(data)) for c in cuts}), len(data)]:
        got += reader.feed(data[start:cut])
        start = cut
    assert got == items and reader.buffered == 0


@FUZZ
@given(st.one_of(st.binary(max_size=96), mutated([stream_of([FlvTag(9, 1, b"\x17\x01")] * 2)])))
def test_reader_garbage(data: bytes) -> None:
    whole: list[FlvTag] | None
    try:
        whole = FlvReader(max_tag_size=64).feed(data)
    except ProtocolError:
        whole = None
    # byte by byte: the same tags, or the same refusal
    reader = FlvReader(max_tag_size=64)
    got: list[FlvTag] = []
    try:
        for i in range(len(data)):
            got += reader.feed(data[i : i + 1])
    except ProtocolError:
        assert whole is None
    else:
        assert got == whole
    only_protocol_errors(flv.read_file_tags, data)
