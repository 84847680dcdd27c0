"""Shared test support: real media made with ffmpeg, a local HTTP media server with
injectable faults (`media.py`), and a private PulseAudio daemon whose output can be
recorded and measured (`pulse.py`)."""
