"""AMF3 codec (Adobe "AMF 3 Specification", January 2013), sans-I/O.

Python mapping: undefined → ``UNDEFINED``; null → None; false/true → bool; integer → int (the
encoder writes ints in [-2**28, 2**28-1] as integer, other ints and floats as double); double →
float; string → str; XMLDocument → :class:`XMLDocument`; xml → :class:`XML`; date → aware UTC
datetime; array → list, or :class:`AMF3Array` when its associative part is not empty
(:class:`ECMAArray` encodes as an array with only an associative part); object → dict (anonymous)
or :class:`TypedObject` (named class; sealed and dynamic members merged, the encoder writes all
members sealed); ByteArray → bytes; vectors → :class:`VectorInt`, :class:`VectorUInt`,
:class:`VectorDouble`, :class:`VectorObject`; Dictionary → :class:`AMF3Dictionary`. Of the
externalizable classes only ``flex.messaging.io.ArrayCollection`` and ``ObjectProxy`` can be
decoded (as :class:`ArrayCollection` / :class:`ObjectProxy`); any other class's data format is
private to that class, so decoding it raises ProtocolError.

References: one context (string, object and traits tables) spans all values of one ``encode``
call or one :class:`Decoder`. The encoder sends repeated strings by value, repeated immutable
objects (bytes, datetime, XML text) by value and repeated mutable containers by identity, so
cycles encode as references.

Bounds, for bytes from the network (every violation raises ProtocolError, never anything else):

- nesting: at most :data:`MAX_DEPTH` containers deep (arrays, objects, object vectors,
  dictionaries, externalizable wrappers); deeper input is refused instead of recursing further.
- counts: an array, vector, member or dictionary count is checked against the bytes left
  (every element takes at least one byte, a vector item its fixed size) before anything is read.
- references: an index must name an entry already in its table; every table entry consumed at
  least one input byte, so the tables never outgrow the input.
- time and memory: O(input length); a reference returns the shared object, never a copy.
"""

from __future__ import annotations

import struct
from datetime import datetime
from typing import Final

from livecast.rtmp.amf_types import (
    UNDEFINED,
    XML,
    AMF3Array,
    AMF3Dictionary,
    ArrayCollection,
    ECMAArray,
    ObjectProxy,
    TypedObject,
    Undefined,
    VectorDouble,
    VectorInt,
    VectorObject,
    VectorUInt,
    XMLDocument,
    datetime_from_ms,
    datetime_to_ms,
)
from livecast.rtmp.errors import ProtocolError

__all__ = [
    "ARRAY_COLLECTION_CLASS",
    "INT_MAX",
    "INT_MIN",
    "MAX_DEPTH",
    "OBJECT_PROXY_CLASS",
    "Decoder",
    "decode",
    "encode",
]

MAX_DEPTH: Final = 64
"""Containers nested deeper than this are refused (decoder: ProtocolError, encoder: ValueError)."""

INT_MIN: Final = -(2**28)
INT_MAX: Final = 2**28 - 1
"""Range of the AMF3 integer type (signed 29 bits); other ints are sent as doubles."""

ARRAY_COLLECTION_CLASS: Final = "flex.messaging.io.ArrayCollection"
OBJECT_PROXY_CLASS: Final = "flex.messaging.io.ObjectProxy"

_U29_MAX: Final = 0x1FFFFFFF
_LENGTH_MAX: Final = 0x0FFFFFFF  # length fields keep one U29 bit for the reference flag

