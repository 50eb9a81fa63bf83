"""The ``livecast`` command: serve, check-config, print-config.

Flags are handed to the config loader as text, so a bad ``--rtmp-port`` is refused with the
same one-line message as a bad ``rtmp_port`` in the file.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Callable
from typing import cast

from livecast import __version__
from livecast.config import Config, ConfigError, check_files, load_config, to_toml

_EXIT_CONFIG = 2

_DESCRIPTION = """\
livecast: a live-streaming media server.
RTMP in; RTMP, HTTP-FLV, WebSocket-FLV and HLS out.
"""

_EPILOG = """\
examples:
  livecast serve                              run on the defaults (RTMP 1935, HTTP 8080)
  livecast serve --config livecast.toml       run with a config file
  livecast check-config livecast.toml         validate a config file
  livecast print-config --config livecast.toml   show the effective config as TOML

run 'livecast COMMAND --help' for the flags of a command.
"""

_SERVE_EPILOG = """\
Flags override the same keys of the config file; every key has a default, so the
file is optional. See docs/configuration.md for every key.

examples:
  livecast serve
  livecast serve --config livecast.toml --rtmp-port 1935 --http-port 8080
  livecast serve --host 127.0.0.1 --rtmp-port 0 --http-port 0     (ports chosen by the OS)
  livecast serve --workers auto --write-merge-ms 10               (one process per CPU,
                                                                   merged writes)
  livecast serve --tls-cert cert.pem --tls-key key.pem --rtmps-port 1936

then publish and play:
  ffmpeg -re -i in.mp4 -c copy -f flv rtmp://127.0.0.1:1935/live/cam1
  ffplay rtmp://127.0.0.1:1935/live/cam1
  ffplay http://127.0.0.1:8080/live/cam1.flv
  ffplay http://127.0.0.1:8080/live/cam1/index.m3u8

exit status: 0 after SIGTERM, 2 for a bad config or flag.
"""

# (flag, config key, metavar, help); the help ends with the default from Config.default().
_OVERRIDES: tuple[tuple[str, str, str, str], ...] = (
    ("--host", "server.host", "ADDR", "address to listen on for RTMP and HTTP"),
    ("--rtmp-port", "server.rtmp_port", "N", "RTMP port (0: any free port)"),
    ("--http-port", "server.http_port", "N", "HTTP port for HTTP-FLV, WS-FLV, HLS, API"),
    ("--workers", "server.workers", "N|auto", "worker processes; 'auto' = one per CPU"),
    (
        "--write-merge-ms",
        "server.write_merge_ms",
        "N",
        "0 = write to players every loop turn (lowest latency); "
        "N = merge writes, at most every N ms (less CPU)",
    ),
    ("--rtmps-port", "server.rtmps_port", "N", "RTMPS port, used when a TLS cert and key are set"),
    ("--tls-cert", "server.tls_cert", "FILE", "PEM certificate for RTMPS (needs --tls-key)"),
    ("--tls-key", "server.tls_key", "FILE", "PEM private key for RTMPS (needs --tls-cert)"),
    ("--redis", "cluster.redis", "URL", "Redis URL of the cluster's stream directory"),
    (
        "--advertise",
        "cluster.advertise",
        "HOST:PORT",
        "how other cluster nodes reach this node's RTMP port",
    ),
    ("--log-level", "server.log_level", "LEVEL", "debug, info, warning or error"),
)


def _default_of(key: str) -> str:
    section, _, name = key.partition(".")
    value = getattr(getattr(Config.default(), section), name)
    if isinstance(value, str):
        return f'"{value}"' if value else "unset"
    return str(value)


def _add_config_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        "-c",
        metavar="FILE",
        help="TOML config file (default: none, built-in defaults)",
    )
    group = parser.add_argument_group("overrides (each beats the same key of the config file)")
    for flag, key, metavar, text in _OVERRIDES:
        group.add_argument(
            flag,
            dest=key,
            metavar=metavar,
            default=None,
            help=f"{text}; config {key}, default {_default_of(key)}",
        )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="livecast",
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"livecast {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    serve = commands.add_parser(
        "serve",
        help="run the server",
        description="Run the server until SIGTERM or Ctrl-C.",
        epilog=_SERVE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_config_flags(serve)

    check = commands.add_parser(
        "check-config",
        help="validate a config file",
        description="Validate a config file: print 'ok' (exit 0) or the first error (exit 2).",
        epilog="example:\n  livecast check-config livecast.toml",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    check.add_argument("file", metavar="FILE", help="TOML config file to validate")

    show = commands.add_parser(
        "print-config",
        help="print the effective config as TOML",
        description=(
            "Print the effective config (defaults, then the file, then the flags) as TOML. "
            "The output is itself a valid config file."
        ),
        epilog=(
            "examples:\n"
            "  livecast print-config > livecast.toml       start a config from the defaults\n"
            "  livecast print-config --config livecast.toml --rtmp-port 1936"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_config_flags(show)
    return parser


def _load(args: argparse.Namespace) -> Config:
    overrides: dict[str, object] = {key: getattr(args, key) for _, key, _, _ in _OVERRIDES}
    return load_config(args.config, overrides)


def _setup_logging(level: str) -> None:
    logging.basicConfig(
        level=getattr(logging, level.upper()),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
        force=True,
    )


def _serve(args: argparse.Namespace) -> int:
    config = _load(args)
    check_files(config)
    _setup_logging(config.server.log_level)
    # Imported here so check-config and print-config work without the server's dependencies.
    try:
        app = importlib.import_module("livecast.server.app")
    except ModuleNotFoundError as exc:
        if exc.name != "livecast.server.app":
            raise
        print("livecast: this build has no server (livecast.server.app)", file=sys.stderr)
        return 1
    serve = cast(Callable[[Config], int], app.serve)
    return serve(config)


def _check_config(args: argparse.Namespace) -> int:
    check_files(load_config(args.file, {}))
    print("ok")
    return 0


def _print_config(args: argparse.Namespace) -> int:
    sys.stdout.write(to_toml(_load(args)))
    return 0


_COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "serve": _serve,
    "check-config": _check_config,
    "print-config": _print_config,
}


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version and usage errors
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        return _COMMANDS[args.command](args)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return _EXIT_CONFIG
