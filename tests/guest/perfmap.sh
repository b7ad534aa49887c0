#!/bin/sh
# -perfmap: the JIT names its host code in /tmp/perf-PID.map, perf's format for code
# without symbols (one "ADDRESS SIZE NAME" line per piece, hexadecimal). A run of the
# bench guest must name every stub and at least one translated guest block, with
# nonzero addresses and sizes.
#
# usage: perfmap.sh POPEK IMAGE
set -u
if [ $# -ne 2 ]; then echo "usage: $0 POPEK IMAGE" >&2; exit 2; fi
emu=$1 image=$2
"$emu" -perfmap -debugcon none -serial none -append rounds=1 -kernel "$image" </dev/null >/dev/null 2>&1 &
pid=$!
wait "$pid"
status=$?
map=/tmp/perf-$pid.map
trap 'rm -f "$map"' EXIT INT TERM
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
[ "$status" -eq 33 ] || fail "exit status $status, want 33"
[ -s "$map" ] || { echo "FAIL: no $map"; exit 1; }
for stub in epilogue exit access writeback callout link indirect; do
  grep -Eq "^[0-9a-f]+ [0-9a-f]+ popek stub $stub\$" "$map" || fail "no line for the $stub stub"
done
blocks=$(grep -Ec '^[0-9a-f]+ [0-9a-f]+ popek guest [0-9a-f]{4}:[0-9a-f]{8} phys [0-9a-f]{8}( cpl3)?$' "$map")
[ "$blocks" -gt 0 ] || fail "no translated guest block named"
bad=$(grep -Evc '^[0-9a-f]*[1-9a-f][0-9a-f]* [0-9a-f]*[1-9a-f][0-9a-f]* popek (stub|guest) ' "$map")
[ "$bad" -eq 0 ] || fail "$bad lines with a zero address or size, or not in perf's format"
echo "$map: $(wc -l <"$map") lines, $blocks guest blocks"
[ "$fails" -eq 0 ] || { head -n 20 "$map"; exit 1; }
echo PASS
