"""The benchmark driver: livecast (both modes) and nginx-rtmp side by side.

    python -m benchmarks.run [--quick] [--servers livecast,livecast-lowcost,nginx]
                             [--players 300,600] [--window 20] [--update-docs]

For each server and player count: start the server pinned to core 0, the publisher
(real-time FLV, embedded send times) and the load generator pinned to core 1; warm up,
join the players, measure a window, stop everything. Then the kernel-floor rows and
one table. Results (JSON and the Markdown table) go to benchmarks/results/.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import importlib.metadata
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks import servers
from benchmarks.media import ensure_media
from livecast.media.flv import read_file_tags

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"
DOCS = ROOT / "docs" / "performance.md"
SERVER_CORE, CLIENT_CORE = 0, 1

FULL_PLAYERS = (1, 100, 300, 500, 600, 1000)
FULL_SERVERS = ("livecast", "livecast-lowcost", "livecast-350", "nginx")
QUICK_SERVERS = ("livecast", "livecast-lowcost", "nginx")
FLOOR_SIZES = (0, 1400, 16384, 65536)  # 0: the stream's mean message size
HLS_MODE = "real-time, HLS on"
# ffmpeg -re through a recording proxy (real encoder write pattern), or one write per
# message at the instant of its timestamp (the worst case for merging)
PUBLISHERS = {"ffmpeg": "benchmarks.ffmpeg_publisher", "paced": "benchmarks.publisher"}


def server_spec(name: str) -> servers.ServerSpec:
    """livecast | livecast-lowcost (100 ms) | livecast-N (merge N ms) | nginx"""
    if name in ("nginx", "nginx-rtmp"):
        return servers.ServerSpec("nginx-rtmp", "nginx", "per-message")
    if name == "livecast":
        return servers.ServerSpec("livecast", "livecast", "real-time", 0, True)
    m = re.fullmatch(r"livecast-(lowcost|\d+)", name)
    if m:
        ms = 100 if m.group(1) == "lowcost" else int(m.group(1))
        mode = "real-time" if ms == 0 else f"low-cost {ms} ms"
        return servers.ServerSpec("livecast", "livecast", mode, ms, True)
    raise SystemExit(f"unknown server {name!r} (livecast, livecast-lowcost, livecast-N, nginx)")


@dataclass
class Row:
    server: str
    mode: str
    players: int
    kind: str = "rtmp"
    skipped: str | None = None
    settings: str = ""  # livecast settings beyond the mode, shown beside it
    loadgen: dict[str, Any] = field(default_factory=dict)
    publisher: dict[str, Any] = field(default_factory=dict)
    floor: dict[str, Any] = field(default_factory=dict)
    # which publisher fed the step: ffmpeg (-re, through the recording proxy) or paced
    # (one write per message); runs saved before the ffmpeg publisher existed were paced
    publisher_kind: str = "paced"
    env: str = ""  # livecast's extra environment (LIVECAST_FANOUT=... A/B rows)

    @property
    def label(self) -> str:
        """The mode column: the mode, the viewer kind, extra settings and environment,
        and the publisher when it is not the default one."""
        out = self.mode
        out += "" if self.kind in ("rtmp", "tcp", "floor") else f" ({self.kind})"
        out += f" [{self.settings}]" if self.settings else ""
        out += f" [{self.env}]" if self.env else ""
        out += ", paced publisher" if self.publisher_kind == "paced" and not self.floor else ""
        return out

    @property
    def window(self) -> float:
        return float(self.loadgen.get("window_s") or self.floor.get("window_s") or 0.0)

    @property
    def cpu_s(self) -> float | None:
        v = self.floor.get("cpu_s") if self.floor else self.loadgen.get("server_cpu_s")
        return None if v is None else float(v)

    @property
    def sys_s(self) -> float | None:
        v = self.floor.get("system_s") if self.floor else self.loadgen.get("server_system_s")
        return None if v is None else float(v)

    @property
    def mbytes(self) -> float:
        b = self.floor.get("bytes") if self.floor else self.loadgen.get("delivered_bytes")
        return float(b or 0) / 1e6

    def us_per_mb(self) -> float | None:
        if self.cpu_s is None or self.mbytes <= 0:
            return None
        return self.cpu_s * 1e6 / self.mbytes

    def sys_us_per_mb(self) -> float | None:
        if self.sys_s is None or self.mbytes <= 0:
            return None
        return self.sys_s * 1e6 / self.mbytes


def progress(msg: str) -> None:
    print(f"bench: {msg}", flush=True)


def pin_self(core: int) -> None:
    with contextlib.suppress(AttributeError, OSError):
        os.sched_setaffinity(0, {core})


def mean_message_size(path: Path) -> int:
    """The stream's mean audio/video message: the write size of one write per message."""
    tags = [t for t in read_file_tags(path.read_bytes()) if t.tag_type in (8, 9)]
    return round(sum(len(t.payload) for t in tags) / len(tags))


