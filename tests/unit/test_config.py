"""The config tree: defaults, every section, every refusal, overrides and the TOML round trip."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from livecast.config import (
    Config,
    ConfigError,
    MixInput,
    check_files,
    load_config,
    loads_config,
    parse_mix,
    to_toml,
)

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "livecast.example.toml"


def refused(text: str, overrides: dict[str, object] | None = None) -> str:
    with pytest.raises(ConfigError) as info:
        loads_config(text, overrides)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("config: ")
    return message


# --------------------------------------------------------------------------- defaults


def test_defaults_without_a_file() -> None:
    config = load_config(None, {})
    assert config == Config.default() == loads_config("")
    s = config.server
    assert (s.host, s.rtmp_port, s.http_port, s.http, s.rtmps_port) == (
        "0.0.0.0",
        1935,
        8080,
        True,
        1936,
    )
    assert (s.tls_cert, s.tls_key, s.tls, s.workers, s.write_merge_ms, s.log_level) == (
        "",
        "",
        False,
        1,
        0,
        "info",
    )
    r = config.rtmp
    assert r.apps == ()
    assert (r.chunk_size, r.window_ack_size, r.peer_bandwidth) == (4096, 2_500_000, 2_500_000)
    assert (r.publish_conflict, r.play_wait_s, r.handshake_timeout_s, r.idle_timeout_s) == (
        "reject",
        0.0,
        10.0,
        30.0,
    )
    assert (r.max_streams_per_connection, r.max_message_size, r.player_queue_bytes) == (
        16,
        8_388_608,
        4_194_304,
    )
    assert (r.gop_cache, r.gop_cache_max_bytes) == (True, 33_554_432)
    assert (config.http.cors_origin, config.http.flv_wait_s) == ("*", 0.0)
    h = config.hls
    assert (h.enabled, h.segment_s, h.window, h.dir, h.endlist) == (True, 2.0, 6, "", True)
    assert h.delete_grace_s == 2 * 6 * 2.0
    assert (config.cluster.redis, config.cluster.advertise) == ("", "")
    assert config.push == config.edge == config.pull == config.record == config.mixes == ()


def test_default_config_is_immutable_and_hashable() -> None:
    config = Config.default()
    with pytest.raises(AttributeError):
        config.server.rtmp_port = 1  # type: ignore[misc]
    assert hash(config) == hash(Config.default())


def test_delete_grace_follows_the_window_unless_set() -> None:
    assert loads_config("[hls]\nsegment_s = 4\nwindow = 5").hls.delete_grace_s == 40.0
    assert loads_config("[hls]\nwindow = 5\ndelete_grace_s = 3").hls.delete_grace_s == 3.0


def test_workers_auto_counts_cpus() -> None:
    server = loads_config('[server]\nworkers = "auto"').server
    assert server.workers == "auto"
    assert server.worker_count(cpus=6) == 6
    assert loads_config("[server]\nworkers = 3").server.worker_count(cpus=6) == 3


# --------------------------------------------------------------------------- each section

FULL = """\
[server]
host = "127.0.0.1"
rtmp_port = 11935
http_port = 0
http = false
rtmps_port = 11936
tls_cert = "cert.pem"
tls_key = "key.pem"
workers = 4
write_merge_ms = 10
log_level = "debug"

[rtmp]
apps = ["live", "cams"]
chunk_size = 60000
window_ack_size = 5000000
peer_bandwidth = 6000000
publish_conflict = "replace"
play_wait_s = 5
handshake_timeout_s = 3.5
idle_timeout_s = 12
max_streams_per_connection = 2
max_message_size = 1048576
player_queue_bytes = 65536
gop_cache = false
gop_cache_max_bytes = 1000000

[http]
cors_origin = "https://example.com"
flv_wait_s = 1.5

[hls]
enabled = false
segment_s = 1
window = 3
dir = "/var/lib/livecast/hls"
endlist = false
delete_grace_s = 7.5

[cluster]
redis = "redis://127.0.0.1:6379/0"
advertise = "10.0.0.5:1935"

[[push]]
app = "live"
url = "rtmp://ingest.example.net/app/{name}"

[[push]]
app = "live"
url = "rtmps://cdn.example.net:443/{app}/{name}?key=s3cr\\"et"

[[edge]]
app = "cams"
origins = ["rtmp://origin.example.net:1935/cams", "rtmp://backup.example.net/cams"]
idle_s = 20

