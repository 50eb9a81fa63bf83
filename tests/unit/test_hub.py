"""The live core without sockets: groups, drop policy, state bursts, timelines."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import pytest

from livecast.hub.frame import Frame
from livecast.hub.registry import Hub, StreamBusy
from livecast.hub.stream import Timeline
from livecast.hub.subscriber import Flusher, Subscriber

AAC_HEADER = b"\xaf\x00\x12\x10"
AVC_HEADER = b"\x17\x00\x00\x00\x00\x01\x64\x00\x1f\xff"
META = b"\x02\x00\x0d@setDataFrame\x02\x00\x0aonMetaData\x03\x00\x00\x09"


def key_frame(n: int) -> bytes:
    return b"\x17\x01\x00\x00\x00" + bytes([n]) * 10


def inter_frame(n: int) -> bytes:
    return b"\x27\x01\x00\x00\x00" + bytes([n]) * 10


def audio(n: int) -> bytes:
    return b"\xaf\x01" + bytes([n]) * 4


class Sink:
    """A transport stand-in that records writes and reports a chosen buffer size."""

    def __init__(self) -> None:
        self.data: list[bytes] = []
        self.buffered = 0
        self.writes = 0

    def write(self, data: bytes) -> None:
        self.writelines([data])

    def writelines(self, data: Iterable[bytes]) -> None:
        self.writes += 1
        self.data.extend(data)

    def get_write_buffer_size(self) -> int:
        return self.buffered

    def is_closing(self) -> bool:
        return False


class Loop:
    """call_soon / call_later recorded, run by hand."""

    def __init__(self) -> None:
        self.soon: list[Callable[[], None]] = []
        self.later: list[tuple[float, Callable[[], None]]] = []

    def call_soon(self, fn: Callable[[], None]) -> None:
        self.soon.append(fn)

    def call_later(self, delay: float, fn: Callable[[], None]) -> None:
        self.later.append((delay, fn))

    def run(self) -> None:
        while self.soon:
            self.soon.pop(0)()


def make_hub(merge_ms: int = 0) -> tuple[Hub, Loop]:
    loop = Loop()
    return Hub(Flusher(loop.call_soon, loop.call_later, merge_ms)), loop


def encoder(calls: list[Frame]) -> Callable[[Frame], bytes]:
    def encode(frame: Frame) -> bytes:
        calls.append(frame)
        return b"%d:" % frame.type_id + frame.payload

    return encode


def test_subscribers_of_one_wire_form_share_one_encode_and_one_write_per_flush() -> None:
    hub, loop = make_hub()
    calls: list[Frame] = []
    sinks = [Sink() for _ in range(50)]
    for sink in sinks:
        hub.subscribe("live", "a", Subscriber(sink, "k", encoder(calls)))
    stream, _ = hub.start_publishing("live", "a", object())
    for ts, payload in enumerate([AVC_HEADER, key_frame(1), inter_frame(2)]):
        stream.publish(9, ts, payload)
    stream.publish(8, 3, audio(3))
    loop.run()
    assert len(calls) == 4  # one encode per frame, not per subscriber
    assert {s.writes for s in sinks} == {1}  # four messages, one write per subscriber
    assert sinks[0].data == sinks[49].data and len(sinks[0].data) == 4


def test_late_joiner_gets_metadata_headers_and_the_gop_from_the_last_keyframe() -> None:
    hub, loop = make_hub()
    stream, _ = hub.start_publishing("live", "a", object())
    stream.publish(18, 0, META)
    stream.publish(9, 0, AVC_HEADER)
    stream.publish(8, 0, AAC_HEADER)
    stream.publish(9, 0, key_frame(1))
    stream.publish(9, 33, inter_frame(2))
    stream.publish(9, 66, key_frame(3))
    stream.publish(8, 70, audio(4))
    stream.publish(18, 71, b"\x02\x00\x0aonTextData\x05")  # a moment, not state
    sink = Sink()
    hub.subscribe("live", "a", Subscriber(sink, "k", lambda f: f.payload))
    loop.run()
    assert sink.data[0].startswith(b"\x02\x00\x0aonMetaData")  # @setDataFrame stripped
    assert sink.data[1:] == [AVC_HEADER, AAC_HEADER, key_frame(3), audio(4)]


def test_a_congested_subscriber_skips_to_the_next_keyframe_with_no_audio_before_it() -> None:
    hub, loop = make_hub()
    slow, fast = Sink(), Sink()
    hub.subscribe("live", "a", Subscriber(slow, "k", lambda f: f.payload, queue_bytes=100))
    hub.subscribe("live", "a", Subscriber(fast, "k", lambda f: f.payload, queue_bytes=100))
    stream, _ = hub.start_publishing("live", "a", object())
    stream.publish(9, 0, key_frame(1))
    slow.buffered = 500  # the kernel stopped taking its bytes
    loop.run()
    for n in range(2, 5):
        stream.publish(9, n, inter_frame(n))
        stream.publish(8, n, audio(n))
        loop.run()
    stream.publish(9, 9, key_frame(9))  # still full: not readmitted
    loop.run()
    slow.buffered = 0
    stream.publish(8, 10, audio(10))
    stream.publish(9, 11, key_frame(11))  # drained: back from this keyframe on
    stream.publish(8, 12, audio(12))
    loop.run()
    assert slow.data == [key_frame(1), key_frame(11), audio(12)]
    assert len(fast.data) == 1 + 6 + 1 + 1 + 1 + 1
    (sub,) = [s for s in stream.subscribers if s.sink is slow]
    assert sub.drops == 1


def test_a_peer_joining_with_a_full_buffer_gets_no_burst_then_headers_before_its_keyframe() -> None:
    hub, loop = make_hub()
    stream, _ = hub.start_publishing("live", "a", object())
    stream.publish(9, 0, AVC_HEADER)
    stream.publish(9, 0, key_frame(1))
    stream.publish(9, 33, inter_frame(2))
    sink = Sink()
    sink.buffered = 10_000
    hub.subscribe("live", "a", Subscriber(sink, "k", lambda f: f.payload, queue_bytes=100))
    stream.publish(9, 66, inter_frame(3))
    loop.run()
    assert sink.data == []  # no GOP burst into a full buffer
    sink.buffered = 0
    stream.publish(9, 99, key_frame(4))
    loop.run()
    assert sink.data == [AVC_HEADER, key_frame(4)]


def test_receive_video_false_moves_to_a_group_without_video() -> None:
    hub, loop = make_hub()
    sink = Sink()
    sub = Subscriber(sink, "k", lambda f: f.payload)
    stream = hub.subscribe("live", "a", sub)
    hub.start_publishing("live", "a", object())
    stream.set_filter(sub, audio=True, video=False)
    stream.publish(9, 0, key_frame(1))
    stream.publish(8, 1, audio(1))
    loop.run()
    assert sink.data == [audio(1)]


def test_low_cost_mode_flushes_on_one_shared_timer() -> None:
    hub, loop = make_hub(merge_ms=100)
    sinks = [Sink() for _ in range(3)]
    for i, sink in enumerate(sinks):
        hub.subscribe("live", f"s{i}", Subscriber(sink, "k", lambda f: f.payload))
    streams = [hub.start_publishing("live", f"s{i}", object())[0] for i in range(3)]
    for n in range(5):
        for stream in streams:
            stream.publish(8, n, audio(n))
    assert loop.soon == [] and len(loop.later) == 1 and loop.later[0][0] == 0.1
    loop.later.pop()[1]()
    assert [s.writes for s in sinks] == [1, 1, 1]
    assert all(len(s.data) == 5 for s in sinks)


def test_second_publisher_is_refused_unless_replacing() -> None:
    hub, _ = make_hub()
    first = object()
    hub.start_publishing("live", "a", first)
    with pytest.raises(StreamBusy):
        hub.start_publishing("live", "a", object())
    hub.replace_publisher = True
    _, previous = hub.start_publishing("live", "a", object())
    assert previous is first


def test_timeline_continues_across_sessions_and_unwraps_32_bits() -> None:
    t = Timeline()
    t.new_session()
    assert [t.map(ts) for ts in (5000, 5033, 5066)] == [0, 33, 66]
    t.new_session()
    assert t.map(100) == 67  # a new publisher starting at 100 continues after 66
    t.new_session()
    base = t.map(0xFFFFFF00)
    assert t.map(0x10) - base == 0x110  # wrapped forward, not 4 billion back
