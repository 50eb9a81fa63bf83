"""classify_video / classify_audio against header bytes written from the FLV and E-RTMP specs."""

import pytest

from livecast.media.tags import AudioInfo, VideoInfo, classify_audio, classify_video
from livecast.rtmp.errors import ProtocolError

NALU = b"\x00\x00\x00\x02\x65\x88"  # AVCC: one 2-byte IDR slice NAL unit
HVCC_RECORD = b"\x01" + b"\x00" * 22  # enough to look like a record; not parsed here


def video(hex_header: str, body: bytes = NALU) -> VideoInfo:
    return classify_video(bytes.fromhex(hex_header) + body)


def audio(hex_header: str, body: bytes = b"\x21\x10") -> AudioInfo:
    return classify_audio(bytes.fromhex(hex_header) + body)


# --- legacy AVC (CodecID 7) -------------------------------------------------------------


def test_avc_sequence_header() -> None:
    # FrameType 1 (key) | CodecID 7, AVCPacketType 0, CompositionTime 0
    info = video("17 00 000000", b"\x01\x64\x00\x1f\xff\xe1")
    assert info == VideoInfo(
        "avc", True, True, False, 0, False, False, False, False, 1, 0, data_offset=5
    )


def test_avc_keyframe_with_positive_composition_time() -> None:
    info = video("17 01 000043")  # CTS = 67 ms
    assert info.codec == "avc"
    assert info.keyframe and not info.sequence_header and not info.end_of_sequence
    assert info.composition_time == 67
    assert info.packet_type == 1 and info.data_offset == 5 and not info.enhanced


def test_avc_negative_composition_time_is_sign_extended() -> None:
    assert video("27 01 ffffdf").composition_time == -33
    assert video("27 01 800000").composition_time == -(2**23)
    assert video("27 01 7fffff").composition_time == 2**23 - 1


def test_avc_inter_and_disposable_frames_are_not_keyframes() -> None:
    inter = video("27 01 000000")
    assert not inter.keyframe and inter.frame_type == 2 and inter.composition_time == 0
    assert not video("37 01 000000").keyframe


def test_generated_keyframe_counts_as_keyframe() -> None:
    assert video("47 01 000000").keyframe


def test_avc_end_of_sequence() -> None:
    info = classify_video(bytes.fromhex("17 02 000000"))
    assert info.end_of_sequence and not info.sequence_header and info.composition_time == 0


def test_cts_only_read_for_coded_frames() -> None:
    # a non-zero CompositionTime on a sequence header is meaningless: reported as 0
    assert video("17 00 000021").composition_time == 0


def test_avc_unknown_packet_type() -> None:
    with pytest.raises(ProtocolError, match="packet type 3"):
        video("17 03 000000")


# --- legacy HEVC extension (CodecID 12) --------------------------------------------------


def test_hevc_codec_12_sequence_header_and_frames() -> None:
    seq = video("1c 00 000000", HVCC_RECORD)
    assert seq.codec == "hevc" and seq.sequence_header and seq.keyframe and not seq.enhanced
    key = video("1c 01 000021")
    assert key.keyframe and key.composition_time == 33 and key.data_offset == 5
    inter = video("2c 01 ffffbe")
    assert not inter.keyframe and inter.composition_time == -66
    assert video("1c 02 000000", b"").end_of_sequence


# --- other legacy codecs ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "codec", "keyframe"),
    [
        ("12", "h263", True),
        ("22", "h263", False),
        ("32", "h263", False),
        ("13", "screen", True),
        ("14", "vp6", True),
        ("24", "vp6", False),
        ("15", "vp6a", True),
        ("16", "screen2", True),
    ],
)
def test_legacy_codecs_have_a_one_byte_header(header: str, codec: str, keyframe: bool) -> None:
    info = video(header, b"\x00\x11\x22")
    assert (info.codec, info.keyframe) == (codec, keyframe)
    assert info.data_offset == 1 and info.composition_time == 0 and not info.sequence_header


