"""Segment stores: memory, and a directory written atomically that never leaves its folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from livecast.outputs import hls_store
from livecast.outputs.hls_store import PLAYLIST, SEGMENT_NAME, DirStore, MemoryStore


def test_segment_names() -> None:
    for good in ("0-0.ts", "mwxk25pp-17.ts", "z" * 16 + "-" + "9" * 12 + ".ts"):
        assert SEGMENT_NAME.match(good), good
    bad = [
        "0.ts",
        "-1.ts",
        "A-1.ts",
        "a-1.TS",
        "a-1.ts\n",
        "a-1.ts/",
        "../a-1.ts",
        "a/b-1.ts",
        "a-1.ts\x00",
        ".tmp-a-1.ts",
        "z" * 17 + "-1.ts",
        "a-" + "9" * 13 + ".ts",
        "a-1.m3u8",
    ]
    for name in bad:
        assert not SEGMENT_NAME.match(name), name


def test_memory_store() -> None:
    store = MemoryStore()
    store.put("a-0.ts", b"x" * 10)
    store.put("a-1.ts", b"y")
    assert store.get("a-0.ts") == b"x" * 10
    assert store.bytes == 11
    store.delete("a-0.ts")
    store.delete("a-0.ts")  # twice is fine
    assert store.get("a-0.ts") is None
    store.put_playlist("#EXTM3U\n")
    store.clear()
    assert store.get("a-1.ts") is None


def test_dir_store_writes_then_renames(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[str, str, bytes, bool]] = []
    real_replace = os.replace

    def spy(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        # at rename time the temporary file is complete and the final name not yet there
        seen.append((Path(src).name, Path(dst).name, Path(src).read_bytes(), Path(dst).exists()))
        real_replace(src, dst)

    monkeypatch.setattr(hls_store.os, "replace", spy)
    root = tmp_path / "live" / "a"
    store = DirStore(root)
    store.put("k-0.ts", b"\x47" * 376)
    store.put_playlist("#EXTM3U\n")
    assert seen == [
        (".tmp-k-0.ts", "k-0.ts", b"\x47" * 376, False),
        (".tmp-index.m3u8", PLAYLIST, b"#EXTM3U\n", False),
    ]
    assert sorted(p.name for p in root.iterdir()) == [PLAYLIST, "k-0.ts"]
    got = store.get("k-0.ts")
    assert isinstance(got, Path) and got.read_bytes() == b"\x47" * 376
    assert store.get("k-1.ts") is None  # never written
    store.delete("k-0.ts")
    assert store.get("k-0.ts") is None and not (root / "k-0.ts").exists()


def test_dir_store_refuses_names_that_leave_or_are_not_hls(tmp_path: Path) -> None:
    store = DirStore(tmp_path / "s")
    for name in ("../k-0.ts", "k/../../x.ts", "/etc/passwd", "x.ts", "k-0.ts\x00", ".."):
        with pytest.raises(ValueError):
            store.put(name, b"")
        with pytest.raises(ValueError):
            store.delete(name)
    assert list(tmp_path.iterdir()) == [tmp_path / "s"]
    assert list((tmp_path / "s").iterdir()) == []


def test_dir_store_removes_leftovers_and_only_those(tmp_path: Path) -> None:
    root = tmp_path / "s"
    root.mkdir()
    for name in ("old-1.ts", ".tmp-old-2.ts", PLAYLIST, "notes.txt", "x.ts"):
        (root / name).write_bytes(b"old")
    DirStore(root)
    assert sorted(p.name for p in root.iterdir()) == ["notes.txt", "x.ts"]


def test_dir_store_clear(tmp_path: Path) -> None:
    root = tmp_path / "s"
    store = DirStore(root)
    store.put("k-0.ts", b"a")
    store.put_playlist("x")
    store.clear()
    assert not root.exists()
    other = DirStore(tmp_path / "t")
    other.put("k-0.ts", b"a")
    (tmp_path / "t" / "mine.txt").write_text("keep")
    other.clear()
    assert [p.name for p in (tmp_path / "t").iterdir()] == ["mine.txt"]


def test_dir_store_failed_write_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    store = DirStore(tmp_path / "s")
    monkeypatch.setattr(hls_store.os, "replace", boom)
    with pytest.raises(OSError):
        store.put("k-0.ts", b"a")
    assert list((tmp_path / "s").iterdir()) == []
    assert store.get("k-0.ts") is None
