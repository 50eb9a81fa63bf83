"""The HLS segmenter fed Frames directly: where it cuts, and what the segments hold.

Frames are made by hand (an AVC config record, AVCC NAL units, AAC raw frames); the
segments are read back with libavformat's MPEG-TS demuxer (PyAV) and by looking at the
TS packet headers themselves. Expected cut points are worked out in the comments.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from livecast.hub.frame import AUDIO, VIDEO, Frame
from livecast.outputs.hls_muxer import AUDIO_PID, TS_PACKET, VIDEO_PID, TsMuxer
from livecast.outputs.hls_segmenter import Segment, Segmenter

SPS = bytes((0x67, 0x42, 0xC0, 0x1E, 0xDA, 0x02, 0x80, 0xBF, 0xE5, 0x84))
PPS = bytes((0x68, 0xCE, 0x3C, 0x80))
SPS2 = bytes((0x67, 0x42, 0xC0, 0x1F, 0xDA, 0x01, 0x40, 0x16, 0xE8, 0x40))
ASC = bytes((0x12, 0x10))  # AAC LC, 44.1 kHz (index 4), 2 channels


def avc_config(sps: bytes = SPS, pps: bytes = PPS) -> bytes:
    """AVCDecoderConfigurationRecord: version 1, profile/compat/level from the SPS,
    4-byte NALU lengths, one SPS, one PPS."""
    return (
        bytes((1, sps[1], sps[2], sps[3], 0xFF, 0xE1))
        + struct.pack(">H", len(sps))
        + sps
        + b"\x01"
        + struct.pack(">H", len(pps))
        + pps
    )


def video_header(ts: int = 0, sps: bytes = SPS) -> Frame:
    return Frame(VIDEO, ts, b"\x17\x00\x00\x00\x00" + avc_config(sps), header=True)


def video_frame(ts: int, key: bool, cts: int = 0, size: int = 300) -> Frame:
    nal = bytes((0x65 if key else 0x41,)) + bytes((ts // 40) % 251 for _ in range(size))
    head = bytes((0x17 if key else 0x27, 1)) + cts.to_bytes(3, "big", signed=True)
    return Frame(VIDEO, ts, head + struct.pack(">I", len(nal)) + nal, keyframe=key)


def audio_header(ts: int = 0) -> Frame:
    return Frame(AUDIO, ts, b"\xaf\x00" + ASC, header=True)


def audio_frame(ts: int, size: int = 200) -> Frame:
    return Frame(AUDIO, ts, b"\xaf\x01" + bytes(((ts // 20) % 256,)) * size)


def av_stream(
    seconds: float,
    *,
    gop_ms: int = 1000,
    frame_ms: int = 40,
    audio_ms: int | None = 20,
    video: bool = True,
    start: int = 0,
) -> list[Frame]:
    """Headers, then video (a keyframe every gop_ms) and audio interleaved by time,
    video first at equal times (as the keyframe must open the stream)."""
    end = start + round(seconds * 1000)
    frames: list[Frame] = []
    if video:
        frames.append(video_header(start))
    if audio_ms:
        frames.append(audio_header(start))
    timed: list[tuple[int, int, Frame]] = []
    if video:
        for ts in range(start, end, frame_ms):
            timed.append((ts, 0, video_frame(ts, (ts - start) % gop_ms == 0)))
    if audio_ms:
        for ts in range(start, end, audio_ms):
            timed.append((ts, 1, audio_frame(ts)))
    timed.sort(key=lambda t: (t[0], t[1]))
    return frames + [f for _, _, f in timed]


def run(frames: list[Frame], target_ms: int = 2000, **kw: object) -> list[Segment]:
    seg = Segmenter(target_ms, clock=lambda: 1000.0, **kw)  # type: ignore[arg-type]
    out: list[Segment] = []
    for f in frames:
        out += seg.push(f)
    return out + seg.finish()


@dataclass
class Pkt:
    kind: str
    dts: int
    pts: int
    key: bool


def _timestamp(b: bytes) -> int:
    """A 33-bit PES timestamp from its 5 bytes (ISO/IEC 13818-1 2.4.3.7)."""
    return ((b[0] >> 1) & 7) << 30 | b[1] << 22 | (b[2] >> 1) << 15 | b[3] << 7 | b[4] >> 1


def demux(data: bytes) -> list[Pkt]:
    """The PES packets of the segment, in order: kind, DTS and PTS (90 kHz), random
    access. Read straight from the TS packet and PES headers."""
    out: list[Pkt] = []
    for pos in range(0, len(data), TS_PACKET):
        pkt = data[pos : pos + TS_PACKET]
        pid = ((pkt[1] & 0x1F) << 8) | pkt[2]
        if pid not in (VIDEO_PID, AUDIO_PID) or not pkt[1] & 0x40:
            continue
        start = 4
        rai = False
        if pkt[3] & 0x20:
            rai = pkt[4] > 0 and bool(pkt[5] & 0x40)
            start += 1 + pkt[4]
        pes = pkt[start:]
        assert pes[:3] == b"\x00\x00\x01", pes[:8].hex()
        flags = pes[7] >> 6
        pts = _timestamp(pes[9:14])
        dts = _timestamp(pes[14:19]) if flags == 3 else pts
        out.append(Pkt("video" if pid == VIDEO_PID else "audio", dts, pts, rai))
    return out


def ts_packets(data: bytes) -> list[tuple[int, bool, bool, int]]:
    """(pid, payload_unit_start, random_access, continuity_counter) per TS packet."""
    assert len(data) % TS_PACKET == 0
    out = []
    for pos in range(0, len(data), TS_PACKET):
        b = data[pos : pos + 6]
        assert b[0] == 0x47, f"lost sync at {pos}"
        pid = ((b[1] & 0x1F) << 8) | b[2]
        has_af = b[3] & 0x20 and b[4] > 0
        out.append((pid, bool(b[1] & 0x40), bool(has_af and b[5] & 0x40), b[3] & 0x0F))
    return out


def assert_opens_with_tables_and_idr(data: bytes) -> None:
    pkts = ts_packets(data)
    pids = [p[0] for p in pkts[:4]]
    first_media = next(i for i, p in enumerate(pkts) if p[0] in (VIDEO_PID, AUDIO_PID))
    assert 0x0000 in pids[:first_media] and 0x1000 in pids[:first_media], pids
    pid, pusi, rai, _ = pkts[first_media]
    assert (pid, pusi, rai) == (VIDEO_PID, True, True), pkts[first_media]


# -- cut points -----------------------------------------------------------------------


def test_gop_one_second_target_two_cuts_every_other_keyframe() -> None:
    # 25 fps, keyframes at 0, 1000, ..., 9000; target 2 s: a cut at the first keyframe
    # 2000 ms or more after the segment start: 2000, 4000, 6000, 8000. The last segment
    # ends one frame after the last frame: 9960 + 40 = 10000.
    segs = run(av_stream(10))
    assert [(s.start, s.duration) for s in segs] == [
        (0, 2000),
        (2000, 2000),
        (4000, 2000),
        (6000, 2000),
        (8000, 2000),
    ]
    assert not any(s.discontinuity for s in segs)
    for s in segs:
        assert_opens_with_tables_and_idr(s.data)


def test_gop_longer_than_target_gives_whole_gops() -> None:
    # keyframes every 1.5 s: 0, 1500, 3000, 4500, 6000, 7500. From 0 the first keyframe
    # >= 2000 is 3000; from 3000 the first >= 5000 is 6000; then the end at 8960 + 40.
    segs = run(av_stream(9, gop_ms=1500))
    assert [(s.start, s.duration) for s in segs] == [(0, 3000), (3000, 3000), (6000, 3000)]


def test_segments_hold_every_frame_once_with_exact_timestamps() -> None:
    frames = av_stream(6)
    segs = run(frames)
    video = [f for f in frames if f.type_id == VIDEO and not f.header]
    audio = [f for f in frames if f.type_id == AUDIO and not f.header]
    got = [demux(s.data) for s in segs]
    got_video = [p for seg in got for p in seg if p.kind == "video"]
    got_audio = [p for seg in got for p in seg if p.kind == "audio"]
    assert [p.dts for p in got_video] == [f.timestamp * 90 for f in video]
    assert [p.dts for p in got_audio] == [f.timestamp * 90 for f in audio]
    assert [p.key for p in got_video] == [f.keyframe for f in video]
    for seg, packets in zip(segs, got, strict=True):
        first_video = next(p for p in packets if p.kind == "video")
        assert first_video.key and first_video.dts == seg.start * 90


def test_composition_time_becomes_pts() -> None:
    # PTS = DTS + composition time; a negative offset would put PTS before DTS, which
    # MPEG-TS forbids: it is clamped to DTS.
    frames = [video_header(), video_frame(0, True, cts=80), video_frame(40, False, cts=120)]
    frames += [video_frame(80, False, cts=-40)]
    (seg,) = run(frames)
    got = [(p.dts, p.pts) for p in demux(seg.data)]
    assert got == [(0, 80 * 90), (40 * 90, 160 * 90), (80 * 90, 80 * 90)]


def test_continuity_counters_run_on_across_segments() -> None:
    segs = run(av_stream(7))
    assert len(segs) == 4
    last: dict[int, int] = {}
    for s in segs:
        for pid, _, _, cc in ts_packets(s.data):
            if pid in last and pid in (VIDEO_PID, AUDIO_PID):
                assert cc == (last[pid] + 1) % 16, f"pid {pid:#x} jumps {last[pid]} -> {cc}"
            last[pid] = cc


def test_frames_before_the_first_keyframe_are_dropped() -> None:
    frames = [video_header(), audio_header()]
    frames += [video_frame(0, False), audio_frame(0), video_frame(40, False), audio_frame(20)]
    frames += av_stream(3, start=80)[2:]  # first keyframe at 80
    segs = run(frames)
    assert segs[0].start == 80
    assert demux(segs[0].data)[0].dts >= 80 * 90


def test_video_only_stream() -> None:
    segs = run(av_stream(5, audio_ms=None))
    assert [(s.start, s.duration) for s in segs] == [(0, 2000), (2000, 2000), (4000, 1000)]
    assert {p.kind for s in segs for p in demux(s.data)} == {"video"}


# -- audio-only -----------------------------------------------------------------------


def test_audio_only_cuts_on_time_at_the_tables() -> None:
    # 20 ms frames. libavformat repeats PAT/PMT every 100 ms of PCR (PCR = DTS here), so
    # frames at multiples of 100 ms follow a PAT. Target 2000: the cut is asked at 2000
    # and 2000 has a PAT in front: segments of exactly 2 s; the last ends at 5980 + 20.
    segs = run(av_stream(6, video=False))
    assert [(s.start, s.duration) for s in segs] == [(0, 2000), (2000, 2000), (4000, 2000)]
    for s in segs:
        pkts = ts_packets(s.data)
        assert pkts[0][0] in (0x0000, 0x0011)
        assert {p.kind for p in demux(s.data)} == {"audio"}


def test_audio_only_waits_for_the_next_tables() -> None:
    # target 1950: the cut is asked at the 1960 frame, which has no PAT in front; the
    # next PAT comes before 2000. From 2000, asked at 3960, cut at 4000.
    segs = run(av_stream(6, video=False), target_ms=1950)
    assert [(s.start, s.duration) for s in segs] == [(0, 2000), (2000, 2000), (4000, 2000)]


# -- discontinuities ------------------------------------------------------------------


def test_new_sequence_header_starts_a_discontinuity() -> None:
    frames = av_stream(4)
    changed = [video_header(4000, SPS2)]
    later = [f for f in av_stream(4, start=4000) if not f.header]
    segs = run(frames + changed + later)
    assert [(s.start, s.duration, s.discontinuity) for s in segs] == [
        (0, 2000, False),
        (2000, 2000, False),  # closed at the new header's time
        (4000, 2000, True),
        (6000, 2000, False),
    ]
    assert_opens_with_tables_and_idr(segs[2].data)


def test_audio_codec_switch_starts_a_discontinuity() -> None:
    # AAC until 3000, then MP3 (sound format 2, 44 kHz stereo): the run closes at 3000
    # and restarts at the next keyframe (4000) with an MP3 track.
    frames = [f for f in av_stream(5) if not (f.type_id == AUDIO and f.timestamp >= 3000)]
    mp3 = [Frame(AUDIO, ts, b"\x2f" + bytes(100)) for ts in range(3000, 5000, 26)]
    frames = sorted(frames[2:] + mp3, key=lambda f: (f.timestamp, f.type_id == AUDIO))
    segs = run([video_header(), audio_header(), *frames])
    assert [(s.start, s.duration, s.discontinuity) for s in segs] == [
        (0, 2000, False),
        (2000, 1000, False),
        (4000, 1000, True),
    ]
    assert {p.kind for p in demux(segs[2].data)} == {"video", "audio"}


def test_repeated_identical_headers_change_nothing() -> None:
    frames = av_stream(4)
    frames.insert(60, video_header())
    frames.insert(90, audio_header())
    segs = run(frames)
    assert [(s.start, s.duration, s.discontinuity) for s in segs] == [
        (0, 2000, False),
        (2000, 2000, False),
    ]


def test_restart_marks_the_first_segment() -> None:
    segs = run(av_stream(3, start=5001), discontinuity=True)
    assert [s.discontinuity for s in segs] == [True, False]
    assert segs[0].start == 5001


def test_program_date_time_follows_the_timeline() -> None:
    # the clock says 1000.0 at the first frame (ts 500): a segment starting at 2500 began
    # at 1002.0
    segs = run(av_stream(5, start=500))
    assert [s.wall for s in segs] == [1000.0, 1002.0, 1004.0]


# -- bad input ------------------------------------------------------------------------


def test_malformed_frames_are_skipped() -> None:
    frames = av_stream(4)
    junk = [
        Frame(VIDEO, 1000, b""),
        Frame(VIDEO, 1000, b"\x17\x01"),  # truncated header
        Frame(VIDEO, 1000, b"\x17\x01\x00\x00\x00\x00\x00\x00\x09\x65"),  # NALU overruns
        Frame(VIDEO, 1000, b"\x17\x00\x00\x00\x00\x01"),  # truncated config record
        Frame(VIDEO, 1000, b"\x12\x00"),  # Sorenson H.263: not carried
        Frame(AUDIO, 1000, b"\xaf"),
        Frame(AUDIO, 1000, b"\x6f\x00\x00"),  # Nellymoser: not carried
        Frame(AUDIO, 1000, b"\xaf\x00\x00\x00"),  # AudioSpecificConfig with object type 0
        Frame(18, 1000, b"\x02\x00\x03abc"),
    ]
    segs = run(frames[:60] + junk + frames[60:])
    assert [(s.start, s.duration) for s in segs] == [(0, 2000), (2000, 2000)]


def test_timestamps_that_do_not_increase_are_nudged() -> None:
    frames = [video_header(), audio_header(), video_frame(0, True), audio_frame(0)]
    frames += [audio_frame(0), video_frame(0, False), video_frame(40, False), audio_frame(10)]
    (seg,) = run(frames)
    got = demux(seg.data)
    assert [p.dts // 90 for p in got if p.kind == "video"] == [0, 1, 40]
    assert [p.dts // 90 for p in got if p.kind == "audio"] == [0, 1, 10]


def test_segment_without_keyframes_is_dropped_at_its_bound() -> None:
    frames = [video_header(), video_frame(0, True)]
    frames += [video_frame(ts, False, size=2000) for ts in range(40, 4000, 40)]
    frames += [video_frame(4000, True)] + [video_frame(ts, False) for ts in range(4040, 6000, 40)]
    frames += [video_frame(6000, True), video_frame(6040, False)]
    seg = Segmenter(2000, clock=lambda: 0.0, max_segment_bytes=100_000)
    out = [s for f in frames for s in seg.push(f)] + seg.finish()
    assert seg.dropped_segments == 1
    # the run restarts at the next keyframe, flagged as a discontinuity
    assert [(s.start, s.duration, s.discontinuity) for s in out] == [
        (4000, 2000, True),
        (6000, 80, False),
    ]


def test_muxer_refuses_an_empty_track_list() -> None:
    with pytest.raises(ValueError):
        TsMuxer(video=None, audio=None)


def test_time_going_back_starts_a_new_run() -> None:
    # 0..4960 ms, then the encoder's clock restarts at 1000: the run closes at the jump
    # (its last segment ends one frame after 4960) and a new one starts on the keyframe
    # at 1000, flagged; PROGRAM-DATE-TIME re-anchors there (the clock still says 1000.0).
    # The second part's last video frame is 1000 + 40 * 112 = 5480: it ends at 5520.
    frames = av_stream(5) + [f for f in av_stream(4.5, start=1000) if not f.header]
    segs = run(frames)
    assert [(s.start, s.duration, s.discontinuity) for s in segs] == [
        (0, 2000, False),
        (2000, 2000, False),
        (4000, 1000, False),
        (1000, 2000, True),
        (3000, 2000, False),
        (5000, 520, False),
    ]
    assert [s.wall for s in segs] == [1000.0, 1002.0, 1004.0, 1000.0, 1002.0, 1004.0]


def test_small_steps_back_are_jitter_not_jumps() -> None:
    frames = av_stream(4)
    frames.insert(80, audio_frame(1200))  # 400 ms behind: nudged, not a new run
    segs = run(frames)
    assert [(s.start, s.duration, s.discontinuity) for s in segs] == [
        (0, 2000, False),
        (2000, 2000, False),
    ]


# -- fuzzing: whatever a publisher sends, the segmenter neither raises nor emits junk ------

_VALID = [f.payload for f in av_stream(0.1)] + [
    video_header(0, SPS2).payload,
    b"\x2f" + bytes(50),  # MP3
    b"\x27\x02\x00\x00\x00",  # AVC end of sequence
]


@st.composite
def _payloads(draw: st.DrawFn) -> bytes:
    if draw(st.booleans()):
        return draw(st.binary(max_size=40))
    data = bytearray(draw(st.sampled_from(_VALID)))
    for _ in range(draw(st.integers(0, 3))):
        data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
    return bytes(data[: draw(st.integers(0, len(data)))])


_frames = st.lists(
    st.builds(
        Frame,
        st.sampled_from([AUDIO, VIDEO, 18]),
        st.integers(0, 30_000),
        _payloads(),
        keyframe=st.booleans(),
        header=st.booleans(),
    ),
    max_size=40,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(prefix=st.sampled_from([[], av_stream(2.1)]), frames=_frames)
def test_fuzzed_frames_never_raise(prefix: list[Frame], frames: list[Frame]) -> None:
    for seg in run(prefix + frames, target_ms=500):
        assert seg.duration >= 0
        assert seg.data and len(seg.data) % TS_PACKET == 0
        assert seg.data[::TS_PACKET] == b"\x47" * (len(seg.data) // TS_PACKET)