UNDEFINED_MARKER: Final = 0x00
NULL_MARKER: Final = 0x01
FALSE_MARKER: Final = 0x02
TRUE_MARKER: Final = 0x03
INTEGER_MARKER: Final = 0x04
DOUBLE_MARKER: Final = 0x05
STRING_MARKER: Final = 0x06
XML_DOC_MARKER: Final = 0x07
DATE_MARKER: Final = 0x08
ARRAY_MARKER: Final = 0x09
OBJECT_MARKER: Final = 0x0A
XML_MARKER: Final = 0x0B
BYTE_ARRAY_MARKER: Final = 0x0C
VECTOR_INT_MARKER: Final = 0x0D
VECTOR_UINT_MARKER: Final = 0x0E
VECTOR_DOUBLE_MARKER: Final = 0x0F
VECTOR_OBJECT_MARKER: Final = 0x10
DICTIONARY_MARKER: Final = 0x11

_DOUBLE: Final = struct.Struct(">d")
_MARKED_DOUBLE: Final = struct.Struct(">Bd")
_ONE_BYTE: Final = tuple(bytes((i,)) for i in range(256))

_ITEM_FORMAT: Final = {VECTOR_INT_MARKER: "i", VECTOR_UINT_MARKER: "I", VECTOR_DOUBLE_MARKER: "d"}
_ITEM_SIZE: Final = {VECTOR_INT_MARKER: 4, VECTOR_UINT_MARKER: 4, VECTOR_DOUBLE_MARKER: 8}


class _Traits:
    """A class description from the traits table."""

    __slots__ = ("class_name", "dynamic", "externalizable", "members")

    def __init__(
        self, class_name: str, members: tuple[str, ...], dynamic: bool, externalizable: bool
    ) -> None:
        self.class_name = class_name
        self.members = members
        self.dynamic = dynamic
        self.externalizable = externalizable


def u29(value: int) -> bytes:
    """The variable-length (1-4 byte) encoding of an unsigned 29-bit integer."""
    if value < 0x80:
        if value < 0:
            raise ValueError(f"U29 cannot hold a negative value: {value}")
        return _ONE_BYTE[value]
    if value < 0x4000:
        return bytes(((value >> 7) | 0x80, value & 0x7F))
    if value < 0x200000:
        return bytes(((value >> 14) | 0x80, ((value >> 7) & 0x7F) | 0x80, value & 0x7F))
    if value <= _U29_MAX:
        return bytes(
            (
                (value >> 22) | 0x80,
                ((value >> 15) & 0x7F) | 0x80,
                ((value >> 8) & 0x7F) | 0x80,
                value & 0xFF,
            )
        )
    raise ValueError(f"U29 cannot hold {value} (max {_U29_MAX})")


# ---------------------------------------------------------------------------------------------
# Decoding


