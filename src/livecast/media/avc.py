"""H.264/AVC: AVCDecoderConfigurationRecord (ISO/IEC 14496-15), SPS size, NALU framing.

RTMP and FLV carry AVC as AVCC: length-prefixed NAL units, with SPS/PPS in a config record
sent once as the sequence header. HLS (MPEG-TS) needs Annex B start codes instead, and
onMetaData wants the picture size, which only the SPS knows.
"""

import struct
from collections.abc import Iterator
from dataclasses import dataclass

from livecast.rtmp.errors import ProtocolError

Buffer = bytes | bytearray | memoryview

NAL_SLICE = 1
NAL_IDR = 5
NAL_SEI = 6
NAL_SPS = 7
NAL_PPS = 8
NAL_AUD = 9

START_CODE = b"\x00\x00\x00\x01"
MAX_RBSP_SIZE = 64 * 1024  # parameter sets are u16-length-prefixed in the config record

# profile_idc values whose SPS carries chroma_format_idc, bit depths and scaling lists.
_HIGH_PROFILES = frozenset((100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135))

_U16 = struct.Struct(">H")
_LENGTH_READERS = {1: struct.Struct(">B"), 2: _U16, 4: struct.Struct(">I")}


@dataclass(frozen=True, slots=True)
class AvcConfig:
    profile: int
    compat: int  # profile_compatibility (constraint flags)
    level: int
    nal_length_size: int
    sps: list[bytes]
    pps: list[bytes]


@dataclass(frozen=True, slots=True)
class SpsInfo:
    profile: int
    level: int
    chroma_format_idc: int
    bit_depth_luma: int
    bit_depth_chroma: int
    width: int
    height: int


def parse_avc_decoder_config(record: Buffer) -> AvcConfig:
    """Parse an AVCDecoderConfigurationRecord (the AVC sequence header body)."""
    n = len(record)
    if n < 7:
        raise ProtocolError(f"AVC decoder config too short: {n} bytes")
    if record[0] != 1:
        raise ProtocolError(f"AVC decoder config version {record[0]}, expected 1")
    nal_length_size = (record[4] & 0x03) + 1
    if nal_length_size == 3:
        raise ProtocolError("AVC NALU length size 3 is not allowed")
    sps, pos = _parameter_sets(record, 6, n, record[5] & 0x1F, "SPS")
    if pos >= n:
        raise ProtocolError("AVC decoder config truncated before the PPS count")
    pps, pos = _parameter_sets(record, pos + 1, n, record[pos], "PPS")
    # High profiles may append chroma / bit depth / SPS-extension fields: not needed here.
    return AvcConfig(record[1], record[2], record[3], nal_length_size, sps, pps)


def _parameter_sets(
    record: Buffer, pos: int, n: int, count: int, name: str
) -> tuple[list[bytes], int]:
    sets: list[bytes] = []
    for _ in range(count):
        if pos + 2 > n:
            raise ProtocolError(f"AVC decoder config truncated in {name} length")
        (length,) = _U16.unpack_from(record, pos)
        pos += 2
        if length == 0:
            raise ProtocolError(f"AVC decoder config has an empty {name}")
        if pos + length > n:
            raise ProtocolError(f"AVC decoder config {name} claims {length} bytes, has {n - pos}")
        sets.append(bytes(record[pos : pos + length]))
        pos += length
    return sets, pos


# --- RBSP and exp-Golomb -----------------------------------------------------------------


def rbsp_from_nal(nal: Buffer, header_size: int = 1) -> bytes:
    """The RBSP of a NAL unit: header dropped, emulation-prevention bytes removed.

    Replacing 00 00 03 by 00 00 left to right is exactly the 7.4.1 rule: after a removed
    03 the zero count restarts, as the search does after a match.
    """
    if len(nal) > MAX_RBSP_SIZE:
        raise ProtocolError(f"NAL unit of {len(nal)} bytes is too large for a parameter set")
    return bytes(nal[header_size:]).replace(b"\x00\x00\x03", b"\x00\x00")


