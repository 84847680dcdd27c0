"""What a backup archive is: its members' names, its format and version, the limits a
restore holds it to, and the error a refused backup or restore raises. Shared by the
backups (`appliance.backup`, `appliance.backup_archive`) and the console (the restore's
upload limit, the error's answer): pure, no I/O."""

from __future__ import annotations

FORMAT = "djamms-backup"
VERSION = 1
MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
STATE = "state.json"
SETTINGS = "settings.json"
MAX_RESTORE_BYTES = 8 * 1024**3
# what one member may unpack to, judged from its tar header before a byte is written
# (a decompression bomb is refused, not unpacked); gallery files: the archive's limit
MEMBER_LIMITS = {STATE: 512 * 1024**2, SETTINGS: 4 * 1024**2, MANIFEST: 4 * 1024**2,
                 SIGNATURE: 1024}  # fmt: skip
FREE_MARGIN = 256 * 1024**2  # left free on the data disk after a member is unpacked


class BackupError(Exception):
    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
