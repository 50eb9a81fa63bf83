"""Where one stream's HLS segments live: in memory (default) or in a directory.

The directory form writes every file under a temporary name and renames it into place
(``os.replace``), so a reader (livecast itself, nginx, a CDN origin pull) never sees half a
segment or half a playlist. Names reaching this module were checked by the caller; the
directory store checks once more that every path stays inside its own folder.
"""

from __future__ import annotations

import contextlib
import os
import re
from pathlib import Path
from typing import Protocol

PLAYLIST = "index.m3u8"
#: Segment file names: ``{instance}-{seq}.ts``, instance in base 36.
SEGMENT_NAME = re.compile(r"[0-9a-z]{1,16}-[0-9]{1,12}\.ts\Z")
_TEMP_PREFIX = ".tmp-"


class Store(Protocol):
    def put(self, name: str, data: bytes) -> None: ...
    def get(self, name: str) -> bytes | Path | None: ...
    def delete(self, name: str) -> None: ...
    def put_playlist(self, text: str) -> None: ...
    def clear(self) -> None: ...


class MemoryStore:
    """Segments as bytes in a dict: served straight from RAM, no disk I/O."""

    def __init__(self) -> None:
        self._segments: dict[str, bytes] = {}

    def put(self, name: str, data: bytes) -> None:
        self._segments[name] = data

    def get(self, name: str) -> bytes | None:
        return self._segments.get(name)

    def delete(self, name: str) -> None:
        self._segments.pop(name, None)

    def put_playlist(self, text: str) -> None:
        """The playlist is rendered from memory on each request: nothing to keep."""

    def clear(self) -> None:
        self._segments.clear()

    @property
    def bytes(self) -> int:
        return sum(map(len, self._segments.values()))


class DirStore:
    """Segments and the playlist as files in ``root`` (one folder per stream)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self._real = root.resolve()
        self._names: set[str] = set()
        self._remove_leftovers()

    def _path(self, name: str) -> Path:
        if not (SEGMENT_NAME.match(name) or name == PLAYLIST):
            raise ValueError(f"not an HLS file name: {name!r}")
        path = self._real / name
        if path.parent != self._real:
            raise ValueError(f"{name!r} leaves {self._real}")
        return path

    def _write(self, name: str, data: bytes) -> None:
        path = self._path(name)
        temp = path.with_name(_TEMP_PREFIX + name)
        try:
            with open(temp, "wb") as f:
                f.write(data)
            os.replace(temp, path)
        except BaseException:
            temp.unlink(missing_ok=True)
            raise

    def put(self, name: str, data: bytes) -> None:
        self._write(name, data)
        self._names.add(name)

    def get(self, name: str) -> Path | None:
        if name not in self._names:
            return None
        return self._path(name)

    def delete(self, name: str) -> None:
        self._names.discard(name)
        self._path(name).unlink(missing_ok=True)

    def put_playlist(self, text: str) -> None:
        self._write(PLAYLIST, text.encode())

    def clear(self) -> None:
        for name in list(self._names):
            self.delete(name)
        self._path(PLAYLIST).unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            self._real.rmdir()  # only if nothing else lives there

    def _remove_leftovers(self) -> None:
        """Segments of an earlier run of this server (a crash leaves them behind)."""
        for entry in os.scandir(self._real):
            name = entry.name
            if name.startswith(_TEMP_PREFIX):
                name = name[len(_TEMP_PREFIX) :]
            if (SEGMENT_NAME.match(name) or name == PLAYLIST) and entry.is_file():
                os.unlink(entry.path)
