#!/usr/bin/env bash
# Boot Debian 12's i386 Linux with the busybox initramfs from scripts/fetch-linux.sh on an
# emulator, run the workload in its init (popek.test=1) and check every result line and
# that the sector the guest wrote reached the disk image on the host.
#
#   tests/linux/boot_test.sh [--qemu | --log-probes] [--grub ENTRY] [EMULATOR [OPTION...]]
#
# EMULATOR is popek's binary (default build/popek), OPTIONs are passed to it (e.g.
# --engine=interp); --qemu runs qemu-system-i386 -M isapc instead (the witness). POPEK_LINUX_TIMEOUT (seconds, default 1800) bounds the run.
# On popek, stderr must hold nothing but popek's stop report (and what --stats prints):
# the kernel's probes of absent ports belong on the -d channels, not on the console.
# --log-probes adds -d unimp,guest_errors -D FILE and checks that FILE has the probes.
# --grub ENTRY boots the PC way instead: scripts/make-grub-disk.sh builds a disk holding
# GRUB, the kernel and the initramfs, the BIOS (SeaBIOS: popek's default firmware, QEMU's
# own) boots it, GRUB's ENTRY (linux or linux16) loads the kernel; the console must show
# SeaBIOS and GRUB on the way, the workload checks the same results.
# Exits 77 (skipped) when the kernel cannot be fetched or, with --grub, when GRUB's tools
# or SeaBIOS are not installed.
set -uo pipefail

here="$(cd "$(dirname "$0")/../.." && pwd)"
guests="${POPEK_GUESTS:-$here/guests}/linux"
timeout_s="${POPEK_LINUX_TIMEOUT:-1800}"
mode=popek
emu="$here/build/popek"
log_probes=
if [ "${1:-}" = "--qemu" ]; then mode=qemu; shift; emu="$(command -v qemu-system-i386 || true)"; fi
if [ "${1:-}" = "--log-probes" ]; then log_probes=1; shift; fi
grub=
if [ "${1:-}" = "--grub" ]; then grub="$2"; shift 2; fi
[ -n "${1:-}" ] && { emu="$1"; shift; }
extra=("$@")

skip() { echo "SKIP: $*"; exit 77; }
[ -n "$emu" ] && [ -x "$emu" ] || { [ "$mode" = qemu ] && skip "qemu-system-i386 not installed"; echo "FAIL: no emulator binary $emu"; exit 1; }

source "$here/tests/linux/fetch.sh"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
if [ -n "$grub" ]; then
  [ "$mode" = qemu ] || [ -f /usr/share/seabios/bios.bin ] || skip "SeaBIOS is not installed (Debian package seabios)"
  # The kernel checks no disk checksum (it is part of the disk); the one the BIOS booted is
  # what the guest must read.
  bash "$here/scripts/make-grub-disk.sh" --entry "$grub" --timeout 0 \
    --append "console=ttyS0 popek.test=1 panic=-1 loglevel=4" "$tmp/disk.img"
  case $? in
    0) ;;
    2) skip "scripts/make-grub-disk.sh lacks a tool (grub-pc-bin, fdisk, e2fsprogs: scripts/setup.sh)" ;;
    *) echo "FAIL: scripts/make-grub-disk.sh failed"; exit 1 ;;
  esac
  cp "$tmp/disk.img" "$tmp/disk.orig"
  disk_sha="$(sha256sum <"$tmp/disk.img" | cut -d' ' -f1)"
  disk_sectors=$(($(stat -c %s "$tmp/disk.img") / 512))
  common=(-m 256 -no-reboot)
else
  cp "$guests/disk.img" "$tmp/disk.img"
  cp "$guests/disk.img" "$tmp/disk.orig"
  disk_sha="$(cat "$guests/disk.sha256")"
  disk_sectors=16384
  append="console=ttyS0 popek.test=1 popek.disk_sha256=$disk_sha panic=-1 loglevel=4"
  common=(-m 256 -no-reboot -kernel "$guests/vmlinuz" -initrd "$guests/initramfs.cpio.gz"
          -append "$append")
fi
if [ "$mode" = qemu ]; then
  cmd=("$emu" -M isapc -cpu pentium2,-apic -nographic -monitor none -serial stdio
       -drive "file=$tmp/disk.img,format=raw,if=ide,index=0" "${common[@]}")
else
  cmd=("$emu" "${extra[@]}" -serial stdio -hda "$tmp/disk.img" "${common[@]}")
  [ -n "$log_probes" ] && cmd+=(-d unimp,guest_errors -D "$tmp/log")
