#!/bin/bash
# A boot sector on the VGA, seen through the monitor as a QEMU user sees it: the disk
# boots through the BIOS, the guest draws in text mode through INT 10h and directly,
# reads a key typed with `sendkey`, then draws in mode 13h. At each stage the test takes
# screen dumps (PPM, PNG, text) and compares them with the expected ones: the text of
# the screen, the PNGs pixel for pixel with the PPMs (the PNG_PIXELS tool), and the
# SHA-256 of the PPMs (QEMU's own dumps of the same program have the
# same hashes: run with "qemu", this script is the witness).
#
# usage: vga_screen.sh popek|popek-interp|qemu EMULATOR DISK_IMAGE EXPECTED_PREFIX OUTDIR
set -u
if [ $# -ne 5 ]; then
  echo "usage: $0 popek|popek-interp|qemu EMULATOR DISK_IMAGE EXPECTED_PREFIX OUTDIR" >&2
  exit 2
fi
kind=$1 emu=$2 disk=$3 expected=$4 out=$5
rm -rf "$out"
mkdir -p "$out"
. "$(dirname "$0")/monitor_session.sh"
emulator_command "$kind" "$emu" "$disk"
fifo=$out/monitor.in
mkfifo "$fifo"
"${cmd[@]}" -debugcon file:"$out/debugcon.txt" <"$fifo" >"$out/monitor.out" 2>"$out/stderr.txt" &
pid=$!
exec 3>"$fifo"
if wait_line "$out/debugcon.txt" T; then
  echo "screendump $out/text.ppm" >&3
  [ "$kind" = qemu ] || echo "screendump $out/text.txt" >&3
  [ "$kind" = qemu ] || echo "screendump $out/text.png" >&3
  echo "sendkey shift-a" >&3
fi
if wait_line "$out/debugcon.txt" K; then
  echo "screendump $out/key.ppm" >&3
  echo "sendkey ret" >&3
fi
if wait_line "$out/debugcon.txt" G; then
  echo "screendump $out/g13.ppm" >&3
  [ "$kind" = qemu ] || echo "screendump $out/g13.png" >&3
fi
stop_emulator
for shot in text key g13; do
  want=$(cat "$expected.$shot.sha256")
  got=$(sha256sum "$out/$shot.ppm" 2>/dev/null | cut -d' ' -f1)
  if [ "$got" = "$want" ]; then echo "ok $shot.ppm"; else fail "$shot.ppm: sha256 ${got:-missing}, want $want"; fi
done
if [ "$kind" != qemu ]; then
  if diff -u "$expected.screen.txt" "$out/text.txt"; then echo "ok text.txt"; else fail "text.txt differs"; fi
  # The PNG dumps show the PPM dumps' pixels (PNG_PIXELS: tests/guest/png_pixels.cpp).
  for png in text g13; do
    if [ -z "${PNG_PIXELS:-}" ]; then
      fail "PNG_PIXELS is not set: cannot compare $png.png with $png.ppm"
    elif "$PNG_PIXELS" "$out/$png.png" "$out/$png.ppm"; then
      echo "ok $png.png has the pixels of $png.ppm"
    else
      fail "$png.png differs from $png.ppm"
    fi
  done
  if [ -s "$out/stderr.txt" ]; then
    echo "stderr:"; cat "$out/stderr.txt"
    fail "the emulator wrote to stderr"
  fi
fi
[ "$fails" -eq 0 ] || { echo "monitor output:"; cat "$out/monitor.out"; exit 1; }
echo PASS
