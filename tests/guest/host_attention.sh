#!/bin/sh
# popek hears the host in every state: SIGTERM (status 143) and Ctrl-A x typed on the
# terminal (status 0) end it within 200 ms while the guest resets again and again
# without -no-reboot, spends minutes in one REP instruction, idles in HLT paced to the
# host clock, or spins in a one-instruction loop with interrupts off; on both engines.
#
# usage: host_attention.sh POPEK PROBE RESET_LOOP LONG_REP IDLE_LOOP SPIN_LOOP
# (PROBE: the attention_probe program, which runs popek on a pseudo-terminal)
set -u
if [ $# -ne 6 ]; then
  echo "usage: $0 POPEK PROBE RESET_LOOP LONG_REP IDLE_LOOP SPIN_LOOP" >&2
  exit 2
fi
emu=$1
probe=$2
shift 2
limit_ms=200
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
for image in "$@"; do
  extra=
  case $image in *idle_loop*) extra="-icount shift=3,sleep=on" ;; esac
  for engine in interp jit; do
    for action in term keys; do
      name="$(basename "$image") --engine=$engine $action"
      # shellcheck disable=SC2086  # $extra is a list of words
      out=$("$probe" "$action" 700 "$emu" --engine=$engine -m 32 -debugcon none $extra -kernel "$image")
      rc=$?
      echo "$name: $out"
      if [ $rc -ne 0 ]; then fail "$name: $out"; continue; fi
      ms=$(echo "$out" | sed -n 's/^ended \([0-9]*\) ms after .*/\1/p')
      status=$(echo "$out" | sed -n 's/.*status \([0-9]*\)$/\1/p')
      want=143
      [ "$action" = keys ] && want=0
      [ "$status" = "$want" ] || fail "$name: exit status $status, want $want"
      [ "$ms" -le "$limit_ms" ] || fail "$name: took $ms ms (at most $limit_ms)"
    done
  done
done
[ "$fails" -eq 0 ] || exit 1
echo PASS
