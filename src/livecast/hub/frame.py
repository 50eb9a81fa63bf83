"""The unit that flows through the hub: one immutable media or data message."""

from __future__ import annotations

from collections.abc import Callable, Hashable

AUDIO = 8
VIDEO = 9
DATA = 18


class Frame:
    """One audio, video or data message on the stream's timeline.

    Shared by every subscriber; each output's wire form (RTMP chunks for a chunk size
    and stream id, an FLV tag) is built on first use and cached here, so a thousand
    subscribers cost one encode.
    """

    __slots__ = ("_wire", "header", "keyframe", "payload", "timestamp", "type_id")

    def __init__(
        self,
        type_id: int,
        timestamp: int,
        payload: bytes,
        *,
        keyframe: bool = False,
        header: bool = False,
    ) -> None:
        self.type_id = type_id
        self.timestamp = timestamp
        self.payload = payload
        self.keyframe = keyframe  # a video frame a decoder can start from
        self.header = header  # a codec sequence header (AVC/HEVC config, AudioSpecificConfig)
        self._wire: dict[Hashable, bytes] = {}

    def wire(self, key: Hashable, encode: Callable[[Frame], bytes]) -> bytes:
        data = self._wire.get(key)
        if data is None:
            data = self._wire[key] = encode(self)
        return data

    def __len__(self) -> int:
        return len(self.payload)

    def __repr__(self) -> str:
        kind = {AUDIO: "audio", VIDEO: "video", DATA: "data"}.get(self.type_id, str(self.type_id))
        flags = ("K" if self.keyframe else "") + ("H" if self.header else "")
        return f"<Frame {kind} ts={self.timestamp} {len(self.payload)}B {flags}>"
