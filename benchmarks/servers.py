"""Start and stop the servers under test: livecast (in its modes) and nginx-rtmp.

Each server runs pinned to one core (``taskset``) with a config written into a
temporary directory; ``start`` returns once it accepts connections.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NGINX_MODULE = Path("/usr/lib/nginx/modules/ngx_rtmp_module.so")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pinned(cmd: list[str], core: int | None) -> list[str]:
    if core is None or shutil.which("taskset") is None:
        return cmd
    return ["taskset", "-c", str(core), *cmd]


def wait_port(port: int, proc: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before listening")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise RuntimeError(f"server did not listen on {port} within {timeout} s")


@dataclass
class ServerSpec:
    """What to start: ``kind`` is "livecast" or "nginx"; ``mode`` labels the table row."""

    name: str  # row label, e.g. "livecast"
    kind: str
    mode: str  # "real-time", "low-cost 100 ms", "per-message"
    write_merge_ms: int = 0
    has_http_flv: bool = False
    settings: tuple[str, ...] = ()  # extra "section.key=value" (TOML values) for livecast
    env: tuple[str, ...] = ()  # extra "NAME=value" environment for livecast
    publisher: str = "ffmpeg"  # ffmpeg (-re through the proxy) or paced


@dataclass
class RunningServer:
    spec: ServerSpec
    proc: subprocess.Popen[bytes]
    rtmp_port: int
    http_port: int | None
    workdir: Path
    log: list[str] = field(default_factory=list)

    @property
    def pid(self) -> int:
        """The server's own pid (the child of taskset, which exec's it)."""
        return self.proc.pid

    def log_tail(self, lines: int = 20) -> str:
        """The end of the server's log (livecast's output, nginx's error.log)."""
        name = "error.log" if self.spec.kind == "nginx" else "server.log"
        try:
            text = (self.workdir / name).read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.workdir, ignore_errors=True)


def nginx_available() -> str | None:
    """None when nginx-rtmp can run here, else why not."""
    if shutil.which("nginx") is None and not Path("/usr/sbin/nginx").exists():
        return "nginx is not installed (apt-get install nginx libnginx-mod-rtmp)"
    if not NGINX_MODULE.exists():
        return f"{NGINX_MODULE} missing (apt-get install libnginx-mod-rtmp)"
    return None


def nginx_conf(workdir: Path, port: int) -> str:
    return f"""
load_module {NGINX_MODULE};
daemon off;
master_process off;
worker_processes 1;
worker_rlimit_nofile 16384;
pid {workdir}/nginx.pid;
error_log {workdir}/error.log warn;
events {{ worker_connections 8192; }}
rtmp {{
    server {{
        listen 127.0.0.1:{port};
        chunk_size 4096;
        application live {{
            live on;
        }}
    }}
}}
"""


def start_nginx(spec: ServerSpec, core: int | None) -> RunningServer:
    workdir = Path(tempfile.mkdtemp(prefix="bench-nginx-"))
    port = free_port()
    conf = workdir / "nginx.conf"
    conf.write_text(nginx_conf(workdir, port))
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    cmd = pinned([nginx, "-p", str(workdir), "-e", str(workdir / "error.log"), "-c", str(conf)],
                 core)  # fmt: skip
    with open(workdir / "stderr.log", "wb") as errfile:
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=errfile)
    try:
        wait_port(port, proc, 10)
    except RuntimeError as exc:
        err = "".join(p.read_text(errors="replace") for p in workdir.glob("*.log") if p.is_file())
        proc.kill()
        raise RuntimeError(f"nginx: {exc}\n{err}") from None
    return RunningServer(spec, proc, port, None, workdir)


def livecast_command() -> list[str]:
    exe = ROOT / ".venv" / "bin" / "livecast"
    if exe.exists():
        return [str(exe)]
    return [sys.executable, "-m", "livecast"]


def livecast_available() -> str | None:
    try:
        import livecast.server.app  # noqa: F401
    except ImportError as exc:
        return f"livecast's server is not there yet ({exc})"
    return None


def livecast_toml(spec: ServerSpec) -> str:
    """The config file: write_merge_ms plus any ``section.key=value`` settings.

    HLS is off unless a setting turns it on: nginx-rtmp runs with no HLS either, and
    the table compares the same work (the HLS segmenter's own cost is in docs/hls.md).
    """
    sections: dict[str, dict[str, str]] = {
        "server": {"write_merge_ms": str(spec.write_merge_ms)},
        "hls": {"enabled": "false"},
    }
    for item in spec.settings:
        key, sep, value = item.partition("=")
        section, dot, name = key.strip().rpartition(".")
        if not (sep and dot and name):
            raise ValueError(f"livecast setting {item!r} is not section.key=value")
        sections.setdefault(section, {})[name] = value.strip()
    return "".join(
        f"[{sec}]\n" + "".join(f"{name} = {value}\n" for name, value in values.items())
        for sec, values in sections.items()
    )


def start_livecast(spec: ServerSpec, core: int | None, timeout: float = 15) -> RunningServer:
    workdir = Path(tempfile.mkdtemp(prefix="bench-livecast-"))
    rtmp_port, http_port = free_port(), free_port()
    conf = workdir / "livecast.toml"
    conf.write_text(livecast_toml(spec))
    cmd = pinned(
        [*livecast_command(), "serve", "--host", "127.0.0.1", "--config", str(conf),
         "--rtmp-port", str(rtmp_port), "--http-port", str(http_port)],
        core,
    )  # fmt: skip
    log_path = workdir / "server.log"
    env = {**os.environ, **dict(item.split("=", 1) for item in spec.env)}
    with open(log_path, "wb") as log_file:
        proc = subprocess.Popen(
            cmd, stdout=log_file, stderr=subprocess.STDOUT, cwd=workdir, env=env
        )
    server = RunningServer(spec, proc, rtmp_port, http_port, workdir)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if b"livecast ready" in log_path.read_bytes():
            return server
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    out = server.log_tail(40)
    server.stop()
    raise RuntimeError(f"livecast did not log 'livecast ready' in time; its output:\n{out}")


def start(spec: ServerSpec, core: int | None) -> RunningServer:
    if spec.kind == "nginx":
        return start_nginx(spec, core)
    return start_livecast(spec, core)
