"""AMF0 codec: byte vectors written by hand from the AMF 0 specification, plus properties."""

from __future__ import annotations

import copy
import pickle
import struct
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from livecast.rtmp import amf0
from livecast.rtmp.amf_types import (
    UNDEFINED,
    XML,
    AMF3Array,
    AMF3Value,
    ECMAArray,
    TypedObject,
    Undefined,
    VectorInt,
    VectorObject,
    XMLDocument,
    datetime_from_ms,
)
from livecast.rtmp.errors import ProtocolError


def h(text: str) -> bytes:
    return bytes.fromhex(text)


ONE = "3f f0 00 00 00 00 00 00"  # 1.0 as an IEEE-754 double, big-endian


def same(a: object, b: object) -> bool:
    """Equality that also demands equal types (recursively) and equal float bits."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        assert isinstance(b, float)
        return struct.pack(">d", a) == struct.pack(">d", b)
    if isinstance(a, list):
        assert isinstance(b, list)
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        assert isinstance(b, dict)
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, TypedObject):
        assert isinstance(b, TypedObject)
        return a.class_name == b.class_name and same(a.values, b.values)
    return a == b


def check_vector(value: object, wire: bytes) -> None:
    """``value`` encodes to exactly ``wire``, and ``wire`` decodes to exactly ``value``."""
    assert amf0.encode(value).hex(" ") == wire.hex(" ")
    decoded = amf0.decode(wire)
    assert len(decoded) == 1
    assert same(decoded[0], value), (decoded[0], value)


# ---------------------------------------------------------------------------------------------
# Every type marker


@pytest.mark.parametrize(
    ("value", "wire"),
    [
        (1.0, f"00 {ONE}"),
        (1.5, "00 3f f8 00 00 00 00 00 00"),
        (-0.0, "00 80 00 00 00 00 00 00 00"),
        (0.0, "00 00 00 00 00 00 00 00 00"),
        (True, "01 01"),
        (False, "01 00"),
        ("", "02 00 00"),
        ("hello", "02 00 05 68 65 6c 6c 6f"),
        ("\u00e9", "02 00 02 c3 a9"),
        ({"a": 1.0}, f"03 00 01 61 00 {ONE} 00 00 09"),
        ({}, "03 00 00 09"),
        (None, "05"),
        (UNDEFINED, "06"),
        (ECMAArray(a=1.0), f"08 00 00 00 01 00 01 61 00 {ONE} 00 00 09"),
        (ECMAArray(), "08 00 00 00 00 00 00 09"),
        ([1.0, "a"], f"0a 00 00 00 02 00 {ONE} 02 00 01 61"),
        ([], "0a 00 00 00 00"),
        (datetime(1970, 1, 1, tzinfo=UTC), "0b 00 00 00 00 00 00 00 00 00 00"),
        (datetime(1970, 1, 1, 0, 0, 1, tzinfo=UTC), "0b 40 8f 40 00 00 00 00 00 00 00"),
        (XMLDocument("<a/>"), "0f 00 00 00 04 3c 61 2f 3e"),
        (TypedObject("C", {"q": True}), "10 00 01 43 00 01 71 01 01 00 00 09"),
    ],
)
def test_type_vectors(value: object, wire: str) -> None:
    check_vector(value, h(wire))


def test_ints_encode_as_numbers_and_decode_as_floats() -> None:
    assert amf0.encode(1) == h(f"00 {ONE}")
    assert same(amf0.decode(amf0.encode(1)), [1.0])
    with pytest.raises(ValueError):
        amf0.encode(10**400)


def test_boolean_any_nonzero_byte_is_true() -> None:
    assert amf0.decode(h("01 05 01 00")) == [True, False]


def test_undefined_is_a_falsy_singleton() -> None:
    assert Undefined() is UNDEFINED
    assert not UNDEFINED
    assert repr(UNDEFINED) == "UNDEFINED"


def test_value_types_survive_copy_and_pickle_and_show_their_type() -> None:
    assert copy.deepcopy(UNDEFINED) is UNDEFINED
    assert pickle.loads(pickle.dumps(UNDEFINED)) is UNDEFINED
    assert repr(ECMAArray(a=1.0)) == "ECMAArray({'a': 1.0})"
    assert repr(XMLDocument("<a/>")) == "XMLDocument('<a/>')"
    assert repr(XML("<a/>")) == "XML('<a/>')"
    assert repr(VectorObject([1], "T")) == "VectorObject([1], type_name='T', fixed=False)"


def test_unsupported_marker_decodes_as_undefined() -> None:
    assert amf0.decode(h("0d")) == [UNDEFINED]


def test_xml_encodes_as_xml_document() -> None:
    assert amf0.encode(XML("<a/>")) == h("0f 00 00 00 04 3c 61 2f 3e")


def test_long_string_threshold() -> None:
    at_limit = "a" * 0xFFFF
    check_vector(at_limit, h("02 ff ff") + b"a" * 0xFFFF)
    over = "a" * 0x10000
    check_vector(over, h("0c 00 01 00 00") + b"a" * 0x10000)
    # The threshold is in UTF-8 bytes, not characters: 32768 two-byte characters.
    wide = "\u00e9" * 0x8000
    check_vector(wide, h("0c 00 01 00 00") + "\u00e9".encode() * 0x8000)
    # A short long string (as some peers send) decodes as str too.
    assert amf0.decode(h("0c 00 00 00 02 68 69")) == ["hi"]


def test_date_time_zone_is_ignored_on_read() -> None:
    # 1000 ms, time zone -120 minutes (0xFF88): still 1970-01-01T00:00:01Z.
    (decoded,) = amf0.decode(h("0b 40 8f 40 00 00 00 00 00 ff 88"))
    assert decoded == datetime(1970, 1, 1, 0, 0, 1, tzinfo=UTC)
    assert isinstance(decoded, datetime) and decoded.utcoffset() is not None


def test_date_sub_millisecond_dropped() -> None:
    value = datetime(2009, 2, 13, 23, 31, 30, 999999, tzinfo=UTC)
    (decoded,) = amf0.decode(amf0.encode(value))
    assert decoded == datetime(2009, 2, 13, 23, 31, 30, 999000, tzinfo=UTC)


def test_object_end_marker_ends_objects_only() -> None:
    # The 3-byte end (empty name + 0x09) closes object, ECMA array and typed object alike;
    # a lone 0x09 where a value should be is an error.
    assert amf0.decode(h("03 00 00 09 08 00 00 00 00 00 00 09 10 00 01 43 00 00 09")) == [
        {},
        ECMAArray(),
        TypedObject("C", {}),
    ]
    with pytest.raises(ProtocolError, match="object-end"):
        amf0.decode(h("09"))


def test_ecma_array_count_is_only_a_hint() -> None:
    # Count says 0 (some encoders do this), two members follow: both are read.
    wire = h(f"08 00 00 00 00 00 01 61 00 {ONE} 00 01 62 05 00 00 09")
    (decoded,) = amf0.decode(wire)
    assert same(decoded, ECMAArray(a=1.0, b=None))


def test_reference_to_earlier_object() -> None:
    # The strict array is object #0, the anonymous object #1; 0x07 0x0001 points at it.
    wire = h("0a 00 00 00 02 03 00 00 09 07 00 01")
    (decoded,) = amf0.decode(wire)
    assert isinstance(decoded, list)
    assert decoded == [{}, {}] and decoded[0] is decoded[1]


def test_self_reference() -> None:
    wire = h("03 00 04 73 65 6c 66 07 00 00 00 00 09")
    (decoded,) = amf0.decode(wire)
    assert isinstance(decoded, dict) and decoded["self"] is decoded


def test_references_count_typed_objects_and_ecma_arrays_not_dates() -> None:
    # ECMA array #0 holding: a date (not in the table), a typed object #1, then ref #1.
    wire = h("08 00 00 00 03 00 01 64 0b 00 00 00 00 00 00 00 00 00 00")
    wire += h("00 01 74 10 00 01 43 00 00 09")
    wire += h("00 01 72 07 00 01 00 00 09")
    (decoded,) = amf0.decode(wire)
    assert isinstance(decoded, ECMAArray)
    assert decoded["r"] is decoded["t"]


def test_reference_table_spans_the_message() -> None:
    # One table per decoder: a later top-level value may refer to an earlier one.
    decoded = amf0.decode(h("03 00 00 09 07 00 00"))
    assert decoded[0] is decoded[1]


def test_encoder_does_not_emit_references() -> None:
    shared = {"a": 1.0}
    object_wire = f"03 00 01 61 00 {ONE} 00 00 09"
    assert amf0.encode([shared, shared]) == h(f"0a 00 00 00 02 {object_wire} {object_wire}")


def test_switch_to_amf3() -> None:
    # 0x11 then one AMF3 value: array [1, 2] (AMF3 integers stay ints).
    wire = h("11 09 05 01 04 01 04 02")
    assert amf0.encode(AMF3Value([1, 2])) == wire
    assert amf0.encode_amf3_switch([1, 2]) == wire
    assert same(amf0.decode(wire), [[1, 2]])
    # Inside an AMF0 object, followed by more AMF0.
    wire = h("03 00 01 78 11 0c 03 7f 00 00 09 02 00 01 61")
    assert amf0.encode({"x": AMF3Value(b"\x7f")}, "a") == wire
    assert amf0.decode(wire) == [{"x": b"\x7f"}, "a"]


def test_each_switch_has_fresh_amf3_tables() -> None:
    assert amf0.decode(h("11 06 03 61 11 06 03 61")) == ["a", "a"]
    assert amf0.encode(AMF3Value("a"), AMF3Value("a")) == h("11 06 03 61 11 06 03 61")
    with pytest.raises(ProtocolError, match="string #0"):
        amf0.decode(h("11 06 03 61 11 06 00"))


def test_amf3_mixed_array_through_switch() -> None:
    wire = h("11 09 03 03 6b 06 03 76 01 04 01")
    assert amf0.decode(wire) == [AMF3Array([1], {"k": "v"})]


# ---------------------------------------------------------------------------------------------
# RTMP connect, as OBS / FMLE style encoders send it

CONNECT = (
    b"\x02\x00\x07connect"
    b"\x00\x3f\xf0\x00\x00\x00\x00\x00\x00"
    b"\x03"
    b"\x00\x03app\x02\x00\x04live"
    b"\x00\x04type\x02\x00\x0anonprivate"
    b"\x00\x08flashVer\x02\x00\x1fFMLE/3.0 (compatible; FMSc/1.0)"
    b"\x00\x06swfUrl\x02\x00\x1artmp://localhost:1935/live"
    b"\x00\x05tcUrl\x02\x00\x1artmp://localhost:1935/live"
    b"\x00\x04fpad\x01\x00"
    b"\x00\x0ccapabilities\x00\x40\x2e\x00\x00\x00\x00\x00\x00"
    b"\x00\x0baudioCodecs\x00\x40\xab\xee\x00\x00\x00\x00\x00"
    b"\x00\x0bvideoCodecs\x00\x40\x6f\x80\x00\x00\x00\x00\x00"
    b"\x00\x0dvideoFunction\x00\x3f\xf0\x00\x00\x00\x00\x00\x00"
    b"\x00\x0eobjectEncoding\x00\x00\x00\x00\x00\x00\x00\x00\x00"
    b"\x00\x00\x09"
)
CONNECT_VALUES: list[object] = [
    "connect",
    1.0,
    {
        "app": "live",
        "type": "nonprivate",
        "flashVer": "FMLE/3.0 (compatible; FMSc/1.0)",
        "swfUrl": "rtmp://localhost:1935/live",
        "tcUrl": "rtmp://localhost:1935/live",
        "fpad": False,
        "capabilities": 15.0,
        "audioCodecs": 3575.0,
        "videoCodecs": 252.0,
        "videoFunction": 1.0,
        "objectEncoding": 0.0,
    },
]


def test_connect_command_vector() -> None:
    assert same(amf0.decode(CONNECT), CONNECT_VALUES)
    assert amf0.encode(*CONNECT_VALUES) == CONNECT


def test_connect_read_incrementally() -> None:
    decoder = amf0.Decoder(CONNECT)
    assert decoder.read_value() == "connect"
    assert decoder.offset == 10
    assert decoder.read_value() == 1.0
    assert not decoder.at_end
    command_object = decoder.read_value()
    assert isinstance(command_object, dict) and command_object["app"] == "live"
    assert decoder.at_end and decoder.offset == len(CONNECT)


def test_connect_three_ways() -> None:
    """Whole, from a memoryview at an offset, and with the next message's bytes behind it."""
    whole = amf0.decode(CONNECT)
    framed = memoryview(b"\xaa\xbb" + CONNECT)
    decoder = amf0.Decoder(framed, offset=2)
    assert same([decoder.read_value() for _ in range(3)], whole)
    assert decoder.at_end
    trailing = CONNECT + h("05 02 00 01")  # a null, then a string cut short
    decoder = amf0.Decoder(trailing)
    assert same([decoder.read_value() for _ in range(3)], whole)
    assert decoder.offset == len(CONNECT)
    # Every strict prefix of the command object alone is a truncation.
    start = len(b"\x02\x00\x07connect") + 9
    for cut in range(start, len(CONNECT)):
        decoder = amf0.Decoder(CONNECT[:cut], offset=start)
        with pytest.raises(ProtocolError):
            decoder.read_value()


