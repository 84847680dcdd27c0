"""System routes: backup (streamed archive), restore (multipart, all-or-nothing) and the
log download for a time range."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, Response, jsonify, request, stream_with_context

from appliance.backup_format import MAX_RESTORE_BYTES, BackupError
from appliance.commands import check_venue
from appliance.logs_export import export_logs, parse_time
from appliance.services import BackupRestore
from web.auth import admin_required, current_actor, staff_required
from web.body import json_body
from web.context import console
from web.errors import ApiError

bp = Blueprint("system", __name__)


def backups() -> BackupRestore:
    service = console().services.backup
    if service is None:
        raise ApiError("unavailable", "Backup is not available on this box.", 503)
    return service


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%d-%H%M%S")


@bp.post("/api/system/backup")
@admin_required
def backup() -> Response:
    check_venue(json_body(), console().runtime.state)
    chunks = backups().stream()
    resp = Response(stream_with_context(chunks), mimetype="application/gzip")
    resp.headers["Content-Disposition"] = f'attachment; filename="djamms-backup-{_stamp()}.tar.gz"'
    return resp


@bp.post("/api/system/restore")
@admin_required
def restore() -> Response:
    service = backups()
    request.max_content_length = MAX_RESTORE_BYTES
    check_venue(request.form, console().runtime.state)
    file = request.files.get("file")
    if file is None:
        raise ApiError("missing_field", "Send the backup in the multipart field `file`.")
    try:
        trust = request.form.get("confirmUnsigned") == "true"  # the admin said so
        result = service.restore(file.stream, current_actor(), trust_foreign=trust)
    except BackupError as exc:
        raise ApiError(exc.code, exc.message, exc.status) from None

    return jsonify({"ok": True, **result})


@bp.get("/api/system/ytdlp")
@staff_required
def ytdlp_status() -> Response:
    """The yt-dlp the box runs and its daily update (`Updater.status()`), for the System tab."""
    updater = console().services.ytdlp
    if updater is None:
        raise ApiError("unavailable", "yt-dlp updates are not available on this box.", 503)
    return jsonify(updater.status())


@bp.get("/api/logs/download")
@staff_required
def logs_download() -> Response:
    c = console()
    check_venue(request.args, c.runtime.state)
    try:
        since = parse_time(request.args.get("since"))
        until = parse_time(request.args.get("until"))
    except ValueError:
        raise ApiError("invalid_field", "since and until must be ISO 8601 times.") from None
    if since is not None and until is not None and until <= since:
        raise ApiError("invalid_field", "until must be after since.")
    data = export_logs(c.runtime.state, c.config.data_dir / "logs", since, until)
    resp = Response(data, mimetype="application/zip")
    resp.headers["Content-Disposition"] = f'attachment; filename="djamms-logs-{_stamp()}.zip"'
    return resp
