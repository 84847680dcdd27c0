"""Factories for bootstrap: the MQTT link (when `config.broker` is set) and the Appwrite
mirror (when `[appwrite] enabled = true`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from appliance.cloud.settings import LinkSettings

if TYPE_CHECKING:
    from appliance.bootstrap import Box
    from appliance.cloud.appwrite import AppwriteMirror
    from appliance.cloud.link import MqttLink


def build_cloud_link(box: Box) -> MqttLink | None:
    settings = LinkSettings.from_config(box.config)
    if settings is None:
        return None
    from appliance.cloud.link import MqttLink

    link = MqttLink(box.runtime, settings, box.config.data_dir, library=box.services.library)
    box.services.cloud = link  # its health, for the maintenance job
    return link


def build_appwrite_mirror(box: Box) -> AppwriteMirror | None:
    from appliance.cloud.appwrite import AppwriteMirror, AppwriteSettings

    settings = AppwriteSettings.from_config(box.config)
    return None if settings is None else AppwriteMirror(box.runtime, settings)
