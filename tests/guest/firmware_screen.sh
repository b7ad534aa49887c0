#!/bin/bash
# The firmware's and the boot loader's text on the VGA screen, when a disk boots the PC
# way without -nographic (read back with the monitor's `screendump FILE.txt`):
#  1. SeaBIOS: a boot sector that leaves the screen alone (bootsector/quiet.asm) shows
#     SeaBIOS's banner and "Booting from Hard Disk..." under it;
#  2. GRUB: a disk from scripts/make-grub-disk.sh shows GRUB's menu with both entries;
#     keys sent with `sendkey` reach GRUB through the BIOS keyboard (down, then ret boots
#     the second entry, which GRUB announces on the serial console).
#  3. the Bochs BIOS (when Debian's bochsbios and vgabios are installed): the LGPL VGABios
#     at 0xC0000 is found by its option-ROM scan and both banners are on the screen.
# The GRUB disk holds a stand-in kernel: the test ends once GRUB starts loading it.
#
# usage: firmware_screen.sh POPEK QUIET_DISK REPO_ROOT OUTDIR [POPEK OPTION...]
# Exit status 77 (skipped) when GRUB's tools are missing for part 2.
set -u
if [ $# -lt 4 ]; then
  echo "usage: $0 POPEK QUIET_DISK REPO_ROOT OUTDIR [POPEK OPTION...]" >&2
  exit 2
fi
popek=$1 quiet_disk=$2 root=$3 out=$4
shift 4
rm -rf "$out"
mkdir -p "$out"
. "$(dirname "$0")/monitor_session.sh"

# start_popek NAME ARGS...: popek with a monitor on a fifo (fd 3), debugcon and serial in
# files NAME.debugcon.txt and NAME.serial.txt.
start_popek() {
  local name=$1
  shift
  rm -f "$out/$name.fifo"
  mkfifo "$out/$name.fifo"
  "$popek" "$@" -m 32 -monitor stdio -serial file:"$out/$name.serial.txt" \
    -debugcon file:"$out/$name.debugcon.txt" <"$out/$name.fifo" >"$out/$name.monitor.txt" 2>"$out/$name.stderr.txt" &
  pid=$!
  exec 3>"$out/$name.fifo"
}
# wait_for FILE TEXT: at most 60 s for TEXT (a fixed string) in FILE.
wait_for() {
  for _ in $(seq 1 3000); do
    grep -qF -- "$2" "$1" 2>/dev/null && return 0
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.02
  done
  fail "no '$2' in $(basename "$1")"
  return 1
}
# dump NAME: the screen's text into NAME.screen.txt (waits for the file).
dump() {
  echo "screendump $out/$1.screen.txt" >&3
  for _ in $(seq 1 500); do
    [ -f "$out/$1.screen.txt" ] && return 0
    sleep 0.02
  done
  fail "no screen dump $1.screen.txt (monitor said: $(tail -c 300 "$out/$1.monitor.txt"))"
  return 1
}
# shown NAME TEXT: the screen dump NAME has TEXT.
shown() {
  if grep -qF -- "$2" "$out/$1.screen.txt" 2>/dev/null; then
    echo "ok $1 screen shows '$2'"
  else
    fail "$1 screen lacks '$2'"
    echo "--- $1 screen:"
    cat "$out/$1.screen.txt" 2>/dev/null
    echo "---"
  fi
}

# --- 1. SeaBIOS
start_popek seabios "$@" -hda "$quiet_disk"
if wait_for "$out/seabios.debugcon.txt" "I"; then
  dump seabios
  shown seabios "SeaBIOS (version"
  shown seabios "Booting from Hard Disk..."
fi
stop_emulator

# --- 3. the Bochs BIOS with the LGPL VGABios (before GRUB, which may skip the test)
bochs=/usr/share/bochs/BIOS-bochs-latest
if [ -f "$bochs" ] && [ -f /usr/share/vgabios/vgabios.bin ]; then
  start_popek bochs "$@" -bios "$bochs" -hda "$quiet_disk"
  if wait_for "$out/bochs.debugcon.txt" "I"; then
    dump bochs
    shown bochs "Bochs VGABios"
    shown bochs "Bochs 2."
    shown bochs "ata0 master: POPEK HARDDISK"
    shown bochs "Booting from Hard Disk..."
  fi
  stop_emulator
else
  echo "(no Bochs BIOS or LGPL VGABios installed: part 3 not run)"
fi

# --- 2. GRUB
printf 'not a kernel\n' >"$out/stand-in"
bash "$root/scripts/make-grub-disk.sh" --timeout 60 --size 8 --kernel "$out/stand-in" --initrd "$out/stand-in" \
  "$out/grub.img" 2>"$out/make-grub-disk.txt"
case $? in
  0) ;;
  2) cat "$out/make-grub-disk.txt"; echo "SKIP: GRUB's tools are missing (scripts/setup.sh installs them)"
     [ "$fails" -eq 0 ] && exit 77 || exit 1 ;;
  *) cat "$out/make-grub-disk.txt"; fail "scripts/make-grub-disk.sh failed" ;;
esac
if [ -f "$out/grub.img" ]; then
  start_popek grub "$@" -hda "$out/grub.img"
  # The menu is drawn on both terminals; the countdown line comes last.
  if wait_for "$out/grub.serial.txt" "linux16 (16-bit boot protocol)" && wait_for "$out/grub.serial.txt" "automatically"; then
    dump grub
    shown grub "GNU GRUB"
    shown grub "linux (32-bit boot protocol)"
    shown grub "linux16 (16-bit boot protocol)"
    echo "sendkey down" >&3
    sleep 0.3
    echo "sendkey ret" >&3
    if wait_for "$out/grub.serial.txt" "GRUB: loading /boot/vmlinuz with linux16"; then
      echo "ok the keys reached GRUB (down, ret: the second entry boots)"
    fi
  fi
  stop_emulator
fi
for name in seabios bochs grub; do
  if [ -s "$out/$name.stderr.txt" ] 2>/dev/null; then
    echo "$name stderr:"; cat "$out/$name.stderr.txt"
    fail "popek wrote to stderr"
  fi
done
[ "$fails" -eq 0 ] || exit 1
echo PASS
