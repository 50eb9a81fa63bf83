"""The live media playlist (RFC 8216): a sliding window over a stream's segments.

Pure text bookkeeping. EXT-X-TARGETDURATION is the ceiling of the longest segment the
playlist ever listed (at least the configured target), and it never shrinks: RFC 8216
forbids changing it, and every EXTINF must stay within it. Discontinuities that slide
out of the window are counted in EXT-X-DISCONTINUITY-SEQUENCE so that players keep
their timelines in step.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime

VERSION = 3  # decimal EXTINF durations


@dataclass(frozen=True, slots=True)
class Entry:
    seq: int
    uri: str
    duration_ms: int
    discontinuity: bool
    wall: float  # Unix time of the segment's first frame


def format_date_time(wall: float) -> str:
    """ISO 8601 with milliseconds, as EXT-X-PROGRAM-DATE-TIME wants."""
    moment = datetime.fromtimestamp(round(wall, 3), UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def format_duration(ms: int) -> str:
    return f"{ms // 1000}.{ms % 1000:03d}"


class Playlist:
    """The last ``window`` segments of a stream, rendered on demand."""

    def __init__(self, window: int, target_s: float) -> None:
        if window < 1:
            raise ValueError("window must be at least 1")
        self.window = window
        self.target_duration = max(1, math.ceil(target_s))
        self.entries: deque[Entry] = deque()
        self.media_sequence = 0
        self.discontinuity_sequence = 0
        self.ended = False
        self._text: str | None = None

    def add(self, entry: Entry) -> list[Entry]:
        """List a new segment; returns the segments that slid out of the window."""
        if self.entries and entry.seq != self.entries[-1].seq + 1:
            raise ValueError(f"segment {entry.seq} does not follow {self.entries[-1].seq}")
        self.entries.append(entry)
        self.target_duration = max(self.target_duration, math.ceil(entry.duration_ms / 1000))
        self.ended = False
        removed: list[Entry] = []
        while len(self.entries) > self.window:
            old = self.entries.popleft()
            removed.append(old)
            if self.entries[0].discontinuity:
                # the tag in front of the new first segment leaves with this one
                self.discontinuity_sequence += 1
        self.media_sequence = self.entries[0].seq
        self._text = None
        return removed

    def end(self) -> None:
        """The publisher stopped: EXT-X-ENDLIST."""
        self.ended = True
        self._text = None

    def resume(self) -> None:
        """A publisher is back: the playlist is live again."""
        self.ended = False
        self._text = None

    @property
    def next_seq(self) -> int:
        return self.entries[-1].seq + 1 if self.entries else self.media_sequence

    def render(self) -> str:
        if self._text is None:
            self._text = self._render()
        return self._text

    def _render(self) -> str:
        lines = [
            "#EXTM3U",
            f"#EXT-X-VERSION:{VERSION}",
            f"#EXT-X-TARGETDURATION:{self.target_duration}",
            f"#EXT-X-MEDIA-SEQUENCE:{self.media_sequence}",
        ]
        if self.discontinuity_sequence:
            lines.append(f"#EXT-X-DISCONTINUITY-SEQUENCE:{self.discontinuity_sequence}")
        for i, e in enumerate(self.entries):
            if e.discontinuity and i:
                lines.append("#EXT-X-DISCONTINUITY")
            lines.append(f"#EXT-X-PROGRAM-DATE-TIME:{format_date_time(e.wall)}")
            lines.append(f"#EXTINF:{format_duration(e.duration_ms)},")
            lines.append(e.uri)
        if self.ended:
            lines.append("#EXT-X-ENDLIST")
        return "\n".join(lines) + "\n"
