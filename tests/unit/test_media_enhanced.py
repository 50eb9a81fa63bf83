"""Enhanced RTMP ex-header parsing: ModEx, multitrack layouts, FourCC helpers."""

import pytest

from livecast.media import enhanced
from livecast.media.enhanced import (
    AudioPacketType,
    ExAudioHeader,
    ExVideoHeader,
    VideoPacketType,
    parse_ex_audio_header,
    parse_ex_video_header,
)
from livecast.rtmp.errors import ProtocolError


def test_spec_enumeration_values() -> None:
    assert [int(v) for v in VideoPacketType] == [0, 1, 2, 3, 4, 5, 6, 7]
    assert [int(v) for v in AudioPacketType] == [0, 1, 2, 4, 5, 7]
    assert enhanced.FOURCC_HEVC == b"hvc1" and enhanced.FOURCC_OPUS == b"Opus"


def test_make_fourcc_matches_the_spec_example() -> None:
    # E-RTMP onMetaData: 'av01' == 0x61763031 == 1635135537
    assert enhanced.make_fourcc("av01") == 0x61763031 == 1635135537
    with pytest.raises(ValueError):
        enhanced.make_fourcc("av1")


def test_plain_enhanced_video_header() -> None:
    h = parse_ex_video_header(b"\x91hvc1\x00\x00\x21\x00\x00\x00\x01\x26")
    assert h == ExVideoHeader(1, 1, b"hvc1", 33, 8, 13, -1, -1, 0, 0)


def test_modex_timestamp_offset_nano() -> None:
    # ModEx size-1 = 2 -> 3 bytes: 0x0f423f = 999999 ns; then TimestampOffsetNano | CodedFramesX
    h = parse_ex_video_header(b"\x97\x02\x0f\x42\x3f\x03hvc1\xaa")
    assert h.packet_type == VideoPacketType.CODED_FRAMES_X
    assert h.timestamp_offset_nano == 999999 and h.data_offset == 10


def test_modex_with_sixteen_bit_size_and_unknown_type() -> None:
    # size byte 0xff means a UI16 size-1 follows: 0x012b + 1 = 300 bytes of ModEx data
    data = bytes(range(256)) + bytes(44)
    payload = b"\x97\xff\x01\x2b" + data + b"\x51" + b"av01\x12\x00"  # ModExType 5 unknown
    h = parse_ex_video_header(payload)
    assert h.fourcc == b"av01" and h.packet_type == 1 and h.timestamp_offset_nano == 0
    assert h.data_offset == 4 + 300 + 1 + 4


def test_chained_modex_blocks() -> None:
    payload = b"\x97\x00\xee\x17\x02\x00\x00\x10\x00hvc1"  # unknown 1-byte, then nano 16
    h = parse_ex_video_header(payload)
    assert h.packet_type == VideoPacketType.SEQUENCE_START and h.timestamp_offset_nano == 16


def test_short_nano_offset_is_refused() -> None:
    with pytest.raises(ProtocolError, match="TimestampOffsetNano"):
        parse_ex_video_header(b"\x97\x01\x00\x00\x01hvc1")


def test_multitrack_many_tracks_one_codec() -> None:
    # ManyTracks | CodedFrames, shared FourCC, track 3 of 5 bytes (CTS + 2), track 4 ...
    payload = b"\x96\x11avc1\x03\x00\x00\x05\x00\x00\x21\x65\x88\x04\x00\x00\x04\x00\x00\x00\x41"
    h = parse_ex_video_header(payload)
    assert h.multitrack_type == enhanced.AvMultitrackType.MANY_TRACKS
    assert (h.track_id, h.composition_time, h.data_offset, h.data_end) == (3, 33, 13, 15)
    assert payload[h.data_offset : h.data_end] == b"\x65\x88"


def test_multitrack_cts_must_fit_in_the_track() -> None:
    with pytest.raises(ProtocolError):
        parse_ex_video_header(b"\x96\x11avc1\x00\x00\x00\x02\x00\x00\x21\x65")


def test_command_frame_after_modex() -> None:
    h = parse_ex_video_header(b"\xd7\x02\x00\x00\x01\x00\x01")
    assert h.command == 1 and h.fourcc == b"" and h.timestamp_offset_nano == 1


def test_audio_header_multitrack_many_codecs() -> None:
    payload = b"\x95\x21Opus\x00\x00\x00\x01\xfcmp4a\x01\x00\x00\x01\x21"
    h = parse_ex_audio_header(payload)
    # 0x95 | 0x21 | Opus | trackId 0 | UI24 size 1 -> data at byte 10
    assert h == ExAudioHeader(1, b"Opus", 10, 11, 2, 0, 0)


def test_audio_header_one_track() -> None:
    h = parse_ex_audio_header(b"\x95\x00fLaC\x07\x66\x4c")
    # OneTrack has no size field: the track runs from byte 7 to the end
    assert (h.fourcc, h.track_id, h.data_offset, h.data_end) == (b"fLaC", 7, 7, 9)


def test_not_enhanced_headers_are_refused() -> None:
    with pytest.raises(ProtocolError):
        parse_ex_video_header(b"\x17\x01\x00\x00\x00")
    with pytest.raises(ProtocolError):
        parse_ex_audio_header(b"\xaf\x01")
    with pytest.raises(ProtocolError):
        parse_ex_audio_header(b"")


def test_long_modex_chains_end_with_the_payload() -> None:
    # 10,000 one-byte ModEx blocks that never reach a packet type: refused, not looped on
    with pytest.raises(ProtocolError):
        parse_ex_video_header(b"\x97" + b"\x00\x00\x07" * 10_000)
