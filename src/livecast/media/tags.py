"""Classify FLV / RTMP audio and video message payloads from their first bytes.

The server calls these on every media message (keyframe? sequence header? composition
time?), so they read only the tag header. Results are immutable and depend only on the
header bytes, so the common single-track headers are memoized by those bytes: a frame costs
a slice and a dict lookup, and no payload bytes are ever copied.
"""

from dataclasses import dataclass

from livecast.media import enhanced
from livecast.media.enhanced import (
    EX_VIDEO_FLAG,
    FOURCC_AVC,
    FOURCC_HEVC,
    SOUND_FORMAT_EX_HEADER,
)
from livecast.rtmp.errors import ProtocolError

Buffer = bytes | bytearray | memoryview

# Legacy VideoTagHeader CodecID values. 12 is the HEVC extension used by Chinese CDNs
# (and ffmpeg forks), with the same AVCPacketType + CompositionTime layout as AVC.
CODEC_ID_H263 = 2
CODEC_ID_SCREEN = 3
CODEC_ID_VP6 = 4
CODEC_ID_VP6A = 5
CODEC_ID_SCREEN2 = 6
CODEC_ID_AVC = 7
CODEC_ID_HEVC = 12

VIDEO_CODEC_NAMES: dict[int, str] = {
    CODEC_ID_H263: "h263",
    CODEC_ID_SCREEN: "screen",
    CODEC_ID_VP6: "vp6",
    CODEC_ID_VP6A: "vp6a",
    CODEC_ID_SCREEN2: "screen2",
    CODEC_ID_AVC: "avc",
    CODEC_ID_HEVC: "hevc",
}

# Legacy AudioTagHeader SoundFormat values.
SOUND_FORMAT_PCM = 0
SOUND_FORMAT_ADPCM = 1
SOUND_FORMAT_MP3 = 2
SOUND_FORMAT_PCM_LE = 3
SOUND_FORMAT_NELLYMOSER_16K = 4
SOUND_FORMAT_NELLYMOSER_8K = 5
SOUND_FORMAT_NELLYMOSER = 6
SOUND_FORMAT_G711_ALAW = 7
SOUND_FORMAT_G711_MULAW = 8
SOUND_FORMAT_AAC = 10
SOUND_FORMAT_SPEEX = 11
SOUND_FORMAT_MP3_8K = 14
SOUND_FORMAT_NATIVE = 15

AUDIO_CODEC_NAMES: dict[int, str] = {
    SOUND_FORMAT_PCM: "pcm",
    SOUND_FORMAT_ADPCM: "adpcm",
    SOUND_FORMAT_MP3: "mp3",
    SOUND_FORMAT_PCM_LE: "pcm_le",
    SOUND_FORMAT_NELLYMOSER_16K: "nellymoser",
    SOUND_FORMAT_NELLYMOSER_8K: "nellymoser",
    SOUND_FORMAT_NELLYMOSER: "nellymoser",
    SOUND_FORMAT_G711_ALAW: "g711a",
    SOUND_FORMAT_G711_MULAW: "g711u",
    SOUND_FORMAT_AAC: "aac",
    SOUND_FORMAT_SPEEX: "speex",
    SOUND_FORMAT_MP3_8K: "mp3",
    SOUND_FORMAT_NATIVE: "native",
}

_SOUND_RATES = (5512, 11025, 22050, 44100)
# Formats whose rate / channel count is fixed by the format, not by the header flags.
_FIXED_RATE: dict[int, tuple[int, int]] = {
    SOUND_FORMAT_NELLYMOSER_16K: (16000, 1),
    SOUND_FORMAT_NELLYMOSER_8K: (8000, 1),
    SOUND_FORMAT_SPEEX: (16000, 1),
    SOUND_FORMAT_MP3_8K: (8000, 0),
}