def stream_bytes_per_s(path: Path) -> float:
    tags = [t for t in read_file_tags(path.read_bytes()) if t.tag_type in (8, 9)]
    span_ms = max(t.timestamp for t in tags) - min(t.timestamp for t in tags) + 34
    return sum(len(t.payload) for t in tags) * 1000.0 / span_ms


def python() -> str:
    venv = ROOT / ".venv" / "bin" / "python"
    return str(venv) if venv.exists() else sys.executable


def http_flv_works(host: str, port: int, path: str) -> str | None:
    """None when GET path answers 200 with FLV bytes, else why not."""
    try:
        with urllib.request.urlopen(f"http://{host}:{port}{path}", timeout=3) as resp:
            head = resp.read(3)
            return None if head == b"FLV" else f"answered {head!r}, not FLV"
    except urllib.error.HTTPError as exc:
        return f"HTTP {exc.code}"
    except (OSError, urllib.error.URLError) as exc:
        return str(exc)


@dataclass
class Step:
    spec: servers.ServerSpec | None  # None: a kernel-floor step
    players: int
    kind: str
    skip: str | None
    write_size: int = 0


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.media = ensure_media()
        self.rate = stream_bytes_per_s(self.media)
        self.message_size = mean_message_size(self.media)
        self.pin = (os.cpu_count() or 1) >= 2 and not args.no_pin
        self.rows: list[Row] = []

    def core(self, which: int) -> int | None:
        return which if self.pin else None

    def spawn(self, cmd: list[str], core: int | None, **kw: Any) -> subprocess.Popen[str]:
        return subprocess.Popen(servers.pinned(cmd, core), text=True, cwd=ROOT, **kw)

    def run_step(self, spec: servers.ServerSpec, players: int, kind: str, label: str) -> Row:
        args = self.args
        row = Row(spec.name, spec.mode, players, kind, settings=", ".join(spec.settings),
                  publisher_kind=spec.publisher, env=" ".join(spec.env))  # fmt: skip
        t0 = time.monotonic()
        server = servers.start(spec, self.core(SERVER_CORE))
        pub: subprocess.Popen[str] | None = None
        try:
            module = PUBLISHERS[spec.publisher]
            pub = self.spawn(
                [python(), "-m", module, "--port", str(server.rtmp_port),
                 "--stream", "bench", "--file", str(self.media),
                 "--send-log", str(server.workdir / "send.log")],
                self.core(CLIENT_CORE), stdout=subprocess.PIPE,
            )  # fmt: skip
            assert pub.stdout is not None
            line = pub.stdout.readline()
            if not line.startswith("publishing epoch_ms="):
                raise RuntimeError(f"publisher failed: {line.strip() or 'no output'}")
            epoch_ms = line.split("=", 1)[1].strip()
            time.sleep(args.warmup)
            if kind == "httpflv":
                assert server.http_port is not None
                why = http_flv_works("127.0.0.1", server.http_port, "/live/bench.flv")
                if why is not None:
                    row.skipped = f"no HTTP-FLV ({why})"
                    return row
            cmd = [
                python(), "-m", "benchmarks.loadgen", "--kind", kind,
                "--port", str(server.rtmp_port), "--http-port", str(server.http_port or 0),
                "--stream", "bench", "--players", str(players), "--rate", str(args.rate),
                "--probes", str(min(args.probes, players)), "--window", str(args.window),
                "--settle", str(args.settle), "--server-pid", str(server.pid),
                "--epoch-ms", epoch_ms, "--send-log", str(server.workdir / "send.log"),
                "--stream-bytes-per-s", f"{self.rate:.1f}",
            ]  # fmt: skip
            lg = self.spawn(cmd, self.core(CLIENT_CORE), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)  # fmt: skip
            out, err = self.wait_loadgen(lg, server, row, players)
            if lg.returncode != 0:
                raise RuntimeError(f"load generator failed ({lg.returncode}): {err[-1500:]}")
            if args.verbose:
                sys.stdout.write(err)
            row.loadgen.update(json.loads(out.strip().splitlines()[-1]))
            if server.proc.poll() is not None:
                row.loadgen["errors"]["server exited"] = server.proc.returncode
            if row.loadgen["errors"]:
                row.loadgen["server_log_tail"] = server.log_tail(30)
        except (RuntimeError, subprocess.TimeoutExpired, json.JSONDecodeError) as exc:
            row.skipped = f"failed: {exc}"
            row.loadgen["server_log_tail"] = server.log_tail(30)
        finally:
            if pub is not None:
                pub.terminate()
                with contextlib.suppress(subprocess.TimeoutExpired, json.JSONDecodeError):
                    out, _ = pub.communicate(timeout=5)
                    lines = out.strip().splitlines()
                    if lines:
                        row.publisher = json.loads(lines[-1])
                if pub.poll() is None:
                    pub.kill()
            server.stop()
        progress(f"{label} {describe(row)} ({time.monotonic() - t0:.0f} s)")
        if row.loadgen.get("server_log_tail"):
            tail = row.loadgen["server_log_tail"].splitlines()[-8:]
            print("\n".join(f"    | {line}" for line in tail), flush=True)
        return row

    def wait_loadgen(
        self, lg: subprocess.Popen[str], server: servers.RunningServer, row: Row, players: int
    ) -> tuple[str, str]:
        """Follow the load generator's progress; start py-spy on the window if asked."""
        args = self.args
        assert lg.stderr is not None and lg.stdout is not None
        watchdog = threading.Timer(args.window + players / args.rate + 60, lg.kill)
        watchdog.start()
        err: list[str] = []
        spy: subprocess.Popen[str] | None = None
        try:
            for line in lg.stderr:
                err.append(line)
                if (
                    line.strip().startswith("window")
                    and args.py_spy
                    and server.spec.kind == "livecast"
                ):
                    spy = self.start_py_spy(server, row)
            out = lg.stdout.read()
            lg.wait(10)
        finally:
            watchdog.cancel()
        if spy is not None:
            spy.wait(args.window + 30)
        return out, "".join(err)

    def start_py_spy(self, server: servers.RunningServer, row: Row) -> subprocess.Popen[str] | None:
        exe = shutil.which("py-spy") or str(ROOT / ".venv" / "bin" / "py-spy")
        if not Path(exe).exists():
            progress("py-spy is not installed (pip install py-spy); no flame graph")
            return None
        mode = row.mode.replace(" ", "")
        fmt = self.args.py_spy_format
        ext = {"flamegraph": "svg", "raw": "txt", "speedscope": "json"}[fmt]
        out = Path(self.args.py_spy) / f"flame-{row.server}-{mode}-{row.players}-{row.kind}.{ext}"
        out.parent.mkdir(parents=True, exist_ok=True)
        row.loadgen["flame_graph"] = str(out)
        cmd = [exe, "record", "--nonblocking", "-r", "200", "-d", str(int(self.args.window)),
               "-p", str(server.pid), "-f", fmt, "-o", str(out)]  # fmt: skip
        return self.spawn(cmd, self.core(CLIENT_CORE), stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL)  # fmt: skip

    def run_floor(self, size: int, conns: int, label: str) -> Row:
        args = self.args
        mode = f"{fmt_size(size)} writes"
        if size == self.message_size:
            mode += " (one per message)"
        row = Row("kernel floor", mode, conns, "tcp")
        t0 = time.monotonic()
        sender = self.spawn(
            [python(), "-m", "benchmarks.floor", "sender", "--connections", str(conns),
             "--write-size", str(size), "--rate", f"{self.rate:.1f}",
             "--warmup", "1", "--window", str(args.window)],
            self.core(SERVER_CORE), stdout=subprocess.PIPE,
        )  # fmt: skip
        assert sender.stdout is not None
        try:
            line = sender.stdout.readline()
            port = line.split("port=", 1)[1].strip()
            reader = self.spawn(
                [python(), "-m", "benchmarks.floor", "reader", "--port", port,
                 "--connections", str(conns)],
                self.core(CLIENT_CORE), stdout=subprocess.DEVNULL,
            )  # fmt: skip
            out, _ = sender.communicate(timeout=args.window + 60)
            reader.wait(30)
            row.floor = json.loads(out.strip().splitlines()[-1])
        except (IndexError, subprocess.TimeoutExpired, json.JSONDecodeError) as exc:
            row.skipped = f"failed: {exc}"
            sender.kill()
        progress(f"{label} {describe(row)} ({time.monotonic() - t0:.0f} s)")
        return row

    def run(self) -> list[Row]:
        args = self.args
        steps: list[Step] = []
        for name in args.servers:
            spec = server_spec(name)
            spec.publisher = args.publisher
            if spec.kind == "livecast":
                spec.settings = tuple(args.livecast_set)
            why = servers.nginx_available() if spec.kind == "nginx" else None
            if spec.kind == "livecast":
                why = servers.livecast_available()
            steps += [Step(spec, n, "rtmp", why) for n in args.players]
            if spec.kind == "livecast" and spec.write_merge_ms == 0:
                steps += [Step(spec, n, "httpflv", why) for n in args.http_flv]
                hls = dataclasses.replace(
                    spec, mode=HLS_MODE, settings=(*spec.settings, "hls.enabled=true")
                )
                steps += [Step(hls, n, "rtmp", why) for n in args.hls_players]
        live, ref = server_spec("livecast"), server_spec("nginx")
        live.settings = tuple(args.livecast_set)
        for n in args.paced_players:  # the worst case for merging, both servers
            steps += [Step(dataclasses.replace(spec, publisher="paced"), n, "rtmp", why)
                      for spec, why in ((live, servers.livecast_available()),
                                        (ref, servers.nginx_available()))]  # fmt: skip
        for n in args.fanout_players:  # the same flush, other ways to the sockets
            for how in ("write", "transport"):
                spec = dataclasses.replace(live, env=(f"LIVECAST_FANOUT={how}",))
                steps.append(Step(spec, n, "rtmp", servers.livecast_available()))
        for n in args.floor_connections:
            steps += [Step(None, n, "floor", None, size or self.message_size)
                      for size in args.floor_sizes]  # fmt: skip
        progress(
            f"{len(steps)} steps, window {args.window:g} s, stream {self.rate * 8 / 1e6:.2f} "
            f"Mbit/s ({self.media.name}), pinning {'on' if self.pin else 'off'}"
        )
        for i, step in enumerate(steps, 1):
            label = f"[{i}/{len(steps)}]"
            if step.spec is None:
                self.rows.append(self.run_floor(step.write_size, step.players, label))
            elif step.skip is not None:
                row = Row(step.spec.name, step.spec.mode, step.players, step.kind, step.skip)
                progress(f"{label} {describe(row)}")
                self.rows.append(row)
            else:
                self.rows.append(self.run_step(step.spec, step.players, step.kind, label))
        return self.rows


