"""Script data (AMF0 data messages): @setDataFrame unwrapping and onMetaData detection.

A publisher sends `@setDataFrame, onMetaData, {...}`; players and FLV files must get
`onMetaData, {...}`. Both checks need only the leading AMF0 strings, read by hand here
(marker 0x02 + UI16 length) so the full AMF0 decoder never runs on a forwarded message.
"""

from livecast.rtmp.errors import ProtocolError

Buffer = bytes | bytearray | memoryview

SET_DATA_FRAME = "@setDataFrame"
CLEAR_DATA_FRAME = "@clearDataFrame"
ON_METADATA = "onMetaData"

_AMF0_STRING = 0x02
_SET_DATA_FRAME = SET_DATA_FRAME.encode()
_ON_METADATA = ON_METADATA.encode()


def _string_at(payload: Buffer, pos: int) -> tuple[bytes, int] | None:
    """The AMF0 short string at pos and the offset after it, or None if there is none."""
    if pos + 3 > len(payload) or payload[pos] != _AMF0_STRING:
        return None
    end = pos + 3 + ((payload[pos + 1] << 8) | payload[pos + 2])
    if end > len(payload):
        return None
    return bytes(payload[pos + 3 : end]), end


def first_string(payload: Buffer) -> str | None:
    """The first AMF0 value if it is a string (the data handler name), else None."""
    found = _string_at(payload, 0)
    if found is None:
        return None
    return found[0].decode("utf-8", "replace")


def strip_set_data_frame(payload: Buffer) -> bytes | None:
    """`@setDataFrame, name, ...` -> `name, ...`; None when the message is not @setDataFrame.

    Raises ProtocolError when @setDataFrame is not followed by a handler name string.
    """
    found = _string_at(payload, 0)
    if found is None or found[0] != _SET_DATA_FRAME:
        return None
    rest = found[1]
    if _string_at(payload, rest) is None:
        raise ProtocolError("@setDataFrame is not followed by a data handler name")
    return bytes(payload[rest:])


def is_metadata(payload: Buffer) -> bool:
    """True for `onMetaData, ...` and for `@setDataFrame, onMetaData, ...`."""
    found = _string_at(payload, 0)
    if found is None:
        return False
    name, rest = found
    if name == _SET_DATA_FRAME:
        following = _string_at(payload, rest)
        return following is not None and following[0] == _ON_METADATA
    return name == _ON_METADATA
