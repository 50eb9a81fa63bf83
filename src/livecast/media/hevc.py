"""H.265/HEVC: HEVCDecoderConfigurationRecord (ISO/IEC 14496-15 8.3.3) and SPS picture size.

HEVC reaches RTMP either as Enhanced RTMP 'hvc1' or as the legacy codec id 12; both carry
this record as the sequence header and length-prefixed NAL units (see avc.iter_nalus).
"""

import struct
from dataclasses import dataclass, field

from livecast.media.avc import BitReader, rbsp_from_nal
from livecast.rtmp.errors import ProtocolError

Buffer = bytes | bytearray | memoryview

NAL_VPS = 32
NAL_SPS = 33
NAL_PPS = 34
NAL_AUD = 35
NAL_PREFIX_SEI = 39
NAL_SUFFIX_SEI = 40
# IRAP pictures (BLA, IDR, CRA and reserved IRAP types) are 16..23.
IRAP_FIRST = 16
IRAP_LAST = 23

_FIXED = struct.Struct(">BBI6sBHBBBBHBB")  # the 23 bytes before the NAL arrays
_U16 = struct.Struct(">H")


@dataclass(frozen=True, slots=True)
class HevcConfig:
    version: int
    profile_space: int
    tier: int
    profile: int
    compat_flags: int
    constraint_flags: bytes  # 48 bits
    level: int
    chroma_format_idc: int
    bit_depth_luma: int
    bit_depth_chroma: int
    nal_length_size: int
    nal_arrays: dict[int, list[bytes]] = field(default_factory=dict)  # NAL type -> units

    @property
    def vps(self) -> list[bytes]:
        return self.nal_arrays.get(NAL_VPS, [])

    @property
    def sps(self) -> list[bytes]:
        return self.nal_arrays.get(NAL_SPS, [])

    @property
    def pps(self) -> list[bytes]:
        return self.nal_arrays.get(NAL_PPS, [])


def parse_hevc_decoder_config(record: Buffer) -> HevcConfig:
    """Parse an HEVCDecoderConfigurationRecord.

    configurationVersion 0 is accepted as well as 1: early muxers wrote 0 for the same
    layout.
    """
    n = len(record)
    if n < _FIXED.size:
        raise ProtocolError(f"HEVC decoder config too short: {n} bytes")
    (
        version,
        ptl,
        compat,
        constraint,
        level,
        _segmentation,
        _parallelism,
        chroma,
        depth_luma,
        depth_chroma,
        _frame_rate,
        flags,
        array_count,
    ) = _FIXED.unpack_from(record, 0)
    if version > 1:
        raise ProtocolError(f"HEVC decoder config version {version}, expected 1")
    nal_length_size = (flags & 0x03) + 1
    if nal_length_size == 3:
        raise ProtocolError("HEVC NALU length size 3 is not allowed")
    pos = _FIXED.size
    arrays: dict[int, list[bytes]] = {}
    for _ in range(array_count):
        if pos + 3 > n:
            raise ProtocolError("HEVC decoder config truncated in a NAL array header")
        nal_type = record[pos] & 0x3F
        (count,) = _U16.unpack_from(record, pos + 1)
        pos += 3
        units = arrays.setdefault(nal_type, [])
        for _ in range(count):
            if pos + 2 > n:
                raise ProtocolError("HEVC decoder config truncated in a NAL unit length")
            (length,) = _U16.unpack_from(record, pos)
            pos += 2
            if length == 0 or pos + length > n:
                raise ProtocolError(
                    f"HEVC decoder config NAL unit claims {length} bytes, has {n - pos}"
                )
            units.append(bytes(record[pos : pos + length]))
            pos += length
    return HevcConfig(
        version,
        ptl >> 6,
        (ptl >> 5) & 0x01,
        ptl & 0x1F,
        compat,
        bytes(constraint),
        level,
        chroma & 0x03,
        (depth_luma & 0x07) + 8,
        (depth_chroma & 0x07) + 8,
        nal_length_size,
        arrays,
    )


def hevc_sps_dimensions(sps: Buffer) -> tuple[int, int]:
    """(width, height) in pixels after the conformance window, from an HEVC SPS NAL unit."""
    if len(sps) < 4:
        raise ProtocolError(f"HEVC SPS too short: {len(sps)} bytes")
    if sps[0] & 0x80 or (sps[0] >> 1) & 0x3F != NAL_SPS:
        raise ProtocolError(f"not an HEVC SPS NAL unit (header 0x{sps[0]:02x})")
    bits = BitReader(rbsp_from_nal(sps, header_size=2))
    bits.skip(4)  # sps_video_parameter_set_id
    max_sub_layers_minus1 = bits.u(3)
    if max_sub_layers_minus1 > 6:
        raise ProtocolError("HEVC SPS sps_max_sub_layers_minus1 out of range")
    bits.skip(1)  # sps_temporal_id_nesting_flag
    _skip_profile_tier_level(bits, max_sub_layers_minus1)
    if bits.ue() > 15:
        raise ProtocolError("HEVC SPS id out of range")
    chroma_format_idc = bits.ue()
    if chroma_format_idc > 3:
        raise ProtocolError(f"HEVC SPS chroma_format_idc {chroma_format_idc} out of range")
    separate_colour_plane = chroma_format_idc == 3 and bits.flag()
    width = bits.ue()
    height = bits.ue()
    if bits.flag():  # conformance_window_flag
        left, right, top, bottom = bits.ue(), bits.ue(), bits.ue(), bits.ue()
        if separate_colour_plane or chroma_format_idc in (0, 3):
            sub_width = sub_height = 1
        else:
            sub_width = 2
            sub_height = 2 if chroma_format_idc == 1 else 1
        width -= sub_width * (left + right)
        height -= sub_height * (top + bottom)
    if width <= 0 or height <= 0 or width > 65535 or height > 65535:
        raise ProtocolError(f"HEVC SPS gives an impossible picture size {width}x{height}")
    return width, height


def _skip_profile_tier_level(bits: BitReader, max_sub_layers_minus1: int) -> None:
    bits.skip(96)  # general profile/tier/flags (88 bits) + general_level_idc
    profile_present = []
    level_present = []
    for _ in range(max_sub_layers_minus1):
        profile_present.append(bits.flag())
        level_present.append(bits.flag())
    if max_sub_layers_minus1 > 0:
        bits.skip(2 * (8 - max_sub_layers_minus1))  # reserved_zero_2bits
    for i in range(max_sub_layers_minus1):
        if profile_present[i]:
            bits.skip(88)
        if level_present[i]:
            bits.skip(8)
