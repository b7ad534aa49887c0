#!/usr/bin/env bash
# A Linux boot snapshotted in the middle and restored (issue 11): Debian 12's i386 kernel
# with the busybox initramfs of scripts/fetch-linux.sh and its self-checking workload
# (popek.test=1), the disk in -snapshot mode. One uninterrupted run saves a snapshot when
# the instruction count first reaches N at a turn boundary (-savevm-at) and goes on to the
# end; one run restored from it (-loadvm) must print exactly the rest of the console
# output and end with the same state hash (--state-hash) at the same instruction count.
#
#   tests/linux/snapshot_test.sh POPEK [OPTION...]     (e.g. --engine=jit)
#
# POPEK_SNAPSHOT_AT (default 5000000000, about halfway through the boot's 1.1e10
# instructions) moves the save point. Exits 77 (skipped) when the kernel cannot be fetched.
set -uo pipefail

here="$(cd "$(dirname "$0")/../.." && pwd)"
guests="${POPEK_GUESTS:-$here/guests}/linux"
timeout_s="${POPEK_LINUX_TIMEOUT:-1800}"
at="${POPEK_SNAPSHOT_AT:-5000000000}"
emu="$1"
shift
extra=("$@")

[ -x "$emu" ] || { echo "FAIL: no emulator binary $emu"; exit 1; }
source "$here/tests/linux/fetch.sh"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
append="console=ttyS0 popek.test=1 popek.disk_sha256=$(cat "$guests/disk.sha256") panic=-1 loglevel=4"
cmd=("$emu" "${extra[@]}" -m 256 -no-reboot -serial stdio -hda "$guests/disk.img" -snapshot
     -kernel "$guests/vmlinuz" -initrd "$guests/initramfs.cpio.gz" -append "$append"
     -rtc base=2020-01-01T00:00:00 --state-hash)

fails=0
run() {  # run NAME OPTION...
  local name=$1
  shift
  echo "running: ${cmd[*]} $*"
  local start end
  start=$(date +%s)
  timeout --foreground -k 10 "$timeout_s" "${cmd[@]}" "$@" </dev/null >"$tmp/$name.out" 2>"$tmp/$name.err"
  local status=$?
  end=$(date +%s)
  echo "--- $name: exit status $status after $((end - start)) s; stderr: ---"
  cat "$tmp/$name.err"
  [ "$status" = 0 ] || { echo "FAIL: $name: exit status $status"; fails=$((fails + 1)); }
  sed -n 's/^popek: state hash \([0-9a-f]*\) at instruction \([0-9]*\)$/\1 \2/p' "$tmp/$name.err" >"$tmp/$name.hash"
}

run full -savevm-at "$at,$tmp/mid.snap"
[ -s "$tmp/mid.snap" ] || { echo "FAIL: no snapshot written at instruction $at"; exit 1; }
echo "snapshot: $(stat -c %s "$tmp/mid.snap") bytes"
grep -qxF "POPEK-TEST: done" <(tr -d '\r' <"$tmp/full.out") || { echo "FAIL: the full run did not finish its workload"; fails=$((fails + 1)); }
run restored -loadvm "$tmp/mid.snap"

full_lines=$(wc -l <"$tmp/full.out")
rest_lines=$(wc -l <"$tmp/restored.out")
echo "console: $full_lines lines in the full run, $rest_lines after the snapshot point"
if [ "$rest_lines" -lt 1 ] || [ "$rest_lines" -ge "$full_lines" ]; then
  echo "FAIL: the snapshot is not in the middle of the console output"; fails=$((fails + 1))
fi
size=$(wc -c <"$tmp/restored.out")
if tail -c "$size" "$tmp/full.out" | cmp -s - "$tmp/restored.out"; then
  echo "ok: the restored run's console is the rest of the full run's"
else
  echo "FAIL: the restored run's console differs from the rest of the full run's:"
  diff <(tail -c "$size" "$tmp/full.out" | tr -d '\r') <(tr -d '\r' <"$tmp/restored.out") | head -n 40
  fails=$((fails + 1))
fi
echo "--- console after the snapshot point (last 10 lines) ---"
tr -d '\r' <"$tmp/restored.out" | tail -n 10
if [ -s "$tmp/full.hash" ] && cmp -s "$tmp/full.hash" "$tmp/restored.hash"; then
  echo "ok: the same final state hash and instruction count: $(cat "$tmp/full.hash")"
else
  echo "FAIL: final state hash and count: full run '$(cat "$tmp/full.hash")', restored '$(cat "$tmp/restored.hash")'"
  fails=$((fails + 1))
fi
[ "$fails" = 0 ] && { echo PASS; exit 0; }
echo "FAILED: $fails problem(s)"
exit 1
