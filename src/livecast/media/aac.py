"""AAC: AudioSpecificConfig (ISO/IEC 14496-3 1.6.2.1) and ADTS headers (1.A.2).

FLV / RTMP carry raw AAC frames plus the AudioSpecificConfig once, as the sequence header;
MPEG-TS (HLS) needs each frame behind a 7-byte ADTS header built from that config.
"""

from dataclasses import dataclass

from livecast.media.avc import BitReader
from livecast.rtmp.errors import ProtocolError

Buffer = bytes | bytearray | memoryview

SAMPLE_RATES = (
    96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350
)  # fmt: skip
# channelConfiguration -> channel count; 0 means "defined in a program_config_element".
CHANNELS = {0: 0, 1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 6: 6, 7: 8, 11: 7, 12: 8, 13: 24, 14: 8}

AOT_AAC_MAIN = 1
AOT_AAC_LC = 2
AOT_AAC_SSR = 3
AOT_AAC_LTP = 4
AOT_SBR = 5  # HE-AAC
AOT_PS = 29  # HE-AAC v2
AOT_ESCAPE = 31

ADTS_HEADER_SIZE = 7
MAX_ADTS_FRAME = (1 << 13) - 1  # frame_length is 13 bits, header included


@dataclass(frozen=True, slots=True)
class AacConfig:
    """An AudioSpecificConfig.

    object_type / sample_rate / frequency_index are those of the core decoder. With
    explicit HE-AAC signalling (AOT 5 or 29 first) extension_object_type holds that 5 / 29
    and extension_sample_rate the SBR output rate; both are 0 otherwise.
    """

    object_type: int
    sample_rate: int
    channels: int
    frequency_index: int = 0  # 15 when the rate was given explicitly
    channel_config: int = 0
    extension_object_type: int = 0
    extension_sample_rate: int = 0


def _object_type(bits: BitReader) -> int:
    aot = bits.u(5)
    if aot == AOT_ESCAPE:
        aot = 32 + bits.u(6)
    return aot


def _frequency(bits: BitReader) -> tuple[int, int]:
    index = bits.u(4)
    if index == 15:
        rate = bits.u(24)
        if rate == 0:
            raise ProtocolError("AudioSpecificConfig explicit sampling frequency is 0")
        return index, rate
    if index >= len(SAMPLE_RATES):
        raise ProtocolError(f"reserved AAC sampling frequency index {index}")
    return index, SAMPLE_RATES[index]


def parse_audio_specific_config(asc: Buffer) -> AacConfig:
    """Parse the leading fields of an AudioSpecificConfig (the AAC sequence header body)."""
    if len(asc) < 2:
        raise ProtocolError(f"AudioSpecificConfig too short: {len(asc)} bytes")
    bits = BitReader(bytes(asc[:16]))  # every field read here lies in the first 11 bytes
    aot = _object_type(bits)
    if aot == 0:
        raise ProtocolError("AudioSpecificConfig object type 0 is invalid")
    index, rate = _frequency(bits)
    channel_config = bits.u(4)
    channels = CHANNELS.get(channel_config)
    if channels is None:
        raise ProtocolError(f"reserved AAC channel configuration {channel_config}")
    ext_aot = ext_rate = 0
    if aot in (AOT_SBR, AOT_PS):
        ext_aot = aot
        _, ext_rate = _frequency(bits)
        aot = _object_type(bits)
        if aot == 0 or aot in (AOT_SBR, AOT_PS):
            raise ProtocolError(f"AudioSpecificConfig core object type {aot} under SBR/PS")
    return AacConfig(aot, rate, channels, index, channel_config, ext_aot, ext_rate)


def adts_header(config: AacConfig, payload_length: int) -> bytes:
    """The 7-byte ADTS header (no CRC) for one raw AAC frame of payload_length bytes."""
    if not AOT_AAC_MAIN <= config.object_type <= AOT_AAC_LTP:
        raise ProtocolError(f"AAC object type {config.object_type} cannot be put in ADTS")
    index = config.frequency_index
    if index >= len(SAMPLE_RATES) or SAMPLE_RATES[index] != config.sample_rate:
        try:
            index = SAMPLE_RATES.index(config.sample_rate)
        except ValueError:
            raise ProtocolError(
                f"AAC sample rate {config.sample_rate} has no ADTS frequency index"
            ) from None
    if config.channel_config > 7:
        raise ProtocolError(f"AAC channel configuration {config.channel_config} exceeds ADTS")
    frame_length = payload_length + ADTS_HEADER_SIZE
    if payload_length < 0 or frame_length > MAX_ADTS_FRAME:
        raise ProtocolError(f"AAC frame of {payload_length} bytes does not fit ADTS")
    value = (
        (0xFFF << 44)  # syncword
        | (0 << 43)  # ID: MPEG-4
        | (0 << 41)  # layer
        | (1 << 40)  # protection_absent: no CRC
        | ((config.object_type - 1) << 38)  # profile
        | (index << 34)
        | (0 << 33)  # private_bit
        | (config.channel_config << 30)
        | (0 << 26)  # original_copy, home, copyright id bit / start
        | (frame_length << 13)
        | (0x7FF << 2)  # adts_buffer_fullness: variable bit rate
        | 0  # number_of_raw_data_blocks_in_frame - 1
    )
    return value.to_bytes(ADTS_HEADER_SIZE, "big")
