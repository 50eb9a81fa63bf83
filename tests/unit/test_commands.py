"""RTMP commands and data messages as typed objects.

Every vector is written by hand from the AMF0 specification (Adobe, December 2007) and the
RTMP 1.0 specification, section 7 (command and data messages); AMF3-switched values from
the AMF3 specification (January 2013). Each one must decode to the expected typed object,
and the typed object must encode back to the same bytes.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
from collections.abc import Callable
from typing import Protocol, cast

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from livecast.rtmp import amf0
from livecast.rtmp import commands as cmds
from livecast.rtmp.amf_types import AMF3Value, ECMAArray
from livecast.rtmp.errors import ProtocolError


def h(text: str) -> bytes:
    """Hex with spaces and '|' as field separators, for readable vectors."""
    return bytes.fromhex(text.replace("|", " "))


# AMF0 values used below (marker byte, then the big-endian IEEE 754 double).
N0 = h("00 0000000000000000")  # 0.0
N1 = h("00 3ff0000000000000")  # 1.0
N2 = h("00 4000000000000000")  # 2.0
N3 = h("00 4008000000000000")  # 3.0
N4 = h("00 4010000000000000")  # 4.0
N5 = h("00 4014000000000000")  # 5.0
N6 = h("00 4018000000000000")  # 6.0
N_MINUS_1 = h("00 bff0000000000000")  # -1.0
N_MINUS_2 = h("00 c000000000000000")  # -2.0
N_MINUS_2000 = h("00 c09f400000000000")  # -2000.0
N_1500 = h("00 4097700000000000")  # 1500.0
N_8192 = h("00 40c0000000000000")  # 8192.0
N_31 = h("00 403f000000000000")  # 31.0
NULL = h("05")
TRUE = h("01 01")
FALSE = h("01 00")
OBJ = h("03")
END = h("00 00 09")  # empty member name + object-end marker
CAM = b"\x02\x00\x03cam"

# -- the vectors -------------------------------------------------------------------------
# Each is a tuple of top-level AMF0 values, so truncation tests know where values end.

Vector = tuple[bytes, ...]

CONNECT_FLASH: Vector = (
    # Flash Player's NetConnection.connect with objectEncoding 3 (AS3), and one extra
    # argument after the command object (librtmp's "conn=S:token").
    b"\x02\x00\x07connect",
    N1,
    OBJ
    + b"\x00\x03app\x02\x00\x04live"
    + b"\x00\x08flashVer\x02\x00\x0cWIN 32,0,0,0"
    + b"\x00\x06swfUrl\x05"
    + b"\x00\x05tcUrl\x02\x00\x15rtmp://localhost/live"
    + b"\x00\x04fpad"
    + FALSE
    + b"\x00\x0ccapabilities"
    + h("00 406de00000000000")  # 239.0
    + b"\x00\x0baudioCodecs"
    + h("00 40afce0000000000")  # 4071.0
    + b"\x00\x0bvideoCodecs"
    + h("00 406f800000000000")  # 252.0
    + b"\x00\x0dvideoFunction"
    + N1
    + b"\x00\x07pageUrl\x05"
    + b"\x00\x0eobjectEncoding"
    + N3
    + END,
    b"\x02\x00\x05token",
)
CONNECT_FLASH_PROPS: dict[str, object] = {
    "app": "live",
    "flashVer": "WIN 32,0,0,0",
    "swfUrl": None,
    "tcUrl": "rtmp://localhost/live",
    "fpad": False,
    "capabilities": 239.0,
    "audioCodecs": 4071.0,
    "videoCodecs": 252.0,
    "videoFunction": 1.0,
    "pageUrl": None,
    "objectEncoding": 3.0,
}

CONNECT_SHORT: Vector = (
    b"\x02\x00\x07connect",
    N1,
    OBJ
    + b"\x00\x03app\x02\x00\x04live"
    + b"\x00\x05tcUrl\x02\x00\x15rtmp://localhost/live"
    + b"\x00\x0eobjectEncoding"
    + N0
    + END,
)

CONNECT_RESULT: Vector = (
    b"\x02\x00\x07_result",
    N1,
    OBJ
    + b"\x00\x06fmsVer\x02\x00\x0dFMS/3,0,1,123"
    + b"\x00\x0ccapabilities"
    + N_31
    + b"\x00\x04mode"
    + N1
    + END,
    OBJ
    + b"\x00\x05level\x02\x00\x06status"
    + b"\x00\x04code\x02\x00\x1dNetConnection.Connect.Success"
    + b"\x00\x0bdescription\x02\x00\x15Connection succeeded."
    + b"\x00\x0eobjectEncoding"
    + N3
    + b"\x00\x04data"
    + h("08 00000001")  # ECMA array, 1 member
    + b"\x00\x07version\x02\x00\x093,5,3,888"
    + END
    + END,
)
CONNECT_RESULT_INFO: dict[str, object] = {
    "level": "status",
    "code": "NetConnection.Connect.Success",
    "description": "Connection succeeded.",
    "objectEncoding": 3.0,
    "data": ECMAArray({"version": "3,5,3,888"}),
}

CALL_FAILED: Vector = (
    b"\x02\x00\x06_error",
    N5,
    NULL,
    OBJ
    + b"\x00\x05level\x02\x00\x05error"
    + b"\x00\x04code\x02\x00\x19NetConnection.Call.Failed"
    + b"\x00\x0bdescription\x02\x00\x1eMethod not found (noSuchCall)."
    + END,
)

CREATE_STREAM: Vector = (b"\x02\x00\x0ccreateStream", N2, NULL)
CREATE_STREAM_RESULT: Vector = (b"\x02\x00\x07_result", N2, NULL, N1)
RELEASE_STREAM: Vector = (b"\x02\x00\x0dreleaseStream", N2, NULL, CAM)
FC_PUBLISH: Vector = (b"\x02\x00\x09FCPublish", N3, NULL, CAM)
FC_UNPUBLISH: Vector = (b"\x02\x00\x0bFCUnpublish", N6, NULL, CAM)
GET_STREAM_LENGTH: Vector = (b"\x02\x00\x0fgetStreamLength", N3, NULL, CAM)
PUBLISH_LIVE: Vector = (b"\x02\x00\x07publish", N5, NULL, CAM, b"\x02\x00\x04live")
PUBLISH_RECORD: Vector = (b"\x02\x00\x07publish", N0, NULL, CAM, b"\x02\x00\x06record")
PUBLISH_APPEND: Vector = (b"\x02\x00\x07publish", N0, NULL, CAM, b"\x02\x00\x06append")
PLAY: Vector = (b"\x02\x00\x04play", N4, NULL, CAM, N_MINUS_2000, N_MINUS_1, TRUE)
PLAY_NO_RESET: Vector = (b"\x02\x00\x04play", N0, NULL, CAM, N_MINUS_1, N0, FALSE)
PLAY2: Vector = (
    b"\x02\x00\x05play2",
    N0,
    NULL,
    OBJ
    + b"\x00\x0astreamName\x02\x00\x06cam_hd"
    + b"\x00\x0doldStreamName\x02\x00\x06cam_sd"
    + b"\x00\x05start"
    + N_MINUS_2
    + b"\x00\x03len"
    + N_MINUS_1
    + b"\x00\x0atransition\x02\x00\x06switch"
    + b"\x00\x06offset"
    + N0
    + END,
)
DELETE_STREAM: Vector = (b"\x02\x00\x0cdeleteStream", N0, NULL, N1)
CLOSE_STREAM: Vector = (b"\x02\x00\x0bcloseStream", N0, NULL)
RECEIVE_AUDIO: Vector = (b"\x02\x00\x0creceiveAudio", N0, NULL, FALSE)
RECEIVE_VIDEO: Vector = (b"\x02\x00\x0creceiveVideo", N0, NULL, TRUE)
PAUSE: Vector = (b"\x02\x00\x05pause", N0, NULL, TRUE, N_1500)
ON_STATUS: Vector = (
    b"\x02\x00\x08onStatus",
    N0,
    NULL,
    OBJ
    + b"\x00\x05level\x02\x00\x06status"
    + b"\x00\x04code\x02\x00\x17NetStream.Publish.Start"
    + b"\x00\x0bdescription\x02\x00\x15cam is now published."
    + END,
)
ON_STATUS_EXTRA: Vector = (
    # as FMS sends it, with details and clientid after the three standard members
    b"\x02\x00\x08onStatus",
    N0,
    NULL,
    OBJ
    + b"\x00\x05level\x02\x00\x06status"
    + b"\x00\x04code\x02\x00\x14NetStream.Play.Reset"
    + b"\x00\x0bdescription\x02\x00\x1aPlaying and resetting cam."
    + b"\x00\x07details\x02\x00\x03cam"
    + b"\x00\x08clientid\x02\x00\x03abc"
    + END,
)
ON_BW_DONE: Vector = (b"\x02\x00\x08onBWDone", N0, NULL, N_8192)
CHECK_BW: Vector = (b"\x02\x00\x08_checkbw", N5, NULL)

# (vector, expected typed object); the typed object must encode back to the vector.
COMMAND_VECTORS: dict[str, tuple[Vector, object]] = {
    "connect-flash": (
        CONNECT_FLASH,
        cmds.Connect(
            1.0, "live", "rtmp://localhost/live", 3, 239.0, CONNECT_FLASH_PROPS, ("token",)
        ),
    ),
    "connect-short": (
        CONNECT_SHORT,
        cmds.Connect(
            1.0,
            "live",
            "rtmp://localhost/live",
            0,
            None,
            {"app": "live", "tcUrl": "rtmp://localhost/live", "objectEncoding": 0.0},
        ),
    ),
    "connect-_result": (
        CONNECT_RESULT,
        cmds.Result(
            True,
            1.0,
            {"fmsVer": "FMS/3,0,1,123", "capabilities": 31.0, "mode": 1.0},
            (CONNECT_RESULT_INFO,),
        ),
    ),
    "_error": (
        CALL_FAILED,
        cmds.Result(
            False,
            5.0,
            None,
            (
                {
                    "level": "error",
                    "code": "NetConnection.Call.Failed",
                    "description": "Method not found (noSuchCall).",
                },
            ),
        ),
    ),
    "createStream": (CREATE_STREAM, cmds.CreateStream(2.0)),
    "createStream-_result": (CREATE_STREAM_RESULT, cmds.Result(True, 2.0, None, (1.0,))),
    "releaseStream": (RELEASE_STREAM, cmds.StreamNameCommand("releaseStream", 2.0, "cam")),
    "FCPublish": (FC_PUBLISH, cmds.StreamNameCommand("FCPublish", 3.0, "cam")),
    "FCUnpublish": (FC_UNPUBLISH, cmds.StreamNameCommand("FCUnpublish", 6.0, "cam")),
    "getStreamLength": (
        GET_STREAM_LENGTH,
        cmds.StreamNameCommand("getStreamLength", 3.0, "cam"),
    ),
    "publish-live": (PUBLISH_LIVE, cmds.Publish(5.0, "cam", "live")),
    "publish-record": (PUBLISH_RECORD, cmds.Publish(0.0, "cam", "record")),
    "publish-append": (PUBLISH_APPEND, cmds.Publish(0.0, "cam", "append")),
    "play": (PLAY, cmds.Play(4.0, "cam", -2000.0, -1.0, True)),
    "play-no-reset": (PLAY_NO_RESET, cmds.Play(0.0, "cam", -1.0, 0.0, False)),
    "play2": (
        PLAY2,
        cmds.Play2(
            0.0,
            {
                "streamName": "cam_hd",
                "oldStreamName": "cam_sd",
                "start": -2.0,
                "len": -1.0,
                "transition": "switch",
                "offset": 0.0,
            },
        ),
    ),
    "deleteStream": (DELETE_STREAM, cmds.DeleteStreamCommand(0.0, 1)),
    "closeStream": (CLOSE_STREAM, cmds.Command("closeStream", 0.0, None)),
    "receiveAudio": (RECEIVE_AUDIO, cmds.ReceiveFlag("receiveAudio", 0.0, False)),
    "receiveVideo": (RECEIVE_VIDEO, cmds.ReceiveFlag("receiveVideo", 0.0, True)),
    "pause": (PAUSE, cmds.PauseCommand(0.0, True, 1500.0)),
    "onStatus": (
        ON_STATUS,
        cmds.OnStatus("status", "NetStream.Publish.Start", "cam is now published."),
    ),
    "onStatus-extra": (
        ON_STATUS_EXTRA,
        cmds.OnStatus(
            "status",
            "NetStream.Play.Reset",
            "Playing and resetting cam.",
            {"details": "cam", "clientid": "abc"},
        ),
    ),
    "onBWDone": (ON_BW_DONE, cmds.Command("onBWDone", 0.0, None, (8192.0,))),
    "_checkbw": (CHECK_BW, cmds.Command("_checkbw", 5.0, None)),
}

_PARSERS: dict[str, Callable[[cmds.Command], object]] = {
    "connect": cmds.Connect.from_command,
    "createStream": cmds.CreateStream.from_command,
    "releaseStream": cmds.StreamNameCommand.from_command,
    "FCPublish": cmds.StreamNameCommand.from_command,
    "FCUnpublish": cmds.StreamNameCommand.from_command,
    "getStreamLength": cmds.StreamNameCommand.from_command,
    "publish": cmds.Publish.from_command,
    "play": cmds.Play.from_command,
    "play2": cmds.Play2.from_command,
    "deleteStream": cmds.DeleteStreamCommand.from_command,
    "receiveAudio": cmds.ReceiveFlag.from_command,
    "receiveVideo": cmds.ReceiveFlag.from_command,
    "pause": cmds.PauseCommand.from_command,
    "onStatus": cmds.OnStatus.from_command,
    "_result": cmds.Result.from_command,
    "_error": cmds.Result.from_command,
}


def parse(payload: bytes, *, amf3: bool = False) -> object:
    """What a session does with a command payload: decode it, then read the typed form."""
    cmd = cmds.decode_command(payload, amf3=amf3)
    parser = _PARSERS.get(cmd.name)
    return parser(cmd) if parser is not None else cmd


class _Encodable(Protocol):
    def encode(self) -> bytes: ...


def encode(obj: object) -> bytes:
    """Every typed command has ``encode``."""
    return cast(_Encodable, obj).encode()


@pytest.mark.parametrize("key", list(COMMAND_VECTORS))
def test_command_vector_decodes_and_encodes(key: str) -> None:
    parts, expected = COMMAND_VECTORS[key]
    wire = b"".join(parts)
    got = parse(wire)
    assert got == expected
    assert encode(expected) == wire
    assert encode(got) == wire


@pytest.mark.parametrize("key", list(COMMAND_VECTORS))
def test_command_vector_as_amf3_message_type_17(key: str) -> None:
    """Type 17 carries a format byte 0x00 and then the same AMF0 sequence."""
    parts, expected = COMMAND_VECTORS[key]
    wire = b"\x00" + b"".join(parts)
    assert parse(wire, amf3=True) == expected
    assert b"\x00" + encode(expected) == wire


def test_connect_result_and_helpers_are_the_vectors() -> None:
    assert cmds.connect_result(1.0, 3).encode() == b"".join(CONNECT_RESULT)
    assert cmds.call_failed(5.0, "Method not found (noSuchCall).").encode() == b"".join(CALL_FAILED)
    assert cmds.on_bw_done().encode() == b"".join(ON_BW_DONE)
    decoded = parse(b"".join(CONNECT_RESULT))
    assert isinstance(decoded, cmds.Result)
    info = decoded.values[0]
    assert isinstance(info, dict) and isinstance(info["data"], ECMAArray)


def test_connect_typed_fields() -> None:
    c = parse(b"".join(CONNECT_FLASH))
    assert isinstance(c, cmds.Connect)
    assert (c.app, c.tc_url, c.object_encoding, c.capabilities) == (
        "live",
        "rtmp://localhost/live",
        3,
        239.0,
    )
    assert c.extra == ("token",)


# Real encoders' connects, in their key order (decoded; see the round-trip notes below).
CONNECT_OBS = (
    b"\x02\x00\x07connect"
    + N1
    + OBJ
    + b"\x00\x03app\x02\x00\x04live"
    + b"\x00\x04type\x02\x00\x0anonprivate"
    + b"\x00\x08flashVer\x02\x00\x1fFMLE/3.0 (compatible; FMSc/1.0)"
    + b"\x00\x06swfUrl\x02\x00\x15rtmp://localhost/live"
    + b"\x00\x05tcUrl\x02\x00\x15rtmp://localhost/live"
    + b"\x00\x0esupportsGoAway"
    + TRUE
    + END
)


def test_connect_without_object_encoding_or_capabilities_means_amf0() -> None:
    c = parse(CONNECT_OBS)
    assert c == cmds.Connect(
        1.0,
        "live",
        "rtmp://localhost/live",
        0,
        None,
        {
            "app": "live",
            "type": "nonprivate",
            "flashVer": "FMLE/3.0 (compatible; FMSc/1.0)",
            "swfUrl": "rtmp://localhost/live",
            "tcUrl": "rtmp://localhost/live",
            "supportsGoAway": True,
        },
    )
    # Encoding adds the objectEncoding the encoder left out (0, what its absence means)
    # and keeps every key that was sent where it was.
    assert isinstance(c, cmds.Connect)
    assert c.encode() == CONNECT_OBS[:-3] + b"\x00\x0eobjectEncoding" + N0 + END


def test_connect_typed_fields_win_over_properties() -> None:
    """A connect re-targeted with dataclasses.replace must send the new app and tcUrl."""
    c = parse(b"".join(CONNECT_FLASH))
    assert isinstance(c, cmds.Connect)
    moved = dataclasses.replace(
        c, app="other", tc_url="rtmp://h/other", object_encoding=0, capabilities=15.0
    )
    values = amf0.decode(moved.encode())
    props = values[2]
    assert isinstance(props, dict)
    assert props["app"] == "other" and props["tcUrl"] == "rtmp://h/other"
    assert props["objectEncoding"] == 0.0 and props["capabilities"] == 15.0
    assert list(props) == list(CONNECT_FLASH_PROPS)  # same keys, same order


def test_client_style_connect_puts_app_and_tc_url_first() -> None:
    c = cmds.Connect(1.0, "live", "rtmp://localhost/live", properties={})
    assert c.encode() == b"".join(CONNECT_SHORT)


def test_defaults_of_optional_arguments() -> None:
    # ffmpeg's play: name and start only
    ffmpeg_play = b"\x02\x00\x04play" + N4 + NULL + CAM + N_MINUS_2000
    assert parse(ffmpeg_play) == cmds.Play(4.0, "cam", -2000.0, -1.0, True)
    # null/undefined arguments take the default too
    assert parse(b"\x02\x00\x04play" + N0 + NULL + CAM + NULL + h("06") + NULL) == cmds.Play(
        0.0, "cam"
    )
    # publish without a type (some clients) is live
    assert parse(b"\x02\x00\x07publish" + N0 + NULL + CAM) == cmds.Publish(0.0, "cam", "live")
    assert parse(b"\x02\x00\x07publish" + N0 + NULL + CAM + NULL) == cmds.Publish(0.0, "cam")
    # play's reset may be a number (RTMP 1.0, 7.2.2.1)
    assert parse(b"\x02\x00\x04play" + N0 + NULL + CAM + N_MINUS_2 + N_MINUS_1 + N0) == (
        cmds.Play(0.0, "cam", -2.0, -1.0, False)
    )
    # releaseStream with no name, receiveVideo with no flag
    assert parse(b"\x02\x00\x0dreleaseStream" + N2 + NULL) == cmds.StreamNameCommand(
        "releaseStream", 2.0, ""
    )
    assert parse(b"\x02\x00\x0creceiveVideo" + N0 + NULL) == cmds.ReceiveFlag(
        "receiveVideo", 0.0, True
    )
    # a command with no command object at all
    assert cmds.decode_command(b"\x02\x00\x0bcloseStream" + N0) == cmds.Command(
        "closeStream", 0.0, None
    )


def test_play2_stream_name() -> None:
    p = parse(b"".join(PLAY2))
    assert isinstance(p, cmds.Play2) and p.stream_name == "cam_hd"
    assert cmds.Play2(0.0, {"streamName": 5.0}).stream_name == ""


def test_split_query() -> None:
    assert cmds.split_query("cam?key=abc&x=1") == ("cam", "key=abc&x=1")
    assert cmds.split_query("cam") == ("cam", "")
    assert cmds.split_query("a?b?c") == ("a", "b?c")


# -- AMF3 command (17) with AMF3-switched values -----------------------------------------

AMF3_PUBLISH = (
    h("00")  # format byte
    + b"\x02\x00\x07publish"
    + N5
    + NULL
    + h("11 06 07")  # switch to AMF3, string, U29 (3 << 1 | 1)
    + b"cam"
    + h("11 06 09")
    + b"live"
)
AMF3_PLAY = (
    h("00")
    + b"\x02\x00\x04play"
    + N0
    + NULL
    + h("11 06 07")
    + b"cam"
    + h("11 05 c09f400000000000")  # AMF3 double -2000
    + h("11 04 ff ff ff ff")  # AMF3 integer -1 (29-bit two's complement)
    + h("11 03")  # AMF3 true
)
AMF3_CONNECT = (
    h("00")
    + b"\x02\x00\x07connect"
    + N1
    + h("11 0a 0b 01")  # AMF3 object, dynamic anonymous traits, class ""
    + h("07")
    + b"app"
    + h("06 09")
    + b"live"
    + h("0b")
    + b"tcUrl"
    + h("06 2b")  # 21 << 1 | 1
    + b"rtmp://localhost/live"
    + h("1d")  # 14 << 1 | 1
    + b"objectEncoding"
    + h("04 03")  # AMF3 integer 3
    + h("01")  # end of dynamic members
)


def test_amf3_command_with_switched_values() -> None:
    assert parse(AMF3_PUBLISH, amf3=True) == cmds.Publish(5.0, "cam", "live")
    assert parse(AMF3_PLAY, amf3=True) == cmds.Play(0.0, "cam", -2000.0, -1.0, True)
    c = parse(AMF3_CONNECT, amf3=True)
    assert isinstance(c, cmds.Connect)
    assert (c.app, c.tc_url, c.object_encoding) == ("live", "rtmp://localhost/live", 3)


def test_amf3_command_without_format_byte_is_read_as_amf0() -> None:
    assert parse(b"".join(CREATE_STREAM), amf3=True) == cmds.CreateStream(2.0)


# -- data messages (18 and 15) ----------------------------------------------------------

SET_DATA_FRAME = (
    b"\x02\x00\x0d@setDataFrame"
    + b"\x02\x00\x0aonMetaData"
    + h("08 00000006")  # ECMA array, 6 members
    + b"\x00\x08duration"
    + N0
    + b"\x00\x05width"
    + h("00 4094000000000000")  # 1280.0
    + b"\x00\x06height"
    + h("00 4086800000000000")  # 720.0
    + b"\x00\x0cvideocodecid"
    + h("00 401c000000000000")  # 7.0
    + b"\x00\x0caudiocodecid"
    + h("00 4024000000000000")  # 10.0
    + b"\x00\x07encoder\x02\x00\x11obs-output module"
    + END
)
METADATA = ECMAArray(
    {
        "duration": 0.0,
        "width": 1280.0,
        "height": 720.0,
        "videocodecid": 7.0,
        "audiocodecid": 10.0,
        "encoder": "obs-output module",
    }
)
ON_METADATA = (
    b"\x02\x00\x0aonMetaData"
    + h("08 00000002")
    + b"\x00\x05width"
    + h("00 4094000000000000")
    + b"\x00\x06height"
    + h("00 4086800000000000")
    + END
)
ON_TEXT_DATA = (
    b"\x02\x00\x0aonTextData"
    + OBJ
    + b"\x00\x04text\x02\x00\x05hello"
    + b"\x00\x08language\x02\x00\x03eng"
    + END
)
ON_CUE_POINT = (
    b"\x02\x00\x0aonCuePoint"
    + OBJ
    + b"\x00\x04name\x02\x00\x08ad-break"
    + b"\x00\x04time"
    + h("00 4029000000000000")  # 12.5
    + b"\x00\x04type\x02\x00\x05event"
    + b"\x00\x0aparameters"
    + OBJ
    + b"\x00\x04slot\x02\x00\x03pre"
    + END
    + END
)
SAMPLE_ACCESS = b"\x02\x00\x11|RtmpSampleAccess" + TRUE + TRUE
DATA_START = b"\x02\x00\x08onStatus" + OBJ + b"\x00\x04code\x02\x00\x14NetStream.Data.Start" + END

DATA_VECTORS: dict[str, tuple[bytes, list[object]]] = {
    "@setDataFrame": (SET_DATA_FRAME, ["@setDataFrame", "onMetaData", METADATA]),
    "onMetaData": (ON_METADATA, ["onMetaData", ECMAArray({"width": 1280.0, "height": 720.0})]),
    "onTextData": (ON_TEXT_DATA, ["onTextData", {"text": "hello", "language": "eng"}]),
    "onCuePoint": (
        ON_CUE_POINT,
        [
            "onCuePoint",
            {"name": "ad-break", "time": 12.5, "type": "event", "parameters": {"slot": "pre"}},
        ],
    ),
    "|RtmpSampleAccess": (SAMPLE_ACCESS, ["|RtmpSampleAccess", True, True]),
    "Data.Start": (DATA_START, ["onStatus", {"code": "NetStream.Data.Start"}]),
}


def _same_types(a: object, b: object) -> bool:
    """Equal and of the same AMF type all the way down (an ECMA array is not an object)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict) and isinstance(b, dict):
        return list(a) == list(b) and all(_same_types(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same_types(x, y) for x, y in zip(a, b, strict=True))
    return a == b


@pytest.mark.parametrize("key", list(DATA_VECTORS))
def test_data_vector_decodes_and_encodes(key: str) -> None:
    wire, values = DATA_VECTORS[key]
    assert _same_types(cmds.decode_data(wire), values)
    handler, *rest = values
    assert isinstance(handler, str)
    assert cmds.encode_data(handler, *rest) == wire
    # type 15: a format byte, then the same AMF0
    assert _same_types(cmds.decode_data(b"\x00" + wire, amf3=True), values)


def test_sample_access_and_data_start_are_the_vectors() -> None:
    assert cmds.sample_access() == SAMPLE_ACCESS
    assert cmds.data_start() == DATA_START


AMF3_SET_DATA_FRAME = (
    h("00")
    + b"\x02\x00\x0d@setDataFrame"
    + b"\x02\x00\x0aonMetaData"
    + h("11 0a 0b 01")  # AMF3 anonymous dynamic object
    + h("0b")
    + b"width"
    + h("04 8a 00")  # integer 1280: U29 10 << 7 | 0
    + h("0d")
    + b"height"
    + h("04 85 50")  # integer 720: U29 5 << 7 | 0x50
    + h("01")
)


def test_amf3_data_message_type_15() -> None:
    values = cmds.decode_data(AMF3_SET_DATA_FRAME, amf3=True)
    assert values == ["@setDataFrame", "onMetaData", {"width": 1280, "height": 720}]
    assert isinstance(values[2], dict) and type(values[2]["width"]) is int
    rebuilt = b"\x00" + cmds.encode_data(
        "@setDataFrame", "onMetaData", AMF3Value({"width": 1280, "height": 720})
    )
    assert rebuilt == AMF3_SET_DATA_FRAME


def test_empty_amf3_data_message_is_a_protocol_error() -> None:
    with pytest.raises(ProtocolError, match="empty AMF3"):
        cmds.decode_data(b"", amf3=True)


# -- malformed input: ProtocolError, never anything else ---------------------------------


def _cmd(name: bytes, *rest: bytes) -> bytes:
    return b"\x02" + len(name).to_bytes(2, "big") + name + b"".join(rest)


def _connect_with(members: bytes) -> bytes:
    return _cmd(b"connect", N1, OBJ + members + END)


def _deep_object(levels: int) -> bytes:
    return b"\x03\x00\x01a" * levels + b"\x05" + END * levels


MALFORMED: dict[str, tuple[bytes, str]] = {
    "empty payload": (b"", "no name"),
    "name missing, number first": (N1 + NULL, "not a string"),
    "name is null": (NULL + N1 + NULL, "NoneType, not a string"),
    "name is a number": (N0 + N1 + NULL, "float, not a string"),
    "name only, no transaction id": (b"\x02\x00\x07connect", "no name and transaction id"),
    "transaction id is a string": (_cmd(b"connect", b"\x02\x00\x011", NULL), "transaction id"),
    "transaction id is a boolean": (_cmd(b"createStream", TRUE, NULL), "transaction id"),
    "transaction id is null": (_cmd(b"createStream", NULL, NULL), "transaction id"),
    "publish name is a number": (
        _cmd(b"publish", N0, NULL, N5, b"\x02\x00\x04live"),
        "stream name must be a string",
    ),
    "publish name missing": (_cmd(b"publish", N0, NULL), "stream name must be a string"),
    "publish name null": (_cmd(b"publish", N0, NULL, NULL), "stream name must be a string"),
    "publish type unknown": (_cmd(b"publish", N0, NULL, CAM, b"\x02\x00\x03vod"), "live, record"),
    "publish type a number": (_cmd(b"publish", N0, NULL, CAM, N1), "live, record"),
    "play start is a string": (
        _cmd(b"play", N0, NULL, CAM, b"\x02\x00\x010"),
        "start must be a number",
    ),
    "play duration is a boolean": (
        _cmd(b"play", N0, NULL, CAM, N_MINUS_2, TRUE),
        "duration must be a number",
    ),
    "play name is a number": (_cmd(b"play", N0, NULL, N1), "stream name must be a string"),
    "play name missing": (_cmd(b"play", N0, NULL), "stream name must be a string"),
    "play reset is a string": (
        _cmd(b"play", N0, NULL, CAM, N_MINUS_2, N_MINUS_1, b"\x02\x00\x03yes"),
        "reset must be a boolean",
    ),
    "deleteStream id negative": (_cmd(b"deleteStream", N0, NULL, N_MINUS_1), "bad stream id"),
    "deleteStream id fractional": (
        _cmd(b"deleteStream", N0, NULL, h("00 3ff8000000000000")),  # 1.5
        "bad stream id",
    ),
    "deleteStream id 2**32": (
        _cmd(b"deleteStream", N0, NULL, h("00 41f0000000000000")),
        "bad stream id",
    ),
    "deleteStream id 1e300": (
        _cmd(b"deleteStream", N0, NULL, h("00 7e37e43c8800759c")),
        "bad stream id",
    ),
    "deleteStream id NaN": (
        _cmd(b"deleteStream", N0, NULL, h("00 7ff8000000000000")),
        "bad stream id",
    ),
    "deleteStream id +inf": (
        _cmd(b"deleteStream", N0, NULL, h("00 7ff0000000000000")),
        "bad stream id",
    ),
    "deleteStream id -inf": (
        _cmd(b"deleteStream", N0, NULL, h("00 fff0000000000000")),
        "bad stream id",
    ),
    "deleteStream id a string": (
        _cmd(b"deleteStream", N0, NULL, b"\x02\x00\x011"),
        "stream id must be a number",
    ),
    "deleteStream id missing": (_cmd(b"deleteStream", N0, NULL), "bad stream id"),
    "connect objectEncoding 7": (
        _connect_with(
            b"\x00\x03app\x02\x00\x04live\x00\x0eobjectEncoding" + h("00 401c000000000000")
        ),
        "objectEncoding must be 0 or 3",
    ),
    "connect objectEncoding a string": (
        _connect_with(b"\x00\x0eobjectEncoding\x02\x00\x013"),
        "objectEncoding must be 0 or 3",
    ),
    "connect objectEncoding true": (
        _connect_with(b"\x00\x0eobjectEncoding" + TRUE),
        "objectEncoding must be 0 or 3",
    ),
    "connect app a number": (_connect_with(b"\x00\x03app" + N1), "app must be a string"),
    "connect app null": (_connect_with(b"\x00\x03app" + NULL), "app must be a string"),
    "connect tcUrl an object": (
        _connect_with(b"\x00\x05tcUrl" + OBJ + END),
        "tcUrl must be a string",
    ),
    "connect command object a string": (
        _cmd(b"connect", N1, b"\x02\x00\x04live"),
        "must be an object",
    ),
    "onStatus without code": (
        _cmd(b"onStatus", N0, NULL, OBJ + b"\x00\x05level\x02\x00\x06status" + END),
        "string level and code",
    ),
    "onStatus info a string": (_cmd(b"onStatus", N0, NULL, CAM), "must be an object"),
    "play2 options a number": (_cmd(b"play2", N0, NULL, N1), "must be an object"),
    "releaseStream name a number": (
        _cmd(b"releaseStream", N2, NULL, N1),
        "stream name must be a string",
    ),
    "FCPublish name an object": (
        _cmd(b"FCPublish", N3, NULL, OBJ + END),
        "stream name must be a string",
    ),
    "receiveAudio flag a string": (
        _cmd(b"receiveAudio", N0, NULL, b"\x02\x00\x04true"),
        "flag must be a boolean",
    ),
    "pause position a string": (
        _cmd(b"pause", N0, NULL, TRUE, b"\x02\x00\x010"),
        "position must be a number",
    ),
    "truncated name": (b"\x02\x00\x07conn", "data ends"),
    "truncated number": (_cmd(b"createStream") + h("00 3ff0"), "data ends"),
    "object without end": (_cmd(b"connect", N1, OBJ + b"\x00\x03app\x02\x00\x04live"), "ends"),
    "unknown AMF0 marker": (_cmd(b"createStream", N1, h("12")), "unknown type marker"),
    "reserved AMF0 marker": (_cmd(b"createStream", N1, h("04")), "reserved"),
    "name not UTF-8": (h("02 0002 ff fe") + N1, "not valid UTF-8"),
    "reference to nothing": (_cmd(b"connect", N1, h("07 0000")), "reference"),
    "strict array longer than the data": (
        _cmd(b"play2", N0, NULL, h("0a ffffffff 05")),
        "strict array claims",
    ),
    "nested too deep": (_cmd(b"connect", N1, _deep_object(amf0.MAX_DEPTH + 1)), "nested deeper"),
}


@pytest.mark.parametrize("key", list(MALFORMED))
def test_malformed_command_raises_protocol_error(key: str) -> None:
    payload, reason = MALFORMED[key]
    with pytest.raises(ProtocolError, match=reason.replace("(", r"\(")):
        parse(payload)
    # the same through a type 17 message
    with pytest.raises(ProtocolError):
        parse(b"\x00" + payload, amf3=True)


@pytest.mark.parametrize("payload", [b"", b"\x00"])
def test_empty_amf3_command_raises_protocol_error(payload: bytes) -> None:
    with pytest.raises(ProtocolError):
        cmds.decode_command(payload, amf3=True)


ALL_VECTORS: dict[str, Vector] = {k: v for k, (v, _) in COMMAND_VECTORS.items()}


@pytest.mark.parametrize("key", list(ALL_VECTORS))
def test_truncated_command_raises_protocol_error(key: str) -> None:
    """Cut anywhere inside a value: ProtocolError. Cut between values: a shorter command,
    which may still be valid (or a typed error) but never anything but ProtocolError."""
    parts = ALL_VECTORS[key]
    wire = b"".join(parts)
    boundaries = {sum(len(p) for p in parts[:i]) for i in range(len(parts) + 1)}
    for cut in range(len(wire)):
        if cut in boundaries:
            with contextlib.suppress(ProtocolError):
                parse(wire[:cut])
            continue
        with pytest.raises(ProtocolError):
            parse(wire[:cut])
        with pytest.raises(ProtocolError):
            cmds.decode_data(wire[:cut])


# -- hypothesis --------------------------------------------------------------------------


def _only_protocol_error(payload: bytes, *, amf3: bool = False) -> None:
    try:
        parse(payload, amf3=amf3)
    except ProtocolError as exc:
        assert str(exc)  # a reason a person can read
    try:
        cmds.decode_data(payload, amf3=amf3)
    except ProtocolError as exc:
        assert str(exc)


@given(st.binary(max_size=300), st.booleans())
def test_random_bytes_raise_only_protocol_error(data: bytes, amf3: bool) -> None:
    _only_protocol_error(data, amf3=amf3)


@given(st.sampled_from(sorted(_PARSERS)), st.binary(max_size=200))
def test_known_name_then_random_bytes_raise_only_protocol_error(name: str, rest: bytes) -> None:
    _only_protocol_error(_cmd(name.encode(), N1, rest))
    _only_protocol_error(_cmd(name.encode(), N1, NULL, rest))


_MUTABLE = [b"".join(v) for v in ALL_VECTORS.values()] + [w for w, _ in DATA_VECTORS.values()]


@given(
    st.sampled_from(_MUTABLE),
    st.lists(
        st.tuples(
            st.sampled_from(["set", "insert", "delete"]), st.integers(0), st.integers(0, 255)
        ),
        min_size=1,
        max_size=6,
    ),
    st.booleans(),
)
def test_mutated_vectors_raise_only_protocol_error(
    wire: bytes, edits: list[tuple[str, int, int]], amf3: bool
) -> None:
    data = bytearray(wire)
    for op, where, byte in edits:
        i = where % (len(data) + 1)
        if op == "insert":
            data.insert(i, byte)
        elif data and i < len(data):
            if op == "set":
                data[i] = byte
            else:
                del data[i]
    payload = (b"\x00" if amf3 else b"") + bytes(data)
    _only_protocol_error(payload, amf3=amf3)


# Well-typed commands round-trip: typed → bytes → typed gives the same object.

_text = st.text(max_size=20)
_numbers = st.floats(allow_nan=False)
_keys = st.text(min_size=1, max_size=10)
_scalars = st.none() | st.booleans() | _numbers | _text
_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_keys, inner, max_size=4),
    max_leaves=10,
)
_stream_ids = st.integers(0, 0xFFFFFFFF)