def test_command_frame() -> None:
    # FrameType 5 (video info / command frame), then the UI8 command: 0 = start of seek
    info = classify_video(bytes.fromhex("57 00"))
    assert info.command and not info.keyframe and not info.sequence_header
    assert info.codec == "avc" and info.frame_type == 5 and info.data_offset == 2
    assert classify_video(bytes.fromhex("52 01")).command


@pytest.mark.parametrize(
    "payload",
    [
        "",  # empty
        "17",  # AVC without packet type
        "17 01 0000",  # AVC with a short CompositionTime
        "57",  # command frame without its command byte
        "07 01 000000",  # frame type 0 is reserved
        "67 01 000000",  # frame type 6 is reserved
        "18",  # codec id 8 is unknown
        "11",  # codec id 1 is reserved
        "1d 00 000000",  # codec id 13 is not defined
    ],
)
def test_bad_video_headers(payload: str) -> None:
    with pytest.raises(ProtocolError):
        classify_video(bytes.fromhex(payload))


# --- enhanced video -----------------------------------------------------------------------


def test_enhanced_hvc1_sequence_start() -> None:
    # IsExHeader | FrameType 1 | PacketType 0 (SequenceStart), FourCC hvc1, record
    info = classify_video(b"\x90hvc1" + HVCC_RECORD)
    assert info == VideoInfo("hevc", True, True, False, 0, True, False, False, False, 1, 0, 5)


def test_enhanced_hvc1_coded_frames_carry_composition_time() -> None:
    info = classify_video(b"\x91hvc1\x00\x00\x21" + NALU)
    assert (info.codec, info.keyframe, info.composition_time) == ("hevc", True, 33)
    assert info.packet_type == 1 and info.data_offset == 8 and info.enhanced
    assert classify_video(b"\xa1hvc1\xff\xff\xdf" + NALU).composition_time == -33


def test_enhanced_coded_frames_x_have_no_composition_time() -> None:
    info = classify_video(b"\xa3hvc1" + NALU)
    assert not info.keyframe and info.composition_time == 0
    assert info.packet_type == 3 and info.data_offset == 5


def test_enhanced_avc1_coded_frames() -> None:
    info = classify_video(b"\x91avc1\x00\x00\x43" + NALU)
    assert (info.codec, info.composition_time, info.data_offset) == ("avc", 67, 8)


def test_enhanced_sequence_end() -> None:
    info = classify_video(b"\x92hvc1")
    assert info.end_of_sequence and not info.sequence_header


def test_enhanced_av1() -> None:
    seq = classify_video(b"\x90av01\x81\x00\x0c\x00")  # av1C marker/version 0x81
    assert seq.codec == "av1" and seq.sequence_header and seq.data_offset == 5
    # AV1 CodedFrames have no SI24: the OBUs start right after the FourCC
    frame = classify_video(b"\x91av01\x12\x00\x0a")
    assert frame.keyframe and frame.composition_time == 0 and frame.data_offset == 5
    ts_start = classify_video(b"\x95av01\x80")
    assert ts_start.sequence_header and ts_start.packet_type == 5


def test_enhanced_vp9_and_vp8() -> None:
    assert classify_video(b"\x90vp09\x01\x00").codec == "vp9"
    inter = classify_video(b"\xa1vp09\x86\x00")
    assert inter.codec == "vp9" and not inter.keyframe and inter.data_offset == 5
    assert classify_video(b"\x91vp08\x10").codec == "vp8"


def test_enhanced_unknown_fourcc_is_reported_as_text() -> None:
    assert classify_video(b"\x91xyz9\x00").codec == "xyz9"


def test_enhanced_metadata_ignores_frame_type() -> None:
    # FrameType 0 would be reserved, but is ignored for Metadata packets
    info = classify_video(b"\x84hvc1\x02\x00\x09colorInfo\x05")
    assert info.metadata and not info.keyframe and not info.sequence_header


