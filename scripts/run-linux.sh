#!/usr/bin/env bash
# Set up, build, fetch Debian 12's i386 kernel and busybox (apt), and boot them on popek
# to an interactive shell on the serial console. The test disk is attached with
# -snapshot, so the image is never changed. Ctrl-A x quits, Ctrl-A h lists the escapes;
# `exit` in the shell reboots, which ends popek (-no-reboot). Extra arguments go to popek
# (e.g. --engine=interp, --pg-report, --stats). -icount sleep=on paces the idle guest to the host
# clock, so a shell waiting for input costs no host CPU.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
bash scripts/fetch-linux.sh
g=guests/linux
exec build/popek -m 256 -no-reboot -serial stdio -icount sleep=on -snapshot -hda "$g/disk.img" \
  -kernel "$g/vmlinuz" -initrd "$g/initramfs.cpio.gz" -append "console=ttyS0 loglevel=4" "$@"