@dataclass(frozen=True, slots=True)
class VideoInfo:
    """What the header of one video message says.

    packet_type is the AVCPacketType for legacy AVC/HEVC (0 sequence header, 1 NALUs,
    2 end of sequence), the VideoPacketType for enhanced headers, and 1 for legacy codecs
    that have no packet type. data_offset is where the codec data (config record, NALUs,
    OBUs...) of the first track starts.
    """

    codec: str  # "avc", "hevc", "av1", "vp9", "vp6", "h263", ... or the FourCC text
    keyframe: bool
    sequence_header: bool
    end_of_sequence: bool
    composition_time: int
    enhanced: bool
    command: bool = False  # frame type 5: a command byte, no video data
    multitrack: bool = False  # classified by the first track
    metadata: bool = False  # enhanced Metadata packet (AMF, e.g. colorInfo)
    frame_type: int = 0
    packet_type: int = 1
    data_offset: int = 1


@dataclass(frozen=True, slots=True)
class AudioInfo:
    """What the header of one audio message says.

    sample_rate / channels / sample_size are 0 when the tag header does not tell them
    (AAC, whose flags are fixed at 44 kHz stereo, and every enhanced header): read the
    codec configuration instead.
    """

    codec: str  # "aac", "mp3", "opus", "flac", "ac3", "eac3", "pcm", ... or the FourCC text
    sequence_header: bool
    sample_rate: int
    channels: int
    enhanced: bool
    sample_size: int = 0
    end_of_sequence: bool = False
    multitrack: bool = False
    packet_type: int = 1
    data_offset: int = 1


# VideoPacketType / AudioPacketType values as plain ints (enum lookups are slow per frame).
_V_SEQUENCE_START = 0
_V_CODED_FRAMES = 1
_V_SEQUENCE_END = 2
_V_METADATA = 4
_V_MPEG2TS_SEQUENCE_START = 5
_V_MULTITRACK = 6
_A_SEQUENCE_START = 0
_A_SEQUENCE_END = 2
_A_MULTITRACK = 5
_A_MODEX = 7
_CTS_FOURCCS = (FOURCC_AVC, FOURCC_HEVC)

_CACHE_LIMIT = 2048
_video_cache: dict[bytes, VideoInfo] = {}
_audio_cache: dict[bytes, AudioInfo] = {}


def classify_video(payload: Buffer) -> VideoInfo:
    """Classify a video message (FLV VIDEODATA); raises ProtocolError when malformed."""
    n = len(payload)
    if n == 0:
        raise ProtocolError("empty video message")
    b0 = payload[0]
    if b0 & EX_VIDEO_FLAG:
        packet_type = b0 & 0x0F
        if (b0 >> 4) & 0x07 == 5 or packet_type >= _V_MULTITRACK:
            return _ex_video_info(enhanced.parse_ex_video_header(payload))
        size = 5
        if packet_type == _V_CODED_FRAMES:
            fourcc = payload[1:5]
            if fourcc in _CTS_FOURCCS:
                size = 8
    elif b0 >> 4 == 5:
        size = 2
    elif (b0 & 0x0F) in (CODEC_ID_AVC, CODEC_ID_HEVC):
        size = 5
    else:
        size = 1
    if n < size:
        raise ProtocolError(f"video header truncated: need {size} bytes, got {n}")
    key = bytes(payload[:size])
    info = _video_cache.get(key)
    if info is None:
        info = _ex_video_info(enhanced.parse_ex_video_header(key)) if b0 & 0x80 else _video(key)
        if len(_video_cache) >= _CACHE_LIMIT:
            _video_cache.clear()
        _video_cache[key] = info
    return info