def test_enhanced_command_frame_has_no_fourcc() -> None:
    info = classify_video(b"\xd0\x01")  # IsExHeader | FrameType 5, command 1 (end seek)
    assert info.command and info.enhanced and info.codec == "" and not info.keyframe


def test_enhanced_multitrack_is_classified_by_its_first_track() -> None:
    # Multitrack (6), OneTrack (0) of CodedFrames (1), FourCC, trackId 0, SI24 CTS
    one = classify_video(b"\x96\x01hvc1\x00\x00\x00\x21" + NALU)
    assert one.multitrack and one.codec == "hevc" and one.keyframe
    assert one.composition_time == 33 and one.data_offset == 10
    # ManyTracksManyCodecs (2) of SequenceStart (0): FourCC per track, trackId, UI24 size
    many = classify_video(b"\x96\x20av01\x00\x00\x00\x02\x81\x00vp09\x01\x00\x00\x01\x01")
    assert many.multitrack and many.codec == "av1" and many.sequence_header
    assert many.data_offset == 10


def test_enhanced_modex_is_skipped() -> None:
    # ModEx (7): size-1 = 2, 3 bytes of nanosecond offset, then ModExType 0 | CodedFrames
    payload = b"\x97\x02\x00\x01\x02\x01hvc1\x00\x00\x21" + NALU
    info = classify_video(payload)
    assert info.codec == "hevc" and info.keyframe and info.composition_time == 33
    assert info.data_offset == 13


@pytest.mark.parametrize(
    "payload",
    [
        b"\x91hvc",  # truncated FourCC
        b"\x91hvc1\x00\x00",  # truncated SI24
        b"\x98hvc1",  # packet type 8 reserved
        b"\x81hvc1\x00\x00\x00",  # frame type 0 reserved for coded frames
        b"\xd0",  # command frame without its byte
        b"\x96\x06hvc1\x00",  # multitrack inside multitrack
        b"\x96\x31hvc1\x00",  # multitrack type 3 reserved
        b"\x96\x11hvc1\x00\x00\x00\x09\x00",  # track claims 9 bytes, has 1
        b"\x97\x05\x00",  # ModEx data runs past the end
    ],
)
def test_bad_enhanced_video_headers(payload: bytes) -> None:
    with pytest.raises(ProtocolError):
        classify_video(payload)


def test_results_do_not_depend_on_the_buffer_type() -> None:
    for raw in (b"\x17\x01\x00\x00\x43" + NALU, b"\x91hvc1\x00\x00\x21" + NALU, b"\x22"):
        expected = classify_video(raw)
        assert classify_video(bytearray(raw)) == expected
        assert classify_video(memoryview(raw)) == expected


def test_memoized_results_are_per_header() -> None:
    a = classify_video(bytes.fromhex("27 01 000021") + NALU)
    b = classify_video(bytes.fromhex("27 01 000042") + NALU)
    assert (a.composition_time, b.composition_time) == (33, 66)
    assert classify_video(bytes.fromhex("27 01 000021") + b"other") == a


# --- legacy audio -------------------------------------------------------------------------


def test_aac_sequence_header() -> None:
    # SoundFormat 10 | rate 3 | size 1 | stereo 1 = 0xAF, AACPacketType 0, ASC 12 10
    info = classify_audio(bytes.fromhex("af 00 12 10"))
    assert info == AudioInfo("aac", True, 0, 0, False, 0, False, False, 0, 2)


def test_aac_raw_frame() -> None:
    info = audio("af 01")
    assert info.codec == "aac" and not info.sequence_header and info.packet_type == 1
    assert info.data_offset == 2


def test_aac_unknown_packet_type() -> None:
    with pytest.raises(ProtocolError):
        audio("af 02")


