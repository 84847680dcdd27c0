"""Reading the journal when the store loads: the segments after the snapshot, a torn last
line cut off (a power cut mid-write: never acknowledged), segments that cannot be replayed
onto the snapshot set aside for inspection, and what the journal tells beside its messages
(restore files it names, commands answered before the snapshot)."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

from appliance.core import messages as m
from appliance.core.codec import message_from_data, parse_json
from appliance.core.model import State

log = logging.getLogger(__name__)


def journal_segments(journal_dir: Path) -> list[tuple[int, Path]]:
    """(first entry number, path) of each segment, oldest first."""
    out = []
    for p in journal_dir.glob("*.jsonl"):
        try:
            out.append((int(p.stem), p))
        except ValueError:
            continue
    return sorted(out)


@dataclass
class JournalReading:
    journal_dir: Path
    readonly: bool
    notes: list[str]  # the store's recovery notes, added to
    read_staged: Callable[[str], State]
    staged: dict[str, int] = field(default_factory=dict)  # restore file -> entry naming it
    answered: list[tuple[str, int]] = field(default_factory=list)  # before the snapshot

    def entries(self, after: int) -> Iterator[tuple[m.Message, float]]:
        """The messages after snapshot entry `after`, in order; a torn tail cut, what
        cannot be replayed set aside."""
        expected = after + 1
        if not self.journal_dir.is_dir():
            return
        segments = [path for _, path in journal_segments(self.journal_dir)]
        for i, path in enumerate(segments):
            good_bytes = 0
            with open(path, "rb") as f:
                for raw in f:
                    try:
                        entry = parse_json(raw)
                        n = int(entry["n"])
                        msg = message_from_data(entry["m"])
                        t = float(entry["t"])
                        if not raw.endswith(b"\n"):
                            raise ValueError("unterminated line")
                    except Exception:  # noqa: BLE001 - torn tail: never acknowledged
                        self._truncate(path, good_bytes)
                        self._set_aside(segments[i + 1 :])
                        return
                    if n > expected:  # what follows cannot be replayed onto this state
                        self.notes.append(f"journal gap at {expected}; stopped")
                        log.warning(self.notes[-1])
                        if good_bytes:
                            self._truncate(path, good_bytes)
                            self._set_aside(segments[i + 1 :])
                        else:
                            self._set_aside(segments[i:])
                        return
                    good_bytes += len(raw)
                    staged = entry.get("staged")
                    if isinstance(staged, str):
                        self.staged[staged] = n
                    if n < expected:
                        if msg.command_id and isinstance(entry.get("r"), int):
                            self.answered.append((msg.command_id, entry["r"]))
                        continue
                    expected += 1
                    if isinstance(staged, str) and isinstance(msg, m.RestoreState):
                        try:
                            msg = replace(msg, state=self.read_staged(staged))
                        except (OSError, ValueError, TypeError, KeyError) as exc:
                            self.notes.append(f"restore {n} skipped: {staged} ({exc})")
                            log.error(self.notes[-1])
                            continue
                    yield msg, t

    def _set_aside(self, paths: list[Path]) -> None:
        """Keep unreplayable segments for inspection, out of the way of new ones."""
        if self.readonly:
            return
        for path in paths:
            os.replace(path, path.with_suffix(".orphan"))
            self.notes.append(f"journal {path.name} set aside")

    def _truncate(self, path: Path, size: int) -> None:
        note = f"journal {path.name}: torn tail cut at byte {size}"
        log.warning(note)
        self.notes.append(note)
        if self.readonly:
            return
        with open(path, "r+b") as f:
            f.truncate(size)
            os.fsync(f.fileno())
