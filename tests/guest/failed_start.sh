#!/bin/sh
# Outputs are created only once every input is read and checked: a start that fails on a
# bad kernel leaves the -serial, -debugcon and -D files of the previous run as they were;
# a file that cannot be created is reported with its option; a good start truncates them.
#
# usage: failed_start.sh POPEK GOOD_KERNEL
set -u
if [ $# -ne 2 ]; then echo "usage: $0 POPEK GOOD_KERNEL" >&2; exit 2; fi
emu=$1 good=$2
tmp=$(mktemp -d "${TMPDIR:-/tmp}/failstart.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT INT TERM
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
printf 'not a kernel at all\n' >"$tmp/bad.elf"
for f in serial debugcon trace; do echo "previous $f" >"$tmp/$f.txt"; done
outs="-serial file:$tmp/serial.txt -debugcon file:$tmp/debugcon.txt -D $tmp/trace.txt"

# shellcheck disable=SC2086
"$emu" $outs -kernel "$tmp/bad.elf" </dev/null >"$tmp/out" 2>"$tmp/err"
status=$?
[ "$status" -eq 1 ] || fail "bad kernel: exit status $status, want 1"
grep -q "^popek: -kernel $tmp/bad.elf: " "$tmp/err" || fail "bad kernel: no error line naming it: $(cat "$tmp/err")"
for f in serial debugcon trace; do
  [ "$(cat "$tmp/$f.txt")" = "previous $f" ] || fail "a failed start changed the $f file"
done

"$emu" -serial "file:$tmp/no/such/dir/x" -kernel "$good" </dev/null >"$tmp/out" 2>"$tmp/err"
status=$?
[ "$status" -eq 1 ] || fail "uncreatable -serial file: exit status $status, want 1"
grep -q "^popek: -serial file:$tmp/no/such/dir/x: .*cannot create" "$tmp/err" ||
  fail "uncreatable -serial file: the error does not name the option: $(cat "$tmp/err")"

# shellcheck disable=SC2086
"$emu" $outs -append rounds=1 -kernel "$good" </dev/null >"$tmp/out" 2>"$tmp/err"
status=$?
[ "$status" -eq 33 ] || fail "good kernel: exit status $status, want 33"
for f in serial debugcon trace; do
  [ "$(cat "$tmp/$f.txt")" != "previous $f" ] || fail "a good start left the $f file as it was"
done
grep -q "checksum" "$tmp/debugcon.txt" || fail "the guest's debugcon output is not in the file"
[ "$fails" -eq 0 ] || exit 1
echo PASS
