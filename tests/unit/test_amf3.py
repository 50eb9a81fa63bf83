"""AMF3 codec: byte vectors written by hand from the AMF 3 specification, plus properties."""

from __future__ import annotations

import struct
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from livecast.rtmp import amf3
from livecast.rtmp.amf_types import (
    UNDEFINED,
    XML,
    AMF3Array,
    AMF3Dictionary,
    ArrayCollection,
    ECMAArray,
    ObjectProxy,
    TypedObject,
    VectorDouble,
    VectorInt,
    VectorObject,
    VectorUInt,
    XMLDocument,
    datetime_from_ms,
)
from livecast.rtmp.errors import ProtocolError


def h(text: str) -> bytes:
    return bytes.fromhex(text)


def same(a: object, b: object) -> bool:
    """Equality that also demands equal types (recursively) and equal float bits."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        assert isinstance(b, float)
        return struct.pack(">d", a) == struct.pack(">d", b)
    if isinstance(a, VectorObject):
        assert isinstance(b, VectorObject)
        if (a.fixed, a.type_name) != (b.fixed, b.type_name):
            return False
    elif isinstance(a, VectorInt | VectorUInt | VectorDouble):
        assert isinstance(b, VectorInt | VectorUInt | VectorDouble)
        if a.fixed != b.fixed:
            return False
    if isinstance(a, list | tuple):
        assert isinstance(b, list | tuple)
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        assert isinstance(b, dict)
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, TypedObject):
        assert isinstance(b, TypedObject)
        return a.class_name == b.class_name and same(a.values, b.values)
    if isinstance(a, AMF3Array):
        assert isinstance(b, AMF3Array)
        return same(a.dense, b.dense) and same(a.assoc, b.assoc)
    if isinstance(a, AMF3Dictionary):
        assert isinstance(b, AMF3Dictionary)
        return a.weak_keys == b.weak_keys and same(a.pairs, b.pairs)
    if isinstance(a, ArrayCollection):
        assert isinstance(b, ArrayCollection)
        return same(a.source, b.source)
    if isinstance(a, ObjectProxy):
        assert isinstance(b, ObjectProxy)
        return same(a.value, b.value)
    return a == b


def check_vector(value: object, wire: bytes) -> None:
    """``value`` encodes to exactly ``wire``, and ``wire`` decodes to exactly ``value``."""
    assert amf3.encode(value).hex(" ") == wire.hex(" ")
    decoded = amf3.decode(wire)
    assert len(decoded) == 1
    assert same(decoded[0], value), (decoded[0], value)


# ---------------------------------------------------------------------------------------------
# Simple markers


@pytest.mark.parametrize(
    ("value", "wire"),
    [
        (UNDEFINED, "00"),
        (None, "01"),
        (False, "02"),
        (True, "03"),
        (1.5, "05 3f f8 00 00 00 00 00 00"),
        (-0.0, "05 80 00 00 00 00 00 00 00"),
        (float("inf"), "05 7f f0 00 00 00 00 00 00"),
        ("", "06 01"),
        ("hello", "06 0b 68 65 6c 6c 6f"),
        ("\u00e9", "06 05 c3 a9"),
        (XMLDocument("<a/>"), "07 09 3c 61 2f 3e"),
        (XML("<a/>"), "0b 09 3c 61 2f 3e"),
        (b"\x01\x02\x03", "0c 07 01 02 03"),
        (b"", "0c 01"),
        (datetime(1970, 1, 1, tzinfo=UTC), "08 01 00 00 00 00 00 00 00 00"),
        (datetime(1970, 1, 1, 0, 0, 1, tzinfo=UTC), "08 01 40 8f 40 00 00 00 00 00"),
    ],
)
def test_simple_vectors(value: object, wire: str) -> None:
    check_vector(value, h(wire))


# U29 boundaries: 1 byte up to 0x7F, 2 up to 0x3FFF, 3 up to 0x1FFFFF, then 4 (8 bits last).
@pytest.mark.parametrize(
    ("value", "wire"),
    [
        (0, "04 00"),
        (1, "04 01"),
        (0x7F, "04 7f"),
        (0x80, "04 81 00"),
        (0x3FFF, "04 ff 7f"),
        (0x4000, "04 81 80 00"),
        (0x1FFFFF, "04 ff ff 7f"),
        (0x200000, "04 80 c0 80 00"),
        (0x0FFFFFFF, "04 bf ff ff ff"),
        (-1, "04 ff ff ff ff"),
        (-2, "04 ff ff ff fe"),
        (-(2**28), "04 c0 80 80 00"),
        # Outside the 29-bit signed range: sent as a double, decoded as float.
        (2**28, "05 41 b0 00 00 00 00 00 00"),
        (-(2**28) - 1, "05 c1 b0 00 00 01 00 00 00"),
    ],
)
def test_integer_vectors(value: int, wire: str) -> None:
    raw = h(wire)
    assert amf3.encode(value) == raw
    (decoded,) = amf3.decode(raw)
    if amf3.INT_MIN <= value <= amf3.INT_MAX:
        assert type(decoded) is int and decoded == value
    else:
        assert type(decoded) is float and decoded == float(value)


def test_u29_helper_boundaries() -> None:
    assert amf3.u29(0x1FFFFFFF) == h("ff ff ff ff")
    with pytest.raises(ValueError):
        amf3.u29(0x20000000)
    with pytest.raises(ValueError):
        amf3.u29(-1)


def test_decoder_accepts_non_minimal_u29() -> None:
    # 0x80 0x01 is 1 spelled with two bytes: legal U29, nothing in the spec forbids it.
    assert amf3.decode(h("04 80 01")) == [1]


def test_date_millisecond_precision_and_sub_ms_dropped() -> None:
    value = datetime(2009, 2, 13, 23, 31, 30, 123456, tzinfo=UTC)
    (decoded,) = amf3.decode(amf3.encode(value))
    assert decoded == datetime(2009, 2, 13, 23, 31, 30, 123000, tzinfo=UTC)
    assert isinstance(decoded, datetime) and decoded.tzinfo is UTC


# ---------------------------------------------------------------------------------------------
# References


def test_string_reference() -> None:
    # Array of 2, no assoc part, "abc" inline (string #0), then a reference to string #0.
    check_vector(["abc", "abc"], h("09 05 01 06 07 61 62 63 06 00"))


def test_empty_string_is_never_referenced() -> None:
    check_vector(["", ""], h("09 05 01 06 01 06 01"))


def test_strings_share_one_table_with_keys_and_class_names() -> None:
    # "a" as a key (string #0) and again as a value: the value is a reference.
    check_vector({"a": "a"}, h("0a 0b 01 03 61 06 00 01"))


def test_object_reference_by_identity() -> None:
    inner: dict[str, object] = {}
    wire = h("09 05 01 0a 0b 01 01 0a 02")  # the array is object #0, the dict #1
    assert amf3.encode([inner, inner]) == wire
    (decoded,) = amf3.decode(wire)
    assert isinstance(decoded, list)
    assert decoded == [{}, {}] and decoded[0] is decoded[1]


def test_equal_but_distinct_mutable_objects_are_sent_twice() -> None:
    assert amf3.encode([{}, {}]) == h("09 05 01 0a 0b 01 01 0a 01 01")


def test_self_referencing_array() -> None:
    loop: list[object] = []
    loop.append(loop)
    wire = h("09 03 01 09 00")
    assert amf3.encode(loop) == wire
    (decoded,) = amf3.decode(wire)
    assert isinstance(decoded, list) and decoded[0] is decoded


def test_self_referencing_object_and_mixed_array() -> None:
    obj: dict[str, object] = {}
    obj["me"] = obj
    wire = h("0a 0b 01 05 6d 65 0a 00 01")
    assert amf3.encode(obj) == wire
    (decoded,) = amf3.decode(wire)
    assert isinstance(decoded, dict) and decoded["me"] is decoded

    # An array whose associative part refers to the array itself.
    wire = h("09 01 03 6b 09 00 01")
    (mixed,) = amf3.decode(wire)
    assert isinstance(mixed, AMF3Array) and mixed.assoc["k"] is mixed
    assert amf3.encode(mixed) == wire


def test_immutable_values_are_referenced_by_value() -> None:
    when = datetime(1970, 1, 1, tzinfo=UTC)
    wire = h("09 09 01 08 01 00 00 00 00 00 00 00 00 08 02 0c 03 78 0c 04")
    # array #0, date #1 inline, date ref #1, bytes #2 inline, bytes ref #2 (values, not ids)
    assert amf3.encode([when, datetime(1970, 1, 1, tzinfo=UTC), b"x", bytearray(b"x")]) == wire
    assert amf3.decode(wire) == [[when, when, b"x", b"x"]]


def test_xml_references() -> None:
    wire = h("09 07 01 0b 03 61 0b 02 07 03 61")
    # XML "a" (#1), XML ref #1, XMLDocument "a" is another type: inline (#2).
    assert amf3.encode([XML("a"), XML("a"), XMLDocument("a")]) == wire
    (decoded,) = amf3.decode(wire)
    assert isinstance(decoded, list)
    assert [type(x) for x in decoded] == [XML, XML, XMLDocument]


def test_one_context_spans_all_values_of_one_call() -> None:
    assert amf3.encode("ab", "ab") == h("06 05 61 62 06 00")
    assert amf3.decode(h("06 05 61 62 06 00")) == ["ab", "ab"]
    # Separate calls start fresh.
    assert amf3.encode("ab") + amf3.encode("ab") == h("06 05 61 62 06 05 61 62")


# ---------------------------------------------------------------------------------------------
# Arrays and objects


def test_dense_array() -> None:
    check_vector([1, "a", None], h("09 07 01 04 01 06 03 61 01"))
    check_vector([], h("09 01 01"))


def test_array_with_associative_part() -> None:
    check_vector(AMF3Array([1], {"k": "v"}), h("09 03 03 6b 06 03 76 01 04 01"))
    check_vector(AMF3Array([], {"k": 1}), h("09 01 03 6b 04 01 01"))


def test_ecma_array_encodes_as_associative_only_array() -> None:
    wire = h("09 01 03 6b 04 01 01")
    assert amf3.encode(ECMAArray(k=1)) == wire
    assert same(amf3.decode(wire)[0], AMF3Array([], {"k": 1}))


def test_anonymous_dynamic_object() -> None:
    # 0x0B: inline object, inline traits, not externalizable, dynamic, 0 sealed members.
    check_vector({"a": 1}, h("0a 0b 01 03 61 04 01 01"))
    check_vector({}, h("0a 0b 01 01"))


def test_sealed_typed_object_and_traits_reference() -> None:
    # 0x23: 2 sealed members, not dynamic; class name "Point", members x, y; values 1, 2.
    # The second Point reuses traits #0 (0x01) and the member names are not sent again.
    first = TypedObject("Point", {"x": 1, "y": 2})
    second = TypedObject("Point", {"x": 3, "y": 4})
    wire = h("09 05 01 0a 23 0b 50 6f 69 6e 74 03 78 03 79 04 01 04 02 0a 01 04 03 04 04")
    check_vector([first, second], wire)


def test_different_member_sets_get_new_traits() -> None:
    wire = h("09 05 01 0a 13 03 43 03 61 04 01 0a 13 00 03 62 04 02")
    # traits #0 (C: a), traits #1 (C: b); "C" is string #0, so the second class name is 00.
    check_vector([TypedObject("C", {"a": 1}), TypedObject("C", {"b": 2})], wire)


def test_typed_object_with_dynamic_members_decodes_merged() -> None:
    # 0x1B: 1 sealed member, dynamic; class "C", sealed "a"=1, dynamic "b"=2, end.
    (decoded,) = amf3.decode(h("0a 1b 03 43 03 61 04 01 03 62 04 02 01"))
    assert same(decoded, TypedObject("C", {"a": 1, "b": 2}))


def test_anonymous_sealed_object_decodes_as_dict() -> None:
    (decoded,) = amf3.decode(h("0a 13 01 03 61 04 07"))
    assert same(decoded, {"a": 7})


def test_anonymous_typed_object_encodes_as_dict() -> None:
    assert amf3.encode(TypedObject("", {"a": 1})) == amf3.encode({"a": 1})


def test_traits_reference_to_dynamic_traits() -> None:
    wire = h("09 05 01 0a 0b 01 03 61 04 01 01 0a 01 00 04 02 01")
    # second object: traits #0 (anonymous dynamic), key "a" as string reference #0 (no marker).
    check_vector([{"a": 1}, {"a": 2}], wire)


def test_externalizable_array_collection_and_object_proxy() -> None:
    name = b"flex.messaging.io.ArrayCollection"
    assert len(name) == 33  # (33 << 1) | 1 == 0x43
    check_vector(ArrayCollection([1]), h("0a 07 43") + name + h("09 03 01 04 01"))
    proxy = b"flex.messaging.io.ObjectProxy"
    assert len(proxy) == 29  # (29 << 1) | 1 == 0x3B
    check_vector(ObjectProxy({"a": 1}), h("0a 07 3b") + proxy + h("0a 0b 01 03 61 04 01 01"))


def test_externalizable_traits_reference() -> None:
    name = b"flex.messaging.io.ArrayCollection"
    wire = h("09 05 01 0a 07 43") + name + h("09 01 01 0a 01 09 01 01")
    check_vector([ArrayCollection([]), ArrayCollection([])], wire)


def test_unknown_externalizable_class_is_refused() -> None:
    with pytest.raises(ProtocolError, match="externalizable"):
        amf3.decode(h("0a 07 07 46 6f 6f 00"))


# ---------------------------------------------------------------------------------------------
# Vectors and dictionary


def test_vector_int() -> None:
    check_vector(VectorInt([1, -1]), h("0d 05 00 00 00 00 01 ff ff ff ff"))
    check_vector(VectorInt([], fixed=True), h("0d 01 01"))


def test_vector_uint() -> None:
    check_vector(VectorUInt([0xFFFFFFFF], fixed=True), h("0e 03 01 ff ff ff ff"))


def test_vector_double() -> None:
    check_vector(
        VectorDouble([1.0, -2.0]), h("0f 05 00 3f f0 00 00 00 00 00 00 c0 00 00 00 00 00 00 00")
    )


def test_vector_object() -> None:
    check_vector(
        VectorObject(["a"], type_name="String"), h("10 03 00 0d 53 74 72 69 6e 67 06 03 61")
    )
    check_vector(VectorObject([], type_name="", fixed=True), h("10 01 01 01"))


def test_vector_is_an_object_reference_target() -> None:
    vector = VectorInt([7])
    wire = h("09 05 01 0d 03 00 00 00 00 07 0d 02")
    assert amf3.encode([vector, vector]) == wire
    (decoded,) = amf3.decode(wire)
    assert isinstance(decoded, list) and decoded[0] is decoded[1]


def test_vector_equality_includes_type_and_flags() -> None:
    assert VectorInt([1]) != [1]
    assert VectorInt([1]) != VectorUInt([1])
    assert VectorInt([1], fixed=True) != VectorInt([1])
    assert VectorObject([1], "a") != VectorObject([1], "b")
    assert VectorObject([1], "a") == VectorObject([1], "a")


def test_vector_item_out_of_range() -> None:
    with pytest.raises(ValueError):
        amf3.encode(VectorInt([2**31]))
    with pytest.raises(ValueError):
        amf3.encode(VectorUInt([-1]))


def test_dictionary() -> None:
    check_vector(AMF3Dictionary([("k", 1)]), h("11 03 00 06 03 6b 04 01"))
    key: dict[str, object] = {}
    check_vector(
        AMF3Dictionary([(key, True), (1, None)], weak_keys=True),
        h("11 05 01 0a 0b 01 01 03 04 01 01"),
    )


# ---------------------------------------------------------------------------------------------
# Decoder API


def test_decoder_reads_incrementally_and_leaves_trailing_bytes() -> None:
    wire = h("06 05 61 62 04 05 06 00") + b"\xff\xff"
    decoder = amf3.Decoder(wire)
    assert decoder.read_value() == "ab"
    assert decoder.offset == 4
    assert decoder.read_value() == 5
    assert decoder.read_value() == "ab"  # the reference table lives with the decoder
    assert decoder.offset == 8 and not decoder.at_end


def test_decoder_with_offset_and_memoryview() -> None:
    wire = b"\x99\x99" + h("04 7f")
    decoder = amf3.Decoder(memoryview(wire), offset=2)
    assert decoder.read_value() == 0x7F
    assert decoder.at_end
    assert amf3.decode(memoryview(h("04 7f 03"))) == [0x7F, True]
    with pytest.raises(ValueError):
        amf3.Decoder(wire, offset=10)


def test_every_strict_prefix_of_a_value_is_truncated() -> None:
    value = [
        TypedObject("P", {"x": 1, "s": "t"}),
        {"k": [1.5, b"ab", datetime(2000, 1, 1, tzinfo=UTC)]},
        VectorDouble([1.0]),
        AMF3Dictionary([(1, 2)]),
    ]
    wire = amf3.encode(value)
    for cut in range(len(wire)):
        with pytest.raises(ProtocolError):
            amf3.Decoder(wire[:cut]).read_value()
    # With the next message's bytes behind it, the value reads the same and stops right there.
    decoder = amf3.Decoder(wire + h("04 01"))
    assert same(decoder.read_value(), value)
    assert decoder.offset == len(wire)


# ---------------------------------------------------------------------------------------------
# Encoder errors (programming errors: TypeError / ValueError, never ProtocolError)


@pytest.mark.parametrize("value", [object(), {1, 2}, 1j, datetime.now(UTC).date()])
def test_unknown_python_type_is_type_error(value: object) -> None:
    with pytest.raises(TypeError):
        amf3.encode(value)


def test_encoder_value_errors() -> None:
    with pytest.raises(ValueError):
        amf3.encode(datetime(2020, 1, 1))  # naive
    with pytest.raises(ValueError):
        amf3.encode({"": 1})  # an empty dynamic name would end the member list
    with pytest.raises(TypeError):
        amf3.encode({1: 1})
    with pytest.raises(TypeError):
        amf3.encode(TypedObject("C", {1: 1}))  # type: ignore[dict-item]
    with pytest.raises(ValueError):
        amf3.encode(10**400)
    deep: list[object] = []
    for _ in range(amf3.MAX_DEPTH):
        deep = [deep]
    with pytest.raises(ValueError):
        amf3.encode(deep)


def test_depth_bound_is_the_same_on_both_sides() -> None:
    ok: list[object] = []
    for _ in range(amf3.MAX_DEPTH - 1):
        ok = [ok]
    wire = amf3.encode(ok)  # MAX_DEPTH containers
    assert wire == h("09 03 01") * (amf3.MAX_DEPTH - 1) + h("09 01 01")
    assert len(amf3.decode(wire)) == 1
    with pytest.raises(ProtocolError, match="deeper"):
        amf3.decode(h("09 03 01") * amf3.MAX_DEPTH + h("09 01 01"))


# ---------------------------------------------------------------------------------------------
# Malformed input: ProtocolError with a readable message, nothing else


@pytest.mark.parametrize(
    ("wire", "match"),
    [
        ("", None),  # Decoder.read_value on nothing
        ("04", "ends"),  # integer without its U29
        ("04 81", "ends"),  # 2-byte U29 cut short
        ("04 ff ff ff", "ends"),  # U29 continuing past the data (4th byte missing)
        ("05 3f f0 00", "ends"),  # double cut short
        ("06 07 61 62", "ends"),  # string claims 3 bytes, has 2
        ("06 ff ff ff ff", "ends"),  # string claims 2**28-1 bytes
        ("06 00", "string #0"),  # string reference with an empty table
        ("06 05 c3 28", "UTF-8"),  # invalid UTF-8
        ("12", "unknown type marker"),
        ("ff", "unknown type marker"),
        ("0a 02", "object #1"),  # object reference out of range
        ("0a 01", "traits #0"),  # traits reference with an empty table
        ("0a 05", "traits #1"),
        ("09 ff ff ff ff 01", "claims"),  # array of 2**28-1 elements
        ("0a ff ff ff f3 01", "claims"),  # 2**25-1 sealed members
        ("0d ff ff ff ff 00", "claims"),  # Vector.<int> of 2**28-1 items
        ("0f 05 00 3f f0 00 00 00 00 00 00", "claims"),  # Vector.<Number>: 2 claimed, 1 sent
        ("11 ff ff ff ff 00", "claims"),  # dictionary of 2**28-1 pairs
        ("0c 07 61 62", "ends"),  # ByteArray cut short
        ("08 01 7f f8 00 00 00 00 00 00", "date"),  # NaN date
        ("08 01 7f f0 00 00 00 00 00 00", "date"),  # infinite date
        ("08 01 43 30 00 00 00 00 00 00", "date"),  # 2**52 ms: past year 9999
        ("0a 0b 01 03 61", "ends"),  # dynamic member without its value
        ("0a 0b 01 03 61 04 01", "ends"),  # dynamic object without its end
        ("0a 07 07 46 6f 6f 00", "externalizable"),
        ("10 03 00 01", "claims"),  # Vector.<Object> with its item missing
        ("0d 03", "ends"),  # vector without its fixed flag
    ],
)
def test_malformed(wire: str, match: str | None) -> None:
    with pytest.raises(ProtocolError, match=match):
        amf3.Decoder(h(wire)).read_value()


def test_nesting_ten_thousand_deep() -> None:
    for unit in ("09 03 01", "0a 0b 01 03 61", "10 03 00 01", "11 03 00"):
        with pytest.raises(ProtocolError, match="deeper"):
            amf3.decode(h(unit) * 10000)


def test_huge_claimed_counts_fail_fast() -> None:
    # No allocation proportional to the claim: these return at once.
    for wire in ("09 ff ff ff ff 01", "0d ff ff ff ff 00", "0a ff ff ff f3 01"):
        with pytest.raises(ProtocolError):
            amf3.decode(h(wire) + bytes(1000))


# ---------------------------------------------------------------------------------------------
# Properties

names = st.text(min_size=1, max_size=6)
dates = st.integers(min_value=-62135596800000, max_value=253402300799999).map(datetime_from_ms)
leaves = st.one_of(
    st.none(),
    st.just(UNDEFINED),
    st.booleans(),
    st.integers(min_value=amf3.INT_MIN, max_value=amf3.INT_MAX),
    st.floats(),
    st.text(max_size=12),
    st.binary(max_size=12),
    dates,
    st.text(max_size=8).map(XML),
    st.text(max_size=8).map(XMLDocument),
    st.builds(VectorInt, st.lists(st.integers(-(2**31), 2**31 - 1), max_size=4), st.booleans()),
    st.builds(VectorUInt, st.lists(st.integers(0, 2**32 - 1), max_size=4), st.booleans()),
    st.builds(VectorDouble, st.lists(st.floats(), max_size=4), st.booleans()),
)


def containers(children: st.SearchStrategy[object]) -> st.SearchStrategy[object]:
    return st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(names, children, max_size=4),
        st.builds(TypedObject, names, st.dictionaries(st.text(max_size=6), children, max_size=3)),
        st.builds(
            AMF3Array,
            st.lists(children, max_size=3),
            st.dictionaries(names, children, min_size=1, max_size=3),
        ),
        st.builds(VectorObject, st.lists(children, max_size=3), st.text(max_size=6), st.booleans()),
        st.builds(
            AMF3Dictionary, st.lists(st.tuples(children, children), max_size=3), st.booleans()
        ),
        st.builds(ArrayCollection, st.lists(children, max_size=3)),
        st.builds(ObjectProxy, st.dictionaries(names, children, max_size=3)),
    )


values = st.recursive(leaves, containers, max_leaves=16)
PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(st.lists(values, max_size=3))
def test_round_trip(items: list[object]) -> None:
    wire = amf3.encode(*items)
    decoded = amf3.decode(wire)
    assert same(decoded, items)
    assert amf3.encode(*decoded) == wire


def decode_or_protocol_error(wire: bytes) -> None:
    try:
        amf3.decode(wire)
    except ProtocolError as exc:
        assert str(exc)


@PROPERTY
@given(st.binary(max_size=300))
def test_random_bytes_only_protocol_error(wire: bytes) -> None:
    decode_or_protocol_error(wire)


@PROPERTY
@given(values, st.data())
def test_mutated_bytes_only_protocol_error(value: object, data: st.DataObject) -> None:
    wire = bytearray(amf3.encode(value))
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
