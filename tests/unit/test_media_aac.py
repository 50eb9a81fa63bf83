"""AudioSpecificConfig (ISO/IEC 14496-3 1.6.2.1) and ADTS header (1.A.2) vectors."""

import pytest

from livecast.media.aac import AacConfig, adts_header, parse_audio_specific_config
from livecast.rtmp.errors import ProtocolError


@pytest.mark.parametrize(
    ("asc", "object_type", "rate", "channels"),
    [
        ("1210", 2, 44100, 2),  # 00010 0100 0010 000: AAC-LC, index 4, stereo
        ("1190", 2, 48000, 2),  # 00010 0011 0010 000: AAC-LC, index 3, stereo
        ("1188", 2, 48000, 1),
        ("0a10", 1, 44100, 2),  # AAC Main
        ("1288", 2, 32000, 1),  # 00010 0101 0001 000
        ("1588", 2, 8000, 1),  # 00010 1011 0001 000: index 11
        ("1328", 2, 24000, 5),  # 00010 0110 0101 000: channel configuration 5
        ("11b8", 2, 48000, 8),  # channel configuration 7 is 7.1 -> 8 channels
        ("1000", 2, 96000, 0),  # channel configuration 0: program config element
        ("120856e500", 2, 44100, 1),  # x264/ffmpeg style with a sync extension after
    ],
)
def test_plain_configs(asc: str, object_type: int, rate: int, channels: int) -> None:
    config = parse_audio_specific_config(bytes.fromhex(asc))
    assert (config.object_type, config.sample_rate, config.channels) == (
        object_type,
        rate,
        channels,
    )
    assert config.extension_object_type == 0


def test_explicit_frequency_escape() -> None:
    # 00010 1111 <24-bit 44100 = 0x00ac44> 0010 000
    config = parse_audio_specific_config(bytes.fromhex("1780562210"))
    assert config == AacConfig(2, 44100, 2, 15, 2)
    odd = parse_audio_specific_config(bytes.fromhex("17803e8010"))  # 0x007d00 = 32000 Hz
    assert odd.sample_rate == 32000 and odd.frequency_index == 15


def test_object_type_escape() -> None:
    # 11111 001010 (32 + 10 = 42, USAC) 0011 0010 00000
    config = parse_audio_specific_config(bytes.fromhex("f94640"))
    assert (config.object_type, config.sample_rate, config.channels) == (42, 48000, 2)


def test_explicit_he_aac() -> None:
    # 00101 (SBR) 0110 (24 kHz core) 0010 0011 (48 kHz output) 00010 (LC core) 00
    config = parse_audio_specific_config(bytes.fromhex("2b1188"))
    assert config == AacConfig(2, 24000, 2, 6, 2, 5, 48000)
    # HE-AAC v2 (PS, 29): 11101 0110 0001 0011 00010
    v2 = parse_audio_specific_config(bytes.fromhex("eb0988"))
    assert (v2.extension_object_type, v2.object_type, v2.channels) == (29, 2, 1)


@pytest.mark.parametrize(
    "asc",
    [
        "",
        "12",  # too short
        "0010",  # object type 0
        "16a0",  # frequency index 13 (reserved)
        "1240",  # channel configuration 8 (reserved)
        "1780000010",  # explicit frequency 0
        "2b1180",  # SBR over object type 0
        "f8",  # escape cut short
    ],
)
def test_bad_configs(asc: str) -> None:
    with pytest.raises(ProtocolError):
        parse_audio_specific_config(bytes.fromhex(asc))


def test_adts_header_lc_44100_stereo() -> None:
    # FFF1: sync, MPEG-4, layer 0, no CRC; 50: profile 1 (LC), index 4, private 0, ch hi 0;
    # 80: ch lo 10, flags 0000, length hi 00; 0d 7f fc: length 107, fullness 0x7ff, 1 block
    config = parse_audio_specific_config(bytes.fromhex("1210"))
    assert adts_header(config, 100) == bytes.fromhex("fff150800d7ffc")


def test_adts_header_48000_mono_and_max_length() -> None:
    config = parse_audio_specific_config(bytes.fromhex("1188"))
    assert adts_header(config, 0) == bytes.fromhex("fff14c4000ffFC")
    assert adts_header(config, 8191 - 7) == bytes.fromhex("fff14c43ffffFC")


def test_adts_header_for_he_aac_uses_the_core() -> None:
    config = parse_audio_specific_config(bytes.fromhex("2b1188"))
    assert adts_header(config, 100) == bytes.fromhex("fff158800d7ffc")  # LC at 24 kHz


def test_adts_header_explicit_frequency_mapped_to_an_index() -> None:
    config = parse_audio_specific_config(bytes.fromhex("1780562210"))
    assert adts_header(config, 100) == bytes.fromhex("fff150800d7ffc")


@pytest.mark.parametrize(
    ("asc", "length"),
    [
        ("f94640", 10),  # USAC has no ADTS profile
        ("1210", 8185),  # frame_length over 13 bits
        ("1210", -1),
        ("17803e9010", 10),  # 32001 Hz has no index
    ],
)
def test_adts_refusals(asc: str, length: int) -> None:
    config = parse_audio_specific_config(bytes.fromhex(asc))
    with pytest.raises(ProtocolError):
        adts_header(config, length)
