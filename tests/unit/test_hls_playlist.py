"""The live media playlist: text written by hand from RFC 8216, and read back with m3u8."""

from __future__ import annotations

import m3u8
import pytest

from livecast.outputs.hls_playlist import (
    Entry,
    Playlist,
    format_date_time,
    format_duration,
)

T0 = 1_700_000_000.0  # 2023-11-14T22:13:20Z


def entry(seq: int, ms: int = 2000, *, disc: bool = False, wall: float | None = None) -> Entry:
    return Entry(seq, f"i-{seq}.ts", ms, disc, T0 + 2 * seq if wall is None else wall)


def test_first_segment() -> None:
    p = Playlist(window=3, target_s=2.0)
    assert p.add(entry(0)) == []
    assert p.render() == (
        "#EXTM3U\n"
        "#EXT-X-VERSION:3\n"
        "#EXT-X-TARGETDURATION:2\n"
        "#EXT-X-MEDIA-SEQUENCE:0\n"
        "#EXT-X-PROGRAM-DATE-TIME:2023-11-14T22:13:20.000Z\n"
        "#EXTINF:2.000,\n"
        "i-0.ts\n"
    )


def test_window_slides_and_media_sequence_follows() -> None:
    p = Playlist(window=3, target_s=2.0)
    removed = [p.add(entry(seq, 2000 + seq)) for seq in range(5)]
    assert removed[:3] == [[], [], []]
    assert [[e.seq for e in r] for r in removed[3:]] == [[0], [1]]
    assert p.media_sequence == 2
    # the 2.004 s segment makes the target 3 (the ceiling of the longest)
    assert p.render() == (
        "#EXTM3U\n"
        "#EXT-X-VERSION:3\n"
        "#EXT-X-TARGETDURATION:3\n"
        "#EXT-X-MEDIA-SEQUENCE:2\n"
        "#EXT-X-PROGRAM-DATE-TIME:2023-11-14T22:13:24.000Z\n"
        "#EXTINF:2.002,\n"
        "i-2.ts\n"
        "#EXT-X-PROGRAM-DATE-TIME:2023-11-14T22:13:26.000Z\n"
        "#EXTINF:2.003,\n"
        "i-3.ts\n"
        "#EXT-X-PROGRAM-DATE-TIME:2023-11-14T22:13:28.000Z\n"
        "#EXTINF:2.004,\n"
        "i-4.ts\n"
    )


def test_target_duration_never_shrinks() -> None:
    p = Playlist(window=2, target_s=2.0)
    p.add(entry(0, 4500))
    assert p.target_duration == 5
    for seq in range(1, 4):
        p.add(entry(seq, 2000))
    assert p.target_duration == 5  # 4.5 s left the window; the target stays


def test_target_duration_at_least_the_configured_target() -> None:
    p = Playlist(window=2, target_s=2.5)
    p.add(entry(0, 1000))
    assert p.target_duration == 3


def test_endlist_and_resume() -> None:
    p = Playlist(window=3, target_s=2.0)
    p.add(entry(0))
    p.end()
    assert p.render().endswith("i-0.ts\n#EXT-X-ENDLIST\n")
    p.resume()
    assert "ENDLIST" not in p.render()
    p.end()
    p.add(entry(1, disc=True))  # a new segment means live again
    assert "ENDLIST" not in p.render()


def test_discontinuity_and_its_sequence() -> None:
    p = Playlist(window=2, target_s=2.0)
    p.add(entry(0))
    p.add(entry(1))
    p.add(entry(2, disc=True))  # the publisher restarted before segment 2
    assert p.render() == (
        "#EXTM3U\n"
        "#EXT-X-VERSION:3\n"
        "#EXT-X-TARGETDURATION:2\n"
        "#EXT-X-MEDIA-SEQUENCE:1\n"
        "#EXT-X-PROGRAM-DATE-TIME:2023-11-14T22:13:22.000Z\n"
        "#EXTINF:2.000,\n"
        "i-1.ts\n"
        "#EXT-X-DISCONTINUITY\n"
        "#EXT-X-PROGRAM-DATE-TIME:2023-11-14T22:13:24.000Z\n"
        "#EXTINF:2.000,\n"
        "i-2.ts\n"
    )
    # segment 1 leaves: the tag in front of segment 2 leaves with it, and
    # EXT-X-DISCONTINUITY-SEQUENCE counts it (RFC 8216 6.2.1)
    p.add(entry(3))
    assert p.render() == (
        "#EXTM3U\n"
        "#EXT-X-VERSION:3\n"
        "#EXT-X-TARGETDURATION:2\n"
        "#EXT-X-MEDIA-SEQUENCE:2\n"
        "#EXT-X-DISCONTINUITY-SEQUENCE:1\n"
        "#EXT-X-PROGRAM-DATE-TIME:2023-11-14T22:13:24.000Z\n"
        "#EXTINF:2.000,\n"
        "i-2.ts\n"
        "#EXT-X-PROGRAM-DATE-TIME:2023-11-14T22:13:26.000Z\n"
        "#EXTINF:2.000,\n"
        "i-3.ts\n"
    )


def test_m3u8_reads_it_back() -> None:
    p = Playlist(window=4, target_s=2.0)
    for seq in range(6):
        p.add(entry(seq, 1960 + 10 * seq, disc=seq == 4))
    p.end()
    parsed = m3u8.loads(p.render())
    assert parsed.version == 3
    assert parsed.target_duration == 3
    assert parsed.media_sequence == 2
    assert parsed.is_endlist
    assert [s.uri for s in parsed.segments] == ["i-2.ts", "i-3.ts", "i-4.ts", "i-5.ts"]
    assert [s.duration for s in parsed.segments] == [1.98, 1.99, 2.0, 2.01]
    assert [s.discontinuity for s in parsed.segments] == [False, False, True, False]
    assert parsed.segments[0].current_program_date_time.timestamp() == T0 + 4


def test_segments_must_follow_each_other() -> None:
    p = Playlist(window=3, target_s=2.0)
    p.add(entry(0))
    with pytest.raises(ValueError):
        p.add(entry(2))


def test_formats() -> None:
    assert format_duration(0) == "0.000"
    assert format_duration(2002) == "2.002"
    assert format_duration(61_050) == "61.050"
    assert format_date_time(0.0) == "1970-01-01T00:00:00.000Z"
    assert format_date_time(T0 + 0.0456) == "2023-11-14T22:13:20.046Z"
    assert format_date_time(T0 + 0.9996) == "2023-11-14T22:13:21.000Z"
