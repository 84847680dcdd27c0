"""The System tab's yt-dlp line: `GET /api/system/ytdlp` answers staff with the running
release and the daily update's settings and last result (a real Updater over an empty side
environment folder), and refuses guests."""

from __future__ import annotations

from pathlib import Path

from appliance.library.cache import MediaCache
from appliance.library.resolver import Resolver
from appliance.library.updater import Updater, UpdateSettings
from appliance.library.ytdlp_env import EnvStore, builtin_env
from tests.integration.web.conftest import Api
from tests.support.server import running_box


def test_staff_see_the_ytdlp_release_and_its_update(tmp_path: Path) -> None:
    store = EnvStore(tmp_path / "ytdlp")
    updater = Updater(store, Resolver(MediaCache(tmp_path / "c", 10**6)),
                      UpdateSettings(hour=5, canary_youtube_id=""))  # fmt: skip
    with running_box(tmp_path / "data", services={"ytdlp": updater}) as box:
        status = Api(box.url).login().get(box.url + "/api/system/ytdlp")
        assert status.status_code == 200, status.text
        body = status.json()
        assert body["version"] == builtin_env().version and body["side_environment"] is False
        assert body["update_enabled"] is True and body["update_hour"] == 5
        assert body["last_update"] is None and "yt-dlp-ejs" in body["packages"]
        guest = Api(box.url).guest().get(box.url + "/api/system/ytdlp")
        assert guest.status_code in (401, 403)
        assert guest.json()["error"]["code"]
