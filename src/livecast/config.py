"""livecast's settings: one typed, frozen tree read from TOML.

Every key has a default, so no file is needed. A key the loader does not know, or a value of
the wrong type or out of range, is refused with a `ConfigError` whose message is one line
naming the key: a typo must stop the server at start-up, not be silently ignored.

Each dataclass field carries its validation rule in its metadata, next to its default, so one
generic walker (`_build`) validates files, command-line overrides and API bodies the same way.
"""

from __future__ import annotations

import difflib
import json
import math
import os
import re
import string
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import Field, dataclass, field, fields
from typing import Any, ClassVar, Final, Literal, TypeVar, cast
from urllib.parse import urlsplit

__all__ = [
    "ClusterConfig",
    "Config",
    "ConfigError",
    "EdgeConfig",
    "HlsConfig",
    "HttpConfig",
    "MixConfig",
    "MixInput",
    "PullConfig",
    "PushConfig",
    "RecordConfig",
    "RtmpConfig",
    "ServerConfig",
    "check_files",
    "config_from_dict",
    "load_config",
    "loads_config",
    "parse_mix",
    "to_toml",
]


class ConfigError(ValueError):
    """A bad config file, flag or API body; ``str(error)`` is one line, ready for stderr.

    `key` is the dotted path of the offending key (``server.rtmp_port``, ``push[0].url``) and
    `problem` what is wrong with it, so the HTTP API can answer ``{"error", "field"}``.
    """

    def __init__(self, key: str, problem: str) -> None:
        self.key = key
        self.problem = " ".join(problem.split())
        super().__init__(f"config: {key}: {self.problem}")


# --------------------------------------------------------------------------- value display


def _show(value: object) -> str:
    """Render a bad value the way it looks in TOML, short enough for one line."""
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, str):
        text = json.dumps(value, ensure_ascii=False)
    elif isinstance(value, int | float):
        text = repr(value)
    elif isinstance(value, dict):
        text = "a table"
    elif isinstance(value, list):
        text = "[" + ", ".join(_show(item) for item in value[:4])
        text += ", ...]" if len(value) > 4 else "]"
    else:
        text = str(value)
    text = " ".join(text.split())
    return text if len(text) <= 60 else text[:57] + "..."


def _num(value: float) -> str:
    return f"{value:g}"


# --------------------------------------------------------------------------- rules


class _Rule:
    """How one key is validated; `check` returns the value as stored in the tree."""

    required = False

    def check(self, value: object, key: str) -> object:
        raise NotImplementedError

    def from_text(self, text: str, key: str) -> object:
        """Convert a command-line string; the default suits string-valued keys."""
        return self.check(text, key)


class _Int(_Rule):
    def __init__(self, lo: int, hi: int, *, even: bool = False) -> None:
        self.lo, self.hi, self.even = lo, hi, even
        kind = "an even integer" if even else "an integer"
        self.expect = f"expected {kind} {lo}..{hi}"

    def check(self, value: object, key: str) -> object:
        # bool is a subclass of int: `rtmp_port = true` is a mistake, not 1.
        if (
            isinstance(value, bool)
            or not isinstance(value, int)
            or not self.lo <= value <= self.hi
            or (self.even and value % 2)
        ):
            raise ConfigError(key, f"{self.expect}, got {_show(value)}")
        return value

    def from_text(self, text: str, key: str) -> object:
        if re.fullmatch(r"\s*[+-]?[0-9]{1,20}\s*", text):
            return self.check(int(text), key)
        raise ConfigError(key, f"{self.expect}, got {_show(text)}")


class _Float(_Rule):
    def __init__(self, lo: float, hi: float) -> None:
        self.lo, self.hi = lo, hi
        self.expect = f"expected a number {_num(lo)}..{_num(hi)}"

    def check(self, value: object, key: str) -> object:
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
            or not self.lo <= value <= self.hi
        ):
            raise ConfigError(key, f"{self.expect}, got {_show(value)}")
        return float(value)

    def from_text(self, text: str, key: str) -> object:
        if re.fullmatch(
            r"\s*[+-]?([0-9]{1,20}(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]{1,3})?\s*", text
        ):
            return self.check(float(text), key)
        raise ConfigError(key, f"{self.expect}, got {_show(text)}")


