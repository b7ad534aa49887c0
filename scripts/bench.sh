#!/usr/bin/env bash
# Interpreter benchmark: the same integer workload (tests/guest/c/bench.c: sieve, CRC-32,
# matrix product) as a guest kernel on popek (both engines) and on QEMU TCG, and as a
# native 32-bit program. Prints wall times (best of RUNS), the ratios, and popek's
# guest instruction rate.
#   usage: scripts/bench.sh [ROUNDS] [RUNS]      (defaults: 200 rounds, best of 3)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-200}
runs=${2:-3}
bash scripts/setup.sh >/dev/null
bash scripts/build.sh >/dev/null
img=build/tests/guest/c/bench.elf
native=build/tests/guest/c/bench_native
popek=build/popek

source scripts/timing.sh

out=$(mktemp)
trap 'rm -f "$out" "$out.err"' EXIT

t_native=$(best "$native" "$rounds"); want=$(cat "$out")
t_interp=$(best "$popek" --stats -debugcon stdio -serial none -append "rounds=$rounds" -kernel "$img")
got_interp=$(cat "$out")
icount=$(awk '/instructions retired/ {print $3}' "$out.err")
t_jit=$(best "$popek" --engine=jit -debugcon stdio -serial none -append "rounds=$rounds" -kernel "$img")
got_jit=$(cat "$out")
if command -v qemu-system-i386 >/dev/null; then
  t_qemu=$(best qemu-system-i386 -M isapc -cpu pentium2 -accel tcg -m 128 -nographic -monitor none \
    -serial none -debugcon stdio -device isa-debug-exit,iobase=0xf4,iosize=4 \
    -append "rounds=$rounds" -kernel "$img")
  got_qemu=$(cat "$out")
else
  t_qemu=""
fi

for g in "$got_interp" "$got_jit" ${t_qemu:+"$got_qemu"}; do
  if [ "$g" != "$want" ]; then echo "bench: checksum mismatch: native '$want', guest '$g'" >&2; exit 1; fi
done

printf 'workload: %s rounds, %s guest instructions, best of %s runs\n' "$rounds" "$icount" "$runs"
printf '%-22s %10s %12s %12s\n' engine seconds "x native" "x qemu-tcg"
row() {
  local q="-"
  if [ -n "$t_qemu" ]; then q=$(printf '%.2f' "$(echo "$2 / $t_qemu" | bc -l)"); fi
  printf '%-22s %10.3f %12.1f %12s\n' "$1" "$2" "$(echo "$2 / $t_native" | bc -l)" "$q"
}
row native "$t_native"
[ -n "$t_qemu" ] && row "qemu-system-i386 tcg" "$t_qemu"
row "popek interp" "$t_interp"
row "popek jit (call-threaded)" "$t_jit"
printf 'popek interpreter rate: %.1f million guest instructions per second\n' \
  "$(echo "$icount / $t_interp / 1000000" | bc -l)"