fi
echo "running: ${cmd[*]}"
start=$(date +%s)
timeout --foreground -k 10 "$timeout_s" "${cmd[@]}" </dev/null >"$tmp/out" 2>"$tmp/err"
status=$?
end=$(date +%s)
tr -d '\r' <"$tmp/out" >"$tmp/console"
echo "--- console (last 60 lines) ---"
tail -n 60 "$tmp/console"
echo "--- stderr (last 60 lines) ---"
tail -n 60 "$tmp/err"
echo "--- exit status $status after $((end - start)) s ---"

fails=0
expect() {
  if grep -qxF "POPEK-TEST: $1" "$tmp/console"; then echo "ok: $1"
  else echo "MISSING: POPEK-TEST: $1"; fails=$((fails + 1)); fi
}
[ "$status" = 124 ] && { echo "FAIL: timed out after $timeout_s s"; fails=$((fails + 1)); }
[ "$status" = 0 ] || [ "$status" = 124 ] || { echo "FAIL: emulator exit status $status"; fails=$((fails + 1)); }
if [ "$mode" = popek ]; then
  # The stop report, and --stats's header, JIT lines and indented rows; nothing else.
  grep -Ev '^popek: guest (reset|halted) |^popek: statistics$|^popek: jit: |^  ' "$tmp/err" >"$tmp/err.rest"
  if [ -s "$tmp/err.rest" ]; then
    echo "FAIL: popek wrote on stderr beyond its stop report:"; head -n 40 "$tmp/err.rest"; fails=$((fails + 1))
  else
    echo "ok: stderr holds only popek's stop report"
  fi
fi
if [ -n "$log_probes" ]; then
  [ -f "$tmp/log" ] || : >"$tmp/log"
  echo "--- -d unimp,guest_errors: $(wc -l <"$tmp/log") lines, the first 10 ---"
  head -n 10 "$tmp/log"
  # Two of the probes every run makes: the serial driver's for COM2, the IDE driver's for
  # a third channel.
  for line in "guest_errors: I/O read of unassigned port 0x02f9 (size 1): returning all ones" \
              "guest_errors: I/O write of 0xa to unassigned port 0x0366 (size 1): ignored"; do
    if grep -qxF "$line" "$tmp/log"; then echo "ok: logged: $line"
    else echo "MISSING in the -D file: $line"; fails=$((fails + 1)); fi
  done
fi
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
expect "disk size $disk_sectors sectors"
expect "disk sha256 $disk_sha"
[ -n "$grub" ] || expect "disk read ok"
if [ -n "$grub" ]; then
  # SeaBIOS's console is COM1 too; another firmware given with -bios (the Bochs BIOS)
  # writes to the VGA only, and GRUB reaches the serial port once grub.cfg moves it there.
  lines=("SeaBIOS (version" "Booting from Hard Disk..." "Welcome to GRUB!")
  for a in "${extra[@]}"; do [ "$a" = -bios ] && lines=(); done
  for line in "${lines[@]}" "GRUB: loading /boot/vmlinuz with $grub"; do
    if grep -qF "$line" "$tmp/console"; then echo "ok: console shows: $line"
    else echo "MISSING on the console: $line"; fails=$((fails + 1)); fi
  done
fi
expect "disk write $sector_sha"
expect "done"
got="$(dd if="$tmp/disk.img" bs=512 skip=4096 count=1 2>/dev/null | sha256sum | cut -d' ' -f1)"
if [ "$got" = "$sector_sha" ]; then echo "ok: the written sector is in the image file"
else echo "FAIL: sector 4096 of the image has sha256 $got, expected $sector_sha"; fails=$((fails + 1)); fi
rest="$(dd if="$tmp/disk.img" bs=512 count=4096 2>/dev/null | cat - <(dd if="$tmp/disk.img" bs=512 skip=4097 2>/dev/null) | sha256sum | cut -d' ' -f1)"
orig="$(dd if="$tmp/disk.orig" bs=512 count=4096 2>/dev/null | cat - <(dd if="$tmp/disk.orig" bs=512 skip=4097 2>/dev/null) | sha256sum | cut -d' ' -f1)"
if [ "$rest" = "$orig" ]; then echo "ok: the rest of the image is unchanged"
else echo "FAIL: sectors other than 4096 changed"; fails=$((fails + 1)); fi

what="Linux boot test${grub:+ through the BIOS and GRUB ($grub)}"
if [ "$fails" = 0 ]; then echo "PASS: $what on $mode ($((end - start)) s)"; exit 0; fi
echo "FAIL: $fails check(s) failed on $mode"
exit 1
