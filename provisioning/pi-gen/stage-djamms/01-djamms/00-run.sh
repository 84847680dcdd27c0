#!/bin/bash -e
# Unpack the overlay (owner root, fixed modes); keep existing directories' metadata.
tar --no-overwrite-dir -xzf files/overlay.tar.gz -C "${ROOTFS_DIR}"
