"""AVC decoder config, SPS picture size, RBSP unescaping and NALU framing."""

import pytest

from livecast.media import avc
from livecast.media.avc import (
    AvcConfig,
    BitReader,
    annexb_from_avcc,
    iter_nalus,
    parse_avc_decoder_config,
    parse_sps,
    rbsp_from_nal,
    sps_dimensions,
)
from livecast.rtmp.errors import ProtocolError


class Bits:
    """Test-side writer for SPS syntax (u(n), ue(v), se(v)), to build vectors by the table."""

    def __init__(self) -> None:
        self.text = ""

    def u(self, n: int, value: int) -> "Bits":
        self.text += format(value, f"0{n}b") if n else ""
        return self

    def ue(self, value: int) -> "Bits":
        code = format(value + 1, "b")
        self.text += "0" * (len(code) - 1) + code
        return self

    def se(self, value: int) -> "Bits":
        return self.ue(2 * value - 1 if value > 0 else -2 * value)

    def rbsp(self) -> bytes:
        text = self.text + "1"  # rbsp_stop_one_bit
        text += "0" * (-len(text) % 8)
        return int(text, 2).to_bytes(len(text) // 8, "big")


def escape(rbsp: bytes) -> bytes:
    """Insert emulation-prevention bytes (7.4.1) so the vector is a valid NAL payload."""
    out = bytearray()
    zeros = 0
    for byte in rbsp:
        if zeros >= 2 and byte <= 3:
            out.append(3)
            zeros = 0
        out.append(byte)
        zeros = zeros + 1 if byte == 0 else 0
    return bytes(out)


def sps_nal(bits: Bits) -> bytes:
    return b"\x67" + escape(bits.rbsp())  # nal_ref_idc 3, nal_unit_type 7


def baseline_640x360() -> Bits:
    b = Bits().u(8, 66).u(8, 0xC0).u(8, 30)  # profile_idc, constraint flags, level_idc
    b.ue(0)  # seq_parameter_set_id
    b.ue(0)  # log2_max_frame_num_minus4
    b.ue(2)  # pic_order_cnt_type
    b.ue(1).u(1, 0)  # max_num_ref_frames, gaps_in_frame_num_value_allowed_flag
    b.ue(39).ue(22)  # 40 x 23 macroblocks = 640 x 368
    b.u(1, 1).u(1, 1)  # frame_mbs_only_flag, direct_8x8_inference_flag
    b.u(1, 1).ue(0).ue(0).ue(0).ue(4)  # crop bottom 4 units of 2 lines -> 360
    return b.u(1, 0)  # vui_parameters_present_flag


# A real x264 SPS (High profile, 854x480: 54 MBs = 864 wide, cropped 5 units of 2 on
# the right), with an emulation-prevention byte in it.
X264_SPS_854X480 = bytes.fromhex("6764001facd940d83de6f0110000030001000003003c0f183196")


def test_baseline_sps_with_cropping() -> None:
    assert sps_dimensions(sps_nal(baseline_640x360())) == (640, 360)
    info = parse_sps(sps_nal(baseline_640x360()))
    assert (info.profile, info.level, info.chroma_format_idc, info.bit_depth_luma) == (
        66,
        30,
        1,
        8,
    )


def test_real_x264_sps() -> None:
    assert b"\x00\x00\x03" in X264_SPS_854X480
    assert sps_dimensions(X264_SPS_854X480) == (854, 480)


def test_interlaced_sps_doubles_map_units() -> None:
    b = Bits().u(8, 77).u(8, 0).u(8, 40).ue(0).ue(0)
    b.ue(0).ue(2)  # poc type 0, log2_max_pic_order_cnt_lsb_minus4
    b.ue(4).u(1, 0).ue(119).ue(33)  # 120 MBs wide, 34 map units
    b.u(1, 0).u(1, 0).u(1, 1)  # frame_mbs_only 0, mb_adaptive 0, direct_8x8 1
    b.u(1, 1).ue(0).ue(0).ue(0).ue(2)  # crop bottom 2 units of 4 lines: 1088 -> 1080
    assert sps_dimensions(sps_nal(b.u(1, 0))) == (1920, 1080)


def test_high_422_sps_with_scaling_lists_and_poc_type_1() -> None:
    b = Bits().u(8, 122).u(8, 0).u(8, 41).ue(1)
    b.ue(2)  # chroma_format_idc 4:2:2
    b.ue(2).ue(2)  # 10-bit luma and chroma
    b.u(1, 0)  # qpprime_y_zero_transform_bypass_flag
    b.u(1, 1)  # seq_scaling_matrix_present_flag
    for i in range(8):
        if i in (0, 6):
            b.u(1, 1)
            size = 16 if i < 6 else 64
            b.se(3)  # 8 -> 11
            b.se(-4)  # 11 -> 7
            for _ in range(size - 3):
                b.se(0)
            b.se(-7)  # 7 -> 0: the rest of the list repeats the last value, no more codes
        else:
            b.u(1, 0)
    b.ue(0).ue(1)  # log2_max_frame_num_minus4, pic_order_cnt_type 1
    b.u(1, 0).se(-2).se(5).ue(3).se(1).se(-1).se(2)  # offsets and a 3-entry cycle
    b.ue(2).u(1, 0).ue(79).ue(44).u(1, 1).u(1, 1)  # 1280 x 720
    b.u(1, 1).ue(3).ue(5).ue(1).ue(2)  # 4:2:2 crop units: 2 wide, 1 high
    info = parse_sps(sps_nal(b.u(1, 0)))
    assert (info.width, info.height) == (1280 - 16, 720 - 3)
    assert (info.chroma_format_idc, info.bit_depth_luma, info.bit_depth_chroma) == (2, 10, 10)


def test_444_separate_colour_planes_crop_in_luma_samples() -> None:
    b = Bits().u(8, 244).u(8, 0).u(8, 50).ue(0)
    b.ue(3).u(1, 1)  # chroma_format_idc 3, separate_colour_plane_flag -> ChromaArrayType 0
    b.ue(0).ue(0).u(1, 0).u(1, 0)
    b.ue(0).ue(2).ue(1).u(1, 0).ue(9).ue(9).u(1, 1).u(1, 1)  # 160 x 160
    b.u(1, 1).ue(1).ue(2).ue(3).ue(4)
    assert sps_dimensions(sps_nal(b.u(1, 0))) == (160 - 3, 160 - 7)


@pytest.mark.parametrize(
    "nal",
    [
        b"",
        b"\x67\x42",  # too short
        b"\x68\x42\x00\x1e\xff",  # a PPS, not an SPS
        b"\xe7\x42\x00\x1e\xff",  # forbidden_zero_bit set
        b"\x67\x42\x00\x1e\x00\x00\x00\x00\x00",  # exp-Golomb code that never ends
        b"\x67\x42\x00\x1e",  # nothing after level_idc
    ],
)
def test_bad_sps(nal: bytes) -> None:
    with pytest.raises(ProtocolError):
        sps_dimensions(nal)


def test_zero_cropped_size_is_refused() -> None:
    b = Bits().u(8, 66).u(8, 0).u(8, 30).ue(0).ue(0).ue(2).ue(1).u(1, 0)
    b.ue(0).ue(0).u(1, 1).u(1, 1).u(1, 1).ue(8).ue(0).ue(0).ue(0)  # crop 16 of 16 columns
    with pytest.raises(ProtocolError, match="picture size"):
        sps_dimensions(sps_nal(b.u(1, 0)))


def test_rbsp_unescaping() -> None:
    assert rbsp_from_nal(b"\x67\x00\x00\x03\x01") == b"\x00\x00\x01"
    assert rbsp_from_nal(b"\x67\x00\x00\x03\x00\x00\x03") == b"\x00\x00\x00\x00"
    assert rbsp_from_nal(b"\x67\x00\x00\x03\x03\x00\x03") == b"\x00\x00\x03\x00\x03"
    assert rbsp_from_nal(b"\x40\x01\x00\x00\x03\x02", header_size=2) == b"\x00\x00\x02"


def test_exp_golomb_reader() -> None:
    # 1 | 010 | 011 | 00100 | 00101 | 0001000 -> ue 0, 1, 2, 3, 4, 7
    reader = BitReader(bytes.fromhex("a6 42 88 00"))
    assert [reader.ue() for _ in range(6)] == [0, 1, 2, 3, 4, 7]
    signed = BitReader(bytes.fromhex("4e"))  # 010 | 011 | 1 | 0 -> se +1, -1, 0
    assert [signed.se(), signed.se(), signed.se()] == [1, -1, 0]
    with pytest.raises(ProtocolError):
        BitReader(bytes(5) + b"\x80").ue()  # 40 leading zeros


# --- decoder configuration record ---------------------------------------------------------

PPS = bytes.fromhex("68ebe3cb22c0")


def avcc_record(sps: list[bytes], pps: list[bytes], length_size: int = 4) -> bytes:
    out = bytearray([1, 0x64, 0x00, 0x1F, 0xFC | (length_size - 1), 0xE0 | len(sps)])
    for unit in sps:
        out += len(unit).to_bytes(2, "big") + unit
    out.append(len(pps))
    for unit in pps:
        out += len(unit).to_bytes(2, "big") + unit
    return bytes(out)


def test_parse_decoder_config() -> None:
    record = avcc_record([X264_SPS_854X480], [PPS])
    assert record[:8].hex() == "0164001fffe1001a"
    config = parse_avc_decoder_config(record)
    assert config == AvcConfig(100, 0, 31, 4, [X264_SPS_854X480], [PPS])
    # the high-profile extension after the PPS (chroma, bit depth) is tolerated
    assert parse_avc_decoder_config(record + b"\xfd\xf8\xf8\x00") == config


def test_parse_decoder_config_with_several_sets_and_two_byte_lengths() -> None:
    sps2 = sps_nal(baseline_640x360())
    config = parse_avc_decoder_config(avcc_record([X264_SPS_854X480, sps2], [PPS, PPS], 2))
    assert config.nal_length_size == 2 and config.sps == [X264_SPS_854X480, sps2]
    assert len(config.pps) == 2


@pytest.mark.parametrize(
    "record",
    [
        b"",
        b"\x01\x64\x00\x1f\xff\xe1",  # too short
        b"\x00\x64\x00\x1f\xff\xe0\x00",  # version 0
        b"\x01\x64\x00\x1f\xfe\xe0\x00",  # NALU length size 3
        b"\x01\x64\x00\x1f\xff\xe1\x00\x1a\x67",  # SPS runs past the end
        b"\x01\x64\x00\x1f\xff\xe1\x00",  # SPS length truncated
        b"\x01\x64\x00\x1f\xff\xe1\x00\x00\x00",  # empty SPS
        b"\x01\x64\x00\x1f\xff\xe0",  # no PPS count
        b"\x01\x64\x00\x1f\xff\xe0\x02\x00\x01\x68",  # second PPS missing
    ],
)
def test_bad_decoder_configs(record: bytes) -> None:
    with pytest.raises(ProtocolError):
        parse_avc_decoder_config(record)


# --- NALU framing -------------------------------------------------------------------------

AVCC = bytes.fromhex("00000002 6588 00000000 00000001 41 00000003 060501")


def test_iter_nalus_skips_empty_units() -> None:
    assert [bytes(n) for n in iter_nalus(AVCC, 4)] == [b"\x65\x88", b"\x41", b"\x06\x05\x01"]


@pytest.mark.parametrize(
    ("size", "data"),
    [(1, "02 6588 01 41"), (2, "0002 6588 0001 41"), (3, "000002 6588 000001 41")],
)
def test_iter_nalus_length_sizes(size: int, data: str) -> None:
    assert [bytes(n) for n in iter_nalus(bytes.fromhex(data), size)] == [b"\x65\x88", b"\x41"]


@pytest.mark.parametrize(
    ("data", "size"),
    [
        ("00000005 6588", 4),  # NALU longer than the data
        ("00000002 6588 0000", 4),  # truncated length field
        ("ffffffff", 4),
        ("6588", 5),  # no such length size
        ("6588", 0),
    ],
)
def test_iter_nalus_garbage(data: str, size: int) -> None:
    with pytest.raises(ProtocolError):
        list(iter_nalus(bytes.fromhex(data), size))


def test_annexb_from_avcc() -> None:
    assert annexb_from_avcc(AVCC, 4) == bytes.fromhex("00000001 6588 00000001 41 00000001 060501")
    assert annexb_from_avcc(b"", 4) == b""


def test_avcc_from_annexb_round_trip() -> None:
    annexb = bytes.fromhex("00000001 6588 000001 41 00 00000001 060501")
    assert avc.split_annexb(annexb) == [b"\x65\x88", b"\x41", b"\x06\x05\x01"]
    assert avc.avcc_from_annexb(annexb) == bytes.fromhex(
        "00000002 6588 00000001 41 00000003 060501"
    )
