"""Python values for the AMF types that have no exact built-in match.

Shared by :mod:`livecast.rtmp.amf0` and :mod:`livecast.rtmp.amf3` so that a value decoded by
one codec can be handed to the other.  Built-ins cover the rest: ``float``/``int``, ``bool``,
``str``, ``None``, ``dict`` (anonymous object), ``list`` (array), ``bytes`` (AMF3 ByteArray) and
``datetime`` (UTC, millisecond precision).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Final, TypeVar

__all__ = [
    "UNDEFINED",
    "XML",
    "AMF3Array",
    "AMF3Dictionary",
    "AMF3Value",
    "ArrayCollection",
    "ECMAArray",
    "ObjectProxy",
    "TypedObject",
    "Undefined",
    "VectorDouble",
    "VectorInt",
    "VectorObject",
    "VectorUInt",
    "XMLDocument",
    "datetime_from_ms",
    "datetime_to_ms",
]


class Undefined:
    """ActionScript ``undefined``: distinct from ``null`` (None) on the wire, so it gets a type.

    There is one instance, :data:`UNDEFINED`; it is falsy.
    """

    __slots__ = ()
    _instance: Undefined | None = None

    def __new__(cls) -> Undefined:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "UNDEFINED"

    def __reduce__(self) -> tuple[type[Undefined], tuple[()]]:
        return (Undefined, ())


UNDEFINED: Final = Undefined()


class ECMAArray(dict[str, object]):
    """An AMF0 ECMA array (associative array); a dict that remembers it was not an object."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"ECMAArray({dict.__repr__(self)})"


class XMLDocument(str):
    """An XML document (AMF0 0x0F, AMF3 0x07 legacy XMLDocument): its text, kept as text."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"XMLDocument({str.__repr__(self)})"


class XML(str):
    """An AMF3 E4X ``XML`` value (0x0B): its text, kept as text."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"XML({str.__repr__(self)})"


@dataclass(eq=True)
class TypedObject:
    """An object of a named (aliased) class: the class name and its members in wire order."""

    class_name: str
    values: dict[str, object] = field(default_factory=dict)


@dataclass(eq=True)
class AMF3Array:
    """An AMF3 array that has an associative (string-keyed) part besides its dense part.

    The decoder returns a plain ``list`` when the associative part is empty.
    """

    dense: list[object] = field(default_factory=list)
    assoc: dict[str, object] = field(default_factory=dict)


@dataclass(eq=True)
class AMF3Dictionary:
    """An AMF3 ``flash.utils.Dictionary``: keys may be any value, so it is a list of pairs."""

    pairs: list[tuple[object, object]] = field(default_factory=list)
    weak_keys: bool = False


@dataclass(eq=True)
class ArrayCollection:
    """``flex.messaging.io.ArrayCollection`` (externalizable): wraps one value, its source."""

    source: object = None


@dataclass(eq=True)
class ObjectProxy:
    """``flex.messaging.io.ObjectProxy`` (externalizable): wraps one value, the proxied object."""

    value: object = None


@dataclass(frozen=True)
class AMF3Value:
    """Asks the AMF0 encoder to write ``value`` as 0x11 (switch to AMF3) + its AMF3 encoding.

    Decoding gives back the bare value, not this wrapper.
    """

    value: object


_T = TypeVar("_T")


class _Vector(list[_T]):
    """Base of the AMF3 vectors: a list plus the ``fixed`` flag.

    Equality also compares the class and the flags, so a vector never equals a plain list.
    """

    __slots__ = ("fixed",)

    def __init__(self, items: Iterable[_T] = (), fixed: bool = False) -> None:
        super().__init__(items)
        self.fixed = fixed

    def _extra(self) -> tuple[object, ...]:
        return (self.fixed,)

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return False
        assert isinstance(other, _Vector)
        return self._extra() == other._extra() and list.__eq__(self, other)

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    __hash__ = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}({list.__repr__(self)}, fixed={self.fixed})"


class VectorInt(_Vector[int]):
    """AMF3 ``Vector.<int>`` (0x0D): signed 32-bit items."""

    __slots__ = ()


class VectorUInt(_Vector[int]):
    """AMF3 ``Vector.<uint>`` (0x0E): unsigned 32-bit items."""

    __slots__ = ()


class VectorDouble(_Vector[float]):
    """AMF3 ``Vector.<Number>`` (0x0F): double items."""

    __slots__ = ()


class VectorObject(_Vector[object]):
    """AMF3 ``Vector.<T>`` of objects (0x10); ``type_name`` is T's class name ("" or "*": any)."""

    __slots__ = ("type_name",)

    def __init__(
        self, items: Iterable[object] = (), type_name: str = "", fixed: bool = False
    ) -> None:
        super().__init__(items, fixed)
        self.type_name = type_name

    def _extra(self) -> tuple[object, ...]:
        return (self.fixed, self.type_name)

    def __repr__(self) -> str:
        return (
            f"VectorObject({list.__repr__(self)}, type_name={self.type_name!r}, fixed={self.fixed})"
        )


_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_MS: Final = timedelta(milliseconds=1)


def datetime_from_ms(ms: float) -> datetime:
    """Milliseconds since the epoch (an AMF date) to an aware UTC datetime.

    Raises ValueError for NaN, infinities and dates outside datetime's years 1..9999 (ActionScript
    allows wider ones); the decoders turn that into ProtocolError.
    """
    if not math.isfinite(ms):
        raise ValueError(f"date is not a finite number of milliseconds: {ms!r}")
    try:
        return _EPOCH + timedelta(milliseconds=ms)
    except OverflowError:
        raise ValueError(f"date out of range: {ms!r} ms since 1970") from None


def datetime_to_ms(value: datetime) -> float:
    """An aware datetime to whole milliseconds since the epoch (sub-millisecond part dropped).

    A naive datetime is refused (ValueError): guessing its zone would shift it silently.
    """
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"AMF dates need an aware datetime (tzinfo set), got {value!r}")
    return float((value - _EPOCH) // _ONE_MS)