class _Bool(_Rule):
    _WORDS: Final = {
        **{"true": True, "yes": True, "on": True, "1": True},
        **{"false": False, "no": False, "off": False, "0": False},
    }

    def check(self, value: object, key: str) -> object:
        if not isinstance(value, bool):
            raise ConfigError(key, f"expected true or false, got {_show(value)}")
        return value

    def from_text(self, text: str, key: str) -> object:
        word = self._WORDS.get(text.strip().lower())
        if word is None:
            raise ConfigError(key, f"expected true or false, got {_show(text)}")
        return word


class _Str(_Rule):
    """A string; `test` returns what a bad string should have been, or None when fine."""

    def __init__(
        self, test: Callable[[str], str | None] | None = None, *, required: bool = False
    ) -> None:
        self.test = test
        self.required = required

    def check(self, value: object, key: str) -> object:
        if not isinstance(value, str):
            raise ConfigError(key, f"expected a string, got {_show(value)}")
        if self.required and not value:
            raise ConfigError(key, "must not be empty")
        if self.test is not None:
            expected = self.test(value)
            if expected is not None:
                raise ConfigError(key, f"expected {expected}, got {_show(value)}")
        return value


class _Enum(_Rule):
    def __init__(self, *choices: str) -> None:
        self.choices = choices
        self.expect = "expected one of " + ", ".join(json.dumps(c) for c in choices)

    def check(self, value: object, key: str) -> object:
        if not isinstance(value, str) or value not in self.choices:
            raise ConfigError(key, f"{self.expect}, got {_show(value)}")
        return value


class _List(_Rule):
    """A list of `item`s, stored as a tuple so the tree stays immutable and hashable."""

    def __init__(self, item: _Rule, *, min_len: int = 0, required: bool = False) -> None:
        self.item, self.min_len, self.required = item, min_len, required

    def check(self, value: object, key: str) -> object:
        if not isinstance(value, list | tuple):
            raise ConfigError(key, f"expected a list, got {_show(value)}")
        if len(value) < self.min_len:
            raise ConfigError(key, f"expected at least {self.min_len} entries, got {len(value)}")
        return tuple(self.item.check(item, f"{key}[{i}]") for i, item in enumerate(value))

    def from_text(self, text: str, key: str) -> object:
        parts = [part.strip() for part in text.split(",")]
        return self.check([part for part in parts if part], key)


class _Workers(_Rule):
    expect = 'expected an integer 1..1024 or "auto"'

    def check(self, value: object, key: str) -> object:
        if value == "auto":
            return value
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 1024:
            raise ConfigError(key, f"{self.expect}, got {_show(value)}")
        return value

    def from_text(self, text: str, key: str) -> object:
        if text.strip() == "auto":
            return "auto"
        if re.fullmatch(r"\s*[+-]?[0-9]{1,20}\s*", text):
            return self.check(int(text), key)
        raise ConfigError(key, f"{self.expect}, got {_show(text)}")


class _Section(_Rule):
    def __init__(self, cls: type[_Node]) -> None:
        self.cls = cls

    def check(self, value: object, key: str) -> object:
        return _build(self.cls, value, key)


class _Tables(_Rule):
    """An array of tables (``[[push]]``), each validated as `cls`."""

    def __init__(self, cls: type[_Node]) -> None:
        self.cls = cls

    def check(self, value: object, key: str) -> object:
        if isinstance(value, dict):
            raise ConfigError(key, f"expected an array of tables ([[{key}]]), got a table")
        if not isinstance(value, list):
            raise ConfigError(key, f"expected an array of tables ([[{key}]]), got {_show(value)}")
        return tuple(_build(self.cls, item, f"{key}[{i}]") for i, item in enumerate(value))


# --------------------------------------------------------------------------- string tests

_NAME_RE: Final = re.compile(r"[^/\s]+")
_MIX_NAME_RE: Final = re.compile(r"[A-Za-z0-9_-]{1,64}")


def _app_name(text: str) -> str | None:
    return None if _NAME_RE.fullmatch(text) else "an app name (no '/', no spaces)"


def _stream_path(text: str) -> str | None:
    app, sep, name = text.partition("/")
    ok = sep and _NAME_RE.fullmatch(app) and _NAME_RE.fullmatch(name)
    return None if ok else '"APP/NAME" (e.g. "live/cam1")'


def _host(text: str) -> str | None:
    return None if text and not any(c.isspace() for c in text) else "a host name or address"


