"""Where HLS segments start and end.

A segment starts on a video keyframe once the current one has lasted the target duration,
so its real length is a whole number of GOPs; an audio-only stream is cut on time. Frames
come from the hub (FLV tag bodies) and leave as MPEG-TS through one ``TsMuxer`` per
continuous run: a new codec configuration (a different sequence header, a track that
appears late) closes the run, and the next segment is marked as a discontinuity.

Pure bookkeeping around the muxer: no I/O, no clock of its own (``clock`` gives the wall
time for EXT-X-PROGRAM-DATE-TIME). Malformed frames are skipped, never raised.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import av

from livecast.hub.frame import AUDIO, VIDEO, Frame
from livecast.media.aac import AacConfig, adts_header, parse_audio_specific_config
from livecast.media.avc import START_CODE, annexb_from_avcc, parse_avc_decoder_config
from livecast.media.tags import classify_audio, classify_video
from livecast.outputs.hls_muxer import Piece, TsMuxer
from livecast.rtmp.errors import ProtocolError

log = logging.getLogger("livecast.hls")

#: Audio with no video sequence header for this long: the stream is audio-only.
AUDIO_ONLY_AFTER_MS = 1000
#: A segment that grows past this (no keyframe for ages) is dropped, bounding memory.
MAX_SEGMENT_BYTES = 64 * 1024 * 1024
_MAX_FRAME_INTERVAL_MS = 1000
#: Timestamps going back by more than this start a new run (a discontinuity).
BACKWARD_JUMP_MS = 500


@dataclass(frozen=True, slots=True)
class Segment:
    """One finished MPEG-TS segment; ``start``/``duration`` in ms on the stream timeline."""

    data: bytes
    start: int
    duration: int
    discontinuity: bool
    wall: float  # Unix time of the first frame, for EXT-X-PROGRAM-DATE-TIME


class _Track:
    """Last timestamp and frame interval of one track: where the last segment ends."""

    __slots__ = ("interval", "last")

    def __init__(self) -> None:
        self.last = -1
        self.interval = 0

    def add(self, ts: int) -> None:
        if self.last >= 0 and 0 < ts - self.last <= _MAX_FRAME_INTERVAL_MS:
            self.interval = ts - self.last
        self.last = ts

    @property
    def end(self) -> int:
        return self.last + self.interval if self.last >= 0 else -1


class Segmenter:
    """Frames in, ``Segment``s out (``push`` and ``finish`` return those just finished)."""

    def __init__(
        self,
        target_ms: int,
        *,
        clock: Callable[[], float],
        discontinuity: bool = False,
        max_segment_bytes: int = MAX_SEGMENT_BYTES,
        name: str = "",
    ) -> None:
        self.target_ms = max(1, target_ms)
        self._clock = clock
        self._max_bytes = max_segment_bytes
        self._name = name
        self._next_discontinuity = discontinuity
        self._anchor: tuple[int, float] | None = None
        self._mux: TsMuxer | None = None
        # video (H.264 only)
        self._avc_raw: bytes | None = None
        self._avc_nal_length = 4
        self._avc_prefix = b""
        # audio (AAC or MP3)
        self._audio_codec: str | None = None
        self._audio_raw: bytes | None = None
        self._aac: AacConfig | None = None
        self._audio_rate = 44100
        self._pending_audio: list[tuple[int, bytes]] = []
        self._video_track = _Track()
        self._audio_track = _Track()
        self._warned: set[str] = set()
        self.dropped_segments = 0

    # -- public -------------------------------------------------------------------------

    def push(self, frame: Frame) -> list[Segment]:
        if self._anchor is None:
            self._anchor = (frame.timestamp, self._clock())
        try:
            if frame.type_id == VIDEO:
                return self._jumped(frame) + self._on_video(frame)
            if frame.type_id == AUDIO:
                return self._jumped(frame) + self._on_audio(frame)
        except av.FFmpegError as exc:
            self._warn("mux", f"muxer error, starting a new run: {exc}")
            self._drop_run()
        return []

    def _jumped(self, frame: Frame) -> list[Segment]:
        """Time that goes back by more than a jitter (an encoder reset its clock) ends the
        run: the muxer would otherwise squeeze the frames 1 ms apart until time caught up."""
        if self._mux is None or frame.header:
            return []
        last = max(self._video_track.last, self._audio_track.last)
        if last < 0 or frame.timestamp >= last - BACKWARD_JUMP_MS:
            return []
        self._warn("jump", f"timestamps went back from {last} to {frame.timestamp} ms")
        out = self._close_run()
        self._anchor = (frame.timestamp, self._clock())
        return out

    def finish(self) -> list[Segment]:
        """The publisher left: flush the last segment."""
        out: list[Segment] = []
        if self._mux is None and self._pending_audio and self._avc_raw is None:
            self._start_audio_only()
        if self._mux is not None:
            try:
                out = self._close_run()
            except av.FFmpegError as exc:
                self._warn("mux", f"muxer error at the end: {exc}")
                self._drop_run()
        self._pending_audio = []
        return out

    # -- video --------------------------------------------------------------------------

    def _on_video(self, frame: Frame) -> list[Segment]:
        try:
            info = classify_video(frame.payload)
        except ProtocolError:
            return []
        if info.command or info.metadata or info.multitrack or info.end_of_sequence:
            return []
        if info.codec != "avc":
            self._warn("video", f"video codec {info.codec!r} is not carried in HLS")
            return []
        body = memoryview(frame.payload)[info.data_offset :]
        ts = frame.timestamp
        if info.sequence_header:
            return self._video_config(bytes(body), ts)
        if self._avc_raw is None:
            return []
        try:
            data = annexb_from_avcc(body, self._avc_nal_length)
        except ProtocolError:
            return []
        if not data:
            return []
        key = info.keyframe
        out: list[Segment] = []
        mux = self._mux
        if mux is None or not mux.has_video:
            if not key:
                return []  # a run starts on a keyframe
            if mux is not None:
                out = self._close_run(ts)  # audio-only so far: video joins in a new run
            mux = self._start_run(video=True)
        elif key and self._cut_due(mux, ts):
            mux.request_cut(ts)
        if key:
            data = self._avc_prefix + data
        mux.video(data, ts, ts + info.composition_time, key)
        self._video_track.add(ts)
        return out + self._collect()

    def _video_config(self, raw: bytes, ts: int) -> list[Segment]:
        if raw == self._avc_raw:
            return []  # repeated, unchanged
        try:
            config = parse_avc_decoder_config(raw)
        except ProtocolError as exc:
            self._warn("avcc", f"bad AVC sequence header: {exc}")
            return []
        out = self._close_run(ts) if self._mux is not None else []
        self._avc_raw = raw
        self._avc_nal_length = config.nal_length_size
        self._avc_prefix = b"".join(START_CODE + ps for ps in (*config.sps, *config.pps))
        self._pending_audio = []
        return out

    # -- audio --------------------------------------------------------------------------

    def _on_audio(self, frame: Frame) -> list[Segment]:
        try:
            info = classify_audio(frame.payload)
        except ProtocolError:
            return []
        if info.multitrack or info.end_of_sequence:
            return []
        codec = info.codec
        if codec not in ("aac", "mp3"):
            self._warn("audio", f"audio codec {codec!r} is not carried in HLS")
            return []
        body = memoryview(frame.payload)[info.data_offset :]
        ts = frame.timestamp
        out: list[Segment] = []
        if codec == "aac":
            if info.sequence_header:
                return self._audio_config(bytes(body), ts)
            if self._aac is None or self._audio_codec != "aac" or not len(body):
                return []
            try:
                data = adts_header(self._aac, len(body)) + body
            except ProtocolError:
                return []
        else:
            if self._audio_codec != "mp3" or info.sample_rate != self._audio_rate:
                out = self._close_run(ts) if self._mux is not None else []
                self._audio_codec, self._audio_raw, self._aac = "mp3", None, None
                self._audio_rate = info.sample_rate
            data = bytes(body)
            if not data:
                return out
        mux = self._mux
        if mux is None:
            if self._avc_raw is not None:
                return out  # waiting for the first keyframe
            self._pending_audio.append((ts, data))
            if ts - self._pending_audio[0][0] >= AUDIO_ONLY_AFTER_MS:
                self._start_audio_only()
                return out + self._collect()
            return out
        if not mux.has_audio:
            return out
        self._mux_audio(mux, data, ts)
        return out + self._collect()

    def _audio_config(self, raw: bytes, ts: int) -> list[Segment]:
        if raw == self._audio_raw:
            return []
        try:
            config = parse_audio_specific_config(raw)
            adts_header(config, 0)  # can it be framed in ADTS at all?
        except ProtocolError as exc:
            self._warn("asc", f"AAC configuration not carried in HLS: {exc}")
            return []
        out = self._close_run(ts) if self._mux is not None else []
        self._audio_codec, self._audio_raw, self._aac = "aac", raw, config
        self._audio_rate = config.sample_rate
        self._pending_audio = []
        return out

    def _start_audio_only(self) -> None:
        mux = self._start_run(video=False)
        for ts, data in self._pending_audio:
            self._mux_audio(mux, data, ts)
        self._pending_audio = []

    def _mux_audio(self, mux: TsMuxer, data: bytes, ts: int) -> None:
        if not mux.has_video and self._cut_due(mux, ts):
            mux.request_cut(ts)
        mux.audio(data, ts)
        self._audio_track.add(ts)

    def _cut_due(self, mux: TsMuxer, ts: int) -> bool:
        start = mux.start
        return start is not None and not mux.cut_pending and ts - start >= self.target_ms

    # -- runs and segments --------------------------------------------------------------

    def _start_run(self, *, video: bool) -> TsMuxer:
        audio = self._audio_codec if (self._aac is not None or self._audio_codec == "mp3") else None
        self._mux = TsMuxer(
            video="h264" if video else None, audio=audio, audio_rate=self._audio_rate
        )
        self._video_track = _Track()
        self._audio_track = _Track()
        return self._mux

    def _close_run(self, end: int | None = None) -> list[Segment]:
        """End the current run (codec change or publisher gone); the next segment
        after a change starts a discontinuity."""
        mux = self._mux
        if mux is None:
            return []
        self._mux = None
        if end is None:
            # durations follow the cut track (video keyframes, else audio), as cuts do
            end = self._video_track.end if mux.has_video else self._audio_track.end
        out = self._collect(mux)
        piece = mux.close(end)
        if piece is not None:
            out.append(self._segment(piece))
        self._next_discontinuity = True
        return out

    def _drop_run(self) -> None:
        if self._mux is not None:
            self._mux.abort()
            self._mux = None
            self.dropped_segments += 1
        self._next_discontinuity = True

    def _collect(self, mux: TsMuxer | None = None) -> list[Segment]:
        live = mux is None
        mux = mux or self._mux
        if mux is None:
            return []
        if live and mux.buffered > self._max_bytes:
            self._warn("size", f"no keyframe for {mux.buffered} bytes: segment dropped")
            self._drop_run()
            return []
        if not mux.pieces:
            return []
        pieces, mux.pieces = mux.pieces, []
        return [self._segment(p) for p in pieces]

    def _segment(self, piece: Piece) -> Segment:
        discontinuity, self._next_discontinuity = self._next_discontinuity, False
        anchor_ts, anchor_wall = self._anchor or (piece.start, self._clock())
        wall = anchor_wall + (piece.start - anchor_ts) / 1000.0
        return Segment(piece.data, piece.start, piece.end - piece.start, discontinuity, wall)

    def _warn(self, key: str, message: str) -> None:
        if key not in self._warned:
            self._warned.add(key)
            log.warning("hls %s: %s", self._name, message)
