"""@setDataFrame unwrapping and onMetaData detection on hand-written AMF0."""

import pytest

from livecast.media.script import first_string, is_metadata, strip_set_data_frame
from livecast.rtmp.errors import ProtocolError

SET_DATA_FRAME = b"\x02\x00\x0d@setDataFrame"
ON_METADATA = b"\x02\x00\x0aonMetaData"
# ECMA array with one entry: "width" -> 640.0, then the object end marker
ECMA = b"\x08\x00\x00\x00\x01\x00\x05width\x00\x40\x84\x00\x00\x00\x00\x00\x00\x00\x00\x09"


def test_strip_set_data_frame() -> None:
    assert strip_set_data_frame(SET_DATA_FRAME + ON_METADATA + ECMA) == ON_METADATA + ECMA
    assert strip_set_data_frame(memoryview(SET_DATA_FRAME + ON_METADATA)) == ON_METADATA


def test_strip_leaves_other_messages_alone() -> None:
    assert strip_set_data_frame(ON_METADATA + ECMA) is None
    assert strip_set_data_frame(b"\x02\x00\x0f@clearDataFrame") is None
    assert strip_set_data_frame(b"") is None
    assert strip_set_data_frame(b"\x00\x40\x00") is None  # a number first
    assert strip_set_data_frame(b"\x02\x00\x0d@setData") is None  # string cut short


def test_strip_refuses_set_data_frame_without_a_name() -> None:
    with pytest.raises(ProtocolError):
        strip_set_data_frame(SET_DATA_FRAME)
    with pytest.raises(ProtocolError):
        strip_set_data_frame(SET_DATA_FRAME + ECMA)


def test_is_metadata() -> None:
    assert is_metadata(ON_METADATA + ECMA)
    assert is_metadata(SET_DATA_FRAME + ON_METADATA + ECMA)
    assert not is_metadata(SET_DATA_FRAME + b"\x02\x00\x0aonCuePoint" + ECMA)
    assert not is_metadata(b"\x02\x00\x0aonCuePoint" + ECMA)
    assert not is_metadata(SET_DATA_FRAME)
    assert not is_metadata(b"")
    assert not is_metadata(b"\x02\x00\x0aonMeta")


def test_first_string() -> None:
    assert first_string(ON_METADATA + ECMA) == "onMetaData"
    assert first_string(ECMA) is None


def test_agrees_with_the_amf0_codec() -> None:
    amf0 = pytest.importorskip("livecast.rtmp.amf0")
    payload = amf0.encode("@setDataFrame", "onMetaData", {"width": 640.0})
    stripped = strip_set_data_frame(payload)
    assert stripped is not None
    assert amf0.decode(stripped)[0] == "onMetaData"
    assert amf0.decode(stripped)[1]["width"] == 640.0