def _url(
    schemes: tuple[str, ...], fields_: frozenset[str] = frozenset()
) -> Callable[[str], str | None]:
    """A test for URLs of `schemes` whose ``{placeholders}`` are among `fields_`."""
    expected = " or ".join(f"{s}://" for s in schemes) + " URL"
    if fields_:
        expected += " (placeholders: " + ", ".join("{" + f + "}" for f in sorted(fields_)) + ")"

    def test(text: str) -> str | None:
        if not _placeholders_ok(text, fields_):
            return expected
        try:
            parts = urlsplit(text)
            parts.port  # noqa: B018 - raises ValueError on a bad port
        except ValueError:
            return expected
        ok = parts.scheme.lower() in schemes and bool(parts.hostname)
        return None if ok and not any(c.isspace() for c in text) else expected

    return test


def _placeholders_ok(text: str, allowed: frozenset[str]) -> bool:
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError:
        return False
    return all(name is None or name in allowed for _, name, _, _ in parsed)


def _record_path(text: str) -> str | None:
    if text and _placeholders_ok(text, frozenset({"app", "name", "start"})):
        return None
    return "a file path (placeholders: {app}, {name}, {start:%Y%m%d-%H%M%S})"


def _redis_url(text: str) -> str | None:
    if not text:
        return None
    if text.startswith("unix://") or _url(("redis", "rediss"))(text) is None:
        return None
    return "a redis://, rediss:// or unix:// URL"


def _host_port(text: str) -> str | None:
    if not text:
        return None
    host, sep, port = text.rpartition(":")
    ok = (
        sep and _host(host) is None and re.fullmatch("[0-9]{1,5}", port) and 1 <= int(port) <= 65535
    )
    return None if ok else '"HOST:PORT" (e.g. "10.0.0.5:1935")'


_RTMP_SCHEMES: Final = ("rtmp", "rtmps")


# --------------------------------------------------------------------------- the tree


class _Node:
    """Base of every table: lets `_build` fill derived defaults and check across keys."""

    __dataclass_fields__: ClassVar[dict[str, Field[Any]]]

    @classmethod
    def _derive(cls, values: dict[str, object]) -> None:
        """Fill defaults that depend on other keys of the same table."""

    def _validate(self, path: str) -> None:
        """Check rules that span several keys; raise ConfigError naming one of them."""


_T = TypeVar("_T")
_D = TypeVar("_D", bound=_Node)


def _opt(default: _T, rule: _Rule) -> _T:
    return field(default=default, metadata={"rule": rule})


def _section(cls: type[_Node]) -> dict[str, object]:
    return {"rule": _Section(cls)}


def _many(cls: type[_Node]) -> Any:
    return field(default=(), metadata={"rule": _Tables(cls)})


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _build(cls: type[_D], data: object, path: str) -> _D:
    """Validate the TOML table `data` into a `cls`; `path` names it in errors."""
    if not isinstance(data, dict):
        raise ConfigError(path, f"expected a table, got {_show(data)}")
    known = {f.name: f for f in fields(cls) if f.init}
    for name in data:
        if name not in known:
            hint = difflib.get_close_matches(str(name), list(known), n=1)
            extra = f" (did you mean {hint[0]}?)" if hint else ""
            raise ConfigError(_join(path, str(name)), f"unknown key{extra}")
    values: dict[str, object] = {}
    for name, spec in known.items():
        rule: _Rule = spec.metadata["rule"]
        key = _join(path, name)
        if name in data:
            values[name] = rule.check(data[name], key)
        elif rule.required:
            raise ConfigError(key, "missing (this key is required)")
    cls._derive(values)
    node = cls(**values)
    node._validate(path)
    return node


