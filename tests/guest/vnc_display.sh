#!/bin/bash
# The VNC display end to end, as a user at a VNC viewer meets it: the vnc_input boot
# sector boots through the BIOS with -vnc and a monitor; a VNC client (vnc_client, on
# libvncclient) connects and stays connected while
#   - its framebuffer must equal the monitor's screendump of the text screen;
#   - it moves the pointer and clicks: the guest's BIOS mouse handler must report exactly
#     the PS/2 packets that motion makes ("M 09 0A 05": left button, 10 right, 5 up;
#     "M 08 00 00": released);
#   - it types "A!zPaste0123456789~{}" all at once (Shift around the shifted symbols, as
#     a US keyboard sends them; more key events than the keyboard's buffer holds): the
#     guest must read each character through INT 16h (debug console lines "K c") and
#     show them;
#   - its framebuffer must equal the screendump again, then, after Return switches the
#     guest to mode 13h, equal the 320x200 screendump (the desktop size changes while it
#     is connected).
# With tcp, a second client from elsewhere (vncsnapshot, when installed) must get a
# 720x400 JPEG of the text screen too. The same script runs QEMU as the witness.
#
# usage: vnc_display.sh popek|popek-interp|qemu EMULATOR VNC_CLIENT DISK OUTDIR unix|tcp
set -u
if [ $# -ne 6 ]; then
  echo "usage: $0 popek|popek-interp|qemu EMULATOR VNC_CLIENT DISK OUTDIR unix|tcp" >&2
  exit 2
fi
kind=$1 emu=$2 client=$3 disk=$4 out=$5 transport=$6
rm -rf "$out"
mkdir -p "$out"
. "$(dirname "$0")/monitor_session.sh"
emulator_command "$kind" "$emu" "$disk"
typed='A!zPaste0123456789~{}'
fifo=$out/monitor.in
mkfifo "$fifo"
pid=
# Start the emulator; with tcp, on a display number derived from this script's PID, and
# on another one when that port is taken.
for attempt in 1 2 3 4 5 6 7 8; do
  if [ "$transport" = unix ]; then
    vnc=unix:$out/vnc.sock server=$out/vnc.sock
  else
    display=$((100 + ($$ * 7 + attempt * 131) % 3000))
    vnc=127.0.0.1:$display server=127.0.0.1:$((5900 + display))
  fi
  : >"$out/debugcon.txt"
  "${cmd[@]}" -vnc "$vnc" -debugcon file:"$out/debugcon.txt" <"$fifo" >"$out/monitor.out" 2>"$out/stderr.txt" &
  pid=$!
  exec 3>"$fifo"
  # Listening once the guest runs: the first marker, or the emulator gone.
  for _ in $(seq 1 3000); do
    [ -s "$out/debugcon.txt" ] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.02
  done
  kill -0 "$pid" 2>/dev/null && break
  exec 3>&-
  wait "$pid" 2>/dev/null
  if [ "$transport" = tcp ] && grep -qi "in use" "$out/stderr.txt"; then
    echo "port of display $display taken; another"
    continue
  fi
  echo "the emulator did not start:"; cat "$out/stderr.txt"; exit 1
done
cpid=
if wait_line "$out/debugcon.txt" T; then
  echo "screendump $out/text.ppm" >&3
  if [ "$transport" = tcp ] && command -v vncsnapshot >/dev/null; then
    timeout 30 vncsnapshot -quiet -allowblank "127.0.0.1:$display" "$out/snapshot.jpg" >"$out/vncsnapshot.out" 2>&1
    # The JPEG's frame header (SOF0): length 17, precision 8, height, width.
    sof=$(od -An -v -tx1 "$out/snapshot.jpg" 2>/dev/null | tr -s ' \n' ' ' | grep -o 'ff c0 00 11 08 .. .. .. ..' | head -1)
    if [ "$sof" = "ff c0 00 11 08 01 90 02 d0" ]; then
      echo "ok vncsnapshot: a 720x400 JPEG"
    else
      fail "vncsnapshot: no 720x400 JPEG (frame header '${sof:-none}')"
      cat "$out/vncsnapshot.out"
    fi
  fi
  plain=()
  [ "$kind" = qemu ] && plain=(plain-resize)
  "$client" "$server" "${plain[@]}" frame "$out/text.ppm" \
    pointer 100 100 0 pointer 110 95 1 pointer 110 95 0 \
    type "$typed" frame "$out/keys.ppm" key 0xff0d frame "$out/g13.ppm" >"$out/client.out" 2>&1 &
  cpid=$!
fi
if wait_line "$out/debugcon.txt" "K ${typed: -1}"; then
  [ "$kind" = qemu ] || echo "screendump $out/keys.txt" >&3
  echo "screendump $out/keys.ppm" >&3
fi
if wait_line "$out/debugcon.txt" G; then
  echo "screendump $out/g13.ppm" >&3
fi
if [ -n "$cpid" ]; then
  for _ in $(seq 1 4000); do kill -0 "$cpid" 2>/dev/null || break; sleep 0.02; done
  if kill -0 "$cpid" 2>/dev/null; then kill "$cpid"; fi
  if wait "$cpid"; then echo "ok the VNC client's framebuffer equalled the three screendumps"; else fail "the VNC client"; fi
  cat "$out/client.out"
fi
stop_emulator
want="T
M 09 0A 05
M 08 00 00
$(for ((i = 0; i < ${#typed}; i++)); do echo "K ${typed:i:1}"; done)
G"
if [ "$(cat "$out/debugcon.txt")" = "$want" ]; then
  echo "ok the guest got the pointer and the keys"
else
  fail "the guest's lines differ"
  diff -u <(echo "$want") "$out/debugcon.txt"
fi
if [ "$kind" != qemu ]; then
  if grep -qxF "keys: $typed" "$out/keys.txt" 2>/dev/null; then
    echo "ok the screen shows the keys"
  else
    fail "keys.txt has no line 'keys: $typed'"
  fi
  if [ -s "$out/stderr.txt" ]; then
    echo "stderr:"; cat "$out/stderr.txt"
    fail "the emulator wrote to stderr"
  fi
fi
[ "$fails" -eq 0 ] || { echo "monitor output (end):"; tail -c 2000 "$out/monitor.out"; echo; exit 1; }
echo PASS
