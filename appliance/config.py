"""One typed, validated configuration: defaults < TOML file < environment < command line.

Sections other adapters own (`[panel]`, `[cloud]`, `[appwrite]`, `[scheduler]`, ...) are
kept as plain tables in `sections` and validated by the adapter that reads them.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

AUDIO_MODES = ("auto", "null", "pulse", "alsa")
VIDEO_MODES = ("auto", "null")
PLAYERS = ("mpv", "standin")


class ConfigError(ValueError):
    pass


@dataclass(frozen=True)
class Config:
    data_dir: Path = Path("./var/data")
    media_dir: Path = Path("./var/media")
    cache_dir: Path | None = None  # default: <data_dir>/cache
    host: str = "0.0.0.0"
    port: int = 8080
    audio: str = "auto"
    video: str = "auto"
    player: str = "mpv"  # standin: reports tracks as played, no audio (for machines without mpv)
    admin_pin: str = ""  # first-start staff PIN; generated and shown on the screen page if empty
    broker: str = ""  # mqtt[s]://user:password@host:port; empty = no cloud link
    venue_name: str = "My Venue"
    venue_id: str = ""  # set at first boot from the SD card; empty = generated on first start
    timezone: str = "UTC"
    demo_media: bool = True
    cache_max_mb: int = 2048
    max_connections: int = 600
    log_level: str = "INFO"
    sections: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    @property
    def media_cache_dir(self) -> Path:
        return self.cache_dir or self.data_dir / "cache"

    def section(self, name: str) -> Mapping[str, Any]:
        return self.sections.get(name, {})


_TYPES: dict[str, type] = {
    f.name: f.type if isinstance(f.type, type) else str for f in fields(Config)
}
_PATHS = {"data_dir", "media_dir", "cache_dir"}
_INTS = {"port", "cache_max_mb", "max_connections"}
_BOOLS = {"demo_media"}


def _coerce(name: str, value: Any) -> Any:
    if name in _PATHS:
        if not isinstance(value, str | Path) or not str(value):
            raise ConfigError(f"{name} must be a path")
        return Path(value)
    if name in _INTS:
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{name} must be a whole number, not {value!r}") from None
        if number < 0 or (name == "port" and not 0 <= number <= 65535):
            raise ConfigError(f"{name} is out of range: {number}")
        return number
    if name in _BOOLS:
        if isinstance(value, bool):
            return value
        if str(value).lower() in ("1", "true", "yes", "on"):
            return True
        if str(value).lower() in ("0", "false", "no", "off"):
            return False
        raise ConfigError(f"{name} must be true or false, not {value!r}")
    if not isinstance(value, str):
        raise ConfigError(f"{name} must be text")
    return value


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def _validate(cfg: Config) -> Config:
    if not cfg.host.strip():
        raise ConfigError("host must not be empty")
    if cfg.log_level.upper() not in LOG_LEVELS:
        raise ConfigError(f"log_level must be one of {', '.join(LOG_LEVELS)}")
    try:
        ZoneInfo(cfg.timezone)
    except (ValueError, ZoneInfoNotFoundError):
        raise ConfigError(f"timezone {cfg.timezone!r} is not a known time zone") from None
    if not cfg.venue_name.strip() or len(cfg.venue_name) > 100:
        raise ConfigError("venue_name must be text of 1-100 characters")
    if cfg.broker and not cfg.broker.startswith(("mqtt://", "mqtts://")):
        raise ConfigError("broker must look like mqtt[s]://user:password@host:port")
    if cfg.cache_max_mb < 1 or cfg.max_connections < 1:
        raise ConfigError("cache_max_mb and max_connections must be at least 1")
    if cfg.audio not in AUDIO_MODES:
        raise ConfigError(f"audio must be one of {', '.join(AUDIO_MODES)}")
    if cfg.video not in VIDEO_MODES:
        raise ConfigError(f"video must be one of {', '.join(VIDEO_MODES)}")
    if cfg.player not in PLAYERS:
        raise ConfigError(f"player must be one of {', '.join(PLAYERS)}")
    if cfg.admin_pin and (not cfg.admin_pin.isdigit() or not 4 <= len(cfg.admin_pin) <= 12):
        raise ConfigError("admin_pin must be 4-12 digits")
    return cfg


def load_config(
    path: str | os.PathLike[str] | None = None,
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Config:
    """Build the Config. The TOML file's `[box]` table (or top level) sets the fields
    above; `DJAMMS_<FIELD>` environment variables and `overrides` (the CLI) win."""
    values: dict[str, Any] = {}
    sections: dict[str, Mapping[str, Any]] = {}
    if path:
        try:
            with open(path, "rb") as f:
                doc = tomllib.load(f)
        except FileNotFoundError:
            raise ConfigError(f"config file {path} not found") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {path}: {exc}") from None
        except OSError as exc:
            raise ConfigError(f"config file {path}: {exc.strerror or exc}") from None
        box = doc.get("box", {})
        for key, value in [*doc.items(), *box.items()]:
            if isinstance(value, dict):
                if key != "box":
                    sections[key] = value
            elif key in _TYPES and key != "sections":
                values[key] = value
            else:
                raise ConfigError(f"config file {path}: unknown setting {key!r}")
    env = os.environ if environ is None else environ
    for name in _TYPES:
        key = f"DJAMMS_{name.upper()}"
        if name != "sections" and key in env:
            values[name] = env[key]
    for name, value in (overrides or {}).items():
        if value is not None:
            values[name] = value
    cfg = Config(sections=sections)
    for name, value in values.items():
        cfg = replace(cfg, **{name: _coerce(name, value)})
    return _validate(replace(cfg, log_level=cfg.log_level.upper()))


def extractor_args(section: Mapping[str, Any]) -> dict[str, dict[str, list[str]]]:
    """`[library] extractor_args`: yt-dlp's per-extractor arguments, e.g. PO tokens from a
    venue's provider: `{youtube = {po_token = ["web.gvs+TOKEN"], player_client = ["mweb"]}}`.
    A single text value stands for a list of one."""
    raw = section.get("extractor_args", {})
    if not isinstance(raw, Mapping):
        raise ConfigError("[library] extractor_args must be a table of tables")
    out: dict[str, dict[str, list[str]]] = {}
    for extractor, args in raw.items():
        if not isinstance(args, Mapping):
            raise ConfigError(f"[library] extractor_args.{extractor} must be a table")
        out[str(extractor)] = {}
        for key, value in args.items():
            values = [value] if isinstance(value, str) else value
            if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
                raise ConfigError(f"[library] extractor_args.{extractor}.{key}: text or list")
            out[str(extractor)][str(key)] = list(values)
    return out