@dataclass(frozen=True)
class ServerConfig(_Node):
    """``[server]``: listeners, processes and logging."""

    host: str = _opt("0.0.0.0", _Str(_host))
    rtmp_port: int = _opt(1935, _Int(0, 65535))
    http_port: int = _opt(8080, _Int(0, 65535))
    http: bool = _opt(True, _Bool())
    rtmps_port: int = _opt(1936, _Int(0, 65535))
    tls_cert: str = _opt("", _Str())
    tls_key: str = _opt("", _Str())
    workers: int | Literal["auto"] = _opt(1, _Workers())
    write_merge_ms: int = _opt(0, _Int(0, 1000))
    log_level: Literal["debug", "info", "warning", "error"] = _opt(
        "info", _Enum("debug", "info", "warning", "error")
    )

    @property
    def tls(self) -> bool:
        """RTMPS listens only when both the certificate and the key are set."""
        return bool(self.tls_cert and self.tls_key)

    def worker_count(self, cpus: int | None = None) -> int:
        """The number of worker processes; "auto" means one per CPU."""
        if self.workers == "auto":
            return max(1, cpus if cpus is not None else (os.cpu_count() or 1))
        return self.workers

    def _validate(self, path: str) -> None:
        if bool(self.tls_cert) != bool(self.tls_key):
            have, miss = ("tls_cert", "tls_key") if self.tls_cert else ("tls_key", "tls_cert")
            raise ConfigError(
                _join(path, miss), f"must be set when {_join(path, have)} is set (RTMPS needs both)"
            )
        listeners = [("rtmp_port", self.rtmp_port)]
        if self.http:
            listeners.append(("http_port", self.http_port))
        if self.tls:
            listeners.append(("rtmps_port", self.rtmps_port))
        seen: dict[int, str] = {}
        for name, port in listeners:
            if port and port in seen:
                raise ConfigError(
                    _join(path, name), f"port {port} is already used by {_join(path, seen[port])}"
                )
            seen[port] = name


@dataclass(frozen=True)
class RtmpConfig(_Node):
    """``[rtmp]``: the RTMP protocol and the live core's limits."""

    apps: tuple[str, ...] = _opt((), _List(_Str(_app_name)))
    chunk_size: int = _opt(4096, _Int(128, 65536))
    window_ack_size: int = _opt(2_500_000, _Int(1, 0xFFFFFFFF))
    peer_bandwidth: int = _opt(2_500_000, _Int(1, 0xFFFFFFFF))
    publish_conflict: Literal["reject", "replace"] = _opt("reject", _Enum("reject", "replace"))
    play_wait_s: float = _opt(0.0, _Float(0, 86400))
    handshake_timeout_s: float = _opt(10.0, _Float(0.1, 3600))
    idle_timeout_s: float = _opt(30.0, _Float(0.1, 86400))
    max_streams_per_connection: int = _opt(16, _Int(1, 1024))
    max_message_size: int = _opt(8_388_608, _Int(1024, 67_108_864))
    player_queue_bytes: int = _opt(4_194_304, _Int(65_536, 268_435_456))
    gop_cache: bool = _opt(True, _Bool())
    gop_cache_max_bytes: int = _opt(33_554_432, _Int(65_536, 1_073_741_824))

    def _validate(self, path: str) -> None:
        _no_duplicates(self.apps, _join(path, "apps"))


@dataclass(frozen=True)
class HttpConfig(_Node):
    """``[http]``: HTTP-FLV, WebSocket-FLV and HLS delivery."""

    cors_origin: str = _opt("*", _Str())
    flv_wait_s: float = _opt(0.0, _Float(0, 86400))


@dataclass(frozen=True)
class HlsConfig(_Node):
    """``[hls]``: the segmenter."""

    enabled: bool = _opt(True, _Bool())
    # Apps that get HLS; empty: every app (when enabled).
    apps: tuple[str, ...] = _opt((), _List(_Str(_app_name)))
    segment_s: float = _opt(2.0, _Float(0.1, 60))
    window: int = _opt(6, _Int(1, 1000))
    dir: str = _opt("", _Str())
    endlist: bool = _opt(True, _Bool())
    # Default: two windows' worth, so a player that fetched the last playlist can finish.
    delete_grace_s: float = _opt(24.0, _Float(0, 86400))

    @classmethod
    def _derive(cls, values: dict[str, object]) -> None:
        if "delete_grace_s" not in values:
            window = cast(int, values.get("window", 6))
            segment_s = cast(float, values.get("segment_s", 2.0))
            values["delete_grace_s"] = min(86400.0, 2.0 * window * segment_s)


@dataclass(frozen=True)
class ClusterConfig(_Node):
    """``[cluster]``: a shared stream directory across nodes (empty = embedded)."""

    redis: str = _opt("", _Str(_redis_url))
    advertise: str = _opt("", _Str(_host_port))


@dataclass(frozen=True)
class PushConfig(_Node):
    """``[[push]]``: relay each stream of `app` to `url` (``{app}``, ``{name}`` expanded)."""

    app: str = _opt("", _Str(_app_name, required=True))
    url: str = _opt("", _Str(_url(_RTMP_SCHEMES, frozenset({"app", "name"})), required=True))


