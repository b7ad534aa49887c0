#!/bin/sh
# The console belongs to the guest: absent_port.elf probes absent ports and unassigned
# memory and switches the PC speaker on, which popek reports on the -d guest_errors and
# unimp channels only.
#
#   1. default options: nothing on stderr (the guest exits through isa-debug-exit, so
#      there is no stop report either);
#   2. -d unimp,guest_errors -D FILE --stats: FILE has the probes, stderr only the
#      statistics, which count them;
#   3. -d guest_errors: the probes on stderr, and no unimp line.
#
# usage: log_channels.sh POPEK IMAGE
set -u
if [ $# -ne 2 ]; then echo "usage: $0 POPEK IMAGE" >&2; exit 2; fi
emu=$1 image=$2
tmp=$(mktemp -d "${TMPDIR:-/tmp}/logch.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT INT TERM
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# run NAME OPTION...: the guest's run with stderr in $tmp/NAME.err
run() {
    name=$1; shift
    timeout -k 5 20 "$emu" "$@" -m 32 -nographic -no-reboot -serial none -debugcon none \
        -device isa-debug-exit,iobase=0xf4,iosize=4 -kernel "$image" </dev/null \
        >"$tmp/$name.out" 2>"$tmp/$name.err"
    status=$?
    [ "$status" -eq 33 ] || fail "$name: exit status $status, want 33"
}
# has FILE LINE: FILE holds LINE exactly
has() { grep -qxF -- "$2" "$1" || fail "$(basename "$1") lacks the line: $2"; }
show() { echo "--- $1:"; cat "$tmp/$1"; }

probes="guest_errors: I/O read of unassigned port 0x02f9 (size 1): returning all ones
guest_errors: I/O read of unassigned port 0x02fa (size 2): returning all ones
guest_errors: I/O write of 0xa to unassigned port 0x0366 (size 1): ignored
guest_errors: I/O read of unassigned port 0x0364 (size 4): returning all ones
guest_errors: read of unassigned physical memory at 0x10000000: all ones"
speaker="unimp: PC speaker enabled: sound is not emulated"

run quiet
[ -s "$tmp/quiet.err" ] && { fail "default options: popek wrote on stderr"; show quiet.err; }

run log -d unimp,guest_errors -D "$tmp/log" --stats
printf '%s\n' "$probes" | while IFS= read -r line; do grep -qxF -- "$line" "$tmp/log" || echo "$line"; done \
    >"$tmp/missing"
[ -s "$tmp/missing" ] && { fail "-D file lacks the probes"; show missing; show log; }
has "$tmp/log" "$speaker"
# stderr: the statistics and nothing else, counting every probe.
grep -v '^popek: statistics$' "$tmp/log.err" | grep -v '^popek: jit: ' | grep -v '^  ' >"$tmp/log.rest"
[ -s "$tmp/log.rest" ] && { fail "-d with -D: lines on stderr other than the statistics"; show log.rest; }
grep -Eq '^  log: guest_errors +5$' "$tmp/log.err" || { fail "--stats does not count 5 guest_errors"; show log.err; }
grep -Eq '^  log: unimp +1$' "$tmp/log.err" || { fail "--stats does not count 1 unimp"; show log.err; }

run stderr -d guest_errors
has "$tmp/stderr.err" "guest_errors: I/O read of unassigned port 0x02f9 (size 1): returning all ones"
grep -q '^unimp:' "$tmp/stderr.err" && { fail "-d guest_errors shows unimp lines"; show stderr.err; }

[ "$fails" -eq 0 ] || exit 1
echo "pass: quiet by default; the probes on -d guest_errors, the speaker on -d unimp"
