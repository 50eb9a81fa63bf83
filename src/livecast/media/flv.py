"""FLV container (Adobe FLV spec v10.1, Annex E): header, tag encoding, incremental reader.

HTTP-FLV, WebSocket-FLV and FLV recording all write the same bytes: one file header, then
per media message an 11-byte tag header, the RTMP message payload unchanged, and the
4-byte PreviousTagSize back-pointer.
"""

import struct
from dataclasses import dataclass

from livecast.rtmp.errors import ProtocolError

Buffer = bytes | bytearray | memoryview

AUDIO = 8
VIDEO = 9
SCRIPT = 18
TAG_TYPES = frozenset((AUDIO, VIDEO, SCRIPT))

HEADER_SIZE = 9
TAG_HEADER_SIZE = 11
MAX_DATA_SIZE = 0xFFFFFF  # DataSize is a UI24
DEFAULT_MAX_TAG_SIZE = 16 * 1024 * 1024  # reader cap; lower it to bound memory harder
MAX_HEADER_SIZE = 1024  # DataOffset above this is garbage, not a future FLV version

_FLAG_AUDIO = 0x04
_FLAG_VIDEO = 0x01
_FILTER_BIT = 0x20

_FILE_HEADER = struct.Struct(">3sBBII")  # signature, version, flags, DataOffset, PTS0
_HEADER = struct.Struct(">3sBBI")
_TAG_HEADER = struct.Struct(">II3x")  # type<<24|size, ts24<<8|ts_ext, StreamID 0
_U32 = struct.Struct(">I")


def file_header(has_audio: bool, has_video: bool) -> bytes:
    """The 9-byte FLV header followed by PreviousTagSize0 (0): 13 bytes."""
    flags = (_FLAG_AUDIO if has_audio else 0) | (_FLAG_VIDEO if has_video else 0)
    return _FILE_HEADER.pack(b"FLV", 1, flags, HEADER_SIZE, 0)


def encode_tag(tag_type: int, timestamp: int, payload: Buffer) -> bytes:
    """One FLV tag plus its PreviousTagSize, built with a single join.

    timestamp is in milliseconds; it is taken modulo 2**32, like RTMP timestamps, and its
    upper 8 bits go to TimestampExtended.
    """
    size = len(payload)
    if size > MAX_DATA_SIZE:
        raise ValueError(f"FLV tag payload of {size} bytes exceeds the UI24 DataSize")
    if not 0 <= tag_type <= 0x1F:
        raise ValueError(f"FLV tag type {tag_type} does not fit in 5 bits")
    ts = timestamp & 0xFFFFFFFF
    head = _TAG_HEADER.pack((tag_type << 24) | size, ((ts & 0xFFFFFF) << 8) | (ts >> 24))
    return b"".join((head, payload, _U32.pack(size + TAG_HEADER_SIZE)))


@dataclass(frozen=True, slots=True)
class FlvHeader:
    version: int
    has_audio: bool
    has_video: bool


@dataclass(frozen=True, slots=True)
class FlvTag:
    tag_type: int
    timestamp: int  # milliseconds, TimestampExtended applied
    payload: bytes


_STATE_HEADER = 0
_STATE_TAGS = 1


class FlvReader:
    """Sans-I/O incremental FLV parser: feed bytes, get the complete tags they finish.

    Memory is bounded by max_tag_size plus one tag header: a tag that claims more is refused
    as soon as its header arrives. check_previous_tag_size makes a wrong back-pointer an
    error (off by default: some writers get it wrong and players ignore it).
    """

    def __init__(
        self,
        *,
        expect_header: bool = True,
        max_tag_size: int = DEFAULT_MAX_TAG_SIZE,
        check_previous_tag_size: bool = False,
    ) -> None:
        self._buf = bytearray()
        self._state = _STATE_HEADER if expect_header else _STATE_TAGS
        self._max_tag_size = max_tag_size
        self._check_pts = check_previous_tag_size
        self.header: FlvHeader | None = None

    @property
    def buffered(self) -> int:
        """Bytes received but not yet part of a complete tag."""
        return len(self._buf)

    def feed(self, data: Buffer) -> list[FlvTag]:
        buf = self._buf
        buf += data
        n = len(buf)
        pos = 0
        tags: list[FlvTag] = []
        if self._state == _STATE_HEADER:
            pos = self._parse_header(buf, n)
            if pos == 0:
                return tags
        with memoryview(buf) as view:
            pos = self._parse_tags(view, pos, n, tags)
        if pos:
            del buf[:pos]
        return tags

    def _parse_tags(self, view: memoryview, pos: int, n: int, tags: list[FlvTag]) -> int:
        check_pts = self._check_pts
        max_size = self._max_tag_size
        while n - pos >= TAG_HEADER_SIZE:
            word, stamp = _TAG_HEADER.unpack_from(view, pos)
            flags = word >> 24
            size = word & 0xFFFFFF
            if flags & _FILTER_BIT:
                raise ProtocolError("encrypted FLV tag (Filter bit set) is not supported")
            tag_type = flags & 0x1F
            if tag_type not in TAG_TYPES:
                raise ProtocolError(f"unknown FLV tag type {tag_type}")
            if size > max_size:
                raise ProtocolError(f"FLV tag of {size} bytes exceeds the {max_size}-byte cap")
            end = pos + TAG_HEADER_SIZE + size
            if n < end + 4:
                break
            if check_pts:
                (previous,) = _U32.unpack_from(view, end)
                if previous != size + TAG_HEADER_SIZE:
                    raise ProtocolError(
                        f"FLV PreviousTagSize is {previous}, expected {size + TAG_HEADER_SIZE}"
                    )
            timestamp = (stamp >> 8) | ((stamp & 0xFF) << 24)
            tags.append(FlvTag(tag_type, timestamp, bytes(view[pos + TAG_HEADER_SIZE : end])))
            pos = end + 4
        return pos

    def _parse_header(self, buf: bytearray, n: int) -> int:
        """Parse the file header and PreviousTagSize0; 0 while incomplete, else bytes used."""
        if not b"FLV".startswith(buf[:3]):
            raise ProtocolError("not an FLV stream: bad signature")
        if n < HEADER_SIZE:
            return 0
        version: int
        flags: int
        offset: int
        _, version, flags, offset = _HEADER.unpack_from(buf, 0)
        if version != 1:
            raise ProtocolError(f"unsupported FLV version {version}")
        if not HEADER_SIZE <= offset <= MAX_HEADER_SIZE:
            raise ProtocolError(f"bad FLV DataOffset {offset}")
        if n < offset + 4:
            return 0
        if self._check_pts:
            (previous,) = _U32.unpack_from(buf, offset)
            if previous != 0:
                raise ProtocolError(f"FLV PreviousTagSize0 is {previous}, expected 0")
        self.header = FlvHeader(version, bool(flags & _FLAG_AUDIO), bool(flags & _FLAG_VIDEO))
        self._state = _STATE_TAGS
        return offset + 4


def read_file_tags(data: Buffer) -> list[FlvTag]:
    """Every tag of a complete FLV file in memory; ProtocolError if malformed or truncated."""
    reader = FlvReader()
    tags = reader.feed(data)
    if reader.header is None:
        raise ProtocolError("truncated FLV: incomplete file header")
    if reader.buffered:
        raise ProtocolError(f"truncated FLV: {reader.buffered} bytes of an incomplete tag")
    return tags