@dataclass(frozen=True)
class EdgeConfig(_Node):
    """``[[edge]]``: `app` is an edge of `origins`, tried in order."""

    app: str = _opt("", _Str(_app_name, required=True))
    origins: tuple[str, ...] = _opt((), _List(_Str(_url(_RTMP_SCHEMES)), min_len=1, required=True))
    idle_s: float = _opt(10.0, _Float(0, 86400))


@dataclass(frozen=True)
class PullConfig(_Node):
    """``[[pull]]``: re-stream the remote `url` under the local `stream` ("APP/NAME")."""

    url: str = _opt("", _Str(_url(("rtmp", "rtmps", "http", "https")), required=True))
    stream: str = _opt("", _Str(_stream_path, required=True))


@dataclass(frozen=True)
class RecordConfig(_Node):
    """``[[record]]``: record each stream of `app` to `path`."""

    app: str = _opt("", _Str(_app_name, required=True))
    format: Literal["mp4", "flv"] = _opt("mp4", _Enum("mp4", "flv"))
    path: str = _opt("", _Str(_record_path, required=True))


@dataclass(frozen=True)
class MixInput(_Node):
    """One input of a mix: a local stream, its audio volume and mute switch."""

    stream: str = _opt("", _Str(_stream_path, required=True))
    volume: float = _opt(1.0, _Float(0, 10))
    mute: bool = _opt(False, _Bool())


class _MixInputs(_Rule):
    """Inputs are ``"live/a"`` strings or ``{stream, volume, mute}`` tables."""

    required = True
    _STREAM: Final = _Str(_stream_path)

    def check(self, value: object, key: str) -> object:
        if not isinstance(value, list) or not value:
            raise ConfigError(key, f"expected a non-empty list of streams, got {_show(value)}")
        inputs: list[MixInput] = []
        for i, item in enumerate(value):
            where = f"{key}[{i}]"
            if isinstance(item, str):
                inputs.append(MixInput(stream=cast(str, self._STREAM.check(item, where))))
            elif isinstance(item, dict):
                inputs.append(_build(MixInput, item, where))
            else:
                raise ConfigError(where, f"expected a stream or a table, got {_show(item)}")
        return tuple(inputs)


Region = tuple[int, int, int, int]


class _Regions(_Rule):
    """``[[x, y, w, h], ...]`` in pixels of the output picture."""

    _COORD: Final = _Int(0, 7680)
    _SIZE: Final = _Int(1, 7680)

    def check(self, value: object, key: str) -> object:
        if not isinstance(value, list):
            raise ConfigError(key, f"expected a list of [x, y, w, h], got {_show(value)}")
        regions: list[Region] = []
        for i, item in enumerate(value):
            where = f"{key}[{i}]"
            if not isinstance(item, list) or len(item) != 4:
                raise ConfigError(where, f"expected [x, y, w, h], got {_show(item)}")
            x, y = (cast(int, self._COORD.check(v, where)) for v in item[:2])
            w, h = (cast(int, self._SIZE.check(v, where)) for v in item[2:])
            regions.append((x, y, w, h))
        return tuple(regions)


@dataclass(frozen=True)
class MixConfig(_Node):
    """``[mixes.NAME]``: composite `inputs` into the live stream `output`."""

    name: str = field(default="", init=True, metadata={"rule": _Str(), "emit": False})
    output: str = _opt("", _Str(_stream_path, required=True))
    inputs: tuple[MixInput, ...] = _opt((), _MixInputs())
    layout: Literal["grid", "side-by-side", "pip", "vertical", "custom"] = _opt(
        "grid", _Enum("grid", "side-by-side", "pip", "vertical", "custom")
    )
    regions: tuple[Region, ...] = _opt((), _Regions())
    width: int = _opt(1280, _Int(16, 7680, even=True))
    height: int = _opt(720, _Int(16, 4320, even=True))
    fps: int = _opt(30, _Int(1, 120))
    video_kbps: int = _opt(2500, _Int(50, 100_000))
    audio_kbps: int = _opt(128, _Int(8, 512))

    def _validate(self, path: str) -> None:
        where = _join(path, "regions")
        if self.layout != "custom":
            if self.regions:
                raise ConfigError(where, 'only used with layout = "custom"')
        elif len(self.regions) != len(self.inputs):
            raise ConfigError(
                where,
                f'layout "custom" needs one region per input '
                f"({len(self.inputs)} inputs, {len(self.regions)} regions)",
            )
        for i, (x, y, w, h) in enumerate(self.regions):
            if x + w > self.width or y + h > self.height:
                raise ConfigError(
                    f"{where}[{i}]",
                    f"[{x}, {y}, {w}, {h}] goes outside the {self.width}x{self.height} picture",
                )
        for i, mix_input in enumerate(self.inputs):
            if mix_input.stream == self.output:
                raise ConfigError(
                    _join(path, f"inputs[{i}]"), f"a mix cannot read its own output {self.output!r}"
                )


