"""The cloud's adapters: the MQTT link (when `config.broker` is set; it also offers its
health, `connected`, to the maintenance job) and the Appwrite mirror (when `[appwrite]
enabled = true`). Their modules load only when configured."""

from __future__ import annotations

from typing import TYPE_CHECKING

from appliance.cloud.settings import LinkSettings
from appliance.config import Config
from appliance.runtime import Runtime
from appliance.runtime_port import RuntimePort
from appliance.services import Library

if TYPE_CHECKING:
    from appliance.cloud.appwrite import AppwriteMirror
    from appliance.cloud.link import MqttLink


def build_cloud_link(config: Config, runtime: Runtime, library: Library | None) -> MqttLink | None:
    """`library` answers the cloud desk's searches when the library runs here."""
    settings = LinkSettings.from_config(config)
    if settings is None:
        return None
    from appliance.cloud.link import MqttLink

    return MqttLink(runtime, settings, config.data_dir, library=library)


def build_appwrite_mirror(config: Config, runtime: RuntimePort) -> AppwriteMirror | None:
    from appliance.cloud.appwrite import AppwriteMirror, AppwriteSettings

    settings = AppwriteSettings.from_config(config)
    return None if settings is None else AppwriteMirror(runtime, settings)
