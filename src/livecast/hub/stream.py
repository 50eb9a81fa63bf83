"""One live stream: its publisher, its state for late joiners and its subscribers."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Protocol

from livecast.hub.frame import AUDIO, DATA, VIDEO, Frame
from livecast.hub.subscriber import Flusher, Group, Subscriber
from livecast.media import script
from livecast.media.tags import classify_audio, classify_video
from livecast.rtmp.errors import ProtocolError

_WRAP = 1 << 32


class Timeline:
    """Maps a publisher's 32-bit timestamps onto the stream's own timeline.

    The stream's timeline starts at 0 and keeps increasing across publisher sessions,
    so players that stay through a restart see timestamps that never go back. The
    publisher's counter may wrap after 49.7 days; it is unwrapped to the value nearest
    the previous one.
    """

    def __init__(self) -> None:
        self.last_out = -1
        self._base_in: int | None = None
        self._base_out = 0
        self._last_in = 0

    def new_session(self) -> None:
        self._base_in = None
        self._base_out = self.last_out + 1

    def map(self, ts: int) -> int:
        if self._base_in is None:
            self._base_in = self._last_in = ts
        else:
            ext = (self._last_in & ~0xFFFFFFFF) | ts
            if ext - self._last_in > 0x7FFFFFFF:
                ext -= _WRAP
            elif self._last_in - ext > 0x7FFFFFFF:
                ext += _WRAP
            self._last_in = ts = ext
        out = self._base_out + max(0, ts - self._base_in)
        if out > self.last_out:
            self.last_out = out
        return out


class FrameListener(Protocol):
    """Outputs that take frames rather than bytes (HLS segmenter, recorder, relay push).

    Called synchronously for each frame; they must be quick and never block.
    """

    def on_frame(self, frame: Frame) -> None: ...
    def on_unpublish(self) -> None: ...


def _video_flags(payload: bytes) -> tuple[bool, bool]:
    """(keyframe, sequence header). A codec livecast does not know is still forwarded,
    as a plain frame: the server relays, it does not judge."""
    try:
        info = classify_video(payload)
    except ProtocolError:
        return False, False
    return info.keyframe, info.sequence_header


def _audio_header(payload: bytes) -> bool:
    try:
        return classify_audio(payload).sequence_header
    except ProtocolError:
        return False  # e.g. an empty Enhanced RTMP "silence" message


class Stream:
    """A publisher's frames fanned out to subscribers, grouped by wire form."""

    def __init__(
        self,
        app: str,
        name: str,
        flusher: Flusher,
        *,
        gop_cache: bool = True,
        gop_cache_max_bytes: int = 32 * 1024 * 1024,
    ) -> None:
        self.app = app
        self.name = name
        self.flusher = flusher
        self.gop_cache_enabled = gop_cache
        self.gop_cache_max_bytes = gop_cache_max_bytes
        self.publisher: object | None = None
        self.timeline = Timeline()
        self.metadata: Frame | None = None
        self.video_header: Frame | None = None
        self.audio_header: Frame | None = None
        self.gop: list[Frame] = []
        self.gop_bytes = 0
        self.has_video = False
        self.has_audio = False
        self.groups: dict[Hashable, Group] = {}
        self.subscribers: set[Subscriber] = set()
        self.listeners: list[FrameListener] = []
        self.bytes_in = 0
        self.frames_in = 0
        self.sessions = 0  # how many publisher sessions this stream has had

    @property
    def path(self) -> str:
        return f"{self.app}/{self.name}"

    @property
    def live(self) -> bool:
        return self.publisher is not None

    # -- publisher side -----------------------------------------------------------------

    def start_publishing(self, publisher: object) -> None:
        self.publisher = publisher
        self.sessions += 1
        self.timeline.new_session()
        # A new session may change codecs: old headers and GOP no longer apply.
        self.metadata = self.video_header = self.audio_header = None
        self._clear_gop()
        self.has_video = self.has_audio = False
        for sub in list(self.subscribers):
            sub.on_publish(self.name)

    def stop_publishing(self) -> None:
        self.flush()
        self.publisher = None
        self._clear_gop()
        for listener in self.listeners:
            listener.on_unpublish()
        self.listeners = []
        for sub in list(self.subscribers):
            sub.on_unpublish(self.name)

    def publish(self, type_id: int, timestamp: int, payload: bytes) -> Frame | None:
        """Take one message from the publisher; returns the frame sent (None if dropped)."""
        self.bytes_in += len(payload)
        self.frames_in += 1
        ts = self.timeline.map(timestamp)
        if type_id == VIDEO:
            keyframe, header = _video_flags(payload)
            frame = Frame(VIDEO, ts, payload, keyframe=keyframe, header=header)
            self.has_video = True
            if header:
                self.video_header = frame
            elif keyframe:
                self._clear_gop()
        elif type_id == AUDIO:
            header = _audio_header(payload)
            frame = Frame(AUDIO, ts, payload, header=header)
            self.has_audio = True
            if header:
                self.audio_header = frame
        elif type_id == DATA:
            meta = script.strip_set_data_frame(payload)
            if meta is not None:
                frame = Frame(DATA, ts, meta, header=True)
                self.metadata = frame  # keep the latest only (GStreamer repeats it)
            elif script.is_metadata(payload):
                frame = self.metadata = Frame(DATA, ts, payload, header=True)
            else:
                frame = Frame(DATA, ts, payload)
        else:
            raise ProtocolError(f"message type {type_id} is not media")
        # The GOP cache holds audio and video since the last keyframe; data messages
        # (onTextData, cue points) are moments, not state: late joiners don't get old ones.
        if (
            self.gop_cache_enabled
            and type_id != DATA
            and not frame.header
            and (frame.keyframe or self.gop)
        ):
            self.gop.append(frame)
            self.gop_bytes += len(frame.payload)
            if self.gop_bytes > self.gop_cache_max_bytes:
                self._clear_gop()  # a GOP too long to cache: late joiners wait
        for group in self.groups.values():
            group.push(frame)
        for listener in self.listeners:
            listener.on_frame(frame)
        return frame

    def _clear_gop(self) -> None:
        self.gop = []
        self.gop_bytes = 0

    # -- subscriber side ---------------------------------------------------------------

    def header_frames(self) -> list[Frame]:
        """Metadata and codec sequence headers: what a decoder needs before a keyframe."""
        return [f for f in (self.metadata, self.video_header, self.audio_header) if f]

    def state_frames(self) -> list[Frame]:
        """What a joining subscriber needs before live frames: the headers and the GOP
        since the last keyframe."""
        return self.header_frames() + self.gop

    def add_subscriber(self, sub: Subscriber) -> None:
        """Attach and send the state burst at once (no merge window for it)."""
        self.subscribers.add(sub)
        self._join_group(sub)
        self._send_state(sub)

    def _join_group(self, sub: Subscriber) -> None:
        group = self.groups.get(sub.key)
        if group is None:
            group = self.groups[sub.key] = Group(
                sub.key,
                sub.encode,
                self.flusher,
                audio=sub.audio,
                video=sub.video,
                headers=self.header_frames,
            )
        group.add(sub)

    def _send_state(self, sub: Subscriber) -> None:
        if not self.live:
            return
        if sub.sink.get_write_buffer_size() > sub.queue_bytes and sub.group is not None:
            # A peer that does not read gets no burst (it could ask again and again);
            # it waits like any congested subscriber and starts at a keyframe.
            sub.group.park(sub)
            sub.needs_headers = True
            sub.drops += 1
            return
        key = sub.key
        data = [f.wire(key, sub.encode) for f in self.state_frames() if sub.wants(f)]
        if data:
            sub.sink.writelines(data)
            sub.bytes_out += sum(map(len, data))

    def remove_subscriber(self, sub: Subscriber) -> None:
        self.subscribers.discard(sub)
        group = sub.group
        if group is not None:
            group.remove(sub)
            if not len(group):
                self.groups.pop(group.key, None)

    def set_filter(self, sub: Subscriber, *, audio: bool, video: bool) -> None:
        """receiveAudio / receiveVideo: move the subscriber to the matching group."""
        if (sub.audio, sub.video) == (audio, video):
            return
        self.remove_subscriber(sub)
        sub.audio, sub.video = audio, video
        self.subscribers.add(sub)
        if not sub.paused:
            self._join_group(sub)
            if video and sub.group is not None:
                sub.group.park(sub)  # resume video at a keyframe, not mid-GOP

    def pause(self, sub: Subscriber, paused: bool) -> None:
        if sub.paused == paused:
            return
        sub.paused = paused
        if paused:
            group = sub.group
            if group is not None:
                group.remove(sub)
                if not len(group):
                    self.groups.pop(group.key, None)
        else:
            self._join_group(sub)
            self._send_state(sub)

    def flush(self) -> None:
        for group in self.groups.values():
            group.flush()

    @property
    def idle(self) -> bool:
        return self.publisher is None and not self.subscribers