def fmt_size(size: int) -> str:
    return f"{size / 1000:.1f} KB" if size < 10_000 else f"{size // 1024} KB"


def describe(row: Row) -> str:
    head = f"{row.server} {row.mode} {row.players} {row.kind}"
    if row.skipped:
        return f"{head}: skipped, {row.skipped}"
    us = row.us_per_mb()
    cpu = 100 * (row.cpu_s or 0) / row.window if row.window else 0
    if row.floor:
        return f"{head}: CPU {cpu:.1f} %, {us:.0f} µs/MB"
    lg = row.loadgen
    return (
        f"{head}: started {lg['started']}/{lg['players']}, CPU {cpu:.1f} %, "
        f"{us if us is None else round(us)} µs/MB, stalled {lg['stalled']}, "
        f"first frame p95 {lg['first_frame_p95_ms']} ms, delay p99 {lg['delay_p99_ms']} ms"
        + (f", errors {lg['errors']}" if lg["errors"] else "")
    )


COLUMNS = (
    "server", "mode", "players", "CPU %", "µs/MB", "sys µs/MB", "x nginx", "RSS MB",
    "KB/player", "stalled", "first frame p50/p95 ms", "fwd delay p50/p99 ms", "loadgen CPU %",
)  # fmt: skip


def table_rows(rows: list[Row]) -> list[list[str]]:
    out = []
    for r in rows:
        if r.skipped:
            out.append([r.server, r.label, str(r.players), f"skipped: {r.skipped}"])
            continue
        us, sys_us = r.us_per_mb(), r.sys_us_per_mb()
        ref = nginx_ref(rows, r)
        ratio = f"{us / ref:.2f}" if us and ref else "-"
        cpu = f"{100 * (r.cpu_s or 0) / r.window:.1f}" if r.window else "-"
        if r.floor:
            out.append([r.server, r.mode, str(r.players), cpu, f"{us:.0f}", f"{sys_us:.0f}",
                        ratio] + ["-"] * 6)  # fmt: skip
            continue
        lg = r.loadgen
        rss = lg.get("server_rss_kb_peak")
        before = lg.get("server_rss_kb_before")
        # per player: only where players, not the stream's own state, dominate the growth
        per = f"{(rss - before) / r.players:.0f}" if rss and before and r.players >= 100 else "-"
        lg_cpu = f"{100 * lg['loadgen_cpu_s'] / r.window:.0f}"
        out.append([
            r.server, r.label, str(r.players), cpu,
            "-" if us is None else f"{us:.0f}", "-" if sys_us is None else f"{sys_us:.0f}",
            ratio, f"{rss / 1024:.1f}" if rss else "-", per,
            f"{lg['stalled']}" + (f" ({r.players - lg['started']} not started)"
                                 if lg["started"] < r.players else ""),
            f"{fmt_ms(lg['first_frame_p50_ms'])} / {fmt_ms(lg['first_frame_p95_ms'])}",
            f"{fmt_ms(lg['delay_p50_ms'])} / {fmt_ms(lg['delay_p99_ms'])}",
            lg_cpu,
        ])  # fmt: skip
    return out


