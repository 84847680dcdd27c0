"""Factories for bootstrap: the MQTT link (when `config.broker` is set) and the Appwrite
mirror (when `[appwrite] enabled = true`)."""

from __future__ import annotations

from typing import Any

from appliance.cloud.settings import LinkSettings


def build_cloud_link(box: Any) -> Any:
    settings = LinkSettings.from_config(box.config)
    if settings is None:
        return None
    from appliance.cloud.link import MqttLink

    return MqttLink(box.runtime, settings, box.config.data_dir, library=box.services.get("library"))


def build_appwrite_mirror(box: Any) -> Any:
    from appliance.cloud.appwrite import AppwriteMirror, AppwriteSettings

    settings = AppwriteSettings.from_config(box.config)
    return None if settings is None else AppwriteMirror(box.runtime, settings)
