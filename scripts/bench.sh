#!/usr/bin/env bash
# Integer benchmark: the same workload (tests/guest/c/bench.c: sieve, CRC-32, matrix
# product) as a native 32-bit program, and as a guest kernel on QEMU TCG and on popek
# (JIT and interpreter), all with the same guest RAM. Checks that every run printed the
# native checksum, then prints wall times (best of RUNS), the ratios to native and to
# QEMU TCG, peak RSS (/usr/bin/time -f %M) and popek's guest instruction rates.
#   usage: scripts/bench.sh [ROUNDS] [RUNS]      (defaults: 200 rounds, best of 3)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-200}
runs=${2:-3}
ram=128  # MiB of guest RAM, for popek and QEMU alike
bash scripts/setup.sh >/dev/null </dev/null
bash scripts/build.sh >/dev/null </dev/null
img=build/tests/guest/c/bench.elf
native=build/tests/guest/c/bench_native
popek=build/popek

source scripts/timing.sh

out=$(mktemp)
trap 'rm -f "$out" "$out.err" "$out.rss" "$out.time"' EXIT

check() {  # check NAME: the last run printed the native checksum
  local got; got=$(cat "$out")
  if [ "$got" != "$want" ]; then
    echo "bench: checksum mismatch on $1: native '$want', got '$got'" >&2
    sed 's/^/  stderr: /' "$out.err" | tail -n 20 >&2
    exit 1
  fi
}
icount_of() { awk '/instructions retired/ {print $3; exit}' "$out.err"; }

t_native=$(best "$native" "$rounds"); want=$(cat "$out"); rss_native=$(cat "$out.rss")
[ -n "$want" ] || { echo "bench: the native run printed nothing" >&2; exit 1; }
t_qemu=""
if command -v qemu-system-i386 >/dev/null; then
  t_qemu=$(best qemu-system-i386 -M isapc -cpu pentium2 -accel tcg -m "$ram" -nographic \
    -monitor none -serial none -debugcon stdio -device isa-debug-exit,iobase=0xf4,iosize=4 \
    -append "rounds=$rounds" -kernel "$img")
  check "qemu-system-i386"; rss_qemu=$(cat "$out.rss")
else
  echo "bench: qemu-system-i386 is not installed; no QEMU row" >&2
fi
t_jit=$(best "$popek" --engine=jit --stats -m "$ram" -debugcon stdio -serial none \
  -append "rounds=$rounds" -kernel "$img")
check "popek jit"; rss_jit=$(cat "$out.rss"); icount_jit=$(icount_of)
t_interp=$(best "$popek" --engine=interp --stats -m "$ram" -debugcon stdio -serial none \
  -append "rounds=$rounds" -kernel "$img")
check "popek interp"; rss_interp=$(cat "$out.rss"); icount_interp=$(icount_of)
if [ "$icount_jit" != "$icount_interp" ]; then
  echo "bench: warning: the engines retired different instruction counts" \
    "(jit $icount_jit, interp $icount_interp)" >&2
fi

printf 'workload: %s rounds, %s guest instructions, checksum %s, best of %s runs, guest RAM %s MiB\n' \
  "$rounds" "$icount_interp" "${want#bench checksum }" "$runs" "$ram"
printf '%-22s %10s %10s %12s %14s\n' engine seconds "x native" "x qemu-tcg" "peak RSS MiB"
row() {  # row LABEL SECONDS RSS_KIB
  local q="-"
  if [ -n "$t_qemu" ]; then q=$(printf '%.2f' "$(echo "$2 / $t_qemu" | bc -l)"); fi
  printf '%-22s %10.3f %10.1f %12s %14s\n' "$1" "$2" "$(echo "$2 / $t_native" | bc -l)" "$q" "$(mib "$3")"
}
row native "$t_native" "$rss_native"
if [ -n "$t_qemu" ]; then row "qemu-system-i386 tcg" "$t_qemu" "$rss_qemu"; fi
row "popek jit" "$t_jit" "$rss_jit"
row "popek interp" "$t_interp" "$rss_interp"
rate() { printf '%.1f' "$(echo "$1 / $2 / 1000000" | bc -l)"; }
printf 'guest instruction rate (million per second): popek jit %s, popek interp %s' \
  "$(rate "$icount_jit" "$t_jit")" "$(rate "$icount_interp" "$t_interp")"
if [ -n "$t_qemu" ]; then
  printf ', qemu-tcg %s (popek'"'"'s count over QEMU'"'"'s time)' "$(rate "$icount_interp" "$t_qemu")"
fi
printf '\n'
printf 'peak RSS vs %s MiB of guest RAM: popek jit %s MiB' "$ram" "$(mib "$rss_jit")"
if [ -n "$t_qemu" ]; then printf ', qemu-tcg %s MiB' "$(mib "$rss_qemu")"; fi
printf '\n'