def fmt_ms(v: float | None) -> str:
    if v is None:
        return "-"
    return f"{v:.0f}" if abs(v) >= 10 else f"{v:.1f}"


def text_table(rows: list[Row]) -> str:
    body = table_rows(rows)
    widths = [len(c) for c in COLUMNS]
    for line in body:
        cells = line if len(line) == len(COLUMNS) else line[:3]  # skipped: a note after 3
        widths[: len(cells)] = [max(w, len(c)) for w, c in zip(widths, cells, strict=False)]
    fmt_line = "  ".join
    lines = [fmt_line(c.ljust(w) for c, w in zip(COLUMNS, widths, strict=True))]
    lines.append(fmt_line("-" * w for w in widths))
    for line in body:
        if len(line) != len(COLUMNS):
            lines.append(fmt_line(c.ljust(w) for c, w in zip(line[:3], widths, strict=False))
                         + "  " + line[3])  # fmt: skip
        else:
            lines.append(fmt_line(c.ljust(w) for c, w in zip(line, widths, strict=True)))
    return "\n".join(lines)


def markdown_table(rows: list[Row]) -> str:
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for line in table_rows(rows):
        if len(line) != len(COLUMNS):
            line = line[:3] + [line[3]] + [""] * (len(COLUMNS) - 4)
        lines.append("| " + " | ".join(line) + " |")
    return "\n".join(lines)


