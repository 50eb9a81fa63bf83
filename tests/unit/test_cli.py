"""The command line: version, help, check-config, print-config and serve's config handling.

serve's server part lives in livecast.server.app; here it is replaced by a stub so only the
CLI's own job (flags -> config -> logging -> serve(config) -> exit code) is tested.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import types
from collections.abc import Iterator
from pathlib import Path

import pytest

from livecast import __version__
from livecast.cli import main
from livecast.config import Config, load_config, loads_config

ROOT = Path(__file__).resolve().parents[2]

SERVE_FLAGS = (
    "--config",
    "--host",
    "--rtmp-port",
    "--http-port",
    "--workers",
    "--write-merge-ms",
    "--rtmps-port",
    "--tls-cert",
    "--tls-key",
    "--redis",
    "--advertise",
    "--log-level",
)


@pytest.fixture(autouse=True)
def restore_root_logger() -> Iterator[None]:
    """serve configures the root logger; put it back so later tests log normally."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    for handler in root.handlers:
        if handler not in handlers:
            root.removeHandler(handler)
    for handler in handlers:
        if handler not in root.handlers:
            root.addHandler(handler)
    root.setLevel(level)


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out == f"livecast {__version__}\n"


def test_python_dash_m_works() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "livecast", "--version"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (done.returncode, done.stdout) == (0, f"livecast {__version__}\n")


