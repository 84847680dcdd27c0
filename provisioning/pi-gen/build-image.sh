#!/usr/bin/env bash
# Build the DJAMMS SD-card image: Raspberry Pi OS Lite (Bookworm, 64-bit) + stage-djamms.
# Runs on a Linux machine with internet and Docker (pi-gen's build-docker.sh), ~15 GB free
# disk, 30-60 minutes. The image lands in build/pi-gen/deploy/.
#   provisioning/pi-gen/build-image.sh
# Environment: PI_GEN_REF (pi-gen tag/branch), WORK (pi-gen checkout), ADMIN_PASS (console
# password of the "venueadmin" user; generated and saved to build/admin-password if unset).
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
cd "$repo"
work=${WORK:-$repo/build/pi-gen}
ref=${PI_GEN_REF:-arm64}
[ -d "$work/.git" ] || git clone --depth 1 --branch "$ref" https://github.com/RPi-Distro/pi-gen.git "$work"

bash provisioning/build-wheelhouse.sh build/wheels
python3 -m provisioning.build_overlay --out build/overlay.tar.gz --wheelhouse build/wheels

rm -rf "$work/stage-djamms"
cp -r provisioning/pi-gen/stage-djamms "$work/"
mkdir -p "$work/stage-djamms/01-djamms/files"
cp build/overlay.tar.gz "$work/stage-djamms/01-djamms/files/overlay.tar.gz"
touch "$work/stage2/SKIP_IMAGES"  # export only our image, not plain Lite
if [ -z "${ADMIN_PASS:-}" ]; then
  ADMIN_PASS=$(python3 -c 'import secrets; print(secrets.token_urlsafe(12))')
  umask 077; echo "$ADMIN_PASS" > build/admin-password
  echo "console password for venueadmin saved in build/admin-password"
fi
{ cat provisioning/pi-gen/config; echo "FIRST_USER_PASS='$ADMIN_PASS'"; } > "$work/config"
(cd "$work" && ./build-docker.sh)
ls -l "$work/deploy"
