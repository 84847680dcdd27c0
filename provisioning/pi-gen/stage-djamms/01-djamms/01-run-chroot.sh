#!/bin/bash -e
# Inside the image: the service user, its directories, the venv from the pinned wheels
# (hash-checked, no index), the units, and PulseAudio in system mode only.
systemd-sysusers
systemd-tmpfiles --create djamms.conf
python3 -m venv /opt/djamms/venv  # isolated: the lock is the whole truth (lgpio included)
/opt/djamms/venv/bin/pip install --no-index --find-links /opt/djamms/wheels \
	--require-hashes -r /opt/djamms/requirements.lock
/opt/djamms/venv/bin/pip install --no-index --no-deps /opt/djamms/wheels/djamms-*.whl
/opt/djamms/venv/bin/djamms --help > /dev/null
systemctl enable djamms.service djamms-firstboot.service djamms-audio.service \
	djamms-wifi-setup.service
# One sound server for the box: no per-login PulseAudio grabbing the card.
systemctl --global mask pulseaudio.service pulseaudio.socket