class BitReader:
    """MSB-first bit reader over a whole (small) buffer held as one big integer."""

    __slots__ = ("_bits", "_pos", "_value")

    def __init__(self, data: bytes) -> None:
        self._value = int.from_bytes(data, "big")
        self._bits = len(data) * 8
        self._pos = 0

    @property
    def remaining(self) -> int:
        return self._bits - self._pos

    def u(self, count: int) -> int:
        """Read count bits as an unsigned integer."""
        end = self._pos + count
        if end > self._bits:
            raise ProtocolError("bitstream truncated")
        self._pos = end
        return (self._value >> (self._bits - end)) & ((1 << count) - 1)

    def flag(self) -> bool:
        return self.u(1) == 1

    def skip(self, count: int) -> None:
        if self._pos + count > self._bits:
            raise ProtocolError("bitstream truncated")
        self._pos += count

    def ue(self) -> int:
        """Read an unsigned exp-Golomb code ue(v), at most 32 leading zeros."""
        remaining = self._bits - self._pos
        rest = self._value & ((1 << remaining) - 1)
        zeros = remaining - rest.bit_length()
        if zeros >= remaining:
            raise ProtocolError("bitstream truncated in an exp-Golomb code")
        if zeros > 31:
            raise ProtocolError("exp-Golomb code longer than 32 bits")
        self._pos += zeros + 1
        return (1 << zeros) - 1 + self.u(zeros)

    def se(self) -> int:
        """Read a signed exp-Golomb code se(v)."""
        k = self.ue()
        return (k + 1) >> 1 if k & 1 else -(k >> 1)


def _skip_scaling_list(bits: BitReader, size: int) -> None:
    last = 8
    following = 8
    for _ in range(size):
        if following:
            delta = bits.se()
            if not -128 <= delta <= 127:
                raise ProtocolError(f"SPS delta_scale {delta} out of range")
            following = (last + delta + 256) % 256
        last = following or last


def parse_sps(sps: Buffer) -> SpsInfo:
    """Parse an H.264 SPS NAL unit (with its header byte) up to the frame cropping."""
    if len(sps) < 4:
        raise ProtocolError(f"SPS too short: {len(sps)} bytes")
    if sps[0] & 0x80 or sps[0] & 0x1F != NAL_SPS:
        raise ProtocolError(f"not an SPS NAL unit (header byte 0x{sps[0]:02x})")
    bits = BitReader(rbsp_from_nal(sps))
    profile = bits.u(8)
    bits.skip(8)  # constraint_set flags + reserved_zero_2bits
    level = bits.u(8)
    if bits.ue() > 31:
        raise ProtocolError("SPS id out of range")
    chroma_format_idc = 1
    separate_colour_plane = False
    depth_luma = depth_chroma = 8
    if profile in _HIGH_PROFILES:
        chroma_format_idc = bits.ue()
        if chroma_format_idc > 3:
            raise ProtocolError(f"SPS chroma_format_idc {chroma_format_idc} out of range")
        if chroma_format_idc == 3:
            separate_colour_plane = bits.flag()
        depth_luma = bits.ue() + 8
        depth_chroma = bits.ue() + 8
        if depth_luma > 14 or depth_chroma > 14:
            raise ProtocolError("SPS bit depth out of range")
        bits.skip(1)  # qpprime_y_zero_transform_bypass_flag
        if bits.flag():  # seq_scaling_matrix_present_flag
            for i in range(8 if chroma_format_idc != 3 else 12):
                if bits.flag():
                    _skip_scaling_list(bits, 16 if i < 6 else 64)
    if bits.ue() > 12:
        raise ProtocolError("SPS log2_max_frame_num_minus4 out of range")
    poc_type = bits.ue()
    if poc_type == 0:
        if bits.ue() > 12:
            raise ProtocolError("SPS log2_max_pic_order_cnt_lsb_minus4 out of range")
    elif poc_type == 1:
        bits.skip(1)  # delta_pic_order_always_zero_flag
        bits.se()  # offset_for_non_ref_pic
        bits.se()  # offset_for_top_to_bottom_field
        cycle = bits.ue()
        if cycle > 255:
            raise ProtocolError("SPS num_ref_frames_in_pic_order_cnt_cycle out of range")
        for _ in range(cycle):
            bits.se()
    elif poc_type != 2:
        raise ProtocolError(f"SPS pic_order_cnt_type {poc_type} out of range")
    bits.ue()  # max_num_ref_frames
    bits.skip(1)  # gaps_in_frame_num_value_allowed_flag
    width_mbs = bits.ue() + 1
    height_map_units = bits.ue() + 1
    frame_mbs_only = bits.u(1)
    if not frame_mbs_only:
        bits.skip(1)  # mb_adaptive_frame_field_flag
    bits.skip(1)  # direct_8x8_inference_flag
    width = width_mbs * 16
    height = (2 - frame_mbs_only) * height_map_units * 16
    if bits.flag():  # frame_cropping_flag
        left, right, top, bottom = bits.ue(), bits.ue(), bits.ue(), bits.ue()
        chroma_array_type = 0 if separate_colour_plane else chroma_format_idc
        if chroma_array_type == 0:
            unit_x, unit_y = 1, 2 - frame_mbs_only
        else:
            sub_width = 1 if chroma_array_type == 3 else 2
            sub_height = 2 if chroma_array_type == 1 else 1
            unit_x, unit_y = sub_width, sub_height * (2 - frame_mbs_only)
        width -= (left + right) * unit_x
        height -= (top + bottom) * unit_y
    if width <= 0 or height <= 0 or width > 65535 or height > 65535:
        raise ProtocolError(f"SPS gives an impossible picture size {width}x{height}")
    return SpsInfo(profile, level, chroma_format_idc, depth_luma, depth_chroma, width, height)


