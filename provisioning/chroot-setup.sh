#!/bin/sh
# Runs inside the image's root (chroot, as root) after Debian's packages and our overlay are
# in: the app's venv from the pinned wheels (hash-checked, no index), the service user, the
# units, and the per-architecture boot set-up. Arguments: ARCH ROOT_PARTUUID BUILD_TIME (seconds).
set -eu
arch=$1 root_partuuid=$2 epoch=$3

systemd-sysusers
systemd-tmpfiles --create djamms.conf

# The venv is the whole truth (lgpio included): no system site-packages. Byte-compiled
# here, since /opt is read-only to the service and a Pi would recompile on every start.
python3 -m venv /opt/djamms/venv
/opt/djamms/venv/bin/pip install -q --no-cache-dir --no-index --find-links /opt/djamms/wheels \
	--require-hashes -r /opt/djamms/requirements.lock
/opt/djamms/venv/bin/pip install -q --no-cache-dir --no-index --no-deps /opt/djamms/wheels/djamms-*.whl
rm -rf /opt/djamms/wheels
# yt-dlp needs its JavaScript runtime for YouTube; a wheel whose binary lost its mode bits
# (deno 2.6.4's did) would leave the box with "JS runtimes: none". Fail the build instead.
test -x /opt/djamms/venv/bin/deno
/opt/djamms/venv/bin/djamms --help > /dev/null

# One sound server for the box: no per-login PulseAudio grabbing the card.
systemctl --global mask pulseaudio.service pulseaudio.socket
# The clock: timesyncd keeps the last known time across reboots; NetworkManager brings
# the network (wired by DHCP, Wi-Fi from first boot's keyfile).
systemctl enable systemd-timesyncd.service NetworkManager.service djamms-growroot.service \
	djamms-clock.service
# A fresh card never starts before the day it was built (systemd's clock floor).
touch -d "@$epoch" /usr/lib/clock-epoch

echo djamms > /etc/hostname
printf '127.0.0.1\tlocalhost\n127.0.1.1\tdjamms\n::1\tlocalhost ip6-localhost ip6-loopback\n' > /etc/hosts
cat > /etc/fstab <<EOF
PARTUUID=$root_partuuid  /               ext4  defaults,noatime,commit=30  0  1
LABEL=bootfs  /boot/firmware  vfat  defaults,noatime,umask=0022,flush  0  2
EOF

if [ "$arch" = arm64 ]; then
	# raspi-firmware writes cmdline.txt from these and copies the kernel and initrd to
	# /boot/firmware on every kernel or initramfs change.
	cat > /etc/default/raspi-firmware <<EOF
ROOTPART=PARTUUID=$root_partuuid
CONSOLES="tty0"
KERNEL_ARCH="arm64"
EOF
	# panic=10: a box that panics reboots itself instead of leaving the bar silent.
	cat > /etc/default/raspi-extra-cmdline <<EOF
quiet panic=10
EOF
	kver=$(ls /lib/modules | sort -V | tail -n 1)
	# The hook does nothing unless told it runs from a package configure step.
	DEB_MAINT_PARAMS=configure /etc/kernel/postinst.d/z50-raspi-firmware "$kver"
fi
# No package caches or apt lists on the card.
apt-get clean
rm -rf /var/lib/apt/lists/* /var/cache/debconf/*-old /var/log/*.log /root/.cache