def test_decoder_offset_out_of_range() -> None:
    with pytest.raises(ValueError):
        amf0.Decoder(b"\x05", offset=2)


# ---------------------------------------------------------------------------------------------
# Encoder errors (programming errors: TypeError / ValueError, never ProtocolError)


@pytest.mark.parametrize(
    "value",
    [object(), {1, 2}, b"bytes", VectorInt([1]), AMF3Array([1], {"a": 1}), 1j],
)
def test_unknown_or_amf3_only_type_is_type_error(value: object) -> None:
    with pytest.raises(TypeError):
        amf0.encode(value)


def test_encoder_value_errors() -> None:
    with pytest.raises(ValueError):
        amf0.encode(datetime(2020, 1, 1))  # naive
    with pytest.raises(ValueError):
        amf0.encode({"": 1.0})  # the empty name marks the object end
    with pytest.raises(ValueError):
        amf0.encode({"k" * 0x10000: 1.0})
    with pytest.raises(ValueError):
        amf0.encode(TypedObject("C" * 0x10000, {}))
    with pytest.raises(TypeError):
        amf0.encode({1: 1.0})
    cyclic: dict[str, object] = {}
    cyclic["me"] = cyclic
    with pytest.raises(ValueError, match="deeper"):
        amf0.encode(cyclic)


