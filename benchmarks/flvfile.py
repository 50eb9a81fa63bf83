"""Read the test FLV into memory as (type, timestamp, payload) tags.

A stop-gap until ``livecast.media.flv`` lands; the bench only reads its own file.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import NamedTuple

_TAG = struct.Struct(">BBBBBBBBBBB")


class Tag(NamedTuple):
    type_id: int  # 8 audio, 9 video, 18 script data
    timestamp: int  # ms
    payload: bytes


def read_tags(path: Path) -> list[Tag]:
    data = path.read_bytes()
    if data[:3] != b"FLV":
        raise ValueError(f"{path}: not an FLV file")
    pos = struct.unpack_from(">I", data, 5)[0] + 4  # header, then PreviousTagSize0
    tags: list[Tag] = []
    while pos + 11 <= len(data):
        t, s0, s1, s2, t0, t1, t2, tx, _, _, _ = _TAG.unpack_from(data, pos)
        size = (s0 << 16) | (s1 << 8) | s2
        ts = (tx << 24) | (t0 << 16) | (t1 << 8) | t2
        end = pos + 11 + size
        if end > len(data):
            break
        tags.append(Tag(t & 0x1F, ts, data[pos + 11 : end]))
        pos = end + 4
    return tags
