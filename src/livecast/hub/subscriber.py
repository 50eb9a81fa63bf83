"""Subscribers and the groups that share their wire bytes.

Subscribers that need the same wire form of a frame (same output kind, chunk size,
message stream id and media filter) form a ``Group``. A frame is encoded once per group
and appended once to the group's pending list; at flush time every subscriber of the
group gets the whole list in one ``writelines``. Per message there is no per-subscriber
work at all; per flush there is one write call and one buffer-size check per subscriber
(or, for direct writes, see below, none in Python).

A subscriber whose transport buffer exceeds its bound leaves the group and waits for
the next video keyframe (dropping audio too, so sound never runs ahead of the picture);
it rejoins at that keyframe once its buffer has drained.

When the flusher has a ``send_all`` (one buffer to many sockets, given by the server:
io_uring or one ``os.write`` each) and a subscriber has a socket ``fd``, the flush skips
the transport and its Python call per subscriber: the group's pending bytes go to all
such sockets in one call. That is only right while the transport has nothing queued
(else the new bytes would pass the queued ones). A *watched* subscriber's owner reports
that itself (``set_blocked``, from the protocol's ``pause_writing``/``resume_writing``
with a zero high-water mark), so the flush asks nothing per subscriber; for the others
the flush asks every transport at C speed (``map`` over the bound methods). Any bytes
a socket did not take go through the transport, in order. ``fd`` must be a descriptor
of the owner's own (a ``dup``), closed by the owner only after the subscriber left its
stream: the transport may close its socket first, and a number it frees may be reused
by the next connection.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Hashable, Iterable
from operator import call
from typing import Protocol

from livecast.hub.frame import AUDIO, VIDEO, Frame


class Sink(Protocol):
    """Where a subscriber's bytes go: an asyncio transport fits."""

    def write(self, data: bytes) -> None: ...
    def writelines(self, data: Iterable[bytes]) -> None: ...
    def get_write_buffer_size(self) -> int: ...
    def is_closing(self) -> bool: ...


Encoder = Callable[[Frame], bytes]
# one buffer to many sockets: per socket the bytes it took, or -errno
SendAll = Callable[["array[int]", bytes], list[int]]


class Subscriber:
    """One viewer of a stream. Outputs subclass it to hear about publisher changes."""

    def __init__(
        self,
        sink: Sink,
        key: Hashable,
        encode: Encoder,
        *,
        queue_bytes: int = 4 * 1024 * 1024,
        audio: bool = True,
        video: bool = True,
        fd: int = -1,
        watched: bool = False,
    ) -> None:
        self.sink = sink
        self.fd = fd  # the owner's dup of the socket under sink, for direct writes; or -1
        self.watched = watched  # the owner calls set_blocked when the transport queues
        self.blocked = False
        self.base_key = key
        self.encode = encode
        self.queue_bytes = queue_bytes
        self.audio = audio
        self.video = video
        self.paused = False
        self.group: Group | None = None
        self.start = 0  # index into the group's pending list where this subscriber begins
        self.waiting = False  # congested: dropping until the next keyframe
        self.needs_headers = False  # parked before it got the stream's headers
        self.bytes_out = 0
        self.drops = 0  # how many times it fell behind
        self.mark = 0  # the group's ``direct_bytes`` when it joined the direct set

    @property
    def key(self) -> Hashable:
        return (self.base_key, self.audio, self.video)

    def set_blocked(self, blocked: bool) -> None:
        """The transport has bytes queued (or is closing): no direct writes until not."""
        if blocked != self.blocked:
            self.blocked = blocked
            if self.group is not None:
                self.group.changed = True

    def wants(self, frame: Frame) -> bool:
        t = frame.type_id
        return (self.audio or t != AUDIO) and (self.video or t != VIDEO)

    # Hooks for outputs ----------------------------------------------------------------

    def on_publish(self, stream_name: str) -> None:
        """A publisher started on the stream (players waiting or resuming)."""

    def on_unpublish(self, stream_name: str) -> None:
        """The publisher left; the subscriber stays attached for the next one."""

    def on_close(self) -> None:
        """The stream is gone for good (server shutdown)."""