[[pull]]
url = "rtmp://remote.example.net/app/key"
stream = "live/restream"

[[record]]
app = "live"
format = "flv"
path = "recordings/{app}/{name}/{start:%Y%m%d-%H%M%S}.flv"

[mixes.show]
output = "live/show"
inputs = ["live/a", "live/b", { stream = "live/c", volume = 0.5, mute = true }]
layout = "custom"
regions = [[0, 0, 640, 360], [640, 0, 640, 360], [0, 360, 1280, 360]]
width = 1280
height = 720
fps = 25
video_kbps = 4000
audio_kbps = 96

[mixes.quad]
output = "cams/quad"
inputs = ["cams/1", "cams/2"]
"""


def test_every_section_is_parsed() -> None:
    c = loads_config(FULL)
    s = c.server
    assert (s.host, s.rtmp_port, s.http_port, s.http, s.rtmps_port) == (
        "127.0.0.1",
        11935,
        0,
        False,
        11936,
    )
    assert (s.tls_cert, s.tls_key, s.tls) == ("cert.pem", "key.pem", True)
    assert (s.workers, s.write_merge_ms, s.log_level) == (4, 10, "debug")
    r = c.rtmp
    assert r.apps == ("live", "cams")
    assert (r.chunk_size, r.window_ack_size, r.peer_bandwidth) == (60000, 5_000_000, 6_000_000)
    assert (r.publish_conflict, r.play_wait_s, r.handshake_timeout_s) == ("replace", 5.0, 3.5)
    assert isinstance(r.play_wait_s, float) and isinstance(r.idle_timeout_s, float)
    assert (r.idle_timeout_s, r.max_streams_per_connection, r.max_message_size) == (
        12.0,
        2,
        1 << 20,
    )
    assert (r.player_queue_bytes, r.gop_cache, r.gop_cache_max_bytes) == (65536, False, 1_000_000)
    assert (c.http.cors_origin, c.http.flv_wait_s) == ("https://example.com", 1.5)
    h = c.hls
    assert (h.enabled, h.segment_s, h.window, h.dir, h.endlist, h.delete_grace_s) == (
        False,
        1.0,
        3,
        "/var/lib/livecast/hls",
        False,
        7.5,
    )
    assert (c.cluster.redis, c.cluster.advertise) == ("redis://127.0.0.1:6379/0", "10.0.0.5:1935")
    assert [(p.app, p.url) for p in c.push] == [
        ("live", "rtmp://ingest.example.net/app/{name}"),
        ("live", 'rtmps://cdn.example.net:443/{app}/{name}?key=s3cr"et'),
    ]
    assert c.edge[0].app == "cams"
    assert c.edge[0].origins == (
        "rtmp://origin.example.net:1935/cams",
        "rtmp://backup.example.net/cams",
    )
    assert c.edge[0].idle_s == 20.0
    assert (c.pull[0].url, c.pull[0].stream) == (
        "rtmp://remote.example.net/app/key",
        "live/restream",
    )
    assert (c.record[0].app, c.record[0].format) == ("live", "flv")
    assert c.record[0].path == "recordings/{app}/{name}/{start:%Y%m%d-%H%M%S}.flv"
    show = c.mix("show")
    assert show is not None
    assert show.output == "live/show"
    assert show.inputs == (
        MixInput("live/a"),
        MixInput("live/b"),
        MixInput("live/c", volume=0.5, mute=True),
    )
    assert show.layout == "custom"
    assert show.regions == ((0, 0, 640, 360), (640, 0, 640, 360), (0, 360, 1280, 360))
    assert (show.width, show.height, show.fps, show.video_kbps, show.audio_kbps) == (
        1280,
        720,
        25,
        4000,
        96,
    )
    quad = c.mix("quad")
    assert quad is not None
    assert (quad.layout, quad.width, quad.height, quad.fps) == ("grid", 1280, 720, 30)
    assert (quad.video_kbps, quad.audio_kbps, quad.regions) == (2500, 128, ())
    assert [m.name for m in c.mixes] == ["show", "quad"]
    assert c.mix("nope") is None


def test_array_of_table_defaults() -> None:
    c = loads_config(
        '[[edge]]\napp = "live"\norigins = ["rtmp://o/live"]\n'
        '[[record]]\napp = "live"\npath = "r/{name}.mp4"'
    )
    assert c.edge[0].idle_s == 10.0
    assert c.record[0].format == "mp4"


def test_parse_mix_for_the_api_names_fields_without_prefix() -> None:
    mix = parse_mix("show", {"output": "live/show", "inputs": ["live/a"]})
    assert (mix.name, mix.output, mix.inputs) == ("show", "live/show", (MixInput("live/a"),))
    with pytest.raises(ConfigError) as info:
        parse_mix("show", {"output": "live/show", "inputs": ["live/a", 3]})
    assert info.value.key == "inputs[1]"
    with pytest.raises(ConfigError) as info:
        parse_mix("show", ["live/a"])
    assert str(info.value) == 'config: body: expected a table of mix fields, got ["live/a"]'
    with pytest.raises(ConfigError) as info:
        parse_mix("bad name", {"output": "live/show", "inputs": ["live/a"]})
    assert info.value.key == "name"


# --------------------------------------------------------------------------- refusals


@pytest.mark.parametrize(
    ("text", "message"),
    [
        # unknown keys at every level
        ("bogus = 1", "config: bogus: unknown key"),
        ("[serve]\nrtmp_port = 1", "config: serve: unknown key (did you mean server?)"),
        ("[server]\nbogus = 1", "config: server.bogus: unknown key"),
        (
            "[server]\nrtmp_prot = 1",
            "config: server.rtmp_prot: unknown key (did you mean rtmp_port?)",
        ),
        ("[hls]\nwindows = 3", "config: hls.windows: unknown key (did you mean window?)"),
        (
            '[[push]]\napp = "live"\nurl = "rtmp://h/a"\n[[push]]\napp = "live"\n'
            'url = "rtmp://h/b"\nuri = 1',
            "config: push[1].uri: unknown key (did you mean url?)",
        ),
        (
            '[mixes.show]\noutput = "live/show"\ninputs = [{ stream = "live/a", vol = 1 }]',
            "config: mixes.show.inputs[0].vol: unknown key (did you mean volume?)",
        ),
        (
            '[mixes.show]\nname = "x"\noutput = "live/show"\ninputs = ["live/a"]',
            "config: mixes.show.name: unknown key (the name is the table's name)",
        ),
        # wrong types
        (
            '[server]\nrtmp_port = "abc"',
            'config: server.rtmp_port: expected an integer 0..65535, got "abc"',
        ),
        (
            "[server]\nrtmp_port = 1935.0",
            "config: server.rtmp_port: expected an integer 0..65535, got 1935.0",
        ),
        ("[server]\nhost = 1", "config: server.host: expected a string, got 1"),
        ('[server]\nhttp = "yes"', 'config: server.http: expected true or false, got "yes"'),
        ("[server]\nhttp = 1", "config: server.http: expected true or false, got 1"),
        ('[rtmp]\napps = "live"', 'config: rtmp.apps: expected a list, got "live"'),
        ('[rtmp]\napps = ["live", 2]', "config: rtmp.apps[1]: expected a string, got 2"),
        (
            "[rtmp]\nplay_wait_s = true",
            "config: rtmp.play_wait_s: expected a number 0..86400, got true",
        ),
        (
            '[rtmp]\nidle_timeout_s = "30"',
            'config: rtmp.idle_timeout_s: expected a number 0.1..86400, got "30"',
        ),
        ("server = 5", "config: server: expected a table, got 5"),
        ('push = "x"', 'config: push: expected an array of tables ([[push]]), got "x"'),
        (
            '[push]\napp = "live"',
            "config: push: expected an array of tables ([[push]]), got a table",
        ),
        ("mixes = 1", "config: mixes: expected tables [mixes.NAME], got 1"),
        # bool given for an int: bool is a subclass of int in Python
        (
            "[server]\nrtmp_port = true",
            "config: server.rtmp_port: expected an integer 0..65535, got true",
        ),
        (
            "[server]\nworkers = true",
            'config: server.workers: expected an integer 1..1024 or "auto", got true',
        ),
        (
            "[rtmp]\nchunk_size = false",
            "config: rtmp.chunk_size: expected an integer 128..65536, got false",
        ),
        # out of range
        (
            "[server]\nrtmp_port = 65536",
            "config: server.rtmp_port: expected an integer 0..65535, got 65536",
        ),
        (
            "[server]\nhttp_port = -1",
            "config: server.http_port: expected an integer 0..65535, got -1",
        ),
        (
            "[server]\nworkers = 0",
            'config: server.workers: expected an integer 1..1024 or "auto", got 0',
        ),
        (
            '[server]\nworkers = "all"',
            'config: server.workers: expected an integer 1..1024 or "auto", got "all"',
        ),
        (
            "[server]\nwrite_merge_ms = 1001",
            "config: server.write_merge_ms: expected an integer 0..1000, got 1001",
        ),
        (
            "[rtmp]\nchunk_size = 127",
            "config: rtmp.chunk_size: expected an integer 128..65536, got 127",
        ),
        (
            "[rtmp]\nmax_message_size = 100",
            "config: rtmp.max_message_size: expected an integer 1024..67108864, got 100",
        ),
        (
            "[rtmp]\nplayer_queue_bytes = 1000",
            "config: rtmp.player_queue_bytes: expected an integer 65536..268435456, got 1000",
        ),
        (
            "[rtmp]\nplay_wait_s = -1",
            "config: rtmp.play_wait_s: expected a number 0..86400, got -1",
        ),
        (
            "[rtmp]\nplay_wait_s = nan",
            "config: rtmp.play_wait_s: expected a number 0..86400, got nan",
        ),
        ("[hls]\nsegment_s = 0", "config: hls.segment_s: expected a number 0.1..60, got 0"),
        ("[hls]\nwindow = 0", "config: hls.window: expected an integer 1..1000, got 0"),
        (
            '[mixes.s]\noutput = "live/s"\ninputs = ["live/a"]\nwidth = 1281',
            "config: mixes.s.width: expected an even integer 16..7680, got 1281",
        ),
        # bad enums
        (
            '[server]\nlog_level = "verbose"',
            'config: server.log_level: expected one of "debug", "info", "warning", "error", '
            'got "verbose"',
        ),
        (
            '[rtmp]\npublish_conflict = "kick"',
            'config: rtmp.publish_conflict: expected one of "reject", "replace", got "kick"',
        ),
        (
            '[[record]]\napp = "live"\nformat = "mkv"\npath = "x.mkv"',
            'config: record[0].format: expected one of "mp4", "flv", got "mkv"',
        ),
        (
            '[mixes.s]\noutput = "live/s"\ninputs = ["live/a"]\nlayout = "mosaic"',
            'config: mixes.s.layout: expected one of "grid", "side-by-side", "pip", "vertical", '
            '"custom", got "mosaic"',
        ),
        # TLS needs both halves
        (
            '[server]\ntls_cert = "cert.pem"',
            "config: server.tls_key: must be set when server.tls_cert is set (RTMPS needs both)",
        ),
        (
            '[server]\ntls_key = "key.pem"',
            "config: server.tls_cert: must be set when server.tls_key is set (RTMPS needs both)",
        ),
        # strings with a shape
        ('[server]\nhost = ""', 'config: server.host: expected a host name or address, got ""'),
        (
            '[cluster]\nredis = "http://x"',
            'config: cluster.redis: expected a redis://, rediss:// or unix:// URL, got "http://x"',
        ),
        (
            '[cluster]\nadvertise = "10.0.0.5"',
            'config: cluster.advertise: expected "HOST:PORT" (e.g. "10.0.0.5:1935"), '
            'got "10.0.0.5"',
        ),
        (
            '[rtmp]\napps = ["a/b"]',
            "config: rtmp.apps[0]: expected an app name (no '/', no spaces), got \"a/b\"",
        ),
        ('[rtmp]\napps = ["live", "live"]', 'config: rtmp.apps[1]: "live" appears twice'),
        # required keys and shapes in arrays of tables
        ('[[push]]\napp = "live"', "config: push[0].url: missing (this key is required)"),
        ('[[push]]\napp = ""\nurl = "rtmp://h/a"', "config: push[0].app: must not be empty"),
        (
            '[[push]]\napp = "live"\nurl = "http://h/a"',
            "config: push[0].url: expected rtmp:// or rtmps:// URL (placeholders: {app}, {name}), "
            'got "http://h/a"',
        ),
        (
            '[[push]]\napp = "live"\nurl = "rtmp://h/{stream}"',
            "config: push[0].url: expected rtmp:// or rtmps:// URL (placeholders: {app}, {name}), "
            'got "rtmp://h/{stream}"',
        ),
        (
            '[[edge]]\napp = "live"\norigins = []',
            "config: edge[0].origins: expected at least 1 entries, got 0",
        ),
        ('[[edge]]\napp = "live"', "config: edge[0].origins: missing (this key is required)"),
        (
            '[[edge]]\napp = "live"\norigins = ["rtmp://a/live"]\n[[edge]]\napp = "live"\n'
            'origins = ["rtmp://b/live"]',
            'config: edge[1].app: "live" appears twice',
        ),
        (
            '[[pull]]\nurl = "rtmp://h/a/b"\nstream = "restream"',
            'config: pull[0].stream: expected "APP/NAME" (e.g. "live/cam1"), got "restream"',
        ),
        (
            '[[record]]\napp = "live"\npath = "r/{nam}.mp4"',
            "config: record[0].path: expected a file path (placeholders: {app}, {name}, "
            '{start:%Y%m%d-%H%M%S}), got "r/{nam}.mp4"',
        ),
        ('[[record]]\napp = "live"', "config: record[0].path: missing (this key is required)"),
        # mixes
        ('[mixes.s]\noutput = "live/s"', "config: mixes.s.inputs: missing (this key is required)"),
        (
            '[mixes.s]\noutput = "live/s"\ninputs = []',
            "config: mixes.s.inputs: expected a non-empty list of streams, got []",
        ),
        (
            '[mixes.s]\noutput = "live/s"\ninputs = [1]',
            "config: mixes.s.inputs[0]: expected a stream or a table, got 1",
        ),
        (
            '[mixes.s]\noutput = "live/s"\ninputs = ["live/s"]',
            "config: mixes.s.inputs[0]: a mix cannot read its own output 'live/s'",
        ),
        (
            '[mixes.s]\noutput = "live/s"\ninputs = ["live/a"]\nregions = [[0, 0, 10, 10]]',
            'config: mixes.s.regions: only used with layout = "custom"',
        ),
        (
            '[mixes.s]\noutput = "live/s"\ninputs = ["live/a", "live/b"]\nlayout = "custom"\n'
            "regions = [[0, 0, 10, 10]]",
            'config: mixes.s.regions: layout "custom" needs one region per input (2 inputs, '
            "1 regions)",
        ),
        (
            '[mixes.s]\noutput = "live/s"\ninputs = ["live/a"]\nlayout = "custom"\n'
            "regions = [[0, 0, 10]]",
            "config: mixes.s.regions[0]: expected [x, y, w, h], got [0, 0, 10]",
        ),
        (
            '[mixes.s]\noutput = "live/s"\ninputs = ["live/a"]\nlayout = "custom"\n'
            "regions = [[1000, 0, 640, 360]]",
            "config: mixes.s.regions[0]: [1000, 0, 640, 360] goes outside the 1280x720 picture",
        ),
        (
            '[mixes."a b"]\noutput = "live/s"\ninputs = ["live/a"]',
            "config: mixes.a b: expected a mix name of letters, digits, '_' or '-', got \"a b\"",
        ),
        (
            '[mixes.a]\noutput = "live/s"\ninputs = ["live/x"]\n[mixes.b]\noutput = "live/s"\n'
            'inputs = ["live/y"]',
            "config: mixes.b.output: 'live/s' is used by another mix",
        ),
        # apps named elsewhere must be allowed by rtmp.apps when it is set
        (
            '[rtmp]\napps = ["tv"]\n[[push]]\napp = "live"\nurl = "rtmp://h/a"',
            'config: push[0].app: app "live" is not in rtmp.apps',
        ),
        (
            '[rtmp]\napps = ["tv"]\n[[pull]]\nurl = "rtmp://h/a/b"\nstream = "live/x"',
            'config: pull[0].stream: app "live" is not in rtmp.apps',
        ),
        (
            '[rtmp]\napps = ["tv"]\n[mixes.s]\noutput = "tv/s"\ninputs = ["tv/a", "live/b"]',
            'config: mixes.s.inputs[1]: app "live" is not in rtmp.apps',
        ),
        # listeners cannot share a port
        (
            "[server]\nhttp_port = 1935",
            "config: server.http_port: port 1935 is already used by server.rtmp_port",
        ),
    ],
)
def test_bad_values_are_refused_with_one_line_naming_the_key(text: str, message: str) -> None:
    assert refused(text) == message


def test_error_carries_key_and_problem_apart() -> None:
    with pytest.raises(ConfigError) as info:
        loads_config("[server]\nrtmp_port = 70000")
    assert info.value.key == "server.rtmp_port"
    assert info.value.problem == "expected an integer 0..65535, got 70000"


def test_ports_may_repeat_when_zero_or_when_the_listener_is_off() -> None:
    assert loads_config("[server]\nrtmp_port = 0\nhttp_port = 0").server.http_port == 0
    assert loads_config("[server]\nhttp = false\nhttp_port = 1935").server.http is False
    # RTMPS off: its port is not bound, so it may equal another.
    assert loads_config("[server]\nrtmps_port = 8080").server.rtmps_port == 8080
    text = '[server]\nrtmps_port = 8080\ntls_cert = "c"\ntls_key = "k"'
    assert (
        refused(text) == "config: server.rtmps_port: port 8080 is already used by server.http_port"
    )


def test_long_and_multiline_values_stay_on_one_line() -> None:
    message = refused('[server]\nlog_level = """a\nb' + "x" * 200 + '"""')
    assert message.startswith('config: server.log_level: expected one of "debug"')
    assert len(message) < 200


def test_invalid_toml_and_unreadable_files(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[server]\nrtmp_port = \n")
    with pytest.raises(ConfigError) as info:
        load_config(str(bad), {})
    assert str(info.value).startswith(f"config: {bad}: invalid TOML: ")
    assert "line 2" in str(info.value)
    with pytest.raises(ConfigError, match=r"^config: .*missing\.toml: cannot read: "):
        load_config(str(tmp_path / "missing.toml"), {})
    latin = tmp_path / "latin.toml"
    latin.write_bytes(b'[http]\ncors_origin = "caf\xe9"\n')
    with pytest.raises(ConfigError, match=r"not UTF-8 text \(byte 25\)$"):
        load_config(str(latin), {})


def test_check_files_refuses_a_missing_certificate(tmp_path: Path) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert.write_text("x")
    config = load_config(None, {"server.tls_cert": str(cert), "server.tls_key": str(key)})
    with pytest.raises(ConfigError) as info:
        check_files(config)
    assert str(info.value) == f"config: server.tls_key: no such file: {key}"
    key.write_text("x")
    check_files(config)


# --------------------------------------------------------------------------- overrides


def test_overrides_beat_the_file(tmp_path: Path) -> None:
    path = tmp_path / "livecast.toml"
    path.write_text('[server]\nhost = "10.0.0.1"\nrtmp_port = 1000\nhttp_port = 1001\n')
    config = load_config(
        str(path),
        {
            "server.host": "127.0.0.1",
            "server.rtmp_port": "2000",
            "server.http_port": 2001,
            "server.workers": "auto",
            "server.write_merge_ms": "20",
            "server.rtmps_port": "2002",
            "server.tls_cert": "c.pem",
            "server.tls_key": "k.pem",
            "server.log_level": "warning",
            "cluster.redis": "redis://r:6379/1",
            "cluster.advertise": "10.0.0.9:2000",
            "server.http": None,  # a flag that was not given
        },
    )
    s = config.server
    assert (s.host, s.rtmp_port, s.http_port, s.workers, s.write_merge_ms) == (
        "127.0.0.1",
        2000,
        2001,
        "auto",
        20,
    )
    assert (s.rtmps_port, s.tls_cert, s.tls_key, s.log_level) == (2002, "c.pem", "k.pem", "warning")
    assert (config.cluster.redis, config.cluster.advertise) == ("redis://r:6379/1", "10.0.0.9:2000")
    assert s.http is True


def test_overrides_complete_a_half_set_tls_pair_from_the_file() -> None:
    config = loads_config('[server]\ntls_cert = "c.pem"', {"server.tls_key": "k.pem"})
    assert config.server.tls


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"server.rtmp_port": "abc"},
            'config: server.rtmp_port: expected an integer 0..65535, got "abc"',
        ),
        (
            {"server.rtmp_port": "70000"},
            "config: server.rtmp_port: expected an integer 0..65535, got 70000",
        ),
        (
            {"server.rtmp_port": True},
            "config: server.rtmp_port: expected an integer 0..65535, got true",
        ),
        (
            {"server.workers": "two"},
            'config: server.workers: expected an integer 1..1024 or "auto", got "two"',
        ),
        (
            {"server.write_merge_ms": "1.5"},
            'config: server.write_merge_ms: expected an integer 0..1000, got "1.5"',
        ),
        (
            {"server.log_level": "loud"},
            'config: server.log_level: expected one of "debug", "info", "warning", "error", '
            'got "loud"',
        ),
        (
            {"server.tls_cert": "c.pem"},
            "config: server.tls_key: must be set when server.tls_cert is set (RTMPS needs both)",
        ),
        ({"server.bogus": "1"}, "config: server.bogus: unknown key"),
        ({"nosection.key": "1"}, "config: nosection.key: unknown key"),
        ({"push": "x"}, "config: push: unknown key"),
        (
            {"cluster.advertise": "nope"},
            'config: cluster.advertise: expected "HOST:PORT" (e.g. "10.0.0.5:1935"), got "nope"',
        ),
        ({"hls.segment_s": "fast"}, 'config: hls.segment_s: expected a number 0.1..60, got "fast"'),
        ({"hls.enabled": "maybe"}, 'config: hls.enabled: expected true or false, got "maybe"'),
    ],
)
def test_overrides_follow_the_same_rules(overrides: dict[str, object], message: str) -> None:
    assert refused("", overrides) == message


def test_text_overrides_of_other_types() -> None:
    config = loads_config(
        "",
        {
            "hls.segment_s": "4.5",
            "hls.enabled": "false",
            "rtmp.apps": "live, tv",
            "server.http": "no",
        },
    )
    assert (config.hls.segment_s, config.hls.enabled) == (4.5, False)
    assert config.rtmp.apps == ("live", "tv")
    assert config.server.http is False


# --------------------------------------------------------------------------- TOML output


def test_print_round_trip_of_defaults() -> None:
    assert loads_config(to_toml(Config.default())) == Config.default()


def test_print_round_trip_of_every_section() -> None:
    config = loads_config(FULL)
    text = to_toml(config)
    assert loads_config(text) == config
    assert to_toml(loads_config(text)) == text
    # Default-valued inputs are written as plain strings, others as inline tables.
    assert 'inputs = ["live/a", "live/b", { stream = "live/c", volume = 0.5, mute = true }]' in text


def test_print_escapes_strings() -> None:
    odd = 'a"b\\c\td\u0001e\u007fé'
    config = loads_config("", {"http.cors_origin": odd})
    text = to_toml(config)
    assert r'cors_origin = "a\"b\\c\td\u0001e\u007Fé"' in text
    assert loads_config(text).http.cors_origin == odd


# --------------------------------------------------------------------------- the example file


def _uncomment(text: str) -> str:
    """Turn the example's commented-out settings (``#key = ...``, ``#[[push]]``) on."""
    return re.sub(r"(?m)^#(?=[\[a-z])", "", text)