def _cmd_version(cmd: list[str]) -> str:
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return "not installed"
    text = (r.stdout or r.stderr).strip().splitlines()
    return text[0] if text else "?"


def machine() -> dict[str, str]:
    model = "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    try:
        uv = importlib.metadata.version("uvloop")
    except importlib.metadata.PackageNotFoundError:
        uv = "not installed"
    rtmp = _cmd_version(["dpkg-query", "-W", "-f=${Version}", "libnginx-mod-rtmp"])
    commit = _cmd_version(["git", "-C", str(ROOT), "describe", "--always", "--dirty"])
    return {
        "cpu": f"{model}, {os.cpu_count()} cores",
        "kernel": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "uvloop": uv,
        "nginx": _cmd_version([shutil.which("nginx") or "/usr/sbin/nginx", "-v"]),
        "nginx-rtmp": f"libnginx-mod-rtmp {rtmp}",
        "ffmpeg": _cmd_version(["ffmpeg", "-version"]),
        "livecast": commit,
    }


def save(rows: list[Row], args: argparse.Namespace, info: dict[str, str], took: float) -> str:
    RESULTS.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    data = {
        "machine": info,
        "args": {k: v for k, v in vars(args).items()},
        "took_s": round(took, 1),
        "rows": [r.__dict__ for r in rows],
    }
    (RESULTS / f"bench-{stamp}.json").write_text(json.dumps(data, indent=1))
    md = render_markdown(rows, args, info, took)
    (RESULTS / "latest.md").write_text(md)
    return md