class Group:
    """Subscribers that receive byte-identical data; see the module docstring."""

    __slots__ = (
        "changed",
        "direct",
        "direct_bytes",
        "encode",
        "fds",
        "flusher",
        "headers",
        "key",
        "others",
        "pending",
        "pending_bytes",
        "queued",
        "skip_type",
        "subs",
        "unwatched",
        "waiting",
    )

    def __init__(
        self,
        key: Hashable,
        encode: Encoder,
        flusher: Flusher,
        *,
        audio: bool,
        video: bool,
        headers: Callable[[], list[Frame]] = list,
    ) -> None:
        self.key = key
        self.encode = encode
        self.flusher = flusher
        self.headers = headers  # the stream's metadata and sequence headers, now
        # receiveAudio/receiveVideo false: the whole group skips that media type
        self.skip_type = frozenset(t for t, on in ((AUDIO, audio), (VIDEO, video)) if not on)
        self.subs: list[Subscriber] = []
        self.waiting: list[Subscriber] = []
        self.pending: list[bytes] = []
        self.pending_bytes = 0
        # the direct set: subscribers written through send_all, rebuilt when ``changed``
        self.changed = False
        self.direct: list[Subscriber] = []
        self.others: list[Subscriber] = []  # the rest of subs, written through transports
        self.fds = array("I")
        self.unwatched: list[Subscriber] = []  # the direct ones the flush must ask
        self.queued: list[Callable[[], int]] = []  # their get_write_buffer_size
        self.direct_bytes = 0  # bytes flushed to each member of the direct set so far

    def add(self, sub: Subscriber) -> None:
        sub.group = self
        sub.start = len(self.pending)  # what is pending now came before its burst
        sub.waiting = False
        self.subs.append(sub)
        self.changed = True

    def remove(self, sub: Subscriber) -> None:
        if sub in self.subs:
            self.subs.remove(sub)
        elif sub in self.waiting:
            self.waiting.remove(sub)
        sub.group = None
        self.changed = True  # the next flush rebuilds the direct set before it writes
        if sub in self.direct:  # settle its byte count now (the rebuild adds nothing)
            sub.bytes_out += self.direct_bytes - sub.mark
            sub.mark = self.direct_bytes

    def __len__(self) -> int:
        return len(self.subs) + len(self.waiting)

    def park(self, sub: Subscriber) -> None:
        """Stop sending to ``sub`` until a keyframe finds its buffer drained."""
        if sub in self.subs:
            self.subs.remove(sub)
            sub.waiting = True
            self.waiting.append(sub)
            self.changed = True

    def push(self, frame: Frame) -> None:
        if self.skip_type and frame.type_id in self.skip_type:
            return
        if self.waiting and frame.keyframe:
            self._readmit()
        if not self.subs:
            return
        data = frame.wire(self.key, self.encode)
        if not self.pending:
            self.flusher.mark(self)
        self.pending.append(data)
        self.pending_bytes += len(data)

    def _readmit(self) -> None:
        still = []
        for sub in self.waiting:
            if sub.sink.get_write_buffer_size() <= sub.queue_bytes // 2:
                sub.waiting = False
                sub.start = len(self.pending)
                self.subs.append(sub)
                if sub.needs_headers:
                    sub.needs_headers = False
                    data = [f.wire(self.key, self.encode) for f in self.headers()]
                    sub.sink.writelines(data)
                    sub.bytes_out += sum(map(len, data))
            else:
                still.append(sub)
        if len(still) != len(self.waiting):
            self.changed = True
        self.waiting = still

    def _rebuild(self) -> None:
        """Recompute the direct set: subscribers with a socket, no partial start, and
        (as far as their owner says) nothing queued."""
        self.changed = False
        now = self.direct_bytes
        direct = [s for s in self.subs if s.fd >= 0 and not s.start and not s.blocked]
        kept = set(map(id, direct))
        for sub in self.direct:
            if id(sub) not in kept:
                sub.bytes_out += now - sub.mark
        was = set(map(id, self.direct))
        for sub in direct:
            if id(sub) not in was:
                sub.mark = now
        self.direct = direct
        self.others = [s for s in self.subs if id(s) not in kept]
        self.fds = array("I", [s.fd for s in direct])
        self.unwatched = [s for s in direct if not s.watched]
        self.queued = [s.sink.get_write_buffer_size for s in self.unwatched]

    def flush(self) -> None:
        pending = self.pending
        if not pending:
            return
        size = self.pending_bytes
        self.pending = []
        self.pending_bytes = 0
        send_all = self.flusher.send_all
        subs = self.subs
        if send_all is not None:
            if self.changed:
                self._rebuild()
            if self.direct:
                self._send_direct(send_all, pending, size)
            subs = self.others
        congested: list[Subscriber] | None = None
        for sub in subs:
            sink = sub.sink
            if sink.is_closing():
                continue  # its connection is ending; a closed transport refuses writes
            if sub.start:
                part = pending[sub.start :]
                sink.writelines(part)
                sub.bytes_out += sum(map(len, part))
                sub.start = 0
                if sub.fd >= 0:
                    self.changed = True  # direct from the next flush on
            else:
                sink.writelines(pending)
                sub.bytes_out += size
            if sink.get_write_buffer_size() > sub.queue_bytes:
                if congested is None:
                    congested = []
                congested.append(sub)
        if congested:
            self._congested(congested)

    def _send_direct(self, send_all: SendAll, pending: list[bytes], size: int) -> None:
        data = pending[0] if len(pending) == 1 else b"".join(pending)
        subs, fds = self.direct, self.fds
        if self.queued and any(map(call, self.queued)):
            # an unwatched transport with bytes queued takes these behind them
            behind = [s for s in self.unwatched if s.sink.get_write_buffer_size()]
            late = set(map(id, behind))
            subs = [s for s in subs if id(s) not in late]
            fds = array("I", [s.fd for s in subs])
            self._queue(behind, data)
        self.direct_bytes += size
        results = send_all(fds, data)
        if results.count(size) == len(results):
            return
        short = []
        for sub, n in zip(subs, results, strict=True):
            if n != size:  # the socket took part or none of it: the rest waits in order
                short.append((sub, data[n:] if n > 0 else data))
        for sub, rest in short:
            self._queue([sub], rest)

    def _queue(self, subs: list[Subscriber], data: bytes) -> None:
        """Bytes for the transports of ``subs``, behind what they hold; over its bound,
        a subscriber is parked until a keyframe."""
        over = []
        for sub in subs:
            sink = sub.sink
            if sink.is_closing():
                continue  # its connection is ending; a closed transport refuses writes
            sink.write(data)
            if sink.get_write_buffer_size() > sub.queue_bytes:
                over.append(sub)
        if over:
            self._congested(over)

    def _congested(self, subs: list[Subscriber]) -> None:
        for sub in subs:
            self.park(sub)
            sub.drops += 1


class Flusher:
    """Decides when groups write: every loop turn (real-time) or on one shared timer
    every ``merge_ms`` (low-cost). ``schedule_soon`` and ``schedule_later`` are the event
    loop's ``call_soon`` and ``call_later``, passed in so the hub stays loop-agnostic."""

    def __init__(
        self,
        schedule_soon: Callable[[Callable[[], None]], object],
        schedule_later: Callable[[float, Callable[[], None]], object],
        merge_ms: int = 0,
        send_all: SendAll | None = None,
    ) -> None:
        self._soon = schedule_soon
        self.send_all = send_all
        self._later = schedule_later
        self.merge_ms = merge_ms
        self._dirty: list[Group] = []
        self._scheduled = False
        self.flushes = 0

    def mark(self, group: Group) -> None:
        self._dirty.append(group)
        if not self._scheduled:
            self._scheduled = True
            if self.merge_ms:
                self._later(self.merge_ms / 1000.0, self.flush)
            else:
                self._soon(self.flush)

    def flush(self) -> None:
        self._scheduled = False
        dirty, self._dirty = self._dirty, []
        self.flushes += 1
        for group in dirty:
            group.flush()
