"""AMF0 codec (Adobe "Action Message Format -- AMF 0", December 2007), sans-I/O.

RTMP command and data messages are sequences of AMF0 values. Python mapping: number → float
(ints are accepted when encoding); boolean → bool; string and long string → str (the encoder
picks the long form past 65535 UTF-8 bytes); object → dict; null → None; undefined →
``UNDEFINED``; ECMA array → :class:`ECMAArray`; strict array → list (tuples encode the same);
date → aware UTC datetime (whole milliseconds; the time-zone field is written as 0 and ignored
on read); XML document → :class:`XMLDocument` (:class:`XML` encodes the same); typed object →
:class:`TypedObject`; unsupported (0x0D) decodes as ``UNDEFINED``; 0x11 (switch to AMF3) decodes
the one AMF3 value that follows and returns it bare; :class:`AMF3Value` or
:func:`encode_amf3_switch` writes one. A reference (0x07) decodes to the very object it names.

The encoder never writes references: librtmp and other common peers do not read them, so a
repeated object is written again (and a cyclic one fails the depth bound with ValueError).

Each 0x11 value is read with fresh AMF3 reference tables: it is a separate AMF3 serialization
(as Flash writes them), and a reference can then never reach across values.

Bounds, for bytes from the network (every violation raises ProtocolError, never anything else):

- nesting: at most :data:`MAX_DEPTH` containers deep (objects, arrays, typed objects), counted
  across 0x11 switches too; deeper input is refused instead of recursing further.
- counts: a strict-array count (up to 2**32-1) is checked against the bytes left before any
  element is read; the ECMA-array count is only a hint and is ignored (members are read up to the
  object-end marker).
- references: the index must name an object already begun; each entry of the table consumed at
  least one input byte, so it never outgrows the input.
- time and memory: O(input length).
"""

from __future__ import annotations

import struct
from datetime import datetime
from typing import Final

from livecast.rtmp import amf3
from livecast.rtmp.amf_types import (
    UNDEFINED,
    XML,
    AMF3Value,
    ECMAArray,
    TypedObject,
    Undefined,
    XMLDocument,
    datetime_from_ms,
    datetime_to_ms,
)
from livecast.rtmp.errors import ProtocolError

__all__ = [
    "LONG_STRING_THRESHOLD",
    "MAX_DEPTH",
    "MAX_STRICT_ARRAY_COUNT",
    "Decoder",
    "decode",
    "encode",
    "encode_amf3_switch",
]

MAX_DEPTH: Final = 64
"""Containers nested deeper than this are refused (decoder: ProtocolError, encoder: ValueError)."""

LONG_STRING_THRESHOLD: Final = 0xFFFF
"""Strings longer than this many UTF-8 bytes are written as long strings (0x0C)."""

MAX_STRICT_ARRAY_COUNT: Final = 0xFFFFFFFF
"""The largest count the wire can claim; the decoder also caps it by the bytes left."""

NUMBER_MARKER: Final = 0x00
BOOLEAN_MARKER: Final = 0x01
STRING_MARKER: Final = 0x02
OBJECT_MARKER: Final = 0x03
MOVIECLIP_MARKER: Final = 0x04
NULL_MARKER: Final = 0x05
UNDEFINED_MARKER: Final = 0x06
REFERENCE_MARKER: Final = 0x07
ECMA_ARRAY_MARKER: Final = 0x08
OBJECT_END_MARKER: Final = 0x09
STRICT_ARRAY_MARKER: Final = 0x0A
DATE_MARKER: Final = 0x0B
LONG_STRING_MARKER: Final = 0x0C
UNSUPPORTED_MARKER: Final = 0x0D
RECORDSET_MARKER: Final = 0x0E
XML_DOCUMENT_MARKER: Final = 0x0F
TYPED_OBJECT_MARKER: Final = 0x10
AVMPLUS_OBJECT_MARKER: Final = 0x11

