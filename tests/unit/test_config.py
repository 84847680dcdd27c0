"""Config: defaults < TOML < environment < command line; bad input gives a clear error."""

from __future__ import annotations

from pathlib import Path

import pytest

from appliance.config import ConfigError, load_config


def _toml(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "djamms.toml"
    path.write_text(text)
    return path


def test_defaults_without_a_file() -> None:
    cfg = load_config(None, environ={})
    assert cfg.port == 8080 and cfg.audio == "auto" and cfg.data_dir == Path("./var/data")
    assert cfg.media_cache_dir == Path("./var/data/cache")


def test_file_then_environment_then_command_line(tmp_path: Path) -> None:
    path = _toml(
        tmp_path,
        'port = 9000\nvenue_name = "Anchor"\n[box]\naudio = "null"\n'
        "[panel]\nvolume_pins = [5, 6]\n",
    )
    cfg = load_config(path, environ={"DJAMMS_PORT": "9100", "DJAMMS_DEMO_MEDIA": "off"})
    assert (cfg.port, cfg.venue_name, cfg.audio, cfg.demo_media) == (9100, "Anchor", "null", False)
    assert cfg.section("panel") == {"volume_pins": [5, 6]} and cfg.section("cloud") == {}
    cfg = load_config(path, {"port": 9200, "audio": None}, environ={"DJAMMS_PORT": "9100"})
    assert cfg.port == 9200 and cfg.audio == "null"
    assert load_config(None, environ={"DJAMMS_LOG_LEVEL": "debug"}).log_level == "DEBUG"


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("port = ", "djamms.toml"),  # not TOML
        ("port = [1, 2", "djamms.toml"),
        ('port = "eighty"', "port must be a whole number"),
        ("port = 70000", "port is out of range"),
        ('audio = "loud"', "audio must be one of auto, null, pulse, alsa"),
        ('video = "3d"', "video must be one of"),
        ('player = "vinyl"', "player must be one of mpv, standin"),
        ('admin_pin = "12a4"', "admin_pin must be 4-12 digits"),
        ('admin_pin = "123"', "admin_pin must be 4-12 digits"),
        ("demo_media = 3", "demo_media must be true or false"),
        ("host = 5", "host must be text"),
        ('host = ""', "host must not be empty"),
        ('timezone = "Mars/Olympus"', "is not a known time zone"),
        ('log_level = "LOUD"', "log_level must be one of"),
        ('broker = "http://x"', "broker must look like mqtt"),
        ("cache_max_mb = 0", "at least 1"),
        ('warp = "on"', "unknown setting 'warp'"),
        ("data_dir = 3", "data_dir must be a path"),
    ],
)
def test_bad_values_give_a_clear_error(tmp_path: Path, text: str, words: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(_toml(tmp_path, text + "\n"), environ={})
    assert words in str(info.value)


def test_missing_file_and_bad_environment(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.toml", environ={})
    with pytest.raises(ConfigError, match="config file"):
        load_config(tmp_path, environ={})  # a directory
    with pytest.raises(ConfigError, match="port must be a whole number"):
        load_config(None, environ={"DJAMMS_PORT": "x"})