_typed_commands = st.one_of(
    st.builds(cmds.CreateStream, _numbers),
    st.builds(
        cmds.StreamNameCommand,
        st.sampled_from(["releaseStream", "FCPublish", "FCUnpublish", "getStreamLength"]),
        _numbers,
        _text,
    ),
    st.builds(cmds.Publish, _numbers, _text, st.sampled_from(["live", "record", "append"])),
    st.builds(cmds.Play, _numbers, _text, _numbers, _numbers, st.booleans()),
    st.builds(cmds.Play2, _numbers, st.dictionaries(_keys, _values, max_size=5)),
    st.builds(cmds.DeleteStreamCommand, _numbers, _stream_ids),
    st.builds(
        cmds.ReceiveFlag, st.sampled_from(["receiveAudio", "receiveVideo"]), _numbers, st.booleans()
    ),
    st.builds(cmds.PauseCommand, _numbers, st.booleans(), _numbers),
    st.builds(
        cmds.OnStatus,
        _text,
        _text,
        _text,
        st.dictionaries(
            _keys.filter(lambda k: k not in ("level", "code", "description")), _values, max_size=3
        ),
    ),
    st.builds(
        cmds.Result,
        st.booleans(),
        _numbers,
        _values,
        st.lists(_values, max_size=3).map(tuple),
    ),
    st.builds(
        cmds.Command,
        _text.filter(lambda n: n not in _PARSERS),
        _numbers,
        _values,
        st.lists(_values, max_size=3).map(tuple),
    ),
)