_DOUBLE: Final = struct.Struct(">d")
_U16: Final = struct.Struct(">H")
_U32: Final = struct.Struct(">I")
_MARKED_DOUBLE: Final = struct.Struct(">Bd")
_MARKED_U16: Final = struct.Struct(">BH")
_MARKED_U32: Final = struct.Struct(">BI")
_DATE: Final = struct.Struct(">Bdh")  # marker, ms since epoch, time zone (reserved, 0)
_OBJECT_END: Final = b"\x00\x00\x09"


# ---------------------------------------------------------------------------------------------
# Decoding


class Decoder:
    """Reads AMF0 values one at a time from ``data``, starting at ``offset``.

    RTMP commands read the name and transaction id, then the rest. The reference table lives as
    long as the decoder, so one decoder reads one message. After a ProtocolError the decoder's
    state is undefined: drop it.
    """

    __slots__ = ("_data", "_depth", "_refs", "offset")

    def __init__(self, data: bytes | bytearray | memoryview, offset: int = 0) -> None:
        self._data: bytes = data if isinstance(data, bytes) else bytes(data)
        if not 0 <= offset <= len(self._data):
            raise ValueError(f"offset {offset} outside data of {len(self._data)} bytes")
        self.offset = offset
        self._depth = 0
        self._refs: list[object] = []

    @property
    def at_end(self) -> bool:
        """True when every byte has been read."""
        return self.offset >= len(self._data)

    def read_value(self) -> object:
        """Decode the next value; ProtocolError if the bytes are malformed or end too soon."""
        return self._read_value()

    # -- primitives --------------------------------------------------------------------------

    def _need(self, count: int, what: str) -> int:
        """Check that ``count`` bytes remain; return the current offset."""
        pos = self.offset
        if count > len(self._data) - pos:
            raise ProtocolError(f"AMF0: data ends at offset {len(self._data)} inside {what}")
        return pos

    def _utf8(self, length: int, what: str) -> str:
        pos = self._need(length, what)
        end = pos + length
        try:
            text = self._data[pos:end].decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ProtocolError(f"AMF0: {what} at offset {pos} is not valid UTF-8: {exc}") from None
        self.offset = end
        return text

    def _short_string(self, what: str) -> str:
        pos = self._need(2, what)
        self.offset = pos + 2
        return self._utf8(_U16.unpack_from(self._data, pos)[0], what)

    def _long_string(self, what: str) -> str:
        pos = self._need(4, what)
        self.offset = pos + 4
        return self._utf8(_U32.unpack_from(self._data, pos)[0], what)

    def _enter(self, what: str) -> None:
        if self._depth >= MAX_DEPTH:
            raise ProtocolError(f"AMF0: {what} nested deeper than {MAX_DEPTH} levels")
        self._depth += 1

    # -- values ------------------------------------------------------------------------------

    def _read_value(self) -> object:
        data = self._data
        pos = self.offset
        if pos >= len(data):
            raise ProtocolError(f"AMF0: data ends at offset {pos} where a value should start")
        marker = data[pos]
        self.offset = pos + 1
        if marker == STRING_MARKER:
            return self._short_string("string")
        if marker == NUMBER_MARKER:
            start = self._need(8, "number")
            self.offset = start + 8
            return _DOUBLE.unpack_from(data, start)[0]
        if marker == OBJECT_MARKER:
            self._enter("object")
            obj: dict[str, object] = {}
            self._refs.append(obj)
            self._read_members(obj)
            self._depth -= 1
            return obj
        if marker == NULL_MARKER:
            return None
        if marker == BOOLEAN_MARKER:
            start = self._need(1, "boolean")
            self.offset = start + 1
            return data[start] != 0
        if marker in (UNDEFINED_MARKER, UNSUPPORTED_MARKER):
            return UNDEFINED
        if marker == ECMA_ARRAY_MARKER:
            self._need(4, "ECMA array count")
            self.offset += 4  # the count is a hint; the object-end marker ends the members
            self._enter("ECMA array")
            array = ECMAArray()
            self._refs.append(array)
            self._read_members(array)
            self._depth -= 1
            return array
        if marker == STRICT_ARRAY_MARKER:
            return self._read_strict_array()
        if marker == REFERENCE_MARKER:
            start = self._need(2, "reference")
            self.offset = start + 2
            index = _U16.unpack_from(data, start)[0]
            if index >= len(self._refs):
                raise ProtocolError(
                    f"AMF0: reference to object #{index}, "
                    f"but only {len(self._refs)} objects were sent"
                )
            return self._refs[index]
        if marker == DATE_MARKER:
            start = self._need(10, "date")
            self.offset = start + 10
            ms = _DOUBLE.unpack_from(data, start)[0]
            try:
                return datetime_from_ms(ms)
            except ValueError as exc:
                raise ProtocolError(f"AMF0: bad date at offset {start}: {exc}") from None
        if marker == LONG_STRING_MARKER:
            return self._long_string("long string")
        if marker == TYPED_OBJECT_MARKER:
            class_name = self._short_string("class name")
            self._enter("typed object")
            typed = TypedObject(class_name, {})
            self._refs.append(typed)
            self._read_members(typed.values)
            self._depth -= 1
            return typed
        if marker == XML_DOCUMENT_MARKER:
            return XMLDocument(self._long_string("XML document"))
        if marker == AVMPLUS_OBJECT_MARKER:
            value, self.offset = amf3.decode_embedded(data, self.offset, self._depth)
            return value
        if marker == OBJECT_END_MARKER:
            raise ProtocolError(f"AMF0: object-end marker outside an object at offset {pos}")
        if marker in (MOVIECLIP_MARKER, RECORDSET_MARKER):
            raise ProtocolError(f"AMF0: reserved, unsupported type marker 0x{marker:02X}")
        raise ProtocolError(f"AMF0: unknown type marker 0x{marker:02X} at offset {pos}")

    def _read_members(self, target: dict[str, object]) -> None:
        """Name/value pairs up to the empty name followed by the object-end marker."""
        data = self._data
        size = len(data)
        read = self._read_value
        while True:
            pos = self.offset
            if pos + 2 > size:
                raise ProtocolError(f"AMF0: data ends at offset {size} inside an object")
            length = (data[pos] << 8) | data[pos + 1]
            if length == 0:
                if pos + 2 >= size:
                    raise ProtocolError(f"AMF0: data ends at offset {size} before object-end")
                if data[pos + 2] != OBJECT_END_MARKER:
                    raise ProtocolError(
                        f"AMF0: empty member name not followed by object-end at offset {pos}"
                    )
                self.offset = pos + 3
                return
            self.offset = pos + 2
            key = self._utf8(length, "member name")
            target[key] = read()

    def _read_strict_array(self) -> list[object]:
        start = self._need(4, "strict array count")
        count = _U32.unpack_from(self._data, start)[0]
        self.offset = start + 4
        left = len(self._data) - self.offset
        if count > left:
            raise ProtocolError(
                f"AMF0: strict array claims {count} items but only {left} bytes are left"
            )
        self._enter("strict array")
        items: list[object] = []
        self._refs.append(items)
        read = self._read_value
        for _ in range(count):
            items.append(read())
        self._depth -= 1
        return items


