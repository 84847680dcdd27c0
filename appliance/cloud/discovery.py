"""Home Assistant MQTT discovery for the box: one device with a volume number, a skip
button, a playing switch, a playlist select, a now-playing sensor (attributes: the whole
now-playing view) and device triggers for the panel's buttons. Every entity is available
while the box's retained `status` says `online`.

Config topics: `<prefix>/<component>/<venue_id>/<object_id>/config`, retained.
"""

from __future__ import annotations

from typing import Any

from appliance.cloud.desk import option_name
from appliance.cloud.settings import Topics
from appliance.core.model import State

PANEL_TRIGGERS = ("PLAY_PAUSE", "PLAY_NEXT", "EMERGENCY_STOP", "FADE_OUT_STOP", "RESUME")


def discovery_messages(
    state: State, topics: Topics, prefix: str = "homeassistant"
) -> list[tuple[str, dict[str, Any]]]:
    venue = state.venue
    assert venue is not None
    vid = venue.venue_id
    device = {
        "identifiers": [f"djamms_{vid}"],
        "name": venue.venue_name or "DJAMMS",
        "manufacturer": "DJAMMS",
        "model": "Venue jukebox appliance",
    }
    common = {
        "device": device,
        "availability_topic": topics.status,
        "payload_available": "online",
        "payload_not_available": "offline",
    }

    def topic(component: str, object_id: str) -> str:
        return f"{prefix}/{component}/{vid}/{object_id}/config"

    def entity(object_id: str, name: str, **fields: Any) -> dict[str, Any]:
        return {**common, "name": name, "unique_id": f"djamms_{vid}_{object_id}", **fields}

    options = [option_name(p) for p in state.playlists.values()] or ["(no playlists)"]
    default = state.playlists.get(venue.default_playlist_id)
    out: list[tuple[str, dict[str, Any]]] = [
        (
            topic("number", "volume"),
            entity(
                "volume",
                "Volume",
                command_topic=topics.ha_command("volume"),
                state_topic=topics.settings,
                value_template="{{ value_json.payload.player_settings.master_volume }}",
                min=0,
                max=100,
                step=1,
                mode="slider",
                unit_of_measurement="%",
            ),
        ),
        (
            topic("button", "skip"),
            entity(
                "skip",
                "Skip",
                command_topic=topics.ha_command("skip"),
                payload_press="PRESS",
            ),
        ),
        (
            topic("switch", "playing"),
            entity(
                "playing",
                "Playing",
                command_topic=topics.ha_command("playing"),
                state_topic=topics.now_playing,
                value_template="{{ 'ON' if value_json.payload.transport == 'playing' else 'OFF' }}",
                payload_on="ON",
                payload_off="OFF",
            ),
        ),
        (
            topic("select", "playlist"),
            entity(
                "playlist",
                "Playlist",
                command_topic=topics.ha_command("playlist"),
                options=options,
                state_topic=topics.settings,
                # the default playlist is the one the venue falls back to
                value_template="{{ '" + (option_name(default) if default else options[0]) + "' }}",
            ),
        ),
        (
            topic("sensor", "now_playing"),
            entity(
                "now_playing",
                "Now playing",
                state_topic=topics.now_playing,
                value_template="{{ (value_json.payload.now_playing or {}).get('title', '') }}",
                json_attributes_topic=topics.now_playing,
                json_attributes_template="{{ (value_json.payload.now_playing or {}) | tojson }}",
                icon="mdi:music",
            ),
        ),
    ]
    for command in PANEL_TRIGGERS:
        sub = command.lower()
        out.append(
            (
                topic("device_automation", f"panel_{sub}"),
                {
                    "automation_type": "trigger",
                    "topic": topics.ha_panel,
                    "type": "button_short_press",
                    "subtype": sub,
                    "payload": sub,
                    "device": device,
                },
            )
        )
    return out