class Decoder:
    """Reads AMF3 values one at a time from ``data``, starting at ``offset``.

    The reference tables live as long as the decoder, so one decoder reads one message. After a
    ProtocolError the decoder's state is undefined: drop it.
    """

    __slots__ = ("_data", "_depth", "_objects", "_strings", "_traits", "offset")

    def __init__(self, data: bytes | bytearray | memoryview, offset: int = 0) -> None:
        self._data: bytes = data if isinstance(data, bytes) else bytes(data)
        if not 0 <= offset <= len(self._data):
            raise ValueError(f"offset {offset} outside data of {len(self._data)} bytes")
        self.offset = offset
        self._depth = 0
        self._strings: list[str] = []
        self._objects: list[object] = []
        self._traits: list[_Traits] = []

    @property
    def at_end(self) -> bool:
        """True when every byte has been read."""
        return self.offset >= len(self._data)

    def read_value(self) -> object:
        """Decode the next value; ProtocolError if the bytes are malformed or end too soon."""
        return self._read_value()

    # -- primitives --------------------------------------------------------------------------

    def _truncated(self, what: str) -> ProtocolError:
        return ProtocolError(f"AMF3: data ends at offset {len(self._data)} inside {what}")

    def _need(self, count: int, what: str) -> int:
        """Check that ``count`` bytes remain; return the current offset."""
        pos = self.offset
        if count > len(self._data) - pos:
            raise self._truncated(what)
        return pos

    def _u29(self, what: str) -> int:
        data = self._data
        pos = self.offset
        end = len(data)
        if pos >= end:
            raise self._truncated(what)
        b = data[pos]
        if b < 0x80:
            self.offset = pos + 1
            return b
        value = b & 0x7F
        if pos + 1 >= end:
            raise self._truncated(what)
        b = data[pos + 1]
        if b < 0x80:
            self.offset = pos + 2
            return (value << 7) | b
        value = (value << 7) | (b & 0x7F)
        if pos + 2 >= end:
            raise self._truncated(what)
        b = data[pos + 2]
        if b < 0x80:
            self.offset = pos + 3
            return (value << 7) | b
        value = (value << 7) | (b & 0x7F)
        if pos + 3 >= end:
            raise self._truncated(what)
        self.offset = pos + 4
        return (value << 8) | data[pos + 3]

    def _utf8(self, length: int, what: str) -> str:
        pos = self._need(length, what)
        end = pos + length
        try:
            text = self._data[pos:end].decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ProtocolError(f"AMF3: {what} at offset {pos} is not valid UTF-8: {exc}") from None
        self.offset = end
        return text

    def _check_count(self, count: int, item_size: int, what: str) -> None:
        left = len(self._data) - self.offset
        if count * item_size > left:
            raise ProtocolError(
                f"AMF3: {what} claims {count} entries but only {left} bytes are left"
            )

    def _read_string(self, what: str = "string") -> str:
        """UTF-8-vr: a string reference or an inline string (added to the string table)."""
        header = self._u29(what)
        if not header & 1:
            index = header >> 1
            if index >= len(self._strings):
                raise ProtocolError(
                    f"AMF3: {what} refers to string #{index}, "
                    f"but only {len(self._strings)} strings were sent"
                )
            return self._strings[index]
        length = header >> 1
        if length == 0:
            return ""
        text = self._utf8(length, what)
        self._strings.append(text)
        return text

    def _object_ref(self, header: int, what: str) -> object:
        index = header >> 1
        if index >= len(self._objects):
            raise ProtocolError(
                f"AMF3: {what} refers to object #{index}, "
                f"but only {len(self._objects)} objects were sent"
            )
        return self._objects[index]

    def _enter(self, what: str) -> None:
        if self._depth >= MAX_DEPTH:
            raise ProtocolError(f"AMF3: {what} nested deeper than {MAX_DEPTH} levels")
        self._depth += 1

    # -- values ------------------------------------------------------------------------------

    def _read_value(self) -> object:
        data = self._data
        pos = self.offset
        if pos >= len(data):
            raise self._truncated("a value (type marker expected)")
        marker = data[pos]
        self.offset = pos + 1
        if marker == STRING_MARKER:
            return self._read_string()
        if marker == INTEGER_MARKER:
            value = self._u29("integer")
            return value - 0x20000000 if value & 0x10000000 else value
        if marker == OBJECT_MARKER:
            return self._read_object()
        if marker == DOUBLE_MARKER:
            pos = self._need(8, "double")
            self.offset = pos + 8
            return _DOUBLE.unpack_from(data, pos)[0]
        if marker == NULL_MARKER:
            return None
        if marker == TRUE_MARKER:
            return True
        if marker == FALSE_MARKER:
            return False
        if marker == UNDEFINED_MARKER:
            return UNDEFINED
        if marker == ARRAY_MARKER:
            return self._read_array()
        if marker == DATE_MARKER:
            return self._read_date()
        if marker == BYTE_ARRAY_MARKER:
            header = self._u29("ByteArray")
            if not header & 1:
                return self._object_ref(header, "ByteArray")
            length = header >> 1
            pos = self._need(length, "ByteArray")
            self.offset = pos + length
            blob = data[pos : pos + length]
            self._objects.append(blob)
            return blob
        if marker in (XML_DOC_MARKER, XML_MARKER):
            what = "XMLDocument" if marker == XML_DOC_MARKER else "XML"
            header = self._u29(what)
            if not header & 1:
                return self._object_ref(header, what)
            text = self._utf8(header >> 1, what)
            xml = XMLDocument(text) if marker == XML_DOC_MARKER else XML(text)
            self._objects.append(xml)
            return xml
        if marker in _ITEM_FORMAT:
            return self._read_number_vector(marker)
        if marker == VECTOR_OBJECT_MARKER:
            return self._read_object_vector()
        if marker == DICTIONARY_MARKER:
            return self._read_dictionary()
        raise ProtocolError(f"AMF3: unknown type marker 0x{marker:02X} at offset {pos}")

    def _read_date(self) -> object:
        header = self._u29("date")
        if not header & 1:
            return self._object_ref(header, "date")
        pos = self._need(8, "date")
        self.offset = pos + 8
        ms = _DOUBLE.unpack_from(self._data, pos)[0]
        try:
            value = datetime_from_ms(ms)
        except ValueError as exc:
            raise ProtocolError(f"AMF3: bad date at offset {pos}: {exc}") from None
        self._objects.append(value)
        return value

    def _read_array(self) -> object:
        header = self._u29("array")
        if not header & 1:
            return self._object_ref(header, "array")
        count = header >> 1
        self._check_count(count, 1, "array")
        self._enter("array")
        objects = self._objects
        slot = len(objects)
        objects.append(None)  # placeholder: list or AMF3Array is known after the first key
        key = self._read_string("array key")
        dense: list[object]
        if key:
            mixed = AMF3Array()
            objects[slot] = mixed
            assoc = mixed.assoc
            while key:
                assoc[key] = self._read_value()
                key = self._read_string("array key")
            dense = mixed.dense
            result: object = mixed
        else:
            dense = []
            objects[slot] = result = dense
        read = self._read_value
        for _ in range(count):
            dense.append(read())
        self._depth -= 1
        return result

    def _read_traits(self, header: int) -> _Traits:
        if not header & 2:
            index = header >> 2
            if index >= len(self._traits):
                raise ProtocolError(
                    f"AMF3: object refers to traits #{index}, "
                    f"but only {len(self._traits)} traits were sent"
                )
            return self._traits[index]
        if header & 4:
            traits = _Traits(self._read_string("class name"), (), False, True)
        else:
            count = header >> 4
            class_name = self._read_string("class name")
            self._check_count(count, 1, "object traits")
            read = self._read_string
            members = tuple([read("member name") for _ in range(count)])
            traits = _Traits(class_name, members, bool(header & 8), False)
        self._traits.append(traits)
        return traits

    def _read_object(self) -> object:
        header = self._u29("object")
        if not header & 1:
            return self._object_ref(header, "object")
        traits = self._read_traits(header)
        self._enter("object")
        if traits.externalizable:
            result = self._read_externalizable(traits.class_name)
        else:
            values: dict[str, object] = {}
            result = TypedObject(traits.class_name, values) if traits.class_name else values
            self._objects.append(result)
            read = self._read_value
            for name in traits.members:
                values[name] = read()
            if traits.dynamic:
                key = self._read_string("member name")
                while key:
                    values[key] = read()
                    key = self._read_string("member name")
        self._depth -= 1
        return result

    def _read_externalizable(self, class_name: str) -> object:
        if class_name == ARRAY_COLLECTION_CLASS:
            collection = ArrayCollection()
            self._objects.append(collection)
            collection.source = self._read_value()
            return collection
        if class_name == OBJECT_PROXY_CLASS:
            proxy = ObjectProxy()
            self._objects.append(proxy)
            proxy.value = self._read_value()
            return proxy
        raise ProtocolError(
            f"AMF3: cannot decode externalizable class {class_name!r}: "
            "its data format is private to the class"
        )

    def _flag_byte(self, what: str) -> bool:
        """The one-byte flag (vector ``fixed``, dictionary ``weak-keys``) after a count."""
        pos = self._need(1, what)
        self.offset = pos + 1
        return self._data[pos] != 0

    def _read_number_vector(self, marker: int) -> object:
        header = self._u29("vector")
        if not header & 1:
            return self._object_ref(header, "vector")
        count, fixed = header >> 1, self._flag_byte("vector")
        self._check_count(count, _ITEM_SIZE[marker], "vector")
        items = struct.unpack_from(f">{count}{_ITEM_FORMAT[marker]}", self._data, self.offset)
        self.offset += count * _ITEM_SIZE[marker]
        vector: VectorInt | VectorUInt | VectorDouble
        if marker == VECTOR_INT_MARKER:
            vector = VectorInt(items, fixed)
        elif marker == VECTOR_UINT_MARKER:
            vector = VectorUInt(items, fixed)
        else:
            vector = VectorDouble(items, fixed)
        self._objects.append(vector)
        return vector

    def _read_object_vector(self) -> object:
        header = self._u29("vector")
        if not header & 1:
            return self._object_ref(header, "vector")
        count, fixed = header >> 1, self._flag_byte("vector")
        type_name = self._read_string("vector type name")
        self._check_count(count, 1, "vector")
        self._enter("vector")
        vector = VectorObject((), type_name, fixed)
        self._objects.append(vector)
        read = self._read_value
        for _ in range(count):
            vector.append(read())
        self._depth -= 1
        return vector

    def _read_dictionary(self) -> object:
        header = self._u29("dictionary")
        if not header & 1:
            return self._object_ref(header, "dictionary")
        count, weak = header >> 1, self._flag_byte("dictionary")
        self._check_count(count, 2, "dictionary")
        self._enter("dictionary")
        result = AMF3Dictionary([], weak)
        self._objects.append(result)
        pairs = result.pairs
        read = self._read_value
        for _ in range(count):
            key = read()
            pairs.append((key, read()))
        self._depth -= 1
        return result


