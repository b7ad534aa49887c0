#!/bin/bash
# A boot sector that steps through VGA modes (bootsector/vga_modes.asm), seen through the
# monitor as a QEMU user sees it: at each of the guest's markers on the debug console the
# test takes a screen dump (PPM) and types Return for the next mode. The dumps' SHA-256
# must equal the expected ones, which are QEMU's dumps of the same program (run with
# "qemu", this script is the witness).
#
# usage: vga_modes.sh popek|popek-interp|qemu EMULATOR DISK_IMAGE EXPECTED_PREFIX OUTDIR
#   EXPECTED_PREFIX.MARKER.sha256 holds the hash for each marker (4, 5, 6, D).
# With VBE_PATTERN set (the tests/guest/vbe_pattern tool), the disk is
# bootsector/vga_vbe.asm instead: markers a, b, c, and each dump is checked against the
# picture the program defines (8, 16 and 24 bits per pixel) rather than a hash.
set -u
if [ $# -ne 5 ]; then
  echo "usage: $0 popek|popek-interp|qemu EMULATOR DISK_IMAGE EXPECTED_PREFIX OUTDIR" >&2
  exit 2
fi
kind=$1 emu=$2 disk=$3 expected=$4 out=$5
markers="4 5 6 D"
[ -n "${VBE_PATTERN:-}" ] && markers="a b c"
rm -rf "$out"
mkdir -p "$out"
. "$(dirname "$0")/monitor_session.sh"
emulator_command "$kind" "$emu" "$disk"
mkfifo "$out/monitor.in"
"${cmd[@]}" -debugcon file:"$out/debugcon.txt" <"$out/monitor.in" >"$out/monitor.out" 2>"$out/stderr.txt" &
pid=$!
exec 3>"$out/monitor.in"
for m in $markers; do
  wait_line "$out/debugcon.txt" "$m" || break
  echo "screendump $out/mode$m.ppm" >&3
  echo "sendkey ret" >&3
done
stop_emulator
for m in $markers; do
  if [ -n "${VBE_PATTERN:-}" ]; then
    case $m in a) bpp=8 ;; b) bpp=16 ;; *) bpp=24 ;; esac
    if "$VBE_PATTERN" "$out/mode$m.ppm" "$bpp"; then
      echo "ok mode $m: the $bpp-bit picture the program draws"
    else
      fail "mode $m: not the $bpp-bit picture the program draws"
    fi
    continue
  fi
  want=$(cat "$expected.$m.sha256")
  got=$(sha256sum "$out/mode$m.ppm" 2>/dev/null | cut -d' ' -f1)
  if [ "$got" = "$want" ]; then
    echo "ok mode $m: $(head -c 15 "$out/mode$m.ppm" | sed -n 2p) dump as expected"
  else
    fail "mode $m: sha256 ${got:-missing}, want $want"
  fi
done
if [ "$kind" != qemu ] && [ -s "$out/stderr.txt" ]; then
  echo "stderr:"; cat "$out/stderr.txt"
  fail "the emulator wrote to stderr"
fi
[ "$fails" -eq 0 ] || { echo "monitor output:"; cat "$out/monitor.out"; exit 1; }
echo PASS