def test_example_file_loads() -> None:
    config = load_config(str(EXAMPLE), {})
    assert config.server.rtmp_port == 1935
    assert loads_config(to_toml(config)) == config


def test_example_file_with_every_commented_setting_turned_on() -> None:
    text = _uncomment(EXAMPLE.read_text())
    config = loads_config(text, source=str(EXAMPLE))
    assert config.push and config.edge and config.pull and config.record and config.mixes
    assert loads_config(to_toml(config)) == config


def test_example_file_names_every_key() -> None:
    text = _uncomment(EXAMPLE.read_text())
    config = loads_config(text)
    written = set(re.findall(r"(?m)^([a-z_]+) =", text))
    for line in to_toml(config).splitlines():
        if " = " in line:
            assert line.split(" = ")[0] in written


# --------------------------------------------------------------------------- the reference

DOC = ROOT / "docs" / "configuration.md"


def test_every_toml_example_in_the_reference_loads() -> None:
    blocks = re.findall(r"```toml\n(.*?)```", DOC.read_text(), re.S)
    assert len(blocks) >= 10
    for block in blocks:
        loads_config(block)


def test_the_reference_names_every_key() -> None:
    doc = DOC.read_text()
    config = loads_config(FULL)
    for line in to_toml(config).splitlines():
        if " = " in line:
            assert f"`{line.split(' = ')[0]}`" in doc
    for line in ("stream", "volume", "mute"):
        assert f"`{line}`" in doc or f"{line} = " in doc
