"""HEVC decoder configuration record and SPS picture size, from ISO/IEC 14496-15 / H.265."""

import pytest

from livecast.media.hevc import (
    NAL_PPS,
    NAL_SPS,
    NAL_VPS,
    hevc_sps_dimensions,
    parse_hevc_decoder_config,
)
from livecast.rtmp.errors import ProtocolError


class Bits:
    """Test-side writer for SPS syntax (u(n), ue(v)), to build vectors by the table."""

    def __init__(self) -> None:
        self.text = ""

    def u(self, n: int, value: int) -> "Bits":
        self.text += format(value, f"0{n}b")
        return self

    def ue(self, value: int) -> "Bits":
        code = format(value + 1, "b")
        self.text += "0" * (len(code) - 1) + code
        return self

    def rbsp(self) -> bytes:
        text = self.text + "1"  # rbsp_stop_one_bit
        text += "0" * (-len(text) % 8)
        return int(text, 2).to_bytes(len(text) // 8, "big")


def escape(rbsp: bytes) -> bytes:
    """Insert emulation-prevention bytes (7.4.2) so the vector is a valid NAL payload."""
    out = bytearray()
    zeros = 0
    for byte in rbsp:
        if zeros >= 2 and byte <= 3:
            out.append(3)
            zeros = 0
        out.append(byte)
        zeros = zeros + 1 if byte == 0 else 0
    return bytes(out)


VPS = bytes.fromhex("40010c01ffff016000000300900000030000030078959809")
PPS = bytes.fromhex("4401c172b46240")


def sps_nal(bits: Bits) -> bytes:
    return b"\x42\x01" + escape(bits.rbsp())  # nal_unit_type 33, nuh_temporal_id_plus1 1


def profile_tier_level(b: Bits) -> Bits:
    b.u(2, 0).u(1, 0).u(5, 1)  # general_profile_space, tier, profile_idc (Main)
    b.u(32, 0x60000000)  # general_profile_compatibility_flags
    b.u(4, 0b1001).u(43, 0).u(1, 0)  # progressive, frame only, reserved, inbld
    return b.u(8, 93)  # general_level_idc (3.1)


def sps_1080p() -> Bits:
    b = Bits().u(4, 0).u(3, 0).u(1, 1)  # vps id, max_sub_layers_minus1, nesting
    profile_tier_level(b)
    b.ue(0).ue(1)  # sps_seq_parameter_set_id, chroma_format_idc 4:2:0
    b.ue(1920).ue(1088)  # pic_width/height_in_luma_samples
    b.u(1, 1).ue(0).ue(0).ue(0).ue(4)  # conformance window: bottom 4 * SubHeightC 2
    return b.ue(0).ue(0)  # bit depths (rest of the SPS is not read)


def test_sps_1080p_conformance_window() -> None:
    assert hevc_sps_dimensions(sps_nal(sps_1080p())) == (1920, 1080)


def test_sps_with_sub_layers_and_422() -> None:
    b = Bits().u(4, 0).u(3, 2).u(1, 0)
    profile_tier_level(b)
    b.u(1, 1).u(1, 1).u(1, 0).u(1, 1)  # sub-layer 0: profile+level, sub-layer 1: level
    b.u(12, 0)  # reserved_zero_2bits for the 6 absent sub-layers
    b.u(88, (1 << 87) | 12345).u(8, 90).u(8, 60)  # sub-layer 0 profile + level, 1 level
    b.ue(3).ue(2).ue(1280).ue(720)  # 4:2:2: SubWidthC 2, SubHeightC 1
    b.u(1, 1).ue(1).ue(2).ue(3).ue(4)
    assert hevc_sps_dimensions(sps_nal(b)) == (1280 - 6, 720 - 7)


def test_sps_444_separate_planes() -> None:
    b = Bits().u(4, 0).u(3, 0).u(1, 1)
    profile_tier_level(b)
    b.ue(0).ue(3).u(1, 1).ue(64).ue(64).u(1, 1).ue(1).ue(1).ue(1).ue(1)
    assert hevc_sps_dimensions(sps_nal(b)) == (62, 62)


@pytest.mark.parametrize(
    "nal",
    [
        b"",
        b"\x42\x01\x01",
        b"\x40\x01\x0c\x01\xff\xff",  # a VPS
        sps_nal(Bits().u(4, 0).u(3, 7).u(1, 1)),  # 8 sub-layers
        sps_nal(Bits().u(4, 0).u(3, 0).u(1, 1).u(8, 1)),  # truncated profile_tier_level
    ],
)
def test_bad_sps(nal: bytes) -> None:
    with pytest.raises(ProtocolError):
        hevc_sps_dimensions(nal)


def hvcc_record(arrays: list[tuple[int, list[bytes]]], version: int = 1) -> bytes:
    out = bytearray([version, 0x01])  # profile_space 0, tier 0, profile_idc 1
    out += bytes.fromhex("60000000")  # general_profile_compatibility_flags
    out += bytes.fromhex("900000000000")  # general_constraint_indicator_flags
    out += bytes([93])  # general_level_idc
    out += bytes.fromhex("f000 fc fd f8 f8 0000")  # segmentation, parallel, 4:2:0, 8/8 bit
    out += bytes([0x0F, len(arrays)])  # 1 temporal layer, nested, lengthSizeMinusOne 3
    for nal_type, units in arrays:
        out += bytes([0x80 | nal_type]) + len(units).to_bytes(2, "big")
        for unit in units:
            out += len(unit).to_bytes(2, "big") + unit
    return bytes(out)


def test_parse_decoder_config() -> None:
    sps = sps_nal(sps_1080p())
    record = hvcc_record([(NAL_VPS, [VPS]), (NAL_SPS, [sps]), (NAL_PPS, [PPS])])
    assert record[:23] == bytes.fromhex(
        "01 01 60000000 900000000000 5d f000 fc fd f8 f8 0000 0f 03"
    )
    config = parse_hevc_decoder_config(record)
    assert (config.profile_space, config.tier, config.profile, config.level) == (0, 0, 1, 93)
    assert config.compat_flags == 0x60000000
    assert config.constraint_flags == bytes.fromhex("900000000000")
    assert (config.chroma_format_idc, config.bit_depth_luma, config.bit_depth_chroma) == (1, 8, 8)
    assert config.nal_length_size == 4
    assert config.nal_arrays == {NAL_VPS: [VPS], NAL_SPS: [sps], NAL_PPS: [PPS]}
    assert (config.vps, config.sps, config.pps) == ([VPS], [sps], [PPS])
    assert hevc_sps_dimensions(config.sps[0]) == (1920, 1080)


def test_parse_decoder_config_version_0_and_sei_array() -> None:
    config = parse_hevc_decoder_config(hvcc_record([(39, [b"\x4e\x01\x05"])], version=0))
    assert config.nal_arrays == {39: [b"\x4e\x01\x05"]} and config.sps == []


@pytest.mark.parametrize(
    "record",
    [
        b"",
        bytes(22),
        hvcc_record([], version=2),
        hvcc_record([(NAL_VPS, [VPS])])[:-1],  # NAL unit cut short
        hvcc_record([(NAL_VPS, [VPS])])[:25],  # array header cut short
        hvcc_record([(NAL_VPS, [VPS])])[:27],  # NAL length cut short
        hvcc_record([(NAL_VPS, [b""])]),  # empty NAL unit
        hvcc_record([])[:21] + b"\x0e\x00",  # lengthSizeMinusOne 2
    ],
)
def test_bad_decoder_configs(record: bytes) -> None:
    with pytest.raises(ProtocolError):
        parse_hevc_decoder_config(record)