@pytest.mark.parametrize(
    ("header", "codec", "rate", "size", "channels"),
    [
        ("2f", "mp3", 44100, 16, 2),  # 0010 11 1 1
        ("2a", "mp3", 22050, 16, 1),  # 0010 10 1 0
        ("26", "mp3", 11025, 16, 1),  # 0010 01 1 0
        ("00", "pcm", 5512, 8, 1),
        ("3e", "pcm_le", 44100, 16, 1),
        ("1f", "adpcm", 44100, 16, 2),
        ("42", "nellymoser", 16000, 16, 1),
        ("52", "nellymoser", 8000, 16, 1),
        ("6e", "nellymoser", 44100, 16, 1),
        ("72", "g711a", 5512, 16, 1),
        ("82", "g711u", 5512, 16, 1),
        ("b2", "speex", 16000, 16, 1),
        ("e3", "mp3", 8000, 16, 2),
        ("f2", "native", 5512, 16, 1),
    ],
)
def test_legacy_audio_flags(header: str, codec: str, rate: int, size: int, channels: int) -> None:
    info = audio(header)
    assert (info.codec, info.sample_rate, info.sample_size, info.channels) == (
        codec,
        rate,
        size,
        channels,
    )
    assert not info.sequence_header and not info.enhanced and info.data_offset == 1


@pytest.mark.parametrize("payload", ["", "af", "c2", "d2"])
def test_bad_audio_headers(payload: str) -> None:
    with pytest.raises(ProtocolError):
        classify_audio(bytes.fromhex(payload))


# --- enhanced audio -----------------------------------------------------------------------

OPUS_HEAD = b"OpusHead\x01\x02\x38\x01\x80\xbb\x00\x00\x00\x00\x00"


def test_enhanced_opus_sequence_start_and_frames() -> None:
    # SoundFormat 9 (ExHeader) | AudioPacketType 0 (SequenceStart), FourCC Opus
    seq = classify_audio(b"\x90Opus" + OPUS_HEAD)
    assert seq == AudioInfo("opus", True, 0, 0, True, 0, False, False, 0, 5)
    frame = classify_audio(b"\x91Opus\xfc\xff\xfe")
    assert frame.codec == "opus" and not frame.sequence_header and frame.data_offset == 5


@pytest.mark.parametrize(
    ("fourcc", "codec"),
    [(b"fLaC", "flac"), (b"ac-3", "ac3"), (b"ec-3", "eac3"), (b"mp4a", "aac"), (b".mp3", "mp3")],
)
def test_enhanced_audio_fourccs(fourcc: bytes, codec: str) -> None:
    assert classify_audio(b"\x91" + fourcc + b"\x00").codec == codec


def test_enhanced_aac_sequence_start() -> None:
    info = classify_audio(b"\x90mp4a\x12\x10")
    assert info.codec == "aac" and info.sequence_header and info.data_offset == 5


def test_enhanced_audio_sequence_end_and_multichannel_config() -> None:
    assert classify_audio(b"\x92Opus").end_of_sequence
    config = classify_audio(b"\x94Opus\x01\x02\x00\x00\x00\x03")
    assert config.packet_type == 4 and not config.sequence_header


def test_enhanced_audio_multitrack_and_modex() -> None:
    # Multitrack (5), ManyTracks (1) of CodedFrames (1), FourCC, trackId 0, UI24 size 2
    info = classify_audio(b"\x95\x11Opus\x00\x00\x00\x02\xfc\xff\x01\x00\x00\x01\xfc")
    assert info.multitrack and info.codec == "opus" and info.data_offset == 10
    modex = classify_audio(b"\x97\x02\x00\x00\x07\x01Opus\xfc")
    assert modex.codec == "opus" and modex.data_offset == 10 and not modex.multitrack


@pytest.mark.parametrize(
    "payload",
    [b"\x91Op", b"\x93Opus", b"\x96Opus", b"\x95\x15Opus\x00", b"\x97\x00"],
)
def test_bad_enhanced_audio_headers(payload: bytes) -> None:
    with pytest.raises(ProtocolError):
        classify_audio(payload)
