"""Loudness normalisation: the gain that brings a track to the venue's target.

A track's integrated loudness (LUFS, EBU R128 / ITU-R BS.1770) and true peak (dBTP) are
measured once by the library; the deck then plays it at `track_gain_db(...)`. The boost is
capped, and the true peak after the gain stays at or below the ceiling, so a quiet track
with a loud transient is raised only as far as it can go without clipping.
"""

from __future__ import annotations

from dataclasses import dataclass

TARGET_DEFAULT = -16  # LUFS: between Spotify's -14 and Music Assistant's -17
TARGET_RANGE = (-30, -8)
MAX_BOOST_DB = 12.0
PEAK_CEILING_DBTP = -1.0
# Not measured yet: assume a loud modern master, so an unknown track is never the one that
# blasts the room; it is measured in time for its next play.
UNMEASURED_LUFS = -9.0


@dataclass(frozen=True)
class Loudness:
    integrated_lufs: float
    true_peak_dbtp: float


def track_gain_db(measured: Loudness | None, target_lufs: float, *, enabled: bool = True) -> float:
    """The gain (dB) to play a track at; 0 when normalisation is off."""
    if not enabled:
        return 0.0
    if measured is None:
        return min(MAX_BOOST_DB, target_lufs - UNMEASURED_LUFS)
    if measured.integrated_lufs <= -70.0:  # silence (the gate's floor): leave it alone
        return 0.0
    gain = target_lufs - measured.integrated_lufs
    return min(gain, MAX_BOOST_DB, PEAK_CEILING_DBTP - measured.true_peak_dbtp)


def db_to_amplitude(db: float) -> float:
    return float(10.0 ** (db / 20.0))