class _Mixes(_Rule):
    def check(self, value: object, key: str) -> object:
        if not isinstance(value, dict):
            raise ConfigError(key, f"expected tables [{key}.NAME], got {_show(value)}")
        return tuple(parse_mix(name, table, _join(key, name)) for name, table in value.items())


def parse_mix(name: str, data: object, path: str = "") -> MixConfig:
    """Validate one mix (a ``[mixes.NAME]`` table or the mix API's JSON body).

    Errors name keys relative to `path` (empty for the API, so the field is ``inputs[2]``).
    """
    if not _MIX_NAME_RE.fullmatch(name):
        raise ConfigError(
            path or "name", f"expected a mix name of letters, digits, '_' or '-', got {_show(name)}"
        )
    if not isinstance(data, dict):
        raise ConfigError(path or "body", f"expected a table of mix fields, got {_show(data)}")
    if "name" in data:
        raise ConfigError(_join(path, "name"), "unknown key (the name is the table's name)")
    return _build(MixConfig, {**data, "name": name}, path)


@dataclass(frozen=True)
class Config(_Node):
    """The whole configuration; `Config.default()` is what runs with no file."""

    server: ServerConfig = field(default_factory=ServerConfig, metadata=_section(ServerConfig))
    rtmp: RtmpConfig = field(default_factory=RtmpConfig, metadata=_section(RtmpConfig))
    http: HttpConfig = field(default_factory=HttpConfig, metadata=_section(HttpConfig))
    hls: HlsConfig = field(default_factory=HlsConfig, metadata=_section(HlsConfig))
    cluster: ClusterConfig = field(default_factory=ClusterConfig, metadata=_section(ClusterConfig))
    push: tuple[PushConfig, ...] = _many(PushConfig)
    edge: tuple[EdgeConfig, ...] = _many(EdgeConfig)
    pull: tuple[PullConfig, ...] = _many(PullConfig)
    record: tuple[RecordConfig, ...] = _many(RecordConfig)
    mixes: tuple[MixConfig, ...] = field(default=(), metadata={"rule": _Mixes()})

    @classmethod
    def default(cls) -> Config:
        return cls()

    def mix(self, name: str) -> MixConfig | None:
        return next((m for m in self.mixes if m.name == name), None)

    def _validate(self, path: str) -> None:
        apps = self.rtmp.apps
        uses: list[tuple[str, str]] = []
        for kind in ("push", "edge", "record"):
            entries: tuple[PushConfig | EdgeConfig | RecordConfig, ...] = getattr(self, kind)
            uses += [(f"{kind}[{i}].app", e.app) for i, e in enumerate(entries)]
        uses += [(f"pull[{i}].stream", p.stream.partition("/")[0]) for i, p in enumerate(self.pull)]
        uses += [(f"hls.apps[{i}]", app) for i, app in enumerate(self.hls.apps)]
        for mix in self.mixes:
            base = f"mixes.{mix.name}"
            uses.append((f"{base}.output", mix.output.partition("/")[0]))
            uses += [
                (f"{base}.inputs[{i}]", m.stream.partition("/")[0])
                for i, m in enumerate(mix.inputs)
            ]
        if apps:
            for key, app in uses:
                if app not in apps:
                    raise ConfigError(key, f"app {_show(app)} is not in rtmp.apps")
        _no_duplicates([e.app for e in self.edge], "edge", "app")
        _no_duplicates([p.stream for p in self.pull], "pull", "stream")
        outputs = [m.output for m in self.mixes]
        for i, out in enumerate(outputs):
            if out in outputs[:i]:
                raise ConfigError(
                    f"mixes.{self.mixes[i].name}.output", f"{out!r} is used by another mix"
                )
            if out in [p.stream for p in self.pull]:
                raise ConfigError(
                    f"mixes.{self.mixes[i].name}.output", f"{out!r} is also a [[pull]] stream"
                )


