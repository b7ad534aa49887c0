#!/bin/sh
# popek hears the host in every state: SIGTERM ends it within a bounded time (and with
# status 143) while the guest resets again and again without -no-reboot, and while it
# spends minutes in one REP instruction; on both engines.
#
# usage: host_attention.sh POPEK RESET_LOOP_ELF LONG_REP_ELF
set -u
if [ $# -ne 3 ]; then echo "usage: $0 POPEK RESET_LOOP_ELF LONG_REP_ELF" >&2; exit 2; fi
emu=$1
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
now_ms() { date +%s%3N; }
for image in "$2" "$3"; do
  for engine in interp jit; do
    name="$(basename "$image") --engine=$engine"
    "$emu" --engine=$engine -m 32 -serial none -debugcon none -kernel "$image" </dev/null >/dev/null 2>&1 &
    pid=$!
    sleep 1
    if ! kill -0 "$pid" 2>/dev/null; then fail "$name: popek ended by itself"; continue; fi
    t0=$(now_ms)
    kill -TERM "$pid"
    # Wait up to 5 s, then report how long it took.
    i=0
    while kill -0 "$pid" 2>/dev/null && [ $i -lt 500 ]; do sleep 0.01; i=$((i + 1)); done
    t1=$(now_ms)
    if kill -0 "$pid" 2>/dev/null; then
      kill -KILL "$pid"; wait "$pid" 2>/dev/null
      fail "$name: still running 5 s after SIGTERM"
      continue
    fi
    wait "$pid"
    status=$?
    ms=$((t1 - t0))
    echo "$name: ended $ms ms after SIGTERM, status $status"
    [ "$status" -eq 143 ] || fail "$name: exit status $status, want 143"
    [ "$ms" -le 500 ] || fail "$name: took $ms ms (at most 500)"
  done
done
[ "$fails" -eq 0 ] || exit 1
echo PASS