def render_markdown(
    rows: list[Row],
    args: argparse.Namespace,
    info: dict[str, str],
    took: float,
    when: str | None = None,
) -> str:
    cmd = "make bench-quick" if args.quick else "make bench"
    meta = "\n".join(f"- {k}: {v}" for k, v in info.items())
    return (
        f"Run: `{cmd}` ({'quick' if args.quick else 'full'}: window {args.window:g} s, "
        f"players joining at {args.rate:g}/s), {when or time.strftime('%Y-%m-%d %H:%M')}, took "
        f"{took / 60:.1f} min.\n\n{meta}\n\n{markdown_table(rows)}\n"
        + "".join(f"\n{line}\n" for line in notes(rows))
        + ("\nIssue 15's targets in this run:\n\n" + "\n".join(f"- {t}" for t in goals) + "\n"
           if (goals := targets(rows)) else "")
    )  # fmt: skip


def _find(
    rows: list[Row], server: str, mode: str, players: int, kind: str = "rtmp", pub: str = ""
) -> Row | None:
    for r in rows:
        same = (r.server, r.mode, r.players, r.kind) == (server, mode, players, kind)
        if same and not r.skipped and not r.env and (not pub or r.publisher_kind == pub):
            return r
    return None


def nginx_ref(rows: list[Row], r: Row) -> float | None:
    """nginx-rtmp's µs/MB at the same player count, fed by the same publisher (the
    kernel-floor rows compare with the default publisher's)."""
    pub = r.publisher_kind if not r.floor else ""
    ref = _find(rows, "nginx-rtmp", "per-message", r.players, pub=pub)
    if ref is None and r.floor:
        ref = next((x for x in rows if x.server == "nginx-rtmp" and x.players == r.players
                    and not x.skipped), None)  # fmt: skip
    return ref.us_per_mb() if ref is not None else None


def notes(rows: list[Row]) -> list[str]:
    """Figures derived from pairs of rows: the HLS segmenter's cost per stream."""
    out = []
    for r in rows:
        off = _find(rows, "livecast", "real-time", r.players)
        if r.mode != HLS_MODE or r.skipped or off is None or not r.window or not off.window:
            continue
        on_ms = 1000 * (r.cpu_s or 0) / r.window
        off_ms = 1000 * (off.cpu_s or 0) / off.window
        out.append(
            f"HLS segmenter CPU per stream: {on_ms - off_ms:.1f} ms per stream-second "
            f"({on_ms:.1f} ms/s with HLS on, {off_ms:.1f} without, {r.players} player; "
            "docs/hls.md measured about 7)."
        )
    return out