def decode(data: bytes | bytearray | memoryview) -> list[object]:
    """Decode every value in ``data`` (one shared reference table); ProtocolError if malformed."""
    decoder = Decoder(data)
    values: list[object] = []
    while not decoder.at_end:
        values.append(decoder.read_value())
    return values


# ---------------------------------------------------------------------------------------------
# Encoding


def _utf8_bytes(text: str, what: str) -> bytes:
    raw = text.encode("utf-8")
    if len(raw) > 0xFFFF:
        raise ValueError(f"AMF0 {what} of {len(raw)} UTF-8 bytes is too long (max 65535)")
    return raw


class _Encoder:
    __slots__ = ("_out",)

    def __init__(self) -> None:
        self._out: list[bytes] = []

    def result(self) -> bytes:
        return b"".join(self._out)

    def value(self, value: object, depth: int) -> None:
        out = self._out
        if value is None:
            out.append(b"\x05")
        elif isinstance(value, bool):
            out.append(b"\x01\x01" if value else b"\x01\x00")
        elif isinstance(value, float):
            out.append(_MARKED_DOUBLE.pack(NUMBER_MARKER, value))
        elif isinstance(value, int):
            try:
                out.append(_MARKED_DOUBLE.pack(NUMBER_MARKER, float(value)))
            except OverflowError:
                raise ValueError(f"int {value} is too large for an AMF0 number") from None
        elif isinstance(value, str):
            self.string(value)
        elif isinstance(value, Undefined):
            out.append(b"\x06")
        elif isinstance(value, datetime):
            out.append(_DATE.pack(DATE_MARKER, datetime_to_ms(value), 0))
        elif isinstance(value, AMF3Value):
            out.append(b"\x11")
            out.append(amf3.encode_embedded(value.value, depth))
        else:
            self.container(value, depth)

    def string(self, value: str) -> None:
        raw = value.encode("utf-8")
        if isinstance(value, XMLDocument | XML):
            marker = XML_DOCUMENT_MARKER
        elif len(raw) <= LONG_STRING_THRESHOLD:
            self._out.append(_MARKED_U16.pack(STRING_MARKER, len(raw)))
            self._out.append(raw)
            return
        else:
            marker = LONG_STRING_MARKER
        if len(raw) > 0xFFFFFFFF:
            raise ValueError(f"AMF0 string of {len(raw)} UTF-8 bytes is too long")
        self._out.append(_MARKED_U32.pack(marker, len(raw)))
        self._out.append(raw)

    def members(self, values: dict[str, object], depth: int) -> None:
        out = self._out
        for key, item in values.items():
            if not isinstance(key, str):
                raise TypeError(f"AMF0 member names must be str, got {key!r}")
            if not key:
                raise ValueError("AMF0 member names cannot be empty (it marks the object end)")
            raw = _utf8_bytes(key, "member name")
            out.append(_U16.pack(len(raw)))
            out.append(raw)
            self.value(item, depth)
        out.append(_OBJECT_END)

    def container(self, value: object, depth: int) -> None:
        # Exact types only for lists: AMF3 vectors are list subclasses with no AMF0 form.
        is_list = type(value) is list or isinstance(value, tuple)
        if not (is_list or isinstance(value, dict | TypedObject)):
            raise TypeError(
                f"AMF0 cannot encode {type(value).__name__} (wrap AMF3-only values in "
                f"AMF3Value): {value!r}"
            )
        if depth >= MAX_DEPTH:
            raise ValueError(f"AMF0 value nested deeper than {MAX_DEPTH} levels (or cyclic)")
        depth += 1
        out = self._out
        if is_list:
            assert isinstance(value, list | tuple)
            if len(value) > MAX_STRICT_ARRAY_COUNT:
                raise ValueError(f"AMF0 strict array of {len(value)} items is too long")
            out.append(_MARKED_U32.pack(STRICT_ARRAY_MARKER, len(value)))
            for item in value:
                self.value(item, depth)
        elif isinstance(value, ECMAArray):
            out.append(_MARKED_U32.pack(ECMA_ARRAY_MARKER, len(value)))
            self.members(value, depth)
        elif isinstance(value, TypedObject):
            raw = _utf8_bytes(value.class_name, "class name")
            out.append(_MARKED_U16.pack(TYPED_OBJECT_MARKER, len(raw)))
            out.append(raw)
            self.members(value.values, depth)
        else:
            assert isinstance(value, dict)
            out.append(b"\x03")
            self.members(value, depth)


def encode(*values: object) -> bytes:
    """Encode ``values`` back to back.

    TypeError for a Python type AMF0 has no form for (AMF3-only types: wrap in AMF3Value);
    ValueError for a value out of range (naive datetime, over-long name, nesting deeper than
    MAX_DEPTH or cyclic, empty member name).
    """
    encoder = _Encoder()
    for value in values:
        encoder.value(value, 0)
    return encoder.result()


def encode_amf3_switch(value: object) -> bytes:
    """0x11 (switch to AMF3) followed by ``value`` in AMF3, as one AMF0 value."""
    return encode(AMF3Value(value))