def decode(data: bytes | bytearray | memoryview) -> list[object]:
    """Decode every value in ``data`` (one shared reference context); ProtocolError if malformed."""
    decoder = Decoder(data)
    values: list[object] = []
    while not decoder.at_end:
        values.append(decoder.read_value())
    return values


def decode_embedded(data: bytes, offset: int, depth: int) -> tuple[object, int]:
    """Read one AMF3 value inside an AMF0 stream (after 0x11): the value and the next offset.

    Each switch starts fresh reference tables, as each one is a separate AMF3 serialization;
    ``depth`` carries the AMF0 nesting so the bound holds across the switch.
    """
    decoder = Decoder(data, offset)
    decoder._depth = depth
    value = decoder._read_value()
    return value, decoder.offset


# ---------------------------------------------------------------------------------------------
# Encoding


class _Encoder:
    __slots__ = ("_keep", "_objects", "_out", "_strings", "_traits")

    def __init__(self) -> None:
        self._out: list[bytes] = []
        self._strings: dict[str, int] = {}
        self._objects: dict[object, int] = {}
        self._keep: list[object] = []  # keeps id() keys valid while encoding
        self._traits: dict[tuple[str, tuple[str, ...], bool, bool], int] = {}

    def result(self) -> bytes:
        return b"".join(self._out)

    def string(self, text: str) -> None:
        """UTF-8-vr: a reference to an earlier equal string, else the string inline."""
        out = self._out
        if not text:
            out.append(b"\x01")
            return
        index = self._strings.get(text)
        if index is not None:
            out.append(u29(index << 1))
            return
        raw = text.encode("utf-8")
        if len(raw) > _LENGTH_MAX:
            raise ValueError(f"AMF3 string of {len(raw)} bytes is too long (max {_LENGTH_MAX})")
        self._strings[str(text)] = len(self._strings)
        out.append(u29((len(raw) << 1) | 1))
        out.append(raw)

    def reference(self, key: object, keep: object) -> bool:
        """Write a reference if ``key`` was seen (True), else give it the next table index."""
        index = self._objects.get(key)
        if index is not None:
            self._out.append(u29(index << 1))
            return True
        self._objects[key] = len(self._objects)
        self._keep.append(keep)
        return False

    def traits(self, class_name: str, members: tuple[str, ...], dynamic: bool, ext: bool) -> None:
        key = (class_name, members, dynamic, ext)
        index = self._traits.get(key)
        if index is not None:
            self._out.append(u29((index << 2) | 0b01))
            return
        self._traits[key] = len(self._traits)
        if ext:
            self._out.append(b"\x07")
        else:
            self._out.append(u29((len(members) << 4) | (0b1000 if dynamic else 0) | 0b0011))
        self.string(class_name)
        for name in members:
            self.string(name)

    def dynamic_members(self, values: dict[str, object], depth: int) -> None:
        for key, item in values.items():
            if not isinstance(key, str):
                raise TypeError(f"AMF3 member names must be str, got {key!r}")
            if not key:
                raise ValueError("AMF3 dynamic member names cannot be empty (it ends the list)")
            self.string(key)
            self.value(item, depth)
        self._out.append(b"\x01")

    def value(self, value: object, depth: int) -> None:
        out = self._out
        if value is None:
            out.append(b"\x01")
        elif isinstance(value, bool):
            out.append(b"\x03" if value else b"\x02")
        elif isinstance(value, int):
            if INT_MIN <= value <= INT_MAX:
                out.append(b"\x04")
                out.append(u29(value & _U29_MAX))
            else:
                out.append(_marked_double(DOUBLE_MARKER, value))
        elif isinstance(value, float):
            out.append(_MARKED_DOUBLE.pack(DOUBLE_MARKER, value))
        elif isinstance(value, str):
            if isinstance(value, XML | XMLDocument):
                self.xml(value)
            else:
                out.append(b"\x06")
                self.string(value)
        elif isinstance(value, Undefined):
            out.append(b"\x00")
        elif isinstance(value, datetime):
            ms = datetime_to_ms(value)
            out.append(b"\x08")
            if not self.reference(("date", ms), value):
                out.append(_MARKED_DOUBLE.pack(1, ms))
        elif isinstance(value, bytes | bytearray | memoryview):
            blob = bytes(value)
            out.append(b"\x0c")
            if not self.reference(("bytes", blob), blob):
                if len(blob) > _LENGTH_MAX:
                    raise ValueError(f"AMF3 ByteArray of {len(blob)} bytes is too long")
                out.append(u29((len(blob) << 1) | 1))
                out.append(blob)
        else:
            self.container(value, depth)

    def xml(self, value: XML | XMLDocument) -> None:
        is_doc = isinstance(value, XMLDocument)
        self._out.append(b"\x07" if is_doc else b"\x0b")
        if self.reference(("xmldoc" if is_doc else "xml", str(value)), value):
            return
        raw = value.encode("utf-8")
        if len(raw) > _LENGTH_MAX:
            raise ValueError(f"AMF3 XML of {len(raw)} bytes is too long")
        self._out.append(u29((len(raw) << 1) | 1))
        self._out.append(raw)

    def container(self, value: object, depth: int) -> None:
        out = self._out
        if isinstance(value, VectorInt | VectorUInt | VectorDouble):
            self.number_vector(value)
            return
        if isinstance(value, VectorObject):
            marker = b"\x10"
        elif isinstance(value, list | tuple | ECMAArray | AMF3Array):
            marker = b"\x09"
        elif isinstance(value, dict | TypedObject | ArrayCollection | ObjectProxy):
            marker = b"\x0a"
        elif isinstance(value, AMF3Dictionary):
            marker = b"\x11"
        else:
            raise TypeError(f"AMF3 cannot encode {type(value).__name__}: {value!r}")
        out.append(marker)
        if self.reference(id(value), value):
            return
        if depth >= MAX_DEPTH:
            raise ValueError(f"AMF3 value nested deeper than {MAX_DEPTH} levels")
        depth += 1
        if isinstance(value, VectorObject):
            out.append(u29((len(value) << 1) | 1))
            out.append(b"\x01" if value.fixed else b"\x00")
            self.string(value.type_name)
            for item in value:
                self.value(item, depth)
        elif isinstance(value, list | tuple):
            out.append(u29((len(value) << 1) | 1))
            out.append(b"\x01")
            for item in value:
                self.value(item, depth)
        elif isinstance(value, ECMAArray):
            out.append(b"\x01")
            self.dynamic_members(value, depth)
        elif isinstance(value, dict):
            self.traits("", (), True, False)
            self.dynamic_members(value, depth)
        elif isinstance(value, TypedObject):
            self.typed_object(value, depth)
        elif isinstance(value, AMF3Array):
            out.append(u29((len(value.dense) << 1) | 1))
            self.dynamic_members(value.assoc, depth)
            for item in value.dense:
                self.value(item, depth)
        elif isinstance(value, AMF3Dictionary):
            out.append(u29((len(value.pairs) << 1) | 1))
            out.append(b"\x01" if value.weak_keys else b"\x00")
            for key, item in value.pairs:
                self.value(key, depth)
                self.value(item, depth)
        elif isinstance(value, ArrayCollection):
            self.traits(ARRAY_COLLECTION_CLASS, (), False, True)
            self.value(value.source, depth)
        else:
            assert isinstance(value, ObjectProxy)
            self.traits(OBJECT_PROXY_CLASS, (), False, True)
            self.value(value.value, depth)

    def typed_object(self, value: TypedObject, depth: int) -> None:
        if not value.class_name:  # anonymous: the same bytes as a dict
            self.traits("", (), True, False)
            self.dynamic_members(value.values, depth)
            return
        members = tuple(value.values)
        for name in members:
            if not isinstance(name, str):
                raise TypeError(f"AMF3 member names must be str, got {name!r}")
        self.traits(value.class_name, members, False, False)
        for item in value.values.values():
            self.value(item, depth)

    def number_vector(self, value: VectorInt | VectorUInt | VectorDouble) -> None:
        if isinstance(value, VectorInt):
            marker, code = VECTOR_INT_MARKER, "i"
        elif isinstance(value, VectorUInt):
            marker, code = VECTOR_UINT_MARKER, "I"
        else:
            marker, code = VECTOR_DOUBLE_MARKER, "d"
        out = self._out
        out.append(_ONE_BYTE[marker])
        if self.reference(id(value), value):
            return
        out.append(u29((len(value) << 1) | 1))
        out.append(b"\x01" if value.fixed else b"\x00")
        try:
            out.append(struct.pack(f">{len(value)}{code}", *value))
        except struct.error as exc:
            raise ValueError(f"{type(value).__name__} item out of range: {exc}") from None


def _marked_double(marker: int, value: int) -> bytes:
    try:
        return _MARKED_DOUBLE.pack(marker, float(value))
    except OverflowError:
        raise ValueError(f"int {value} is too large for an AMF double") from None


def encode(*values: object) -> bytes:
    """Encode ``values`` back to back with one shared reference context.

    TypeError for a Python type AMF3 has no form for; ValueError for a value out of range
    (naive datetime, nesting deeper than MAX_DEPTH, empty dynamic member name, ...).
    """
    encoder = _Encoder()
    for value in values:
        encoder.value(value, 0)
    return encoder.result()


def encode_embedded(value: object, depth: int) -> bytes:
    """One AMF3 value with fresh tables, for the AMF0 switch marker; ``depth`` is AMF0's nesting."""
    encoder = _Encoder()
    encoder.value(value, depth)
    return encoder.result()