def _video(header: bytes) -> VideoInfo:
    b0 = header[0]
    frame_type = b0 >> 4
    codec_id = b0 & 0x0F
    codec = VIDEO_CODEC_NAMES.get(codec_id)
    if codec is None:
        raise ProtocolError(f"unknown video codec id {codec_id}")
    if frame_type == 5:
        return VideoInfo(codec, False, False, False, 0, False, True, False, False, 5, 1, 2)
    if not 1 <= frame_type <= 4:
        raise ProtocolError(f"reserved video frame type {frame_type}")
    keyframe = frame_type in (1, 4)
    if codec_id not in (CODEC_ID_AVC, CODEC_ID_HEVC):
        return VideoInfo(codec, keyframe, False, False, 0, False, False, False, False, frame_type)
    packet_type = header[1]
    if packet_type > 2:
        raise ProtocolError(f"unknown {codec} packet type {packet_type}")
    cts = 0
    if packet_type == 1:
        cts = int.from_bytes(header[2:5], "big", signed=True)
    return VideoInfo(
        codec,
        keyframe,
        packet_type == 0,
        packet_type == 2,
        cts,
        False,
        False,
        False,
        False,
        frame_type,
        packet_type,
        5,
    )


def _ex_video_info(h: enhanced.ExVideoHeader) -> VideoInfo:
    codec = enhanced.video_codec_name(h.fourcc) if h.fourcc else ""
    command = h.command >= 0
    metadata = h.packet_type == _V_METADATA and not command
    pt = h.packet_type
    return VideoInfo(
        codec,
        h.frame_type in (1, 4) and not command and not metadata,
        not command and (pt in (_V_SEQUENCE_START, _V_MPEG2TS_SEQUENCE_START)),
        not command and pt == _V_SEQUENCE_END,
        h.composition_time,
        True,
        command,
        h.multitrack_type >= 0,
        metadata,
        h.frame_type,
        pt,
        h.data_offset,
    )


def classify_audio(payload: Buffer) -> AudioInfo:
    """Classify an audio message (FLV AUDIODATA); raises ProtocolError when malformed."""
    n = len(payload)
    if n == 0:
        raise ProtocolError("empty audio message")
    b0 = payload[0]
    sound_format = b0 >> 4
    if sound_format == SOUND_FORMAT_EX_HEADER:
        packet_type = b0 & 0x0F
        if packet_type in (_A_MULTITRACK, _A_MODEX):
            return _ex_audio_info(enhanced.parse_ex_audio_header(payload))
        size = 5
    elif sound_format == SOUND_FORMAT_AAC:
        size = 2
    else:
        size = 1
    if n < size:
        raise ProtocolError(f"audio header truncated: need {size} bytes, got {n}")
    key = bytes(payload[:size])
    info = _audio_cache.get(key)
    if info is None:
        if sound_format == SOUND_FORMAT_EX_HEADER:
            info = _ex_audio_info(enhanced.parse_ex_audio_header(key))
        else:
            info = _audio(key)
        if len(_audio_cache) >= _CACHE_LIMIT:
            _audio_cache.clear()
        _audio_cache[key] = info
    return info


def _audio(header: bytes) -> AudioInfo:
    b0 = header[0]
    sound_format = b0 >> 4
    codec = AUDIO_CODEC_NAMES.get(sound_format)
    if codec is None:
        raise ProtocolError(f"reserved audio sound format {sound_format}")
    if sound_format == SOUND_FORMAT_AAC:
        packet_type = header[1]
        if packet_type > 1:
            raise ProtocolError(f"unknown AAC packet type {packet_type}")
        return AudioInfo(codec, packet_type == 0, 0, 0, False, 0, False, False, packet_type, 2)
    rate = _SOUND_RATES[(b0 >> 2) & 0x03]
    channels = 2 if b0 & 0x01 else 1
    fixed = _FIXED_RATE.get(sound_format)
    if fixed is not None:
        rate = fixed[0]
        channels = fixed[1] or channels
    sample_size = 16 if b0 & 0x02 else 8
    return AudioInfo(codec, False, rate, channels, False, sample_size, False, False, 1, 1)


def _ex_audio_info(h: enhanced.ExAudioHeader) -> AudioInfo:
    return AudioInfo(
        enhanced.audio_codec_name(h.fourcc),
        h.packet_type == _A_SEQUENCE_START,
        0,
        0,
        True,
        0,
        h.packet_type == _A_SEQUENCE_END,
        h.multitrack_type >= 0,
        h.packet_type,
        h.data_offset,
    )
