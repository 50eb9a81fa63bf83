"""The benchmark's load generator against a real livecast: 20 players for 3 s.

Keeps `make bench` from rotting while it is not part of `make test`.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from benchmarks import servers
from benchmarks.media import make_media

ROOT = Path(__file__).resolve().parents[2]
PLAYERS = 20

pytestmark = pytest.mark.integration


@pytest.mark.timeout(60)
def test_loadgen_against_livecast(tmp_path: Path) -> None:
    media = make_media(tmp_path / "smoke.flv", duration_s=4, size="640x360", video_kbps=800)
    spec = servers.ServerSpec("livecast", "livecast", "real-time", 0)
    server = servers.start_livecast(spec, core=None)
    pub = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.publisher", "--port", str(server.rtmp_port),
         "--stream", "smoke", "--file", str(media)],
        cwd=ROOT, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert pub.stdout is not None
        line = pub.stdout.readline()
        assert line.startswith("publishing epoch_ms="), line
        lg = subprocess.run(
            [sys.executable, "-m", "benchmarks.loadgen", "--port", str(server.rtmp_port),
             "--stream", "smoke", "--players", str(PLAYERS), "--probes", "2",
             "--window", "3", "--settle", "0.2", "--server-pid", str(server.pid),
             "--epoch-ms", line.split("=", 1)[1].strip()],
            cwd=ROOT, capture_output=True, text=True, timeout=40,
        )  # fmt: skip
        assert lg.returncode == 0, lg.stderr
        result = json.loads(lg.stdout.strip().splitlines()[-1])
    finally:
        pub.terminate()
        pub.wait(10)
        server.stop()
    assert result["errors"] == {}, result
    assert result["connected"] == PLAYERS
    assert result["started"] == PLAYERS, "every player got a complete keyframe"
    assert result["min_player_bytes"] > 0, "every player received bytes in the window"
    assert result["first_frame_p95_ms"] is not None
    assert result["delay_samples"] > 0, "the probes measured forward delay"
    assert result["server_cpu_s"] is not None and result["server_rss_kb_peak"] > 0