def test_no_command_prints_help_and_fails(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    err = capsys.readouterr().err
    for command in ("serve", "check-config", "print-config"):
        assert command in err


def test_top_level_help_lists_commands_and_an_example(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for command in ("serve", "check-config", "print-config", "--version"):
        assert command in out
    assert "livecast serve --config livecast.toml" in out


def test_serve_help_mentions_every_flag_with_its_key(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--help"]) == 0
    out = capsys.readouterr().out
    for flag in SERVE_FLAGS:
        assert flag in out, flag
    for key in ("server.rtmp_port", "server.workers", "server.write_merge_ms", "cluster.redis"):
        assert key in out
    assert "default 1935" in out
    assert "examples:" in out
    assert "rtmp://127.0.0.1:1935/live/cam1" in out


def test_unknown_flag_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--rtmp-prot", "1"]) == 2
    assert "unrecognized arguments: --rtmp-prot" in capsys.readouterr().err


# --------------------------------------------------------------------------- check-config


def test_check_config_ok(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "good.toml"
    path.write_text("[server]\nrtmp_port = 1936\n")
    assert main(["check-config", str(path)]) == 0
    assert capsys.readouterr().out == "ok\n"


def test_check_config_example_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check-config", str(ROOT / "livecast.example.toml")]) == 0
    assert capsys.readouterr().out == "ok\n"


@pytest.mark.parametrize(
    ("text", "line"),
    [
        (
            "[server]\nrtmp_port = 70000\n",
            "config: server.rtmp_port: expected an integer 0..65535, got 70000",
        ),
        ("[server]\nbogus = 1\n", "config: server.bogus: unknown key"),
        (
            '[server]\ntls_cert = "c.pem"\n',
            "config: server.tls_key: must be set when server.tls_cert is set",
        ),
    ],
)
def test_check_config_bad(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, line: str
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    assert main(["check-config", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith(line)
    assert captured.err.count("\n") == 1


def test_check_config_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check-config", str(tmp_path / "nope.toml")]) == 2
    assert capsys.readouterr().err.startswith(f"config: {tmp_path / 'nope.toml'}: cannot read")


def test_check_config_missing_certificate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "tls.toml"
    path.write_text(f'[server]\ntls_cert = "{tmp_path}/c.pem"\ntls_key = "{tmp_path}/k.pem"\n')
    assert main(["check-config", str(path)]) == 2
    assert capsys.readouterr().err == f"config: server.tls_cert: no such file: {tmp_path}/c.pem\n"


def test_check_config_requires_a_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check-config"]) == 2
    assert "FILE" in capsys.readouterr().err


# --------------------------------------------------------------------------- print-config


def test_print_config_defaults_round_trip(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["print-config"]) == 0
    assert loads_config(capsys.readouterr().out) == Config.default()


def test_print_config_file_and_flags_round_trip(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "livecast.toml"
    path.write_text(
        '[rtmp]\napps = ["live"]\n[[push]]\napp = "live"\nurl = "rtmp://cdn.example/x/{name}"\n'
        '[mixes.show]\noutput = "live/show"\n'
        'inputs = ["live/a", { stream = "live/b", mute = true }]\n'
    )
    assert (
        main(["print-config", "--config", str(path), "--rtmp-port", "2935", "--workers", "auto"])
        == 0
    )
    printed = tmp_path / "printed.toml"
    printed.write_text(capsys.readouterr().out)
    expected = load_config(str(path), {"server.rtmp_port": 2935, "server.workers": "auto"})
    assert load_config(str(printed), {}) == expected
    assert expected.server.rtmp_port == 2935 and expected.push and expected.mixes


def test_print_config_bad_flag(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["print-config", "--http-port", "http"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == 'config: server.http_port: expected an integer 0..65535, got "http"\n'


# --------------------------------------------------------------------------- serve (config part)


@pytest.fixture
def fake_server(monkeypatch: pytest.MonkeyPatch) -> list[Config]:
    """Stand in for livecast.server.app: record the config and return 0."""
    seen: list[Config] = []

    def serve(config: Config) -> int:
        seen.append(config)
        logging.getLogger("livecast.test").info("fake serve")
        return 7 if config.server.host == "exit7" else 0

    module = types.ModuleType("livecast.server.app")
    module.serve = serve  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "livecast.server.app", module)
    return seen


def test_serve_flags_beat_the_file(tmp_path: Path, fake_server: list[Config]) -> None:
    path = tmp_path / "livecast.toml"
    path.write_text(
        '[server]\nhost = "10.1.1.1"\nrtmp_port = 1000\nhttp_port = 1001\nworkers = 3\n'
    )
    argv = ["serve", "--config", str(path), "--host", "127.0.0.1", "--rtmp-port", "0"]
    argv += ["--http-port", "0", "--write-merge-ms", "15", "--redis", "redis://r/0"]
    argv += ["--advertise", "10.0.0.5:1935", "--log-level", "warning"]
    assert main(argv) == 0
    (config,) = fake_server
    s = config.server
    assert (s.host, s.rtmp_port, s.http_port, s.workers, s.write_merge_ms, s.log_level) == (
        "127.0.0.1",
        0,
        0,
        3,
        15,
        "warning",
    )
    assert (config.cluster.redis, config.cluster.advertise) == ("redis://r/0", "10.0.0.5:1935")


def test_serve_tls_flags(tmp_path: Path, fake_server: list[Config]) -> None:
    cert, key = tmp_path / "c.pem", tmp_path / "k.pem"
    cert.write_text("c")
    key.write_text("k")
    argv = ["serve", "--tls-cert", str(cert), "--tls-key", str(key), "--rtmps-port", "4443"]
    assert main([*argv, "--workers", "auto"]) == 0
    (config,) = fake_server
    assert config.server.tls and config.server.rtmps_port == 4443
    assert config.server.workers == "auto"


def test_serve_returns_the_servers_exit_code(fake_server: list[Config]) -> None:
    assert main(["serve", "--host", "exit7"]) == 7


def test_serve_sets_up_logging(
    fake_server: list[Config], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["serve", "--log-level", "debug"]) == 0
    err = capsys.readouterr().err
    assert " INFO livecast.test: fake serve" in err
    assert logging.getLogger().level == logging.DEBUG


def test_serve_bad_config_exits_2_before_serving(
    fake_server: list[Config], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["serve", "--workers", "many"]) == 2
    assert capsys.readouterr().err == (
        'config: server.workers: expected an integer 1..1024 or "auto", got "many"\n'
    )
    assert main(["serve", "--tls-key", "k.pem"]) == 2
    assert fake_server == []