def targets(rows: list[Row]) -> list[str]:
    """Issue 15's targets, each as met / NOT met with the measured figure, for the
    counts this run has."""
    out: list[str] = []

    def check(ok: bool, text: str) -> None:
        out.append(f"{'met    ' if ok else 'NOT met'}  {text}")

    def ratio(r: Row) -> float | None:
        us, ref_us = r.us_per_mb(), nginx_ref(rows, r)
        return us / ref_us if us and ref_us else None

    goals = (("real-time", 0.9, 20.0), ("low-cost 100 ms", 0.45, 150.0),
             ("low-cost 350 ms", 0.3, None))  # fmt: skip
    for mode, limit, delay in goals:
        for pub in ("ffmpeg", "paced"):
            for n in (300, 600):
                r = _find(rows, "livecast", mode, n, pub=pub)
                if r is None or (x := ratio(r)) is None:
                    continue
                what = f"livecast {r.label}, {n} players"
                check(x <= limit, f"{what}: {x:.2f} x nginx-rtmp (<= {limit})")
                p99 = r.loadgen.get("delay_p99_ms")
                if delay is not None and p99 is not None:
                    check(p99 <= delay, f"{what}: delay p99 {p99:.0f} ms (<= {delay:.0f})")
    live = [r for r in rows if r.server == "livecast" and r.kind == "rtmp" and not r.skipped]
    top = max((r.players for r in live), default=0)
    for r in live:
        if r.players in (600, top):
            stalled = r.loadgen.get("stalled")
            check(stalled == 0, f"livecast {r.label}, {r.players} players: {stalled} stalled (0)")
    for r in live:
        ff = r.loadgen.get("first_frame_p95_ms")
        if r.players == 300 and ff is not None:
            check(ff <= 50, f"livecast {r.label}, 300 players: first frame p95 {ff:.0f} ms (<= 50)")
        rss = r.loadgen.get("server_rss_kb_peak")
        if r.players == 600 and rss:
            check(rss <= 80 * 1024, f"livecast {r.label}, 600 players: RSS {rss / 1024:.0f} MB "
                                    "(<= 80)")  # fmt: skip
    for n in (300, 600):
        flv = _find(rows, "livecast", "real-time", n, "httpflv", pub="ffmpeg")
        rtmp = _find(rows, "livecast", "real-time", n, pub="ffmpeg")
        if flv and rtmp and flv.us_per_mb() and rtmp.us_per_mb():
            x = (flv.us_per_mb() or 0) / (rtmp.us_per_mb() or 1)
            check(x <= 1.2, f"livecast HTTP-FLV, {n} viewers: {x:.2f} x its RTMP µs/MB (<= 1.2)")
    return out


BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"


def update_docs(md: str) -> None:
    text = DOCS.read_text() if DOCS.exists() else ""
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        _, tail = rest.split(END, 1)
        DOCS.write_text(f"{head}{BEGIN}\n{md}{END}{tail}")
    else:
        DOCS.write_text(f"{text}\n{BEGIN}\n{md}{END}\n")


def render_saved(path: Path, write_docs: bool) -> int:
    """Print (and with --update-docs write) the table of a saved run's JSON."""
    data = json.loads(path.read_text())
    rows = [Row(**r) for r in data["rows"]]
    saved = argparse.Namespace(**data["args"])
    print(text_table(rows))
    print()
    for line in targets(rows):
        print(f"target {line}")
    if write_docs:
        stamp = time.strftime("%Y-%m-%d %H:%M", time.strptime(path.stem[6:], "%Y%m%d-%H%M%S"))
        update_docs(render_markdown(rows, saved, data["machine"], data["took_s"], stamp))
        progress(f"table written to {DOCS.relative_to(ROOT)}")
    return 0


def ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x.strip()]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="about one minute: 300 players, 8 s")
    ap.add_argument("--servers", help=f"comma list (default {','.join(FULL_SERVERS)})")
    ap.add_argument("--players", type=ints, help="comma list of player counts")
    ap.add_argument("--http-flv", type=ints, help="HTTP-FLV viewer counts (livecast real-time)")
    ap.add_argument(
        "--hls-players", type=ints,
        help="player counts of livecast real-time with hls.enabled=true (full: 1)",
    )  # fmt: skip
    ap.add_argument("--window", type=float, help="measurement window, s (20; quick 8)")
    ap.add_argument("--warmup", type=float, help="publisher warm-up before players, s")
    ap.add_argument("--settle", type=float, default=1.0, help="pause after the join, s")
    ap.add_argument("--rate", type=float, default=200.0, help="players joining per second")
    ap.add_argument("--probes", type=int, default=5, help="players that measure delay")
    ap.add_argument(
        "--publisher", choices=tuple(PUBLISHERS), default="ffmpeg",
        help="ffmpeg: ffmpeg -re through a recording proxy (default); "
        "paced: one write per message at its timestamp",
    )  # fmt: skip
    ap.add_argument("--paced-players", type=ints,
                    help="also livecast real-time and nginx-rtmp with the paced publisher "
                    "(full: 300,600)")  # fmt: skip
    ap.add_argument("--fanout-players", type=ints,
                    help="also livecast real-time with LIVECAST_FANOUT=write and =transport "
                    "(full: 600)")  # fmt: skip
    ap.add_argument("--floor-sizes", type=ints, help="kernel-floor write sizes (0: mean message)")
    ap.add_argument("--floor-connections", type=ints, help="kernel-floor connection counts")
    ap.add_argument("--no-floor", action="store_true", help="skip the kernel-floor rows")
    ap.add_argument("--no-pin", action="store_true", help="do not pin to cores")
    ap.add_argument(
        "--update-docs", action="store_true", help="rewrite docs/performance.md's table"
    )
    ap.add_argument(
        "--livecast-set", action="append", default=[], metavar="SECTION.KEY=VALUE",
        help="extra livecast config for every livecast step, e.g. hls.enabled=false",
    )  # fmt: skip
    ap.add_argument("--render", metavar="JSON", help="only re-render a saved run's table")
    ap.add_argument("--py-spy", metavar="DIR", help="flame graphs of livecast's windows to DIR")
    ap.add_argument(
        "--py-spy-format", default="flamegraph", choices=("flamegraph", "raw", "speedscope"),
        help="py-spy output: flamegraph (SVG), raw (collapsed stacks, text), speedscope",
    )  # fmt: skip
    ap.add_argument("--verbose", "-v", action="store_true")
    args = ap.parse_args(argv)
    q = args.quick
    args.servers = (args.servers.split(",") if args.servers else
                    list(QUICK_SERVERS if q else FULL_SERVERS))  # fmt: skip
    args.players = args.players or ([300] if q else list(FULL_PLAYERS))
    if args.hls_players is None:  # HLS segmenter's cost: HLS on vs off, 1 player
        args.hls_players = [] if q else [1]
    if args.http_flv is None:  # HTTP-FLV rows beside the RTMP rows they compare with
        args.http_flv = [] if q else [n for n in args.players if n in (100, 300, 500, 600)]
    if args.paced_players is None:
        args.paced_players = [] if q else [n for n in args.players if n in (300, 600)]
    if args.fanout_players is None:
        args.fanout_players = [] if q else [n for n in args.players if n == 600]
    args.window = args.window or (8.0 if q else 20.0)
    args.warmup = args.warmup if args.warmup is not None else (2.0 if q else 3.0)
    if args.floor_sizes is None:
        args.floor_sizes = [16384] if q else list(FLOOR_SIZES)
    if args.floor_connections is None:
        args.floor_connections = [300] if q else [300, 600]
    if args.no_floor:
        args.floor_connections = []
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if sys.platform != "linux":
        print("bench: Linux only (/proc, taskset)", file=sys.stderr)
        return 2
    if args.render:
        return render_saved(Path(args.render), args.update_docs)
    t0 = time.monotonic()
    bench = Bench(args)
    if bench.pin:
        pin_self(CLIENT_CORE)
    rows = bench.run()
    took = time.monotonic() - t0
    info = machine()
    print()
    print(text_table(rows))
    print()
    for line in notes(rows):
        print(line)
    for line in targets(rows):
        print(f"target {line}")
    md = save(rows, args, info, took)
    if args.update_docs:
        update_docs(md)
        progress(f"table written to {DOCS.relative_to(ROOT)}")
    progress(f"done in {took / 60:.1f} min; results in {RESULTS.relative_to(ROOT)}/")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
