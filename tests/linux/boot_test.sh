#!/usr/bin/env bash
# Boot Debian 12's i386 Linux with the busybox initramfs from scripts/fetch-linux.sh on an
# emulator, run the workload in its init (popek.test=1) and check every result line and
# that the sector the guest wrote reached the disk image on the host.
#
#   tests/linux/boot_test.sh [--qemu] [EMULATOR [OPTION...]]
#
# EMULATOR is popek's binary (default build/popek), OPTIONs are passed to it (e.g.
# --engine=interp); --qemu runs qemu-system-i386 -M isapc instead (the witness). POPEK_LINUX_TIMEOUT (seconds, default 1800) bounds the run.
# Exits 77 (skipped) when the kernel cannot be fetched.
set -uo pipefail

here="$(cd "$(dirname "$0")/../.." && pwd)"
guests="${POPEK_GUESTS:-$here/guests}/linux"
timeout_s="${POPEK_LINUX_TIMEOUT:-1800}"
mode=popek
emu="$here/build/popek"
if [ "${1:-}" = "--qemu" ]; then mode=qemu; shift; emu="$(command -v qemu-system-i386 || true)"; fi
[ -n "${1:-}" ] && { emu="$1"; shift; }
extra=("$@")

skip() { echo "SKIP: $*"; exit 77; }
[ -n "$emu" ] && [ -x "$emu" ] || { [ "$mode" = qemu ] && skip "qemu-system-i386 not installed"; echo "FAIL: no emulator binary $emu"; exit 1; }

bash "$here/scripts/fetch-linux.sh"
case $? in
  0) ;;
  2) skip "the Linux kernel could not be fetched (see the messages above)" ;;
  *) echo "FAIL: scripts/fetch-linux.sh failed"; exit 1 ;;
esac

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
cp "$guests/disk.img" "$tmp/disk.img"
disk_sha="$(cat "$guests/disk.sha256")"
append="console=ttyS0 popek.test=1 popek.disk_sha256=$disk_sha panic=-1 loglevel=4"
common=(-m 256 -no-reboot -kernel "$guests/vmlinuz" -initrd "$guests/initramfs.cpio.gz"
        -append "$append")
if [ "$mode" = qemu ]; then
  cmd=("$emu" -M isapc -cpu pentium2,-apic -nographic -monitor none -serial stdio
       -drive "file=$tmp/disk.img,format=raw,if=ide,index=0" "${common[@]}")
else
  cmd=("$emu" "${extra[@]}" -serial stdio -hda "$tmp/disk.img" "${common[@]}")
fi
echo "running: ${cmd[*]}"
start=$(date +%s)
timeout --foreground -k 10 "$timeout_s" "${cmd[@]}" </dev/null >"$tmp/out" 2>&1
status=$?
end=$(date +%s)
tr -d '\r' <"$tmp/out" >"$tmp/console"
echo "--- console (last 60 lines) ---"
tail -n 60 "$tmp/console"
echo "--- exit status $status after $((end - start)) s ---"

fails=0
expect() {
  if grep -qxF "POPEK-TEST: $1" "$tmp/console"; then echo "ok: $1"
  else echo "MISSING: POPEK-TEST: $1"; fails=$((fails + 1)); fi
}
[ "$status" = 124 ] && { echo "FAIL: timed out after $timeout_s s"; fails=$((fails + 1)); }
[ "$status" = 0 ] || [ "$status" = 124 ] || { echo "FAIL: emulator exit status $status"; fails=$((fails + 1)); }
grep -q "^POPEK-TEST: FAIL" "$tmp/console" && { grep "^POPEK-TEST: FAIL" "$tmp/console"; fails=$((fails + 1)); }

# The expected values, computed here the way the guest computes them.
n=0; sum=0
while [ $n -lt 20000 ]; do n=$((n + 1)); sum=$(( (sum + n * n * 7 + (n ^ (n >> 3))) % 1000000007 )); done
sector="$(for i in $(seq 0 15); do printf 'popek wrote this sector, line%02d\n' "$i"; done)"
sector_sha="$(printf '%s\n' "$sector" | sha256sum | cut -d' ' -f1)"
expect "modules loaded"
expect "zero16 $(head -c 16777216 /dev/zero | sha256sum | cut -d' ' -f1)"
expect "seq $(seq 1 200000 | sha256sum | cut -d' ' -f1)"
expect "arith $sum"
expect "gzip $(seq 1 100000 | sha256sum | cut -d' ' -f1)"
expect "disk size 16384 sectors"
expect "disk sha256 $disk_sha"
expect "disk read ok"
expect "disk write $sector_sha"
expect "done"
got="$(dd if="$tmp/disk.img" bs=512 skip=4096 count=1 2>/dev/null | sha256sum | cut -d' ' -f1)"
if [ "$got" = "$sector_sha" ]; then echo "ok: the written sector is in the image file"
else echo "FAIL: sector 4096 of the image has sha256 $got, expected $sector_sha"; fails=$((fails + 1)); fi
rest="$(dd if="$tmp/disk.img" bs=512 count=4096 2>/dev/null | cat - <(dd if="$tmp/disk.img" bs=512 skip=4097 2>/dev/null) | sha256sum | cut -d' ' -f1)"
orig="$(dd if="$guests/disk.img" bs=512 count=4096 2>/dev/null | cat - <(dd if="$guests/disk.img" bs=512 skip=4097 2>/dev/null) | sha256sum | cut -d' ' -f1)"
if [ "$rest" = "$orig" ]; then echo "ok: the rest of the image is unchanged"
else echo "FAIL: sectors other than 4096 changed"; fails=$((fails + 1)); fi

if [ "$fails" = 0 ]; then echo "PASS: Linux boot test on $mode ($((end - start)) s)"; exit 0; fi
echo "FAIL: $fails check(s) failed on $mode"
exit 1
