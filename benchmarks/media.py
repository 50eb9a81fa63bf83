"""The bench's test stream, made once with ffmpeg and cached under benchmarks/.cache/.

720p30 H.264 at 2.5 Mbit/s (CBR-ish) + AAC 128 kbit/s, 2 s GOP: the load that issue 15's
figures are measured with. Encoding takes a minute or two, so the file is kept.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

CACHE = Path(__file__).resolve().parent / ".cache"
DURATION_S = 40
NAME = f"bench-720p30-2500k-aac128-gop2s-{DURATION_S}s.flv"


def ffmpeg_command(
    out: Path, duration_s: int, size: str = "1280x720", video_kbps: int = 2500
) -> list[str]:
    return [
        "ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
        "-f", "lavfi", "-i", f"testsrc2=size={size}:rate=30:duration={duration_s}",
        "-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={duration_s}",
        "-c:v", "libx264", "-preset", "veryfast", "-profile:v", "high", "-pix_fmt", "yuv420p",
        "-b:v", f"{video_kbps}k", "-maxrate", f"{video_kbps}k", "-bufsize", f"{2 * video_kbps}k",
        "-g", "60", "-keyint_min", "60", "-sc_threshold", "0",
        "-c:a", "aac", "-b:a", "128k", "-ac", "2",
        "-f", "flv", str(out),
    ]  # fmt: skip


def make_media(out: Path, duration_s: int, size: str = "1280x720", video_kbps: int = 2500) -> Path:
    """Encode a test stream to ``out`` (2 s GOP, CBR-ish H.264 + AAC 128 kbit/s)."""
    tmp = out.with_suffix(".part.flv")
    cmd = ffmpeg_command(tmp, duration_s, size, video_kbps)
    subprocess.run(["nice", "-n", "10", *cmd], check=True)
    os.replace(tmp, out)
    return out


def ensure_media(log: bool = True) -> Path:
    """The bench's cached 720p30 stream, encoded first if it is missing."""
    CACHE.mkdir(exist_ok=True)
    out = CACHE / NAME
    if out.exists() and out.stat().st_size > 0:
        return out
    if log:
        print(f"bench: encoding the test stream once ({DURATION_S} s of 720p30) -> {out}",
              flush=True)  # fmt: skip
    return make_media(out, DURATION_S)
