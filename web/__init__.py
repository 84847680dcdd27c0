"""The LAN console: a Flask app over a runtime.

`create_app(runtime, config, services=None, first_pin="")` builds it; nothing starts at
import. The app depends on the runtime's port only (`appliance.runtime_port.RuntimePort`:
`state`, `submit`, `submit_async`, `subscribe`), so the same app serves the box itself
(`appliance.runtime.Runtime`) and a remote console backed by a venue over MQTT
(`appliance.cloud.remote.RemoteVenue`).

`services` (`appliance.services.Services`) is optional: its `library` powers search and
preview (without it the console searches the state's playlists and queues), `content`,
`backup`, `importer` and `ytdlp` their routes (503 without them).

The sync hub (`web/hub.py`) must be started with `app.extensions["djamms"].hub.start()`
(the console adapter and the test server do this) and stopped with `.stop()`.

Adding routes: write a blueprint module and register it in `create_app` with one line.
Use `web.auth` (staff_required, admin_required, session_required, current_actor),
`web.body` (json_body with a size limit, typed field readers), `web.errors` (ApiError,
reply_response) and `web.context.console()` for the runtime, config and services.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import Flask

from appliance.config import Config
from appliance.services import Services

if TYPE_CHECKING:
    from appliance.runtime_port import RuntimePort


def staff_reserve(config: Config) -> int:
    """Places kept for staff in the window budget: a tenth of it."""
    return config.max_connections // 10


def create_app(
    runtime: RuntimePort,
    config: Config,
    services: Services | None = None,
    first_pin: str = "",
) -> Flask:
    from web import api, auth_api, guards, live, pages
    from web.content_routes import bp as content_bp
    from web.context import Console
    from web.errors import register_error_handlers
    from web.hub import SyncHub
    from web.lockout import DeviceTokens
    from web.openapi import bp as openapi_bp
    from web.playlist_io_routes import bp as playlist_io_bp
    from web.schedule_routes import bp as schedule_bp
    from web.sessions import SessionStore
    from web.system_routes import bp as system_bp

    app = Flask(__name__, static_folder="static", template_folder="templates")
    app.config.update(
        # no ping thread of its own: the window's writer pings, so one thread writes
        SOCK_SERVER_OPTIONS={"max_message_size": 64 * 1024},
        SEND_FILE_MAX_AGE_DEFAULT=300,
    )
    app.json.sort_keys = False  # type: ignore[attr-defined]
    web_cfg = config.section("web")
    memory = bool(web_cfg.get("memory_sessions"))
    sessions_file = None if memory else config.data_dir / "console-sessions.json"
    devices_file = None if memory else config.data_dir / "console-devices.json"
    app.extensions["djamms"] = Console(
        runtime=runtime,
        config=config,
        services=services if services is not None else Services(),
        sessions=SessionStore(sessions_file),
        hub=SyncHub(
            runtime, max_clients=config.max_connections, staff_reserve=staff_reserve(config)
        ),
        devices=DeviceTokens(devices_file),
        first_pin=first_pin,
    )
    register_error_handlers(app)
    guards.register(app, web_cfg.get("allowed_hosts", ()))
    app.register_blueprint(auth_api.bp)
    app.register_blueprint(api.bp)
    live.register(app)
    app.register_blueprint(pages.bp)
    app.register_blueprint(content_bp)
    app.register_blueprint(schedule_bp)
    app.register_blueprint(system_bp)
    app.register_blueprint(playlist_io_bp)
    app.register_blueprint(openapi_bp)
    return app