def test_depth_bound_is_the_same_on_both_sides() -> None:
    ok: list[object] = []
    for _ in range(amf0.MAX_DEPTH - 1):
        ok = [ok]
    wire = amf0.encode(ok)  # MAX_DEPTH strict arrays
    assert wire == h("0a 00 00 00 01") * (amf0.MAX_DEPTH - 1) + h("0a 00 00 00 00")
    assert len(amf0.decode(wire)) == 1
    with pytest.raises(ValueError):
        amf0.encode([ok])
    with pytest.raises(ProtocolError, match="deeper"):
        amf0.decode(h("0a 00 00 00 01") * amf0.MAX_DEPTH + h("0a 00 00 00 00"))


def test_depth_counts_across_the_amf3_switch() -> None:
    half = amf0.MAX_DEPTH // 2
    ok = h("0a 00 00 00 01") * half + h("11") + h("09 03 01") * (half - 1) + h("09 01 01")
    assert len(amf0.decode(ok)) == 1
    too_deep = h("0a 00 00 00 01") * half + h("11") + h("09 03 01") * half + h("09 01 01")
    with pytest.raises(ProtocolError, match="deeper"):
        amf0.decode(too_deep)
    # The encoder counts the same way: half AMF0 arrays around half AMF3 arrays is the limit.
    nested: object = []
    for _ in range(half - 1):
        nested = [nested]
    value: object = AMF3Value(nested)
    for _ in range(half):
        value = [value]
    assert len(amf0.decode(amf0.encode(value))) == 1
    with pytest.raises(ValueError):
        amf0.encode([value])


