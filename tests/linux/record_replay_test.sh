#!/usr/bin/env bash
# Record a Linux boot with keystrokes typed into its shell, replay it, compare.
#
#   tests/linux/record_replay_test.sh POPEK [OPTION...]
#
# Debian's i386 kernel and the busybox initramfs from scripts/fetch-linux.sh boot without
# popek.test=1, so init starts a shell on the serial console. Once the shell's banner is
# on the console, lines are typed into it through a pipe with pauses (the bytes arrive at
# whatever moments the host makes): the shell echoes, reads the disk, writes a sector to
# it (sector 100, read first: the replay must read it as it was) and exits, and init reboots (-no-reboot ends the run). The run is recorded with
# -icount rr=record; then replayed with rr=replay (input from /dev/null): the console
# output, the exit status, the stop report and --state-hash must equal the recording's,
# the disk image must not be written by the replay (the written sector is in it from the
# recording, and the replay must still read the sector as it was before).
# Exit 77 (skipped) when the kernel cannot be fetched.
set -uo pipefail

here="$(cd "$(dirname "$0")/../.." && pwd)"
guests="${POPEK_GUESTS:-$here/guests}/linux"
timeout_s="${POPEK_LINUX_TIMEOUT:-900}"
emu="$1"; shift
extra=("$@")

source "$here/tests/linux/fetch.sh"

tmp="$(mktemp -d)"
feeder=
trap '[ -n "$feeder" ] && kill $feeder 2>/dev/null; rm -rf "$tmp"' EXIT
cp "$guests/disk.img" "$tmp/disk.img"
common=(-m 128 -no-reboot -kernel "$guests/vmlinuz" -initrd "$guests/initramfs.cpio.gz"
        -append "console=ttyS0 panic=-1 loglevel=4" -serial stdio -hda "$tmp/disk.img" --state-hash)
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# --- record: type into the shell once it is there
mkfifo "$tmp/in"
cmd=("$emu" "${extra[@]}" -icount shift=3,rr=record,rrfile="$tmp/rr.log" "${common[@]}")
echo "recording: ${cmd[*]}"
start=$(date +%s)
timeout -k 10 "$timeout_s" "${cmd[@]}" <"$tmp/in" >"$tmp/rec.out" 2>"$tmp/rec.err" &
popek=$!
(
  exec 3>"$tmp/in"
  for _ in $(seq 1 $((timeout_s * 5))); do
    grep -q "popek initramfs: the IDE disk" "$tmp/rec.out" 2>/dev/null && break
    sleep 0.2
  done
  sleep 1
  printf 'echo hello from the recording\n' >&3
  sleep 0.7
  printf 'head -c 31 /dev/sda; echo; dd if=/dev/sda bs=512 skip=100 count=1 2>/dev/null | head -c 31; echo; cat /proc/uptime\n' >&3
  sleep 0.4
  printf 'echo popek-rr-wrote-this-sector | dd of=/dev/sda bs=512 seek=100 conv=sync 2>/dev/null; sync\n' >&3
  sleep 0.3
  printf 'exit\n' >&3
  sleep 1200
) &
feeder=$!
wait $popek
rec_status=$?
kill $feeder 2>/dev/null; feeder=
end=$(date +%s)
tr -d '\r' <"$tmp/rec.out" >"$tmp/rec.console"
echo "--- recording: exit status $rec_status after $((end - start)) s; console (last 12 lines) ---"
tail -n 12 "$tmp/rec.console"
echo "--- stderr ---"; cat "$tmp/rec.err"
echo "--- log: $(wc -c <"$tmp/rr.log") bytes, $(grep -c '^S .* take ' "$tmp/rr.log") bytes typed, $(grep -c '^C ' "$tmp/rr.log") checkpoints, $(grep -c '^D ' "$tmp/rr.log") sectors kept ---"
[ "$rec_status" = 0 ] || fail "recording: exit status $rec_status"
grep -qx "hello from the recording" "$tmp/rec.console" || fail "recording: the shell did not run the typed command"
grep -qx "popek test disk line 0000000000" "$tmp/rec.console" || fail "recording: the shell did not read the disk"
grep -qx "popek test disk line 0000001600" "$tmp/rec.console" || fail "recording: the shell did not read sector 100 before writing it"
[ "$(dd if="$tmp/disk.img" bs=512 skip=100 count=1 2>/dev/null | head -c 30 | tr -d "\\0")" = popek-rr-wrote-this-sector ] ||
  fail "recording: the sector the shell wrote is not in the image"
disk_before="$(sha256sum <"$tmp/disk.img")"

# --- replay: no input from the host
cmd=("$emu" "${extra[@]}" -icount shift=3,rr=replay,rrfile="$tmp/rr.log" "${common[@]}")
echo "replaying: ${cmd[*]}"
start=$(date +%s)
timeout -k 10 "$timeout_s" "${cmd[@]}" </dev/null >"$tmp/rep.out" 2>"$tmp/rep.err"
rep_status=$?
end=$(date +%s)
echo "--- replay: exit status $rep_status after $((end - start)) s ---"
echo "--- stderr ---"; cat "$tmp/rep.err"
[ "$rep_status" = "$rec_status" ] || fail "replay: exit status $rep_status, the recording's $rec_status"
if cmp -s "$tmp/rec.out" "$tmp/rep.out"; then echo "ok: the console output is identical ($(wc -c <"$tmp/rep.out") bytes)"
else fail "replay: the console output differs"; diff <(tr -d '\r' <"$tmp/rec.out") <(tr -d '\r' <"$tmp/rep.out") | head -n 20; fi
if cmp -s "$tmp/rec.err" "$tmp/rep.err"; then echo "ok: stderr (stop report and state hash) is identical: $(grep 'state hash' "$tmp/rep.err")"
else fail "replay: stderr differs from the recording's"; fi
[ "$(sha256sum <"$tmp/disk.img")" = "$disk_before" ] && echo "ok: the replay did not write the disk image" ||
  fail "replay: the disk image changed"

[ "$fails" = 0 ] && { echo "PASS: Linux record/replay"; exit 0; }
echo "FAIL: $fails check(s)"
exit 1