@settings(max_examples=300)
@given(_typed_commands, st.booleans())
def test_typed_commands_round_trip(command: object, amf3: bool) -> None:
    wire = encode(command)
    if amf3:
        assert parse(b"\x00" + wire, amf3=True) == command
    else:
        assert parse(wire) == command
    assert encode(parse(wire)) == wire


_CONNECT_KEYS = ("app", "tcUrl", "objectEncoding", "capabilities")


@given(
    _numbers,
    _text,
    _text,
    st.sampled_from([0, 3]),
    st.none() | _numbers,
    st.dictionaries(_keys.filter(lambda k: k not in _CONNECT_KEYS), _values, max_size=4),
    st.lists(_values, max_size=2).map(tuple),
)
def test_connect_round_trip(
    tid: float,
    app: str,
    tc_url: str,
    encoding: int,
    capabilities: float | None,
    props: dict[str, object],
    extra: tuple[object, ...],
) -> None:
    c = cmds.Connect(tid, app, tc_url, encoding, capabilities, props, extra)
    wire = c.encode()
    back = parse(wire)
    assert isinstance(back, cmds.Connect)
    assert (back.transaction_id, back.app, back.tc_url) == (tid, app, tc_url)
    assert (back.object_encoding, back.capabilities, back.extra) == (encoding, capabilities, extra)
    expected = {"app": app, "tcUrl": tc_url, **props, "objectEncoding": float(encoding)}
    if capabilities is not None:
        expected["capabilities"] = capabilities
    assert back.properties == expected
    assert back.encode() == wire


@given(st.permutations(["app", "tcUrl", "objectEncoding", "flashVer", "fpad", "capabilities"]))
def test_decoded_connect_encodes_to_the_same_bytes_in_any_key_order(order: list[str]) -> None:
    """Whatever order a client sends the members in, decode → encode gives its bytes back."""
    values: dict[str, object] = {
        "app": "live",
        "tcUrl": "rtmp://h/live",
        "objectEncoding": 3.0,
        "flashVer": "LNX 9,0,124,2",
        "fpad": False,
        "capabilities": 15.0,
    }
    wire = amf0.encode("connect", 1.0, {k: values[k] for k in order})
    c = parse(wire)
    assert isinstance(c, cmds.Connect)
    assert c.encode() == wire


def test_transaction_id_nan_is_kept_not_crashed() -> None:
    cmd = cmds.decode_command(_cmd(b"createStream", h("00 7ff8000000000000"), NULL))
    assert math.isnan(cmd.transaction_id)