# ---------------------------------------------------------------------------------------------
# Malformed input: ProtocolError with a readable message, nothing else


@pytest.mark.parametrize(
    ("wire", "match"),
    [
        ("", "ends"),  # Decoder.read_value on nothing
        ("00 3f f0", "ends"),  # number cut short
        ("01", "ends"),  # boolean without its byte
        ("02 00 05 61 62", "ends"),  # string claims 5 bytes, has 2
        ("02 00", "ends"),  # string length cut short
        ("0c ff ff ff ff 61", "ends"),  # long string claims 4 GiB
        ("0f 00 00 01 00 3c", "ends"),  # XML document cut short
        ("02 00 02 c3 28", "UTF-8"),  # invalid UTF-8
        ("03 00 02 ff fe 05 00 00 09", "UTF-8"),  # invalid UTF-8 member name
        ("12", "unknown type marker"),
        ("ff", "unknown type marker"),
        ("04", "unsupported"),  # movieclip: reserved
        ("0e", "unsupported"),  # recordset: reserved
        ("09", "object-end"),  # object end outside an object
        ("07 00 00", "object #0"),  # reference with an empty table
        ("03 00 01 61 07 00 01 00 00 09", "object #1"),  # only object #0 exists
        ("0a ff ff ff ff", "claims"),  # strict array of 2**32-1 elements
        ("0a 00 00 00 03 05 05", "claims"),  # 3 claimed, 2 bytes left
        ("0a 00 00 00 02 00 3f", "ends"),  # 2 claimed, 2 bytes left, but a number needs 9
        ("03 00 01 61 05", "ends"),  # object without its end
        ("03 00 00 05", "object-end"),  # empty name followed by something else
        ("03 00 00", "ends"),  # empty name, end marker missing
        ("08 00 00", "ends"),  # ECMA array count cut short
        ("10 00 05 43", "ends"),  # typed object class name cut short
        ("0b 7f f8 00 00 00 00 00 00 00 00", "date"),  # NaN date
        ("0b 43 30 00 00 00 00 00 00 00 00", "date"),  # 2**52 ms: past year 9999
        ("0b 00 00 00 00", "ends"),  # date cut short
        ("11", "AMF3: data ends"),  # switch with no AMF3 value
        ("11 0a 07 03 58", "externalizable"),  # AMF3 externalizable of an unknown class
        ("11 04 ff ff", "AMF3: data ends"),  # AMF3 U29 cut short
    ],
)
def test_malformed(wire: str, match: str) -> None:
    with pytest.raises(ProtocolError, match=match):
        amf0.Decoder(h(wire)).read_value()