def sps_dimensions(sps: Buffer) -> tuple[int, int]:
    """(width, height) in pixels after frame cropping, from an SPS NAL unit."""
    info = parse_sps(sps)
    return info.width, info.height


# --- AVCC framing ------------------------------------------------------------------------


def iter_nalus(data: Buffer, nal_length_size: int) -> Iterator[memoryview]:
    """Yield the NAL units of length-prefixed (AVCC/HVCC) data as views, without copying.

    Empty NAL units are skipped; a length that runs past the end raises ProtocolError.
    """
    reader = _LENGTH_READERS.get(nal_length_size)
    if reader is None and nal_length_size != 3:
        raise ProtocolError(f"NALU length size {nal_length_size} is not 1, 2, 3 or 4")
    view = memoryview(data)
    n = len(view)
    pos = 0
    while pos < n:
        if pos + nal_length_size > n:
            raise ProtocolError(f"NALU length field truncated at byte {pos}")
        if reader is not None:
            (length,) = reader.unpack_from(view, pos)
        else:
            length = int.from_bytes(view[pos : pos + 3], "big")
        pos += nal_length_size
        end = pos + length
        if end > n:
            raise ProtocolError(f"NALU claims {length} bytes, only {n - pos} left")
        if length:
            yield view[pos:end]
        pos = end


def annexb_from_avcc(data: Buffer, nal_length_size: int) -> bytes:
    """Convert length-prefixed NAL units to Annex B (00 00 00 01 start codes)."""
    parts: list[Buffer] = []
    for nalu in iter_nalus(data, nal_length_size):
        parts.append(START_CODE)
        parts.append(nalu)
    return b"".join(parts)


def avcc_from_annexb(data: Buffer, nal_length_size: int = 4) -> bytes:
    """Convert Annex B data (3- or 4-byte start codes) to length-prefixed NAL units."""
    if nal_length_size not in (1, 2, 3, 4):
        raise ValueError(f"NALU length size {nal_length_size} is not 1, 2, 3 or 4")
    raw = bytes(data)
    limit = 1 << (8 * nal_length_size)
    parts: list[bytes] = []
    for nal in split_annexb(raw):
        if len(nal) >= limit:
            raise ProtocolError(f"NAL unit of {len(nal)} bytes does not fit the length field")
        parts.append(len(nal).to_bytes(nal_length_size, "big"))
        parts.append(nal)
    return b"".join(parts)


def split_annexb(data: bytes) -> list[bytes]:
    """The NAL units of an Annex B byte stream (start codes and trailing zeros dropped)."""
    nals: list[bytes] = []
    start = data.find(b"\x00\x00\x01")
    while start >= 0:
        begin = start + 3
        nxt = data.find(b"\x00\x00\x01", begin)
        end = len(data) if nxt < 0 else nxt
        nal = data[begin:end].rstrip(b"\x00")
        if nal:
            nals.append(nal)
        start = nxt
    return nals