def _no_duplicates(values: list[str] | tuple[str, ...], key: str, name: str = "") -> None:
    for i, value in enumerate(values):
        if value in values[:i]:
            where = f"{key}[{i}].{name}" if name else f"{key}[{i}]"
            raise ConfigError(where, f"{_show(value)} appears twice")


# --------------------------------------------------------------------------- loading

_SECTIONS: Final[dict[str, type[_Node]]] = {
    "server": ServerConfig,
    "rtmp": RtmpConfig,
    "http": HttpConfig,
    "hls": HlsConfig,
    "cluster": ClusterConfig,
}


def _apply_overrides(data: dict[str, Any], overrides: Mapping[str, object]) -> dict[str, Any]:
    """Put flag values into the raw table; strings from the command line are converted."""
    data = dict(data)
    for dotted, value in overrides.items():
        if value is None:  # the flag was not given
            continue
        section, _, name = dotted.partition(".")
        cls = _SECTIONS.get(section)
        spec = cls.__dataclass_fields__.get(name) if cls is not None else None
        if spec is None:
            raise ConfigError(dotted, "unknown key")
        rule: _Rule = spec.metadata["rule"]
        if isinstance(value, str):
            value = rule.from_text(value, dotted)
        table = data.get(section, {})
        if not isinstance(table, dict):
            continue  # leave it to _build to name the bad section
        data[section] = {**table, name: value}
    return data


def config_from_dict(
    data: Mapping[str, Any], overrides: Mapping[str, object] | None = None
) -> Config:
    """Validate an already-parsed TOML document, then the overrides on top of it."""
    return _build(Config, _apply_overrides(dict(data), overrides or {}), "")


def loads_config(
    text: str, overrides: Mapping[str, object] | None = None, *, source: str = "<string>"
) -> Config:
    """Parse TOML `text`; `source` names it in a syntax error."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(source, f"invalid TOML: {exc}") from None
    return config_from_dict(data, overrides)


def load_config(path: str | None, overrides: Mapping[str, object] | None = None) -> Config:
    """Load the file at `path` (None: defaults only), then apply `overrides`.

    `overrides` maps dotted keys ("server.rtmp_port") to values; None values are skipped and
    strings are converted by the key's rule, so command-line text is checked like the file.
    """
    if path is None:
        return config_from_dict({}, overrides)
    try:
        with open(path, "rb") as fp:
            raw = fp.read()
    except OSError as exc:
        raise ConfigError(path, f"cannot read: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(path, f"not UTF-8 text (byte {exc.start})") from None
    return loads_config(text, overrides, source=path)


def check_files(config: Config) -> None:
    """Refuse files that must exist before start-up (kept out of loading, which is pure)."""
    for name in ("tls_cert", "tls_key"):
        value: str = getattr(config.server, name)
        if value and not os.path.isfile(value):
            raise ConfigError(f"server.{name}", f"no such file: {value}")


# --------------------------------------------------------------------------- TOML output

_ESCAPES: Final = {
    **{'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t"},
    **{"\n": "\\n", "\f": "\\f", "\r": "\\r"},
}


def _toml_str(text: str) -> str:
    out = []
    for char in text:
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04X}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return _toml_str(value)
    if isinstance(value, tuple):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    if isinstance(value, MixInput):
        if value == MixInput(stream=value.stream):
            return _toml_str(value.stream)
        return "{ " + ", ".join(f"{k} = {_toml_value(v)}" for k, v in _items(value)) + " }"
    raise TypeError(f"cannot write {type(value).__name__} as TOML")


def _items(node: _Node) -> list[tuple[str, object]]:
    return [(f.name, getattr(node, f.name)) for f in fields(node) if f.metadata.get("emit", True)]


def _table(header: str, node: _Node) -> list[str]:
    return [header, *(f"{k} = {_toml_value(v)}" for k, v in _items(node)), ""]


def to_toml(config: Config) -> str:
    """Write `config` as TOML that `loads_config` reads back into an equal Config."""
    lines = ["# livecast effective configuration (livecast print-config)", ""]
    for section in _SECTIONS:
        lines += _table(f"[{section}]", getattr(config, section))
    for kind in ("push", "edge", "pull", "record"):
        for entry in getattr(config, kind):
            lines += _table(f"[[{kind}]]", entry)
    for mix in config.mixes:
        lines += _table(f"[mixes.{mix.name}]", mix)
    return "\n".join(lines)