def test_nesting_ten_thousand_deep() -> None:
    for unit in ("0a 00 00 00 01", "03 00 01 61", "08 00 00 00 01 00 01 61", "10 00 00 00 01 61"):
        with pytest.raises(ProtocolError, match="deeper"):
            amf0.decode(h(unit) * 10000)
    with pytest.raises(ProtocolError, match="deeper"):
        amf0.decode(h("11 09 03 01") + h("09 03 01") * 10000)


# ---------------------------------------------------------------------------------------------
# Properties

names = st.text(min_size=1, max_size=6)
dates = st.integers(min_value=-62135596800000, max_value=253402300799999).map(datetime_from_ms)
leaves = st.one_of(
    st.none(),
    st.just(UNDEFINED),
    st.booleans(),
    st.floats(),
    st.text(max_size=12),
    dates,
    st.text(max_size=8).map(XMLDocument),
)


def containers(children: st.SearchStrategy[object]) -> st.SearchStrategy[object]:
    return st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(names, children, max_size=4),
        st.dictionaries(names, children, max_size=4).map(ECMAArray),
        st.builds(TypedObject, st.text(max_size=6), st.dictionaries(names, children, max_size=3)),
    )


values = st.recursive(leaves, containers, max_leaves=16)
PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(st.lists(values, max_size=3))
def test_round_trip(items: list[object]) -> None:
    wire = amf0.encode(*items)
    decoded = amf0.decode(wire)
    assert same(decoded, items)
    assert amf0.encode(*decoded) == wire


def decode_or_protocol_error(wire: bytes) -> None:
    try:
        amf0.decode(wire)
    except ProtocolError as exc:
        assert str(exc)


@PROPERTY
@given(st.binary(max_size=300))
def test_random_bytes_only_protocol_error(wire: bytes) -> None:
    decode_or_protocol_error(wire)


@PROPERTY
@given(st.one_of(values, values.map(AMF3Value)), st.data())
def test_mutated_bytes_only_protocol_error(value: object, data: st.DataObject) -> None:
    wire = bytearray(amf0.encode(value))
    for _ in range(data.draw(st.integers(1, 4))):
        if not wire:
            break
        at = data.draw(st.integers(0, len(wire) - 1))
        action = data.draw(st.sampled_from(["set", "delete", "insert", "truncate"]))
        if action == "set":
            wire[at] = data.draw(st.integers(0, 255))
        elif action == "delete":
            del wire[at]
        elif action == "insert":
            wire.insert(at, data.draw(st.integers(0, 255)))
        else:
            del wire[at:]
    decode_or_protocol_error(bytes(wire))
