"""MPEG-TS for HLS: libavformat's mpegts muxer (through PyAV, stream copy) cut into pieces.

One muxer runs for a whole continuous run of a stream (until a discontinuity), so the
continuity counters and timestamps run on across segments, as players expect. Its output
goes to an in-memory buffer; livecast decides where segments start and this module finds
that place in the bytes:

* with video, a segment starts at a keyframe. libavformat writes PAT and PMT (and
  sometimes SDT) right before every keyframe, so the cut goes before those tables and each
  segment opens with PAT, PMT and an IDR picture with the random access indicator set;
* audio-only, a segment starts at the first audio PES at or after the wanted time that
  follows one of the periodic PAT/PMT (libavformat repeats them every 100 ms).

libavformat interleaves and holds back up to about one packet per stream, so bytes come
out a little after the frames that made them. The cut is found by counting PES starts of
the track that carries the cut (one PES per frame: ``max_delay`` is 0, so audio frames are
never packed together) and matching them, in order, to the frames muxed.
"""

from __future__ import annotations

import contextlib
from collections import deque
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import av

TS_PACKET = 188
VIDEO_PID = 0x100
AUDIO_PID = 0x101
# PAT, SDT and libavformat's default PMT PID: the tables written in front of a keyframe.
SI_PIDS = frozenset((0x0000, 0x0011, 0x1000))
MPEG_CLOCK = Fraction(1, 90000)  # PES timestamps count 90 kHz ticks

_OPTIONS = {
    "max_delay": "0",  # timestamps untouched; one PES per audio frame
    # A track that goes quiet holds the other back at most this long (µs).
    "max_interleave_delta": "500000",
}


@dataclass(frozen=True, slots=True)
class Piece:
    """Muxed bytes between two cuts; ``start``/``end`` in ms on the stream's timeline."""

    data: bytes
    start: int
    end: int


class _Sink:
    """The file object PyAV writes into."""

    __slots__ = ("buf",)

    def __init__(self) -> None:
        self.buf = bytearray()

    def write(self, data: Any) -> int:
        self.buf += data
        return len(data)


def _pid(buf: bytearray, pos: int) -> int:
    return ((buf[pos + 1] & 0x1F) << 8) | buf[pos + 2]


class TsMuxer:
    """Stream copy of H.264 (Annex B) and AAC (ADTS) / MP3 into MPEG-TS, cut on request.

    ``video``/``audio`` name the tracks (``"h264"``, ``"aac"``, ``"mp3"`` or None).
    Feed frames in publish order; ``request_cut(ts)`` asks for the next piece to start at
    the first possible place at or after ``ts``; finished pieces collect in ``pieces``.
    """

    def __init__(self, *, video: str | None, audio: str | None, audio_rate: int = 44100) -> None:
        if video is None and audio is None:
            raise ValueError("a muxer needs at least one track")
        self._sink = _Sink()
        self._container: Any = av.open(self._sink, "w", format="mpegts", options=dict(_OPTIONS))
        self._video: Any = None
        self._audio: Any = None
        if video is not None:
            self._video = self._container.add_mux_stream(video)
            self._video.id = VIDEO_PID
            self._video.time_base = MPEG_CLOCK
        if audio is not None:
            self._audio = self._container.add_mux_stream(audio, rate=audio_rate)
            self._audio.id = AUDIO_PID
            self._audio.time_base = MPEG_CLOCK
        cut_pid = VIDEO_PID if video is not None else AUDIO_PID
        # 0x47, payload_unit_start + PID: the first TS packet of a PES of the cut track.
        self._pes_start = bytes((0x47, 0x40 | (cut_pid >> 8), cut_pid & 0xFF))
        self._cut_by_video = video is not None
        self._frames: deque[tuple[int, bool]] = deque()  # (ts, key) of cut-track frames
        self._scan_pos = 0
        self._cut_at: int | None = None
        self._start: int | None = None
        self._last_dts = {VIDEO_PID: -1, AUDIO_PID: -1}
        self.pieces: list[Piece] = []
        self.closed = False

    @property
    def has_video(self) -> bool:
        return self._video is not None

    @property
    def has_audio(self) -> bool:
        return self._audio is not None

    @property
    def start(self) -> int | None:
        """Where the piece being muxed starts (None until its first bytes are out)."""
        return self._start

    @property
    def cut_pending(self) -> bool:
        return self._cut_at is not None

    @property
    def buffered(self) -> int:
        """Bytes muxed since the last cut."""
        return len(self._sink.buf)

    def request_cut(self, ts: int) -> None:
        self._cut_at = ts

    def video(self, data: bytes, dts: int, pts: int, keyframe: bool) -> None:
        dts = self._monotonic(VIDEO_PID, dts)
        self._mux(self._video, data, dts, max(pts, dts), keyframe)
        if self._cut_by_video:
            self._frames.append((dts, keyframe))
        if self._start is None or self._cut_at is not None:
            self._scan()  # otherwise the bytes wait: one scan per cut, not per frame

    def audio(self, data: bytes, ts: int) -> None:
        ts = self._monotonic(AUDIO_PID, ts)
        self._mux(self._audio, data, ts, ts, True)
        if not self._cut_by_video:
            self._frames.append((ts, True))
        if self._start is None or self._cut_at is not None:
            self._scan()

    def close(self, end: int) -> Piece | None:
        """Flush libavformat; what remains is the last piece, ending at ``end``."""
        if self.closed:
            return None
        self.closed = True
        self._container.close()
        self._cut_at = None
        self._scan()
        buf = self._sink.buf
        if not buf or self._start is None:
            return None
        piece = Piece(bytes(buf), self._start, max(end, self._start))
        buf.clear()
        return piece

    def abort(self) -> None:
        """Drop everything (the muxer failed or a segment grew past its bound)."""
        if not self.closed:
            self.closed = True
            with contextlib.suppress(av.FFmpegError):
                self._container.close()
        self._sink.buf.clear()

    # -- internals ----------------------------------------------------------------------

    def _monotonic(self, pid: int, dts: int) -> int:
        """The TS muxer refuses a DTS that does not increase: nudge it by 1 ms instead."""
        last = self._last_dts[pid]
        if dts <= last:
            dts = last + 1
        self._last_dts[pid] = dts
        return dts

    def _mux(self, stream: Any, data: bytes, dts: int, pts: int, key: bool) -> None:
        packet = av.Packet(data)  # references ``data``, no copy
        packet.stream = stream
        # Already in the streams' 90 kHz time base: a packet without a time base of its
        # own takes the stream's, with no conversion on the way in.
        packet.dts = dts * 90
        packet.pts = pts * 90
        packet.is_keyframe = key
        self._container.mux_one(packet)

    def _scan(self) -> None:
        """Match PES starts of the cut track in the new bytes to the frames muxed."""
        buf = self._sink.buf
        end = len(buf) - len(buf) % TS_PACKET
        pos = self._scan_pos
        pattern = self._pes_start
        frames = self._frames
        while pos < end:
            i = buf.find(pattern, pos, end)
            if i < 0:
                break
            if i % TS_PACKET:  # the pattern inside a payload
                pos = i - i % TS_PACKET + TS_PACKET
                continue
            pos = i + TS_PACKET
            if not frames:
                continue  # cannot happen (one PES per frame); never cut on a guess
            ts, key = frames.popleft()
            if self._start is None:
                self._start = ts
                continue
            cut_at = self._cut_at
            if cut_at is None or ts < cut_at or not key:
                continue
            begin = i
            while begin >= TS_PACKET and _pid(buf, begin - TS_PACKET) in SI_PIDS:
                begin -= TS_PACKET
            if begin == i:
                continue  # no PAT/PMT in front: audio-only waits for the next ones
            if begin:
                self.pieces.append(Piece(bytes(buf[:begin]), self._start, ts))
                del buf[:begin]
                pos -= begin
                end -= begin
            self._start = ts
            self._cut_at = None
        self._scan_pos = end
